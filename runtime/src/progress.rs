//! The bar `ww run` draws on stderr while it fetches and writes the files of a content layer:
//! bytes written to the cache of the total the layer's DAG claims (its files' sizes, counted
//! before any is written), with the rate and the time left; a count of files while the DAG is
//! still walked. Only on a terminal, never with `--json-log`.
//!
//! The loader counts on a [`Meter`] ([`ww_content::progress`]); a thread of the [`Bar`] polls
//! it. The bar is drawn when it starts and when it finishes, then cleared: it is gone before
//! pid0, which inherits stderr, writes anything.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ww_content::progress::{Meter, Snapshot};

/// How often the bar reads the meter.
const POLL: Duration = Duration::from_millis(100);

/// Whether a bar may be drawn: stderr is a terminal and the log is not JSON.
pub fn wanted() -> bool {
    !crate::logline::is_json() && std::io::stderr().is_terminal()
}

/// A bar on stderr following a meter's bytes (and its items, as files); cleared when finished
/// or dropped.
pub struct Bar(Option<Shown>);

struct Shown {
    bar: ProgressBar,
    meter: Meter,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl Bar {
    /// A bar labelled `label` following `meter`, drawn now; nothing unless `show`.
    pub fn start(show: bool, label: &str, meter: &Meter) -> Bar {
        if !show {
            return Bar(None);
        }
        let bar = ProgressBar::hidden()
            .with_style(style(false))
            .with_prefix(label.to_string());
        update(&bar, meter.snapshot());
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.force_draw();
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (bar, meter, stop) = (bar.clone(), meter.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    update(&bar, meter.snapshot());
                    bar.tick();
                    std::thread::park_timeout(POLL);
                }
            })
        };
        Bar(Some(Shown {
            bar,
            meter: meter.clone(),
            stop,
            poller: Some(poller),
        }))
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
        update(&shown.bar, shown.meter.snapshot());
        shown.bar.force_draw();
        shown.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.close();
    }
}

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

fn update(bar: &ProgressBar, now: Snapshot) {
    if let Some(total) = now.bytes_total {
        if bar.length().is_none() {
            bar.set_style(style(true));
        }
        bar.set_length(total);
    }
    bar.set_position(now.bytes_shown());
    bar.set_message(match now.items_total {
        Some(total) => format!("{}/{total} files", now.items_shown()),
        None => format!("{} files", now.items),
    });
}
