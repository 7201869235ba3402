//! The engine both tick schedulers share, generic over the boxed task
//! kind (`dyn Task` or `dyn LocalTask`).
//!
//! Where a task's entry lives says what it can do:
//! 1. runnable, between slices: in `ready`, shared with the scheduler's
//!    `Stealer`s, which may take it away at any time;
//! 2. running a slice, blocked, or dead: in `tasks`, the owner's alone.
//!
//! The policy holds the ids of runnable tasks; an id it picks that is no
//! longer in `ready` was stolen, and is forgotten then.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::local::TaskBox;
use super::remote::{Home, Options, Remote};
use super::{Tick, DEFAULT_TICK_SIZE};
use crate::clock::{Clock, SystemClock};
use crate::handle::Request;
use crate::policy::Fifo;
use crate::pool::BlockingPool;
use crate::scheduler::{Execution, Policy, StatusCallback};
use crate::task::{Block, End, Message, Poll, TaskId, TaskStats, TaskStatus};
use crate::timers::Timers;
use crate::wait::{Wait, Waits};

/// Runnable tasks between slices, by id.
pub(crate) type ReadyMap<T> = Arc<Mutex<BTreeMap<TaskId, Entry<T>>>>;

/// Everything about one task; it moves whole when the task is stolen.
pub(crate) struct Entry<T: ?Sized> {
    /// `None` only while the task runs.
    task: Option<Box<T>>,
    name: Arc<str>,
    priority: u32,
    /// Units per poll.
    slice: u64,
    status: crate::task::KeptStatus,
    stats: TaskStats,
    /// Messages not handed over yet.
    inbox: crate::task::Pending,
    wait: Wait,
    /// Bumped whenever `wait` changes, to cancel a pending timer.
    generation: u64,
    kill_pending: bool,
    /// Where the task's wakers send their wakes.
    home: Arc<Home>,
}

/// Wake-ups and spawns since the last tick, for its report.
#[derive(Default)]
struct Counts {
    spawned: usize,
    woken_external: usize,
    woken_internal: usize,
}

pub(crate) struct Core<T: ?Sized + TaskBox> {
    /// Tasks running, blocked or dead (see the module docs).
    tasks: HashMap<TaskId, Entry<T>>,
    /// Runnable tasks between slices (see the module docs).
    ready: ReadyMap<T>,
    pub(crate) remote: Arc<Remote>,
    /// Counts the injectors and handles held outside the tasks
    /// (`Handle::held`): they may send at any time.
    pub(crate) held: Arc<()>,
    policy: Box<dyn Policy>,
    slices: crate::task::Slices,
    tick_size: usize,
    /// (deadline, task, the task's generation when set); a stale
    /// generation means cancelled.
    timers: Timers,
    clock: Box<dyn Clock>,
    pool: BlockingPool,
    jobs_in_flight: usize,
    /// Live tasks that wait, and for a job.
    waits: Waits,
    /// Dead tasks, in the order they died.
    dead: VecDeque<TaskId>,
    callback: Option<StatusCallback>,
    counts: Counts,
}

impl<T: ?Sized + TaskBox> Drop for Core<T> {
    fn drop(&mut self) {
        self.remote.close();
        // The runnable tasks go with the scheduler: a `Stealer` that
        // outlives it finds nothing to take (the tasks are dropped here,
        // taken out of the lock first, as a task's drop may be long).
        let ready = std::mem::take(&mut *lock(&self.ready));
        drop(ready);
    }
}

/// Ids that cannot run a tick skips, beyond the number of tasks, before
/// it gives up on its policy (see `tick`).
const STALE_MARGIN: usize = 4096;

fn lock<M>(m: &Mutex<M>) -> MutexGuard<'_, M> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: ?Sized + TaskBox> Core<T> {
    pub(crate) fn new() -> Core<T> {
        Core {
            tasks: HashMap::new(),
            ready: Arc::default(),
            remote: Arc::default(),
            held: Arc::new(()),
            policy: Box::new(Fifo::new()),
            slices: crate::task::Slices::default(),
            tick_size: DEFAULT_TICK_SIZE,
            timers: Timers::default(),
            clock: Box::new(SystemClock::default()),
            pool: BlockingPool::default(),
            jobs_in_flight: 0,
            waits: Waits::default(),
            dead: VecDeque::new(),
            callback: None,
            counts: Counts::default(),
        }
    }

    pub(crate) fn set_clock(&mut self, clock: Box<dyn Clock>) {
        self.clock = clock;
    }

    pub(crate) fn set_pool(&mut self, pool: BlockingPool) {
        self.pool = pool;
    }

    pub(crate) fn set_slices(&mut self, default: u64, max: u64) {
        self.slices = crate::task::Slices::new(default, max);
    }

    pub(crate) fn set_tick_size(&mut self, n: usize) {
        self.tick_size = n.max(1);
    }

    pub(crate) fn ready_map(&self) -> &ReadyMap<T> {
        &self.ready
    }

    fn slice_for(&self, options: &Options) -> u64 {
        if let Some(b) = options.budget {
            return b.max(1);
        }
        self.slices.of(options.priority)
    }

    fn fresh_id(&mut self) -> TaskId {
        self.remote.new_id()
    }

    fn notify(&mut self, id: TaskId, status: &TaskStatus) {
        if let Some(cb) = self.callback.as_mut() {
            // A callback that panics is dropped: the scheduler goes on.
            if crate::task::catching("status callback", || cb(id, status)).is_err() {
                self.callback = None;
            }
        }
    }

    /// Runs `f` on a task's entry, wherever it is.
    fn with<R>(&self, id: TaskId, f: impl FnOnce(&Entry<T>) -> R) -> Option<R> {
        match self.tasks.get(&id) {
            Some(e) => Some(f(e)),
            None => lock(&self.ready).get(&id).map(f),
        }
    }

    /// Runs `f` on a task's entry, wherever it is.
    fn with_mut<R>(&mut self, id: TaskId, f: impl FnOnce(&mut Entry<T>) -> R) -> Option<R> {
        match self.tasks.get_mut(&id) {
            Some(e) => Some(f(e)),
            None => lock(&self.ready).get_mut(&id).map(f),
        }
    }

    fn set_status(&mut self, id: TaskId, status: TaskStatus) {
        let changed = self.with_mut(id, |e| {
            let changed = !e.status.is(&status);
            e.status = crate::task::KeptStatus::new(status.clone());
            changed
        });
        if changed == Some(true) {
            self.notify(id, &status);
        }
    }

    /// Queues an owned (just run or woken) task as runnable.
    fn make_ready(&mut self, id: TaskId) {
        if let Some(e) = self.tasks.remove(&id) {
            lock(&self.ready).insert(id, e);
            self.policy.ready(id);
        }
    }

    fn is_live(&self, id: TaskId) -> bool {
        self.with(id, |e| !e.status.is_dead()).unwrap_or(false)
    }

    /// Adds a task as runnable and returns its id.
    pub(crate) fn spawn(&mut self, task: Box<T>, options: &Options) -> TaskId {
        let id = self.fresh_id();
        self.spawn_as(id, task, options);
        id
    }

    /// `spawn` under an id given already (a handle's).
    fn spawn_as(&mut self, id: TaskId, mut task: Box<T>, options: &Options) {
        let handle =
            crate::Handle::internal(Arc::clone(&self.remote) as Arc<dyn crate::handle::Remote>);
        let mut broken = crate::task::admit(&mut *task, id, &handle);
        let entry = Entry {
            name: match &options.name {
                Some(name) => Arc::from(name.as_str()),
                None => {
                    let (name, failed) = crate::task::name_of(&*task);
                    broken = broken.or(failed);
                    name
                }
            },
            task: Some(task),
            priority: options.priority,
            slice: self.slice_for(options),
            status: crate::task::KeptStatus::VIRGIN,
            stats: TaskStats::default(),
            inbox: crate::task::Pending::default(),
            wait: Wait::None,
            generation: 0,
            kill_pending: false,
            home: Home::new(&self.remote, id),
        };
        lock(&self.ready).insert(id, entry);
        self.policy.insert(id, options.priority);
        self.policy.ready(id);
        self.counts.spawned += 1;
        self.notify(id, &TaskStatus::Virgin);
        if let Some(err) = broken {
            if self.own(id) {
                self.bury(id, End::Failed(err));
            }
        }
    }

    /// A waker for a live task.
    pub(crate) fn home(&self, id: TaskId) -> Option<Arc<Home>> {
        self.with(id, |e| (!e.status.is_dead()).then(|| Arc::clone(&e.home)))
            .flatten()
    }

    /// Makes a blocked task runnable; false if it was not blocked.
    fn wake(&mut self, id: TaskId) -> bool {
        let Some(e) = self.tasks.get_mut(&id) else {
            return false;
        };
        if !self.waits.stop(&mut e.wait) {
            return false;
        }
        e.generation += 1;
        self.set_status(id, TaskStatus::Running);
        self.make_ready(id);
        true
    }

    /// Takes what other threads sent: spawns, wakes, jobs' outputs.
    fn take_inbound(&mut self) {
        // (Applying a request may queue more: a death's monitor notices.)
        while self.remote.pending() {
            self.take_inbound_once();
        }
    }

    fn take_inbound_once(&mut self) {
        let inbound = self.remote.take();
        for spawn in inbound.injected {
            self.spawn(T::from_send(spawn.task), &spawn.options);
        }
        for id in inbound.wakes {
            let external = self
                .tasks
                .get(&id)
                .is_some_and(|e| matches!(e.wait, Wait::Receive | Wait::Sleep));
            if external && self.wake(id) {
                self.counts.woken_external += 1;
            }
        }
        for (id, out) in inbound.done {
            self.job_arrived(id, out);
        }
        for request in inbound.requests {
            match request {
                Request::Spawn { id, task, priority } => {
                    let options = Options {
                        priority,
                        ..Options::default()
                    };
                    self.spawn_as(id, T::from_send(task), &options);
                }
                // To a dead or unknown task: dropped.
                Request::Deliver { id, msg } => drop(self.deliver(id, msg)),
                Request::Kill { id } => drop(self.kill(id)),
            }
        }
    }

    fn job_arrived(&mut self, id: TaskId, out: Message) {
        self.jobs_in_flight -= 1;
        if let Some(e) = self.tasks.get_mut(&id) {
            if e.wait == Wait::Job {
                let handed = match e.task.as_mut() {
                    Some(task) => crate::task::catching("job_done", || task.job_done(out)),
                    None => Ok(()),
                };
                if let Err(err) = handed {
                    self.bury(id, End::Failed(err));
                } else if self.wake(id) {
                    self.counts.woken_internal += 1;
                }
            }
        }
    }

    /// Wakes the tasks whose deadline has passed; returns how many.
    pub(crate) fn fire_timers(&mut self) -> usize {
        if self.timers.is_empty() {
            return 0;
        }
        let now = self.clock.now();
        let mut woken = 0;
        loop {
            let tasks = &self.tasks;
            let due = self.timers.pop_due(now, |id, generation| {
                tasks.get(&id).is_some_and(|e| e.generation == generation)
            });
            match due {
                Some(id) => woken += usize::from(self.wake(id)),
                None => break,
            }
        }
        self.counts.woken_internal += woken;
        woken
    }

    /// The earliest pending deadline, if any.
    fn next_deadline(&mut self) -> Option<Duration> {
        let tasks = &self.tasks;
        self.timers.next_deadline(|id, generation| {
            tasks.get(&id).is_some_and(|e| e.generation == generation)
        })
    }

    /// Records what an owned task blocks on.
    fn block(&mut self, id: TaskId, block: Block) {
        let now = self.clock.now();
        let Some(e) = self.tasks.get_mut(&id) else {
            return;
        };
        e.stats.blocks += 1;
        e.generation += 1;
        let generation = e.generation;
        match block {
            Block::Receive(timeout) => {
                self.waits.start(&mut e.wait, Wait::Receive);
                if !e.inbox.is_empty() {
                    // A message came during the slice.
                    self.wake(id);
                    self.counts.woken_internal += 1;
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
                // The output goes through the remote queue, which wakes
                // a parked scheduler.
                let remote = Arc::downgrade(&self.remote);
                self.pool
                    .spawn(job, move |out| Remote::job_done(&remote, id, out));
            }
        }
        self.set_status(id, TaskStatus::Blocking);
    }

    /// Runs one slice of `id` with at most `budget` units: `None` when
    /// it was stolen meanwhile, else the units charged and whether the
    /// task ended.
    fn run_slice(&mut self, id: TaskId, budget: u64) -> Option<(u64, bool)> {
        let Some(mut e) = lock(&self.ready).remove(&id) else {
            self.policy.remove(id);
            return None;
        };
        let mut task = e.task.take().expect("a runnable task is in its entry");
        let (used, slice, accepts) =
            crate::task::run_slice(&mut *task, &mut e.inbox, e.slice.min(budget), &mut e.stats);
        e.task = Some(task);
        let kill_now = e.kill_pending && accepts;
        self.tasks.insert(id, e);
        let runnable = matches!(slice.poll, Poll::Ready);
        self.policy.outcome(id, slice.used, runnable && !kill_now);
        if kill_now {
            self.kill_task(id);
            return Some((used, true));
        }
        let ended = match slice.poll {
            Poll::Ready => {
                let status = if accepts {
                    TaskStatus::Running
                } else {
                    TaskStatus::RunningWithoutExceptions
                };
                self.set_status(id, status);
                self.make_ready(id);
                false
            }
            Poll::Blocked(block) => {
                self.block(id, block);
                false
            }
            Poll::Finished => {
                self.bury_ended(id, End::Finished);
                true
            }
            Poll::Failed(err) => {
                self.bury_ended(id, End::Failed(err));
                true
            }
        };
        Some((used, ended))
    }

    /// Moves an owned task to the dead list.
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
            e.generation += 1;
            e.inbox.clear();
            forgotten = crate::task::forgotten_when_dead(e.task.as_deref());
            task = e.task.take();
            e.home.set(None);
        }
        self.set_status(id, TaskStatus::Dead(end));
        // Dropped after its end is reported (see round-robin's `lay_out`).
        crate::task::discard(task);
        if forgotten {
            self.tasks.remove(&id);
        } else {
            self.dead.push_back(id);
        }
    }

    /// Takes a task's entry into `tasks`, wherever it was; false if it
    /// is nowhere (stolen).
    fn own(&mut self, id: TaskId) -> bool {
        if self.tasks.contains_key(&id) {
            return true;
        }
        match lock(&self.ready).remove(&id) {
            Some(e) => {
                self.tasks.insert(id, e);
                true
            }
            None => false,
        }
    }

    /// Kills `id`; false when it is not this scheduler's any more (a
    /// `Stealer` took it meanwhile).
    fn kill_task(&mut self, id: TaskId) -> bool {
        if !self.own(id) {
            return false;
        }
        if let Some(task) = self.tasks.get_mut(&id).and_then(|e| e.task.as_mut()) {
            // Dead either way; a panic in its cleanup changes nothing.
            let _ = crate::task::catching("kill", || task.kill());
        }
        self.bury(id, End::Killed);
        true
    }

    pub(crate) fn remove(&mut self, id: TaskId) -> Option<Box<T>> {
        // Requests queued before (messages to it) are the task's.
        self.take_inbound();
        // A job in flight is waited for: its output belongs to the task.
        while self.tasks.get(&id).is_some_and(|e| e.wait == Wait::Job) {
            self.remote.wait(None);
            self.take_inbound();
        }
        if !self.is_live(id) || !self.own(id) {
            return None;
        }
        self.policy.remove(id);
        let mut e = self.tasks.remove(&id)?;
        self.waits.stop(&mut e.wait);
        e.home.set(None);
        let mut task = e.task.take()?;
        let inbox = e.inbox.take();
        // The messages are the task's; one whose handing over panics is
        // the task's business too (it comes back as it is).
        let _ = crate::task::catching("receive", || {
            inbox.into_iter().for_each(|m| task.receive(m))
        });
        Some(task)
    }

    pub(crate) fn kill(&mut self, id: TaskId) -> bool {
        let Some(accepts) = self.with(id, |e| {
            let live = !e.status.is_dead();
            live.then(|| {
                e.task.as_ref().is_none_or(|t| {
                    crate::task::catching("accepts_exceptions", || t.accepts_exceptions())
                        .unwrap_or(true)
                })
            })
        }) else {
            return false;
        };
        match accepts {
            None => false,
            Some(true) => self.kill_task(id),
            Some(false) => {
                self.with_mut(id, |e| e.kill_pending = true);
                true
            }
        }
    }

    pub(crate) fn deliver(&mut self, id: TaskId, msg: Message) -> Result<(), Message> {
        let mut msg = Some(msg);
        let waits = self.with_mut(id, |e| {
            if e.status.is_dead() {
                return None;
            }
            e.inbox.extend(msg.take());
            e.stats.messages += 1;
            Some(e.wait == Wait::Receive)
        });
        match waits.flatten() {
            None => Err(msg.take().expect("not delivered")),
            Some(receiving) => {
                if receiving && self.wake(id) {
                    self.counts.woken_internal += 1;
                }
                Ok(())
            }
        }
    }

    /// One tick: takes what other threads sent, then polls at most the
    /// tick size of runnable tasks, each for its slice but at most
    /// `budget` units in all. Returns the report and the units used.
    pub(crate) fn tick(&mut self, budget: u64) -> (Tick, u64) {
        self.take_inbound();
        let counts = std::mem::take(&mut self.counts);
        let mut tick = Tick {
            spawned: counts.spawned,
            woken_external: counts.woken_external,
            woken_internal: counts.woken_internal,
            ..Tick::default()
        };
        let mut used: u64 = 0;
        // Ids that cannot run are skipped: legitimately those of tasks a
        // `Stealer` took (the policy still holds them; counting them
        // tightly made two schedulers stealing from each other pass tasks
        // back and forth without running them), or a misbehaving policy's,
        // which gets the tasks' number plus a margin of tries per tick.
        let mut misses = 0;
        while tick.polled < self.tick_size
            && used < budget
            && misses <= self.tasks.len() + STALE_MARGIN
        {
            let Some(id) = self.policy.pick() else {
                break;
            };
            match self.run_slice(id, budget - used) {
                Some((u, ended)) => {
                    misses = 0;
                    tick.polled += 1;
                    tick.completed += usize::from(ended);
                    used = used.saturating_add(u);
                }
                None => misses += 1,
            }
        }
        tick.has_remaining = !lock(&self.ready).is_empty() || self.remote.pending();
        (tick, used)
    }

    pub(crate) fn execute(&mut self, budget: u64) -> Execution {
        let mut report = Execution::default();
        self.fire_timers();
        while report.used < budget {
            let (tick, used) = self.tick(budget - report.used);
            report.used = report.used.saturating_add(used);
            report.slices += tick.polled as u64;
            self.fire_timers();
            if tick.polled == 0 {
                break;
            }
        }
        report.live = self.live();
        report.runnable = lock(&self.ready).len();
        report.wakeable = self.wakeable();
        report
    }

    /// Whether a task is runnable or can still be woken: by a job in
    /// flight, a timer, or a waker or injector someone holds.
    pub(crate) fn wakeable(&mut self) -> bool {
        // Holders first: a waker sends its wake-up before it is dropped,
        // so once it is gone, what it sent is there to take.
        let held = self.wakers_out() || Arc::strong_count(&self.held) > 1;
        self.take_inbound();
        held || !lock(&self.ready).is_empty()
            || self.waits.on_jobs > 0
            || self.next_deadline().is_some()
    }

    /// Whether some blocked task could be woken by a waker someone holds
    /// (a look at each task only while some waker is alive: agents, a
    /// million of them, use none).
    fn wakers_out(&self) -> bool {
        if !super::remote::wakers_alive() {
            return false;
        }
        self.tasks.values().any(|e| {
            matches!(e.wait, Wait::Receive | Wait::Sleep) && Arc::strong_count(&e.home) > 1
        })
    }

    pub(crate) fn wait(&mut self, timeout: Option<Duration>) {
        self.take_inbound();
        self.fire_timers();
        if !lock(&self.ready).is_empty() {
            return;
        }
        let deadline = self.next_deadline();
        let until_timer = deadline.map(|d| d.saturating_sub(self.clock.now()));
        let limit = match (until_timer, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Other threads may send something: jobs, wakers, injectors.
        let injectors = Arc::strong_count(&self.held) > 1;
        if self.waits.on_jobs > 0 || self.wakers_out() || injectors {
            let arrived = self.remote.wait(limit);
            let timer_first = timeout.is_none_or(|t| Some(t) >= until_timer);
            if let (false, Some(d), true) = (arrived, deadline, timer_first) {
                // Nothing came before the timer: its time has come (a
                // manual clock is moved there).
                let rest = d.saturating_sub(self.clock.now());
                if !rest.is_zero() {
                    self.clock.sleep(rest);
                }
            }
        } else if let Some(d) = limit.filter(|_| until_timer.is_some()) {
            self.clock.sleep(d);
        }
        self.take_inbound();
        self.fire_timers();
    }

    pub(crate) fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.with(id, |e| e.status.get())
    }

    pub(crate) fn stats(&self, id: TaskId) -> Option<TaskStats> {
        self.with(id, |e| e.stats.clone())
    }

    pub(crate) fn name(&self, id: TaskId) -> Option<String> {
        self.with(id, |e| e.name.to_string())
    }

    pub(crate) fn dead(&self) -> Vec<TaskId> {
        self.dead.iter().copied().collect()
    }

    pub(crate) fn release(&mut self, id: TaskId) -> Option<TaskStatus> {
        if !self.tasks.contains_key(&id) || self.is_live(id) {
            return None;
        }
        self.dead.retain(|&d| d != id);
        self.tasks.remove(&id).map(|e| e.status.get())
    }

    pub(crate) fn on_status(&mut self, callback: StatusCallback) {
        self.callback = Some(callback);
    }

    pub(crate) fn set_policy(&mut self, mut policy: Box<dyn Policy>) {
        let order = self.policy.drain();
        let ready = lock(&self.ready);
        let mut live: Vec<(TaskId, u32)> = self
            .tasks
            .iter()
            .filter(|(_, e)| !e.status.is_dead())
            .chain(ready.iter())
            .map(|(&id, e)| (id, e.priority))
            .collect();
        live.sort_unstable();
        for (id, priority) in live {
            policy.insert(id, priority);
        }
        for id in order.into_iter().filter(|id| ready.contains_key(id)) {
            policy.ready(id);
        }
        drop(ready);
        self.policy = policy;
    }

    pub(crate) fn live(&self) -> usize {
        self.tasks.len() - self.dead.len() + lock(&self.ready).len()
    }

    /// Takes up to half (rounded up) of `victim`'s runnable tasks, the
    /// most recently spawned first, and makes them runnable here with
    /// new ids; returns how many.
    pub(crate) fn steal(&mut self, victim: &ReadyMap<T>) -> usize {
        if Arc::ptr_eq(victim, &self.ready) {
            return 0;
        }
        let taken: Vec<Entry<T>> = {
            let mut v = lock(victim);
            let n = v.len().div_ceil(2);
            (0..n)
                .filter_map(|_| v.pop_last().map(|(_, e)| e))
                .collect()
        };
        let n = taken.len();
        let handle =
            crate::Handle::internal(Arc::clone(&self.remote) as Arc<dyn crate::handle::Remote>);
        for mut e in taken.into_iter().rev() {
            let id = self.fresh_id();
            e.home.set(Some((&self.remote, id)));
            // It learns its new id and scheduler.
            let broken = e
                .task
                .as_mut()
                .and_then(|t| crate::task::admit(&mut **t, id, &handle));
            let (priority, status) = (e.priority, e.status.get());
            lock(&self.ready).insert(id, e);
            self.policy.insert(id, priority);
            self.policy.ready(id);
            self.notify(id, &status);
            if let Some(err) = broken {
                if self.own(id) {
                    self.bury(id, End::Failed(err));
                }
            }
        }
        n
    }
}
