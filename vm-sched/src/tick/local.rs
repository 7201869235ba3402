//! Tasks that are not `Send` ([`LocalTask`]), for the
//! [`LocalTickScheduler`](crate::LocalTickScheduler), and the adapter
//! that lets a `Send` task spawned from another thread run there.

use crate::task::{Message, Slice, Task, TaskId};

/// A task that may hold values that cannot cross threads (an `Rc`, a
/// whole VM): [`Task`] without `Send`. Every [`Task`] is a `LocalTask`;
/// the methods mean what [`Task`]'s do.
pub trait LocalTask {
    /// Runs for at most about `budget` units ([`Task::run`]).
    fn run(&mut self, budget: u64) -> Slice;

    /// Takes a delivered message ([`Task::receive`]).
    fn receive(&mut self, msg: Message);

    /// Takes an offloaded job's output ([`Task::job_done`]); the default
    /// drops it.
    fn job_done(&mut self, output: Message) {
        drop(output);
    }

    /// A name for reports ([`Task::name`]).
    fn name(&self) -> &str {
        "task"
    }

    /// False while the task must not be interrupted
    /// ([`Task::accepts_exceptions`]).
    fn accepts_exceptions(&self) -> bool {
        true
    }

    /// Asked to stop ([`Task::kill`]).
    fn kill(&mut self) {}

    /// Told its id and its scheduler's handle ([`Task::inserted`]).
    fn inserted(&mut self, id: TaskId, handle: &crate::Handle) {
        let _ = (id, handle);
    }

    /// Forgotten when it dies ([`Task::forgotten_when_dead`]).
    fn forgotten_when_dead(&self) -> bool {
        false
    }
}

impl<T: Task + ?Sized> LocalTask for T {
    fn run(&mut self, budget: u64) -> Slice {
        Task::run(self, budget)
    }

    fn receive(&mut self, msg: Message) {
        Task::receive(self, msg);
    }

    fn job_done(&mut self, output: Message) {
        Task::job_done(self, output);
    }

    fn name(&self) -> &str {
        Task::name(self)
    }

    fn accepts_exceptions(&self) -> bool {
        Task::accepts_exceptions(self)
    }

    fn kill(&mut self) {
        Task::kill(self);
    }

    fn inserted(&mut self, id: TaskId, handle: &crate::Handle) {
        Task::inserted(self, id, handle);
    }

    fn forgotten_when_dead(&self) -> bool {
        Task::forgotten_when_dead(self)
    }
}

/// The boxed task types a tick scheduler can hold: `dyn Task` (the
/// `Send` scheduler) and `dyn LocalTask` (the local one). Tasks spawned
/// from other threads are `Send` and must become the scheduler's kind.
pub(crate) trait TaskBox: LocalTask {
    /// A `Send` task as this kind.
    fn from_send(task: Box<dyn Task>) -> Box<Self>;
}

impl TaskBox for dyn Task {
    fn from_send(task: Box<dyn Task>) -> Box<dyn Task> {
        task
    }
}

impl TaskBox for dyn LocalTask {
    fn from_send(task: Box<dyn Task>) -> Box<dyn LocalTask> {
        Box::new(SendTask(task))
    }
}

/// A boxed `Send` task seen as a task (and so as a [`LocalTask`]).
struct SendTask(Box<dyn Task>);

impl Task for SendTask {
    fn run(&mut self, budget: u64) -> Slice {
        Task::run(&mut *self.0, budget)
    }

    fn receive(&mut self, msg: Message) {
        Task::receive(&mut *self.0, msg);
    }

    fn job_done(&mut self, output: Message) {
        Task::job_done(&mut *self.0, output);
    }

    fn name(&self) -> &str {
        Task::name(&*self.0)
    }

    fn accepts_exceptions(&self) -> bool {
        Task::accepts_exceptions(&*self.0)
    }

    fn kill(&mut self) {
        Task::kill(&mut *self.0);
    }

    fn inserted(&mut self, id: TaskId, handle: &crate::Handle) {
        Task::inserted(&mut *self.0, id, handle);
    }
}
