//! The base library (`lbaselib.c`): `print`, `pcall`, `setmetatable`, ...
//!
//! `pcall`, `xpcall` and `pairs` (with `__pairs`) run their callees through
//! `Vm::pcallk`/`Vm::callk` and named continuations, so they never
//! recurse into the interpreter; so do the Lua functions the others reach:
//! `__tostring` from `tostring` and `print` (`resumable.rs`), `__index`
//! from `ipairs`'s iterator, `load`'s reader function. All of them run
//! under the budget and may yield (PUC Lua: "attempt to yield across a
//! C-call boundary").
//!
//! Cost model: one unit a call; `load`, `loadfile` and `dofile` pay one
//! more unit for every byte of the chunk they compile, before compiling
//! it (the compiler runs in one go; a reader's pieces pay as they come);
//! `collectgarbage` pays one unit for every 32 bytes in use for a full
//! collection.

use std::io::Write;

use vm_core::{Args, Lazy, LuaError, LuaResult, Meta, Status, Step, Value, Vm};

use crate::chunkfile::{self, Loaded};
use crate::resumable::{int_at, pause, set_int, PhaseLog};
use crate::string::cost::charge_bytes;

natives! {
    natives {
        PRINT = "base.print" as "print" => print;
        ASSERT = "base.assert" as "assert" => assert;
        ERROR = "base.error" as "error" => error;
        PCALL = "base.pcall" as "pcall" => pcall;
        XPCALL = "base.xpcall" as "xpcall" => xpcall;
        TYPE = "base.type" as "type" => type_;
        TOSTRING = "base.tostring" as "tostring" => tostring;
        TONUMBER = "base.tonumber" as "tonumber" => tonumber;
        SELECT = "base.select" as "select" => select;
        IPAIRS = "base.ipairs" as "ipairs" => ipairs;
        IPAIRS_AUX = "base.ipairs_aux" as "ipairs_aux" => ipairs_aux;
        PAIRS = "base.pairs" as "pairs" => pairs;
        NEXT = "base.next" as "next" => next;
        RAWGET = "base.rawget" as "rawget" => rawget;
        RAWSET = "base.rawset" as "rawset" => rawset;
        RAWEQUAL = "base.rawequal" as "rawequal" => rawequal;
        RAWLEN = "base.rawlen" as "rawlen" => rawlen;
        SETMETATABLE = "base.setmetatable" as "setmetatable" => setmetatable;
        GETMETATABLE = "base.getmetatable" as "getmetatable" => getmetatable;
        COLLECTGARBAGE = "base.collectgarbage" as "collectgarbage" => collectgarbage;
        LOAD = "base.load" as "load" => load;
        LOAD_TEXT = "base.load_text" as "load" => load_text;
        LOADFILE = "base.loadfile" as "loadfile" => loadfile;
        DOFILE = "base.dofile" as "dofile" => dofile;
        WARN = "base.warn" as "warn" => warn;
    }
    continuations {
        PCALL_K = "base.pcall_k" => pcall_k;
        XPCALL_K = "base.xpcall_k" => xpcall_k;
        PAIRS_K = "base.pairs_k" => pairs_k;
        DOFILE_K = "base.dofile_k" => dofile_k;
        DOFILE_LOAD_K = "base.dofile_load_k" => dofile_load_k;
        LOADFILE_K = "base.loadfile_k" => loadfile_k;
        PRINT_K = "base.print_k" => print_k;
        TOSTRING_K = "base.tostring_k" => tostring_k;
        IPAIRS_AUX_K = "base.ipairs_aux_k" => ipairs_aux_k;
        LOAD_K = "base.load_k" => load_k;
        LOAD_STRING_K = "base.load_string_k" => load_string_k;
    }
}

/// Installs the base library into the globals.
pub fn open_base(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    install(vm, &LAZY)
}

/// Installs the base library of the sandbox profile: no `dofile` or
/// `loadfile` (no file access), and a `load` of text chunks only.
pub fn open_base_sandboxed(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&SANDBOX_NATIVES)?;
    install(vm, &SANDBOX_LAZY)
}

/// Installs the base library with its functions made on first use
/// ([`Vm::open_lazily`]); `sandboxed` for the sandbox profile's.
pub fn open_base_lazily(vm: &mut Vm, sandboxed: bool) -> LuaResult<()> {
    let (natives, functions): (_, &'static [Lazy]) = if sandboxed {
        (&SANDBOX_NATIVES, &SANDBOX_LAZY)
    } else {
        (&NATIVES, &LAZY)
    };
    vm.register_natives(natives)?;
    vm.warn_to_stderr();
    vm.open_lazily(functions)
}

/// The globals of the base library that are functions, as `open_base`
/// installs them and `open_base_lazily` makes them on first use.
macro_rules! functions {
    ($($extra:expr),*) => {
        [
            Lazy::Function(&PRINT),
            Lazy::Function(&ASSERT),
            Lazy::Function(&ERROR),
            Lazy::Function(&PCALL),
            Lazy::Function(&XPCALL),
            Lazy::Function(&TYPE),
            Lazy::Function(&TOSTRING),
            Lazy::Function(&TONUMBER),
            Lazy::Function(&SELECT),
            Lazy::Function(&NEXT),
            Lazy::Function(&RAWGET),
            Lazy::Function(&RAWSET),
            Lazy::Function(&RAWEQUAL),
            Lazy::Function(&RAWLEN),
            Lazy::Function(&SETMETATABLE),
            Lazy::Function(&GETMETATABLE),
            Lazy::Function(&COLLECTGARBAGE),
            Lazy::Function(&WARN),
            // `pairs` and `ipairs` return the same iterator functions
            // every time: their upvalues.
            Lazy::Global {
                name: "pairs",
                make: |vm| {
                    let next = vm.new_native(&NEXT);
                    vm.new_native_closure(&PAIRS, vec![next])
                },
            },
            Lazy::Global {
                name: "ipairs",
                make: |vm| {
                    let aux = vm.new_native(&IPAIRS_AUX);
                    vm.new_native_closure(&IPAIRS, vec![aux])
                },
            },
            // The values: made on first use too (most agents never read
            // them), `_G` as a library (`package.loaded._G`).
            Lazy::Library {
                name: "_G",
                globals: &[],
                string_metatable: false,
                natives: None,
                open: open_globals,
            },
            Lazy::Global {
                name: "_VERSION",
                make: |vm| Ok(vm.new_str(b"Lua 5.4")),
            },
            $($extra),*
        ]
    };
}

/// The base library's functions.
pub static LAZY: [Lazy; 25] = functions!(
    Lazy::Function(&LOAD),
    Lazy::Function(&LOADFILE),
    Lazy::Function(&DOFILE)
);

/// The sandbox profile's base functions: a `load` of text chunks only, no
/// `dofile` or `loadfile`.
pub static SANDBOX_LAZY: [Lazy; 23] = functions!(Lazy::Function(&LOAD_TEXT));

/// Installs `globals` at once, and the warning handler.
fn install(vm: &mut Vm, globals: &[Lazy]) -> LuaResult<()> {
    for &g in globals {
        match g {
            Lazy::Function(f) => {
                let v = vm.new_native(f);
                vm.install_global(f.name, v)?;
            }
            Lazy::Global { name, make } => {
                let v = make(vm)?;
                vm.install_global(name, v)?;
            }
            Lazy::Library { open, .. } => open(vm)?,
        }
    }
    vm.warn_to_stderr();
    Ok(())
}

/// `_G`: the globals, as a global and as `package.loaded._G`.
fn open_globals(vm: &mut Vm) -> LuaResult<()> {
    let g = vm.globals_ref();
    vm.install_global("_G", Value::Table(g))?;
    vm.register_library("_G", g)
}

/// The natives and continuations of the sandbox profile's base library
/// (`open_base_sandboxed`), which it registers instead of [`NATIVES`]:
/// without `dofile`, `loadfile` and the `load` of binary chunks, so that a
/// snapshot restored into a sandbox cannot bring them back.
pub static SANDBOX_NATIVES: vm_core::NativeList = vm_core::NativeList {
    natives: &[
        &PRINT,
        &ASSERT,
        &ERROR,
        &PCALL,
        &XPCALL,
        &TYPE,
        &TOSTRING,
        &TONUMBER,
        &SELECT,
        &IPAIRS,
        &IPAIRS_AUX,
        &PAIRS,
        &NEXT,
        &RAWGET,
        &RAWSET,
        &RAWEQUAL,
        &RAWLEN,
        &SETMETATABLE,
        &GETMETATABLE,
        &COLLECTGARBAGE,
        &LOAD_TEXT,
        &WARN,
    ],
    continuations: &[
        &PCALL_K,
        &XPCALL_K,
        &PAIRS_K,
        &PRINT_K,
        &TOSTRING_K,
        &IPAIRS_AUX_K,
        &LOAD_K,
        &LOAD_STRING_K,
    ],
};

/// An error whose value is `msg` as is, without a position (`lua_error`
/// of a pushed string).
pub(crate) fn plain_error(vm: &mut Vm, msg: &str) -> LuaError {
    LuaError::new(vm.new_str(msg.as_bytes()))
}

/// `print(...)`: each argument through `tostring` (whose `__tostring` runs
/// through the interpreter, so it can be suspended), written as soon as it
/// is converted, as `luaB_print` does. State: the index of the next
/// argument, in the slot above the arguments; each argument is a phase.
fn print(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if let Some(line) = plain_line(vm, args)? {
        let _ = std::io::stdout().lock().write_all(&line);
        return Ok(Step::Return(0));
    }
    vm.push(Value::Int(0));
    print_run(vm, args)
}

/// The longest line `print` builds before writing it.
const PLAIN_LINE_MAX: usize = 1 << 16;

/// The common case of `print`: arguments that are strings, numbers,
/// booleans or nil, none with a `__tostring`, and a short line. It is
/// written with one write, so that the lines of programs printing on
/// several threads (a work-stealing scheduler's) do not mix. `None`: the
/// general path, an argument at a time.
fn plain_line(vm: &mut Vm, args: Args) -> LuaResult<Option<Vec<u8>>> {
    let mut line = Vec::new();
    for i in 1..=args.len() {
        let v = vm.arg(args, i);
        if !vm.metamethod(v, vm_core::Tm::ToString).is_nil() {
            return Ok(None);
        }
        if i > 1 {
            line.push(b'\t');
        }
        match v {
            Value::Str(_) => {
                let bytes = vm.str_bytes(v).unwrap_or_default();
                if line.len() + bytes.len() > PLAIN_LINE_MAX {
                    return Ok(None);
                }
                line.extend_from_slice(bytes);
                // Written out: paid for as `io.write` pays.
                vm.charge_scan(v)?;
            }
            Value::Int(_) | Value::Num(_) => line.extend_from_slice(vm.to_display(v).as_bytes()),
            Value::Bool(b) => line.extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Nil => line.extend_from_slice(b"nil"),
            _ => return Ok(None),
        }
    }
    line.push(b'\n');
    Ok(Some(line))
}

fn print_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, args.len() + 1, ctx);
    print_run(vm, args)
}

fn print_run(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let n = args.len();
    loop {
        let i = int_at(vm, args, n) as usize;
        // Like C's fwrite to stdout, a failed write is silently ignored.
        if i == n {
            let _ = std::io::stdout().lock().write_all(b"\n");
            return Ok(Step::Return(0));
        }
        let mut log = PhaseLog::open(args, n + 1);
        let Some(s) = log.tostring(vm, vm.arg(args, i + 1))? else {
            return Ok(log.request(vm, &PRINT_K));
        };
        // Written out: paid for as `io.write` pays.
        vm.charge_scan(s)?;
        {
            let mut out = std::io::stdout().lock();
            if i > 0 {
                let _ = out.write_all(b"\t");
            }
            let _ = out.write_all(vm.str_bytes(s).unwrap_or_default());
        }
        set_int(vm, args, n, i as i64 + 1);
        if log.commit(vm)? {
            return Ok(pause(vm, &PRINT_K));
        }
    }
}

fn assert(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.check_any(args, 1)?;
    if v.truthy() {
        return Ok(Step::Return(args.len()));
    }
    // Like `error(message or "assertion failed!")`, at level 1.
    let msg = if args.len() >= 2 {
        vm.arg(args, 2)
    } else {
        vm.new_str(b"assertion failed!")
    };
    // As `error`'s: a string message with a position is copied once more.
    vm.charge_scan(msg)?;
    Err(raise(vm, msg, 1))
}

fn error(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.arg(args, 1);
    // A string error with a position is copied once more.
    vm.charge_scan(v)?;
    let level = if args.len() >= 2 {
        vm.check_integer(args, 2)?
    } else {
        1
    };
    // Finding the level's position walks the stack down to it.
    if let (Value::Str(_), Ok(l)) = (v, usize::try_from(level)) {
        crate::debug::charge_levels(vm, l)?;
    }
    Err(raise(vm, v, level))
}

/// The error `error(v, level)` raises: strings get the position of `level`.
fn raise(vm: &mut Vm, v: Value, level: i64) -> vm_core::LuaError {
    if let (Value::Str(_), true) = (v, level > 0) {
        let w = vm.where_(level as usize);
        let msg = [w.as_bytes(), vm.str_bytes(v).unwrap_or_default()].concat();
        let s = vm.new_str(&msg);
        return vm_core::LuaError::new(s);
    }
    vm_core::LuaError::new(v)
}

fn pcall(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_any(args, 1)?;
    Ok(vm.pcallk(args.len() - 1, None, &PCALL_K, 0))
}

/// Results of the protected call start at the callee's slot (offset 0):
/// prefix them with the status.
fn pcall_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    vm.frame_insert(args, 0, Value::Bool(status == Status::Ok));
    Ok(Step::Return(vm.frame_top(args)))
}

fn xpcall(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_function(args, 2)?;
    // Put the handler below the function: [msgh, f, args...].
    let (f, h) = (vm.arg(args, 1), vm.arg(args, 2));
    vm.set_arg(args, 1, h);
    vm.set_arg(args, 2, f);
    let handler = vm.frame_slot(args, 0);
    Ok(vm.pcallk(args.len() - 2, Some(handler), &XPCALL_K, 0))
}

/// Results (or the error) start at offset 1; offset 0 held the handler.
fn xpcall_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    vm.set_arg(args, 1, Value::Bool(status == Status::Ok));
    Ok(Step::Return(vm.frame_top(args)))
}

fn type_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.check_any(args, 1)?;
    let s = vm.new_str(v.type_name().as_bytes());
    vm.push(s);
    Ok(Step::Return(1))
}

/// `tostring(v)`: `__tostring` runs through the interpreter (one phase,
/// its log above the arguments).
fn tostring(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_any(args, 1)?;
    tostring_run(vm, args)
}

fn tostring_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, args.len(), ctx);
    tostring_run(vm, args)
}

fn tostring_run(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let mut log = PhaseLog::open(args, args.len());
    match log.tostring(vm, vm.arg(args, 1))? {
        Some(s) => {
            vm.push(s);
            Ok(Step::Return(1))
        }
        None => Ok(log.request(vm, &TOSTRING_K)),
    }
}

fn tonumber(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if args.len() < 2 || vm.arg(args, 2).is_nil() {
        let v = vm.check_any(args, 1)?;
        vm.charge_scan(v)?;
        let r = vm.to_number_value(v).unwrap_or(Value::Nil);
        vm.push(r);
        return Ok(Step::Return(1));
    }
    let base = vm.check_integer(args, 2)?;
    vm.charge_scan(vm.arg(args, 1))?;
    let s = match vm.arg(args, 1) {
        Value::Str(_) => vm.str_bytes(vm.arg(args, 1)).unwrap_or_default().to_vec(),
        _ => return Err(vm.type_error_arg(args, 1, "string")),
    };
    if !(2..=36).contains(&base) {
        return Err(vm.arg_error(2, "base out of range"));
    }
    let r = parse_int_base(&s, base as u32).map_or(Value::Nil, Value::Int);
    vm.push(r);
    Ok(Step::Return(1))
}

/// An integer numeral in `base` (2..=36) with optional sign and
/// surrounding whitespace; wraps around like `luaL_tonumber`'s loop.
fn parse_int_base(s: &[u8], base: u32) -> Option<i64> {
    let s = s.trim_ascii();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(36)?;
        if d >= base {
            return None;
        }
        n = n.wrapping_mul(base as i64).wrapping_add(d as i64);
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

fn select(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let n = args.len() as i64;
    if let Some(b"#") = vm.str_bytes(vm.arg(args, 1)) {
        vm.push(Value::Int(n - 1));
        return Ok(Step::Return(1));
    }
    let i = vm.check_integer(args, 1)?;
    let i = if i < 0 {
        n + i
    } else if i > 0 {
        i.min(n)
    } else {
        0
    };
    if i < 1 {
        return Err(vm.arg_error(1, "index out of range"));
    }
    Ok(Step::Return((n - i) as usize))
}

fn ipairs(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.check_any(args, 1)?;
    vm.push(vm.upvalue(args, 1));
    vm.push(t);
    vm.push(Value::Int(0));
    Ok(Step::Return(3))
}

/// `ipairs`'s iterator: `i + 1, t[i + 1]`, or nil at the first nil. An
/// `__index` runs through the interpreter (continuing in `ipairs_aux_k`,
/// with `i + 1` as the context).
fn ipairs_aux(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let i = vm.check_integer(args, 2)?.wrapping_add(1);
    match vm.index_k(vm.arg(args, 1), Value::Int(i))? {
        Meta::Done(v) => Ok(ipairs_result(vm, i, v)),
        Meta::Call(nargs) => Ok(vm.callk(nargs, &IPAIRS_AUX_K, i)),
    }
}

/// The `__index` call's first result is the value (its function was
/// pushed above the arguments).
fn ipairs_aux_k(vm: &mut Vm, args: Args, _status: Status, i: i64) -> LuaResult<Step> {
    let v = vm.frame_get(args, args.len());
    vm.frame_truncate(args, args.len());
    Ok(ipairs_result(vm, i, v))
}

fn ipairs_result(vm: &mut Vm, i: i64, v: Value) -> Step {
    if v.is_nil() {
        vm.push(Value::Nil);
        return Step::Return(1);
    }
    vm.push(Value::Int(i));
    vm.push(v);
    Step::Return(2)
}

fn pairs(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.check_any(args, 1)?;
    let h = vm.metamethod(t, vm_core::Tm::Pairs);
    if h.is_nil() {
        vm.push(vm.upvalue(args, 1));
        vm.push(t);
        vm.push(Value::Nil);
        return Ok(Step::Return(3));
    }
    vm.push(h);
    vm.push(t);
    Ok(vm.callk(1, &PAIRS_K, 0))
}

/// Charges a full collection: it scans the whole heap, one unit every 32
/// bytes in use.
fn charge_collection(vm: &mut Vm) -> LuaResult<()> {
    vm.charge((vm.memory_used() / 32) as u64)
}

/// `__pairs` results: exactly three values.
fn pairs_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let first = args.len();
    vm.frame_truncate(args, first + 3);
    while vm.frame_top(args) < first + 3 {
        vm.push(Value::Nil);
    }
    Ok(Step::Return(3))
}

fn next(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.check_table(args, 1)?;
    match vm.next(t, vm.arg(args, 2))? {
        Some((k, v)) => {
            vm.push(k);
            vm.push(v);
            Ok(Step::Return(2))
        }
        None => {
            vm.push(Value::Nil);
            Ok(Step::Return(1))
        }
    }
}

fn rawget(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.check_table(args, 1)?;
    vm.check_any(args, 2)?;
    let v = vm.raw_get(t, vm.arg(args, 2));
    vm.push(v);
    Ok(Step::Return(1))
}

fn rawset(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.check_table(args, 1)?;
    vm.check_any(args, 2)?;
    vm.check_any(args, 3)?;
    vm.raw_set(t, vm.arg(args, 2), vm.arg(args, 3))?;
    vm.push(Value::Table(t));
    Ok(Step::Return(1))
}

fn rawequal(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let a = vm.check_any(args, 1)?;
    let b = vm.check_any(args, 2)?;
    vm.push(Value::Bool(a.raw_eq(b)));
    Ok(Step::Return(1))
}

fn rawlen(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let n = match vm.arg(args, 1) {
        Value::Table(t) => vm.raw_len(t),
        v @ Value::Str(_) => vm.str_bytes(v).map_or(0, |b| b.len() as i64),
        _ => return Err(vm.type_error_arg(args, 1, "table or string")),
    };
    vm.push(Value::Int(n));
    Ok(Step::Return(1))
}

fn setmetatable(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.check_table(args, 1)?;
    let mt = match vm.arg(args, 2) {
        Value::Nil if args.len() >= 2 => None,
        Value::Table(m) => Some(m),
        _ => return Err(vm.type_error_arg(args, 2, "nil or table")),
    };
    if let Some(old) = vm.metatable(Value::Table(t)) {
        if !vm.raw_get_str(old, "__metatable").is_nil() {
            return Err(vm.error("cannot change a protected metatable"));
        }
    }
    vm.set_metatable(Value::Table(t), mt)?;
    vm.push(Value::Table(t));
    Ok(Step::Return(1))
}

fn getmetatable(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.check_any(args, 1)?;
    let r = match vm.metatable(v) {
        None => Value::Nil,
        Some(mt) => {
            let protected = vm.raw_get_str(mt, "__metatable");
            if protected.is_nil() {
                Value::Table(mt)
            } else {
                protected
            }
        }
    };
    vm.push(r);
    Ok(Step::Return(1))
}

fn collectgarbage(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    // `luaL_checkoption` (a number is its text); a long name is copied,
    // and quoted when refused: paid for.
    let opt = match vm.opt_string(args, 1)? {
        None => "collect".to_string(),
        Some(v) => {
            vm.charge_scan(v)?;
            String::from_utf8_lossy(vm.str_bytes(v).unwrap_or_default()).into_owned()
        }
    };
    let r = match opt.as_str() {
        // The finalizers the collection finds run as soon as this call
        // returns, at the caller's next instruction, through the
        // interpreter loop (preempted by the budget like any Lua code).
        "collect" => {
            charge_collection(vm)?;
            vm.full_gc();
            Value::Int(0)
        }
        "step" => {
            // The size of the step (a whole cycle here) must be a number.
            optional_integer(vm, args, 2)?;
            charge_collection(vm)?;
            vm.full_gc();
            Value::Bool(true)
        }
        "count" => Value::Num(vm.memory_used() as f64 / 1024.0),
        "isrunning" => Value::Bool(vm.gc_is_running()),
        "stop" => {
            vm.gc_set_running(false);
            Value::Int(0)
        }
        "restart" => {
            // The collection a restart brings on is paid for here, as
            // `collect` pays for its own.
            charge_collection(vm)?;
            vm.gc_set_running(true);
            Value::Int(0)
        }
        // Deprecated in 5.4 but supported: the previous value.
        "setpause" => {
            let p = optional_integer(vm, args, 2)?.unwrap_or(0);
            Value::Int(vm.gc_set_pause(gc_param(p)).into())
        }
        "setstepmul" => {
            let m = optional_integer(vm, args, 2)?.unwrap_or(0);
            Value::Int(vm.gc_set_stepmul(gc_param(m)).into())
        }
        "incremental" | "generational" => {
            let generational = opt == "generational";
            // Integer parameters: pause and step multiplier for the
            // incremental mode (0 keeps the current one); the generational
            // ones are accepted unused.
            let p = optional_integer(vm, args, 2)?.unwrap_or(0);
            let m = optional_integer(vm, args, 3)?.unwrap_or(0);
            if !generational {
                if p != 0 {
                    vm.gc_set_pause(gc_param(p));
                }
                if m != 0 {
                    vm.gc_set_stepmul(gc_param(m));
                }
            }
            let was = vm.gc_set_generational(generational);
            vm.new_str(if was { b"generational" } else { b"incremental" })
        }
        _ => return Err(vm.arg_error(1, &format!("invalid option '{opt}'"))),
    };
    vm.push(r);
    Ok(Step::Return(1))
}

/// A collector parameter as PUC Lua 5.4 keeps it (`setgcparam`): a C
/// `int`, stored in a byte as a quarter (so 150 reads back as 148).
fn gc_param(v: i64) -> u32 {
    u32::from((v as i32 / 4) as u8) * 4
}

/// `load(chunk [, chunkname [, mode [, env]]])`: a string, or a reader
/// function called until it returns nil or an empty string. The reader runs
/// through the interpreter (`Vm::pcallk`, one call a piece, continuing in
/// `load_k`), so it may be suspended or yield; its pieces go to a chunk
/// loader (`Vm::load_start`) above the arguments, which parses them as
/// they come. A string longer than a step (`chunkfile::LOAD_STEP`) goes to
/// a loader too, a step at a time. Failures, the reader's errors
/// included, are returned as `nil, message`.
fn load(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    load_with(vm, args, LOAD_ANY)
}

/// `load` of the sandbox profile: text chunks only, whatever the mode
/// argument says (binary chunks are not checked for everything the
/// interpreter trusts the compiler with).
fn load_text(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    load_with(vm, args, LOAD_TEXT_ONLY)
}

/// `load`'s context: whether the mode argument is overridden by "t".
const LOAD_ANY: i64 = 0;
const LOAD_TEXT_ONLY: i64 = 1;

/// `load`, with its mode argument overridden when `forced` says so. The
/// arguments are checked in `luaB_load`'s order: mode, chunk name, then
/// the reader's type.
fn load_with(vm: &mut Vm, args: Args, forced: i64) -> LuaResult<Step> {
    // (Its type only: the mode is read where it is used.)
    vm.opt_string(args, 3)?;
    let chunk = vm.arg(args, 1);
    let text = matches!(chunk, Value::Str(_) | Value::Int(_) | Value::Num(_));
    let name = if text {
        let chunk = vm.check_string(args, 1)?;
        // A chunk is its own name unless given one (`luaB_load`); then
        // its compilation (a unit per byte, in steps) pays for the name's
        // copies too.
        let (name, paid) = match vm.opt_string(args, 2)? {
            Some(name) => (name, false),
            None => (chunk, true),
        };
        let Some(name) = chunk_name(vm, name, paid)? else {
            return Ok(load_out_of_memory(vm));
        };
        if vm.str_bytes(chunk).map_or(0, <[u8]>::len) <= chunkfile::LOAD_STEP {
            let b = vm.str_bytes(chunk).unwrap_or_default().to_vec();
            return finish_load_bytes(vm, args, &b, &name, forced);
        }
        name
    } else {
        let name = match vm.opt_string(args, 2)? {
            Some(n) => match chunk_name(vm, n, false)? {
                Some(name) => name,
                None => return Ok(load_out_of_memory(vm)),
            },
            None => "=(load)".to_owned(),
        };
        vm.check_function(args, 1)?;
        name
    };
    let mode = match forced {
        LOAD_TEXT_ONLY => "t".to_owned(),
        _ => load_mode(vm, args, 3)?,
    };
    vm.frame_truncate(args, args.len());
    let loader = vm.load_start(&name, &mode);
    vm.push(loader);
    if text {
        // A long string goes to the loader a step at a time, as a file
        // does, pausing between steps (`load_string_k`).
        return load_string_k(vm, args, Status::Ok, 0);
    }
    Ok(call_reader(vm, args, forced))
}

/// A chunk's name as the loader takes it, paid for: it may be as long as
/// a chunk (a long chunk is its own name unless given one, `luaB_load`),
/// and it is copied twice (here and as the prototypes' source), so the
/// room is asked for first: `None` when it is lacking. `paid`: the copies
/// are paid for already.
fn chunk_name(vm: &mut Vm, name: Value, paid: bool) -> LuaResult<Option<String>> {
    let len = vm.str_bytes(name).map_or(0, <[u8]>::len);
    if !paid {
        charge_bytes(vm, len.saturating_mul(2))?;
    }
    let room = len.saturating_mul(2);
    if vm.reserve_memory(room).is_err() || !vm_core::can_allocate(room) {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(vm.str_bytes(name).unwrap_or_default()).into_owned(),
    ))
}

/// Requests the reader's next piece (above the loader).
fn call_reader(vm: &mut Vm, args: Args, forced: i64) -> Step {
    vm.push(vm.arg(args, 1));
    vm.pcallk(0, None, &LOAD_K, forced)
}

/// The reader returned (its first result is the piece, where it was
/// pushed) or failed (its error there). Each piece goes to the loader,
/// which parses the statements it completes.
fn load_k(vm: &mut Vm, args: Args, status: Status, forced: i64) -> LuaResult<Step> {
    let at = args.len() + 1;
    let piece = vm.frame_get(args, at);
    vm.frame_truncate(args, at);
    if status == Status::Error {
        return Ok(load_failed(vm, piece));
    }
    let piece = match piece {
        Value::Nil => None,
        Value::Str(_) => vm
            .str_bytes(piece)
            .filter(|b| !b.is_empty())
            .map(<[u8]>::to_vec),
        // Numbers are strings to `lua_isstring`, converted without
        // metamethods.
        Value::Int(_) | Value::Num(_) => Some(vm.to_display(piece).into_bytes()),
        _ => {
            let e = vm.error("reader function must return a string");
            return Ok(load_failed(vm, e.value()));
        }
    };
    let loader = vm.frame_get(args, args.len());
    let Some(piece) = piece else {
        // An `env` given, even nil, replaces the globals (`!lua_isnone`).
        let env = (args.len() >= 4).then(|| vm.arg(args, 4));
        let loaded = vm.load_finish(loader, env);
        return finish_load(vm, loaded);
    };
    charge_compile(vm, &piece)?;
    if let Err(e) = vm.load_piece(loader, &piece) {
        return Ok(load_failed(vm, e.value()));
    }
    Ok(call_reader(vm, args, forced))
}

/// Loads the string chunk (argument 1, a string now) from byte `at` on,
/// a piece at a time into the loader above the arguments; past the
/// budget, pauses with the position as the context.
fn load_string_k(vm: &mut Vm, args: Args, _status: Status, at: i64) -> LuaResult<Step> {
    let loader = vm.frame_get(args, args.len());
    let mut at = usize::try_from(at).unwrap_or(0);
    loop {
        let chunk = vm.arg(args, 1);
        let text = vm.str_bytes(chunk).unwrap_or_default();
        let Some(rest) = text.get(at..).filter(|r| !r.is_empty()) else {
            // An `env` given, even nil, replaces the globals (`!lua_isnone`).
            let env = (args.len() >= 4).then(|| vm.arg(args, 4));
            let loaded = vm.load_finish(loader, env);
            return finish_load(vm, loaded);
        };
        let piece = rest[..rest.len().min(chunkfile::LOAD_STEP)].to_vec();
        at += piece.len();
        charge_compile(vm, &piece)?;
        if let Err(e) = vm.load_piece(loader, &piece) {
            return Ok(load_failed(vm, e.value()));
        }
        if vm.budget_spent() {
            return Ok(vm.pausek(&LOAD_STRING_K, at as i64));
        }
    }
}

/// `load`'s failure for want of memory.
fn load_out_of_memory(vm: &mut Vm) -> Step {
    let e = vm.memory_error().value();
    load_failed(vm, e)
}

/// `load`'s failure: `nil` and the error.
fn load_failed(vm: &mut Vm, e: Value) -> Step {
    vm.push(Value::Nil);
    vm.push(e);
    Step::Return(2)
}

/// Compiles `b` as `load` does with chunk name `name` (a string), its mode
/// and environment arguments, and returns the function or `nil, message`.
fn finish_load_bytes(
    vm: &mut Vm,
    args: Args,
    b: &[u8],
    name: &str,
    forced: i64,
) -> LuaResult<Step> {
    let mode = match forced {
        LOAD_TEXT_ONLY => "t".to_string(),
        _ => load_mode(vm, args, 3)?,
    };
    // An `env` given, even nil, replaces the globals (`!lua_isnone`).
    let env = (args.len() >= 4).then(|| vm.arg(args, 4));
    charge_compile(vm, b)?;
    let loaded = vm.load_chunk(b, name, &mode, env);
    finish_load(vm, loaded)
}

/// Charges the compilation of `chunk`: one unit a byte (compiling costs
/// far more than copying; binary chunks pay the same for their checks).
fn charge_compile(vm: &mut Vm, chunk: &[u8]) -> LuaResult<()> {
    vm.charge(chunk.len() as u64)
}

/// `load`'s mode argument as given (default "bt").
fn load_mode(vm: &mut Vm, args: Args, i: usize) -> LuaResult<String> {
    // Copied, scanned, and quoted by a refusal.
    Ok(paid_text(vm, args, i)?.unwrap_or_else(|| "bt".to_string()))
}

/// Optional string argument `i` as text, paid for three times over: the
/// mode or file name it is gets copied, scanned or put in a chunk name,
/// and quoted by an error.
fn paid_text(vm: &mut Vm, args: Args, i: usize) -> LuaResult<Option<String>> {
    let Some(s) = vm.opt_string(args, i)? else {
        return Ok(None);
    };
    let len = vm.str_bytes(s).map_or(0, <[u8]>::len);
    crate::string::cost::charge_bytes(vm, len.saturating_mul(3))?;
    Ok(Some(
        String::from_utf8_lossy(vm.str_bytes(s).unwrap_or_default()).into_owned(),
    ))
}

/// `load`'s results: the function, or `nil` and the error message.
fn finish_load(vm: &mut Vm, loaded: LuaResult<Value>) -> LuaResult<Step> {
    match loaded {
        Ok(f) => {
            vm.push(f);
            Ok(Step::Return(1))
        }
        Err(e) => {
            vm.push(Value::Nil);
            vm.push(e.value());
            Ok(Step::Return(2))
        }
    }
}

/// Loading a file's chunk at once (for a caller that cannot pause), and
/// the header it skips; `loadfile` and `dofile` load in steps.
pub use crate::chunkfile::{load_file, skip_file_header};

/// `loadfile([filename [, mode [, env]]])`.
fn loadfile(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = paid_text(vm, args, 1)?;
    let mode = load_mode(vm, args, 2)?;
    vm.frame_truncate(args, args.len());
    if let Err(e) = chunkfile::start(vm, name.as_deref(), &mode) {
        return finish_load(vm, Err(e));
    }
    loadfile_k(vm, args, Status::Ok, 0)
}

/// Goes on reading the file (`chunkfile::steps`), its state above the
/// arguments.
fn loadfile_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    // An `env` given, even nil, replaces the globals (`!lua_isnone`).
    let env = (args.len() >= 3).then(|| vm.arg(args, 3));
    match chunkfile::steps(vm, args, args.len(), env, &LOADFILE_K, 0)? {
        Loaded::Paused(step) => Ok(step),
        Loaded::Done(loaded) => finish_load(vm, loaded),
    }
}

/// `dofile([filename])`: runs the file's chunk and returns its results;
/// errors propagate (and the call may yield, as in 5.4).
fn dofile(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = paid_text(vm, args, 1)?;
    vm.frame_truncate(args, args.len());
    chunkfile::start(vm, name.as_deref(), "bt")?;
    dofile_load_k(vm, args, Status::Ok, 0)
}

/// Goes on reading the file, then calls its function.
fn dofile_load_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    match chunkfile::steps(vm, args, args.len(), None, &DOFILE_LOAD_K, 0)? {
        Loaded::Paused(step) => Ok(step),
        Loaded::Done(loaded) => {
            let f = loaded?;
            vm.frame_truncate(args, 0);
            vm.push(f);
            Ok(vm.callk(0, &DOFILE_K, 0))
        }
    }
}

fn dofile_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    Ok(Step::Return(vm.frame_top(args)))
}

/// `warn(msg1, ...)`: the pieces concatenated; a single `@on`/`@off`
/// turns warnings on or off (the VM's warning handler decides).
fn warn(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_string(args, 1)?;
    let mut parts = Vec::with_capacity(args.len());
    for i in 1..=args.len() {
        parts.push(vm.check_string(args, i)?);
    }
    // Copied once into the message, once more into its text.
    let len: usize = parts
        .iter()
        .map(|&s| vm.str_bytes(s).map_or(0, <[u8]>::len))
        .sum();
    crate::string::cost::charge_bytes(vm, len.saturating_mul(2))?;
    let mut msg = Vec::new();
    crate::auxlib::reserve_bytes(vm, &mut msg, len.saturating_mul(2))?;
    for s in parts {
        msg.extend_from_slice(vm.str_bytes(s).unwrap_or_default());
    }
    let msg = String::from_utf8_lossy(&msg);
    if args.len() > 1 {
        vm.warn_pieces(&msg);
    } else {
        vm.warn(&msg);
    }
    Ok(Step::Return(0))
}

/// Argument `i` as an integer when present and not nil.
fn optional_integer(vm: &mut Vm, args: Args, i: usize) -> LuaResult<Option<i64>> {
    if args.len() >= i && !vm.arg(args, i).is_nil() {
        vm.check_integer(args, i).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_int_base;

    #[test]
    fn integer_bases() {
        assert_eq!(parse_int_base(b"ff", 16), Some(255));
        assert_eq!(parse_int_base(b" -101 ", 2), Some(-5));
        assert_eq!(parse_int_base(b"z", 36), Some(35));
        assert_eq!(parse_int_base(b"2", 2), None);
        assert_eq!(parse_int_base(b"", 10), None);
        assert_eq!(parse_int_base(b"1.5", 10), None);
    }
}
