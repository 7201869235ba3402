//! vm-sched: run many programs (or any budgeted work) fairly, on one core
//! or many.
//!
//! The core knows nothing of Lua:
//! - a [`Task`] runs for a budget of units and reports what it used and
//!   what it can do next ([`Slice`], [`Poll`]): go on, wait ([`Block`]:
//!   for a message, a timer, a job offloaded to the [`BlockingPool`]),
//!   finish or fail; it receives [`Message`]s between slices;
//! - a [`Scheduler`] (object-safe: `Box<dyn Scheduler>`) inserts tasks
//!   with a priority, removes them with their state intact (to continue
//!   under another scheduler), kills them, delivers messages, executes
//!   for a budget, reports statuses ([`TaskStatus`]) and counters
//!   ([`TaskStats`]) and calls back on status changes; its run-queue
//!   [`Policy`] is replaceable ([`Fifo`], [`Weighted`]);
//! - [`RoundRobin`]: one thread, every task in turn for its slice (the
//!   priority), in a fixed order;
//! - [`TickScheduler`] (after maitake): the caller drives it one
//!   [`Tick`] at a time, with `Send` wakers, timers, an injector, and
//!   stealing between tick schedulers; its docs show the run loop;
//! - [`WorkStealing`]: N worker threads with a deque each, a global
//!   injector and stealing between them; tasks move between workers
//!   between slices, and idle workers park.
//!
//! Timers run on a [`Clock`]: the system's, or a [`ManualClock`] for
//! deterministic runs.
//!
//! A [`Handle`] ([`Scheduler::handle`]) spawns, messages and kills tasks
//! from any thread, and from inside a task's slice.
//!
//! With the `vm` feature, [`LuaTask`] runs a Lua program (its own VM) as
//! a task, one slice of instructions at a time, and [`Agents`] makes such
//! programs agents: isolated VMs with mailboxes and the Lua `agent`
//! library (spawn, send, receive, self, status, kill, monitor), messages
//! being deep copies ([`vm_core::Packet`]). An agent's VM opens the
//! standard library and `agent` lazily (each made on first use,
//! [`open_agent_lazily`]), so an idle agent costs a few kilobytes. From
//! Rust:
//!
//! ```
//! # #[cfg(feature = "vm")] {
//! use vm_sched::{AgentConfig, Agents, End, Scheduler, TaskStatus, WorkStealing};
//!
//! let mut ws = WorkStealing::new(2);
//! let agents = Agents::install(&mut ws, AgentConfig::default(), None);
//! let sum = agents
//!     .from_source(
//!         "sum",
//!         b"local me = agent.self()
//!           for i = 1, 10 do
//!             agent.spawn(function(to, k) agent.send(to, k * k) end, me, i)
//!           end
//!           local total = 0
//!           for _ = 1, 10 do total = total + agent.receive() end
//!           assert(total == 385)",
//!     )
//!     .unwrap();
//! let id = ws.insert(Box::new(sum), 0);
//! ws.run(100_000);
//! assert_eq!(ws.status(id), Some(TaskStatus::Dead(End::Finished)));
//! # }
//! ```

#[cfg(feature = "vm")]
mod agent;
mod clock;
mod handle;
mod inbox;
#[cfg(feature = "vm")]
mod lua;
mod mailroom;
mod policy;
mod pool;
mod round_robin;
mod scheduler;
mod task;
mod tick;
mod timers;
mod wait;
mod work_stealing;

#[cfg(feature = "vm")]
pub use agent::{open_agent, open_agent_lazily, AgentConfig, Agents};
pub use clock::{Clock, ManualClock, SystemClock};
pub use handle::Handle;
#[cfg(feature = "vm")]
pub use lua::LuaTask;
pub use policy::{Fifo, Weighted};
pub use pool::{BlockingPool, DEFAULT_CAP};
pub use round_robin::{RoundRobin, DEFAULT_SLICE, MAX_SLICE};
pub use scheduler::{Execution, Policy, Scheduler, StatusCallback};
pub use task::{
    Block, End, Job, Message, Poll, Slice, Task, TaskError, TaskId, TaskStats, TaskStatus,
};
pub use tick::{
    Injector, LocalTask, LocalTickScheduler, Stealer, TaskBuilder, Tick, TickScheduler, TickWaker,
    DEFAULT_TICK_SIZE,
};
pub use work_stealing::{
    WorkStealing, WorkerCounters, WorkerStats, INJECTOR_INTERVAL, MAX_WORKERS,
};
