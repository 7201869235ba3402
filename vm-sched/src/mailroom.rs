//! A queue that other threads fill and one scheduler empties (what
//! round-robin's `inbox` and tick's remote queue are made of).
//!
//! One mutex guards the whole queue and one condition variable signals
//! it, so a scheduler that waits after finding the queue empty cannot
//! miss an arrival: every producer pushes and notifies under the lock. A
//! flag read without the lock says whether anything waits, for the
//! scheduler's look at every slice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What a [`Mailroom`] holds: several queues, empty by default.
pub(crate) trait Contents: Default {
    fn is_empty(&self) -> bool;
}

/// The queue (see the module docs).
pub(crate) struct Mailroom<T> {
    state: Mutex<State<T>>,
    signal: Condvar,
    /// Set under the lock by a push, cleared by a take.
    pending: AtomicBool,
}

struct State<T> {
    contents: T,
    /// Something changed that the waiting scheduler must look at (a
    /// handle or a waker gone), though nothing was pushed.
    nudged: bool,
    /// Set when the scheduler is dropped: nothing is taken any more.
    closed: bool,
}

impl<T: Contents> Default for Mailroom<T> {
    fn default() -> Self {
        Mailroom {
            state: Mutex::new(State {
                contents: T::default(),
                nudged: false,
                closed: false,
            }),
            signal: Condvar::new(),
            pending: AtomicBool::new(false),
        }
    }
}

impl<T: Contents> Mailroom<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes with `f` unless the scheduler is gone, and signals it;
    /// whether it pushed.
    pub(crate) fn push(&self, f: impl FnOnce(&mut T)) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        f(&mut st.contents);
        self.pending.store(true, Ordering::Release);
        self.signal.notify_all();
        true
    }

    /// Wakes a scheduler waiting on the queue, to look again.
    pub(crate) fn nudge(&self) {
        let mut st = self.lock();
        st.nudged = true;
        self.pending.store(true, Ordering::Release);
        self.signal.notify_all();
    }

    /// Whether something waits to be taken (without locking).
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Everything that arrived, leaving the queue empty.
    pub(crate) fn take(&self) -> T {
        let mut st = self.lock();
        self.pending.store(false, Ordering::Relaxed);
        st.nudged = false;
        std::mem::take(&mut st.contents)
    }

    /// Blocks until something arrives or `timeout` passes; true when
    /// something waits to be taken.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        let st = self.lock();
        let st = match timeout {
            None => self
                .signal
                .wait_while(st, |s| s.contents.is_empty() && !s.nudged)
                .unwrap_or_else(PoisonError::into_inner),
            Some(d) => {
                self.signal
                    .wait_timeout_while(st, d, |s| s.contents.is_empty() && !s.nudged)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        !st.contents.is_empty() || st.nudged
    }

    /// Stops taking anything (the scheduler is dropped); what waits is
    /// dropped.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.contents = T::default();
    }
}
