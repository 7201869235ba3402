//! The tick scheduler (after maitake), its wakers, injector and stealer,
//! its local variant and the task builder. The overview and the run loop
//! are in [`TickScheduler`]'s docs (public; this module is not).

mod builder;
mod engine;
mod local;
mod remote;

use std::sync::Arc;
use std::time::Duration;

use self::engine::{Core, ReadyMap};
use crate::clock::Clock;
use crate::pool::BlockingPool;
use crate::scheduler::{Execution, Policy, Scheduler, StatusCallback};
use crate::task::{Message, Task, TaskId, TaskStats, TaskStatus};

pub use self::builder::TaskBuilder;
pub use self::local::LocalTask;
pub use self::remote::{Injector, TickWaker};

/// Tasks a tick polls at most, by default.
pub const DEFAULT_TICK_SIZE: usize = 256;

/// What one [`TickScheduler::tick`] did. The wake and spawn counts cover
/// everything since the previous tick (whichever call ran it: `tick`
/// or [`Scheduler::execute`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Slices run (at most the tick size).
    pub polled: usize,
    /// Tasks that ended in this tick (finished, failed, or killed when
    /// their slice ended).
    pub completed: usize,
    /// Tasks added: inserted, built, or injected from other threads (not
    /// stolen ones).
    pub spawned: usize,
    /// Blocked tasks woken by a [`TickWaker`].
    pub woken_external: usize,
    /// Blocked tasks woken by the scheduler: a message, a timer, an
    /// offloaded job's output.
    pub woken_internal: usize,
    /// Whether runnable tasks (or wake-ups, spawns, job outputs not taken
    /// yet) remain: tick again before parking.
    pub has_remaining: bool,
}

/// The tick scheduler (after maitake): the caller drives it, one
/// [`TickScheduler::tick`] at a time, and each tick polls at most
/// [`DEFAULT_TICK_SIZE`] runnable tasks, one slice each, and reports what
/// happened in a [`Tick`].
///
/// Around it:
/// - [`TickWaker`]: a `Send` handle that wakes a blocked task from any
///   thread (I/O done, another thread's work ready);
/// - timers: tasks that sleep ([`Block::Sleep`](crate::Block::Sleep), or
///   receive with a timeout) wake when [`TickScheduler::advance_timers`]
///   finds their deadline passed on the scheduler's [`Clock`];
/// - offloaded jobs run on a [`BlockingPool`] and wake their task;
/// - [`Injector`]: spawns tasks from other threads, taken at the next
///   tick;
/// - [`Stealer`]: lets another tick scheduler (on another thread) take
///   half of this one's runnable tasks ([`TickScheduler::steal_from`]);
/// - [`LocalTickScheduler`]: the same for tasks that are not `Send`
///   ([`LocalTask`]);
/// - [`TaskBuilder`]: name, priority and budget before spawning.
///
/// A poll runs one slice of the task's own budget: the builder's
/// budget, else the priority as in round-robin, else
/// [`DEFAULT_SLICE`](crate::DEFAULT_SLICE). The [`Scheduler`] trait's
/// [`execute`](Scheduler::execute) runs ticks (and timers) until its
/// budget is used or nothing can run.
///
/// The run loop: tick, advance the timers, let I/O wake-ups in (they come
/// through wakers from other threads, and the next tick takes them), and
/// park when nothing remains.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use vm_sched::{
///     Block, Clock, ManualClock, Message, Poll, Scheduler, Slice, Task, TickScheduler,
/// };
///
/// /// Sleeps `naps` times, then finishes.
/// struct Sleeper { naps: u32 }
///
/// impl Task for Sleeper {
///     fn run(&mut self, _budget: u64) -> Slice {
///         if self.naps == 0 {
///             return Slice { used: 1, poll: Poll::Finished };
///         }
///         self.naps -= 1;
///         Slice { used: 1, poll: Poll::Blocked(Block::Sleep(Duration::from_millis(10))) }
///     }
///     fn receive(&mut self, _msg: Message) {}
/// }
///
/// /// Waits for "I/O" another thread completes, then finishes.
/// struct Reader { input: Arc<Mutex<Option<u32>>>, got: Arc<Mutex<Option<u32>>> }
///
/// impl Task for Reader {
///     fn run(&mut self, _budget: u64) -> Slice {
///         match self.input.lock().unwrap().take() {
///             Some(v) => {
///                 *self.got.lock().unwrap() = Some(v);
///                 Slice { used: 1, poll: Poll::Finished }
///             }
///             // Not ready: block until a waker wakes us.
///             None => Slice { used: 1, poll: Poll::Blocked(Block::Receive(None)) },
///         }
///     }
///     fn receive(&mut self, _msg: Message) {}
/// }
///
/// let clock = ManualClock::new();
/// let mut sched = TickScheduler::new().with_clock(clock.clone());
/// sched.insert(Box::new(Sleeper { naps: 3 }), 0);
/// let input = Arc::new(Mutex::new(None));
/// let got = Arc::new(Mutex::new(None));
/// let reader = sched.insert(Box::new(Reader { input: input.clone(), got: got.clone() }), 0);
///
/// // An "I/O driver" on another thread: completes the read, then wakes.
/// let waker = sched.waker(reader).unwrap();
/// let io = std::thread::spawn(move || {
///     *input.lock().unwrap() = Some(42);
///     waker.wake();
/// });
///
/// let mut ticks = 0;
/// loop {
///     // 1. Poll the woken tasks (at most DEFAULT_TICK_SIZE); this also
///     //    takes the wake-ups other threads sent (the I/O above).
///     let tick = sched.tick();
///     ticks += 1;
///     // 2. Wake the sleepers whose time has come.
///     let fired = sched.advance_timers();
///     if tick.has_remaining || fired > 0 {
///         continue;
///     }
///     // 3. Done when no task is left, or none can ever be woken (each
///     //    waits for what nobody will send: parking would never end).
///     if sched.live() == 0 || !sched.wakeable() {
///         break;
///     }
///     // 4. Nothing to do: park until a waker, a job or the next timer
///     //    (a manual clock jumps to it).
///     sched.wait(None);
/// }
/// io.join().unwrap();
/// assert_eq!(*got.lock().unwrap(), Some(42));
/// assert_eq!(clock.now(), Duration::from_millis(30));
/// assert!(ticks >= 4);
/// ```
pub struct TickScheduler {
    core: Core<dyn Task>,
}

/// Takes runnable tasks from a [`TickScheduler`], from any thread, for
/// another one ([`TickScheduler::steal_from`]). Clones share the
/// scheduler.
#[derive(Clone)]
pub struct Stealer {
    ready: ReadyMap<dyn Task>,
}

impl Stealer {
    /// Runnable tasks a steal could take from now (the scheduler's
    /// runnable tasks between slices).
    pub fn ready(&self) -> usize {
        self.ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

impl std::fmt::Debug for Stealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stealer(..)")
    }
}

impl Default for TickScheduler {
    fn default() -> Self {
        TickScheduler::new()
    }
}

impl TickScheduler {
    /// A scheduler with the FIFO policy, the system clock, its own
    /// blocking pool, and [`DEFAULT_TICK_SIZE`].
    pub fn new() -> TickScheduler {
        TickScheduler { core: Core::new() }
    }

    /// Uses `clock` for timers (a [`ManualClock`](crate::ManualClock)
    /// makes sleeping tasks deterministic).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> TickScheduler {
        self.core.set_clock(Box::new(clock));
        self
    }

    /// Runs offloaded jobs on `pool` (shared with other schedulers).
    pub fn with_pool(mut self, pool: BlockingPool) -> TickScheduler {
        self.core.set_pool(pool);
        self
    }

    /// Sets the default slice and the longest one a priority may ask for
    /// (as [`RoundRobin::with_slices`](crate::RoundRobin::with_slices)).
    pub fn with_slices(mut self, default: u64, max: u64) -> TickScheduler {
        self.core.set_slices(default, max);
        self
    }

    /// Polls at most `n` (at least 1) tasks per tick.
    pub fn with_tick_size(mut self, n: usize) -> TickScheduler {
        self.core.set_tick_size(n);
        self
    }

    /// Takes what other threads sent (spawns, wake-ups, job outputs),
    /// then polls runnable tasks, one slice each, at most the tick size
    /// of them; a task still runnable after its slice may be polled
    /// again in the same tick. Timers are not advanced here
    /// ([`advance_timers`](Self::advance_timers)).
    pub fn tick(&mut self) -> Tick {
        self.core.tick(u64::MAX).0
    }

    /// Wakes the tasks whose timer has expired on the clock; returns how
    /// many (counted as internal wake-ups in the next tick).
    pub fn advance_timers(&mut self) -> usize {
        self.core.fire_timers()
    }

    /// Whether a task is runnable (a wake-up from another thread
    /// included) or can still be woken: a job it waits for is in flight,
    /// a timer is set, or someone holds a waker or an [`Injector`]. When
    /// it says no, the live tasks wait for ever: a run loop stops.
    pub fn wakeable(&mut self) -> bool {
        self.core.wakeable()
    }

    /// A waker for a live task, to hand to whatever will wake it.
    pub fn waker(&self, id: TaskId) -> Option<TickWaker> {
        self.core.home(id).map(TickWaker::new)
    }

    /// A handle to spawn tasks from other threads.
    pub fn injector(&self) -> Injector {
        Injector {
            remote: Arc::clone(&self.core.remote),
            _held: Arc::clone(&self.core.held),
        }
    }

    /// A handle for other tick schedulers to steal from this one.
    pub fn stealer(&self) -> Stealer {
        Stealer {
            ready: Arc::clone(self.core.ready_map()),
        }
    }

    /// Takes up to half (rounded up) of the runnable tasks waiting in
    /// `victim`'s scheduler (the most recently added first) and makes
    /// them runnable here, with new ids; returns how many.
    ///
    /// A stolen task leaves its scheduler as if removed (its old id
    /// names nothing there; messages to it come back) and keeps its
    /// state, messages not handed over yet, counters, status and
    /// wakers. A task that runs, is blocked or is dead is never stolen.
    /// This scheduler's status callback hears of each arrival (new id,
    /// current status); the victim's hears nothing.
    ///
    /// ```
    /// use vm_sched::{Message, Scheduler, Slice, Task, TickScheduler};
    ///
    /// struct Spin;
    /// impl Task for Spin {
    ///     fn run(&mut self, budget: u64) -> Slice { Slice::ready(budget) }
    ///     fn receive(&mut self, _msg: Message) {}
    /// }
    ///
    /// let mut busy = TickScheduler::new();
    /// for _ in 0..4 {
    ///     busy.insert(Box::new(Spin), 0);
    /// }
    /// let mut idle = TickScheduler::new();
    /// assert_eq!(idle.steal_from(&busy.stealer()), 2);
    /// assert_eq!((busy.live(), idle.live()), (2, 2));
    /// ```
    pub fn steal_from(&mut self, victim: &Stealer) -> usize {
        self.core.steal(&victim.ready)
    }
}

impl Scheduler for TickScheduler {
    fn handle(&self) -> crate::Handle {
        crate::Handle::external(
            Arc::clone(&self.core.remote) as Arc<dyn crate::handle::Remote>,
            &self.core.held,
        )
    }

    fn insert(&mut self, task: Box<dyn Task>, priority: u32) -> TaskId {
        let options = remote::Options {
            priority,
            ..remote::Options::default()
        };
        self.core.spawn(task, &options)
    }

    fn remove(&mut self, id: TaskId) -> Option<Box<dyn Task>> {
        self.core.remove(id)
    }

    fn kill(&mut self, id: TaskId) -> bool {
        self.core.kill(id)
    }

    fn deliver(&mut self, id: TaskId, msg: Message) -> Result<(), Message> {
        self.core.deliver(id, msg)
    }

    fn execute(&mut self, budget: u64) -> Execution {
        self.core.execute(budget)
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        self.core.wait(timeout);
    }

    fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.core.status(id)
    }

    fn stats(&self, id: TaskId) -> Option<TaskStats> {
        self.core.stats(id)
    }

    fn name(&self, id: TaskId) -> Option<String> {
        self.core.name(id)
    }

    fn dead(&self) -> Vec<TaskId> {
        self.core.dead()
    }

    fn release(&mut self, id: TaskId) -> Option<TaskStatus> {
        self.core.release(id)
    }

    fn on_status(&mut self, callback: StatusCallback) {
        self.core.on_status(callback);
    }

    fn set_policy(&mut self, policy: Box<dyn Policy>) {
        self.core.set_policy(policy);
    }

    fn live(&self) -> usize {
        self.core.live()
    }
}

/// The tick scheduler for tasks that are not `Send` ([`LocalTask`]): it
/// stays on the thread that made it. Its wakers and injector still work
/// from any thread (injected tasks are `Send` ones). It has no stealer:
/// its tasks cannot move. The methods mean what [`TickScheduler`]'s and
/// [`Scheduler`]'s do.
pub struct LocalTickScheduler {
    core: Core<dyn LocalTask>,
}

impl Default for LocalTickScheduler {
    fn default() -> Self {
        LocalTickScheduler::new()
    }
}

impl LocalTickScheduler {
    /// A scheduler with the FIFO policy, the system clock, its own
    /// blocking pool, and [`DEFAULT_TICK_SIZE`].
    pub fn new() -> LocalTickScheduler {
        LocalTickScheduler { core: Core::new() }
    }

    /// Uses `clock` for timers.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> LocalTickScheduler {
        self.core.set_clock(Box::new(clock));
        self
    }

    /// Runs offloaded jobs on `pool`.
    pub fn with_pool(mut self, pool: BlockingPool) -> LocalTickScheduler {
        self.core.set_pool(pool);
        self
    }

    /// Sets the default slice and the longest one a priority may ask for.
    pub fn with_slices(mut self, default: u64, max: u64) -> LocalTickScheduler {
        self.core.set_slices(default, max);
        self
    }

    /// Polls at most `n` (at least 1) tasks per tick.
    pub fn with_tick_size(mut self, n: usize) -> LocalTickScheduler {
        self.core.set_tick_size(n);
        self
    }

    /// Spawns `task` with `priority` ([`Scheduler::insert`]).
    pub fn spawn(&mut self, task: impl LocalTask + 'static, priority: u32) -> TaskId {
        self.insert(Box::new(task), priority)
    }

    /// Inserts a boxed task with `priority` ([`Scheduler::insert`]).
    pub fn insert(&mut self, task: Box<dyn LocalTask>, priority: u32) -> TaskId {
        let options = remote::Options {
            priority,
            ..remote::Options::default()
        };
        self.core.spawn(task, &options)
    }

    /// One tick ([`TickScheduler::tick`]).
    pub fn tick(&mut self) -> Tick {
        self.core.tick(u64::MAX).0
    }

    /// Wakes the tasks whose timer has expired
    /// ([`TickScheduler::advance_timers`]).
    pub fn advance_timers(&mut self) -> usize {
        self.core.fire_timers()
    }

    /// Whether a blocked task can still be woken
    /// ([`TickScheduler::wakeable`]).
    pub fn wakeable(&mut self) -> bool {
        self.core.wakeable()
    }

    /// A waker for a live task.
    pub fn waker(&self, id: TaskId) -> Option<TickWaker> {
        self.core.home(id).map(TickWaker::new)
    }

    /// A handle to spawn `Send` tasks from other threads.
    pub fn injector(&self) -> Injector {
        Injector {
            remote: Arc::clone(&self.core.remote),
            _held: Arc::clone(&self.core.held),
        }
    }

    /// Removes a live task with its state intact ([`Scheduler::remove`]).
    pub fn remove(&mut self, id: TaskId) -> Option<Box<dyn LocalTask>> {
        self.core.remove(id)
    }

    /// Ends a live task ([`Scheduler::kill`]).
    pub fn kill(&mut self, id: TaskId) -> bool {
        self.core.kill(id)
    }

    /// Delivers a message ([`Scheduler::deliver`]).
    ///
    /// # Errors
    /// The message back, when `id` names no live task.
    pub fn deliver(&mut self, id: TaskId, msg: Message) -> Result<(), Message> {
        self.core.deliver(id, msg)
    }

    /// Runs ticks for about `budget` units ([`Scheduler::execute`]).
    pub fn execute(&mut self, budget: u64) -> Execution {
        self.core.execute(budget)
    }

    /// Parks until a blocked task may run ([`Scheduler::wait`]).
    pub fn wait(&mut self, timeout: Option<Duration>) {
        self.core.wait(timeout);
    }

    /// A task's status ([`Scheduler::status`]).
    pub fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.core.status(id)
    }

    /// A task's counters ([`Scheduler::stats`]).
    pub fn stats(&self, id: TaskId) -> Option<TaskStats> {
        self.core.stats(id)
    }

    /// A task's name ([`Scheduler::name`]).
    pub fn name(&self, id: TaskId) -> Option<String> {
        self.core.name(id)
    }

    /// The dead list ([`Scheduler::dead`]).
    pub fn dead(&self) -> Vec<TaskId> {
        self.core.dead()
    }

    /// Drops a dead task ([`Scheduler::release`]).
    pub fn release(&mut self, id: TaskId) -> Option<TaskStatus> {
        self.core.release(id)
    }

    /// Calls `callback` at every status change ([`Scheduler::on_status`]).
    pub fn on_status(&mut self, callback: StatusCallback) {
        self.core.on_status(callback);
    }

    /// Replaces the run-queue policy ([`Scheduler::set_policy`]).
    pub fn set_policy(&mut self, policy: Box<dyn Policy>) {
        self.core.set_policy(policy);
    }

    /// Live tasks ([`Scheduler::live`]).
    pub fn live(&self) -> usize {
        self.core.live()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn handles_are_send() {
        assert_send::<TickScheduler>();
        assert_send::<TickWaker>();
        assert_send::<Injector>();
        assert_send::<Stealer>();
        fn assert_sync<T: Sync>() {}
        assert_sync::<TickWaker>();
        assert_sync::<Injector>();
    }
}
