//! The report of a change of every kind, in each format: text, Markdown and JSON against
//! golden files, the JSON field by field, seen from both sides; the exit status (0 identical,
//! 1 different, 2 trouble) and the errors that name what they could not read; colour.

use crate::project::Project;
use crate::{change, golden};

#[test]
fn every_kind_of_change_in_every_format() {
    let p = Project::new();
    p.change();
    for (format, file) in [
        ("text", "diff.txt"),
        ("markdown", "diff.md"),
        ("json", "diff.json"),
    ] {
        let (code, out) = p.diff(&["v1.lock", "wwpack.lock", "--format", format]);
        assert_eq!(code, 1, "different: status 1");
        golden(file, &out);
    }

    let report = p.json(&["v1.lock", "wwpack.lock"]);
    assert_eq!(report["version"], 2);
    assert_eq!(report["identical"], false);
    let motd = change(&report, "default", "etc/motd");
    assert_eq!(motd["change"], "modified");
    assert_eq!(motd["content"]["kind"], "text");
    let diff = motd["content"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("-Welcome to Wetware.\n+Welcome to Wetware!\n"),
        "{diff}"
    );
    assert!(diff.contains("+Fourth line.\n"), "{diff}");
    assert_ne!(motd["a"]["cid"], motd["b"]["cid"]);
    assert_eq!(
        change(&report, "default", "etc/new.conf")["change"],
        "added"
    );
    assert_eq!(
        change(&report, "default", "etc/old.conf")["change"],
        "removed"
    );
    let moved = change(&report, "default", "etc/b.conf");
    assert_eq!(moved["change"], "moved");
    assert_eq!(moved["from"], "etc/a.conf");
    let role = change(&report, "default", "etc/role");
    assert_eq!(role["change"], "provenance");
    assert_eq!(
        role["provenance"]["layer"],
        serde_json::json!(["base", "extra"])
    );
    assert_eq!(
        role["provenance"]["shadows"],
        serde_json::json!([[], ["base"]])
    );
    assert_eq!(
        change(&report, "default", "etc/blob.bin")["content"]["kind"],
        "binary"
    );
    let link = change(&report, "default", "etc/greeting");
    assert_eq!(link["change"], "modified");
    assert_eq!(link["b"]["target"], "new.conf");
    let main = &change(&report, "default", "bin/main.wasm")["content"];
    assert_eq!(main["kind"], "wasm");
    assert_eq!(
        main["imports"]["added"][0]["name"],
        "wasi:clocks/monotonic-clock@0.2.0"
    );
    assert_eq!(
        main["imports"]["added"][0]["functions"],
        serde_json::json!(["now"])
    );
    assert_eq!(
        main["imports"]["changed"][0]["name"],
        "wasi:cli/environment@0.2.0"
    );
    assert_eq!(
        main["imports"]["changed"][0]["functions_added"],
        serde_json::json!(["get-environment"])
    );
    assert_eq!(main["sections"]["data"][0], 0);
    assert!(main["sections"]["data"][1].as_u64().unwrap() > 0);
    let images: Vec<(&str, &str)> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        images,
        [
            ("default", "modified"),
            ("more", "added"),
            ("tiny", "modified"),
            ("tools", "removed")
        ]
    );
    // default and tiny both move etc/a.conf, in the base layer they share: one move, as each
    // change to a shared layer is counted once; only default gains the extra layer.
    let s = &report["summary"];
    assert_eq!(
        (
            &s["moved"],
            &s["provenance"],
            &s["images_added"],
            &s["images_removed"]
        ),
        (&1.into(), &1.into(), &1.into(), &1.into())
    );

    // The same change seen from the other side is the mirror image.
    let back = p.json(&["wwpack.lock", "v1.lock"]);
    assert_eq!(
        change(&back, "default", "etc/new.conf")["change"],
        "removed"
    );
    assert_eq!(change(&back, "default", "etc/a.conf")["from"], "etc/b.conf");
    assert_eq!(
        back["summary"]["bytes_added"],
        report["summary"]["bytes_removed"]
    );

    // Text over the limit is named, not shown.
    let report = p.json(&["v1.lock", "wwpack.lock", "--text-limit", "16"]);
    let motd = change(&report, "default", "etc/motd");
    assert_eq!(
        motd["content"],
        serde_json::json!({"kind": "too-large", "limit": 16})
    );
}

#[test]
fn exit_status_is_0_identical_1_different_2_trouble() {
    let p = Project::new();
    let (code, out) = p.diff(&["wwpack.lock", "v1.lock"]);
    assert_eq!(
        (code, out.trim_end().lines().last()),
        (0, Some("identical (3 images)"))
    );
    // The committed lock against a fresh build of the same working tree.
    let (code, out) = p.diff(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        std::fs::read(p.root.join("wwpack.lock")).unwrap()
            == std::fs::read(p.root.join("v1.lock")).unwrap(),
        "diff leaves wwpack.lock alone"
    );
    p.change();
    assert_eq!(p.diff(&["v1.lock", "wwpack.lock"]).0, 1);

    let e = p.diff_error(&["no-such-file"]);
    assert!(
        e.contains("no-such-file") && e.contains("not a file, a directory or a CID"),
        "{e}"
    );
    std::fs::write(p.root.join("garbage.lock"), "{").unwrap();
    let e = p.diff_error(&["garbage.lock", "wwpack.lock"]);
    assert!(
        e.contains("garbage.lock") && e.contains("not a valid wwpack.lock"),
        "{e}"
    );
    let e = p.diff_error(&["--git", "no-such-rev", "wwpack.lock"]);
    assert!(e.contains("no-such-rev"), "{e}");
    let e = p.diff_error(&["wwpack.lock:nope", "v1.lock"]);
    assert!(
        e.contains("no image `nope`") && e.contains("default, more"),
        "{e}"
    );
    let e = p.diff_error(&["a", "b", "c"]);
    assert!(e.contains("at most two"), "{e}");
    let absent = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    let e = p.diff_error(&[absent, "wwpack.lock"]);
    assert!(
        e.contains(absent) && e.contains("not in the block store"),
        "{e}"
    );
}

#[test]
fn colour_on_request_plain_when_piped() {
    let p = Project::new();
    p.change();
    let (_, plain) = p.diff(&["v1.lock", "wwpack.lock"]);
    assert!(!plain.contains('\x1b'), "piped output is plain");
    let (_, coloured) = p.diff(&["v1.lock", "wwpack.lock", "--color", "always"]);
    assert!(coloured.contains("\x1b[32m+ etc/new.conf"), "{coloured}");
    assert!(coloured.contains("\x1b[31m- etc/old.conf"), "{coloured}");
    let strip = coloured
        .replace("\x1b[0m", "")
        .replace("\x1b[1m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[32m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[36m", "");
    assert_eq!(strip, plain);
}
