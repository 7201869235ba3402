//! The worker threads: the loop that finds a task (own deque, then the
//! injector, then the other workers' deques), runs one slice of it and
//! puts it where its outcome says; and the gate where idle workers park
//! (the protocol is in the parent module's docs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crossbeam_deque::{Steal, Worker};

use super::shared::{lock, At, Cell, CellState, Counters, Shared, Wait};
use crate::task::{Block, End, Job, Poll, TaskStatus};

/// Where idle workers park, and how they are woken.
pub(super) struct Gate {
    state: Mutex<GateState>,
    /// One per worker: signalled when its `parked` flag is cleared.
    wake: Vec<Condvar>,
    /// Signalled when the last worker parks.
    quiet: Condvar,
    /// `GateState::n_parked`, readable without the lock (written under it).
    sleepers: AtomicUsize,
}

struct GateState {
    /// An `execute` runs: workers may run slices.
    open: bool,
    /// Per worker: parked, and not woken yet. Only a waker clears it, so
    /// a spurious wake-up of the condition variable is told apart.
    parked: Vec<bool>,
    n_parked: usize,
    shutdown: bool,
}

impl Gate {
    pub(super) fn new(workers: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                open: false,
                parked: vec![false; workers],
                n_parked: 0,
                shutdown: false,
            }),
            wake: (0..workers).map(|_| Condvar::new()).collect(),
            quiet: Condvar::new(),
            sleepers: AtomicUsize::new(0),
        }
    }

    /// Wakes one parked worker if an `execute` runs (called after a
    /// task was queued and `queued` raised).
    pub(super) fn notify_one(&self) {
        if self.sleepers.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut g = lock(&self.state);
        if !g.open {
            return;
        }
        if let Some(i) = g.parked.iter().position(|&p| p) {
            self.unpark(&mut g, i);
        }
    }

    fn unpark(&self, g: &mut GateState, i: usize) {
        g.parked[i] = false;
        g.n_parked -= 1;
        self.sleepers.store(g.n_parked, Ordering::SeqCst);
        self.wake[i].notify_one();
    }

    /// Starts an `execute`: every worker wakes up.
    pub(super) fn open(&self) {
        let mut g = lock(&self.state);
        g.open = true;
        for i in 0..g.parked.len() {
            if g.parked[i] {
                self.unpark(&mut g, i);
            }
        }
    }

    /// Waits until every worker is parked (no slice runs and none can
    /// start), then ends the `execute`.
    pub(super) fn wait_quiet(&self) {
        let mut g = lock(&self.state);
        while g.n_parked < g.parked.len() {
            g = self
                .quiet
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        g.open = false;
    }

    /// Stops the workers.
    pub(super) fn shutdown(&self) {
        let mut g = lock(&self.state);
        g.shutdown = true;
        for cv in &self.wake {
            cv.notify_one();
        }
    }

    /// Parks worker `i` unless `has_work` (asked after the worker counts
    /// as parked: see the protocol); returns false at shutdown.
    fn park(&self, i: usize, has_work: impl Fn() -> bool, counters: &Counters) -> bool {
        let mut g = lock(&self.state);
        if g.shutdown {
            return false;
        }
        g.parked[i] = true;
        g.n_parked += 1;
        self.sleepers.store(g.n_parked, Ordering::SeqCst);
        if g.open && has_work() {
            g.parked[i] = false;
            g.n_parked -= 1;
            self.sleepers.store(g.n_parked, Ordering::SeqCst);
            return true;
        }
        if g.n_parked == g.parked.len() {
            self.quiet.notify_all();
        }
        counters.parks.fetch_add(1, Ordering::Relaxed);
        while g.parked[i] && !g.shutdown {
            g = self.wake[i]
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        !g.shutdown
    }
}

/// A worker thread's loop, until shutdown.
pub(super) fn run(shared: &Arc<Shared>, index: usize, local: &Worker<Arc<Cell>>) {
    let counters = &shared.counters[index];
    let mut searches: u64 = 0;
    loop {
        searches = searches.wrapping_add(1);
        let injector_first = searches % super::INJECTOR_INTERVAL == 0;
        match next(shared, index, local, injector_first) {
            Some((cell, budget)) => run_slice(shared, index, local, cell, budget),
            None => {
                if !shared.gate.park(index, || shared.has_work(), counters) {
                    return;
                }
            }
        }
    }
}

/// The next task to run and the units reserved for it, or `None` when
/// the budget is spent or no task is queued anywhere.
fn next(
    shared: &Shared,
    index: usize,
    local: &Worker<Arc<Cell>>,
    injector_first: bool,
) -> Option<(Arc<Cell>, u64)> {
    if shared.remaining.load(Ordering::SeqCst) == 0 {
        return None;
    }
    let cell = find(shared, index, local, injector_first)?;
    shared.queued.fetch_sub(1, Ordering::SeqCst);
    if !local.is_empty() {
        // More tasks wait here (a batch just taken, or the deque's own):
        // a parked worker could steal them while this one runs a slice.
        shared.gate.notify_one();
    }
    let budget = shared.reserve(cell.slice);
    if budget == 0 {
        // The budget ran out meanwhile: leave the task for the next
        // `execute` (another worker may still steal it).
        local.push(cell);
        shared.queued.fetch_add(1, Ordering::SeqCst);
        return None;
    }
    Some((cell, budget))
}

/// Pops from the own deque, else takes a batch from the injector, else
/// steals half of another worker's deque. With `injector_first`, takes
/// one task from the injector before all that.
fn find(
    shared: &Shared,
    index: usize,
    local: &Worker<Arc<Cell>>,
    injector_first: bool,
) -> Option<Arc<Cell>> {
    if injector_first {
        if let Steal::Success(cell) = shared.injector.steal() {
            return Some(cell);
        }
    }
    if let Some(cell) = local.pop() {
        return Some(cell);
    }
    let n = shared.stealers.len();
    loop {
        let mut retry = false;
        match shared.injector.steal_batch_and_pop(local) {
            Steal::Success(cell) => return Some(cell),
            Steal::Retry => retry = true,
            Steal::Empty => {}
        }
        for k in 1..n {
            match shared.stealers[(index + k) % n].steal_batch_and_pop(local) {
                Steal::Success(cell) => {
                    shared.counters[index]
                        .steals
                        .fetch_add(1, Ordering::Relaxed);
                    return Some(cell);
                }
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        // `Retry` means another thread moved the deque meanwhile: there
        // may be something there, so look again.
        if !retry {
            return None;
        }
    }
}

/// What to do with a task once its cell is unlocked after a slice.
enum After {
    Nothing,
    Requeue,
    Timer(u64, std::time::Duration),
    Offload(u64, Job),
}

/// Runs one slice of `cell` with `budget` units reserved.
fn run_slice(
    shared: &Arc<Shared>,
    index: usize,
    local: &Worker<Arc<Cell>>,
    cell: Arc<Cell>,
    budget: u64,
) {
    let taken = {
        let mut st = lock(&cell.state);
        if st.at == At::Queued {
            st.at = At::Running;
            let task = st.task.take().expect("a queued task is in its cell");
            let msgs = st.inbox.take();
            Some((task, msgs, st.job_output.take()))
        } else {
            // A stale entry: the task died or was removed.
            None
        }
    };
    let Some((mut task, msgs, job_output)) = taken else {
        shared.settle(budget, 0);
        return;
    };
    // A panic in the task's code fails the task instead of killing the
    // worker thread (which would leave `execute` waiting for ever).
    let slice = crate::task::guarded(|| {
        if let Some(out) = job_output {
            task.job_done(out);
        }
        for msg in msgs {
            task.receive(msg);
        }
        task.run(budget)
    });
    // A slice that reports nothing used still counts, so that an
    // `execute` always ends.
    let charged = crate::task::charge(slice.used);
    shared.settle(budget, charged);
    shared.used.fetch_add(charged, Ordering::SeqCst);
    shared.slices.fetch_add(1, Ordering::SeqCst);
    shared.counters[index]
        .slices
        .fetch_add(1, Ordering::Relaxed);
    let (accepts, slice) =
        match crate::task::catching("accepts_exceptions", || task.accepts_exceptions()) {
            Ok(accepts) => (accepts, slice),
            // The task is failed: its slice's outcome no longer counts.
            Err(e) => (
                true,
                crate::Slice {
                    used: slice.used,
                    poll: Poll::Failed(e),
                },
            ),
        };

    let after = {
        let mut st = lock(&cell.state);
        st.stats.used = st.stats.used.saturating_add(slice.used);
        st.stats.slices += 1;
        st.task = Some(task);
        if st.kill_pending && accepts {
            if let Some(task) = st.task.as_mut() {
                let _ = super::shared::call_out(|| crate::task::catching("kill", || task.kill()));
            }
            shared.bury(cell.id, &mut st, End::Killed);
            After::Nothing
        } else {
            outcome(shared, &cell, &mut st, slice.poll, accepts)
        }
    };
    match after {
        After::Nothing => {}
        After::Requeue => {
            local.push(Arc::clone(&cell));
            shared.queued.fetch_add(1, Ordering::SeqCst);
            // This worker takes its own deque's next task itself; wake
            // another only when there is more than that.
            if local.len() > 1 {
                shared.gate.notify_one();
            }
        }
        After::Timer(generation, after) => shared.add_timer(Arc::clone(&cell), generation, after),
        After::Offload(generation, job) => shared.offload(Arc::clone(&cell), generation, job),
    }
    for (woken, wait) in shared.fire_timers(true) {
        shared.inject_woken(woken, wait);
    }
}

/// Applies a slice's outcome to the task's state.
fn outcome(shared: &Shared, cell: &Cell, st: &mut CellState, poll: Poll, accepts: bool) -> After {
    let id = cell.id;
    match poll {
        Poll::Ready => {
            st.at = At::Queued;
            let status = if accepts {
                TaskStatus::Running
            } else {
                TaskStatus::RunningWithoutExceptions
            };
            shared.set_status(id, st, status);
            After::Requeue
        }
        Poll::Finished => {
            shared.bury(id, st, End::Finished);
            After::Nothing
        }
        Poll::Failed(err) => {
            shared.bury(id, st, End::Failed(err));
            After::Nothing
        }
        Poll::Blocked(block) => {
            st.stats.blocks += 1;
            st.generation += 1;
            let generation = st.generation;
            let (wait, after) = match block {
                Block::Receive(timeout) => {
                    if !st.inbox.is_empty() {
                        // A message came during the slice.
                        st.at = At::Queued;
                        shared.set_status(id, st, TaskStatus::Running);
                        return After::Requeue;
                    }
                    let after = timeout.map_or(After::Nothing, |t| After::Timer(generation, t));
                    (Wait::Receive, after)
                }
                Block::Sleep(t) => (Wait::Sleep, After::Timer(generation, t)),
                Block::Offload(job) => (Wait::Job, After::Offload(generation, job)),
            };
            st.at = At::Blocked(wait);
            shared.blocked.fetch_add(1, Ordering::SeqCst);
            if wait == Wait::Job {
                shared.job_waits.fetch_add(1, Ordering::SeqCst);
            }
            shared.set_status(id, st, TaskStatus::Blocking);
            after
        }
    }
}
