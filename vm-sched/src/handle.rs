//! [`Handle`]: a scheduler reached from any thread, and from inside the
//! slices of its own tasks (which cannot borrow it): what agents use to
//! spawn, message and kill each other.
//!
//! A handle queues requests; the scheduler applies them between slices,
//! in the order they were queued, and a scheduler waiting for work wakes
//! up for them. A spawned task's id is given at once, so the next
//! request may already name it.

use std::sync::Arc;

use crate::task::{Message, Task, TaskId};

/// A scheduler reached from any thread, and from inside its tasks'
/// slices ([`Scheduler::handle`](crate::Scheduler::handle)). Clones share
/// the scheduler; a handle does not keep it alive.
///
/// ```
/// use vm_sched::{Message, Poll, RoundRobin, Scheduler, Slice, Task, TaskStatus, End};
///
/// /// Finishes once it has received a message.
/// struct Waits(bool);
/// impl Task for Waits {
///     fn run(&mut self, _budget: u64) -> Slice {
///         let poll = if self.0 { Poll::Finished } else { Poll::Blocked(vm_sched::Block::Receive(None)) };
///         Slice { used: 1, poll }
///     }
///     fn receive(&mut self, _msg: Message) { self.0 = true; }
/// }
///
/// let mut rr = RoundRobin::new();
/// let handle = rr.handle();
/// let id = std::thread::spawn(move || {
///     let id = handle.spawn(Box::new(Waits(false)), 0).ok().unwrap();
///     handle.deliver(id, Box::new("hello")).unwrap();
///     id
/// })
/// .join()
/// .unwrap();
/// rr.run(100);
/// assert_eq!(rr.status(id), Some(TaskStatus::Dead(End::Finished)));
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) remote: Arc<dyn Remote>,
    /// For a handle from [`Scheduler::handle`](crate::Scheduler::handle):
    /// the scheduler's count of handles held outside its tasks, which
    /// may send a request at any time (so tasks blocked on a message may
    /// still be woken). Handles given to tasks do not count: a blocked
    /// task cannot use its own.
    pub(crate) _held: Option<Arc<()>>,
}

impl Handle {
    /// A handle counted in `held` (see the field).
    pub(crate) fn external(remote: Arc<dyn Remote>, held: &Arc<()>) -> Handle {
        Handle {
            remote,
            _held: Some(Arc::clone(held)),
        }
    }

    /// A handle for a task of the scheduler.
    pub(crate) fn internal(remote: Arc<dyn Remote>) -> Handle {
        Handle {
            remote,
            _held: None,
        }
    }

    /// The same scheduler, not counted as held outside its tasks (what
    /// the scheduler's own machinery keeps, such as agents' monitors).
    pub(crate) fn to_internal(&self) -> Handle {
        Handle::internal(Arc::clone(&self.remote))
    }

    /// Spawns `task` with `priority` (as
    /// [`Scheduler::insert`](crate::Scheduler::insert) would, at the
    /// scheduler's next chance) and returns its id.
    ///
    /// # Errors
    /// The task back, when the scheduler is gone.
    pub fn spawn(&self, task: Box<dyn Task>, priority: u32) -> Result<TaskId, Box<dyn Task>> {
        let id = self.remote.new_id();
        match self.remote.post(Request::Spawn { id, task, priority }) {
            Ok(()) => Ok(id),
            Err(Request::Spawn { task, .. }) => Err(task),
            Err(_) => unreachable!("a request comes back as it went"),
        }
    }

    /// Delivers `msg` to task `id` (waking it if it waits for a message),
    /// at the scheduler's next chance. A message to a task that is dead or
    /// unknown by then is dropped, as Erlang drops it.
    ///
    /// # Errors
    /// The message back, when the scheduler is gone.
    pub fn deliver(&self, id: TaskId, msg: Message) -> Result<(), Message> {
        match self.remote.post(Request::Deliver { id, msg }) {
            Ok(()) => Ok(()),
            Err(Request::Deliver { msg, .. }) => Err(msg),
            Err(_) => unreachable!("a request comes back as it went"),
        }
    }

    /// Kills task `id` ([`Scheduler::kill`](crate::Scheduler::kill)) at
    /// the scheduler's next chance; false when the scheduler is gone.
    pub fn kill(&self, id: TaskId) -> bool {
        self.remote.post(Request::Kill { id }).is_ok()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The last handle held outside the tasks may be going: a scheduler
        // waiting in case it sent something looks again (the count falls
        // first).
        if let Some(held) = self._held.take() {
            drop(held);
            self.remote.nudge();
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handle(..)")
    }
}

/// The scheduler's side of a [`Handle`].
pub(crate) trait Remote: Send + Sync {
    /// A fresh task id (never given by the scheduler's `insert` too).
    fn new_id(&self) -> TaskId;
    /// Queues `request` and wakes the scheduler if it waits; the request
    /// back when the scheduler is gone.
    fn post(&self, request: Request) -> Result<(), Request>;
    /// Wakes the scheduler if it waits, to look again.
    fn nudge(&self);
}

/// What a [`Handle`] asks of its scheduler.
pub(crate) enum Request {
    Spawn {
        id: TaskId,
        task: Box<dyn Task>,
        priority: u32,
    },
    Deliver {
        id: TaskId,
        msg: Message,
    },
    Kill {
        id: TaskId,
    },
}
