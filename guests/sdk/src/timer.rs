//! [`sleep`]: a timer on `wasi:clocks/monotonic-clock`, waited on through the reactor like any
//! other pollable.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use wasip2::clocks::monotonic_clock::subscribe_duration;
use wasip2::io::poll::Pollable;

use crate::reactor;

/// Completes once `duration` has passed, without blocking other futures meanwhile.
pub fn sleep(duration: Duration) -> Sleep {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    Sleep {
        pollable: Rc::new(subscribe_duration(nanos)),
    }
}

/// The future of [`sleep`]. Its pollable has no parent resource, so it may be dropped at any
/// time.
pub struct Sleep {
    pollable: Rc<Pollable>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.pollable.ready() {
            Poll::Ready(())
        } else {
            reactor::register(&self.pollable, cx.waker());
            Poll::Pending
        }
    }
}
