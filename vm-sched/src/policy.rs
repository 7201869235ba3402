//! The shipped run-queue policies: [`Fifo`] (plain round-robin: fixed
//! order, no reordering) and [`Weighted`] (a share of the units used in
//! proportion to priority, by stride scheduling).

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::scheduler::Policy;
use crate::task::TaskId;

/// Runnable tasks in the order they became runnable: each gets its slice
/// in turn, and a task that can go on queues behind the others.
#[derive(Debug, Default)]
pub struct Fifo {
    queue: VecDeque<TaskId>,
}

impl Fifo {
    /// An empty queue.
    pub fn new() -> Fifo {
        Fifo::default()
    }
}

impl Policy for Fifo {
    fn insert(&mut self, _id: TaskId, _priority: u32) {}

    fn remove(&mut self, id: TaskId) {
        self.queue.retain(|&t| t != id);
    }

    fn ended(&mut self, _id: TaskId) {}

    fn ready(&mut self, id: TaskId) {
        self.queue.push_back(id);
    }

    fn pick(&mut self) -> Option<TaskId> {
        self.queue.pop_front()
    }

    fn outcome(&mut self, _id: TaskId, _used: u64, _runnable: bool) {}

    fn drain(&mut self) -> Vec<TaskId> {
        self.queue.drain(..).collect()
    }
}

/// Stride scheduling: each task has a pass that grows by the units it
/// used divided by its priority, and the runnable task with the lowest
/// pass runs next. Over time a task gets a share of the units in
/// proportion to its priority, however long its slices or however often
/// it blocks; ties go to the task that became runnable first.
#[derive(Debug, Default)]
pub struct Weighted {
    /// Per task: (priority, pass).
    tasks: HashMap<TaskId, (u32, u128)>,
    /// Runnable tasks by (pass, arrival, id).
    runnable: BTreeSet<(u128, u64, TaskId)>,
    arrivals: u64,
    /// The pass of the last task picked: a task that becomes runnable
    /// starts no lower, so a long sleep earns no burst.
    global: u128,
}

/// Fixed-point scale of a pass increment.
const STRIDE: u128 = 1 << 32;

impl Weighted {
    /// An empty set.
    pub fn new() -> Weighted {
        Weighted::default()
    }
}

impl Policy for Weighted {
    fn insert(&mut self, id: TaskId, priority: u32) {
        self.tasks.insert(id, (priority.max(1), self.global));
    }

    fn remove(&mut self, id: TaskId) {
        if let Some((_, pass)) = self.tasks.remove(&id) {
            self.runnable.retain(|&(p, _, t)| !(p == pass && t == id));
        }
    }

    fn ready(&mut self, id: TaskId) {
        let global = self.global;
        if let Some((_, pass)) = self.tasks.get_mut(&id) {
            *pass = (*pass).max(global);
            self.arrivals += 1;
            self.runnable.insert((*pass, self.arrivals, id));
        }
    }

    fn pick(&mut self) -> Option<TaskId> {
        let (pass, _, id) = self.runnable.pop_first()?;
        self.global = pass;
        Some(id)
    }

    fn outcome(&mut self, id: TaskId, used: u64, _runnable: bool) {
        if let Some((priority, pass)) = self.tasks.get_mut(&id) {
            *pass += u128::from(used.max(1)) * STRIDE / u128::from(*priority);
        }
    }

    fn drain(&mut self) -> Vec<TaskId> {
        std::mem::take(&mut self.runnable)
            .into_iter()
            .map(|(_, _, id)| id)
            .collect()
    }
}
