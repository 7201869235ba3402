//! The round-robin scheduler (after the 1998 SchemeStation scheduler):
//! one thread runs every task in turn, each for its slice.
//!
//! A task's priority is its slice length in units: 0, or more than
//! [`RoundRobin::max_slice`], means the default slice. The order is the
//! policy's ([`Fifo`] by default: fixed, no reordering), so with a fixed
//! slice the interleaving of tasks, and the output of programs that
//! print, is the same on every run (a job offloaded to the blocking pool
//! ends when its thread gets to it). Blocked tasks wait off the run queue:
//! for a message, a timer (on the scheduler's [`Clock`]), or a job run on
//! the [`BlockingPool`].

use std::collections::VecDeque;

use hashbrown::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::handle::{Handle, Remote, Request};
use crate::inbox::Inbox;
use crate::policy::Fifo;
use crate::pool::BlockingPool;
use crate::scheduler::{Execution, Policy, Scheduler, StatusCallback};
use crate::task::{Block, End, Message, Poll, Task, TaskId, TaskStats, TaskStatus};
use crate::timers::Timers;
use crate::wait::{Wait, Waits};

/// The slice a task gets when its priority does not give one.
pub const DEFAULT_SLICE: u64 = 10_000;

/// The longest slice a priority may ask for, by default.
pub const MAX_SLICE: u64 = 1_000_000;

/// One thread running every task in turn, each for its slice (after the
/// 1998 SchemeStation scheduler).
///
/// A task's priority is its slice length in units: 0, or more than
/// [`RoundRobin::max_slice`], means the default slice. The order is the
/// policy's ([`Fifo`] by default: fixed, no reordering), so with a fixed
/// slice the interleaving of tasks, and the output of programs that
/// print, is the same on every run (a job offloaded to the blocking pool
/// ends when its thread gets to it). Blocked tasks wait off the run queue:
/// for a message, a timer (on the scheduler's [`Clock`]), or a job run on
/// the [`BlockingPool`].
///
/// ```
/// use vm_sched::{End, Message, Poll, RoundRobin, Scheduler, Slice, Task, TaskStatus};
///
/// /// Counts to `n`, one unit per step.
/// struct Count { at: u64, n: u64 }
///
/// impl Task for Count {
///     fn run(&mut self, budget: u64) -> Slice {
///         let steps = budget.min(self.n - self.at);
///         self.at += steps;
///         let poll = if self.at == self.n { Poll::Finished } else { Poll::Ready };
///         Slice { used: steps, poll }
///     }
///     fn receive(&mut self, _msg: Message) {}
/// }
///
/// let mut rr = RoundRobin::new();
/// let a = rr.insert(Box::new(Count { at: 0, n: 250 }), 100);
/// let b = rr.insert(Box::new(Count { at: 0, n: 100 }), 0); // the default slice
/// rr.run(1_000);
/// assert_eq!(rr.status(a), Some(TaskStatus::Dead(End::Finished)));
/// assert_eq!(rr.stats(a).unwrap().slices, 3);
/// assert_eq!(rr.stats(b).unwrap().used, 100);
/// ```
pub struct RoundRobin {
    /// Boxed: a map of a million entries keeps twice as many buckets,
    /// each holding a pointer rather than a whole entry.
    tasks: HashMap<TaskId, Box<Entry>>,
    policy: Box<dyn Policy>,
    slices: crate::task::Slices,
    /// Deadlines of sleeping and receiving tasks: (deadline, task, the
    /// task's wait generation when it was set); an entry whose generation
    /// is stale was cancelled.
    timers: Timers,
    clock: Box<dyn Clock>,
    pool: BlockingPool,
    /// Offloaded jobs' outputs and handle requests; also gives task ids.
    inbox: Arc<Inbox>,
    /// Counts the handles held outside the tasks (`Handle::held`).
    held: Arc<()>,
    jobs_in_flight: usize,
    /// Live tasks that wait (off the run queue), and for a job.
    waits: Waits,
    /// Dead tasks, in the order they died.
    dead: VecDeque<TaskId>,
    callback: Option<StatusCallback>,
}

struct Entry {
    /// `None` only while the task runs (taken out of the map's entry).
    task: Option<Box<dyn Task>>,
    name: Arc<str>,
    /// The priority it was inserted with (its slice is the priority's,
    /// `Slices::of`, looked up at each slice rather than kept: an entry
    /// is smaller by a word in every agent).
    priority: u32,
    status: crate::task::KeptStatus,
    stats: TaskStats,
    inbox: crate::task::Pending,
    wait: Wait,
    /// Bumped whenever `wait` changes, to cancel a pending timer.
    /// (32 bits: a stale timer would need four billion waits of its task
    /// to match again; an entry is smaller by a word in every agent.)
    generation: u32,
    kill_pending: bool,
}

impl Default for RoundRobin {
    fn default() -> Self {
        RoundRobin::new()
    }
}

impl RoundRobin {
    /// A scheduler with the FIFO policy, the system clock and its own
    /// blocking pool.
    pub fn new() -> RoundRobin {
        RoundRobin {
            tasks: HashMap::new(),
            policy: Box::new(Fifo::new()),
            slices: crate::task::Slices::default(),
            timers: Timers::default(),
            clock: Box::new(SystemClock::default()),
            pool: BlockingPool::default(),
            inbox: Inbox::new(),
            held: Arc::new(()),
            jobs_in_flight: 0,
            waits: Waits::default(),
            dead: VecDeque::new(),
            callback: None,
        }
    }

    /// Uses `clock` for timers (a [`ManualClock`](crate::ManualClock)
    /// makes sleeping tasks deterministic).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> RoundRobin {
        self.clock = Box::new(clock);
        self
    }

    /// Runs offloaded jobs on `pool` (shared with other schedulers).
    pub fn with_pool(mut self, pool: BlockingPool) -> RoundRobin {
        self.pool = pool;
        self
    }

    /// Sets the default slice and the longest one a priority may ask for.
    pub fn with_slices(mut self, default: u64, max: u64) -> RoundRobin {
        self.slices = crate::task::Slices::new(default, max);
        self
    }

    /// The longest slice a priority may ask for.
    pub fn max_slice(&self) -> u64 {
        self.slices.max
    }

    fn set_status(&mut self, id: TaskId, status: TaskStatus) {
        let Some(e) = self.tasks.get_mut(&id) else {
            return;
        };
        if e.status.is(&status) {
            return;
        }
        e.status = crate::task::KeptStatus::new(status.clone());
        self.notify(id, &status);
    }

    /// Calls the status callback; one that panics is dropped, and the
    /// scheduler goes on.
    fn notify(&mut self, id: TaskId, status: &TaskStatus) {
        if let Some(cb) = self.callback.as_mut() {
            if crate::task::catching("status callback", || cb(id, status)).is_err() {
                self.callback = None;
            }
        }
    }

    /// Makes a blocked task runnable.
    fn wake(&mut self, id: TaskId) {
        let Some(e) = self.tasks.get_mut(&id) else {
            return;
        };
        if !self.waits.stop(&mut e.wait) {
            return;
        }
        e.generation = e.generation.wrapping_add(1);
        self.policy.ready(id);
        self.set_status(id, TaskStatus::Running);
    }

    /// Moves a task to the dead list.
    fn bury(&mut self, id: TaskId, end: End) {
        self.policy.remove(id);
        self.lay_out(id, end);
    }

    /// Moves a task that ended in its slice to the dead list (the policy
    /// has it in no queue).
    fn bury_ended(&mut self, id: TaskId, end: End) {
        self.policy.ended(id);
        self.lay_out(id, end);
    }

    /// `bury` after the policy forgot the task.
    fn lay_out(&mut self, id: TaskId, end: End) {
        let mut forgotten = false;
        let mut task = None;
        if let Some(e) = self.tasks.get_mut(&id) {
            self.waits.stop(&mut e.wait);
            e.generation = e.generation.wrapping_add(1);
            e.inbox.clear();
            forgotten = crate::task::forgotten_when_dead(e.task.as_deref());
            task = e.task.take();
        }
        self.set_status(id, TaskStatus::Dead(end));
        // A dead task's state goes now (a dead agent's VM), not when it
        // is released; after its end is reported, so that what its drop
        // does (an agent's context) knows it ended.
        crate::task::discard(task);
        if forgotten {
            self.tasks.remove(&id);
        } else {
            self.dead.push_back(id);
        }
    }

    /// Hands over finished jobs' outputs (waking their tasks) and
    /// applies handle requests, in the order they came.
    #[inline]
    fn collect_jobs(&mut self) {
        // (Applying a request may queue more: a death's monitor notices.)
        while self.inbox.pending() {
            self.take_inbound();
        }
    }

    fn take_inbound(&mut self) {
        let inbound = self.inbox.take();
        for (id, out) in inbound.done {
            self.job_arrived(id, out);
        }
        for request in inbound.requests {
            match request {
                Request::Spawn { id, task, priority } => self.insert_as(id, task, priority),
                // To a dead or unknown task: dropped.
                Request::Deliver { id, msg } => drop(self.deliver(id, msg)),
                Request::Kill { id } => drop(self.kill(id)),
            }
        }
    }

    /// Whether a handle is held outside the tasks: a request may come.
    fn handles_out(&self) -> bool {
        Arc::strong_count(&self.held) > 1
    }

    fn job_arrived(&mut self, id: TaskId, out: Message) {
        self.jobs_in_flight -= 1;
        let Some(e) = self.tasks.get_mut(&id) else {
            return;
        };
        if e.wait != Wait::Job {
            return;
        }
        let handed = match e.task.as_mut() {
            Some(task) => crate::task::catching("job_done", || task.job_done(out)),
            None => Ok(()),
        };
        match handed {
            Ok(()) => self.wake(id),
            Err(err) => self.bury(id, End::Failed(err)),
        }
    }

    /// Wakes the tasks whose deadline has passed.
    #[inline]
    fn fire_timers(&mut self) {
        if !self.timers.is_empty() {
            self.fire_due_timers();
        }
    }

    fn fire_due_timers(&mut self) {
        let now = self.clock.now();
        loop {
            let tasks = &self.tasks;
            let due = self.timers.pop_due(now, |id, generation| {
                tasks
                    .get(&id)
                    .is_some_and(|e| u64::from(e.generation) == generation)
            });
            match due {
                Some(id) => self.wake(id),
                None => return,
            }
        }
    }

    /// The earliest pending deadline, if any.
    fn next_deadline(&mut self) -> Option<Duration> {
        let tasks = &self.tasks;
        self.timers.next_deadline(|id, generation| {
            tasks
                .get(&id)
                .is_some_and(|e| u64::from(e.generation) == generation)
        })
    }

    fn block(&mut self, id: TaskId, block: Block) {
        let now = self.clock.now();
        let Some(e) = self.tasks.get_mut(&id) else {
            return;
        };
        e.stats.blocks += 1;
        e.generation = e.generation.wrapping_add(1);
        let generation = u64::from(e.generation);
        match block {
            Block::Receive(timeout) => {
                self.waits.start(&mut e.wait, Wait::Receive);
                if !e.inbox.is_empty() {
                    // A message came during the slice.
                    self.wake(id);
                    return;
                }
                if let Some(t) = timeout {
                    self.timers.push(now.saturating_add(t), id, generation);
                }
            }
            Block::Sleep(t) => {
                self.waits.start(&mut e.wait, Wait::Sleep);
                self.timers.push(now.saturating_add(t), id, generation);
            }
            Block::Offload(job) => {
                self.waits.start(&mut e.wait, Wait::Job);
                self.jobs_in_flight += 1;
                // (The scheduler may be gone by then; nobody waits.)
                let inbox = Arc::downgrade(&self.inbox);
                self.pool.spawn(job, move |out| {
                    if let Some(inbox) = inbox.upgrade() {
                        inbox.job_done(id, out);
                    }
                });
            }
        }
        self.set_status(id, TaskStatus::Blocking);
    }

    /// Runs one slice of `id` with at most `budget` units.
    fn run_slice(&mut self, id: TaskId, budget: u64) -> u64 {
        let slices = self.slices;
        let Some(e) = self.tasks.get_mut(&id) else {
            return 0;
        };
        let Some(mut task) = e.task.take() else {
            return 0;
        };
        let want = slices.of(e.priority).min(budget);
        let (used, slice, accepts) =
            crate::task::run_slice(&mut *task, &mut e.inbox, want, &mut e.stats);
        e.task = Some(task);
        let kill_now = e.kill_pending && accepts;
        let runnable = matches!(slice.poll, Poll::Ready);
        self.policy.outcome(id, slice.used, runnable && !kill_now);
        if kill_now {
            self.kill_task(id);
            return used;
        }
        match slice.poll {
            Poll::Ready => {
                self.policy.ready(id);
                let status = if accepts {
                    TaskStatus::Running
                } else {
                    TaskStatus::RunningWithoutExceptions
                };
                // The common case, a running task that goes on, costs no
                // second lookup.
                if !e.status.is(&status) {
                    self.set_status(id, status);
                }
            }
            Poll::Blocked(block) => self.block(id, block),
            Poll::Finished => self.bury_ended(id, End::Finished),
            Poll::Failed(err) => self.bury_ended(id, End::Failed(err)),
        }
        used
    }

    fn kill_task(&mut self, id: TaskId) {
        if let Some(task) = self.tasks.get_mut(&id).and_then(|e| e.task.as_mut()) {
            // Dead either way; a panic in its cleanup changes nothing.
            let _ = crate::task::catching("kill", || task.kill());
        }
        self.bury(id, End::Killed);
    }

    /// Whether `id` can run now: a policy may hand back an id it was
    /// never given, one it gave already, or one that died or blocked
    /// since; those are skipped.
    fn runnable(&self, id: TaskId) -> bool {
        self.tasks
            .get(&id)
            .is_some_and(|e| e.wait == Wait::None && e.task.is_some() && !e.status.is_dead())
    }

    fn is_live(&self, id: TaskId) -> bool {
        self.tasks.get(&id).is_some_and(|e| !e.status.is_dead())
    }
}

impl RoundRobin {
    fn insert_as(&mut self, id: TaskId, mut task: Box<dyn Task>, priority: u32) {
        let (name, broken) = crate::task::name_of(&*task);
        let handle = Handle::internal(Arc::clone(&self.inbox) as Arc<dyn Remote>);
        let broken = broken.or_else(|| crate::task::admit(&mut *task, id, &handle));
        let entry = Entry {
            name,
            task: Some(task),
            priority,
            status: crate::task::KeptStatus::VIRGIN,
            stats: TaskStats::default(),
            inbox: crate::task::Pending::default(),
            wait: Wait::None,
            generation: 0,
            kill_pending: false,
        };
        self.tasks.insert(id, Box::new(entry));
        self.policy.insert(id, priority);
        self.policy.ready(id);
        self.notify(id, &TaskStatus::Virgin);
        if let Some(err) = broken {
            self.bury(id, End::Failed(err));
        }
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        // Handles' requests fail from now on.
        self.inbox.close();
    }
}

impl Scheduler for RoundRobin {
    fn insert(&mut self, task: Box<dyn Task>, priority: u32) -> TaskId {
        let id = self.inbox.new_id();
        self.insert_as(id, task, priority);
        id
    }

    fn handle(&self) -> Handle {
        Handle::external(Arc::clone(&self.inbox) as Arc<dyn Remote>, &self.held)
    }

    fn remove(&mut self, id: TaskId) -> Option<Box<dyn Task>> {
        // Requests queued before (messages to it) are the task's.
        self.collect_jobs();
        if !self.is_live(id) {
            return None;
        }
        // A job in flight is waited for: its output belongs to the task.
        while self.tasks.get(&id).is_some_and(|e| e.wait == Wait::Job) {
            self.inbox.wait(None);
            self.take_inbound();
        }
        // Handing the job's output over may have failed it.
        if !self.is_live(id) {
            return None;
        }
        self.policy.remove(id);
        let mut e = self.tasks.remove(&id)?;
        self.waits.stop(&mut e.wait);
        let mut task = e.task.take()?;
        // The messages are the task's; one whose handing over panics is
        // the task's business too (it comes back as it is).
        let _ = crate::task::catching("receive", || {
            e.inbox.take().into_iter().for_each(|m| task.receive(m));
        });
        Some(task)
    }

    fn kill(&mut self, id: TaskId) -> bool {
        if !self.is_live(id) {
            return false;
        }
        // A task that panics when asked is killed.
        let accepts = self.tasks[&id].task.as_ref().is_none_or(|t| {
            crate::task::catching("accepts_exceptions", || t.accepts_exceptions()).unwrap_or(true)
        });
        if accepts {
            self.kill_task(id);
        } else if let Some(e) = self.tasks.get_mut(&id) {
            e.kill_pending = true;
        }
        true
    }

    fn deliver(&mut self, id: TaskId, msg: Message) -> Result<(), Message> {
        if !self.is_live(id) {
            return Err(msg);
        }
        let e = self.tasks.get_mut(&id).expect("a live task");
        e.inbox.push_back(msg);
        e.stats.messages += 1;
        if e.wait == Wait::Receive {
            self.wake(id);
        }
        Ok(())
    }

    fn execute(&mut self, budget: u64) -> Execution {
        let mut report = Execution::default();
        self.collect_jobs();
        self.fire_timers();
        // A policy that keeps handing back ids that cannot run (stale,
        // duplicated, made up) gets as many tries as there are tasks.
        let mut misses = 0;
        while report.used < budget && misses <= self.tasks.len() {
            let Some(id) = self.policy.pick() else {
                break;
            };
            if !self.runnable(id) {
                misses += 1;
                continue;
            }
            misses = 0;
            let used = self.run_slice(id, budget - report.used);
            report.used = report.used.saturating_add(used);
            report.slices += 1;
            self.collect_jobs();
            self.fire_timers();
        }
        report.live = self.live();
        report.runnable = report.live - self.waits.blocked;
        report.wakeable =
            self.waits.on_jobs > 0 || self.next_deadline().is_some() || self.handles_out();
        report
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        self.collect_jobs();
        self.fire_timers();
        if self.live() > self.waits.blocked {
            return;
        }
        let until_timer = self
            .next_deadline()
            .map(|d| d.saturating_sub(self.clock.now()));
        let limit = match (until_timer, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // (Only jobs a live task waits for: one whose task was killed wakes
        // nobody.)
        if self.waits.on_jobs > 0 || self.handles_out() {
            let arrived = self.inbox.wait(limit);
            let timer_first = timeout.is_none_or(|t| Some(t) >= until_timer);
            if let (false, Some(d), true) = (arrived, until_timer, timer_first) {
                // Nothing came before the timer: its time has come (a
                // manual clock is moved there).
                self.clock.sleep(d);
            }
        } else if let Some(d) = limit.filter(|_| until_timer.is_some()) {
            self.clock.sleep(d);
        }
        self.collect_jobs();
        self.fire_timers();
    }

    fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.tasks.get(&id).map(|e| e.status.get())
    }

    fn stats(&self, id: TaskId) -> Option<TaskStats> {
        self.tasks.get(&id).map(|e| e.stats.clone())
    }

    fn name(&self, id: TaskId) -> Option<String> {
        self.tasks.get(&id).map(|e| e.name.to_string())
    }

    fn dead(&self) -> Vec<TaskId> {
        self.dead.iter().copied().collect()
    }

    fn release(&mut self, id: TaskId) -> Option<TaskStatus> {
        if self.is_live(id) || !self.tasks.contains_key(&id) {
            return None;
        }
        self.dead.retain(|&d| d != id);
        self.tasks.remove(&id).map(|e| e.status.get())
    }

    fn on_status(&mut self, callback: StatusCallback) {
        self.callback = Some(callback);
    }

    fn set_policy(&mut self, policy: Box<dyn Policy>) {
        let live = self
            .tasks
            .iter()
            .filter(|(_, e)| !e.status.is_dead())
            .map(|(&id, e)| (id, e.priority));
        crate::scheduler::replace_policy(&mut self.policy, policy, live);
    }

    fn live(&self) -> usize {
        self.tasks.len() - self.dead.len()
    }
}
