//! Helpers the libraries share, counterparts of `lauxlib.c`'s result
//! builders: `luaL_fileresult`, `luaL_execresult`, C strings and C's
//! wording of OS errors.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use vm_core::{Args, LuaResult, Step, Value, Vm};

/// Makes room for `n` more bytes in a native's buffer, checking the
/// memory limit each time the buffer must grow, for the room it will take.
pub(crate) fn reserve_bytes(vm: &mut Vm, buf: &mut Vec<u8>, n: usize) -> LuaResult<()> {
    if buf.capacity() - buf.len() < n {
        let want = buf.len().saturating_add(n).max(2 * buf.capacity());
        vm.reserve_memory(want)?;
        if buf.try_reserve(want - buf.len()).is_err() {
            return Err(vm.memory_error());
        }
    }
    Ok(())
}

/// Appends string `s`'s bytes (none if it is not a string) to a native's
/// buffer, as [`reserve_bytes`] checks.
pub(crate) fn add_string(vm: &mut Vm, buf: &mut Vec<u8>, s: Value) -> LuaResult<()> {
    let n = vm.str_bytes(s).map_or(0, <[u8]>::len);
    reserve_bytes(vm, buf, n)?;
    buf.extend_from_slice(vm.str_bytes(s).unwrap_or_default());
    Ok(())
}

/// Puts a native's partial result (a `luaL_Buffer` kept on its stack
/// across calls to Lua) in userdata `ud`, holding a `Vec<u8>`; the heap
/// counts its size.
pub(crate) fn put_buffer(vm: &mut Vm, ud: Value, buf: Vec<u8>) {
    let size = buf.capacity();
    if let Some(b) = vm.userdata_mut::<Vec<u8>>(ud) {
        *b = buf;
        vm.set_userdata_size(ud, size);
    }
}

/// A new userdata holding `buf` (see [`put_buffer`]).
pub(crate) fn new_buffer(vm: &mut Vm, buf: Vec<u8>) -> Value {
    let size = buf.capacity();
    let ud = vm.new_userdata(Box::new(buf));
    vm.set_userdata_size(ud, size);
    ud
}

/// A native's one result, a string made of its buffer (no copy), once
/// the memory limit has room for it (collecting if need be).
pub(crate) fn return_string(vm: &mut Vm, b: Vec<u8>) -> LuaResult<Step> {
    vm.make_room(b.len())?;
    let s = vm.new_str_from_vec(b);
    vm.push(s);
    Ok(Step::Return(1))
}

/// An OS error as C's `strerror` words it (Rust's `Display` adds
/// " (os error N)"), for the messages Lua builds from `errno`.
pub(crate) fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// `b` up to its first NUL: what a C function receiving it sees.
pub(crate) fn until_nul(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// Argument `i` as the C string PUC Lua would pass on.
pub(crate) fn check_c_string(vm: &mut Vm, args: Args, i: usize) -> LuaResult<Vec<u8>> {
    let s = vm.check_string(args, i)?;
    // Copied (and then scanned by the system): paid for.
    vm.charge_scan(s)?;
    Ok(until_nul(vm.str_bytes(s).unwrap_or_default()).to_vec())
}

/// `luaL_fileresult`: the value, or `nil, "name: message", errno` (the
/// message alone without a name).
pub(crate) fn file_result(
    vm: &mut Vm,
    r: std::io::Result<Value>,
    name: Option<&[u8]>,
) -> LuaResult<Step> {
    let e = match r {
        Ok(v) => {
            vm.push(v);
            return Ok(Step::Return(1));
        }
        Err(e) => e,
    };
    let mut msg = Vec::new();
    if let Some(name) = name {
        msg.extend_from_slice(name);
        msg.extend_from_slice(b": ");
    }
    msg.extend_from_slice(os_error_text(&e).as_bytes());
    let msg = vm.new_str(&msg);
    vm.push(Value::Nil);
    vm.push(msg);
    vm.push(Value::Int(e.raw_os_error().unwrap_or(0).into()));
    Ok(Step::Return(3))
}

/// `luaL_execresult` for a finished command: `true|nil, "exit"|"signal",
/// code`.
pub(crate) fn exec_result(vm: &mut Vm, status: ExitStatus) -> LuaResult<Step> {
    let (what, code) = match (status.code(), status.signal()) {
        (Some(code), _) => ("exit", code),
        (None, Some(signal)) => ("signal", signal),
        // A stopped child is not reported by the wait `status` makes.
        (None, None) => ("exit", status.into_raw()),
    };
    let first = if what == "exit" && code == 0 {
        Value::Bool(true)
    } else {
        Value::Nil
    };
    let what = vm.new_str(what.as_bytes());
    vm.push(first);
    vm.push(what);
    vm.push(Value::Int(code.into()));
    Ok(Step::Return(3))
}
