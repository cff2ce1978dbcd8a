//! One grammar across `wwpack` and `ww`, run on the real binaries with real stores and files:
//! `--color` (and `NO_COLOR`, `TERM=dumb`, `CLICOLOR_FORCE`) decides colour for clap's own
//! errors and help, the error line, the log and `wwpack diff`'s text, in a pipe and on a real
//! pseudo-terminal; `-v` and `-q` set the log's level over `WWPACK_LOG`/`WW_LOG`/`RUST_LOG`
//! (whose per-target levels stay); the node timeout is `--api-timeout` on both, `--timeout`
//! still taken by wwpack; `WW_STORE`/`WW_CACHE` never show in a usage line as if typed; an
//! error is `wwpack: error: ...` once, its causes on the lines after it.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::terminal::on_terminal;
use e2e::{bin, ok, output, s, stderr, write_tree};

/// `exe` with a clean environment for colour and the log: no colour variables, a terminal that
/// is not dumb, no log filter, no IPFS node anyone configured, and `home` as HOME.
fn cmd(exe: &str, home: &Path) -> Command {
    let mut cmd = Command::new(bin(exe));
    cmd.env("HOME", home)
        .env("TERM", "xterm-256color")
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("IPFS_PATH", home.join("ipfs"))
        .env("IPFS_API", "http://127.0.0.1:9")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("WWPACK_LOG")
        .env_remove("WW_LOG")
        .env_remove("RUST_LOG")
        .env_remove("WW_STORE")
        .env_remove("WW_CACHE")
        .env_remove("WW_IDENTITY");
    cmd
}

const ESC: char = '\x1b';

/// A block store holding one small file, and that file's CID.
fn store_with_a_file(home: &Path) -> (PathBuf, String) {
    let store = home.join("store");
    write_tree(&home.join("in"), &[("motd", b"hello\n")]);
    let cid = ok(&output(
        cmd("wwpack", home)
            .args(["add", "--store", s(&store)])
            .arg(home.join("in").join("motd")),
    ))
    .trim()
    .to_string();
    (store, cid)
}

#[test]
fn color_follows_the_flag_the_terminal_no_color_term_and_clicolor_force() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let missing = home.join("no-store");
    // An error of wwpack's own: its store does not exist.
    let error = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd("wwpack", home);
        c.args(["store", "stat", "--store", s(&missing)])
            .args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    };
    let piped = |mut c: Command| {
        let o = output(&mut c);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        stderr(&o)
    };
    let on_tty = |mut c: Command| {
        let run = on_terminal(&mut c);
        assert_eq!(run.status.code(), Some(1), "{}", run.terminal);
        run.terminal
    };
    let red = format!("wwpack: {ESC}[1;31merror:{ESC}[0m no block store at");

    // In a pipe: none by default, always with --color always or CLICOLOR_FORCE.
    let plain = piped(error(&[], &[]));
    assert!(
        plain.starts_with("wwpack: error: no block store at"),
        "{plain}"
    );
    assert!(!plain.contains(ESC), "{plain:?}");
    assert!(piped(error(&["--color", "always"], &[])).starts_with(&red));
    assert!(piped(error(
        &["--color=always"],
        &[("NO_COLOR", "1"), ("TERM", "dumb")]
    ))
    .starts_with(&red));
    assert!(piped(error(&[], &[("CLICOLOR_FORCE", "1")])).starts_with(&red));
    let forced_off = piped(error(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!forced_off.contains(ESC), "{forced_off:?}");

    // On a terminal: colour by default, none with never, NO_COLOR or TERM=dumb.
    assert!(on_tty(error(&[], &[])).starts_with(&red));
    for (extra, env) in [
        (&["--color", "never"][..], &[][..]),
        (&[][..], &[("NO_COLOR", "1")][..]),
        (&[][..], &[("TERM", "dumb")][..]),
        (&["--color", "never"][..], &[("CLICOLOR_FORCE", "1")][..]),
    ] {
        let shown = on_tty(error(extra, env));
        assert!(
            shown.starts_with("wwpack: error: no block store at") && !shown.contains(ESC),
            "{extra:?} {env:?}: {shown:?}"
        );
    }
    // An empty NO_COLOR is unset.
    assert!(on_tty(error(&[], &[("NO_COLOR", "")])).starts_with(&red));

    // ww's own error line, the same way.
    let ww_error = |extra: &[&str]| {
        let mut c = cmd("ww", home);
        c.args([
            "run",
            "--store",
            s(&home.join("s")),
            "--cache",
            s(&home.join("c")),
        ])
        .arg(home.join("nothing-here"))
        .args(extra);
        c
    };
    let o = output(&mut ww_error(&["--color", "always"]));
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert!(
        stderr(&o).starts_with(&format!("ww: {ESC}[1;31merror:{ESC}[0m layer ")),
        "{:?}",
        stderr(&o)
    );
    let mut dumb = ww_error(&[]);
    dumb.env("TERM", "dumb");
    let shown = on_terminal(&mut dumb).terminal;
    assert!(
        shown.starts_with("ww: error: layer ") && !shown.contains(ESC),
        "{shown:?}"
    );
    let shown = on_terminal(&mut ww_error(&[])).terminal;
    assert!(
        shown.starts_with(&format!("ww: {ESC}[1;31merror:")),
        "{shown:?}"
    );

    // clap's own errors and help.
    let o = output(cmd("wwpack", home).args(["--color", "always", "stor"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(ESC) && stderr(&o).contains("unrecognized subcommand"),
        "{o:?}"
    );
    let o = output(cmd("wwpack", home).args(["stor"]));
    assert!(
        !stderr(&o).contains(ESC) && stderr(&o).contains("unrecognized subcommand"),
        "{o:?}"
    );
    let o = output(cmd("ww", home).args(["--color=always", "run", "--bogus"]));
    assert!(
        stderr(&o).contains(ESC) && stderr(&o).contains("--bogus"),
        "{o:?}"
    );
    let help = ok(&output(
        cmd("wwpack", home).args(["build", "--help", "--color", "always"]),
    ));
    assert!(help.contains(ESC) && help.contains("Usage"), "{help:?}");
    let help = ok(&output(cmd("ww", home).args(["run", "--help"])));
    assert!(!help.contains(ESC), "{help:?}");
    let help = ok(&output(
        cmd("wwpack", home).args(["help", "pin", "--color", "always"]),
    ));
    assert!(help.contains(ESC) && help.contains("Usage"), "{help:?}");
}

/// `wwpack diff`'s text takes the same decision (its stdout a pipe here).
#[test]
fn diff_text_takes_the_same_color_decision() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    write_tree(&home.join("a"), &[("etc/motd", b"one\n")]);
    write_tree(&home.join("b"), &[("etc/motd", b"two\n")]);
    let diff = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd("wwpack", home);
        c.arg("diff")
            .arg(home.join("a"))
            .arg(home.join("b"))
            .args(["--store", s(&home.join("store"))])
            .args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = output(&mut c);
        assert_eq!(o.status.code(), Some(1), "different: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let plain = diff(&[], &[]);
    assert!(
        plain.contains("etc/motd") && !plain.contains(ESC),
        "{plain:?}"
    );
    assert!(diff(&["--color", "always"], &[]).contains(ESC));
    assert!(diff(&[], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
    assert!(!diff(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
}

#[test]
fn verbose_and_quiet_set_the_level_over_the_log_variables() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let (store, cid) = store_with_a_file(home);
    let car = home.join("out.car");
    // `wwpack export` logs at debug level (what it wrote) and prints a summary.
    let export = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd("wwpack", home);
        c.args(["export", &cid, "-o", s(&car), "--store", s(&store)])
            .args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = output(&mut c);
        assert!(o.status.success(), "{o:?}");
        stderr(&o)
    };
    let debug_lines = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("wwpack: debug: "))
            .count()
    };

    let default = export(&[], &[]);
    assert!(
        default.starts_with("wrote ") && debug_lines(&default) == 0,
        "{default}"
    );
    let v = export(&["-v"], &[]);
    assert_eq!(debug_lines(&v), 0, "{v}");
    let vv = export(&["-vv"], &[]);
    assert!(debug_lines(&vv) > 0 && vv.contains("wrote "), "{vv}");
    assert!(
        !vv.contains(" DEBUG ") && !vv.contains(ESC),
        "one prefix, no colour: {vv}"
    );
    let coloured = export(&["-vv", "--color", "always"], &[]);
    assert!(
        coloured.contains(&format!("wwpack: {ESC}[1;34mdebug:{ESC}[0m ")),
        "{coloured:?}"
    );
    // -q: nothing but errors, whatever the variable says overall...
    assert_eq!(export(&["-q"], &[]), "");
    assert_eq!(export(&["--quiet"], &[("RUST_LOG", "debug")]), "");
    assert_eq!(export(&["-q"], &[("WWPACK_LOG", "trace")]), "");
    // ...while the targets it names keep their level.
    let kept = export(&["-q"], &[("WWPACK_LOG", "ww_content=debug")]);
    assert!(debug_lines(&kept) > 0 && !kept.contains("wrote "), "{kept}");
    // Without a flag the variable decides: RUST_LOG when WWPACK_LOG is unset.
    assert!(debug_lines(&export(&[], &[("RUST_LOG", "debug")])) > 0);
    assert_eq!(
        debug_lines(&export(
            &[],
            &[("WWPACK_LOG", "warn"), ("RUST_LOG", "debug")]
        )),
        0
    );
    let o = output(cmd("wwpack", home).args(["export", &cid, "-q", "-v", "-o", s(&car)]));
    assert_eq!(o.status.code(), Some(2), "-q and -v conflict: {o:?}");

    // ww: -vv shows its debug lines (the union root), -q only the error; RUST_LOG too.
    write_tree(&home.join("image"), &[("etc/motd", b"no pid0\n")]);
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd("ww", home);
        c.args(extra)
            .args(["run", "--store", s(&store), "--cache", s(&home.join("c"))])
            .arg(home.join("image"));
        for (k, v) in env {
            c.env(k, v);
        }
        let o = output(&mut c);
        assert_eq!(o.status.code(), Some(125), "{o:?}");
        stderr(&o)
    };
    let quiet_ww = run(&[], &[]);
    assert!(
        quiet_ww.starts_with("ww: error: bin/main.wasm: not found"),
        "{quiet_ww}"
    );
    let vv = run(&["-vv"], &[]);
    assert!(vv.contains("ww: debug: union root"), "{vv}");
    assert!(
        vv.lines()
            .last()
            .unwrap()
            .starts_with("ww: error: bin/main.wasm"),
        "{vv}"
    );
    let q = run(&["-q"], &[("WW_LOG", "debug")]);
    assert_eq!(q.lines().count(), 1, "{q}");
    assert!(q.starts_with("ww: error: "), "{q}");
    assert!(run(&[], &[("RUST_LOG", "debug")]).contains("ww: debug: union root"));
    let json = run(&["--json-log", "-vv"], &[]);
    assert!(
        json.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{json}"
    );
    assert!(json.contains("\"DEBUG\""), "{json}");
}

/// `-v` shows the info lines: here, how many blocks `wwpack cat` read from a real js-ipfs node
/// (pushed there from one store, read into another); without it, none.
#[test]
fn verbose_shows_the_info_lines_of_a_read_through_the_node() {
    let node = e2e::IpfsNode::start();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let (store, cid) = store_with_a_file(home);
    ok(&output(cmd("wwpack", home).args([
        "push",
        &cid,
        "--store",
        s(&store),
        "--api",
        &node.url,
        "-q",
    ])));
    let cat = |store: &Path, extra: &[&str]| {
        let o = output(
            cmd("wwpack", home)
                .args(["cat", &cid, "--api", &node.url, "--store", s(store)])
                .args(extra),
        );
        assert_eq!(ok(&o), "hello\n");
        stderr(&o)
    };
    let quiet = cat(&home.join("empty-1"), &[]);
    assert_eq!(quiet, "", "warnings only by default");
    let info = cat(&home.join("empty-2"), &["-v"]);
    assert!(
        info.starts_with("wwpack: info: 1 blocks from the IPFS node at"),
        "{info}"
    );
    assert!(!info.contains("debug:"), "{info}");
    let coloured = cat(&home.join("empty-3"), &["--verbose", "--color=always"]);
    assert!(
        coloured.starts_with(&format!("wwpack: {ESC}[1;32minfo:{ESC}[0m 1 blocks")),
        "{coloured:?}"
    );
}

/// A TCP listener on 127.0.0.1 that takes connections and never answers: a node that hangs.
fn silent_node() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn the_node_timeout_is_api_timeout_on_both_and_wwpack_still_takes_timeout() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let (_node, url) = silent_node();
    // A CID no store has: it is asked of the node, which never answers; the error says how long
    // wwpack waited (each request's timeout plus 2 s), so the flag's value is seen to reach it.
    let cid = "bafkreiey5jxe6ilpf62lnh77tm5ejbbmhbugzjuf6p2v3remlu73ced34q";
    let store = home.join("store");
    std::fs::create_dir_all(store.join("blocks")).unwrap();
    for args in [
        vec!["cat", cid, "--api", &url, "--api-timeout", "1"],
        vec!["cat", cid, "--api", &url, "--timeout", "1"],
        vec!["--timeout", "1", "--api", &url, "cat", cid],
    ] {
        let o = output(cmd("wwpack", home).args(&args).args(["--store", s(&store)]));
        assert_eq!(o.status.code(), Some(1), "{args:?}: {o:?}");
        assert!(
            stderr(&o).contains("no answer within 3s"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    for (exe, words) in [
        ("wwpack", &["cat"][..]),
        ("wwpack", &["pull"][..]),
        ("ww", &["run"][..]),
    ] {
        let help = ok(&output(cmd(exe, home).args(words).arg("--help")));
        assert!(
            help.contains("--api-timeout <SECS>"),
            "{exe} {words:?}: {help}"
        );
        assert!(
            !help.contains("--timeout <SECS>"),
            "{exe} {words:?}: {help}"
        );
    }
}

#[test]
fn stores_from_the_environment_are_used_and_never_shown_as_typed() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let (store, _) = store_with_a_file(home);
    let cache = home.join("cache-dir");

    // A usage line in an error lists what was typed, not what the environment gave.
    let o = output(
        cmd("ww", home)
            .env("WW_STORE", &store)
            .env("WW_CACHE", &cache)
            .arg("run"),
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let usage = stderr(&o);
    assert!(usage.contains("Usage: ww run <IMAGE>"), "{usage}");
    assert!(
        !usage.contains("--store") && !usage.contains("--cache"),
        "{usage}"
    );
    let o = output(cmd("wwpack", home).env("WW_STORE", &store).arg("export"));
    assert!(stderr(&o).contains("Usage: wwpack export"), "{o:?}");
    assert!(!stderr(&o).contains("--store"), "{}", stderr(&o));
    let help = ok(&output(
        cmd("ww", home)
            .env("WW_STORE", &store)
            .args(["run", "--help"]),
    ));
    assert!(
        help.contains("Usage: ww run [OPTIONS]") && help.contains("[env: WW_STORE]"),
        "{help}"
    );

    // And they are used: the store's path, and a boot that reads the store.
    let stat = ok(&output(
        cmd("wwpack", home)
            .env("WW_STORE", &store)
            .args(["store", "stat"]),
    ));
    assert!(stat.contains(s(&store)), "{stat}");
    write_tree(&home.join("tree"), &[("etc/motd", b"hi\n")]);
    let tree = ok(&output(
        cmd("wwpack", home)
            .env("WW_STORE", &store)
            .arg("add")
            .arg(home.join("tree")),
    ));
    let o = output(
        cmd("ww", home)
            .env("WW_STORE", &store)
            .env("WW_CACHE", &cache)
            .args(["run", tree.trim()]),
    );
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert!(
        stderr(&o).contains("bin/main.wasm: not found"),
        "read from WW_STORE: {o:?}"
    );
    assert!(cache.join("roots").is_dir(), "WW_CACHE used");
    // An empty variable is unset: the default store, under XDG_DATA_HOME.
    let stat = output(
        cmd("wwpack", home)
            .env("WW_STORE", "")
            .args(["store", "stat"]),
    );
    assert!(
        stderr(&stat).contains(s(&home.join("data").join("ww").join("blocks"))),
        "{stat:?}"
    );
    let bad = output(
        cmd("ww", home)
            .env("WW_CACHE_MAX_SIZE", "lots")
            .args(["cache", "prune"]),
    );
    // A bad value of a variable that stands in for a flag is a usage error, as the flag's.
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(stderr(&bad).contains("WW_CACHE_MAX_SIZE=lots"), "{bad:?}");
}

#[test]
fn an_error_has_one_prefix_and_its_causes_on_the_lines_after_it() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let store = home.join("store");
    // Nothing listens on port 1: the registry is refused.
    let o = output(cmd("wwpack", home).args([
        "pull",
        "--oci",
        "127.0.0.1:1/fleet:v1",
        "--plain-http",
        "--store",
        s(&store),
    ]));
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let text = stderr(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "wwpack: error: pulling 127.0.0.1:1/fleet:v1",
        "{text}"
    );
    assert!(
        lines[1].starts_with("  caused by: registry 127.0.0.1:1"),
        "{text}"
    );
    assert_eq!(text.matches("wwpack").count(), 1, "{text}");

    // diff's errors say the side, not the verb again.
    let o =
        output(cmd("wwpack", home).args(["diff", s(&home.join("nowhere")), "--store", s(&store)]));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let text = stderr(&o);
    assert!(
        text.starts_with(&format!("wwpack: error: {}: ", s(&home.join("nowhere")))),
        "{text}"
    );
    assert_eq!(text.matches("wwpack").count(), 1, "{text}");
}
