//! What other threads hand the round-robin scheduler: offloaded jobs'
//! outputs and [`Handle`](crate::Handle) requests, in one
//! [`Mailroom`] that the scheduler empties between slices.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::handle::{Remote, Request};
use crate::mailroom::{Contents, Mailroom};
use crate::task::{Message, TaskId};

/// The queue. The scheduler and its handles hold it; jobs hold it
/// weakly.
pub(crate) struct Inbox {
    room: Mailroom<Inbound>,
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
}

impl Contents for Inbound {
    fn is_empty(&self) -> bool {
        self.done.is_empty() && self.requests.is_empty()
    }
}

impl Inbox {
    pub(crate) fn new() -> Arc<Inbox> {
        Arc::new(Inbox {
            room: Mailroom::default(),
            ids: AtomicU64::new(1),
        })
    }

    /// Hands over a job's output (called on a pool thread).
    pub(crate) fn job_done(&self, id: TaskId, output: Message) {
        self.room.push(|st| st.done.push_back((id, output)));
    }

    /// Whether something waits to be taken (without locking).
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.room.pending()
    }

    /// Everything that arrived, leaving the queue empty.
    pub(crate) fn take(&self) -> Inbound {
        self.room.take()
    }

    /// Blocks until something arrives or `timeout` passes; true when
    /// something waits to be taken.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        self.room.wait(timeout)
    }

    /// Stops taking anything (the scheduler is dropped).
    pub(crate) fn close(&self) {
        self.room.close();
    }
}

impl Remote for Inbox {
    fn new_id(&self) -> TaskId {
        TaskId(self.ids.fetch_add(1, Ordering::Relaxed))
    }

    fn nudge(&self) {
        self.room.nudge();
    }

    fn post(&self, request: Request) -> Result<(), Request> {
        let mut request = Some(request);
        if self.room.push(|st| st.requests.extend(request.take())) {
            Ok(())
        } else {
            Err(request.take().expect("not pushed"))
        }
    }
}
