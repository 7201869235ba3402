//! [`TaskBuilder`]: a task's name, priority and budget, set before it
//! is spawned on a tick scheduler, locally or from another thread.

use super::local::LocalTask;
use super::remote::{Injector, Options};
use super::{LocalTickScheduler, TickScheduler};
use crate::task::{Task, TaskId};

/// Settings for a task about to be spawned on a tick scheduler.
///
/// - the name replaces [`Task::name`] in reports;
/// - the priority goes to the run-queue policy (a
///   [`Weighted`](crate::Weighted) policy shares units in proportion to
///   it) and, without a budget, is the slice as in round-robin (0, or
///   more than the scheduler's maximum slice, means the default slice);
/// - the budget is the units the task gets per poll.
///
/// ```
/// use vm_sched::{Message, Poll, Scheduler, Slice, Task, TaskBuilder, TickScheduler};
///
/// /// Uses its whole budget, once.
/// struct Burn;
/// impl Task for Burn {
///     fn run(&mut self, budget: u64) -> Slice { Slice { used: budget, poll: Poll::Finished } }
///     fn receive(&mut self, _msg: Message) {}
/// }
///
/// let mut sched = TickScheduler::new();
/// let id = TaskBuilder::new().name("burner").budget(7).spawn(&mut sched, Burn);
/// sched.tick();
/// assert_eq!(sched.name(id).as_deref(), Some("burner"));
/// assert_eq!(sched.stats(id).unwrap().used, 7);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TaskBuilder {
    options: Options,
}

impl TaskBuilder {
    /// No name (the task's own), priority 0, no budget (the default
    /// slice).
    pub fn new() -> TaskBuilder {
        TaskBuilder::default()
    }

    /// The name reports give the task.
    pub fn name(mut self, name: impl Into<String>) -> TaskBuilder {
        self.options.name = Some(name.into());
        self
    }

    /// The priority (see the type's docs).
    pub fn priority(mut self, priority: u32) -> TaskBuilder {
        self.options.priority = priority;
        self
    }

    /// Units per poll (at least 1).
    pub fn budget(mut self, budget: u64) -> TaskBuilder {
        self.options.budget = Some(budget);
        self
    }

    /// Spawns `task` on `sched`; it runs from the next tick.
    pub fn spawn(&self, sched: &mut TickScheduler, task: impl Task + 'static) -> TaskId {
        sched.core.spawn(Box::new(task), &self.options)
    }

    /// Spawns a task that need not be `Send` on a local scheduler.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use vm_sched::{LocalTask, LocalTickScheduler, Message, Poll, Slice, TaskBuilder};
    ///
    /// struct Shared(Rc<u32>);
    /// impl LocalTask for Shared {
    ///     fn run(&mut self, _budget: u64) -> Slice {
    ///         Slice { used: u64::from(*self.0), poll: Poll::Finished }
    ///     }
    ///     fn receive(&mut self, _msg: Message) {}
    /// }
    ///
    /// let mut sched = LocalTickScheduler::new();
    /// let id = TaskBuilder::new().name("rc").spawn_local(&mut sched, Shared(Rc::new(3)));
    /// assert_eq!(sched.tick().completed, 1);
    /// assert_eq!(sched.stats(id).unwrap().used, 3);
    /// ```
    pub fn spawn_local(
        &self,
        sched: &mut LocalTickScheduler,
        task: impl LocalTask + 'static,
    ) -> TaskId {
        sched.core.spawn(Box::new(task), &self.options)
    }

    /// Spawns `task` through an injector, from any thread; the scheduler
    /// takes it at its next tick.
    ///
    /// # Errors
    /// The task back, when the scheduler was dropped.
    pub fn inject(
        &self,
        injector: &Injector,
        task: impl Task + 'static,
    ) -> Result<(), Box<dyn Task>> {
        injector.spawn_with(Box::new(task), self.options.clone())
    }
}
