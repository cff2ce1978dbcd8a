//! The probe's behaviours, as selected by its arguments.

/// The usage line printed (on stderr) for arguments the probe does not know.
pub const USAGE: &str =
    "usage: probe exit N | stdout N | stderr N | cat | nest | host | trap | echo-many N | alloc MIB | spin \
     | hold MIB | spawn N [MIB] | epoch [FILE ...] | env";

/// What the probe was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Exit with this status.
    Exit(u8),
    /// Write this many bytes (`x`) to stdout, then exit 0.
    Stdout(u64),
    /// Write this many bytes (`x`) to stderr, then exit 0.
    Stderr(u64),
    /// Copy stdin to stdout until end of stream, then exit 0.
    Cat,
    /// Run the embedded child-echo as a child and relay its output.
    Nest,
    /// Print what the host reports about itself.
    Host,
    /// Execute `unreachable`.
    Trap,
    /// Make this many concurrent echo calls and count the replies that match.
    EchoMany(u32),
    /// Allocate and touch this many MiB, then exit 0.
    Alloc(u32),
    /// Print `spinning`, then compute forever.
    Spin,
    /// Allocate and touch this many MiB, print `holding`, then wait for stdin to end.
    Hold(u32),
    /// Start this many children of the probe itself, each holding `mib` MiB, keep them alive,
    /// report, let them go, then start one more.
    Spawn { count: u32, mib: u32 },
    /// Print these files of the root filesystem, graft, wait for the session's epoch to end,
    /// then call the old host.
    Epoch(Vec<String>),
    /// Print the environment, one `NAME=VALUE` per line, in order.
    Env,
}

/// Parses the probe's arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Behaviour, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["exit", n] => number(n, "exit").map(Behaviour::Exit),
        ["stdout", n] => number(n, "stdout").map(Behaviour::Stdout),
        ["stderr", n] => number(n, "stderr").map(Behaviour::Stderr),
        ["cat"] => Ok(Behaviour::Cat),
        ["nest"] => Ok(Behaviour::Nest),
        ["host"] => Ok(Behaviour::Host),
        ["trap"] => Ok(Behaviour::Trap),
        ["echo-many", n] => number(n, "echo-many").map(Behaviour::EchoMany),
        ["alloc", n] => number(n, "alloc").map(Behaviour::Alloc),
        ["spin"] => Ok(Behaviour::Spin),
        ["hold", n] => number(n, "hold").map(Behaviour::Hold),
        ["spawn", n] => Ok(Behaviour::Spawn {
            count: number(n, "spawn")?,
            mib: 0,
        }),
        ["spawn", n, mib] => Ok(Behaviour::Spawn {
            count: number(n, "spawn")?,
            mib: number(mib, "spawn")?,
        }),
        ["epoch", files @ ..] => Ok(Behaviour::Epoch(
            files.iter().map(|f| f.to_string()).collect(),
        )),
        ["env"] => Ok(Behaviour::Env),
        [] => Err("no behaviour given".to_string()),
        [first, ..] => Err(format!(
            "unknown behaviour or wrong arguments: `{}`",
            std::iter::once(*first)
                .chain(words[1..].iter().copied())
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

fn number<T: std::str::FromStr>(word: &str, behaviour: &str) -> Result<T, String> {
    word.parse()
        .map_err(|_| format!("{behaviour}: `{word}` is not a number in range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn known_behaviours_parse() {
        assert_eq!(parse(&args(&["exit", "3"])), Ok(Behaviour::Exit(3)));
        assert_eq!(parse(&args(&["stderr", "100"])), Ok(Behaviour::Stderr(100)));
        assert_eq!(
            parse(&args(&["echo-many", "8"])),
            Ok(Behaviour::EchoMany(8))
        );
        assert_eq!(parse(&args(&["nest"])), Ok(Behaviour::Nest));
        assert_eq!(parse(&args(&["alloc", "64"])), Ok(Behaviour::Alloc(64)));
        assert_eq!(parse(&args(&["spin"])), Ok(Behaviour::Spin));
        assert_eq!(parse(&args(&["hold", "16"])), Ok(Behaviour::Hold(16)));
        assert_eq!(
            parse(&args(&["spawn", "8"])),
            Ok(Behaviour::Spawn { count: 8, mib: 0 })
        );
        assert_eq!(
            parse(&args(&["spawn", "8", "16"])),
            Ok(Behaviour::Spawn { count: 8, mib: 16 })
        );
        assert_eq!(parse(&args(&["epoch"])), Ok(Behaviour::Epoch(vec![])));
        assert_eq!(parse(&args(&["env"])), Ok(Behaviour::Env));
        assert_eq!(
            parse(&args(&["epoch", "/etc/version", "/etc/motd"])),
            Ok(Behaviour::Epoch(vec![
                "/etc/version".to_string(),
                "/etc/motd".to_string()
            ]))
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse(&args(&[])).is_err());
        assert!(parse(&args(&["exit", "256"])).is_err());
        assert!(parse(&args(&["cat", "extra"])).is_err());
        assert!(parse(&args(&["spawn", "x"])).is_err());
        assert!(parse(&args(&["spawn", "1", "2", "3"])).is_err());
        assert!(parse(&args(&["frob"])).unwrap_err().contains("`frob`"));
    }
}
