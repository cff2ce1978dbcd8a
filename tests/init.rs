//! `wwpack init` end to end, as a new user's first minutes: from an empty directory, init, build
//! (the new project's pid0 guest compiled from source against the guest SDK) and boot with the
//! real `ww`; the lock it writes holds (`build --locked`); a directory with something in it is
//! refused and left as it was.

use std::process::Command;

use e2e::{bin, ok, output, s};

fn wwpack(args: &[&str]) -> std::process::Output {
    output(
        Command::new(bin("wwpack"))
            .env_remove("WW_STORE")
            .env_remove("CARGO_TARGET_DIR")
            .args(args),
    )
}

#[test]
fn a_new_project_builds_and_boots_at_once() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("hello-ww");
    let store = work.path().join("store");
    ok(&wwpack(&["init", s(&project)]));
    let manifest = project.join("wwpack.toml");
    let build = |extra: &[&str]| {
        let mut args = vec![
            "--manifest-path",
            s(&manifest),
            "--store",
            s(&store),
            "build",
        ];
        args.extend_from_slice(extra);
        ok(&wwpack(&args))
    };
    let built = build(&[]);
    assert!(built.starts_with("default\t"), "{built}");
    assert!(project.join("wwpack.lock").is_file());
    let home = tempfile::tempdir().unwrap();
    let o = output(
        e2e::ww_in(home.path())
            .args(["run", "--store", s(&store)])
            .arg(project.join("target/wwpack/images/default"))
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(
        e2e::stdout(&o),
        "Hello from a new Wetware project (layers/base/etc/motd).\n\
         the host echoed: hello from app\nepoch 1\n",
        "{}",
        e2e::stderr(&o)
    );
    // The lock it wrote is what the sources give.
    build(&["--locked"]);

    // Something there already: refused, untouched.
    let o = wwpack(&["init", s(&project)]);
    assert!(!o.status.success(), "{o:?}");
    assert!(e2e::stderr(&o).contains("is not empty"), "{o:?}");
    assert!(project.join("wwpack.lock").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".wwpack-init"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
