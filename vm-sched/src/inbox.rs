//! What other threads hand the round-robin scheduler: offloaded jobs'
//! outputs and [`Handle`](crate::Handle) requests, in one queue that the
//! scheduler empties between slices.
//!
//! One mutex guards the whole queue and one condition variable signals
//! it, so a scheduler that waits after finding the queue empty cannot
//! miss an arrival: every producer pushes and notifies under the lock. A
//! flag read without the lock tells the scheduler, at each slice, whether
//! there is anything to take.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::handle::{Remote, Request};
use crate::task::{Message, TaskId};

/// The queue (see the module docs). The scheduler and its handles hold
/// it; jobs hold it weakly.
pub(crate) struct Inbox {
    state: Mutex<Inbound>,
    signal: Condvar,
    /// Set under the lock when something is pushed, cleared when taken.
    pending: AtomicBool,
    /// The next task id, for the scheduler's inserts and its handles'
    /// spawns alike.
    ids: AtomicU64,
}

/// What arrived since the scheduler last looked.
#[derive(Default)]
pub(crate) struct Inbound {
    /// Offloaded jobs' outputs, tagged with their task.
    pub(crate) done: VecDeque<(TaskId, Message)>,
    /// Handle requests, in order.
    pub(crate) requests: VecDeque<Request>,
    /// Set when the scheduler is dropped: nothing is taken any more.
    closed: bool,
}

impl Inbound {
    fn is_empty(&self) -> bool {
        self.done.is_empty() && self.requests.is_empty()
    }
}

impl Inbox {
    pub(crate) fn new() -> Arc<Inbox> {
        Arc::new(Inbox {
            state: Mutex::new(Inbound::default()),
            signal: Condvar::new(),
            pending: AtomicBool::new(false),
            ids: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inbound> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes with `f` unless the scheduler is gone; false then.
    fn push(&self, f: impl FnOnce(&mut Inbound)) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        f(&mut st);
        self.pending.store(true, Ordering::Release);
        self.signal.notify_all();
        true
    }

    /// Hands over a job's output (called on a pool thread).
    pub(crate) fn job_done(&self, id: TaskId, output: Message) {
        self.push(|st| st.done.push_back((id, output)));
    }

    /// Whether something waits to be taken (without locking).
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Everything that arrived, leaving the queue empty.
    pub(crate) fn take(&self) -> Inbound {
        let mut st = self.lock();
        self.pending.store(false, Ordering::Relaxed);
        Inbound {
            done: std::mem::take(&mut st.done),
            requests: std::mem::take(&mut st.requests),
            closed: st.closed,
        }
    }

    /// Blocks until something arrives or `timeout` passes; true when
    /// something waits to be taken.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        let st = self.lock();
        let st = match timeout {
            None => self
                .signal
                .wait_while(st, |s| s.is_empty())
                .unwrap_or_else(PoisonError::into_inner),
            Some(d) => {
                self.signal
                    .wait_timeout_while(st, d, |s| s.is_empty())
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        !st.is_empty()
    }

    /// Stops taking anything (the scheduler is dropped).
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.done.clear();
        st.requests.clear();
    }
}

impl Remote for Inbox {
    fn new_id(&self) -> TaskId {
        TaskId(self.ids.fetch_add(1, Ordering::Relaxed))
    }

    fn post(&self, request: Request) -> Result<(), Request> {
        let mut request = Some(request);
        if self.push(|st| st.requests.extend(request.take())) {
            Ok(())
        } else {
            Err(request.take().expect("not pushed"))
        }
    }
}
