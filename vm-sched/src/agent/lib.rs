//! The Lua `agent` library: `spawn`, `send`, `receive`, `self`,
//! `status`, `kill` and `monitor`. Each function finds its agent's
//! [`Ctx`] in the VM's extra data (`Vm::extra`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use vm_core::{
    Args, Continuation, Lazy, LuaResult, NativeFunction, NativeList, Status, Step, Value, Vm,
};

use super::Ctx;
use crate::task::{TaskId, TaskStatus};

static SPAWN: NativeFunction = NativeFunction::new("spawn", spawn).with_id("agent.spawn");
static SEND: NativeFunction = NativeFunction::new("send", send).with_id("agent.send");
static RECEIVE: NativeFunction = NativeFunction::new("receive", receive).with_id("agent.receive");
static SELF: NativeFunction = NativeFunction::new("self", self_id).with_id("agent.self");
static STATUS: NativeFunction = NativeFunction::new("status", status).with_id("agent.status");
static KILL: NativeFunction = NativeFunction::new("kill", kill).with_id("agent.kill");
static MONITOR: NativeFunction = NativeFunction::new("monitor", monitor).with_id("agent.monitor");
static RECEIVE_K: Continuation = Continuation::new("agent.receive_k", receive_k);
static KILLED_K: Continuation = Continuation::new("agent.killed_k", killed_k);

/// The `agent` library's natives and continuation.
pub(super) static NATIVES: NativeList = NativeList {
    natives: &[&SPAWN, &SEND, &RECEIVE, &SELF, &STATUS, &KILL, &MONITOR],
    continuations: &[&RECEIVE_K, &KILLED_K],
};

/// A `receive` timeout this long or longer waits for ever.
const FOR_EVER_SECS: u64 = 100 * 365 * 24 * 3600;

/// Installs the `agent` table. Its functions work once the VM runs as an
/// agent ([`Agents`](super::Agents)); elsewhere they raise "not an agent".
///
/// # Errors
/// When the natives cannot be registered.
pub fn open_agent(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    install(vm)
}

/// [`open_agent`], made the first time a program touches `agent`
/// (`Vm::open_lazily`), as every agent's VM opens it.
///
/// # Errors
/// When the natives cannot be registered.
pub fn open_agent_lazily(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    vm.open_lazily(&LAZY)
}

static LAZY: [Lazy; 1] = [Lazy::Library {
    name: "agent",
    globals: &[],
    string_metatable: false,
    natives: Some(&NATIVES),
    open: install,
}];

fn install(vm: &mut Vm) -> LuaResult<()> {
    let t = vm.new_table();
    vm.register(
        t,
        &[&SPAWN, &SEND, &RECEIVE, &SELF, &STATUS, &KILL, &MONITOR],
    )?;
    vm.register_library("agent", t)
}

/// Makes `vm` the VM of the agent `ctx` describes (its extra data,
/// `Vm::set_extra`).
pub(crate) fn attach(vm: &mut Vm, ctx: Arc<Ctx>) {
    vm.set_extra(Some(ctx));
}

/// The running agent's context.
fn ctx(vm: &mut Vm) -> LuaResult<Arc<Ctx>> {
    match vm.extra_shared::<Ctx>() {
        Some(ctx) => Ok(ctx),
        None => Err(vm.error("not an agent (the agent library works in agents only)")),
    }
}

/// An agent id argument.
fn id_arg(vm: &mut Vm, args: Args, i: usize) -> LuaResult<TaskId> {
    let n = vm.check_integer(args, i)?;
    // Ids are positive; any other names no agent (sends are dropped).
    Ok(TaskId(u64::try_from(n).unwrap_or(0)))
}

/// `agent.self()`: this agent's id.
fn self_id(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let id = ctx.id.load(Ordering::Relaxed);
    vm.push(Value::Int(id as i64));
    Ok(Step::Return(1))
}

/// `agent.send(id, ...)`: copies the values to agent `id`'s mailbox. To
/// a dead or unknown agent the message is dropped.
fn send(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let to = id_arg(vm, args, 1)?;
    let values: Vec<Value> = (2..=args.len()).map(|i| vm.arg(args, i)).collect();
    let packet = match vm.pack(&values) {
        Ok(p) => p,
        Err(e) => {
            let msg = vm.error_to_string(&e);
            return Err(vm.error(&msg));
        }
    };
    if to.get() == ctx.id.load(Ordering::Relaxed) {
        // To itself: in the mailbox at once, as in Erlang.
        ctx.push(packet, vm.memory_limit());
    } else {
        // A scheduler gone takes no message: the send does nothing, as
        // to a dead agent.
        let _ = ctx.handle().deliver(to, Box::new(packet));
    }
    Ok(Step::Return(0))
}

/// `agent.receive([timeout])`: the values of the oldest message, or nil
/// once `timeout` seconds passed without one; waits (the agent, not the
/// thread) until then.
fn receive(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let timeout = if vm.is_none_or_nil(args, 1) {
        None
    } else {
        let secs = vm.check_float(args, 1)?;
        if secs > 0.0 {
            // Past a century (`math.huge` too) is for ever: a run whose
            // agents all wait so ends, rather than sleeping to then.
            Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| d.as_secs() < FOR_EVER_SECS)
        } else {
            Some(Duration::ZERO)
        }
    };
    if let Some(n) = take_message(vm, &ctx)? {
        return Ok(Step::Return(n));
    }
    if ctx.killed.load(Ordering::Relaxed) {
        // Its `__close` handlers run; nothing can come any more.
        return Err(vm.error("cannot wait for a message: the agent is being killed"));
    }
    if timeout == Some(Duration::ZERO) {
        vm.push(Value::Nil);
        return Ok(Step::Return(1));
    }
    ctx.start_wait(timeout);
    Ok(vm.waitk(&RECEIVE_K, 0))
}

/// After the wait: a message came, or the timeout passed.
/// (Or the agent moved to another scheduler: it waits again there,
/// the timeout starting over.)
fn receive_k(vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let again = ctx.end_wait();
    if let Some(n) = take_message(vm, &ctx)? {
        return Ok(Step::Return(n));
    }
    match again {
        Some(timeout) => {
            ctx.start_wait(timeout);
            Ok(vm.waitk(&RECEIVE_K, 0))
        }
        None => {
            vm.push(Value::Nil);
            Ok(Step::Return(1))
        }
    }
}

/// Pushes the values of the oldest message, if any; how many.
/// A message that cannot be taken (not enough memory, too many values
/// for the stack) stays first in the mailbox.
fn take_message(vm: &mut Vm, ctx: &Ctx) -> LuaResult<Option<usize>> {
    let Some(packet) = ctx.pop() else {
        return Ok(None);
    };
    let put_back = |packet| ctx.unpop(packet);
    if !vm.has_stack_room(packet.len()) {
        put_back(packet);
        return Err(vm.error("too many values in a message to receive"));
    }
    let values = match vm.unpack(&packet) {
        Ok(values) => values,
        Err(e) => {
            put_back(packet);
            return Err(e);
        }
    };
    let n = values.len();
    for v in values {
        vm.push(v);
    }
    Ok(Some(n))
}

/// `agent.spawn(f_or_source, ...)`: a new agent running the function
/// (copied as a message is) or the chunk, with the other arguments;
/// returns its id.
fn spawn(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let what = vm.arg(args, 1);
    let rest: Vec<Value> = (2..=args.len()).map(|i| vm.arg(args, i)).collect();
    let (source, packet) = match what {
        Value::Str(_) => (vm.str_bytes(what).map(<[u8]>::to_vec), vm.pack(&rest)),
        Value::LuaFn(_) | Value::Native(_) => {
            let mut all = vec![what];
            all.extend_from_slice(&rest);
            (None, vm.pack(&all))
        }
        _ => return Err(vm.type_error_arg(args, 1, "function or string")),
    };
    let packet = match packet {
        Ok(p) => p,
        Err(e) => {
            let msg = vm.error_to_string(&e);
            return Err(vm.error(&msg));
        }
    };
    let world = ctx.world();
    if let Err(max) = world.room_for_one() {
        return Err(vm.error(&format!("too many agents (the limit is {max})")));
    }
    let task = world
        .spawned(source.as_deref(), packet)
        .map_err(|e| vm.error(&e.message))?;
    let handle = ctx.handle();
    match handle.spawn(Box::new(task), 0) {
        Ok(id) => {
            // Known from now on (`status`, `monitor`), though the
            // scheduler takes it between slices.
            world.spawning(id);
            vm.push(Value::Int(id.0 as i64));
            Ok(Step::Return(1))
        }
        Err(_) => Err(vm.error("cannot spawn: the scheduler is gone")),
    }
}

/// `agent.status(id)`: "running", "blocked", "finished" or "failed" (a
/// killed agent counts as failed), or nil for an id that names no agent.
fn status(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let id = id_arg(vm, args, 1)?;
    let word = match ctx.world().status(id) {
        None => None,
        Some(TaskStatus::Blocking) => Some("blocked"),
        Some(TaskStatus::Dead(crate::End::Finished)) => Some("finished"),
        Some(TaskStatus::Dead(_)) => Some("failed"),
        Some(_) => Some("running"),
    };
    let v = match word {
        Some(w) => vm.new_str(w.as_bytes()),
        None => Value::Nil,
    };
    vm.push(v);
    Ok(Step::Return(1))
}

/// `agent.kill(id)`: ends agent `id` (its `__close` handlers run). The
/// scheduler applies a kill between slices, as it delivers messages:
/// until then `agent.status(id)` still says what it said. Killing itself
/// takes effect at once: the agent waits for the kill, which its
/// scheduler applies before it could run again.
fn kill(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let id = id_arg(vm, args, 1)?;
    let alive = ctx.handle().kill(id);
    if alive && id.get() == ctx.id.load(Ordering::Relaxed) {
        return Ok(vm.waitk(&KILLED_K, 0));
    }
    Ok(Step::Return(0))
}

/// Only reached if the kill of itself did not take (a task that refuses
/// exceptions just then): it goes on.
fn killed_k(_vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    Ok(Step::Return(0))
}

/// `agent.monitor(id)`: when agent `id` ends, this one receives
/// `"down", id, reason` (`"normal"`, `"killed"`, or the error with its
/// traceback; `"noproc"` for an id that names no agent, sent at once and
/// delivered, as every message, between slices).
fn monitor(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let ctx = ctx(vm)?;
    let raw = vm.check_integer(args, 1)?;
    let me = TaskId(ctx.id.load(Ordering::Relaxed));
    let handle = ctx.handle();
    match u64::try_from(raw) {
        Ok(target) if target > 0 => ctx.world().monitor(me, TaskId(target), &handle),
        // No agent has such an id: the notice names the id given.
        _ => {
            let notice = vm_core::Packet::from_values([
                vm_core::JobValue::Str(b"down".to_vec()),
                vm_core::JobValue::Int(raw),
                vm_core::JobValue::Str(b"noproc".to_vec()),
            ]);
            ctx.push(notice, vm.memory_limit());
        }
    }
    Ok(Step::Return(0))
}
