//! Agents (the `vm` feature): Lua programs that share nothing but
//! messages, as Erlang's processes do. Each agent is a [`LuaTask`] with
//! its own VM (its own heap and globals) and a mailbox, on any
//! scheduler; the Lua `agent` library (`lib.rs`) spawns, messages,
//! watches and kills agents.
//!
//! Data flow: `agent.send` copies its values out of the sender's VM into
//! a [`Packet`] ([`Vm::pack`]) and delivers it through the scheduler's
//! [`Handle`]; the scheduler hands it to the receiver between slices
//! ([`Task::receive`](crate::Task::receive)), into its mailbox, waking it
//! if it waits in `agent.receive`, which rebuilds the values in the
//! receiver's VM ([`Vm::unpack`]). Waiting is [`Vm::waitk`]: the agent's
//! slice ends with [`Outcome::Wait`](vm_core::Outcome::Wait) and the task
//! reports [`Block::Receive`](crate::Block::Receive) with the timeout
//! given. Statuses and monitors are the [`Agents`]' own: its status
//! callback on the scheduler records each task's status and sends the
//! `"down"` notices.
//!
//! An agent spawned with a function is unborn until its first slice: it
//! holds the packet of its function and arguments, and gets its VM then
//! (`LuaTask::born`), so that agents spawned faster than they run (a
//! skynet tree) cost a message each, not a VM each. An argument that
//! cannot be unpacked then (past the memory limit) fails the agent, not
//! its spawner. A chunk of source is compiled at the spawn, so that its
//! syntax errors reach the spawner.
//!
//! An agent removed from its scheduler and inserted into another takes
//! that scheduler's id, handle and agents (their configuration for the
//! agents it spawns, their statuses); it leaves its first agents (it no
//! longer counts toward their limit, `agent.status` of its old id is nil
//! there), monitors set on it there do not follow it (they are told
//! `"down", id, "moved"`), and messages sent to its old id after the move
//! are dropped.

mod lib;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use hashbrown::HashMap;
use vm_core::{JobValue, Packet, Vm};

use crate::handle::Handle;
use crate::lua::LuaTask;
use crate::scheduler::{Scheduler, StatusCallback};
use crate::task::{End, LiveStatus as Live, TaskError, TaskId, TaskStatus};

pub use lib::{open_agent, open_agent_lazily};

/// What agents made by an [`Agents`] get.
#[derive(Clone, Debug, Default)]
pub struct AgentConfig {
    /// The sandbox profile (`vm_stdlib::open_sandboxed`) instead of the
    /// whole standard library.
    pub sandboxed: bool,
    /// Each agent's memory limit ([`Vm::set_memory_limit`]).
    pub memory_limit: Option<usize>,
    /// Each agent's instruction limit ([`Vm::set_instruction_limit`]).
    pub instruction_limit: Option<u64>,
    /// The most agents alive at once; `agent.spawn` past it is an error.
    /// `None`: as many as half the machine's memory holds at 8 KB each
    /// (an idle agent takes about 3.5 KB: room for a million on a machine
    /// of 16 GB).
    pub max_agents: Option<usize>,
}

/// The default [`AgentConfig::max_agents`], read from the machine once
/// in the process (every spawn asks).
fn default_max_agents() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(max_agents_for_memory)
}

fn max_agents_for_memory() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(8 << 30, |kb| kb.saturating_mul(1024));
    (total / 2 / (8 << 10)).max(1_000)
}

/// The agents of one scheduler: makes them, and keeps their statuses and
/// monitors (through the scheduler's status callback). Clones share it.
///
/// ```
/// use vm_sched::{AgentConfig, Agents, End, RoundRobin, Scheduler, TaskStatus};
///
/// let mut rr = RoundRobin::new();
/// let agents = Agents::install(&mut rr, AgentConfig::default(), None);
/// let main = agents
///     .from_source(
///         "main",
///         b"local child = agent.spawn(function(parent)
///               local n = agent.receive()
///               agent.send(parent, n * 2)
///           end, agent.self())
///           agent.send(child, 21)
///           result = agent.receive()",
///     )
///     .unwrap();
/// let id = rr.insert(Box::new(main), 0);
/// rr.run(10_000);
/// assert_eq!(rr.status(id), Some(TaskStatus::Dead(End::Finished)));
/// ```
#[derive(Clone)]
pub struct Agents {
    world: Arc<World>,
}

/// What all agents of a scheduler share.
pub(crate) struct World {
    config: AgentConfig,
    /// The scheduler's handle, for agents not inserted yet.
    handle: Handle,
    state: Mutex<WorldState>,
}

#[derive(Default)]
struct WorldState {
    /// Every live task's status, as the scheduler last reported it.
    statuses: LiveMap,
    /// How every dead task ended.
    ended: Ended,
    /// Per watched task, who watches it (`agent.monitor`).
    monitors: HashMap<TaskId, Vec<TaskId>>,
}

impl WorldState {
    /// Task `id`'s status, live or dead.
    fn status(&self, id: TaskId) -> Option<TaskStatus> {
        match self.statuses.get(id) {
            Some(s) => Some(s.status()),
            None => self.ended.get(id).map(TaskStatus::Dead),
        }
    }
}

/// Live tasks' statuses, a byte a task in blocks of 64 ids (as `Ended`):
/// a scheduler numbers its tasks in order, so a million live agents take
/// about a megabyte, where a map of ids took 36.
#[derive(Default)]
struct LiveMap {
    blocks: HashMap<u64, Box<LiveBlock>>,
    /// Ids with a status: the live agents `max_agents` counts.
    len: usize,
}

/// 64 ids' statuses (0: none; else a `Live` plus one) and how many of
/// them are there.
struct LiveBlock {
    bytes: [u8; 64],
    count: u8,
}

impl LiveMap {
    fn get(&self, id: TaskId) -> Option<Live> {
        let block = self.blocks.get(&(id.0 / 64))?;
        LiveMap::decode(block.bytes[(id.0 % 64) as usize])
    }

    /// A byte's status (0: none; else a `Live` plus one).
    fn decode(byte: u8) -> Option<Live> {
        match byte {
            1 => Some(Live::Virgin),
            2 => Some(Live::Running),
            3 => Some(Live::RunningWithoutExceptions),
            4 => Some(Live::Blocking),
            _ => None,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn contains(&self, id: TaskId) -> bool {
        self.get(id).is_some()
    }

    /// Sets `id`'s status; the one it had.
    fn insert(&mut self, id: TaskId, live: Live) -> Option<Live> {
        let block = self.blocks.entry(id.0 / 64).or_insert_with(|| {
            Box::new(LiveBlock {
                bytes: [0; 64],
                count: 0,
            })
        });
        let byte = &mut block.bytes[(id.0 % 64) as usize];
        let old = LiveMap::decode(*byte);
        *byte = live as u8 + 1;
        if old.is_none() {
            block.count += 1;
            self.len += 1;
        }
        old
    }

    /// Forgets `id`; the status it had.
    fn remove(&mut self, id: TaskId) -> Option<Live> {
        let key = id.0 / 64;
        let block = self.blocks.get_mut(&key)?;
        let byte = &mut block.bytes[(id.0 % 64) as usize];
        let old = LiveMap::decode(*byte)?;
        *byte = 0;
        block.count -= 1;
        self.len -= 1;
        if block.count == 0 {
            self.blocks.remove(&key);
        }
        Some(old)
    }
}

/// How dead tasks ended, two bits a task in blocks of 64 ids: a
/// scheduler numbers its tasks in order, so a million agents that came
/// and went take about a megabyte, where each kept its status before.
/// (A failure's message and traceback are not kept: a supervisor
/// restarting a failing worker for ever would keep them all.)
#[derive(Default)]
struct Ended(HashMap<u64, [u64; 2]>);

impl Ended {
    /// Bits (low, high) a task: finished (1, 0), failed (0, 1), killed
    /// (1, 1); none ended (0, 0).
    fn insert(&mut self, id: TaskId, end: &End) {
        let block = self.0.entry(id.0 / 64).or_default();
        let bit = 1 << (id.0 % 64);
        let (low, high) = match end {
            End::Finished => (true, false),
            End::Failed(_) => (false, true),
            End::Killed => (true, true),
        };
        for (word, set) in block.iter_mut().zip([low, high]) {
            if set {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    fn get(&self, id: TaskId) -> Option<End> {
        let block = self.0.get(&(id.0 / 64))?;
        let bit = 1 << (id.0 % 64);
        match (block[0] & bit != 0, block[1] & bit != 0) {
            (false, false) => None,
            (true, false) => Some(End::Finished),
            (false, true) => Some(End::Failed(TaskError::new(""))),
            (true, true) => Some(End::Killed),
        }
    }
}

impl Agents {
    /// Makes `sched` a home for agents: its status callback becomes the
    /// agents' (recording statuses, sending monitors' notices), then calls
    /// `then`, if given. Installing agents on a scheduler again replaces
    /// the first ones: they no longer see statuses, and agents inserted
    /// from then on belong to the new ones.
    pub fn install(
        sched: &mut dyn Scheduler,
        config: AgentConfig,
        then: Option<StatusCallback>,
    ) -> Agents {
        let world = Arc::new(World {
            config,
            // Not counted as held outside the tasks: a run whose agents
            // all wait for messages nobody can send ends.
            handle: sched.handle().to_internal(),
            state: Mutex::new(WorldState::default()),
        });
        worlds()
            .map
            .insert(remote_key(&world.handle), Arc::downgrade(&world));
        let seen = Arc::clone(&world);
        let mut then = then;
        sched.on_status(Box::new(move |id, status| {
            seen.status_changed(id, status);
            if let Some(cb) = then.as_mut() {
                cb(id, status);
            }
        }));
        Agents { world }
    }

    /// An agent running the chunk `source`, to insert into the scheduler.
    /// `name` is its chunk name as Lua's are (`@path` for a file, which
    /// `debug.getinfo` reports as its source, `=text` as it is), or a
    /// plain name used as `=name`; the task is named without the prefix.
    ///
    /// # Errors
    /// A syntax error in `source`, or a library that failed to open.
    pub fn from_source(&self, name: &str, source: &[u8]) -> Result<LuaTask, TaskError> {
        let mut vm = self.world.new_vm()?;
        let fail = |vm: &mut Vm, e: vm_core::LuaError| TaskError::new(vm.error_to_string(&e));
        let mode = if self.world.config.sandboxed {
            "t"
        } else {
            "bt"
        };
        let (chunk, name) = match name.strip_prefix(['@', '=']) {
            Some(plain) => (name.to_string(), plain),
            None => (format!("={name}"), name),
        };
        let f = match vm.load_chunk(source, &chunk, mode, None) {
            Ok(f) => f,
            Err(e) => return Err(fail(&mut vm, e)),
        };
        self.world.agent(vm, f, Vec::new(), Arc::from(name), false)
    }

    /// The status the scheduler last reported for task `id` (a failure
    /// without its message: the scheduler's own
    /// [`status`](Scheduler::status) has it).
    pub fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.world.lock().status(id)
    }
}

impl World {
    fn lock(&self) -> MutexGuard<'_, WorldState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Task `id`'s status, live or dead, as last reported.
    pub(crate) fn status(&self, id: TaskId) -> Option<TaskStatus> {
        self.lock().status(id)
    }

    /// A VM with the configured libraries, `agent` included, and limits.
    fn new_vm(&self) -> Result<Box<Vm>, TaskError> {
        let mut vm = Vm::new();
        let opened = if self.config.sandboxed {
            vm_stdlib::open_sandboxed_lazily(&mut vm)
        } else {
            vm_stdlib::open_all_lazily(&mut vm)
        };
        if let Err(e) = opened.and_then(|()| open_agent_lazily(&mut vm)) {
            return Err(TaskError::new(vm.error_to_string(&e)));
        }
        vm.set_memory_limit(self.config.memory_limit);
        vm.set_instruction_limit(self.config.instruction_limit);
        Ok(vm)
    }

    /// An agent calling `f(args...)` in `vm`, its mailbox empty.
    fn agent(
        self: &Arc<Self>,
        mut vm: Box<Vm>,
        f: vm_core::Value,
        args: Vec<vm_core::Value>,
        name: Arc<str>,
        spawned: bool,
    ) -> Result<LuaTask, TaskError> {
        let ctx = self.new_ctx();
        lib::attach(&mut vm, Arc::clone(&ctx));
        let mut task = LuaTask::calling(vm, f, &args, name)?;
        task.set_agent(ctx, spawned);
        Ok(task)
    }

    /// A new agent's context, its mailbox empty.
    fn new_ctx(self: &Arc<Self>) -> Arc<Ctx> {
        Arc::new(Ctx {
            home: Mutex::new(Home {
                world: Arc::clone(self),
                remote: Arc::clone(&self.handle.remote),
            }),
            id: AtomicU64::new(0),
            mailbox: Mutex::new(VecDeque::new()),
            mailbox_bytes: std::sync::atomic::AtomicUsize::new(0),
            overflow: std::sync::atomic::AtomicBool::new(false),
            wait: Wait::default(),
            moved: std::sync::atomic::AtomicBool::new(false),
            killed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Each agent's memory limit.
    pub(crate) fn memory_limit(&self) -> Option<usize> {
        self.config.memory_limit
    }

    /// The VM of an unborn agent (`LuaTask::unborn`) and the packet's
    /// values unpacked there (its function, then that function's
    /// arguments); or the failure that ends the agent at once, with a
    /// bare VM.
    pub(crate) fn birth(
        &self,
        ctx: &Arc<Ctx>,
        packet: &Packet,
    ) -> (Box<Vm>, Result<Vec<vm_core::Value>, TaskError>) {
        match self.new_vm() {
            Ok(mut vm) => {
                lib::attach(&mut vm, Arc::clone(ctx));
                let values = vm
                    .unpack(packet)
                    .map_err(|e| TaskError::new(vm.error_to_string(&e)));
                (vm, values)
            }
            Err(e) => (Vm::new(), Err(e)),
        }
    }

    /// An agent spawned by another: the chunk `source` with the packet's
    /// values as arguments, or the packet's function with its other
    /// values.
    pub(crate) fn spawned(
        self: &Arc<Self>,
        source: Option<&[u8]>,
        packet: Packet,
    ) -> Result<LuaTask, TaskError> {
        if source.is_none() {
            // A function: the agent gets its VM when it first runs.
            return Ok(LuaTask::unborn(packet, self.new_ctx()));
        }
        let mut vm = self.new_vm()?;
        let fail = |vm: &mut Vm, e: vm_core::LuaError| TaskError::new(vm.error_to_string(&e));
        // The chunk first, rooted while the arguments are unpacked: a
        // compilation short of memory collects, which would free
        // arguments not yet held by anything.
        let chunk = match source {
            // Binary chunks only where the profile's `load` takes them.
            Some(src) => {
                let mode = if self.config.sandboxed { "t" } else { "bt" };
                let f = vm
                    .load_chunk(src, "=agent", mode, None)
                    .map_err(|e| fail(&mut vm, e))?;
                Some(vm.root(f).map_err(|e| fail(&mut vm, e))?)
            }
            None => None,
        };
        let mut values = vm.unpack(&packet).map_err(|e| fail(&mut vm, e))?;
        let f = match chunk {
            Some(id) => {
                let f = vm.rooted(id);
                vm.unroot(id);
                f
            }
            None => values.remove(0),
        };
        self.agent(vm, f, values, crate::lua::agent_name(), true)
    }

    /// Agent `id` was just spawned: it is virgin until the scheduler
    /// says more.
    pub(crate) fn spawning(&self, id: TaskId) {
        let mut st = self.lock();
        if st.status(id).is_none() {
            st.statuses.insert(id, Live::Virgin);
        }
    }

    /// Whether one more agent may be spawned: `Err` with the limit.
    pub(crate) fn room_for_one(&self) -> Result<(), usize> {
        let max = self.config.max_agents.unwrap_or_else(default_max_agents);
        if self.lock().statuses.len() < max {
            Ok(())
        } else {
            Err(max)
        }
    }

    /// The scheduler reported `status` for `id`.
    fn status_changed(&self, id: TaskId, status: &TaskStatus) {
        let watchers = {
            let mut st = self.lock();
            match (status, Live::of(status)) {
                (_, Some(live)) => {
                    st.statuses.insert(id, live);
                }
                (TaskStatus::Dead(end), None) => {
                    st.statuses.remove(id);
                    st.ended.insert(id, end);
                }
                (_, None) => {}
            }
            match status {
                TaskStatus::Dead(_) => st.monitors.remove(&id).unwrap_or_default(),
                _ => Vec::new(),
            }
        };
        if let TaskStatus::Dead(end) = status {
            for w in watchers {
                let _ = self.handle.deliver(w, Box::new(down(id, end)));
            }
        }
    }

    /// Agent `id` was dropped while counted live here (removed from its
    /// scheduler and never inserted into another): it ends, failed with
    /// "dropped", so that it no longer counts toward `max_agents`,
    /// `agent.status` says "failed", and its watchers are told.
    fn dropped(&self, id: TaskId) {
        let live = self.lock().statuses.contains(id);
        if live {
            let end = End::Failed(TaskError::new("dropped"));
            self.status_changed(id, &TaskStatus::Dead(end));
        }
    }

    /// Agent `id` left for another scheduler: it no longer counts here
    /// (`max_agents`, `agent.status`), and its watchers here are told
    /// (`"down", id, "moved"`), since their monitors do not follow it.
    fn departed(&self, id: TaskId) {
        let watchers = {
            let mut st = self.lock();
            st.statuses.remove(id);
            st.monitors.remove(&id).unwrap_or_default()
        };
        for w in watchers {
            let notice = Packet::from_values([
                JobValue::Str(b"down".to_vec()),
                JobValue::Int(id.0 as i64),
                JobValue::Str(b"moved".to_vec()),
            ]);
            let _ = self.handle.deliver(w, Box::new(notice));
        }
    }

    /// `watcher` watches `target`: told at once if it ended already.
    fn monitor(&self, watcher: TaskId, target: TaskId, handle: &Handle) {
        let ended = {
            let mut st = self.lock();
            match st.status(target) {
                Some(TaskStatus::Dead(end)) => Some(end),
                None => Some(End::Failed(TaskError::new("noproc"))),
                Some(_) => {
                    let mut list = st.monitors.remove(&target).unwrap_or_default();
                    list.push(watcher);
                    // A long-lived agent watched by short-lived ones: its
                    // list drops the dead watchers whenever it doubles, so
                    // it stays within twice the live ones.
                    if list.len() >= 64 && list.len().is_power_of_two() {
                        list.retain(|&w| st.statuses.contains(w));
                    }
                    st.monitors.insert(target, list);
                    None
                }
            }
        };
        if let Some(end) = ended {
            let _ = handle.deliver(watcher, Box::new(down(target, &end)));
        }
    }
}

/// Each scheduler's agents, by the address of its handles' queue: where
/// an agent that moves to another scheduler finds its new agents.
fn worlds() -> MutexGuard<'static, Worlds> {
    static WORLDS: std::sync::OnceLock<Mutex<Worlds>> = std::sync::OnceLock::new();
    let mut w = locked(WORLDS.get_or_init(Default::default));
    // Schedulers dropped since: their entries go, once the map doubled
    // since it was last swept (so a sweep costs each entry O(1)).
    if w.map.len() > 2 * w.swept.max(32) {
        w.map.retain(|_, world| world.strong_count() > 0);
        w.swept = w.map.len();
    }
    w
}

/// Each scheduler's agents ([`worlds`]).
#[derive(Default)]
struct Worlds {
    map: HashMap<usize, Weak<World>>,
    /// Entries after the last sweep.
    swept: usize,
}

/// The key of `handle`'s scheduler in [`worlds`].
fn remote_key(handle: &Handle) -> usize {
    Arc::as_ptr(&handle.remote).cast::<()>() as usize
}

/// A monitor's notice: `"down", id, reason`.
fn down(id: TaskId, end: &End) -> Packet {
    let reason = match end {
        End::Finished => "normal".to_string(),
        End::Killed => "killed".to_string(),
        End::Failed(e) => match &e.traceback {
            Some(tb) => format!("{}\n{tb}", e.message),
            None => e.message.clone(),
        },
    };
    Packet::from_values([
        JobValue::Str(b"down".to_vec()),
        JobValue::Int(id.0 as i64),
        JobValue::Str(reason.into_bytes()),
    ])
}

/// One agent's side: its id and scheduler (set when a scheduler takes
/// it), its mailbox, and what `agent.receive` waits for. Shared by the
/// task and its VM's `agent` library.
pub(crate) struct Ctx {
    /// Its scheduler's agents and its handle's remote end (another
    /// scheduler's once it moves there), changed together.
    home: Mutex<Home>,
    /// 0 until a scheduler takes the agent.
    id: AtomicU64,
    mailbox: Mutex<VecDeque<Packet>>,
    /// Bytes of the packets in `mailbox`.
    mailbox_bytes: std::sync::atomic::AtomicUsize,
    /// A message came that the mailbox had no room for (past the agent's
    /// memory limit): the agent fails.
    pub(crate) overflow: std::sync::atomic::AtomicBool,
    wait: Wait,
    /// Inserted into a scheduler while waiting: a resume without a
    /// message is the move, not the timeout.
    moved: std::sync::atomic::AtomicBool,
    /// Being killed: its `__close` handlers run, and cannot wait.
    pub(crate) killed: std::sync::atomic::AtomicBool,
}

/// Where an agent lives: its scheduler's agents, and the remote end of
/// that scheduler's handles (a `Handle` without the count of handles held
/// outside tasks, which an agent's never is: a word less in every agent).
struct Home {
    world: Arc<World>,
    remote: Arc<dyn crate::handle::Remote>,
}

/// While `agent.receive` waits: its timeout, `None` for ever (the whole
/// `None` when it does not wait), in one word: a timeout past 584 years
/// waits for ever.
#[derive(Debug)]
struct Wait(AtomicU64);

impl Default for Wait {
    fn default() -> Self {
        Wait(AtomicU64::new(Wait::IDLE))
    }
}

impl Wait {
    const IDLE: u64 = u64::MAX;
    const FOREVER: u64 = u64::MAX - 1;

    fn get(&self) -> Option<Option<Duration>> {
        Wait::decode(self.0.load(Ordering::Relaxed))
    }

    fn take(&self) -> Option<Option<Duration>> {
        Wait::decode(self.0.swap(Wait::IDLE, Ordering::Relaxed))
    }

    fn decode(word: u64) -> Option<Option<Duration>> {
        match word {
            Wait::IDLE => None,
            Wait::FOREVER => Some(None),
            nanos => Some(Some(Duration::from_nanos(nanos))),
        }
    }

    fn set(&self, wait: Option<Option<Duration>>) {
        let word = match wait {
            None => Wait::IDLE,
            Some(None) => Wait::FOREVER,
            Some(Some(d)) => u64::try_from(d.as_nanos())
                .ok()
                .filter(|&n| n < Wait::FOREVER)
                .unwrap_or(Wait::FOREVER),
        };
        self.0.store(word, Ordering::Relaxed);
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Ctx {
    /// The last of an agent (its task and VM) goes: if its scheduler's
    /// agents still count it live, it was removed and dropped rather than
    /// ended (`World::dropped`). An agent that ended was recorded so by
    /// its scheduler's report, and one that moved counts in its new home.
    fn drop(&mut self) {
        let id = TaskId(*self.id.get_mut());
        let home = self
            .home
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Its id names an agent of its world only while it is in that
        // world's scheduler: one moved into a scheduler without agents
        // keeps its old world, which has another agent under that id.
        let in_world = Arc::as_ptr(&home.remote).cast::<()>()
            == Arc::as_ptr(&home.world.handle.remote).cast::<()>();
        if id.0 != 0 && in_world {
            Arc::clone(&home.world).dropped(id);
        }
    }
}

impl Ctx {
    /// A scheduler took the agent as `id`: its id, handle and agents
    /// are that scheduler's from now on (a scheduler without agents
    /// installed leaves it with its old ones, for its configuration, but
    /// it no longer counts there). False when that scheduler's agents
    /// are not the ones it had (a move), or it has none.
    pub(crate) fn inserted(&self, id: TaskId, handle: &Handle) -> bool {
        let old_id = TaskId(self.id.swap(id.0, Ordering::Relaxed));
        self.moved.store(true, Ordering::Relaxed);
        let found = worlds()
            .map
            .get(&remote_key(handle))
            .and_then(Weak::upgrade);
        let (left, same) = {
            let mut home = locked(&self.home);
            home.remote = Arc::clone(&handle.remote);
            match found {
                Some(w) if Arc::ptr_eq(&w, &home.world) => (Arc::clone(&w), true),
                Some(w) => (std::mem::replace(&mut home.world, w), false),
                None => (Arc::clone(&home.world), false),
            }
        };
        // Its old id there is gone, also when it comes back to the same
        // scheduler under a new one. (Id 0 names no task: the first
        // insertion of an agent made outside any scheduler.)
        if old_id.0 != 0 && old_id != id {
            left.departed(old_id);
        }
        same
    }

    pub(crate) fn world(&self) -> Arc<World> {
        Arc::clone(&locked(&self.home).world)
    }

    /// A handle of its scheduler (not counted as held outside its tasks).
    pub(crate) fn handle(&self) -> Handle {
        Handle::internal(Arc::clone(&locked(&self.home).remote))
    }

    /// A message for the mailbox; anything but a packet is dropped. The
    /// mailbox counts against `limit` (the agent's memory limit): a
    /// message past it is dropped and the agent fails, as an Erlang
    /// process past its `max_heap_size` is killed.
    pub(crate) fn receive(&self, msg: crate::Message, limit: Option<usize>) {
        if let Ok(p) = msg.downcast::<Packet>() {
            self.push(*p, limit);
        }
    }

    /// `receive`'s work, also for messages to itself.
    pub(crate) fn push(&self, p: Packet, limit: Option<usize>) {
        let held = self.mailbox_bytes.load(Ordering::Relaxed);
        if limit.is_some_and(|l| held.saturating_add(p.bytes()) > l) {
            self.overflow.store(true, Ordering::Relaxed);
            return;
        }
        self.mailbox_bytes.fetch_add(p.bytes(), Ordering::Relaxed);
        locked(&self.mailbox).push_back(p);
    }

    /// The oldest message, if any.
    pub(crate) fn pop(&self) -> Option<Packet> {
        let p = locked(&self.mailbox).pop_front()?;
        self.mailbox_bytes.fetch_sub(p.bytes(), Ordering::Relaxed);
        Some(p)
    }

    /// Puts back a message `pop` took and that could not be taken.
    pub(crate) fn unpop(&self, p: Packet) {
        self.mailbox_bytes.fetch_add(p.bytes(), Ordering::Relaxed);
        locked(&self.mailbox).push_front(p);
    }

    /// How long the agent waits, once its slice ended waiting.
    pub(crate) fn wait_timeout(&self) -> Option<Duration> {
        self.wait.get().flatten()
    }

    /// `agent.receive` starts waiting with `timeout`.
    pub(crate) fn start_wait(&self, timeout: Option<Duration>) {
        self.wait.set(Some(timeout));
        self.moved.store(false, Ordering::Relaxed);
    }

    /// The wait ends: the timeout `receive` must wait with again if it
    /// ends without a message because the agent only moved (else it timed
    /// out).
    pub(crate) fn end_wait(&self) -> Option<Option<Duration>> {
        let timeout = self.wait.take();
        if self.moved.swap(false, Ordering::Relaxed) {
            timeout
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RoundRobin;

    /// Live statuses by id: set, changed, removed; a block goes when its
    /// last id does.
    #[test]
    fn live_statuses_in_blocks() {
        let mut m = LiveMap::default();
        assert_eq!(m.insert(TaskId(3), Live::Virgin), None);
        assert_eq!(m.insert(TaskId(3), Live::Blocking), Some(Live::Virgin));
        assert_eq!(m.insert(TaskId(64), Live::Running), None);
        assert_eq!(m.get(TaskId(3)), Some(Live::Blocking));
        assert_eq!(m.get(TaskId(4)), None);
        assert_eq!((m.blocks.len(), m.len()), (2, 2));
        assert_eq!(m.remove(TaskId(3)), Some(Live::Blocking));
        assert_eq!(m.remove(TaskId(3)), None);
        assert!(!m.contains(TaskId(3)));
        assert_eq!(
            (m.blocks.len(), m.len()),
            (1, 1),
            "the first block went with its last id"
        );
        for live in [
            Live::Virgin,
            Live::Running,
            Live::RunningWithoutExceptions,
            Live::Blocking,
        ] {
            m.insert(TaskId(100), live);
            assert_eq!(m.get(TaskId(100)), Some(live));
            assert_eq!(Live::of(&live.status()), Some(live));
        }
    }

    /// A long-lived agent watched by many short-lived ones keeps a list
    /// within twice its live watchers.
    #[test]
    fn monitor_lists_drop_dead_watchers() {
        let mut rr = RoundRobin::new();
        let agents = Agents::install(&mut rr, AgentConfig::default(), None);
        let src = b"local server = agent.spawn(function() agent.receive() end)
            local me = agent.self()
            for i = 1, 1000 do
              agent.spawn(function(s) agent.monitor(s) agent.send(me, i) end, server)
            end
            for i = 1, 1000 do agent.receive() end";
        let main = agents.from_source("main", src).unwrap();
        let id = rr.insert(Box::new(main), 0);
        rr.run(10_000);
        assert_eq!(rr.status(id), Some(TaskStatus::Dead(End::Finished)));
        let st = agents.world.lock();
        let watched: Vec<usize> = st.monitors.values().map(Vec::len).collect();
        assert_eq!(watched.len(), 1, "the server is watched");
        assert!(watched[0] < 128, "{watched:?} watchers kept");
    }
}
