//! What a scheduler runs: a [`Task`] runs for a budget and reports how
//! much it used and what it waits for ([`Slice`], [`Poll`]).
//!
//! A budget counts abstract units (a Lua task counts VM instructions).
//! A task may overshoot its budget by a bounded amount (a Lua native
//! that cannot stop halfway); the scheduler charges what it reports.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A message between tasks: any value that can cross threads (agents, a
/// later step, will send deep copies of Lua values). A task has no handle
/// on its scheduler: the driver routes messages with
/// [`Scheduler::deliver`](crate::Scheduler::deliver).
pub type Message = Box<dyn Any + Send>;

/// Something a scheduler runs, one slice at a time.
///
/// A task is `Send`: the work-stealing scheduler moves tasks between
/// worker threads between slices, and a removed task may continue under
/// another scheduler with its state intact.
pub trait Task: Send {
    /// Runs for at most about `budget` units and reports what happened.
    /// A panic here, or in any other method of the task, fails the task
    /// ("task panicked: ...", "receive panicked: ...") on every
    /// scheduler; the others go on.
    fn run(&mut self, budget: u64) -> Slice;

    /// Takes a message delivered to the task. The scheduler hands
    /// messages over between slices, in the order they were delivered;
    /// a task blocked on [`Block::Receive`] runs again after it got one.
    fn receive(&mut self, msg: Message);

    /// Takes the output of the job it blocked on ([`Block::Offload`]),
    /// before its next slice. The default drops it.
    fn job_done(&mut self, output: Message) {
        drop(output);
    }

    /// A name for reports and statistics.
    fn name(&self) -> &str {
        "task"
    }

    /// False while the task must not be interrupted (it runs its cleanup
    /// handlers, say): a [`Scheduler::kill`](crate::Scheduler::kill) then
    /// waits until the task accepts exceptions again, and the task's
    /// status is [`TaskStatus::RunningWithoutExceptions`].
    fn accepts_exceptions(&self) -> bool {
        true
    }

    /// Asked to stop (by [`Scheduler::kill`](crate::Scheduler::kill)): a
    /// task that holds resources releases them here. The default does
    /// nothing; the task is dead afterwards either way.
    fn kill(&mut self) {}

    /// True for a task whose end someone else keeps (an agent spawned by
    /// an agent: its [`Agents`](crate::Agents) record how it ended): the
    /// scheduler forgets it when it dies, as if it were released from
    /// the dead list at once, so that a program that spawns tasks for
    /// ever does not grow the dead list for ever. The default keeps it.
    fn forgotten_when_dead(&self) -> bool {
        false
    }

    /// Told, when a scheduler takes it (inserted, spawned through a
    /// handle, stolen by another tick scheduler), its id there and a
    /// handle on that scheduler: what a task that messages others (an
    /// agent) keeps. The default ignores them.
    fn inserted(&mut self, id: TaskId, handle: &crate::Handle) {
        let _ = (id, handle);
    }
}

/// What one slice of a task did.
#[derive(Debug)]
pub struct Slice {
    /// Units of budget used (what the scheduler charges).
    pub used: u64,
    /// What the task can do next.
    pub poll: Poll,
}

impl Slice {
    /// A slice that used `used` units and can continue.
    pub fn ready(used: u64) -> Slice {
        Slice {
            used,
            poll: Poll::Ready,
        }
    }
}

/// What a task can do after a slice.
#[derive(Debug)]
pub enum Poll {
    /// It can continue: give it another slice.
    Ready,
    /// It waits for something.
    Blocked(Block),
    /// It has finished.
    Finished,
    /// It has failed.
    Failed(TaskError),
}

/// What a blocked task waits for.
pub enum Block {
    /// A message, or the timeout, whichever comes first.
    Receive(Option<Duration>),
    /// The time to pass.
    Sleep(Duration),
    /// A job that may block (I/O, a long computation): the scheduler runs
    /// it away from the tasks' threads and hands its output to
    /// [`Task::job_done`].
    Offload(Job),
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block::Receive(t) => f.debug_tuple("Receive").field(t).finish(),
            Block::Sleep(t) => f.debug_tuple("Sleep").field(t).finish(),
            Block::Offload(_) => f.write_str("Offload(..)"),
        }
    }
}

/// A job a task offloads ([`Block::Offload`]).
pub struct Job(Box<dyn FnOnce() -> Message + Send>);

impl Job {
    /// A job running `f`.
    pub fn new(f: impl FnOnce() -> Message + Send + 'static) -> Job {
        Job(Box::new(f))
    }

    /// Runs the job (a panic in it is its output's business: the pool
    /// catches it and hands over a [`TaskError`] instead).
    pub fn run(self) -> Message {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(self.0)) {
            Ok(out) => out,
            Err(p) => Box::new(TaskError::new(panic_text("job", &*p))),
        }
    }
}

/// "`what` panicked: message" for a caught panic.
pub(crate) fn panic_text(what: &str, p: &(dyn Any + Send)) -> String {
    match (p.downcast_ref::<&str>(), p.downcast_ref::<String>()) {
        (Some(s), _) => format!("{what} panicked: {s}"),
        (_, Some(s)) => format!("{what} panicked: {s}"),
        _ => format!("{what} panicked"),
    }
}

/// Runs `f`, a call into a task's (or a callback's) code: a panic is the
/// `Err` with its text ("`what` panicked: ..."), for the scheduler to
/// fail the task with, instead of unwinding through the scheduler.
pub(crate) fn catching<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, TaskError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|p| TaskError::new(panic_text(what, &*p)))
}

/// A task's name for its scheduler's records, and the failure a
/// panicking `name` makes of it (the task is then failed at once).
/// Shared with the task inserted before when it has the same name (a
/// million agents are all "agent"): one allocation, not one a task.
pub(crate) fn name_of<T: crate::LocalTask + ?Sized>(task: &T) -> (Arc<str>, Option<TaskError>) {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
    }
    match catching("name", || {
        let name = task.name();
        LAST.with_borrow_mut(|last| match last {
            Some(same) if **same == *name => Arc::clone(same),
            _ => Arc::clone(last.insert(Arc::from(name))),
        })
    }) {
        Ok(name) => (name, None),
        Err(e) => (Arc::from(""), Some(e)),
    }
}

/// Tells a task its id and its scheduler's handle ([`Task::inserted`]);
/// the failure a panic there makes of it.
pub(crate) fn admit<T: crate::LocalTask + ?Sized>(
    task: &mut T,
    id: TaskId,
    handle: &crate::Handle,
) -> Option<TaskError> {
    catching("inserted", || task.inserted(id, handle)).err()
}

/// Whether a dying task asks to be forgotten
/// ([`Task::forgotten_when_dead`]); one that panics there is kept.
pub(crate) fn forgotten_when_dead<T: crate::LocalTask + ?Sized>(task: Option<&T>) -> bool {
    task.is_some_and(|t| {
        catching("forgotten_when_dead", || t.forgotten_when_dead()).unwrap_or(false)
    })
}

/// Drops a dead task's state; a panic in its `Drop` is the task's own
/// and changes nothing.
pub(crate) fn discard<T: ?Sized>(task: Option<Box<T>>) {
    if let Some(task) = task {
        let _ = catching("drop", move || drop(task));
    }
}

/// The slice lengths a scheduler gives: a priority is the slice, in
/// units, unless it is 0 or above the longest allowed (then the default).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slices {
    pub(crate) default: u64,
    pub(crate) max: u64,
}

impl Default for Slices {
    fn default() -> Self {
        Slices::new(crate::DEFAULT_SLICE, crate::MAX_SLICE)
    }
}

impl Slices {
    /// A default of at least 1, and a longest slice not below it.
    pub(crate) fn new(default: u64, max: u64) -> Slices {
        let default = default.max(1);
        Slices {
            default,
            max: max.max(default),
        }
    }

    /// The slice `priority` gives.
    pub(crate) fn of(self, priority: u32) -> u64 {
        match u64::from(priority) {
            0 => self.default,
            p if p > self.max => self.default,
            p => p,
        }
    }
}

/// What a slice that reported `used` units is charged: at least 1 (so
/// that every `execute` ends) and at most 2^48 (no real slice comes near;
/// a task reporting `u64::MAX` cannot overflow a scheduler's sums).
pub(crate) fn charge(used: u64) -> u64 {
    used.clamp(1, 1 << 48)
}

/// Messages a scheduler holds for a task until its next slice, in order:
/// a queue made for the first (most tasks, agents among them, get their
/// messages elsewhere or between slices), so that a million tasks do not
/// each carry an empty queue in their entries.
#[derive(Debug, Default)]
#[allow(clippy::box_collection)] // The point: one word while empty.
pub(crate) struct Pending(Option<Box<std::collections::VecDeque<Message>>>);

impl Pending {
    pub(crate) fn push_back(&mut self, msg: Message) {
        self.queue().push_back(msg);
    }

    /// The queue, made if it was not.
    pub(crate) fn queue(&mut self) -> &mut std::collections::VecDeque<Message> {
        self.0.get_or_insert_with(Box::default)
    }

    pub(crate) fn pop_front(&mut self) -> Option<Message> {
        self.0.as_mut()?.pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|q| q.is_empty())
    }

    /// Drops the messages (and the queue).
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }

    /// Takes every message, oldest first.
    pub(crate) fn take(&mut self) -> std::collections::VecDeque<Message> {
        self.0.take().map(|q| *q).unwrap_or_default()
    }
}

impl Extend<Message> for Pending {
    fn extend<I: IntoIterator<Item = Message>>(&mut self, msgs: I) {
        let mut msgs = msgs.into_iter().peekable();
        if msgs.peek().is_some() {
            self.0.get_or_insert_with(Box::default).extend(msgs);
        }
    }
}

/// One slice of `task`, for the single-threaded schedulers: hands over
/// the messages of `inbox`, runs the task for at most `slice` units, asks
/// whether it accepts exceptions now, and counts the slice in `stats`. A
/// panic in any of that fails the task. Returns the units to charge, the
/// slice (failed if asking panicked) and whether it accepts exceptions.
pub(crate) fn run_slice<T: crate::LocalTask + ?Sized>(
    task: &mut T,
    inbox: &mut Pending,
    slice: u64,
    stats: &mut TaskStats,
) -> (u64, Slice, bool) {
    let ran = guarded(|| {
        while let Some(msg) = inbox.pop_front() {
            task.receive(msg);
        }
        task.run(slice.max(1))
    });
    // A slice that reports nothing used still counts, so that an
    // `execute` always ends; what a task reports is trusted up to
    // saturation.
    stats.used = stats.used.saturating_add(ran.used);
    stats.slices += 1;
    match catching("accepts_exceptions", || task.accepts_exceptions()) {
        Ok(accepts) => (charge(ran.used), ran, accepts),
        // The task is failed: its slice's outcome no longer counts.
        Err(e) => (
            charge(ran.used),
            Slice {
                used: ran.used,
                poll: Poll::Failed(e),
            },
            true,
        ),
    }
}

/// Runs a task's slice (`f`); a panic in the task's code fails the task
/// instead of unwinding through the scheduler, on every scheduler alike.
pub(crate) fn guarded(f: impl FnOnce() -> Slice) -> Slice {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| Slice {
        used: 0,
        poll: Poll::Failed(TaskError::new(panic_text("task", &*p))),
    })
}

/// Why a task failed: a message and, for a Lua task, its traceback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError {
    /// What went wrong.
    pub message: String,
    /// Where (a Lua stack traceback), if known.
    pub traceback: Option<String>,
}

impl TaskError {
    /// An error with `message` and no traceback.
    pub fn new(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
            traceback: None,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(tb) = &self.traceback {
            write!(f, "\n{tb}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TaskError {}

/// A task's identity in its scheduler (a task re-inserted elsewhere gets
/// a new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number (unique in its scheduler, never reused).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a task stands (the SchemeStation scheduler's statuses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Inserted, never run.
    Virgin,
    /// Runnable: it runs or waits for its turn.
    Running,
    /// Runnable, and not to be interrupted: a kill waits until it accepts
    /// exceptions again ([`Task::accepts_exceptions`]).
    RunningWithoutExceptions,
    /// Waiting for a message, a timer or an offloaded job.
    Blocking,
    /// Ended: it finished, failed or was killed. A dead task stays on the
    /// scheduler's dead list, with its statistics and the task itself
    /// (a Lua task's whole VM), until released
    /// ([`Scheduler::release`](crate::Scheduler::release)).
    Dead(End),
}

/// How a dead task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// It finished.
    Finished,
    /// It failed.
    Failed(TaskError),
    /// It was killed.
    Killed,
}

/// A live task's status ([`TaskStatus`] without `Dead`), in a byte: what
/// the schedulers' entries (`KeptStatus`) and the agents' status map keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum LiveStatus {
    Virgin,
    Running,
    RunningWithoutExceptions,
    Blocking,
}

impl LiveStatus {
    /// `status` if it is a live one.
    pub(crate) fn of(status: &TaskStatus) -> Option<LiveStatus> {
        match status {
            TaskStatus::Virgin => Some(LiveStatus::Virgin),
            TaskStatus::Running => Some(LiveStatus::Running),
            TaskStatus::RunningWithoutExceptions => Some(LiveStatus::RunningWithoutExceptions),
            TaskStatus::Blocking => Some(LiveStatus::Blocking),
            TaskStatus::Dead(_) => None,
        }
    }

    pub(crate) fn status(self) -> TaskStatus {
        match self {
            LiveStatus::Virgin => TaskStatus::Virgin,
            LiveStatus::Running => TaskStatus::Running,
            LiveStatus::RunningWithoutExceptions => TaskStatus::RunningWithoutExceptions,
            LiveStatus::Blocking => TaskStatus::Blocking,
        }
    }
}

/// A task's status as a scheduler keeps it in its entry: how a task ended
/// boxed, since a failure's message and traceback (48 bytes) would make
/// every live task's entry that much larger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeptStatus {
    Live(LiveStatus),
    Dead(Box<End>),
}

impl KeptStatus {
    pub(crate) const VIRGIN: KeptStatus = KeptStatus::Live(LiveStatus::Virgin);

    pub(crate) fn new(status: TaskStatus) -> KeptStatus {
        match status {
            TaskStatus::Dead(end) => KeptStatus::Dead(Box::new(end)),
            // (Every other status is a live one.)
            live => KeptStatus::Live(LiveStatus::of(&live).unwrap_or(LiveStatus::Virgin)),
        }
    }

    pub(crate) fn get(&self) -> TaskStatus {
        match self {
            KeptStatus::Live(live) => live.status(),
            KeptStatus::Dead(end) => TaskStatus::Dead((**end).clone()),
        }
    }

    pub(crate) fn is(&self, status: &TaskStatus) -> bool {
        match (self, status) {
            (KeptStatus::Live(live), status) => LiveStatus::of(status) == Some(*live),
            (KeptStatus::Dead(end), TaskStatus::Dead(other)) => **end == *other,
            (KeptStatus::Dead(_), _) => false,
        }
    }

    pub(crate) fn is_dead(&self) -> bool {
        matches!(self, KeptStatus::Dead(_))
    }
}

/// A task's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// Units of budget its slices used.
    pub used: u64,
    /// Slices it ran.
    pub slices: u64,
    /// Messages delivered to it.
    pub messages: u64,
    /// Times it blocked.
    pub blocks: u64,
}
