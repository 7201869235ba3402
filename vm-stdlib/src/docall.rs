//! `lua.c`'s `docall`: a call protected by a message handler that turns
//! the error into text with a stack traceback taken where it happened,
//! for drivers that run a whole program (the `vm` command, a scheduler's
//! Lua tasks). Everything runs on the interpreter's loop, so the call
//! (and the handler's `__tostring`) stays preempted by the budget.
//!
//! ```
//! use vm_core::{Outcome, Vm};
//!
//! let mut vm = Vm::new();
//! vm_stdlib::open_all(&mut vm).unwrap();
//! let f = vm.load(b"local function f() error('deep') end f()", "=prog").unwrap();
//! let docall = vm_stdlib::docall::docall(&mut vm).unwrap();
//! let e = vm.call(docall, &[f]).unwrap_err();
//! let text = vm.error_to_string(&e);
//! assert!(text.starts_with("prog:1: deep\nstack traceback:"), "{text}");
//! ```

use vm_core::{Args, LuaError, LuaResult, Meta, Status, Step, Value, Vm};

natives! {
    natives {
        MSGHANDLER = "lua.msghandler" as "msghandler" => msghandler;
        DOCALL = "lua.docall" as "docall" => docall_native;
    }
    continuations {
        MSGHANDLER_K = "lua.msghandler_k" => msghandler_k;
        DOCALL_K = "lua.docall_k" => docall_k;
    }
}

/// The `docall` native (`docall(f, ...)` calls `f` protected, and fails
/// with the message and traceback), its natives registered.
///
/// # Errors
/// When the identities are taken (never, for the standard library's).
pub fn docall(vm: &mut Vm) -> LuaResult<Value> {
    vm.register_natives(&NATIVES)?;
    Ok(vm.new_native(&DOCALL))
}

/// Message handler of `docall`: turns the error into a string and appends
/// a traceback taken where the error happened.
fn msghandler(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.arg(args, 1);
    let is_text = matches!(v, Value::Str(_) | Value::Int(_) | Value::Num(_));
    if !is_text && !vm.metamethod(v, vm_core::Tm::ToString).is_nil() {
        // An object with `__tostring` is its own message, without a
        // traceback, as `lua.c` does. The metamethod runs as a call of
        // this frame, under the budget like any Lua code.
        return Ok(match vm.tostring_k(v)? {
            Meta::Done(s) => {
                vm.push(s);
                Step::Return(1)
            }
            Meta::Call(nargs) => vm.callk(nargs, &MSGHANDLER_K, 0),
        });
    }
    let msg = vm.error_to_string(&LuaError::new(v));
    with_traceback(vm, &msg)
}

/// `msg` and a traceback taken where the error happened, as the result.
fn with_traceback(vm: &mut Vm, msg: &str) -> LuaResult<Step> {
    let tb = vm.traceback(1);
    let s = vm.new_str(format!("{msg}\n{tb}").as_bytes());
    vm.push(s);
    Ok(Step::Return(1))
}

/// `__tostring` of the error object returned its first result (above the
/// argument): the message if it is a string, else the object's type with a
/// traceback, as `lua.c`'s `msghandler` does.
fn msghandler_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let r = vm.frame_get(args, 1);
    if let Value::Str(_) = r {
        vm.push(r);
        return Ok(Step::Return(1));
    }
    let what = vm.arg(args, 1).type_name();
    with_traceback(vm, &format!("(error object is a {what} value)"))
}

/// Where `docall` keeps the message handler in its frame: above two
/// placeholders, as `lua.c`'s `pmain` keeps `argc` and `argv` below it,
/// so that `debug.setlocal(2, 1, x)` in a main chunk changes what it
/// changes in `lua` (nothing that matters).
const HANDLER_SLOT: usize = 2;

/// `docall(f, ...)`: calls `f` protected by `msghandler`.
fn docall_native(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let h = vm.new_native(&MSGHANDLER);
    vm.frame_insert(args, 0, h);
    for _ in 0..HANDLER_SLOT {
        vm.frame_insert(args, 0, Value::Nil);
    }
    let slot = vm.frame_slot(args, HANDLER_SLOT);
    Ok(vm.pcallk(args.len() - 1, Some(slot), &DOCALL_K, 0))
}

fn docall_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    let first = HANDLER_SLOT + 1;
    match status {
        Status::Error => Err(LuaError::new(vm.frame_get(args, first))),
        Status::Ok | Status::Yield => Ok(Step::Return(vm.frame_top(args) - first)),
    }
}
