//! What other threads hand a tick scheduler: wake-ups ([`TickWaker`]),
//! tasks to spawn ([`Injector`]) and offloaded jobs' outputs, all in one
//! queue ([`Remote`]) that the scheduler empties at its next tick.
//!
//! The queue is a [`Mailroom`]: a scheduler that parks
//! ([`Remote::wait`]) after finding it empty cannot miss an arrival.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::handle::Request;
use crate::mailroom::{Contents, Mailroom};
use crate::task::{Message, Task, TaskId};

/// How a task is spawned: the [`TaskBuilder`](crate::TaskBuilder)'s
/// settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// Overrides [`Task::name`].
    pub(crate) name: Option<String>,
    /// Given to the policy, and the slice when `budget` is `None`.
    pub(crate) priority: u32,
    /// Units per poll.
    pub(crate) budget: Option<u64>,
}

/// A task spawned from another thread, waiting for the next tick.
pub(crate) struct Spawn {
    pub(crate) task: Box<dyn Task>,
    pub(crate) options: Options,
}

/// The queue other threads fill. The scheduler holds the only strong
/// reference besides its [`Injector`]s and handles; wakers and jobs hold
/// weak ones.
pub(crate) struct Remote {
    room: Mailroom<Inbound>,
    /// The next task id, for the scheduler and its handles alike.
    ids: AtomicU64,
}

impl Default for Remote {
    fn default() -> Self {
        Remote {
            room: Mailroom::default(),
            ids: AtomicU64::new(1),
        }
    }
}

/// What arrived since the scheduler last looked.
#[derive(Default)]
pub(crate) struct Inbound {
    /// Ids of tasks woken by a [`TickWaker`], in the order of the wakes.
    pub(crate) wakes: VecDeque<TaskId>,
    /// Tasks spawned through an [`Injector`], in order.
    pub(crate) injected: VecDeque<Spawn>,
    /// Offloaded jobs' outputs, tagged with their task.
    pub(crate) done: VecDeque<(TaskId, Message)>,
    /// [`Handle`](crate::Handle) requests, in order.
    pub(crate) requests: VecDeque<Request>,
}

impl Contents for Inbound {
    fn is_empty(&self) -> bool {
        self.wakes.is_empty()
            && self.injected.is_empty()
            && self.done.is_empty()
            && self.requests.is_empty()
    }
}

impl Remote {
    /// Pushes with `f` unless the scheduler is gone, and signals it.
    /// Returns whether it pushed.
    fn push(&self, f: impl FnOnce(&mut Inbound)) -> bool {
        self.room.push(f)
    }

    /// Everything that arrived, leaving the queue empty.
    pub(crate) fn take(&self) -> Inbound {
        self.room.take()
    }

    /// Whether something waits to be taken.
    pub(crate) fn pending(&self) -> bool {
        self.room.pending()
    }

    /// Blocks until something arrives or `timeout` passes; true when
    /// something waits to be taken.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        self.room.wait(timeout)
    }

    /// Hands over a job's output (called on a pool thread).
    pub(crate) fn job_done(this: &Weak<Remote>, id: TaskId, output: Message) {
        if let Some(remote) = this.upgrade() {
            remote.push(|st| st.done.push_back((id, output)));
        }
    }

    /// Stops taking anything (the scheduler is dropped).
    pub(crate) fn close(&self) {
        self.room.close();
    }

    /// A fresh task id.
    pub(crate) fn new_id(&self) -> TaskId {
        TaskId(self.ids.fetch_add(1, Ordering::Relaxed))
    }
}

impl crate::handle::Remote for Remote {
    fn new_id(&self) -> TaskId {
        Remote::new_id(self)
    }

    fn nudge(&self) {
        self.room.nudge();
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

/// Where a task lives now: its scheduler's queue and its id there.
/// Shared by the task's entry and its wakers; the scheduler updates it
/// when the task moves (stolen) and clears it when the task leaves
/// (removed, dead).
#[derive(Default)]
pub(crate) struct Home {
    place: Mutex<Option<(Weak<Remote>, TaskId)>>,
}

impl Home {
    pub(crate) fn new(remote: &Arc<Remote>, id: TaskId) -> Arc<Home> {
        Arc::new(Home {
            place: Mutex::new(Some((Arc::downgrade(remote), id))),
        })
    }

    pub(crate) fn set(&self, place: Option<(&Arc<Remote>, TaskId)>) {
        *self.place.lock().unwrap_or_else(PoisonError::into_inner) =
            place.map(|(r, id)| (Arc::downgrade(r), id));
    }
}

/// Wakes one task from any thread: a task blocked on something outside
/// the scheduler (I/O, another thread's work) blocks with
/// [`Block::Receive`](crate::Block::Receive) or
/// [`Block::Sleep`](crate::Block::Sleep), and whoever sees the event
/// calls [`TickWaker::wake`]. The task runs again at the scheduler's
/// next tick, as a poll: if what it waits for has not happened, it
/// blocks again.
///
/// A wake of a task that is not blocked, or blocked on an offloaded job,
/// does nothing; a wake that comes while the task runs a slice takes
/// effect after that slice, so a task that checks its condition, finds
/// it false and blocks is woken by a wake made after the check. The
/// waker follows the task when another scheduler steals it, and does
/// nothing once the task is removed or dead.
pub struct TickWaker {
    /// `None` only while it is dropped.
    home: Option<Arc<Home>>,
}

/// Wakers alive in the process: while there are none, a scheduler knows
/// no blocked task can be woken from outside without looking at each.
static LIVE_WAKERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether any [`TickWaker`] is alive in the process.
pub(crate) fn wakers_alive() -> bool {
    LIVE_WAKERS.load(Ordering::SeqCst) > 0
}

impl Clone for TickWaker {
    fn clone(&self) -> Self {
        TickWaker::new(Arc::clone(self.home()))
    }
}

impl Drop for TickWaker {
    fn drop(&mut self) {
        let Some(home) = self.home.take() else {
            return;
        };
        let remote = home
            .place
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|(remote, _)| remote.upgrade());
        // The counts a waiting scheduler reads fall (after any wake this
        // waker sent, pushed under the queue's lock), then it looks again.
        drop(home);
        LIVE_WAKERS.fetch_sub(1, Ordering::SeqCst);
        if let Some(remote) = remote {
            remote.room.nudge();
        }
    }
}

impl TickWaker {
    pub(crate) fn new(home: Arc<Home>) -> TickWaker {
        LIVE_WAKERS.fetch_add(1, Ordering::SeqCst);
        TickWaker { home: Some(home) }
    }

    fn home(&self) -> &Arc<Home> {
        self.home
            .as_ref()
            .expect("a waker has its home until dropped")
    }

    /// Wakes the task (see the type's docs). False when it is gone
    /// (removed, dead, or its scheduler dropped): nobody will see the
    /// wake.
    ///
    /// ```
    /// use vm_sched::{Block, Message, Poll, Slice, Task, TickScheduler, Scheduler};
    ///
    /// struct Idle;
    /// impl Task for Idle {
    ///     fn run(&mut self, _budget: u64) -> Slice {
    ///         Slice { used: 1, poll: Poll::Blocked(Block::Receive(None)) }
    ///     }
    ///     fn receive(&mut self, _msg: Message) {}
    /// }
    ///
    /// let mut sched = TickScheduler::new();
    /// let id = sched.insert(Box::new(Idle), 0);
    /// let waker = sched.waker(id).unwrap();
    /// sched.tick(); // it blocks
    /// std::thread::spawn(move || assert!(waker.wake())).join().unwrap();
    /// assert_eq!(sched.tick().woken_external, 1);
    /// ```
    pub fn wake(&self) -> bool {
        let place = self
            .home()
            .place
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some((remote, id)) = place.as_ref() else {
            return false;
        };
        let Some(remote) = remote.upgrade() else {
            return false;
        };
        let id = *id;
        // Pushed while the home is locked: a steal cannot move the task
        // between reading its place and pushing.
        remote.push(|st| st.wakes.push_back(id))
    }
}

impl std::fmt::Debug for TickWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TickWaker(..)")
    }
}

/// Spawns tasks onto a tick scheduler from any thread; the scheduler
/// takes them at its next tick (they count as
/// [`Tick::spawned`](crate::Tick::spawned)). Clones share the scheduler.
#[derive(Clone)]
pub struct Injector {
    pub(crate) remote: Arc<Remote>,
    /// Counted while held: the scheduler may get a spawn at any time.
    pub(crate) _held: Arc<()>,
}

impl Injector {
    /// Spawns `task` with `priority` (as
    /// [`Scheduler::insert`](crate::Scheduler::insert) would).
    ///
    /// # Errors
    /// The task back, when the scheduler was dropped.
    ///
    /// ```
    /// use vm_sched::{Message, Poll, Slice, Task, TickScheduler, Scheduler};
    ///
    /// struct Once;
    /// impl Task for Once {
    ///     fn run(&mut self, _budget: u64) -> Slice {
    ///         Slice { used: 1, poll: Poll::Finished }
    ///     }
    ///     fn receive(&mut self, _msg: Message) {}
    /// }
    ///
    /// let mut sched = TickScheduler::new();
    /// let injector = sched.injector();
    /// std::thread::spawn(move || injector.spawn(Once, 0).ok().unwrap()).join().unwrap();
    /// let tick = sched.tick();
    /// assert_eq!((tick.spawned, tick.completed), (1, 1));
    /// ```
    pub fn spawn(&self, task: impl Task + 'static, priority: u32) -> Result<(), Box<dyn Task>> {
        let options = Options {
            priority,
            ..Options::default()
        };
        self.spawn_with(Box::new(task), options)
    }

    pub(crate) fn spawn_with(
        &self,
        task: Box<dyn Task>,
        options: Options,
    ) -> Result<(), Box<dyn Task>> {
        let mut spawn = Some(Spawn { task, options });
        if self.remote.push(|st| st.injected.extend(spawn.take())) {
            Ok(())
        } else {
            Err(spawn.take().expect("not pushed").task)
        }
    }
}

impl std::fmt::Debug for Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Injector(..)")
    }
}
