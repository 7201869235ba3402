//! What the controlling thread, the workers and the blocking pool's
//! threads share: one cell per task, the run queues, the budget, the
//! timers, the jobs in flight and the dead list.
//!
//! Lock order (never taken the other way round): the timer heap, then a
//! task's cell, then the dead list, the buried list or the status
//! callback. The gate ([`Gate`]) and the job count are taken with no
//! cell locked.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crossbeam_deque::{Injector, Stealer};

use super::worker::Gate;
use crate::clock::Clock;
use crate::pool::BlockingPool;
use crate::scheduler::StatusCallback;
use crate::task::{End, Job, Message, TaskId, TaskStats, TaskStatus};

thread_local! {
    /// Set while this thread runs code outside the scheduler (the status
    /// callback, a task's `kill` or `receive`) with a task's cell, or the
    /// callback's lock, held: a message sent from there goes through the
    /// controller rather than to its task at once, which would lock a
    /// cell (perhaps the same one) and call the callback.
    static CALLING_OUT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread runs code outside the scheduler under its locks.
pub(super) fn calling_out() -> bool {
    CALLING_OUT.get()
}

/// Runs `f` (code outside the scheduler) marked as [`calling_out`].
pub(super) fn call_out<R>(f: impl FnOnce() -> R) -> R {
    let outer = CALLING_OUT.replace(true);
    let r = f();
    CALLING_OUT.set(outer);
    r
}

/// Locks `m`, ignoring poisoning: a panic elsewhere leaves the data as
/// consistent as the panicking code left it, and the scheduler goes on.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One task and what the scheduler knows of it.
pub(super) struct Cell {
    pub(super) id: TaskId,
    /// The priority it was inserted with, and the slice in units it gives.
    pub(super) priority: u32,
    pub(super) slice: u64,
    /// Its name ([`Task::name`](crate::Task::name)), taken at insertion.
    pub(super) name: Arc<str>,
    pub(super) state: Mutex<CellState>,
}

/// A task's mutable state, behind its cell's lock.
pub(super) struct CellState {
    /// The task: `None` while a worker runs its slice, and once removed.
    pub(super) task: Option<Box<dyn crate::Task>>,
    pub(super) at: At,
    pub(super) status: crate::task::KeptStatus,
    pub(super) stats: TaskStats,
    /// Messages not handed over yet, in delivery order.
    pub(super) inbox: crate::task::Pending,
    /// The output of the job it offloaded, handed over before its next
    /// slice (or on removal).
    pub(super) job_output: Option<Message>,
    /// Bumped whenever the task blocks or stops waiting: a timer set
    /// under an older generation is stale.
    pub(super) generation: u64,
    /// Killed while it did not accept exceptions: killed at the end of
    /// the first slice after which it does.
    pub(super) kill_pending: bool,
}

/// Where a task is. Invariant: a task is `Queued` exactly when one
/// entry for it is in the policy, the injector or a worker's deque (a
/// dead or removed task may leave a stale entry there, dropped when a
/// worker pops it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum At {
    /// Runnable, waiting for its turn.
    Queued,
    /// A worker runs its slice.
    Running,
    /// Waiting (counted in [`Shared::blocked`]).
    Blocked(Wait),
    /// On the dead list.
    Dead,
    /// Removed (handed back to the caller).
    Gone,
}

/// What a blocked task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    Receive,
    Sleep,
    Job,
}

impl At {
    pub(super) fn is_live(self) -> bool {
        !matches!(self, At::Dead | At::Gone)
    }
}

/// A pending deadline; stale when the task's generation moved on.
pub(super) struct Timer {
    pub(super) deadline: Duration,
    pub(super) generation: u64,
    pub(super) cell: Arc<Cell>,
}

impl Timer {
    fn key(&self) -> (Duration, TaskId, u64) {
        (self.deadline, self.cell.id, self.generation)
    }

    fn is_current(&self) -> bool {
        let st = lock(&self.cell.state);
        st.generation == self.generation && matches!(st.at, At::Blocked(_))
    }
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Timer {}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timer {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key().cmp(&other.key())
    }
}

/// Jobs offloaded and not finished yet (behind [`Shared::jobs`]).
#[derive(Default)]
pub(super) struct Jobs {
    pub(super) in_flight: usize,
    /// Jobs finished so far: [`Scheduler::wait`](crate::Scheduler::wait)
    /// waits for it to move, or for a handle's request.
    pub(super) finished: u64,
    /// [`Handle`](crate::Handle) requests, in order, for the controller.
    pub(super) requests: VecDeque<crate::handle::Request>,
    /// Set when the scheduler is dropped: handles' requests fail.
    pub(super) closed: bool,
    /// The controller applies a batch of requests it took: a message sent
    /// meanwhile queues too, behind anything of its sender's in the batch.
    pub(super) applying: bool,
}

/// One worker's counters (see [`WorkerStats`](super::WorkerStats)).
#[derive(Default)]
pub(super) struct Counters {
    pub(super) slices: AtomicU64,
    pub(super) steals: AtomicU64,
    pub(super) parks: AtomicU64,
}

/// The shared state (see the module docs for who touches what).
pub(super) struct Shared {
    /// Tasks made runnable by the controller (in the policy's order) and
    /// by the blocking pool's threads.
    pub(super) injector: Injector<Arc<Cell>>,
    /// One per worker, to steal from its deque.
    pub(super) stealers: Vec<Stealer<Arc<Cell>>>,
    /// Entries in the injector and the deques (stale ones included). It
    /// is raised after a push and lowered after a pop, so it may dip
    /// below zero for a moment; only `> 0` is ever asked.
    pub(super) queued: AtomicIsize,
    /// Units the current `execute` has not handed out yet.
    pub(super) remaining: AtomicU64,
    /// The most one slice may reserve in the current `execute`: its
    /// budget divided among the workers, so that a long slice does not
    /// take the whole budget while the other workers idle.
    pub(super) share: AtomicU64,
    /// Units and slices charged in the current `execute`.
    pub(super) used: AtomicU64,
    pub(super) slices: AtomicU64,
    /// Live tasks in [`At::Blocked`].
    pub(super) blocked: AtomicUsize,
    pub(super) gate: Gate,
    pub(super) timers: Mutex<BinaryHeap<Reverse<Timer>>>,
    pub(super) jobs: Mutex<Jobs>,
    /// Signalled (under `jobs`) whenever a job finishes.
    pub(super) job_done: Condvar,
    /// Replaceable at any time ([`WorkStealing::with_clock`]), so behind
    /// a lock; read on timer paths only.
    pub(super) clock: Mutex<Arc<dyn Clock>>,
    pub(super) pool: Mutex<BlockingPool>,
    /// Live tasks blocked on a job: a job whose task was killed meanwhile
    /// can wake nobody.
    pub(super) job_waits: AtomicUsize,
    /// Dead tasks, in the order they died.
    pub(super) dead: Mutex<VecDeque<TaskId>>,
    /// Tasks that died since the controller last told its policy, and
    /// whether each is to be forgotten (`Task::forgotten_when_dead`).
    pub(super) buried: Mutex<Vec<(TaskId, bool)>>,
    /// Of those, the ones to be forgotten: dead, but still in the
    /// controller's map.
    pub(super) forgotten: AtomicUsize,
    pub(super) callback: Mutex<Option<StatusCallback>>,
    pub(super) counters: Vec<Counters>,
    /// Every task by id, for handles that deliver messages from any
    /// thread (the controller keeps its own map too).
    pub(super) directory: Mutex<hashbrown::HashMap<TaskId, Arc<Cell>>>,
}

impl Shared {
    /// Changes a task's status and calls the callback (with the cell
    /// locked, so a task's statuses are reported in order).
    pub(super) fn set_status(&self, id: TaskId, st: &mut CellState, status: TaskStatus) {
        if st.status.is(&status) {
            return;
        }
        self.notify(id, &status);
        st.status = crate::task::KeptStatus::new(status);
    }

    /// Calls the status callback; one that panics is dropped, so that no
    /// worker dies of it.
    pub(super) fn notify(&self, id: TaskId, status: &TaskStatus) {
        let mut callback = lock(&self.callback);
        if let Some(cb) = callback.as_mut() {
            let called = call_out(|| crate::task::catching("status callback", || cb(id, status)));
            if called.is_err() {
                *callback = None;
            }
        }
    }

    /// Makes a blocked task runnable: what it waited for, when it was
    /// blocked (the caller then queues it, once, and calls `unblocked`
    /// with it).
    pub(super) fn wake(&self, id: TaskId, st: &mut CellState) -> Option<Wait> {
        let At::Blocked(wait) = st.at else {
            return None;
        };
        st.at = At::Queued;
        st.generation += 1;
        self.set_status(id, st, TaskStatus::Running);
        Some(wait)
    }

    /// Puts `msg` in `cell`'s inbox (`Err` with it if the task is dead or
    /// gone) and wakes the task if it waits for a message: what it waited
    /// for, when it woke (the caller then queues it and calls
    /// `unblocked`).
    pub(super) fn put_message(&self, cell: &Cell, msg: Message) -> Result<Option<Wait>, Message> {
        let mut st = lock(&cell.state);
        if !st.at.is_live() {
            return Err(msg);
        }
        st.inbox.push_back(msg);
        st.stats.messages += 1;
        Ok(if st.at == At::Blocked(Wait::Receive) {
            self.wake(cell.id, &mut st)
        } else {
            None
        })
    }

    /// A task woken (`wake`) from `wait` was queued: it no longer counts
    /// as blocked, nor as waiting for a job. Only after the queueing, so
    /// that the controller, which reads these counts between executes
    /// without the task's lock, never sees a task woken off its thread (a
    /// job's output, a message from a worker) as neither blocked nor
    /// queued: `Scheduler::run` would take the run for over.
    pub(super) fn unblocked(&self, wait: Wait) {
        if wait == Wait::Job {
            self.job_waits.fetch_sub(1, Ordering::SeqCst);
        }
        self.blocked.fetch_sub(1, Ordering::SeqCst);
    }

    /// `inject` of a task `wake` woke from `wait`, then `unblocked`.
    pub(super) fn inject_woken(&self, cell: Arc<Cell>, wait: Wait) {
        self.inject(cell);
        self.unblocked(wait);
    }

    /// Bookkeeping of a blocked task that stops waiting.
    pub(super) fn leave_wait(&self, st: &CellState) {
        if st.at == At::Blocked(Wait::Job) {
            self.job_waits.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The clock timers read.
    pub(super) fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&lock(&self.clock))
    }

    /// Moves a task to the dead list.
    pub(super) fn bury(&self, id: TaskId, st: &mut CellState, end: End) {
        if matches!(st.at, At::Blocked(_)) {
            self.leave_wait(st);
            self.blocked.fetch_sub(1, Ordering::SeqCst);
        }
        st.at = At::Dead;
        st.generation += 1;
        st.inbox.clear();
        st.job_output = None;
        let forgotten = crate::task::forgotten_when_dead(st.task.as_deref());
        let task = st.task.take();
        if forgotten {
            // Not on the dead list: the controller drops it from its map.
            self.forgotten.fetch_add(1, Ordering::SeqCst);
        } else {
            lock(&self.dead).push_back(id);
        }
        lock(&self.buried).push((id, forgotten));
        self.set_status(id, st, TaskStatus::Dead(end));
        // Dropped after its end is reported (see round-robin's `lay_out`).
        call_out(|| crate::task::discard(task));
    }

    /// Puts a runnable task in the injector and wakes a parked worker
    /// (step 1 of the protocol in the module docs).
    pub(super) fn inject(&self, cell: Arc<Cell>) {
        self.injector.push(cell);
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.gate.notify_one();
    }

    /// Whether a worker could run something now.
    pub(super) fn has_work(&self) -> bool {
        self.remaining.load(Ordering::SeqCst) > 0 && self.queued.load(Ordering::SeqCst) > 0
    }

    /// Takes up to `want` units (and at most the share) from the budget;
    /// 0 when it is spent.
    pub(super) fn reserve(&self, want: u64) -> u64 {
        let want = want.min(self.share.load(Ordering::SeqCst)).max(1);
        let mut r = self.remaining.load(Ordering::SeqCst);
        loop {
            if r == 0 {
                return 0;
            }
            let take = want.min(r);
            match self.remaining.compare_exchange_weak(
                r,
                r - take,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return take,
                Err(now) => r = now,
            }
        }
    }

    /// Charges `charged` units against a reservation of `reserved`:
    /// gives back what was not used, takes an overshoot from what is left.
    pub(super) fn settle(&self, reserved: u64, charged: u64) {
        if charged < reserved {
            self.remaining
                .fetch_add(reserved - charged, Ordering::SeqCst);
        } else if charged > reserved {
            let over = charged - reserved;
            let _ = self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| {
                    Some(r.saturating_sub(over))
                });
        }
    }

    /// Sets a deadline for a task blocked under `generation`.
    pub(super) fn add_timer(&self, cell: Arc<Cell>, generation: u64, after: Duration) {
        let deadline = self
            .clock()
            .now()
            .saturating_add(after)
            .min(crate::timers::END_OF_TIME);
        lock(&self.timers).push(Reverse(Timer {
            deadline,
            generation,
            cell,
        }));
    }

    /// Wakes the tasks whose deadline has passed and returns them (the
    /// caller queues them). With `try_only`, gives up if another thread
    /// holds the timers.
    pub(super) fn fire_timers(&self, try_only: bool) -> Vec<(Arc<Cell>, Wait)> {
        let mut timers = if try_only {
            match self.timers.try_lock() {
                Ok(t) => t,
                Err(_) => return Vec::new(),
            }
        } else {
            lock(&self.timers)
        };
        let mut woken = Vec::new();
        if timers.is_empty() {
            return woken;
        }
        let now = self.clock().now();
        while timers.peek().is_some_and(|t| t.0.deadline <= now) {
            let Some(Reverse(t)) = timers.pop() else {
                break;
            };
            let mut st = lock(&t.cell.state);
            if st.generation != t.generation {
                continue;
            }
            if let Some(wait) = self.wake(t.cell.id, &mut st) {
                drop(st);
                woken.push((t.cell, wait));
            }
        }
        woken
    }

    /// The earliest deadline still current, dropping stale ones.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        let mut timers = lock(&self.timers);
        while let Some(Reverse(t)) = timers.peek() {
            if t.is_current() {
                return Some(t.deadline);
            }
            timers.pop();
        }
        None
    }

    /// Runs `job` on the pool; its output goes to the task blocked under
    /// `generation`, which becomes runnable again.
    pub(super) fn offload(self: &Arc<Self>, cell: Arc<Cell>, generation: u64, job: Job) {
        lock(&self.jobs).in_flight += 1;
        let shared = Arc::clone(self);
        lock(&self.pool).spawn(job, move |out| shared.job_finished(&cell, generation, out));
    }

    fn job_finished(&self, cell: &Arc<Cell>, generation: u64, out: Message) {
        let woke = {
            let mut st = lock(&cell.state);
            if st.at == At::Blocked(Wait::Job) && st.generation == generation {
                st.job_output = Some(out);
                self.wake(cell.id, &mut st)
            } else {
                // Killed meanwhile: nobody wants the output.
                None
            }
        };
        if let Some(wait) = woke {
            self.inject_woken(Arc::clone(cell), wait);
        }
        let mut jobs = lock(&self.jobs);
        jobs.in_flight -= 1;
        jobs.finished += 1;
        self.job_done.notify_all();
    }
}
