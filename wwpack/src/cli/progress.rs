//! Progress on stderr: indicatif spinners, shown only on a terminal and without `-q`.

/// A spinner on stderr for the steps of a long command (e.g. the build after cargo, which draws
/// its own progress): shown only on a terminal and without `-q`.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// A spinner, or nothing with `quiet` or when stderr is not a terminal.
    pub fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// Shows `message` as the current step.
    pub fn step(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
