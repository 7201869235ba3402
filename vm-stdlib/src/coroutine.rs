//! The coroutine library (`lcorolib.c`): `create`, `resume`, `yield`,
//! `status`, `wrap`, `isyieldable`, `running`, `close`.
//!
//! `resume` and the functions made by `wrap` answer with `Vm::resumek`
//! and `yield` with `Vm::yieldk`: the interpreter switches threads in its
//! own loop, so neither recurses in Rust and coroutines nest without limit.

use vm_core::value::ThreadRef;
use vm_core::{Args, Continuation, Deliver, LuaError, LuaResult, Status, Step, Value, Vm};

natives! {
    CREATE = "create" => create;
    RESUME = "resume" => resume;
    YIELD = "yield" => yield_;
    STATUS = "status" => status;
    WRAP = "wrap" => wrap;
    WRAPPED = "wrapped" => wrapped;
    ISYIELDABLE = "isyieldable" => isyieldable;
    RUNNING = "running" => running;
    CLOSE = "close" => close;
}

static RESUME_K: Continuation = Continuation::new("coroutine.resume_k", resume_k);
static WRAP_K: Continuation = Continuation::new("coroutine.wrap_k", wrap_k);

/// Installs the `coroutine` table into the globals.
pub fn open_coroutine(vm: &mut Vm) {
    let t = vm.new_table();
    let Value::Table(tr) = t else {
        unreachable!("new_table makes a table")
    };
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
    );
    vm.register_library("coroutine", tr);
}

/// A new coroutine for the function argument (`create`, `wrap`).
fn new_coroutine(vm: &mut Vm, args: Args) -> LuaResult<ThreadRef> {
    let f = vm.check_function(args, 1)?;
    Ok(vm.new_thread(f))
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
    let f = vm.new_native_closure(&WRAPPED, vec![Value::Thread(co)]);
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
    let mut err = vm.frame_get(args, vm.frame_top(args) - 1);
    if let Value::Thread(co) = vm.upvalue(args, 1) {
        if let Ok(Some(e)) = vm.close_thread(co) {
            err = e;
        }
    }
    if let Value::Str(_) = err {
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

fn close(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let co = vm.check_thread(args, 1)?;
    match vm.close_thread(co)? {
        None => {
            vm.push(Value::Bool(true));
            Ok(Step::Return(1))
        }
        Some(e) => {
            vm.push(Value::Bool(false));
            vm.push(e);
            Ok(Step::Return(2))
        }
    }
}
