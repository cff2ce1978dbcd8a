//! The shell's command language: one command per line, words separated by whitespace.

/// The commands `help` lists.
pub const HELP: &str = "\
commands:
  echo TEXT            print TEXT as the host's Executor.echo returns it
  run PATH [ARGS...]   run the WASI command at PATH (read from the image) as a child process
  epoch                print the session's epoch and whether it is current or has ended
  help                 print this help
  exit [N]             leave the shell with status N (default 0)";

/// One parsed line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `echo TEXT`: TEXT is the rest of the line after `echo` and one separator.
    Echo(&'a str),
    /// `run PATH [ARGS...]`.
    Run { path: &'a str, args: Vec<&'a str> },
    /// `epoch`.
    Epoch,
    /// `help`.
    Help,
    /// `exit [N]`.
    Exit(u8),
}

/// Parses `line` (with or without its newline). A blank line is `Ok(None)`; a line the shell
/// cannot run is an error message naming the command and what is wrong.
pub fn parse(line: &str) -> Result<Option<Command<'_>>, String> {
    let line = line.trim_end_matches(['\n', '\r']);
    let trimmed = line.trim_start();
    let Some(name) = trimmed.split_whitespace().next() else {
        return Ok(None);
    };
    let rest = &trimmed[name.len()..];
    let mut words = rest.split_whitespace();
    match name {
        "echo" => {
            // Keep the text as typed: drop only the one separator after `echo`.
            let mut chars = rest.chars();
            let text = match chars.next() {
                Some(c) if c.is_whitespace() => chars.as_str(),
                _ => rest,
            };
            Ok(Some(Command::Echo(text)))
        }
        "run" => match words.next() {
            Some(path) => Ok(Some(Command::Run {
                path,
                args: words.collect(),
            })),
            None => Err("run: missing PATH (usage: run PATH [ARGS...])".to_string()),
        },
        "epoch" => match words.next() {
            None => Ok(Some(Command::Epoch)),
            Some(extra) => Err(format!(
                "epoch: unexpected argument `{extra}` (usage: epoch)"
            )),
        },
        "help" => Ok(Some(Command::Help)),
        "exit" => {
            let status = match words.next() {
                None => 0,
                Some(word) => word
                    .parse::<u8>()
                    .map_err(|_| format!("exit: `{word}` is not a status 0..=255"))?,
            };
            match words.next() {
                None => Ok(Some(Command::Exit(status))),
                Some(extra) => Err(format!(
                    "exit: unexpected argument `{extra}` (usage: exit [N])"
                )),
            }
        }
        other => Err(format!("unknown command `{other}` (try `help`)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_nothing() {
        assert_eq!(parse("\n"), Ok(None));
        assert_eq!(parse("   \t\n"), Ok(None));
    }

    #[test]
    fn echo_keeps_the_text() {
        assert_eq!(parse("echo hi\n"), Ok(Some(Command::Echo("hi"))));
        assert_eq!(
            parse("echo  two  spaces\r\n"),
            Ok(Some(Command::Echo(" two  spaces")))
        );
        assert_eq!(parse("echo"), Ok(Some(Command::Echo(""))));
    }

    #[test]
    fn run_takes_a_path_and_arguments() {
        assert_eq!(
            parse("run /bin/hello.wasm a b\n"),
            Ok(Some(Command::Run {
                path: "/bin/hello.wasm",
                args: vec!["a", "b"]
            }))
        );
        assert!(parse("run\n").is_err());
    }

    #[test]
    fn epoch_takes_no_arguments() {
        assert_eq!(parse("epoch\n"), Ok(Some(Command::Epoch)));
        assert_eq!(parse("  epoch  \r\n"), Ok(Some(Command::Epoch)));
        assert!(parse("epoch 2\n").unwrap_err().contains("`2`"));
    }

    #[test]
    fn exit_takes_an_optional_status() {
        assert_eq!(parse("exit\n"), Ok(Some(Command::Exit(0))));
        assert_eq!(parse("exit 7\n"), Ok(Some(Command::Exit(7))));
        assert!(parse("exit 256\n").is_err());
        assert!(parse("exit 1 2\n").is_err());
    }

    #[test]
    fn unknown_commands_are_named() {
        let err = parse("frob x\n").unwrap_err();
        assert!(err.contains("`frob`"), "{err}");
    }
}
