//! The deadlines of sleeping and receiving tasks, for the single-threaded
//! schedulers (round-robin, tick): a heap of (deadline, task, the task's
//! wait generation when it was set). A task whose wait changed since (a
//! message woke it, it died) has a newer generation, so its old deadline
//! is skipped when it comes up instead of being searched for and removed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::task::TaskId;

/// The latest deadline: as far as a clock counting nanoseconds in a `u64`
/// goes (584 years), where a [`ManualClock`](crate::ManualClock) that
/// sleeps stops, so that a sleep of `Duration::MAX` ends there.
pub(crate) const END_OF_TIME: Duration = Duration::from_nanos(u64::MAX);

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Duration, TaskId, u64)>>,
}

impl Timers {
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Wakes `id` at `deadline` unless its wait generation moves past
    /// `generation` first. Deadlines past [`END_OF_TIME`] are due then.
    pub(crate) fn push(&mut self, deadline: Duration, id: TaskId, generation: u64) {
        self.heap
            .push(Reverse((deadline.min(END_OF_TIME), id, generation)));
    }

    /// The next task due at `now` whose timer is still `current`.
    pub(crate) fn pop_due(
        &mut self,
        now: Duration,
        current: impl Fn(TaskId, u64) -> bool,
    ) -> Option<TaskId> {
        while let Some(&Reverse((deadline, id, generation))) = self.heap.peek() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
            if current(id, generation) {
                return Some(id);
            }
        }
        None
    }

    /// The earliest deadline still `current`, dropping stale ones.
    pub(crate) fn next_deadline(
        &mut self,
        current: impl Fn(TaskId, u64) -> bool,
    ) -> Option<Duration> {
        while let Some(&Reverse((deadline, id, generation))) = self.heap.peek() {
            if current(id, generation) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }
}
