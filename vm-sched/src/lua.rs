//! Lua programs as tasks (the `vm` feature): a [`LuaTask`] runs a whole
//! VM, a script or a function, under [`Vm::start`] and [`Vm::resume`]
//! with each slice as the budget.
//!
//! The program runs through vm-stdlib's `docall`, so an uncaught error
//! makes the task fail with the message and the traceback taken where it
//! was raised. A native that offloads a job blocks the task: the job runs
//! on the scheduler's blocking pool and its result is handed back
//! ([`Vm::complete_offload`]) before the task's next slice.

use std::collections::VecDeque;

use std::sync::Arc;

use vm_core::{Function, JobResult, LuaError, Outcome, Packet, RootId, Value, Vm};

use crate::agent::{Ctx, World};

use crate::task::{Block, Job, Message, Poll, Slice, Task, TaskError};

/// A Lua program run as a task: its own VM, its main thread driven one
/// slice at a time under [`Vm::start`] and [`Vm::resume`], each slice the
/// budget.
///
/// The program runs through vm-stdlib's `docall`, so an uncaught error
/// makes the task fail with the message and the traceback taken where it
/// was raised. A native that offloads a job blocks the task: the job runs
/// on the scheduler's blocking pool and its result is handed back
/// ([`Vm::complete_offload`]) before the task's next slice.
///
/// ```
/// use vm_sched::{End, LuaTask, RoundRobin, Scheduler, TaskStatus};
///
/// let mut rr = RoundRobin::new();
/// let ok = LuaTask::from_source("sum", b"local s = 0 for i = 1, 1000 do s = s + i end").unwrap();
/// let bad = LuaTask::from_source("bad", b"local t = nil\nreturn t.x").unwrap();
/// let (ok, bad) = (rr.insert(Box::new(ok), 100), rr.insert(Box::new(bad), 100));
/// rr.run(1_000);
/// assert_eq!(rr.status(ok), Some(TaskStatus::Dead(End::Finished)));
/// assert!(rr.stats(ok).unwrap().slices > 10);
/// let Some(TaskStatus::Dead(End::Failed(e))) = rr.status(bad) else { panic!() };
/// assert_eq!(e.message, "bad:2: attempt to index a nil value (local 't')");
/// assert!(e.traceback.unwrap().starts_with("stack traceback:"));
/// ```
pub struct LuaTask {
    /// `None` only while an agent is unborn (`State::Unborn`).
    vm: Option<Box<Vm>>,
    name: Arc<str>,
    state: State,
    /// Messages delivered to it, in order (an agent's go to its
    /// mailbox instead, where `agent.receive` takes them): made for the
    /// first.
    inbox: crate::task::Pending,
    /// Set for an agent ([`Agents`](crate::Agents)).
    agent: Option<Arc<Ctx>>,
    /// Spawned by another agent (`set_agent`).
    spawned: bool,
}

/// The name every agent spawned by another has, shared.
pub(crate) fn agent_name() -> Arc<str> {
    static NAME: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    Arc::clone(NAME.get_or_init(|| Arc::from("agent")))
}

pub(crate) enum State {
    /// An agent spawned with a function, its VM not made yet: the
    /// function and its arguments as they were sent. It is born (`birth`)
    /// at its first slice, so that a million agents spawned before any
    /// runs hold a message each, not a VM each. Boxed: a packet is
    /// twice the size of the task's other states, which a born agent
    /// would carry for ever.
    Unborn(Box<(Packet, Arc<World>)>),
    /// Not started: the call, kept in one table's array part (`docall`,
    /// the function it calls, then the `len - 2` arguments, nils kept).
    Ready { call: RootId, len: u32 },
    /// Suspended between slices (out of fuel or waiting for a job).
    Running,
    /// A job's result could not be handed over: the next slice fails.
    Broken(Box<TaskError>),
    /// Finished or failed.
    Over,
}

/// The budget of the `__close` handlers a killed program runs.
const KILL_BUDGET: u64 = 100_000;

impl LuaTask {
    /// A task running `source` in a new VM with the standard library;
    /// `name` names the chunk (`=name`) and the task.
    ///
    /// # Errors
    /// A syntax error in `source`.
    pub fn from_source(name: &str, source: &[u8]) -> Result<LuaTask, TaskError> {
        let mut vm = Vm::new();
        let fail = |vm: &mut Vm, e: LuaError| TaskError::new(vm.error_to_string(&e));
        if let Err(e) = vm_stdlib::open_all_lazily(&mut vm) {
            return Err(fail(&mut vm, e));
        }
        let f = match vm.load(source, &format!("={name}")) {
            Ok(f) => f,
            Err(e) => return Err(fail(&mut vm, e)),
        };
        match vm.from_value::<Function>(f) {
            Ok(f) => LuaTask::new(vm, f, name),
            Err(e) => Err(fail(&mut vm, e)),
        }
    }

    /// A task calling `f`, a function of `vm`, on its main thread.
    ///
    /// # Errors
    /// When `f` belongs to another VM.
    pub fn new(vm: Box<Vm>, f: Function, name: &str) -> Result<LuaTask, TaskError> {
        LuaTask::with_args(vm, f, &[], name)
    }

    /// A task calling `f(args...)`, a function and values of `vm`.
    ///
    /// # Errors
    /// When `f` or a value belongs to another VM.
    pub fn with_args(
        mut vm: Box<Vm>,
        f: Function,
        args: &[Value],
        name: &str,
    ) -> Result<LuaTask, TaskError> {
        let err = |e: LuaError| TaskError::new(e.to_string());
        // Checks that `f` is this VM's.
        let f = vm.to_value(&f).map_err(err)?;
        LuaTask::calling(vm, f, args, Arc::from(name))
    }

    /// `with_args` of a function value (an agent's, made by this crate).
    pub(crate) fn calling(
        mut vm: Box<Vm>,
        f: Value,
        args: &[Value],
        name: Arc<str>,
    ) -> Result<LuaTask, TaskError> {
        let state = LuaTask::prepare(&mut vm, f, args)?;
        Ok(LuaTask {
            vm: Some(vm),
            name,
            state,
            inbox: crate::task::Pending::default(),
            agent: None,
            spawned: false,
        })
    }

    /// An agent spawned with a function (`packet`: the function, then its
    /// arguments), born at its first slice.
    pub(crate) fn unborn(packet: Packet, ctx: Arc<Ctx>) -> LuaTask {
        LuaTask {
            vm: None,
            name: agent_name(),
            state: State::Unborn(Box::new((packet, ctx.world()))),
            inbox: crate::task::Pending::default(),
            agent: Some(ctx),
            spawned: true,
        }
    }

    /// The call `f(args...)` kept in `vm` until it starts.
    fn prepare(vm: &mut Vm, f: Value, args: &[Value]) -> Result<State, TaskError> {
        let err = |e: LuaError| TaskError::new(e.to_string());
        let docall = LuaTask::caller(vm, f)?;
        let len = u32::try_from(args.len() + 2)
            .map_err(|_| TaskError::new("too many arguments for a task"))?;
        let t = vm.new_table_with_capacity(len as usize, 0).map_err(err)?;
        for (i, &v) in [docall, f].iter().chain(args).enumerate() {
            vm.raw_set(t, Value::Int(i as i64 + 1), v).map_err(err)?;
        }
        // Rooted rather than held by an owned handle, whose cells a VM
        // keeps after they are released: an agent pays for one slot.
        let call = vm.root(Value::Table(t)).map_err(err)?;
        Ok(State::Ready { call, len })
    }

    /// The native that calls a task's function `f` (`docall`: errors get
    /// their traceback), once `f` is known to be one.
    fn caller(vm: &mut Vm, f: Value) -> Result<Value, TaskError> {
        if !matches!(f, Value::LuaFn(_) | Value::Native(_)) {
            return Err(TaskError::new(format!(
                "a task calls a function, not a {}",
                f.type_name()
            )));
        }
        vm_stdlib::docall::docall(vm).map_err(|e| TaskError::new(e.to_string()))
    }

    /// Gives an unborn agent its VM, made as its spawner made it
    /// (profile, limits), wherever it moved meanwhile, with the packet's
    /// values unpacked there (its function, then that function's
    /// arguments) and the native that calls it. Nothing can collect the
    /// values before the first slice uses them, which spares an agent
    /// born there the rooted table `prepare` keeps.
    fn birth(
        &mut self,
        (packet, world): (Packet, Arc<World>),
    ) -> Result<(&mut Vm, Value, Vec<Value>), TaskError> {
        let (vm, values) = match &self.agent {
            Some(ctx) => world.birth(ctx, &packet),
            None => (
                Vm::new(),
                Err(TaskError::new("an agent without its context")),
            ),
        };
        let vm = self.vm.insert(vm);
        let values = values?;
        let Some(&f) = values.first() else {
            return Err(TaskError::new("an agent needs a function"));
        };
        let docall = LuaTask::caller(vm, f)?;
        Ok((vm, docall, values))
    }

    /// A slice of a task not running yet: its first (the call starts),
    /// or, for one already over, the slice that says so (`Err`).
    fn start(&mut self, budget: u64) -> Result<Result<Outcome, LuaError>, Slice> {
        let ended = |poll| Err(Slice { used: 0, poll });
        match std::mem::replace(&mut self.state, State::Running) {
            State::Ready { call, len } => {
                let vm = self.vm();
                let t = vm.rooted(call);
                vm.unroot(call);
                let all: Vec<Value> = match t {
                    Value::Table(t) => (1..=i64::from(len))
                        .map(|i| vm.raw_get(t, Value::Int(i)))
                        .collect(),
                    _ => Vec::new(),
                };
                let Some((&f, args)) = all.split_first() else {
                    return ended(Poll::Failed(TaskError::new("the task's call was lost")));
                };
                Ok(vm.start(f, args, budget))
            }
            State::Unborn(unborn) => match self.birth(*unborn) {
                // (The state is `Running` already.)
                Ok((vm, docall, values)) => Ok(vm.start(docall, &values, budget)),
                Err(e) => {
                    self.state = State::Over;
                    ended(Poll::Failed(e))
                }
            },
            State::Running => {
                let vm = self.vm();
                Ok(vm.resume(vm.main_thread(), &[], budget))
            }
            State::Broken(e) => {
                self.state = State::Over;
                ended(Poll::Failed(*e))
            }
            State::Over => {
                self.state = State::Over;
                ended(Poll::Finished)
            }
        }
    }

    /// Makes the task the agent `ctx` describes; one `spawned` by
    /// another is forgotten by its scheduler when it dies (its agents keep
    /// how it ended).
    pub(crate) fn set_agent(&mut self, ctx: Arc<Ctx>, spawned: bool) {
        self.agent = Some(ctx);
        self.spawned = spawned;
    }

    /// The task's VM: to set it up before inserting the task, or to read
    /// its globals after [`Scheduler::remove`](crate::Scheduler::remove)
    /// gave the task back (a scheduler owns the tasks it runs).
    pub fn vm(&mut self) -> &mut Vm {
        // Only an unborn agent has no VM, and only its first slice
        // (`start`) reaches it: an agent spawned by another is its
        // scheduler's alone. (A bare VM here would be replaced by the
        // birth, and nothing would be lost.)
        self.vm.get_or_insert_with(Vm::new)
    }

    /// Messages delivered to the task, oldest first.
    pub fn messages(&mut self) -> &mut VecDeque<Message> {
        self.inbox.queue()
    }

    /// A failure: `docall`'s message with its traceback split off.
    fn failure(&mut self, e: &LuaError) -> TaskError {
        let text = self.vm().error_to_string(e);
        match text.split_once("\nstack traceback:") {
            Some((msg, tb)) => TaskError {
                message: msg.to_string(),
                traceback: Some(format!("stack traceback:{tb}")),
            },
            None => TaskError::new(text),
        }
    }
}

impl Task for LuaTask {
    fn run(&mut self, budget: u64) -> Slice {
        if let Some(ctx) = &self.agent {
            if ctx.overflow.load(std::sync::atomic::Ordering::Relaxed) {
                Task::kill(self);
                return Slice {
                    used: 0,
                    poll: Poll::Failed(TaskError::new(
                        "not enough memory (a message did not fit in the mailbox)",
                    )),
                };
            }
        }
        let out = match self.state {
            // Every slice but the first (and no move of the state).
            State::Running => {
                let vm = self.vm();
                vm.resume(vm.main_thread(), &[], budget)
            }
            _ => match self.start(budget) {
                Ok(out) => out,
                Err(ended) => return ended,
            },
        };
        let used = self.vm().fuel_used();
        let poll = match out {
            Ok(Outcome::OutOfFuel | Outcome::Yield(_)) => Poll::Ready,
            // A native waits for a message (`Vm::waitk`): the next one
            // delivered wakes the task.
            Ok(Outcome::Wait) => Poll::Blocked(Block::Receive(
                self.agent.as_ref().and_then(|ctx| ctx.wait_timeout()),
            )),
            Ok(Outcome::Offload(job)) => {
                let job = Job::new(move || Box::new(job.run()) as Message);
                Poll::Blocked(Block::Offload(job))
            }
            Ok(Outcome::Return(_)) => {
                self.state = State::Over;
                Poll::Finished
            }
            Err(e) => {
                self.state = State::Over;
                Poll::Failed(self.failure(&e))
            }
        };
        Slice { used, poll }
    }

    fn receive(&mut self, msg: Message) {
        match &self.agent {
            Some(ctx) => {
                let limit = match (&self.vm, &self.state) {
                    (Some(vm), _) => vm.memory_limit(),
                    (None, State::Unborn(unborn)) => unborn.1.memory_limit(),
                    (None, _) => ctx.world().memory_limit(),
                };
                ctx.receive(msg, limit);
            }
            None => self.messages().push_back(msg),
        }
    }

    fn inserted(&mut self, id: crate::TaskId, handle: &crate::Handle) {
        if let Some(ctx) = &self.agent {
            if !ctx.inserted(id, handle) {
                // Moved away from the agents that spawned it: its new
                // scheduler keeps its end, as any task's.
                self.spawned = false;
            }
        }
    }

    fn job_done(&mut self, output: Message) {
        let result: JobResult = match output.downcast::<JobResult>() {
            Ok(r) => *r,
            Err(other) => match other.downcast::<TaskError>() {
                Ok(e) => Err(e.message),
                Err(_) => Err("the job's output is not a job result".to_string()),
            },
        };
        let vm = self.vm();
        let main = vm.main_thread();
        if let Err(e) = vm.complete_offload(main, result) {
            self.state = State::Broken(Box::new(TaskError::new(e.to_string())));
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn forgotten_when_dead(&self) -> bool {
        self.spawned
    }

    fn kill(&mut self) {
        if let Some(ctx) = &self.agent {
            ctx.killed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if matches!(self.state, State::Running) {
            // Runs the program's pending `__close` handlers, bounded.
            let vm = self.vm();
            let main = vm.main_thread();
            let _ = vm.cancel(main, KILL_BUDGET);
        }
        self.state = State::Over;
    }
}
