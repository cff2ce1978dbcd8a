//! The reactor: which `wasi:io` pollables pending futures wait on, and the one blocking call of
//! the guest, `wasi:io/poll.poll`, over all of them.
//!
//! An I/O future that cannot make progress calls [`register`] with its pollable and its waker
//! and returns `Poll::Pending`. When the executor has nothing left to run it calls [`wait`],
//! which blocks in `poll` on every registered pollable at once and wakes exactly the futures
//! whose pollables are ready; the others stay registered for the next round.
//!
//! The reactor holds its pollables weakly. A pollable is a child resource of the stream it came
//! from, and `wasi:io` lets a host trap when a stream is dropped before its pollables, so a
//! pollable must be dropped by whoever owns its stream, just before the stream: the reactor
//! never keeps one alive. An entry whose pollable is gone is simply forgotten.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::task::Waker;

use wasip2::clocks::monotonic_clock::subscribe_duration;
use wasip2::io::poll::{poll, Pollable};

/// One pending future's interest in one pollable.
struct Registration {
    pollable: Weak<Pollable>,
    waker: Waker,
}

thread_local! {
    static REGISTRATIONS: RefCell<Vec<Registration>> = const { RefCell::new(Vec::new()) };
}

/// Wakes `waker` once `pollable` is ready. Registering the same pollable again replaces its
/// waker, so a future polled several times while it waits is registered once.
pub fn register(pollable: &Rc<Pollable>, waker: &Waker) {
    REGISTRATIONS.with_borrow_mut(|registrations| {
        let weak = Rc::downgrade(pollable);
        match registrations
            .iter_mut()
            .find(|r| Weak::ptr_eq(&r.pollable, &weak))
        {
            Some(existing) => existing.waker.clone_from(waker),
            None => registrations.push(Registration {
                pollable: weak,
                waker: waker.clone(),
            }),
        }
    });
}

/// Whether [`wait`] may block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Block until at least one registered pollable is ready.
    Block,
    /// Only look: wake the futures whose pollables are ready now (a zero-length timer joins the
    /// poll, so it returns at once).
    Check,
}

/// Waits (as `mode` says) for registered pollables and wakes the futures waiting on the ready
/// ones. Returns `false`, without polling, when no live pollable is registered: then no I/O can
/// ever wake anything.
pub fn wait(mode: Mode) -> bool {
    let (pollables, wakers): (Vec<Rc<Pollable>>, Vec<Waker>) = REGISTRATIONS.with_borrow_mut(|r| {
        std::mem::take(r)
            .into_iter()
            .filter_map(|r| r.pollable.upgrade().map(|p| (p, r.waker)))
            .unzip()
    });
    if pollables.is_empty() {
        return false;
    }
    let ready = {
        let now = (mode == Mode::Check).then(|| subscribe_duration(0));
        let mut borrowed: Vec<&Pollable> = pollables.iter().map(Rc::as_ref).collect();
        borrowed.extend(now.as_ref());
        poll(&borrowed)
    };
    let mut is_ready = vec![false; pollables.len()];
    for index in ready {
        if let Some(flag) = is_ready.get_mut(index as usize) {
            *flag = true;
        }
    }
    let mut waiting = Vec::new();
    for ((pollable, waker), ready) in pollables.iter().zip(wakers).zip(is_ready) {
        if ready {
            waker.wake();
        } else {
            waiting.push(Registration {
                pollable: Rc::downgrade(pollable),
                waker,
            });
        }
    }
    // Entries registered while waking (none today: wakers only set flags) are kept too.
    REGISTRATIONS.with_borrow_mut(|r| r.append(&mut waiting));
    // `pollables` (the strong references taken for `poll`) is dropped here, before any future
    // runs again, so the owners of the pollables stay their only owners.
    drop(pollables);
    true
}

/// Forgets every registration: used by the executor when it stops.
pub fn clear() {
    let registrations = REGISTRATIONS.with_borrow_mut(std::mem::take);
    drop(registrations);
}
