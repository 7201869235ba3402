//! The coroutine library (`lcorolib.c`): `create`, `resume`, `yield`,
//! `status`, `wrap`, `isyieldable`, `running`, `close`.
//!
//! `resume` and the functions made by `wrap` answer with `Vm::resumek`
//! and `yield` with `Vm::yieldk`: the interpreter switches threads in its
//! own loop, so neither recurses in Rust and coroutines nest without limit.

use vm_core::ThreadRef;
use vm_core::{Args, Deliver, LuaError, LuaResult, Status, Step, Value, Vm};

natives! {
    natives {
        CREATE = "coroutine.create" as "create" => create;
        RESUME = "coroutine.resume" as "resume" => resume;
        YIELD = "coroutine.yield" as "yield" => yield_;
        STATUS = "coroutine.status" as "status" => status;
        WRAP = "coroutine.wrap" as "wrap" => wrap;
        WRAPPED = "coroutine.wrapped" as "wrapped" => wrapped;
        ISYIELDABLE = "coroutine.isyieldable" as "isyieldable" => isyieldable;
        RUNNING = "coroutine.running" as "running" => running;
        CLOSE = "coroutine.close" as "close" => close;
    }
    continuations {
        RESUME_K = "coroutine.resume_k" => resume_k;
        WRAP_K = "coroutine.wrap_k" => wrap_k;
        WRAP_CLOSE_K = "coroutine.wrap_close_k" => wrap_close_k;
        CLOSE_K = "coroutine.close_k" => close_k;
    }
}

/// Installs the `coroutine` table into the globals.
pub fn open_coroutine(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let tr = vm.new_table();
    vm.register(
        tr,
        &[
            &CREATE,
            &RESUME,
            &YIELD,
            &STATUS,
            &WRAP,
            &ISYIELDABLE,
            &RUNNING,
            &CLOSE,
        ],
    )?;
    vm.register_library("coroutine", tr)?;
    Ok(())
}

/// A new coroutine for the function argument (`create`, `wrap`).
fn new_coroutine(vm: &mut Vm, args: Args) -> LuaResult<ThreadRef> {
    let f = vm.check_function(args, 1)?;
    vm.new_thread(f)
}

fn create(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let co = new_coroutine(vm, args)?;
    vm.push(Value::Thread(co));
    Ok(Step::Return(1))
}

fn resume(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let co = vm.check_thread(args, 1)?;
    Ok(vm.resumek(co, args.len() - 1, Deliver::TrueAndResults, &RESUME_K, 0))
}

/// `resume` gets here only when the coroutine died (its values are
/// returned directly, `Deliver::TrueAndResults`): `false` and the error,
/// which is above its first argument.
fn resume_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    debug_assert_eq!(status, Status::Error);
    vm.frame_insert(args, 1, Value::Bool(false));
    Ok(Step::Return(vm.frame_top(args) - 1))
}

fn yield_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    Ok(vm.yieldk(args.len(), None, 0))
}

fn status(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let co = vm.check_thread(args, 1)?;
    let name = vm.thread_status(co).name();
    let s = vm.new_str(name.as_bytes());
    vm.push(s);
    Ok(Step::Return(1))
}

fn wrap(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let co = new_coroutine(vm, args)?;
    let f = vm.new_native_closure(&WRAPPED, vec![Value::Thread(co)])?;
    vm.push(f);
    Ok(Step::Return(1))
}

/// A function made by `wrap`: resumes its coroutine with its arguments.
fn wrapped(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let Value::Thread(co) = vm.upvalue(args, 1) else {
        return Err(vm.error("wrapped coroutine lost its thread"));
    };
    Ok(vm.resumek(co, args.len(), Deliver::Results, &WRAP_K, 0))
}

/// A wrapped coroutine died (its values are returned directly,
/// `Deliver::Results`): its error propagates, after its pending variables
/// are closed, with the caller's position prefixed to a string error (as
/// `auxwrap` does).
fn wrap_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    debug_assert_eq!(status, Status::Error);
    let at = vm.frame_top(args) - 1;
    let Value::Thread(co) = vm.upvalue(args, 1) else {
        return wrap_error(vm, vm.frame_get(args, at));
    };
    vm.close_threadk(co, Deliver::Continuation, &WRAP_CLOSE_K, at as i64)
}

/// The wrapped coroutine is closed (`true`, or `false` and a handler's
/// error, above its error at frame slot `at`): the error propagates.
fn wrap_close_k(vm: &mut Vm, args: Args, status: Status, at: i64) -> LuaResult<Step> {
    let at = at as usize;
    let err = match status {
        // The closing itself failed (the instruction limit).
        Status::Error => vm.frame_get(args, vm.frame_top(args) - 1),
        _ if matches!(vm.frame_get(args, at + 1), Value::Bool(false)) => vm.frame_get(args, at + 2),
        _ => vm.frame_get(args, at),
    };
    wrap_error(vm, err)
}

/// Raises a wrapped coroutine's error, with the caller's position before a
/// string (as `auxwrap` does).
fn wrap_error(vm: &mut Vm, err: Value) -> LuaResult<Step> {
    if let Value::Str(_) = err {
        // The message is copied at every level of a chain of wraps: paid
        // for, so that a deep chain passing a long message up is suspended.
        vm.charge_scan(err)?;
        let msg = vm.str_bytes(err).unwrap_or_default().to_vec();
        return Err(vm.error_bytes(&msg));
    }
    Err(LuaError::new(err))
}

fn isyieldable(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let y = if args.is_empty() {
        vm.is_yieldable()
    } else {
        let co = vm.check_thread(args, 1)?;
        vm.thread_is_yieldable(co)
    };
    vm.push(Value::Bool(y));
    Ok(Step::Return(1))
}

fn running(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let cur = vm.current_thread();
    vm.push(Value::Thread(cur));
    vm.push(Value::Bool(cur == vm.main_thread()));
    Ok(Step::Return(2))
}

/// `coroutine.close(co)`: the pending `__close` handlers run on the
/// coroutine, under the budget (`Vm::close_threadk`); their outcome is
/// the results.
fn close(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let co = vm.check_thread(args, 1)?;
    vm.close_threadk(co, Deliver::Results, &CLOSE_K, 0)
}

/// The closing failed (the instruction limit): the error goes on.
fn close_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    Err(LuaError::new(vm.frame_get(args, vm.frame_top(args) - 1)))
}
