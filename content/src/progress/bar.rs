//! The bar the command lines draw on stderr from a [`Meter`] (feature `bar`, for `wwpack` and
//! `ww`; the library itself never prints).
//!
//! A thread of the [`Bar`] polls the meter's atomics ten times a second. With a total of bytes
//! (known up front, or claimed by a DAG's root) the bar shows bytes done of the total, the rate
//! and the time left; without one, a spinner with the bytes, the rate and the count of items.
//! The bar is drawn when it starts and, with the final counts, when it finishes (so even a
//! short operation shows once), then cleared, so that the lines printed after it start on a
//! clean line (and, under `ww run`, before pid0, which inherits stderr, writes anything).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Meter, Snapshot};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the bar reads the meter.
const POLL: Duration = Duration::from_millis(100);

/// What a meter's items are, for the bar's message.
#[derive(Debug, Clone, Copy)]
pub enum Items {
    Files,
    Blocks,
    /// Not shown.
    None,
}

impl Items {
    fn word(self) -> &'static str {
        match self {
            Items::Files => "files",
            Items::Blocks => "blocks",
            Items::None => "",
        }
    }
}

/// A progress bar on stderr following a [`Meter`]; cleared when finished or dropped.
pub struct Bar(Option<Shown>);

struct Shown {
    bar: ProgressBar,
    meter: Meter,
    items: Items,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl Bar {
    /// A bar labelled `label` following `meter`, drawn now; nothing unless `show` (the command
    /// line decides: stderr a terminal, and no `-q`, `--json` or JSON log).
    pub fn start(show: bool, label: &str, meter: &Meter, items: Items) -> Bar {
        if !show {
            return Bar(None);
        }
        // Styled before it has somewhere to draw: its first drawing is already ours.
        let bar = ProgressBar::hidden()
            .with_style(style(false))
            .with_prefix(label.to_string());
        update(&bar, meter.snapshot(), items);
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.force_draw();
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (bar, meter, stop) = (bar.clone(), meter.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    update(&bar, meter.snapshot(), items);
                    bar.tick();
                    std::thread::park_timeout(POLL);
                }
            })
        };
        Bar(Some(Shown {
            bar,
            meter: meter.clone(),
            items,
            stop,
            poller: Some(poller),
        }))
    }

    /// Shows `label` before the bar (the step a long command is at).
    pub fn set_label(&self, label: &str) {
        if let Some(shown) = &self.0 {
            shown.bar.set_prefix(label.to_string());
        }
    }

    /// Draws the final counts, then clears the bar.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        let Some(mut shown) = self.0.take() else {
            return;
        };
        shown.stop.store(true, Ordering::Relaxed);
        if let Some(poller) = shown.poller.take() {
            poller.thread().unpark();
            let _ = poller.join();
        }
        update(&shown.bar, shown.meter.snapshot(), shown.items);
        shown.bar.force_draw();
        shown.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.close();
    }
}

/// The bar's look: with a total of bytes, a bar with the time left; without, a spinner.
fn style(with_total: bool) -> ProgressStyle {
    let template = if with_total {
        "{prefix} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} \
         ETA {eta} {msg}"
    } else {
        "{prefix} {spinner} {binary_bytes} {binary_bytes_per_sec} {msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Copies `now` into `bar`: the total (switching to the bar's style when one appears), the
/// bytes done (never past the total) and the items as the message.
fn update(bar: &ProgressBar, now: Snapshot, items: Items) {
    if let Some(total) = now.bytes_total {
        if bar.length().is_none() {
            bar.set_style(style(true));
        }
        bar.set_length(total);
    }
    bar.set_position(now.bytes_shown());
    let word = items.word();
    if word.is_empty() {
        return;
    }
    bar.set_message(match now.items_total {
        Some(total) => format!("{}/{total} {word}", now.items_shown()),
        None => format!("{} {word}", now.items),
    });
}
