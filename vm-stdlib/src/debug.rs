//! The debug library (`ldblib.c`): `traceback`, `getinfo`, `getlocal`,
//! `setlocal`, `getmetatable`, `setmetatable`, `getregistry`,
//! `getupvalue`, `setupvalue`, `getuservalue`, `setuservalue`,
//! `upvalueid`, `upvaluejoin`, `sethook`, `gethook` and `debug.debug`.
//! `upvalueid` returns an integer (the VM has no light userdata), and
//! none for a native's upvalues.
//!
//! Functions taking an optional thread first inspect that thread's stack
//! through `Vm::inspect_thread`.
//!
//! Hooks: a thread's VM hook is `lua_hook`, with the Lua function to call
//! as the hook's value. A new coroutine inherits its creator's VM hook
//! (and so its mask and count) but not the value, so, as in PUC Lua
//! (where the function is looked up by thread), Lua hooks do not follow
//! into coroutines unless set on them. `lua_hook` asks the VM to call the
//! Lua function (`HookStep::Call`), which runs it in the hook's frame
//! under the instruction budget: a hook that loops is suspended with the
//! run, as any Lua code.

use std::io::{BufRead, Write};

use crate::string::cost::charge_bytes;
use vm_core::ThreadRef;
use vm_core::{Args, DebugInfo, Hook, HookEvent, HookMask, HookStep, LuaResult, Step, Value, Vm};

natives! {
    natives {
        TRACEBACK = "debug.traceback" as "traceback" => traceback;
        GETINFO = "debug.getinfo" as "getinfo" => getinfo;
        GETMETATABLE = "debug.getmetatable" as "getmetatable" => getmetatable;
        SETMETATABLE = "debug.setmetatable" as "setmetatable" => setmetatable;
        GETREGISTRY = "debug.getregistry" as "getregistry" => getregistry;
        GETLOCAL = "debug.getlocal" as "getlocal" => getlocal;
        SETLOCAL = "debug.setlocal" as "setlocal" => setlocal;
        GETUPVALUE = "debug.getupvalue" as "getupvalue" => getupvalue;
        SETUPVALUE = "debug.setupvalue" as "setupvalue" => setupvalue;
        UPVALUEID = "debug.upvalueid" as "upvalueid" => upvalueid;
        UPVALUEJOIN = "debug.upvaluejoin" as "upvaluejoin" => upvaluejoin;
        GETUSERVALUE = "debug.getuservalue" as "getuservalue" => getuservalue;
        SETUSERVALUE = "debug.setuservalue" as "setuservalue" => setuservalue;
        SETHOOK = "debug.sethook" as "sethook" => sethook;
        GETHOOK = "debug.gethook" as "gethook" => gethook;
        DEBUG = "debug.debug" as "debug" => debug;
    }
}

/// Installs the `debug` table.
pub fn open_debug(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let t = vm.new_table();
    vm.register(
        t,
        &[
            &TRACEBACK,
            &GETINFO,
            &GETMETATABLE,
            &SETMETATABLE,
            &GETREGISTRY,
            &GETLOCAL,
            &SETLOCAL,
            &GETUPVALUE,
            &SETUPVALUE,
            &UPVALUEID,
            &UPVALUEJOIN,
            &GETUSERVALUE,
            &SETUSERVALUE,
            &SETHOOK,
            &GETHOOK,
            &DEBUG,
        ],
    )?;
    vm.register_library("debug", t)?;
    Ok(())
}

/// The optional thread argument (`getthread`): the thread (the running
/// one when absent) and the index of the argument before the others.
fn thread_arg(vm: &Vm, args: Args) -> (ThreadRef, usize) {
    match vm.arg(args, 1) {
        Value::Thread(t) => (t, 1),
        _ => (vm.current_thread(), 0),
    }
}

/// `debug.traceback([thread,] [message [, level]])`.
fn traceback(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (thread, a) = thread_arg(vm, args);
    let msg = vm.arg(args, a + 1);
    // A message that is neither a string nor a number is returned as is;
    // a number is converted as `lua_tostring` does, without `__tostring`.
    let msg = match msg {
        Value::Str(_) => Some(msg),
        Value::Int(_) | Value::Num(_) => {
            let text = vm.to_display(msg);
            Some(vm.new_str(text.as_bytes()))
        }
        Value::Nil => None,
        other => {
            vm.push(other);
            return Ok(Step::Return(1));
        }
    };
    let own = thread == vm.current_thread();
    let level = vm.opt_integer(args, a + 2, if own { 1 } else { 0 })?;
    // A negative level names no frame: the traceback is empty, as PUC's.
    let level = usize::try_from(level).unwrap_or(usize::MAX);
    // The levels are counted over the whole stack (a unit per frame),
    // and the message is copied (a unit per 32 bytes).
    let frames = vm.inspect_thread(thread, Vm::frame_count)?;
    vm.charge(frames as u64)?;
    let tb = vm.inspect_thread(thread, |vm| vm.traceback(level))?;
    let len = msg.map_or(0, |m| vm.str_bytes(m).map_or(0, <[u8]>::len));
    charge_bytes(vm, len)?;
    let mut out = Vec::new();
    crate::auxlib::reserve_bytes(vm, &mut out, len + 1 + tb.len())?;
    if let Some(m) = msg {
        out.extend_from_slice(vm.str_bytes(m).unwrap_or_default());
        out.push(b'\n');
    }
    out.extend_from_slice(tb.as_bytes());
    crate::auxlib::return_string(vm, out)
}

/// `debug.getinfo([thread,] f | level [, what])`.
fn getinfo(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (thread, a) = thread_arg(vm, args);
    let what = match vm.opt_string(args, a + 2)? {
        Some(s) => {
            // Copied and scanned once per option letter asked for.
            vm.charge_scan(s)?;
            String::from_utf8_lossy(vm.str_bytes(s).unwrap_or_default()).into_owned()
        }
        None => "flnSrtu".to_string(),
    };
    if what.starts_with('>') {
        return Err(vm.arg_error(a + 2, "invalid option '>'"));
    }
    if what.chars().any(|c| !"SlnrutLf".contains(c)) {
        return Err(vm.arg_error(a + 2, "invalid option"));
    }
    let target = vm.arg(args, a + 1);
    let info = match target {
        Value::LuaFn(_) | Value::Native(_) => vm.function_info(target),
        // Anything else is a level, numeric strings included
        // (`luaL_checkinteger`).
        _ => {
            let level = vm.check_integer(args, a + 1)?;
            let Ok(level) = usize::try_from(level) else {
                vm.push(Value::Nil);
                return Ok(Step::Return(1));
            };
            charge_levels(vm, level)?;
            // Our own frame is level 0 of the running thread, as in PUC.
            vm.inspect_thread(thread, |vm| vm.level_info(level))?
        }
    };
    let Some(info) = info else {
        vm.push(Value::Nil);
        return Ok(Step::Return(1));
    };
    // The source (a chunk's whole text, for `load` of a string) is
    // copied, and each active line stored.
    if what.contains('S') {
        charge_bytes(vm, info.source.len())?;
        vm.make_room(info.source.len())?;
    }
    if what.contains('L') {
        vm.charge(info.active_lines.len() as u64)?;
    }
    let t = info_table(vm, &info, &what)?;
    vm.push(t);
    Ok(Step::Return(1))
}

/// The table `getinfo` returns, with the fields `what` asks for.
fn info_table(vm: &mut Vm, info: &DebugInfo, what: &str) -> LuaResult<Value> {
    let tr = vm.new_table();
    let set_str = |vm: &mut Vm, k: &str, s: &str| {
        let v = vm.new_str(s.as_bytes());
        vm.raw_set_str(tr, k, v)
    };
    if what.contains('S') {
        set_str(vm, "source", &info.source)?;
        set_str(vm, "short_src", &info.short_src)?;
        set_str(vm, "what", info.what)?;
        vm.raw_set_str(tr, "linedefined", Value::Int(info.line_defined))?;
        vm.raw_set_str(tr, "lastlinedefined", Value::Int(info.last_line_defined))?;
    }
    if what.contains('l') {
        vm.raw_set_str(tr, "currentline", Value::Int(info.current_line))?;
    }
    if what.contains('u') {
        vm.raw_set_str(tr, "nups", Value::Int(info.nups as i64))?;
        vm.raw_set_str(tr, "nparams", Value::Int(info.nparams as i64))?;
        vm.raw_set_str(tr, "isvararg", Value::Bool(info.is_vararg))?;
    }
    if what.contains('n') {
        if let Some(name) = &info.name {
            set_str(vm, "name", name)?;
        }
        set_str(vm, "namewhat", info.namewhat)?;
    }
    if what.contains('r') {
        vm.raw_set_str(tr, "ftransfer", Value::Int(info.ftransfer as i64))?;
        vm.raw_set_str(tr, "ntransfer", Value::Int(info.ntransfer as i64))?;
    }
    if what.contains('t') {
        vm.raw_set_str(tr, "istailcall", Value::Bool(info.is_tail_call))?;
    }
    if what.contains('L') && info.what != "C" {
        let lines = vm.new_table();
        for &l in &info.active_lines {
            vm.raw_set(lines, Value::Int(l.into()), Value::Bool(true))?;
        }
        vm.raw_set_str(tr, "activelines", Value::Table(lines))?;
    }
    if what.contains('f') {
        vm.raw_set_str(tr, "func", info.func)?;
    }
    Ok(Value::Table(tr))
}

/// `debug.getlocal([thread,] f | level, n)`: a level's local as name and
/// value, or a function's parameter name.
fn getlocal(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (thread, a) = thread_arg(vm, args);
    let n = vm.check_integer(args, a + 2)?;
    let target = vm.arg(args, a + 1);
    if let Value::LuaFn(_) | Value::Native(_) = target {
        let name = usize::try_from(n)
            .ok()
            .and_then(|n| vm.param_name(target, n));
        let v = match name {
            Some(name) => vm.new_str(name.as_bytes()),
            None => Value::Nil,
        };
        vm.push(v);
        return Ok(Step::Return(1));
    }
    let level = level_arg(vm, args, a + 1, thread)?;
    let found = vm.inspect_thread(thread, |vm| vm.get_local(level, n))?;
    match found {
        Some((name, v)) => {
            let s = vm.new_str(name.as_bytes());
            vm.push(s);
            vm.push(v);
            Ok(Step::Return(2))
        }
        None => {
            vm.push(Value::Nil);
            Ok(Step::Return(1))
        }
    }
}

/// `debug.setlocal([thread,] level, n, v)`: the local's name, or nil.
fn setlocal(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (thread, a) = thread_arg(vm, args);
    let level = level_arg(vm, args, a + 1, thread)?;
    let n = vm.check_integer(args, a + 2)?;
    let v = vm.check_any(args, a + 3)?;
    let r = match vm.set_local_of(thread, level, n, v) {
        Ok(Some(name)) => vm.new_str(name.as_bytes()),
        Ok(None) => Value::Nil,
        // A loop's state or a constructor's table takes only a value of
        // its kind (`Vm::set_local`).
        Err(why) => return Err(vm.arg_error(a + 3, &why)),
    };
    vm.push(r);
    Ok(Step::Return(1))
}

/// Argument `i` as a stack level of `thread`: "level out of range" past
/// its bottom.
fn level_arg(vm: &mut Vm, args: Args, i: usize, thread: ThreadRef) -> LuaResult<usize> {
    let level = vm.check_integer(args, i)?;
    if let Ok(l) = usize::try_from(level) {
        charge_levels(vm, l)?;
    }
    match usize::try_from(level) {
        Ok(l) if vm.inspect_thread(thread, |vm| vm.has_level(l))? => Ok(l),
        _ => Err(vm.arg_error(i, "level out of range")),
    }
}

/// Charges the walk down to stack level `level` (`lua_getstack` follows
/// the frames one by one): a unit per level past the first
/// [`FREE_LEVELS`], which the native's own cost covers.
pub(crate) fn charge_levels(vm: &mut Vm, level: usize) -> LuaResult<()> {
    let walked = level.saturating_sub(FREE_LEVELS);
    if walked > 0 {
        vm.charge(walked as u64)?;
    }
    Ok(())
}

/// Stack levels a native walks down to without paying.
const FREE_LEVELS: usize = 16;

/// `debug.getmetatable(v)`: the metatable, ignoring `__metatable`.
fn getmetatable(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.check_any(args, 1)?;
    let mt = vm.metatable(v).map_or(Value::Nil, Value::Table);
    vm.push(mt);
    Ok(Step::Return(1))
}

/// `debug.setmetatable(v, mt)`: any type's metatable; returns `v`.
fn setmetatable(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.arg(args, 1);
    let mt = match vm.arg(args, 2) {
        Value::Table(t) => Some(t),
        Value::Nil => None,
        _ => return Err(vm.type_error_arg(args, 2, "nil or table")),
    };
    vm.set_metatable(v, mt)?;
    vm.push(v);
    Ok(Step::Return(1))
}

/// `debug.getregistry()`.
fn getregistry(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let r = vm.registry();
    vm.push(Value::Table(r));
    Ok(Step::Return(1))
}

/// Argument 1 as a function and argument 2 as an upvalue index.
fn function_and_index(vm: &mut Vm, args: Args) -> LuaResult<(Value, usize)> {
    let n = vm.check_integer(args, 2)?;
    let f = vm.check_function(args, 1)?;
    Ok((f, usize::try_from(n).unwrap_or(0)))
}

/// `debug.getupvalue(f, n)`: its name and value, or nothing.
fn getupvalue(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (f, n) = function_and_index(vm, args)?;
    match vm.get_upvalue(f, n) {
        Some((name, v)) => {
            let s = vm.new_str(name.as_bytes());
            vm.push(s);
            vm.push(v);
            Ok(Step::Return(2))
        }
        None => Ok(Step::Return(0)),
    }
}

/// `debug.setupvalue(f, n, v)`: its name, or nothing.
fn setupvalue(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.check_any(args, 3)?;
    let (f, n) = function_and_index(vm, args)?;
    match vm.set_upvalue(f, n, v) {
        Some(name) => {
            let s = vm.new_str(name.as_bytes());
            vm.push(s);
            Ok(Step::Return(1))
        }
        None => Ok(Step::Return(0)),
    }
}

/// `checkupval`: argument `argnup` as an upvalue index of the function
/// in argument `argf`, which must exist when `required`.
fn upvalue_arg(
    vm: &mut Vm,
    args: Args,
    argf: usize,
    argnup: usize,
    required: bool,
) -> LuaResult<(Value, usize)> {
    let n = vm.check_integer(args, argnup)?;
    let f = vm.check_function(args, argf)?;
    let n = usize::try_from(n).unwrap_or(0);
    if required && vm.get_upvalue(f, n).is_none() {
        return Err(vm.arg_error(argnup, "invalid upvalue index"));
    }
    Ok((f, n))
}

/// `debug.upvalueid(f, n)`: an identity of the variable, or fail.
fn upvalueid(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (f, n) = upvalue_arg(vm, args, 1, 2, false)?;
    let id = vm.upvalue_id(f, n).map_or(Value::Nil, Value::Int);
    vm.push(id);
    Ok(Step::Return(1))
}

/// `debug.upvaluejoin(f1, n1, f2, n2)`: `f1`'s upvalue `n1` becomes
/// `f2`'s upvalue `n2`.
fn upvaluejoin(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (f1, n1) = upvalue_arg(vm, args, 1, 2, true)?;
    let (f2, n2) = upvalue_arg(vm, args, 3, 4, true)?;
    for (i, f) in [(1, f1), (3, f2)] {
        if !matches!(f, Value::LuaFn(_)) {
            return Err(vm.arg_error(i, "Lua function expected"));
        }
    }
    vm.upvalue_join(f1, n1, f2, n2);
    Ok(Step::Return(0))
}

/// `debug.getuservalue(u [, n])`: the value and `true`, `nil` past the
/// single user value this VM gives a userdata, or fail for a non-userdata.
fn getuservalue(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let u = vm.arg(args, 1);
    let n = vm.opt_integer(args, 2, 1)?;
    match vm.user_value(u) {
        Some(v) if n == 1 => {
            vm.push(v);
            vm.push(Value::Bool(true));
            Ok(Step::Return(2))
        }
        _ => {
            vm.push(Value::Nil);
            Ok(Step::Return(1))
        }
    }
}

/// `debug.setuservalue(u, v [, n])`: `u`, or fail when there is no user
/// value `n`.
fn setuservalue(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let u = vm.arg(args, 1);
    if !matches!(u, Value::UserData(_)) {
        return Err(vm.type_error_arg(args, 1, "userdata"));
    }
    let v = vm.check_any(args, 2)?;
    let n = vm.opt_integer(args, 3, 1)?;
    if n == 1 && vm.set_user_value(u, v) {
        vm.push(u);
    } else {
        vm.push(Value::Nil);
    }
    Ok(Step::Return(1))
}

/// `debug.sethook([thread,] hook, mask [, count])`, or with no hook,
/// removes the thread's hook.
fn sethook(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (thread, a) = thread_arg(vm, args);
    let hook = if vm.is_none_or_nil(args, a + 1) {
        None
    } else {
        let smask = vm.check_string(args, a + 2)?;
        // Scanned for each event letter.
        vm.charge_scan(smask)?;
        vm.check_function(args, a + 1)?;
        // `(int)luaL_optinteger`: counts wrap to C's int.
        let count = vm.opt_integer(args, a + 3, 0)? as i32;
        let smask = vm.str_bytes(smask).unwrap_or_default();
        let mask = HookMask {
            call: smask.contains(&b'c'),
            ret: smask.contains(&b'r'),
            line: smask.contains(&b'l'),
        };
        let hook = Hook {
            func: lua_hook,
            mask,
            count: u32::try_from(count).unwrap_or(0),
            data: vm.arg(args, a + 1),
        };
        Some(hook)
    };
    // Every frame of the thread is marked (`settraps`): a unit each.
    let frames = vm.inspect_thread(thread, Vm::frame_count)?;
    vm.charge(frames as u64)?;
    vm.set_hook(thread, hook)?;
    Ok(Step::Return(0))
}

/// `debug.gethook([thread])`: the hook function, its mask and count; fail
/// without a hook, "external hook" for one set from Rust.
fn gethook(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (thread, _) = thread_arg(vm, args);
    let Some(hook) = vm.hook(thread) else {
        vm.push(Value::Nil);
        return Ok(Step::Return(1));
    };
    // One non-generic function of this crate has one address.
    let f = if hook.func as usize == (lua_hook as vm_core::HookFn) as usize {
        hook.data
    } else {
        vm.new_str(b"external hook")
    };
    let mut mask = String::new();
    for (on, c) in [
        (hook.mask.call, 'c'),
        (hook.mask.ret, 'r'),
        (hook.mask.line, 'l'),
    ] {
        if on {
            mask.push(c);
        }
    }
    let mask = vm.new_str(mask.as_bytes());
    vm.push(f);
    vm.push(mask);
    vm.push(Value::Int(hook.count.into()));
    Ok(Step::Return(3))
}

/// The VM hook of threads with a Lua hook (`hookf`): calls the running
/// thread's Lua hook function with the event's name and, for line events,
/// the line.
fn lua_hook(vm: &mut Vm, event: HookEvent) -> LuaResult<HookStep> {
    let f = vm.hook(vm.current_thread()).map_or(Value::Nil, |h| h.data);
    if !matches!(f, Value::LuaFn(_) | Value::Native(_)) {
        return Ok(HookStep::Done);
    }
    let name = vm.new_str(event.name().as_bytes());
    let line = match event {
        HookEvent::Line(l) => Value::Int(l.into()),
        _ => Value::Nil,
    };
    // The VM calls it in the hook's frame, under the budget.
    vm.push(f);
    vm.push(name);
    vm.push(line);
    Ok(HookStep::Call { nargs: 2 })
}

/// `debug.debug()`: runs each line read from standard input as a chunk
/// until a line `cont` or the end of input, reporting errors on standard
/// error (`db_debug`).
fn debug(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let stdin = std::io::stdin();
    loop {
        let _ = write!(std::io::stderr(), "lua_debug> ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return Ok(Step::Return(0)),
            Ok(_) => {}
        }
        if line == "cont\n" || line == "cont" {
            return Ok(Step::Return(0));
        }
        let r = vm
            .load(line.as_bytes(), "=(debug command)")
            .and_then(|f| vm.call_value(f, &[]));
        if let Err(e) = r {
            let msg = vm.error_to_string(&e);
            let _ = writeln!(std::io::stderr(), "{msg}");
        }
    }
}
