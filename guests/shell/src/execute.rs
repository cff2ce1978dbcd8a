//! Running one parsed command against the session: what each command prints.

use wetware_guest::{AsyncOutput, Child, EpochStatus, Error, Session};

use crate::command::{Command, HELP};

/// What the shell does after a command.
pub enum Next {
    /// Read the next line.
    Continue,
    /// Leave with this status.
    Exit(u8),
}

/// The shell's streams and session.
pub struct Shell {
    pub session: Session,
    pub out: AsyncOutput,
    pub err: AsyncOutput,
}

impl Shell {
    /// Runs `command`. A failure of the command itself (an unreadable file, bytes that are not
    /// a component, a trapped child) is printed on stderr and the shell continues; only a
    /// failure of the shell's own output ends it.
    pub async fn execute(&mut self, command: Command<'_>) -> Result<Next, Error> {
        match command {
            Command::Echo(text) => match self.session.echo(text).await {
                Ok(reply) => self.out.write_line(&reply).await?,
                Err(e) => self.error(&format!("echo: {e}")).await?,
            },
            Command::Run { path, args } => {
                if let Err(message) = self.run(path, &args).await? {
                    self.error(&format!("run: {path}: {message}")).await?;
                }
            }
            Command::Epoch => {
                let seq = self.session.epoch;
                match self.session.epoch_status().await {
                    Ok(EpochStatus::Current) => {
                        self.out
                            .write_line(&format!("epoch {seq} (current)"))
                            .await?
                    }
                    Ok(EpochStatus::Ended(message)) => {
                        self.out
                            .write_line(&format!("epoch {seq} (ended: {message})"))
                            .await?
                    }
                    Err(e) => self.error(&format!("epoch: {e}")).await?,
                }
            }
            Command::Help => self.out.write_line(HELP).await?,
            Command::Exit(status) => return Ok(Next::Exit(status)),
        }
        Ok(Next::Continue)
    }

    /// Prints `message` on stderr as the shell's.
    pub async fn error(&mut self, message: &str) -> Result<(), Error> {
        self.err.write_line(&format!("shell: {message}")).await?;
        Ok(())
    }

    /// Runs the component at `path` and prints `PATH exited with status N`. The outer error is
    /// the shell's own output failing; the inner one is the command's failure, to be printed.
    async fn run(&mut self, path: &str, args: &[&str]) -> Result<Result<(), String>, Error> {
        let wasm = match std::fs::read(path) {
            Ok(wasm) => wasm,
            Err(e) => return Ok(Err(format!("cannot read: {e}"))),
        };
        let child = match Child::spawn(&self.session.executor, &wasm, args, &[]).await {
            Ok(child) => child,
            Err(e) => return Ok(Err(e.to_string())),
        };
        drop(wasm);
        // The shell keeps its stdin for its own commands: the child reads end of stream.
        if let Err(e) = child.close_stdin().await {
            return Ok(Err(e.to_string()));
        }
        let status = match child.relay(&mut self.out, &mut self.err).await {
            Ok(status) => status,
            Err(Error::Io(e)) => return Err(Error::Io(e)),
            Err(e) => return Ok(Err(e.to_string())),
        };
        self.out
            .write_line(&format!("{path} exited with status {status}"))
            .await?;
        Ok(Ok(()))
    }
}
