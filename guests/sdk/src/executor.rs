//! The executor: runs one main future and the tasks [`spawn`]ed beside it on the guest's single
//! thread, and blocks in `wasi:io/poll` (through [`crate::reactor`]) whenever none of them can
//! make progress.
//!
//! Each future has a flag that its waker sets. A round polls the main future and every task
//! whose flag is set; when no flag is set after a round, the executor calls
//! [`reactor::wait`], which blocks until some registered pollable is ready and sets the flags of
//! exactly the futures waiting on it. Nothing is polled without being woken, so there is no busy
//! loop. When every future is pending and no pollable is registered, nothing can ever wake them:
//! [`block_on`] then stops with [`ExecutorError::Stalled`] instead of hanging.
//!
//! When the main future completes, the executor drops it first (and with it the capabilities it
//! held), then the remaining tasks (such as the RPC system of [`crate::rpc`], which owns the
//! connection's streams), then the reactor's registrations.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::reactor::{self, Mode};

/// Why [`block_on`] or [`spawn`] could not do their job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutorError {
    /// Every future is pending and none waits on I/O, so none can ever be woken.
    Stalled,
    /// `block_on` was called while another `block_on` was running.
    Nested,
    /// `spawn` was called outside `block_on`.
    NotRunning,
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::Stalled => f.write_str(
                "executor stalled: the main future is pending but no task is runnable and no I/O is awaited",
            ),
            ExecutorError::Nested => {
                f.write_str("block_on called inside block_on: a guest has one executor")
            }
            ExecutorError::NotRunning => {
                f.write_str("spawn called outside block_on: tasks need a running executor")
            }
        }
    }
}

impl std::error::Error for ExecutorError {}

/// Set by a waker, taken by the executor before it polls the future.
struct Flag(AtomicBool);

impl Flag {
    fn new_set() -> Arc<Flag> {
        Arc::new(Flag(AtomicBool::new(true)))
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A spawned future and its wake flag.
struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl Task {
    fn new(future: impl Future<Output = ()> + 'static) -> Task {
        let flag = Flag::new_set();
        Task {
            future: Box::pin(future),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    /// Polls the task if it was woken; `true` when it has completed.
    fn run(&mut self) -> bool {
        if !self.flag.take() {
            return false;
        }
        let mut cx = Context::from_waker(&self.waker);
        self.future.as_mut().poll(&mut cx).is_ready()
    }
}

thread_local! {
    /// The tasks of the running executor; `None` when no `block_on` runs.
    static TASKS: RefCell<Option<Vec<Task>>> = const { RefCell::new(None) };
}

/// Runs `future` beside the main future of the running [`block_on`]. The task is dropped,
/// unfinished, when the main future completes.
pub fn spawn(future: impl Future<Output = ()> + 'static) -> Result<(), ExecutorError> {
    TASKS.with_borrow_mut(|tasks| match tasks {
        Some(tasks) => {
            tasks.push(Task::new(future));
            Ok(())
        }
        None => Err(ExecutorError::NotRunning),
    })
}

/// Runs `future` to completion, with the tasks it spawns, blocking in `wasi:io/poll` when none
/// can make progress.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, ExecutorError> {
    let started = TASKS.with_borrow_mut(|tasks| match tasks {
        Some(_) => false,
        None => {
            *tasks = Some(Vec::new());
            true
        }
    });
    if !started {
        return Err(ExecutorError::Nested);
    }
    let result = run(future);
    // The main future is gone; now the tasks, then the registrations.
    let tasks = TASKS.with_borrow_mut(Option::take);
    drop(tasks);
    reactor::clear();
    result
}

/// After this many rounds in a row with something runnable, the executor checks the reactor
/// without blocking, so that futures that keep waking themselves cannot starve I/O.
const BUSY_ROUNDS_BEFORE_CHECK: u32 = 32;

fn run<F: Future>(future: F) -> Result<F::Output, ExecutorError> {
    let mut main = pin!(future);
    let main_flag = Flag::new_set();
    let main_waker = Waker::from(main_flag.clone());
    let mut busy_rounds = 0;
    loop {
        if main_flag.take() {
            let mut cx = Context::from_waker(&main_waker);
            if let Poll::Ready(output) = main.as_mut().poll(&mut cx) {
                return Ok(output);
            }
        }
        run_tasks();
        if main_flag.is_set() || any_task_woken() {
            busy_rounds += 1;
            if busy_rounds >= BUSY_ROUNDS_BEFORE_CHECK {
                busy_rounds = 0;
                reactor::wait(Mode::Check);
            }
        } else if reactor::wait(Mode::Block) {
            busy_rounds = 0;
        } else {
            return Err(ExecutorError::Stalled);
        }
    }
}

/// Polls every woken task once. Tasks are taken out of the list while they run, so that they
/// can spawn more; the ones spawned meanwhile run in the next round.
fn run_tasks() {
    let mut tasks = TASKS.with_borrow_mut(|tasks| tasks.as_mut().map(std::mem::take));
    let Some(running) = tasks.as_mut() else {
        return;
    };
    // A completed task is dropped by `retain_mut`, outside any borrow of the list.
    running.retain_mut(|task| !task.run());
    TASKS.with_borrow_mut(|list| {
        if let (Some(list), Some(running)) = (list.as_mut(), tasks.take()) {
            let spawned = std::mem::replace(list, running);
            list.extend(spawned);
        }
    });
}

fn any_task_woken() -> bool {
    TASKS.with_borrow(|tasks| {
        tasks
            .as_ref()
            .is_some_and(|tasks| tasks.iter().any(|t| t.flag.is_set()))
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use futures::channel::oneshot;

    use super::*;
    use crate::timer::sleep;

    /// Counts how often the wrapped future is polled.
    struct Counted<F> {
        future: Pin<Box<F>>,
        polls: Rc<Cell<u32>>,
    }

    impl<F: Future> Future for Counted<F> {
        type Output = F::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            self.polls.set(self.polls.get() + 1);
            self.future.as_mut().poll(cx)
        }
    }

    /// Sets its flag when dropped.
    struct DropFlag(Rc<Cell<bool>>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    #[test]
    fn a_ready_future_is_its_output() {
        assert_eq!(block_on(async { 7 }), Ok(7));
    }

    #[test]
    fn spawned_tasks_run_beside_the_main_future() {
        let result = block_on(async {
            let (tx, rx) = oneshot::channel();
            spawn(async move {
                sleep(Duration::from_millis(5)).await;
                let _ = tx.send(42);
            })?;
            Ok::<_, ExecutorError>(rx.await.ok())
        });
        assert_eq!(result, Ok(Ok(Some(42))));
    }

    #[test]
    fn only_the_futures_whose_pollables_are_ready_are_polled() {
        let polls = Rc::new(Cell::new(0));
        let main = Counted {
            future: Box::pin(async {
                spawn(async {
                    // Ready long before the main future's timer: waking it must not poll main.
                    for _ in 0..3 {
                        sleep(Duration::from_millis(2)).await;
                    }
                })?;
                sleep(Duration::from_millis(100)).await;
                Ok::<_, ExecutorError>(())
            }),
            polls: polls.clone(),
        };
        assert_eq!(block_on(main), Ok(Ok(())));
        assert_eq!(
            polls.get(),
            2,
            "polled once to start, once when its timer was ready"
        );
    }

    /// Wakes itself and yields once: a future that always has more to do.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn a_task_that_never_rests_does_not_starve_io() {
        let result = block_on(async {
            spawn(async {
                loop {
                    YieldOnce(false).await;
                }
            })?;
            sleep(Duration::from_millis(10)).await;
            Ok::<_, ExecutorError>(())
        });
        assert_eq!(result, Ok(Ok(())));
    }

    #[test]
    fn a_future_nothing_can_wake_stalls() {
        let (_tx, rx) = oneshot::channel::<()>();
        assert_eq!(block_on(rx), Err(ExecutorError::Stalled));
    }

    #[test]
    fn unfinished_tasks_are_dropped_when_main_completes() {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let result = block_on(async move {
            spawn(async move {
                let _guard = guard;
                futures::future::pending::<()>().await;
            })
        });
        assert_eq!(result, Ok(Ok(())));
        assert!(dropped.get());
    }

    #[test]
    fn block_on_does_not_nest_and_spawn_needs_it() {
        assert_eq!(
            spawn(async {}),
            Err(ExecutorError::NotRunning),
            "outside block_on"
        );
        assert_eq!(
            block_on(async { block_on(async {}) }),
            Ok(Err(ExecutorError::Nested))
        );
    }
}
