//! The work-stealing scheduler: N worker OS threads, each with its own
//! deque of runnable tasks, a global injector, and stealing between
//! workers; tasks move between workers between slices.
//!
//! # Threads
//!
//! The thread that owns the [`WorkStealing`] (the controller) inserts,
//! removes, kills and delivers; the workers only run slices. The workers
//! start at the first [`execute`](Scheduler::execute) and stay parked
//! between executes (dropping the scheduler stops and joins them). An
//! `execute` opens the gate, wakes every worker and returns once all of
//! them are parked again: no slice is ever running when `execute` has
//! returned, so every other method sees tasks at rest (a job finishing
//! on the [`BlockingPool`] may still make a blocked task runnable at any
//! time).
//!
//! A worker looks for a task in its own deque (FIFO), then takes a batch
//! from the injector, then steals half of another worker's deque; every
//! [`INJECTOR_INTERVAL`]-th time it looks at the injector first, so that
//! tasks there are not starved by the ones cycling through its deque. A
//! task that can go on after its slice goes back to the worker's own
//! deque; a task made runnable by the controller (inserted, sent a
//! message, its timer fired in `execute` or `wait`) enters the injector
//! at the next `execute`, in the order of the [`Policy`]; one made
//! runnable by a finished job or by a timer a worker fires enters the
//! injector at once. A panic in a task's code on a worker fails that task
//! ([`End::Failed`]) rather than the worker.
//!
//! # The budget
//!
//! `execute(budget)` puts `budget` units in a shared counter. Before a
//! slice a worker reserves the task's slice, but no more than a worker's
//! share of the budget (`budget / workers`, rounded up, so that one long
//! slice cannot hold the whole budget while the other workers idle) nor
//! more than what is left (none left: it parks); after the slice it gives
//! back what the task did not use, or takes the overshoot. A task that
//! keeps to its budget therefore never makes an `execute` use more than
//! `budget` units in total, and when an `execute` returns with tasks
//! still runnable, the budget was spent.
//!
//! # Parking: the sleep and wake protocol
//!
//! Shared: `queued` (entries in the injector and deques), `remaining`
//! (the budget left), and the gate: a mutex over `open`, one `parked`
//! flag per worker and their count, with `sleepers`, the count, readable
//! without the lock. A worker has work when `remaining > 0 && queued > 0`.
//!
//! 1. Whoever makes a task runnable pushes it, then raises `queued`, then
//!    reads `sleepers`; if it is not zero it locks the gate and, if an
//!    `execute` is open, clears one worker's `parked` flag and signals
//!    its condition variable. (A worker pushing to its own deque after a
//!    slice skips this when the deque holds only that task: it takes it
//!    itself before it may park.) A worker that takes a task and leaves
//!    others in its deque (a batch it took, say) wakes one the same way,
//!    so that no worker stays parked while tasks wait behind a long
//!    slice.
//! 2. A worker that finds nothing to run locks the gate, sets its flag
//!    and raises the count and `sleepers`, and only then checks for work;
//!    if there is some (and the gate is open) it undoes that and looks
//!    again. Otherwise it waits on its condition variable, holding the
//!    gate until the wait releases it, and sleeps until its flag is
//!    cleared (a spurious wake-up leaves the flag set, and it waits
//!    again).
//! 3. Both `queued` and `sleepers` are sequentially consistent, and each
//!    side writes its own before it reads the other's: if a pusher read
//!    `sleepers == 0`, every worker that parks afterwards reads the
//!    raised `queued` in step 2 and looks again instead; if it read a
//!    sleeper, it takes the gate only after that worker released it by
//!    waiting, and wakes it (or another). So a task made runnable while
//!    every worker is parked always wakes one.
//! 4. Budget given back after a slice needs no wake-up: the worker that
//!    gives it back is not parked, and checks for work before it parks.
//! 5. `execute` opens the gate and clears every flag, then waits until
//!    all workers are parked, and closes the gate under the same lock: a
//!    task made runnable after that waits, queued, for the next
//!    `execute`.
//! 6. A task woken off the controller's thread (a job's output, a timer
//!    a worker fires, a message sent from a worker) is queued before it
//!    stops counting as blocked or as waiting for a job
//!    (`Shared::unblocked`): the controller, which reads those counts
//!    after an `execute` without the task's lock, never sees it neither
//!    waiting nor queued, and so never takes a run for over (nothing
//!    runnable, nothing to wait for) while it is in between. An `execute`
//!    whose round ran nothing while something is queued by its end goes
//!    round again, so that it reports no runnable task it had no chance
//!    to run.
//!
//! # Policies and priorities
//!
//! A task's priority is its slice in units, as with
//! [`RoundRobin`](crate::RoundRobin): 0, or more than the longest slice,
//! means the default. The [`Policy`] orders the tasks the controller
//! makes runnable as they enter the injector at the start of an
//! `execute`; within an `execute` the order is the workers' (FIFO
//! deques, then stealing), and the policy is not told of slices'
//! outcomes ([`Policy::outcome`] is never called), so
//! [`Weighted`](crate::Weighted) only orders arrivals here.
//!
//! ```
//! use vm_sched::{End, Message, Poll, Scheduler, Slice, Task, TaskStatus, WorkStealing};
//!
//! /// Counts to `n`, one unit per step.
//! struct Count { at: u64, n: u64 }
//!
//! impl Task for Count {
//!     fn run(&mut self, budget: u64) -> Slice {
//!         let steps = budget.min(self.n - self.at);
//!         self.at += steps;
//!         let poll = if self.at == self.n { Poll::Finished } else { Poll::Ready };
//!         Slice { used: steps, poll }
//!     }
//!     fn receive(&mut self, _msg: Message) {}
//! }
//!
//! let mut ws = WorkStealing::new(2);
//! let ids: Vec<_> = (0..10)
//!     .map(|_| ws.insert(Box::new(Count { at: 0, n: 250 }), 100))
//!     .collect();
//! ws.run(1_000);
//! for id in ids {
//!     assert_eq!(ws.status(id), Some(TaskStatus::Dead(End::Finished)));
//!     assert_eq!(ws.stats(id).unwrap().slices, 3);
//! }
//! let slices: u64 = ws.worker_stats().iter().map(|w| w.slices).sum();
//! assert_eq!(slices, 30);
//! ```

mod shared;
mod worker;

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_deque::{Injector, Worker};

use self::shared::{lock, At, Cell, CellState, Counters, Jobs, Shared, Wait};
use self::worker::Gate;
use crate::clock::{Clock, SystemClock};
use crate::handle::{Handle, Request};
use crate::policy::Fifo;
use crate::pool::BlockingPool;
use crate::scheduler::{Execution, Policy, Scheduler, StatusCallback};
use crate::task::{End, Message, Task, TaskId, TaskStats, TaskStatus};

/// A worker looks at the injector before its own deque once every this
/// many searches (see the module docs).
pub const INJECTOR_INTERVAL: u64 = 8;

/// The most worker threads a [`WorkStealing`] runs (more are asked for
/// in vain: they would only wait for the cores).
pub const MAX_WORKERS: usize = 1024;

/// N worker threads running tasks, stealing from each other: a crossbeam
/// deque per worker, a global injector; tasks move between workers
/// between slices, and idle workers park (never spin). `execute(budget)`
/// runs the workers until the budget is spent or nothing can run, and
/// returns with every worker parked; a slice gets at most its task's
/// slice and a worker's share of the budget (`budget / workers`, so that
/// one long slice cannot hold the whole budget while the others idle).
/// The [`Policy`] orders the tasks as they enter the global injector at
/// the start of an `execute`; inside it the order is the deques' and the
/// stealing's, and `Policy::outcome` is not called.
///
/// ```
/// use vm_sched::{End, Message, Poll, Scheduler, Slice, Task, TaskStatus, WorkStealing};
///
/// /// Works `n` units, then finishes.
/// struct Work(u64);
///
/// impl Task for Work {
///     fn run(&mut self, budget: u64) -> Slice {
///         let used = budget.min(self.0);
///         self.0 -= used;
///         Slice { used, poll: if self.0 == 0 { Poll::Finished } else { Poll::Ready } }
///     }
///     fn receive(&mut self, _msg: Message) {}
/// }
///
/// let mut ws = WorkStealing::new(2);
/// let ids: Vec<_> = (0..8).map(|_| ws.insert(Box::new(Work(50_000)), 1_000)).collect();
/// ws.run(100_000);
/// for id in ids {
///     assert_eq!(ws.status(id), Some(TaskStatus::Dead(End::Finished)));
/// }
/// let slices: u64 = ws.worker_stats().iter().map(|w| w.slices).sum();
/// assert_eq!(slices, 8 * 50);
/// ```
pub struct WorkStealing {
    shared: Arc<Shared>,
    /// Every task not released (live, or on the dead list).
    tasks: HashMap<TaskId, Arc<Cell>>,
    /// Task ids and handle requests (see [`WsRemote`]).
    remote: Arc<WsRemote>,
    /// Counts the handles held outside the tasks (`Handle::held`).
    held: Arc<()>,
    /// Orders the tasks the controller makes runnable.
    policy: Box<dyn Policy>,
    slices: crate::task::Slices,
    /// The workers' deques, until their threads start.
    locals: Vec<Worker<Arc<Cell>>>,
    threads: Vec<JoinHandle<()>>,
}

/// One worker's counters, since the scheduler was made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Slices it ran.
    pub slices: u64,
    /// Times it took tasks from another worker's deque.
    pub steals: u64,
    /// Times it parked (found nothing to run, or the budget spent).
    pub parks: u64,
}

/// The counters of a [`WorkStealing`]'s workers ([`WorkStealing::stats_handle`]).
#[derive(Clone)]
pub struct WorkerCounters(Arc<Shared>);

impl WorkerCounters {
    /// Each worker's counters now.
    pub fn get(&self) -> Vec<WorkerStats> {
        self.0
            .counters
            .iter()
            .map(|c| WorkerStats {
                slices: c.slices.load(Ordering::SeqCst),
                steals: c.steals.load(Ordering::SeqCst),
                parks: c.parks.load(Ordering::SeqCst),
            })
            .collect()
    }
}

impl Default for WorkStealing {
    /// As many workers as the machine has cores.
    fn default() -> Self {
        let n = std::thread::available_parallelism().map_or(1, usize::from);
        WorkStealing::new(n)
    }
}

impl WorkStealing {
    /// A scheduler with `workers` threads (at least one, at most
    /// [`MAX_WORKERS`]), the FIFO policy, the system clock and its own
    /// blocking pool. The threads start at the first
    /// [`execute`](Scheduler::execute).
    ///
    /// # Panics
    /// That first `execute` panics if the OS refuses to start a thread,
    /// as `std::thread::spawn` does.
    pub fn new(workers: usize) -> WorkStealing {
        let workers = workers.clamp(1, MAX_WORKERS);
        let locals: Vec<Worker<Arc<Cell>>> = (0..workers).map(|_| Worker::new_fifo()).collect();
        let shared = Shared {
            injector: Injector::new(),
            stealers: locals.iter().map(Worker::stealer).collect(),
            queued: AtomicIsize::new(0),
            remaining: AtomicU64::new(0),
            share: AtomicU64::new(0),
            used: AtomicU64::new(0),
            slices: AtomicU64::new(0),
            blocked: AtomicUsize::new(0),
            gate: Gate::new(workers),
            timers: Mutex::new(BinaryHeap::new()),
            jobs: Mutex::new(Jobs::default()),
            job_done: Condvar::new(),
            clock: Mutex::new(Arc::new(SystemClock::default())),
            pool: Mutex::new(BlockingPool::default()),
            job_waits: AtomicUsize::new(0),
            dead: Mutex::new(VecDeque::new()),
            buried: Mutex::new(Vec::new()),
            forgotten: AtomicUsize::new(0),
            callback: Mutex::new(None),
            counters: (0..workers).map(|_| Counters::default()).collect(),
            directory: Mutex::new(hashbrown::HashMap::new()),
        };
        let shared = Arc::new(shared);
        WorkStealing {
            remote: Arc::new(WsRemote {
                shared: Arc::clone(&shared),
                ids: AtomicU64::new(1),
            }),
            shared,
            held: Arc::new(()),
            tasks: HashMap::new(),
            policy: Box::new(Fifo::new()),
            slices: crate::task::Slices::default(),
            locals,
            threads: Vec::new(),
        }
    }

    /// Uses `clock` for timers (a [`ManualClock`](crate::ManualClock)
    /// makes sleeping tasks deterministic). Timers set already keep their
    /// deadlines, read on the new clock.
    pub fn with_clock(self, clock: impl Clock + 'static) -> WorkStealing {
        *lock(&self.shared.clock) = Arc::new(clock);
        self
    }

    /// Runs offloaded jobs on `pool` (shared with other schedulers); jobs
    /// running already finish on the old one.
    pub fn with_pool(self, pool: BlockingPool) -> WorkStealing {
        *lock(&self.shared.pool) = pool;
        self
    }

    /// Sets the default slice and the longest one a priority may ask for.
    pub fn with_slices(mut self, default: u64, max: u64) -> WorkStealing {
        self.slices = crate::task::Slices::new(default, max);
        self
    }

    /// The longest slice a priority may ask for.
    pub fn max_slice(&self) -> u64 {
        self.slices.max
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.shared.counters.len()
    }

    /// Each worker's counters, in worker order.
    pub fn worker_stats(&self) -> Vec<WorkerStats> {
        self.stats_handle().get()
    }

    /// A handle on the workers' counters that stays readable after the
    /// scheduler is boxed as a `dyn Scheduler` (or dropped).
    pub fn stats_handle(&self) -> WorkerCounters {
        WorkerCounters(Arc::clone(&self.shared))
    }

    fn slice_for(&self, priority: u32) -> u64 {
        self.slices.of(priority)
    }

    fn start_workers(&mut self) {
        for (index, local) in std::mem::take(&mut self.locals).into_iter().enumerate() {
            let shared = Arc::clone(&self.shared);
            let handle = std::thread::Builder::new()
                .name(format!("vm-sched-worker-{index}"))
                .spawn(move || worker::run(&shared, index, &local))
                // As `std::thread::spawn`: an OS that cannot start a
                // thread leaves nothing to run the tasks on.
                .expect("the OS refuses to start a worker thread");
            self.threads.push(handle);
        }
    }

    /// Fires the due timers; the woken tasks go to the policy.
    fn fire_timers(&mut self) {
        for (cell, wait) in self.shared.fire_timers(false) {
            self.policy.ready(cell.id);
            self.shared.unblocked(wait);
        }
    }

    /// Tells the policy of the tasks that died on the workers, and
    /// releases those to be forgotten (`Task::forgotten_when_dead`).
    fn forget_buried(&mut self) {
        let buried = std::mem::take(&mut *lock(&self.shared.buried));
        for (id, forget) in buried {
            self.policy.remove(id);
            if forget {
                lock(&self.shared.directory).remove(&id);
                self.tasks.remove(&id);
                self.shared.forgotten.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn runnable(&self) -> usize {
        self.live()
            .saturating_sub(self.shared.blocked.load(Ordering::SeqCst))
    }

    fn live_cell(&self, id: TaskId) -> Option<&Arc<Cell>> {
        self.tasks.get(&id).filter(|c| lock(&c.state).at.is_live())
    }
}

impl Drop for WorkStealing {
    fn drop(&mut self) {
        {
            let mut jobs = lock(&self.shared.jobs);
            jobs.closed = true;
            jobs.requests.clear();
        }
        self.shared.gate.shutdown();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Tasks hold handles, and handles the shared state, which holds the
        // tasks (their cells, the callback's agents): the tasks and the
        // callback go now, or nothing would ever be dropped.
        *lock(&self.shared.callback) = None;
        lock(&self.shared.directory).clear();
        for cell in self.tasks.values() {
            let task = lock(&cell.state).task.take();
            crate::task::discard(task);
        }
    }
}

/// A work-stealing scheduler's side of its handles. A message goes to its
/// task at once, from whatever thread sends it (a worker running the
/// sender, another thread), waking the task into the injector; other
/// requests go to the controller (the thread that calls `execute`),
/// which applies them when an `execute` starts or ends and while it
/// waits. A message to a task the controller has not taken yet (its spawn
/// is queued), or sent while requests wait there, queues behind them, so
/// one sender's requests keep their order.
struct WsRemote {
    shared: Arc<Shared>,
    ids: AtomicU64,
}

impl crate::handle::Remote for WsRemote {
    fn new_id(&self) -> TaskId {
        TaskId(self.ids.fetch_add(1, Ordering::Relaxed))
    }

    fn nudge(&self) {
        // A waiting controller wakes when the count moves.
        lock(&self.shared.jobs).finished += 1;
        self.shared.job_done.notify_all();
    }

    fn post(&self, request: Request) -> Result<(), Request> {
        let mut jobs = lock(&self.shared.jobs);
        if jobs.closed {
            return Err(request);
        }
        let request = match request {
            Request::Deliver { id, msg }
                if jobs.requests.is_empty() && !jobs.applying && !shared::calling_out() =>
            {
                let cell = lock(&self.shared.directory).get(&id).map(Arc::clone);
                match cell {
                    Some(cell) => {
                        // Not under `jobs`: waking calls the status
                        // callback, whose holder may be posting.
                        drop(jobs);
                        if self.deliver_now(&cell, msg) {
                            // A waiting controller sees a task runnable.
                            lock(&self.shared.jobs).finished += 1;
                            self.shared.job_done.notify_all();
                        }
                        return Ok(());
                    }
                    None => Request::Deliver { id, msg },
                }
            }
            other => other,
        };
        jobs.requests.push_back(request);
        self.shared.job_done.notify_all();
        Ok(())
    }
}

impl WsRemote {
    /// Puts `msg` in `cell`'s inbox (dropped if the task is dead or gone)
    /// and wakes the task if it waits for a message; true when it woke.
    fn deliver_now(&self, cell: &Arc<Cell>, msg: Message) -> bool {
        match self.shared.put_message(cell, msg) {
            Ok(Some(wait)) => {
                self.shared.inject_woken(Arc::clone(cell), wait);
                true
            }
            _ => false,
        }
    }
}

impl WorkStealing {
    /// Applies the handles' requests, in order.
    /// Applies the handles' requests queued now, in order (those queued
    /// meanwhile wait for the next call: senders that never stop cannot
    /// keep the controller here).
    fn take_requests(&mut self) {
        let batch = {
            let mut jobs = lock(&self.shared.jobs);
            jobs.applying = !jobs.requests.is_empty();
            std::mem::take(&mut jobs.requests)
        };
        if batch.is_empty() {
            return;
        }
        for request in batch {
            match request {
                Request::Spawn { id, task, priority } => self.insert_as(id, task, priority),
                // To a dead or unknown task: dropped.
                Request::Deliver { id, msg } => drop(self.deliver(id, msg)),
                Request::Kill { id } => drop(self.kill(id)),
            }
        }
        lock(&self.shared.jobs).applying = false;
    }

    fn insert_as(&mut self, id: TaskId, mut task: Box<dyn Task>, priority: u32) {
        let (name, broken) = crate::task::name_of(&*task);
        let handle = Handle::internal(Arc::clone(&self.remote) as Arc<dyn crate::handle::Remote>);
        let broken = broken.or_else(|| crate::task::admit(&mut *task, id, &handle));
        let cell = Arc::new(Cell {
            id,
            priority,
            slice: self.slice_for(priority),
            name,
            state: Mutex::new(CellState {
                task: Some(task),
                at: At::Queued,
                status: crate::task::KeptStatus::VIRGIN,
                stats: TaskStats::default(),
                inbox: crate::task::Pending::default(),
                job_output: None,
                generation: 0,
                kill_pending: false,
            }),
        });
        lock(&self.shared.directory).insert(id, Arc::clone(&cell));
        self.tasks.insert(id, cell);
        self.policy.insert(id, priority);
        self.policy.ready(id);
        self.shared.notify(id, &TaskStatus::Virgin);
        if let Some(err) = broken {
            let cell = Arc::clone(&self.tasks[&id]);
            self.shared
                .bury(id, &mut lock(&cell.state), End::Failed(err));
            self.forget_buried();
        }
    }
}

impl Scheduler for WorkStealing {
    fn insert(&mut self, task: Box<dyn Task>, priority: u32) -> TaskId {
        let id = crate::handle::Remote::new_id(&*self.remote);
        self.insert_as(id, task, priority);
        id
    }

    fn handle(&self) -> Handle {
        Handle::external(
            Arc::clone(&self.remote) as Arc<dyn crate::handle::Remote>,
            &self.held,
        )
    }

    fn remove(&mut self, id: TaskId) -> Option<Box<dyn Task>> {
        // Requests queued before (messages to it) are the task's.
        self.take_requests();
        let cell = Arc::clone(self.live_cell(id)?);
        // A job in flight is waited for: its output belongs to the task.
        // (The cell is never locked under `jobs`: a status callback that
        // sends takes them the other way round.)
        loop {
            let seen = lock(&self.shared.jobs).finished;
            if lock(&cell.state).at != At::Blocked(Wait::Job) {
                break;
            }
            let jobs = lock(&self.shared.jobs);
            drop(
                self.shared
                    .job_done
                    .wait_while(jobs, |j| j.finished == seen)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
        }
        let task = {
            let mut st = lock(&cell.state);
            if matches!(st.at, At::Blocked(_)) {
                self.shared.leave_wait(&st);
                self.shared.blocked.fetch_sub(1, Ordering::SeqCst);
            }
            st.at = At::Gone;
            st.generation += 1;
            let mut task = st.task.take().expect("no slice runs between executes");
            let (out, inbox) = (st.job_output.take(), st.inbox.take());
            // What the task is owed goes to it; a panic there is the task's
            // business (it comes back as it is).
            let _ = shared::call_out(|| {
                crate::task::catching("receive", || {
                    if let Some(out) = out {
                        task.job_done(out);
                    }
                    inbox.into_iter().for_each(|m| task.receive(m));
                })
            });
            task
        };
        self.policy.remove(id);
        self.tasks.remove(&id);
        lock(&self.shared.directory).remove(&id);
        Some(task)
    }

    fn kill(&mut self, id: TaskId) -> bool {
        let Some(cell) = self.live_cell(id).map(Arc::clone) else {
            return false;
        };
        {
            let mut st = lock(&cell.state);
            let accepts = st.task.as_ref().is_none_or(|t| {
                crate::task::catching("accepts_exceptions", || t.accepts_exceptions())
                    .unwrap_or(true)
            });
            if accepts {
                if let Some(task) = st.task.as_mut() {
                    let _ = shared::call_out(|| crate::task::catching("kill", || task.kill()));
                }
                self.shared.bury(id, &mut st, End::Killed);
            } else {
                st.kill_pending = true;
            }
        }
        self.forget_buried();
        true
    }

    fn deliver(&mut self, id: TaskId, msg: Message) -> Result<(), Message> {
        let Some(cell) = self.tasks.get(&id).map(Arc::clone) else {
            return Err(msg);
        };
        if let Some(wait) = self.shared.put_message(&cell, msg)? {
            self.policy.ready(id);
            self.shared.unblocked(wait);
        }
        Ok(())
    }

    fn execute(&mut self, budget: u64) -> Execution {
        self.take_requests();
        self.fire_timers();
        // The controller's runnable tasks enter the injector in the
        // policy's order.
        // A policy may hand back an id twice, or ids it was never given,
        // for ever: each task enters once, and the picking stops after as
        // many misses as there are tasks.
        let mut entered = std::collections::HashSet::new();
        let mut misses = 0;
        while misses <= self.tasks.len() {
            let Some(id) = self.policy.pick() else {
                break;
            };
            match self.tasks.get(&id) {
                Some(cell) if entered.insert(id) => {
                    misses = 0;
                    self.shared.injector.push(Arc::clone(cell));
                    self.shared.queued.fetch_add(1, Ordering::SeqCst);
                }
                _ => misses += 1,
            }
        }
        self.shared.used.store(0, Ordering::SeqCst);
        self.shared.slices.store(0, Ordering::SeqCst);
        // A task woken off this thread (a job's output) is queued before
        // it stops counting as blocked (`Shared::unblocked`), possibly
        // after this round looked: a round that ran nothing while
        // something is queued now goes again, so that no execute reports
        // runnable tasks it had no chance to run.
        loop {
            if budget > 0 && self.shared.queued.load(Ordering::SeqCst) > 0 {
                if !self.locals.is_empty() {
                    self.start_workers();
                }
                self.shared.remaining.store(budget, Ordering::SeqCst);
                let workers = self.workers() as u64;
                let share = budget.div_ceil(workers);
                self.shared.share.store(share, Ordering::SeqCst);
                self.shared.gate.open();
                self.shared.gate.wait_quiet();
                self.shared.remaining.store(0, Ordering::SeqCst);
            }
            self.take_requests();
            self.forget_buried();
            if budget == 0
                || self.shared.slices.load(Ordering::SeqCst) > 0
                || self.shared.queued.load(Ordering::SeqCst) <= 0
            {
                break;
            }
        }
        let job_waits = self.shared.job_waits.load(Ordering::SeqCst);
        // A handle held elsewhere may still send a request, and requests
        // queued while the last batch was applied wait for the next.
        let handles_out =
            Arc::strong_count(&self.held) > 1 || !lock(&self.shared.jobs).requests.is_empty();
        Execution {
            used: self.shared.used.load(Ordering::SeqCst),
            slices: self.shared.slices.load(Ordering::SeqCst),
            live: self.live(),
            runnable: self.runnable(),
            wakeable: job_waits > 0 || self.shared.next_deadline().is_some() || handles_out,
        }
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        self.fire_timers();
        if self.runnable() > 0 {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let clock = shared.clock();
        let until_timer = shared
            .next_deadline()
            .map(|d| d.saturating_sub(clock.now()));
        let limit = match (until_timer, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let jobs = lock(&shared.jobs);
        let handles_out = Arc::strong_count(&self.held) > 1;
        // (Only jobs a live task waits for: one whose task was killed
        // wakes nobody.)
        if !jobs.requests.is_empty() {
            // Requests queued while the last batch was applied (a
            // monitor's notice sent from the status callback of a kill):
            // applied now, not after a sleep until the next timer.
            drop(jobs);
        } else if shared.job_waits.load(Ordering::SeqCst) > 0 || handles_out {
            let seen = jobs.finished;
            let done = &shared.job_done;
            let none_finished = |j: &mut Jobs| j.finished == seen && j.requests.is_empty();
            // Poisoning is ignored here as everywhere (see `lock`).
            match limit {
                Some(d) => drop(done.wait_timeout_while(jobs, d, none_finished)),
                None => drop(done.wait_while(jobs, none_finished)),
            }
        } else {
            drop(jobs);
            if let Some(d) = limit.filter(|_| until_timer.is_some()) {
                clock.sleep(d);
            }
        }
        self.take_requests();
        self.fire_timers();
    }

    fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.tasks.get(&id).map(|c| lock(&c.state).status.get())
    }

    fn stats(&self, id: TaskId) -> Option<TaskStats> {
        self.tasks.get(&id).map(|c| lock(&c.state).stats.clone())
    }

    fn name(&self, id: TaskId) -> Option<String> {
        self.tasks.get(&id).map(|c| c.name.to_string())
    }

    fn dead(&self) -> Vec<TaskId> {
        lock(&self.shared.dead).iter().copied().collect()
    }

    fn release(&mut self, id: TaskId) -> Option<TaskStatus> {
        let cell = self.tasks.get(&id)?;
        if lock(&cell.state).at != At::Dead {
            return None;
        }
        lock(&self.shared.dead).retain(|&d| d != id);
        lock(&self.shared.directory).remove(&id);
        self.tasks.remove(&id).map(|c| lock(&c.state).status.get())
    }

    fn on_status(&mut self, callback: StatusCallback) {
        *lock(&self.shared.callback) = Some(callback);
    }

    fn set_policy(&mut self, policy: Box<dyn Policy>) {
        let live = self
            .tasks
            .iter()
            .filter(|(_, c)| lock(&c.state).at.is_live())
            .map(|(&id, c)| (id, c.priority));
        crate::scheduler::replace_policy(&mut self.policy, policy, live);
    }

    fn live(&self) -> usize {
        // (Saturating: a task forgotten but not yet dropped from the map
        // may have been released meanwhile.)
        self.tasks
            .len()
            .saturating_sub(lock(&self.shared.dead).len())
            .saturating_sub(self.shared.forgotten.load(Ordering::SeqCst))
    }
}
