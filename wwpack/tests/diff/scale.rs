//! A change the size of a real one, in review: 3,000 files added to one image's layer and one
//! text file modified in a layer two images share. The Markdown comment stays under GitHub's
//! limit and still shows the modified file's content, every image and each layer once; the
//! 3,000 files are one row (text too), the JSON keeps every path, and the shared change counts
//! once. `-q` says only whether the sides differ.

use crate::project::Project;

const TOML: &str = r#"
[layers.base]
path = "layers/base"

[layers.data]
path = "layers/data"

[layers.tool]
path = "layers/tool"

[images.default]
layers = ["base", "data"]

[images.tools]
layers = ["base", "tool"]
"#;

const FILES: usize = 3000;

const MOTD_V2: &str = "Welcome to Wetware, now with data.\nSecond line.\nThird line.\n";

/// Version 1 built into `v1.lock`; version 2 (motd edited in the shared `base`, 3,000 files in
/// 30 directories of `etc/data/` in `data`, `tool` untouched) built into `wwpack.lock`.
fn project() -> Project {
    let pid0 = ww_test_support::wat(crate::project::MAIN_V1);
    let p = Project::with(&[
        ("wwpack.toml", TOML.as_bytes()),
        ("layers/base/bin/main.wasm", &pid0),
        (
            "layers/base/etc/motd",
            b"Welcome to Wetware.\nSecond line.\nThird line.\n",
        ),
        ("layers/data/README", b"data lives in etc/data\n"),
        ("layers/tool/bin/tool.txt", b"a tool\n"),
    ]);
    std::fs::write(p.root.join("layers/base/etc/motd"), MOTD_V2).unwrap();
    for i in 0..FILES {
        let dir = p
            .root
            .join(format!("layers/data/etc/data/set-{:02}", i / 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("record-{i:04}.txt")),
            format!("record {i}\n"),
        )
        .unwrap();
    }
    p.ok(&["build"]);
    p
}

/// Bytes of the 3,000 files: `record {i}\n`.
fn data_bytes() -> u64 {
    (0..FILES)
        .map(|i| format!("record {i}\n").len() as u64)
        .sum()
}

#[test]
fn the_markdown_of_a_change_adding_3000_files_shows_the_modified_content_and_every_image() {
    let p = project();
    let (code, md) = p.diff(&["v1.lock", "wwpack.lock", "--format", "markdown"]);
    assert_eq!(code, 1);
    assert!(md.len() < 60_000, "{} bytes", md.len());
    assert!(!md.contains("left out"), "nothing left out:\n{md}");
    assert!(
        md.contains("**3,000 added, 1 modified in 2 images;"),
        "the shared motd counts once:\n{md}"
    );
    for image in ["default", "tools"] {
        assert!(
            md.lines()
                .any(|l| l.starts_with(&format!("| `{image}` | modified | "))),
            "image {image} in the table of images:\n{md}"
        );
    }
    let motd_row = "| modified | `etc/motd` |";
    assert_eq!(md.matches(motd_row).count(), 1, "one row:\n{md}");
    let row = md.lines().find(|l| l.starts_with(motd_row)).unwrap();
    assert!(
        row.ends_with("| `default`, `tools` |"),
        "with its images: {row}"
    );
    let content = md
        .find("-Welcome to Wetware.\n+Welcome to Wetware, now with data.\n")
        .expect("the motd's diff");
    let rollup = format!(
        "| added | 3,000 files under `etc/data/` |  | {} (data) | `default` |",
        human(data_bytes())
    );
    let added = md
        .find(&rollup)
        .unwrap_or_else(|| panic!("{rollup} in:\n{md}"));
    assert!(
        content < added,
        "the modified content before the added files"
    );
    assert!(!md.contains("record-0001"), "no row per file");
    // Each layer once: base changed (in both images), data changed, tool unchanged.
    assert_eq!(md.matches("| `base` |").count(), 1, "{md}");
    assert_eq!(md.matches("`tool` `bafy").count(), 1, "{md}");
    assert!(md.contains("\nUnchanged: `tool` `bafy…"), "{md}");
    // Every abbreviated CID is spelled out in the folded block.
    let folded = &md[md
        .find("<details><summary>Full CIDs</summary>")
        .expect("folded CIDs")..];
    for short in md[..md.find("<details><summary>Full CIDs").unwrap()]
        .split('`')
        .filter(|s| s.starts_with("baf") && s.contains('…'))
    {
        assert!(folded.contains(&format!("| `{short}` | `baf")), "{short}");
    }

    let (_, text) = p.diff(&["v1.lock", "wwpack.lock"]);
    assert!(
        text.contains(&format!(
            "+ 3,000 files under etc/data/ ({}, layer data)  [default]",
            human(data_bytes())
        )),
        "{text}"
    );
    assert!(text.lines().count() < 40, "{text}");

    let report = p.json(&["v1.lock", "wwpack.lock"]);
    assert_eq!(report["summary"]["added"], FILES);
    assert_eq!(report["summary"]["modified"], 1);
    assert_eq!(
        report["summary"]["bytes_added"],
        data_bytes() + MOTD_V2.len() as u64
    );
    let default = &report["images"][0];
    assert_eq!(default["name"], "default");
    assert_eq!(
        default["changes"].as_array().unwrap().len(),
        FILES + 1,
        "JSON keeps every path"
    );
    assert_eq!(
        crate::change(&report, "default", "etc/data/set-29/record-2999.txt")["b"]["size"],
        12
    );
}

#[test]
fn quiet_says_only_whether_the_sides_differ() {
    let p = project();
    let o = p.wwpack(&["diff", "-q", "v1.lock", "wwpack.lock"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "v1.lock and wwpack.lock differ\n"
    );
    let o = p.wwpack(&[
        "diff",
        "-q",
        "wwpack.lock",
        "wwpack.lock",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty(), "identical: nothing");
    let o = p.wwpack(&["diff", "-q", "no-such.lock", "wwpack.lock"]);
    assert_eq!(o.status.code(), Some(2), "trouble stays 2");
    assert!(ww_test_support::stderr(&o).contains("no-such.lock"));
}

/// `12.3 KiB`, as the roll-up rows print sizes.
fn human(n: u64) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}
