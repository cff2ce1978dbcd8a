//! Commands on a real pseudo-terminal (rustix's `openpt`): what the progress tests of `wwpack`
//! and `ww` run their commands through, stderr on the terminal and stdout a pipe.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use rustix::fs::{Mode, OFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

/// What a command wrote: its stdout (a pipe) and what its terminal stderr showed.
pub struct OnTerminal {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    /// Everything the terminal received, escape codes included.
    pub terminal: String,
}

/// Runs `cmd` with stderr on a new pseudo-terminal of 120 columns (stdout a pipe, stdin empty)
/// and collects both until it exits.
pub fn on_terminal(cmd: &mut Command) -> OnTerminal {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("open a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave: OwnedFd = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open the terminal's slave side");
    rustix::termios::tcsetwinsize(
        &slave,
        rustix::termios::Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("set the terminal's size");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn the command");
    // `cmd` keeps a copy of the slave side: drop it, so that reading the master ends (EIO)
    // once the child has exited.
    cmd.stderr(Stdio::null());
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        all
    });
    let out = child.wait_with_output().expect("wait for the command");
    let terminal = reader.join().expect("the terminal's reader");
    OnTerminal {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        terminal: String::from_utf8_lossy(&terminal).into_owned(),
    }
}

impl OnTerminal {
    /// Asserts success and that the terminal showed every one of `parts`; returns stdout.
    pub fn shows(&self, parts: &[&str]) -> &str {
        assert!(
            self.status.success(),
            "failed: {:?}\n{}",
            self.status,
            self.terminal
        );
        for part in parts {
            assert!(
                self.terminal.contains(part),
                "the terminal did not show {part:?}:\n{:?}",
                self.terminal
            );
        }
        &self.stdout
    }

    /// Asserts that the last bar drawn was cleared before the line `line` (the command's normal
    /// output on stderr, printed after the bar).
    pub fn cleared_before(&self, line: &str) {
        let at = self
            .terminal
            .find(line)
            .unwrap_or_else(|| panic!("no {line:?} on the terminal:\n{:?}", self.terminal));
        let before = &self.terminal[..at];
        assert!(
            before.ends_with("\r\x1b[2K") || before.ends_with("\x1b[1A"),
            "the bar was not cleared before {line:?}:\n{before:?}"
        );
    }
}
