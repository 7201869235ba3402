//! The [`Scheduler`] trait every scheduler implements, and the run-queue
//! [`Policy`] a scheduler's order can be replaced with.

use std::time::Duration;

use crate::handle::Handle;
use crate::task::{Message, Task, TaskId, TaskStats, TaskStatus};

/// Runs tasks for budgets. Object-safe: `Box<dyn Scheduler>` works, so a
/// program picks round-robin, tick or work-stealing at run time.
///
/// Messages are delivered between slices, in order; a message to a task
/// that is dead, unknown or removed is handed back (`Err`).
pub trait Scheduler: Send {
    /// Inserts a task with a priority (what it means is the scheduler's:
    /// round-robin's is the slice length in units) and returns its id.
    fn insert(&mut self, task: Box<dyn Task>, priority: u32) -> TaskId;

    /// A handle that spawns, messages and kills tasks from any thread,
    /// and from inside this scheduler's own tasks' slices: what agents
    /// use.
    fn handle(&self) -> Handle;

    /// Removes a live task and returns it with its state intact, for
    /// another scheduler to continue it: messages not handed over yet go
    /// to it first ([`Task::receive`]), and a job it offloaded is waited
    /// for and handed over ([`Task::job_done`]): this blocks until the job
    /// ends, however long it takes. A blocked task reports its block again
    /// when it next runs. `None` for a dead or unknown id, and for a task
    /// that failed meanwhile (its job's output made it panic, on schedulers
    /// that hand it over as it arrives).
    fn remove(&mut self, id: TaskId) -> Option<Box<dyn Task>>;

    /// Ends a live task ([`Task::kill`]); it goes to the dead list. A task
    /// that does not accept exceptions now is killed at the end of the
    /// first slice after which it does again (a blocked one, once woken:
    /// nothing wakes it early). False for a dead or unknown id.
    fn kill(&mut self, id: TaskId) -> bool;

    /// Delivers a message to a live task (waking it if it waits for one).
    ///
    /// # Errors
    /// The message back, when `id` names no live task.
    fn deliver(&mut self, id: TaskId, msg: Message) -> Result<(), Message>;

    /// Runs tasks until about `budget` units are used or none can run
    /// now; the report says what remains.
    fn execute(&mut self, budget: u64) -> Execution;

    /// Blocks the calling thread until a blocked task may run again (a
    /// job is done, a timer is due, a message came) or `timeout` passes.
    /// Returns at once when a task can run, or when no task is blocked
    /// on anything that could wake it.
    fn wait(&mut self, timeout: Option<Duration>);

    /// A task's status: live or on the dead list.
    fn status(&self, id: TaskId) -> Option<TaskStatus>;

    /// A task's counters: live or on the dead list.
    fn stats(&self, id: TaskId) -> Option<TaskStats>;

    /// The name a task gave ([`Task::name`]), live or dead.
    fn name(&self, id: TaskId) -> Option<String>;

    /// The ids on the dead list, in the order the tasks died (a task
    /// forgotten when dead, [`Task::forgotten_when_dead`], never is).
    fn dead(&self) -> Vec<TaskId>;

    /// Drops a dead task from the dead list, returning how it ended.
    fn release(&mut self, id: TaskId) -> Option<TaskStatus>;

    /// Calls `callback` at every change of a task's status.
    fn on_status(&mut self, callback: StatusCallback);

    /// Replaces the run-queue policy; the runnable tasks move to the new
    /// one in their current order.
    fn set_policy(&mut self, policy: Box<dyn Policy>);

    /// Live tasks (runnable or blocked).
    fn live(&self) -> usize;

    /// Runs until no live task remains, `slice` units per `execute` (0
    /// counts as 1), waiting whenever every task is blocked. A task
    /// blocked on a message that never comes would wait for ever; this
    /// returns once nothing can wake anything, or when runnable tasks are
    /// not run (a policy that hands none out).
    fn run(&mut self, slice: u64) {
        // A budget of 0 counts as 1: every round makes progress.
        let slice = slice.max(1);
        loop {
            let e = self.execute(slice);
            if e.live == 0 {
                return;
            }
            if e.slices == 0 && e.runnable > 0 && e.used == 0 {
                // Runnable tasks that the policy does not hand out: no
                // round will ever run them.
                return;
            }
            if e.runnable == 0 {
                if !e.wakeable {
                    return;
                }
                self.wait(None);
            }
        }
    }
}

/// Called with a task's id and new status.
pub type StatusCallback = Box<dyn FnMut(TaskId, &TaskStatus) + Send>;

/// What an [`Scheduler::execute`] did and what remains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Execution {
    /// Units used.
    pub used: u64,
    /// Slices run.
    pub slices: u64,
    /// Tasks alive (runnable or blocked).
    pub live: usize,
    /// Tasks that can run now.
    pub runnable: usize,
    /// Whether some blocked task waits for something that will come by
    /// itself (a timer, a job): [`Scheduler::wait`] then returns when it
    /// does.
    pub wakeable: bool,
}

/// Moves a scheduler's tasks from `old` to `new`: every live task
/// (`(id, priority)`, inserted in id order) and the runnable ones in
/// `old`'s order (what [`Scheduler::set_policy`] does).
pub(crate) fn replace_policy(
    old: &mut Box<dyn Policy>,
    mut new: Box<dyn Policy>,
    live: impl Iterator<Item = (TaskId, u32)>,
) {
    let order = old.drain();
    let mut live: Vec<(TaskId, u32)> = live.collect();
    live.sort_unstable();
    for (id, priority) in live {
        new.insert(id, priority);
    }
    for id in order {
        new.ready(id);
    }
    *old = new;
}

/// The order in which runnable tasks get their slices: which one runs
/// next, told of each task's arrival, departure and slice outcome
/// (the SchemeStation scheduler's policy callbacks).
pub trait Policy: Send {
    /// A task was inserted with `priority` (not runnable yet: `ready`
    /// follows).
    fn insert(&mut self, id: TaskId, priority: u32);

    /// A task left (removed, dead): forget it, runnable or not.
    fn remove(&mut self, id: TaskId);

    /// A task ended in the slice it was picked for: forget it, knowing it
    /// is in no run queue (`pick` took it out). By default, `remove`; a
    /// queue that can only find a task by searching skips the search
    /// (every task ends once: a search each would make a million endings
    /// quadratic).
    fn ended(&mut self, id: TaskId) {
        self.remove(id);
    }

    /// A task can run (just inserted, woken, or its slice left it able to
    /// go on).
    fn ready(&mut self, id: TaskId);

    /// The next task to run, taken out of the runnable set.
    fn pick(&mut self) -> Option<TaskId>;

    /// The previous slice's outcome: `used` units, and whether the task
    /// can go on (`ready` is called for it after this when it can).
    fn outcome(&mut self, id: TaskId, used: u64, runnable: bool);

    /// The runnable tasks in the order `pick` would take them (for a
    /// policy replacing this one).
    fn drain(&mut self) -> Vec<TaskId>;
}
