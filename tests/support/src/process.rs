//! Running a child process to its end while measuring it: its status, output, peak resident
//! memory (from `wait4`'s rusage) and the time it took, killed past a hang guard so that an
//! unbounded command fails its test instead of hanging it. The guard is a bound, never a claim
//! about speed.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a child did: its status, output, peak resident memory and time taken.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory, in bytes.
    pub peak_rss: u64,
    pub took: Duration,
}

impl Outcome {
    /// Status, time, memory and stderr, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{:?} after {:?}, peak RSS {} MiB; stderr: {}",
            self.status,
            self.took,
            self.peak_rss >> 20,
            self.stderr
        )
    }
}

/// Runs `cmd` (stdin closed, stdout and stderr into files, so that no pipe fills) to its end,
/// measuring its peak resident memory with `wait4`; kills it and panics past `hang`.
pub fn run_measured(cmd: &mut Command, hang: Duration) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    // The status and usage are collected here, with wait4, not by `child`.
    std::mem::forget(child);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet waited for; both pointers are valid.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            break;
        }
        assert_eq!(rc, 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if started.elapsed() > hang {
            // SAFETY: signalling our own child, which has not been waited for.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("{cmd:?} hung: killed after {hang:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Outcome {
        status: ExitStatus::from_raw(status),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        took: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_measured_and_a_hanging_one_killed() {
        let o = run_measured(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(60),
        );
        assert_eq!(
            (o.status.code(), o.stdout.as_str(), o.stderr.as_str()),
            (Some(3), "out\n", "err\n")
        );
        assert!(o.peak_rss > 0);
        let hung = std::panic::catch_unwind(|| {
            run_measured(Command::new("sleep").arg("30"), Duration::from_millis(200))
        });
        assert!(hung.is_err(), "a hanging child was not killed");
    }
}
