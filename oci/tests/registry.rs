//! The registry client against a real registry (`docker-registry`, started on 127.0.0.1 by
//! [`Registry::start`]): a hand-made layout pushed (then pushed again: nothing sent), read by
//! `skopeo`, pulled back equal (by tag, by digest, through an index), and what a registry can
//! do wrong refused (a tampered blob, an unknown tag or digest, sizes over the limits); then,
//! against a [`HostileRegistry`], what a real registry does not do: ask for a Bearer token,
//! lie about a digest, redirect to `file:`, serve a document too large.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ww_oci::digest::Digest;
use ww_oci::layout::{Layout, LayoutWriter};
use ww_oci::registry::{Client, ClientOptions, Problem, PullLimits, Reference, RegistryError};
use ww_oci::spec::{self, Config};
use ww_test_support::registry::{Answer, HostileRegistry, Registry, Request};

/// `n` random bytes.
fn random(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = vec![0; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes
}

/// A layout in `dir` with a config and two layers of random bytes, tagged `tag`.
fn make_layout(dir: &Path, tag: &str) -> Layout {
    let w = LayoutWriter::create(dir).unwrap();
    let layers = vec![
        w.put_blob(spec::MEDIA_LAYER_ZSTD, &random(100_000))
            .unwrap(),
        w.put_blob(spec::MEDIA_LAYER_ZSTD, &random(1_500_000))
            .unwrap(),
    ];
    let config = Config::wasm(layers.iter().map(|l| l.digest).collect(), None);
    let annotations = [(spec::ANNOTATION_IMAGE.to_string(), "test".to_string())]
        .into_iter()
        .collect();
    w.finish_image(&config, layers, annotations, Some(tag))
        .unwrap();
    Layout::open(dir, Some(tag)).unwrap()
}

fn client(registry: &Registry) -> Client {
    Client::new(
        &registry.host(),
        ClientOptions {
            plain_http: true,
            timeout: Duration::from_secs(30),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

fn reference(registry: &Registry, name: &str) -> Reference {
    format!("{}/{name}", registry.host()).parse().unwrap()
}

/// Pushes a new layout to `name` on the registry; the layout (in `dir`) and the manifest's
/// digest.
fn pushed(registry: &Registry, dir: &Path, name: &str) -> (Layout, Digest) {
    let r = reference(registry, name);
    let layout = make_layout(dir, r.tag.as_deref().unwrap());
    let report = client(registry).push_layout(&layout, &r).unwrap();
    (layout, report.manifest)
}

fn blobs(layout: &Layout) -> Vec<(Digest, Vec<u8>)> {
    let m = &layout.manifest;
    std::iter::once(&m.config)
        .chain(&m.layers)
        .map(|d| {
            (
                d.digest,
                std::fs::read(layout.blob_path(&d.digest)).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_layout_pushed_twice_is_sent_once_and_skopeo_reads_it() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = make_layout(dir.path(), "v1");
    let r = reference(&registry, "team/app:v1");
    let client = client(&registry);
    let total: u64 = std::iter::once(&layout.manifest.config)
        .chain(&layout.manifest.layers)
        .map(|d| d.size)
        .sum();

    let t = Instant::now();
    let first = client.push_layout(&layout, &r).unwrap();
    let first_time = t.elapsed();
    assert_eq!(first.manifest, layout.manifest_descriptor.digest);
    assert_eq!((first.blobs_sent, first.blobs_skipped), (3, 0));
    assert_eq!((first.bytes_sent, first.bytes_skipped), (total, 0));

    let t = Instant::now();
    let again = client.push_layout(&layout, &r).unwrap();
    let again_time = t.elapsed();
    assert_eq!(again.manifest, first.manifest);
    assert_eq!((again.blobs_sent, again.blobs_skipped), (0, 3));
    assert_eq!((again.bytes_sent, again.bytes_skipped), (0, total));
    eprintln!(
        "pushed {total} bytes in 3 blobs in {first_time:?}; pushed again (nothing sent) in \
         {again_time:?}"
    );

    let image = format!("docker://{}/team/app:v1", registry.host());
    let o = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", &image])
        .output()
        .expect("run skopeo (the Debian package `skopeo`)");
    assert!(
        o.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        Digest::of(&o.stdout),
        first.manifest,
        "skopeo --raw gives our manifest's bytes"
    );
    let o = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &image])
        .output()
        .expect("run skopeo");
    assert!(
        o.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers: Vec<&str> = info["Layers"]
        .as_array()
        .expect("skopeo lists Layers")
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let ours: Vec<String> = layout
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .collect();
    assert_eq!(layers, ours);
    assert_eq!(
        info["Digest"].as_str(),
        Some(first.manifest.to_string().as_str())
    );
}

#[test]
fn a_pull_gives_back_the_layout_pushed_by_tag_and_by_digest() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    let (layout, digest) = pushed(&registry, src.path(), "team/app:v2");
    let client = client(&registry);

    let dest = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let report = client
        .pull_to_layout(
            &reference(&registry, "team/app:v2"),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap();
    eprintln!(
        "pulled {} bytes in {} blobs in {:?}",
        report.bytes,
        report.blobs,
        t.elapsed()
    );
    assert_eq!(report.manifest, digest);
    assert_eq!(report.layout_manifest, digest);
    assert_eq!(report.blobs, 3);
    let pulled = Layout::open(dest.path(), Some("v2")).unwrap();
    assert_eq!(pulled.manifest, layout.manifest);
    assert_eq!(pulled.manifest_descriptor.digest, digest);
    assert_eq!(blobs(&pulled), blobs(&layout));

    let by_digest = tempfile::tempdir().unwrap();
    let r = reference(&registry, &format!("team/app@{digest}"));
    assert_eq!(r.tag, None);
    let report = client
        .pull_to_layout(&r, by_digest.path(), PullLimits::default())
        .unwrap();
    assert_eq!(report.manifest, digest);
    let pulled = Layout::open(by_digest.path(), None).unwrap();
    assert_eq!(pulled.manifest, layout.manifest);
    assert_eq!(blobs(&pulled), blobs(&layout));
}

#[test]
fn an_index_is_followed_to_the_wasm_manifest_or_refused_listing_its_platforms() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    let (layout, digest) = pushed(&registry, src.path(), "team/multi:image");
    let size = layout.manifest_descriptor.size;
    let entry = |os: &str, arch: &str| {
        format!(
            r#"{{"mediaType":"{}","digest":"{digest}","size":{size},"platform":{{"os":"{os}","architecture":"{arch}"}}}}"#,
            spec::MEDIA_MANIFEST
        )
    };
    let put_index = |tag: &str, entries: &[String]| {
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}}"#,
            spec::MEDIA_INDEX,
            entries.join(",")
        );
        ureq::put(&format!("{}/v2/team/multi/manifests/{tag}", registry.url()))
            .set("Content-Type", spec::MEDIA_INDEX)
            .send_string(&index)
            .expect("put an index");
    };
    put_index(
        "both",
        &[entry("linux", "amd64"), entry(spec::OS, spec::ARCHITECTURE)],
    );
    put_index("none", &[entry("linux", "amd64"), entry("linux", "arm64")]);
    let client = client(&registry);

    let dest = tempfile::tempdir().unwrap();
    let report = client
        .pull_to_layout(
            &reference(&registry, "team/multi:both"),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap();
    assert_eq!(report.manifest, digest);
    assert_eq!(
        Layout::open(dest.path(), Some("both")).unwrap().manifest,
        layout.manifest
    );

    let dest = tempfile::tempdir().unwrap();
    let err = client
        .pull_to_layout(
            &reference(&registry, "team/multi:none"),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no manifest for wasip2/wasm")
            && err.contains("linux/amd64")
            && err.contains("linux/arm64"),
        "{err}"
    );
}

/// Overwrites the stored blob `digest` in the registry with `bytes`.
fn tamper(registry: &Registry, digest: &Digest, bytes: &[u8]) {
    let path = registry.blob_data(&digest.hex());
    assert!(
        path.exists(),
        "the registry keeps the blob at {}",
        path.display()
    );
    std::fs::write(&path, bytes).unwrap();
}

fn assert_nothing_finished(dest: &Path, not_there: &Digest) {
    assert!(
        !dest.join("index.json").exists(),
        "a refused pull writes no index"
    );
    assert!(!dest.join("blobs/sha256").join(not_there.hex()).exists());
}

#[test]
fn a_tampered_blob_in_the_registry_is_refused_naming_it() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    let (layout, _) = pushed(&registry, src.path(), "team/app:v3");
    let layer = layout.manifest.layers[1].clone();
    let mut bytes = std::fs::read(layout.blob_path(&layer.digest)).unwrap();
    let client = client(&registry);
    let r = reference(&registry, "team/app:v3");

    // The same length, one byte changed: the digest gives it away.
    bytes[1000] ^= 1;
    tamper(&registry, &layer.digest, &bytes);
    let dest = tempfile::tempdir().unwrap();
    let err = client
        .pull_to_layout(&r, dest.path(), PullLimits::default())
        .unwrap_err();
    let text = err.to_string();
    eprintln!("{text}");
    assert!(matches!(*err.problem, Problem::Refused(_)), "{text}");
    assert!(
        text.contains(&format!("the blob {} is refused", layer.digest))
            && text.contains(&format!("hash to {}", Digest::of(&bytes))),
        "{text}"
    );
    assert_nothing_finished(dest.path(), &Digest::of(&bytes));

    // Longer: the size gives it away.
    bytes.push(0);
    tamper(&registry, &layer.digest, &bytes);
    let dest = tempfile::tempdir().unwrap();
    let text = client
        .pull_to_layout(&r, dest.path(), PullLimits::default())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(&layer.digest.to_string()) && text.contains(&layer.size.to_string()),
        "{text}"
    );
    assert_nothing_finished(dest.path(), &Digest::of(&bytes));
}

#[test]
fn an_unknown_tag_or_digest_is_a_clear_404() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    pushed(&registry, src.path(), "team/app:v4");
    let client = client(&registry);
    let dest = tempfile::tempdir().unwrap();

    let err = client
        .pull_to_layout(
            &reference(&registry, "team/app:nope"),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap_err();
    let text = err.to_string();
    eprintln!("{text}");
    assert_eq!(err.status(), Some(404), "{text}");
    assert!(
        text.starts_with(&format!(
            "registry {}, repository team/app: get the manifest nope: HTTP 404",
            registry.host()
        )) && text.contains("MANIFEST_UNKNOWN"),
        "{text}"
    );

    let wrong = Digest::of(b"not the manifest");
    let err = client
        .pull_to_layout(
            &reference(&registry, &format!("team/app:v4@{wrong}")),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), Some(404), "{text}");
    assert!(
        text.contains(&format!("get the manifest {wrong}")),
        "{text}"
    );

    let err = client
        .pull_to_layout(
            &reference(&registry, "team/other:v4"),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(!dest.path().join("index.json").exists());
}

#[test]
fn blobs_over_the_limits_are_refused_before_they_are_fetched() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    let (layout, _) = pushed(&registry, src.path(), "team/app:v5");
    let big = &layout.manifest.layers[1];
    let client = client(&registry);
    let r = reference(&registry, "team/app:v5");
    let dest = tempfile::tempdir().unwrap();
    let limits = PullLimits {
        max_blob_bytes: big.size - 1,
        max_total_bytes: u64::MAX,
    };
    let text = client
        .pull_to_layout(&r, dest.path(), limits)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(&format!(
            "the layer {} has {} bytes, more than the {} taken",
            big.digest,
            big.size,
            big.size - 1
        )),
        "{text}"
    );
    let limits = PullLimits {
        max_blob_bytes: u64::MAX,
        max_total_bytes: big.size,
    };
    let text = client
        .pull_to_layout(&r, dest.path(), limits)
        .unwrap_err()
        .to_string();
    assert!(text.contains("the image's blobs have"), "{text}");
    assert!(!dest.path().join("blobs").exists(), "nothing was fetched");
}

#[test]
fn a_corrupt_local_blob_is_not_pushed() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    let layout = make_layout(src.path(), "v6");
    let layer = &layout.manifest.layers[0];
    let mut bytes = std::fs::read(layout.blob_path(&layer.digest)).unwrap();
    bytes[0] ^= 1;
    std::fs::write(layout.blob_path(&layer.digest), &bytes).unwrap();
    let err = client(&registry)
        .push_layout(&layout, &reference(&registry, "team/app:v6"))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(*err.problem, Problem::Layout(_))
            && text.contains(&format!("upload the blob {}", layer.digest))
            && text.contains("does not match its digest"),
        "{text}"
    );
    let o = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{}/team/app:v6", registry.host()))
        .output()
        .expect("run skopeo");
    assert!(!o.status.success(), "no manifest was pushed");
}

#[test]
fn plain_http_is_not_spoken_unless_asked_and_only_to_loopback() {
    let registry = Registry::start();
    // Without plain_http the client speaks HTTPS, which the test registry does not.
    let https = Client::new(&registry.host(), ClientOptions::default()).unwrap();
    assert_eq!(https.base_url(), format!("https://{}", registry.host()));
    let dest = tempfile::tempdir().unwrap();
    let err: RegistryError = https
        .pull_to_layout(
            &reference(&registry, "team/app:v1"),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap_err();
    assert!(matches!(*err.problem, Problem::Transport(_)), "{err}");
    // Plain HTTP to a registry that is not on loopback needs plain_http_remote too.
    let plain = ClientOptions {
        plain_http: true,
        ..ClientOptions::default()
    };
    let err = Client::new("registry.example.com", plain.clone())
        .err()
        .unwrap();
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(Client::new(
        "registry.example.com",
        ClientOptions {
            plain_http_remote: true,
            ..plain
        }
    )
    .is_ok());
    // A reference to another registry is refused by a client.
    let err = client(&registry)
        .pull_to_layout(
            &"localhost:1/team/app".parse().unwrap(),
            dest.path(),
            PullLimits::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("not this client's"), "{err}");
}

#[test]
fn references_parse_by_the_grammar_and_print_back() {
    let d = Digest::of(b"m");
    let good = [
        (
            "127.0.0.1:5000/team/app:v1",
            "127.0.0.1:5000",
            "team/app",
            Some("v1"),
            None,
        ),
        ("localhost/app", "localhost", "app", Some("latest"), None),
        (
            "localhost:5000/a/b/c",
            "localhost:5000",
            "a/b/c",
            Some("latest"),
            None,
        ),
        (
            "ghcr.example.com/org/my-app__x.y--z_w:1.0_RC-2",
            "ghcr.example.com",
            "org/my-app__x.y--z_w",
            Some("1.0_RC-2"),
            None,
        ),
        ("[::1]:5000/app:_", "[::1]:5000", "app", Some("_"), None),
    ];
    for (text, registry, repository, tag, digest) in good {
        let r: Reference = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.tag.as_deref(),
                r.digest
            ),
            (registry, repository, tag, digest),
            "{text}"
        );
        assert_eq!(r.to_string().parse::<Reference>().unwrap(), r, "{text}");
    }
    let r: Reference = format!("host.example.com/app@{d}").parse().unwrap();
    assert_eq!((r.tag.as_deref(), r.digest), (None, Some(d)));
    assert_eq!(r.to_string(), format!("host.example.com/app@{d}"));
    let r: Reference = format!("host.example.com/app:v1@{d}").parse().unwrap();
    assert_eq!((r.tag.as_deref(), r.digest), (Some("v1"), Some(d)));
    assert_eq!(r.to_string().parse::<Reference>().unwrap(), r);
    assert_eq!(r.manifest_name(), d.to_string());

    let long_tag = format!("h.io/app:{}", "t".repeat(129));
    let bad: &[(&str, &str)] = &[
        ("app", "no repository"),
        ("team/app", "not a registry"),
        ("docker/app:v1", "not a registry"),
        ("h.io/App", "uppercase"),
        ("h.io/app/", "is empty"),
        ("h.io//app", "is empty"),
        ("h.io/-app", "starts with a separator"),
        ("h.io/app-", "ends with a separator"),
        ("h.io/a___b", "two in a row"),
        ("h.io/a..b", "two in a row"),
        ("h.io/a_-b", "two in a row"),
        ("h.io/a b", "not a letter"),
        ("h.io/app:", "the tag ``"),
        ("h.io/app:.v1", "the tag `.v1`"),
        (&long_tag, "at most 127"),
        ("h.io/app:v1:v2", "not a letter"),
        ("h.io/app@sha256:abc", "64 hex digits"),
        ("h.io/app@md5:abc", "only sha256"),
        ("h.io:port/app", "port `port` is not a number"),
        ("ho_st.io/app", "DNS labels"),
        ("-h.io/app", "DNS labels"),
        ("h.io/", "the repository is empty"),
        ("[::1/app", "does not close"),
        ("h.io/app\u{1b}[31m", "\\x1b"),
    ];
    for (text, rule) in bad {
        let err = text
            .parse::<Reference>()
            .err()
            .unwrap_or_else(|| panic!("{text} parsed"))
            .to_string();
        assert!(err.contains(rule), "{text}: {err}");
        assert!(err.contains("is not an image reference"), "{text}: {err}");
        if !text.contains('\u{1b}') {
            assert!(err.contains(&format!("`{text}`")), "{text}: {err}");
        }
    }
}

#[test]
fn a_registry_asking_for_a_password_gets_the_docker_config_s() {
    use ww_oci::registry::auth::base64_encode;
    use ww_oci::registry::Credentials;
    use ww_test_support::registry::{PASSWORD, USER};
    let registry = Registry::start_with_basic_auth();
    let src = tempfile::tempdir().unwrap();
    let layout = make_layout(src.path(), "v7");
    let r = reference(&registry, "team/app:v7");
    let with = |credentials| {
        Client::new(
            &registry.host(),
            ClientOptions {
                plain_http: true,
                credentials,
                ..ClientOptions::default()
            },
        )
        .unwrap()
    };

    let err = with(None).push_layout(&layout, &r).unwrap_err().to_string();
    assert!(
        err.contains("asks for a user and password (Basic) and none were given"),
        "{err}"
    );
    let err = with(Some(Credentials::new(USER, "wrong")))
        .push_layout(&layout, &r)
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");

    let config = src.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            registry.host(),
            base64_encode(format!("{USER}:{PASSWORD}").as_bytes())
        ),
    )
    .unwrap();
    let credentials = Credentials::from_docker_config_file(&config, &registry.host()).unwrap();
    assert!(credentials.is_some());
    let client = with(credentials);
    let report = client.push_layout(&layout, &r).unwrap();
    assert_eq!(report.blobs_sent, 3);
    let dest = tempfile::tempdir().unwrap();
    let pulled = client
        .pull_to_layout(&r, dest.path(), PullLimits::default())
        .unwrap();
    assert_eq!(pulled.manifest, report.manifest);
    assert_eq!(
        blobs(&Layout::open(dest.path(), Some("v7")).unwrap()),
        blobs(&layout)
    );
}

/// What a registry serving `layout` as `repo:tag` answers: the manifest by tag and by digest,
/// the blobs by digest (path, content type, bytes).
fn served(layout: &Layout, repo: &str, tag: &str) -> Vec<(String, &'static str, Vec<u8>)> {
    let manifest = std::fs::read(layout.blob_path(&layout.manifest_descriptor.digest)).unwrap();
    let digest = layout.manifest_descriptor.digest;
    let mut out = vec![
        (
            format!("/v2/{repo}/manifests/{tag}"),
            spec::MEDIA_MANIFEST,
            manifest.clone(),
        ),
        (
            format!("/v2/{repo}/manifests/{digest}"),
            spec::MEDIA_MANIFEST,
            manifest,
        ),
    ];
    for (d, bytes) in blobs(layout) {
        out.push((
            format!("/v2/{repo}/blobs/{d}"),
            "application/octet-stream",
            bytes,
        ));
    }
    out
}

fn serve(files: &[(String, &'static str, Vec<u8>)], req: &Request) -> Answer {
    match files.iter().find(|(path, _, _)| *path == req.target) {
        Some((_, media_type, bytes)) => Answer::new(200, bytes).header("Content-Type", media_type),
        None => Answer::new(404, br#"{"errors":[{"code":"NOT_FOUND"}]}"#),
    }
}

fn hostile_client(
    hostile: &HostileRegistry,
    credentials: Option<ww_oci::registry::Credentials>,
) -> Client {
    Client::new(
        &hostile.host(),
        ClientOptions {
            plain_http: true,
            credentials,
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn a_bearer_challenge_is_answered_with_a_token_from_its_realm() {
    use ww_oci::registry::Credentials;
    let src = tempfile::tempdir().unwrap();
    let layout = make_layout(src.path(), "v1");
    let files = served(&layout, "team/app", "v1");
    let basic = Credentials::new("ww", "secret").basic_header();
    let hostile = HostileRegistry::start(move |req| {
        let host = req.header("host").unwrap_or_default().to_string();
        if req.target.starts_with("/token?") {
            if req.header("authorization") == Some(basic.as_str()) {
                Answer::new(200, br#"{"token":"T0K3N","expires_in":300}"#)
            } else {
                Answer::new(401, b"who are you?")
            }
        } else if req.header("authorization") != Some("Bearer T0K3N") {
            Answer::new(401, br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).header(
                "WWW-Authenticate",
                &format!(
                    r#"Bearer realm="http://{host}/token",service="hostile",scope="repository:team/app:pull""#
                ),
            )
        } else {
            serve(&files, req)
        }
    });
    let r: Reference = format!("{}/team/app:v1", hostile.host()).parse().unwrap();

    let dest = tempfile::tempdir().unwrap();
    let err = hostile_client(&hostile, None)
        .pull_to_layout(&r, dest.path(), PullLimits::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("get a token from") && err.contains("HTTP 401: who are you?"),
        "{err}"
    );

    let client = hostile_client(&hostile, Some(Credentials::new("ww", "secret")));
    let report = client
        .pull_to_layout(&r, dest.path(), PullLimits::default())
        .unwrap();
    assert_eq!(report.manifest, layout.manifest_descriptor.digest);
    assert_eq!(
        blobs(&Layout::open(dest.path(), Some("v1")).unwrap()),
        blobs(&layout)
    );
    let tokens: Vec<String> = hostile
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .filter(|t| t.starts_with("/token"))
        .collect();
    // One token request without credentials (refused), one with them: the token is kept.
    assert_eq!(
        tokens, ["/token?service=hostile&scope=repository%3Ateam%2Fapp%3Apull"; 2],
        "{tokens:?}"
    );
}

#[test]
fn a_lying_registry_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let layout = make_layout(src.path(), "v1");
    let digest = layout.manifest_descriptor.digest;
    let big = layout.manifest.layers[1].digest;
    let mut files = Vec::new();
    for repo in [
        "lies/header",
        "lies/pinned",
        "lies/file",
        "lies/relative",
        "lies/size",
        "lies/huge",
    ] {
        files.extend(served(&layout, repo, "v1"));
    }
    let other = Digest::of(b"another manifest");
    let hostile = HostileRegistry::start(move |req| {
        let t = req.target.as_str();
        if t == "/v2/lies/header/manifests/v1" {
            serve(&files, req).header("Docker-Content-Digest", &other.to_string())
        } else if t == format!("/v2/lies/pinned/manifests/{other}") {
            serve(
                &files,
                &Request {
                    target: format!("/v2/lies/pinned/manifests/{digest}"),
                    ..req.clone()
                },
            )
        } else if t == format!("/v2/lies/file/blobs/{big}") {
            Answer::new(307, b"").header("Location", "file:///etc/passwd")
        } else if t == format!("/v2/lies/relative/blobs/{big}") {
            Answer::new(307, b"").header(
                "Location",
                &format!("/v2/lies/size/blobs/{big}?from=redirect"),
            )
        } else if t == format!("/v2/lies/size/blobs/{big}?from=redirect") {
            serve(
                &files,
                &Request {
                    target: format!("/v2/lies/size/blobs/{big}"),
                    ..req.clone()
                },
            )
        } else if t == format!("/v2/lies/size/blobs/{big}") {
            let mut answer = serve(&files, req);
            answer.body.extend_from_slice(b"more");
            answer
        } else if t == "/v2/lies/huge/manifests/v1" {
            Answer::new(200, &vec![b' '; spec::MAX_DOCUMENT_BYTES + 1])
        } else {
            serve(&files, req)
        }
    });
    let client = hostile_client(&hostile, None);
    let pull = |name: &str| {
        let dest = tempfile::tempdir().unwrap();
        let r: Reference = format!("{}/{name}", hostile.host()).parse().unwrap();
        let result = client.pull_to_layout(&r, dest.path(), PullLimits::default());
        if result.is_err() {
            assert!(
                !dest.path().join("index.json").exists(),
                "{name}: no layout is finished"
            );
        }
        result.map_err(|e| e.to_string())
    };

    let err = pull("lies/header:v1").unwrap_err();
    assert!(
        err.contains(&format!(
            "the registry says the manifest is `{other}`, but its bytes hash to {digest}"
        )),
        "{err}"
    );
    let err = pull(&format!("lies/pinned@{other}")).unwrap_err();
    assert!(
        err.contains(&format!("hash to {digest}, not the {other} asked for")),
        "{err}"
    );
    let err = pull("lies/file:v1").unwrap_err();
    assert!(
        err.contains(&format!("get the blob {big}"))
            && err.contains("`file:///etc/passwd` is not an http(s) URL"),
        "{err}"
    );
    let err = pull("lies/size:v1").unwrap_err();
    assert!(
        err.contains(&format!("bytes for the blob {big} where the manifest says")),
        "{err}"
    );
    let err = pull("lies/huge:v1").unwrap_err();
    assert!(
        err.contains(&format!("more than the {} taken", spec::MAX_DOCUMENT_BYTES)),
        "{err}"
    );
    // A redirect to another path of the same origin is followed (and the blob verified).
    let report = pull("lies/relative:v1").unwrap();
    assert_eq!(report.manifest, digest);
    assert!(hostile
        .requests()
        .iter()
        .any(|r| r.target.ends_with("?from=redirect")));
}

#[test]
fn a_push_by_digest_must_name_the_layout_s_manifest() {
    let registry = Registry::start();
    let src = tempfile::tempdir().unwrap();
    let layout = make_layout(src.path(), "v8");
    let digest = layout.manifest_descriptor.digest;
    let client = client(&registry);
    let wrong = Digest::of(b"another");
    let err = client
        .push_layout(&layout, &reference(&registry, &format!("team/app@{wrong}")))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("the layout's manifest is {digest}, not {wrong}")),
        "{err}"
    );
    let r = reference(&registry, &format!("team/app@{digest}"));
    let report = client.push_layout(&layout, &r).unwrap();
    assert_eq!((report.manifest, report.blobs_sent), (digest, 3));
    let dest = tempfile::tempdir().unwrap();
    assert_eq!(
        client
            .pull_to_layout(&r, dest.path(), PullLimits::default())
            .unwrap()
            .manifest,
        digest
    );
}
