//! Debug information (`ldebug.c`): chunk names, current lines, names of
//! variables and functions recovered from bytecode for error messages
//! (`getobjname`, `varinfo`, `funcnamefromcode`), runtime errors with
//! positions, and tracebacks.

use crate::error::{LuaError, LuaResult};
use crate::func::Proto;
use crate::opcodes::Op;
use crate::state::{FrameKind, Vm, FIN, HOOKED, NO_LEVEL, TAIL};
use crate::value::Value;
use crate::vm::Src;

/// Longest chunk id (`LUA_IDSIZE`).
const ID_SIZE: usize = 60;

/// The display form of a chunk name (`luaO_chunkid`): `@file` gives the
/// file name, `=name` the name, anything else `[string "first line..."]`.
pub fn chunk_id(source: &str) -> String {
    if let Some(name) = source.strip_prefix('=') {
        return name.chars().take(ID_SIZE - 1).collect();
    }
    if let Some(file) = source.strip_prefix('@') {
        if file.len() < ID_SIZE {
            return file.to_string();
        }
        let tail: String = file
            .chars()
            .rev()
            .take(ID_SIZE - 4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return format!("...{tail}");
    }
    // Room for `max` bytes of the source, as `luaO_chunkid` has it. Only
    // those are looked at: a chunk that is its own name (megabytes, with
    // no newline) is not scanned at every error.
    let max = ID_SIZE - 15;
    let head = &source.as_bytes()[..source.len().min(max)];
    let nl = head.iter().position(|&c| c == b'\n');
    if nl.is_none() && source.len() < max {
        return format!("[string \"{source}\"]");
    }
    let mut end = nl.unwrap_or(head.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    format!("[string \"{}...\"]", &source[..end])
}

/// Kind and name of a variable, as error messages show it.
type ObjName = (&'static str, String);

fn const_str(vm: &Vm, p: &Proto, k: u32) -> Option<String> {
    match p.consts.get(k as usize) {
        Some(Value::Str(s)) => Some(String::from_utf8_lossy(vm.heap.str_bytes(*s)).into_owned()),
        _ => None,
    }
}

/// Name of the `n`-th (0-based) active local at `pc` (`luaF_getlocalname`).
pub(crate) fn local_name(p: &Proto, n: usize, pc: usize) -> Option<&str> {
    let mut count = 0;
    for lv in &p.locvars {
        if lv.start_pc as usize > pc {
            break;
        }
        if pc < lv.end_pc as usize {
            if count == n {
                return Some(&lv.name);
            }
            count += 1;
        }
    }
    None
}

/// Whether instruction `op` writes register `reg` (for `find_set_reg`).
fn sets_reg(op: Op, reg: u8) -> bool {
    use Op::*;
    match op {
        SelfOp { a, .. } => reg == a || reg == a + 1,
        LoadNil { a, b } => a <= reg && reg as u16 <= a as u16 + b as u16,
        TForCall { a, .. } => reg >= a.saturating_add(2),
        Call { a, .. } | TailCall { a, .. } | VarArg { a, .. } => reg >= a,
        ForLoop { a, .. } | ForPrep { a, .. } | TForLoop { a, .. } => reg == a,
        _ => op.result_register() == Some(reg),
    }
}

/// The last instruction before `lastpc` that certainly set `reg`
/// (`findsetreg`): sets inside code skipped by a forward jump do not count.
fn find_set_reg(p: &Proto, lastpc: usize, reg: u8) -> Option<usize> {
    let mut setreg = None;
    let mut jmptarget = 0usize;
    for (pc, &op) in p.code.iter().enumerate().take(lastpc) {
        if let Op::Jmp { sj } = op {
            let dest = (pc as i64 + 1 + sj as i64) as usize;
            if pc < dest && dest <= lastpc && dest > jmptarget {
                jmptarget = dest;
            }
            continue;
        }
        if sets_reg(op, reg) {
            setreg = if pc < jmptarget { None } else { Some(pc) };
        }
    }
    setreg
}

/// Kind and name of the value in register `reg` at `lastpc` (`getobjname`).
fn obj_name(vm: &Vm, p: &Proto, lastpc: usize, reg: u8) -> Option<ObjName> {
    if let Some(name) = local_name(p, reg as usize, lastpc) {
        return Some(("local", name.to_string()));
    }
    let pc = find_set_reg(p, lastpc, reg)?;
    match p.code[pc] {
        Op::Move { a, b } if b < a => obj_name(vm, p, pc, b),
        Op::GetTabUp { b, c, .. } => {
            let k = const_str(vm, p, c)?;
            let env = p.upvalues.get(b as usize).is_some_and(|u| u.name == "_ENV");
            Some((if env { "global" } else { "field" }, k))
        }
        Op::GetTable { b, c, .. } => {
            let key = match obj_name(vm, p, pc, c) {
                Some(("constant", k)) => k,
                _ => "?".to_string(),
            };
            Some((table_kind(vm, p, pc, b), key))
        }
        Op::GetI { .. } => Some(("field", "integer index".to_string())),
        Op::GetField { b, c, .. } => Some((table_kind(vm, p, pc, b), const_str(vm, p, c)?)),
        Op::GetUpval { b, .. } => Some(("upvalue", p.upvalues.get(b as usize)?.name.clone())),
        Op::LoadK { bx, .. } => Some(("constant", const_str(vm, p, bx)?)),
        Op::SelfOp { c, .. } => Some(("method", const_str(vm, p, c)?)),
        _ => None,
    }
}

/// "global" when register `t` holds `_ENV`, else "field" (`isEnv`).
fn table_kind(vm: &Vm, p: &Proto, pc: usize, t: u8) -> &'static str {
    match obj_name(vm, p, pc, t) {
        Some((_, name)) if name == "_ENV" => "global",
        _ => "field",
    }
}

impl Vm {
    pub(crate) fn frame_proto(&self, fi: usize) -> Option<std::sync::Arc<Proto>> {
        match self.th.frames.get(fi)?.kind {
            FrameKind::Lua(cl) => Some(self.heap.lfns[cl].proto.clone()),
            FrameKind::Native(_) => None,
        }
    }

    /// Current line of Lua frame `fi`.
    pub(crate) fn frame_line(&self, fi: usize) -> Option<u32> {
        let p = self.frame_proto(fi)?;
        let pc = self.th.frames[fi].pc as usize;
        p.lines.get(pc.saturating_sub(1)).copied()
    }

    /// `chunk:line:` of Lua frame `fi` (`luaL_where`), or "" for natives
    /// and functions without line information (stripped).
    pub(crate) fn frame_where(&self, fi: usize) -> String {
        match (self.frame_proto(fi), self.frame_line(fi)) {
            (Some(p), Some(line)) => format!("{}:{}: ", chunk_id(&p.source), line),
            _ => String::new(),
        }
    }

    /// The frame of stack level `level` of the running thread (0: the top
    /// frame). Message handlers' trampolines (`msgh.rs`) are not levels:
    /// a handler's caller is the function that failed, as in PUC Lua.
    pub(crate) fn level_frame(&self, level: usize) -> Option<usize> {
        // From the top down, as `lua_getstack` walks `ci->previous`: the
        // cost grows with the level asked for, not the stack's depth.
        let frames = &self.th.frames;
        (0..frames.len())
            .rev()
            .filter(|&fi| frames[fi].flags & NO_LEVEL == 0)
            .nth(level)
    }

    /// The frames that are stack levels, innermost first.
    fn level_frames(&self) -> Vec<usize> {
        (0..self.th.frames.len())
            .rev()
            .filter(|&fi| self.th.frames[fi].flags & NO_LEVEL == 0)
            .collect()
    }

    /// Position prefix of stack level `level` (1 = the function that called
    /// the running native), as `luaL_where`.
    pub fn where_(&self, level: usize) -> String {
        match self.level_frame(level) {
            Some(fi) => self.frame_where(fi),
            None => String::new(),
        }
    }

    /// A runtime error with the position of the running Lua function
    /// (`luaG_runerror`: line -1 in a stripped function).
    pub(crate) fn rt_error(&mut self, msg: &str) -> LuaError {
        let prefix = match self.th.frames.len().checked_sub(1) {
            None => String::new(),
            Some(fi) => match (self.frame_proto(fi), self.frame_line(fi)) {
                (Some(p), None) => format!("{}:-1: ", chunk_id(&p.source)),
                _ => self.frame_where(fi),
            },
        };
        let s = self.heap.intern(format!("{prefix}{msg}").as_bytes());
        LuaError::new(Value::Str(s))
    }

    /// " (local 'x')"-style description of an operand (`varinfo`).
    pub(crate) fn varinfo(&self, fi: usize, src: Src) -> String {
        let Some(p) = self.frame_proto(fi) else {
            return String::new();
        };
        let pc = (self.th.frames[fi].pc as usize).saturating_sub(1);
        let name = match src {
            Src::Reg(r) => obj_name(self, &p, pc, r),
            Src::Upval(u) => p
                .upvalues
                .get(u as usize)
                .map(|d| ("upvalue", d.name.clone())),
            Src::Const(k) => const_str(self, &p, k).map(|s| ("constant", s)),
            Src::Imm => None,
        };
        match name {
            Some((kind, n)) => format!(" ({kind} '{n}')"),
            None => String::new(),
        }
    }

    /// "attempt to call a X value (global 'f')" for the value at `func`.
    pub(crate) fn call_error(&mut self, func: usize) -> LuaError {
        let v = self.th.stack[func];
        let tn = self.type_name_of(v);
        let fi = self.th.frames.len().wrapping_sub(1);
        let info = match self.th.frames.last() {
            Some(ci) if ci.is_lua() => match self.funcname_from_code(fi) {
                Some((kind, name)) => format!(" ({kind} '{name}')"),
                None if func >= ci.base && func < ci.top => {
                    self.varinfo(fi, Src::Reg((func - ci.base) as u8))
                }
                None => String::new(),
            },
            _ => String::new(),
        };
        self.rt_error(&format!("attempt to call a {tn} value{info}"))
    }

    /// Name of the local variable living in stack slot `slot` of the top
    /// Lua frame.
    pub(crate) fn local_name_at(&self, slot: usize) -> Option<String> {
        let fi = self.th.frames.len().checked_sub(1)?;
        let ci = self.th.frames[fi];
        let p = self.frame_proto(fi)?;
        let reg = slot.checked_sub(ci.base)?;
        local_name(&p, reg, (ci.pc as usize).saturating_sub(1)).map(str::to_string)
    }

    /// How the function running at frame `fi` was called, as error messages
    /// and tracebacks name it (`funcnamefromcall`): e.g. `("global", "f")`.
    pub(crate) fn calling_name(&self, fi: usize) -> Option<(&'static str, String)> {
        // A tail call leaves no caller to ask (`getfuncname`).
        if self.th.frames[fi].flags & TAIL != 0 {
            return None;
        }
        let caller = fi.checked_sub(1)?;
        let flags = self.th.frames[caller].flags;
        if flags & HOOKED != 0 {
            return Some(("hook", "?".to_string()));
        }
        if flags & FIN != 0 {
            return Some(("metamethod", "__gc".to_string()));
        }
        self.funcname_from_code(caller)
    }

    /// Name of the function that the current instruction of Lua frame `fi`
    /// calls (`funcnamefromcode`): a call names its callee, any other
    /// instruction names the metamethod it runs.
    fn funcname_from_code(&self, fi: usize) -> Option<(&'static str, String)> {
        let ci = self.th.frames[fi];
        let p = self.frame_proto(fi)?;
        let pc = (ci.pc as usize).checked_sub(1)?;
        let event = match p.code[pc] {
            Op::Call { a, .. } | Op::TailCall { a, .. } => return obj_name(self, &p, pc, a),
            Op::TForCall { .. } => return Some(("for iterator", "for iterator".to_string())),
            Op::SelfOp { .. }
            | Op::GetTabUp { .. }
            | Op::GetTable { .. }
            | Op::GetI { .. }
            | Op::GetField { .. } => "index",
            Op::SetTabUp { .. } | Op::SetTable { .. } | Op::SetI { .. } | Op::SetField { .. } => {
                "newindex"
            }
            Op::AddI { .. } | Op::AddK { .. } | Op::AddKL { .. } | Op::Add { .. } => "add",
            Op::SubK { .. } | Op::SubI { .. } | Op::Sub { .. } => "sub",
            Op::MulK { .. } | Op::MulKL { .. } | Op::Mul { .. } => "mul",
            Op::ModK { .. } | Op::Mod { .. } => "mod",
            Op::PowK { .. } | Op::Pow { .. } => "pow",
            Op::DivK { .. } | Op::Div { .. } => "div",
            Op::IDivK { .. } | Op::IDiv { .. } => "idiv",
            Op::BAndK { .. } | Op::BAnd { .. } => "band",
            Op::BOrK { .. } | Op::BOr { .. } => "bor",
            Op::BXorK { .. } | Op::BXor { .. } => "bxor",
            Op::ShlI { .. } | Op::Shl { .. } => "shl",
            Op::ShrI { .. } | Op::Shr { .. } => "shr",
            Op::Unm { .. } => "unm",
            Op::BNot { .. } => "bnot",
            Op::Len { .. } => "len",
            Op::Concat { .. } => "concat",
            Op::Eq { .. } | Op::EqK { .. } | Op::EqI { .. } => "eq",
            Op::Lt { .. } | Op::LtI { .. } | Op::GtI { .. } => "lt",
            Op::Le { .. } | Op::LeI { .. } | Op::GeI { .. } => "le",
            Op::Close { .. } | Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. } => "close",
            _ => return None,
        };
        Some(("metamethod", event.to_string()))
    }

    /// Name of the running native for argument errors (`luaL_argerror`):
    /// the name it was called by, else its name in a loaded module, else
    /// "?".
    pub fn native_name(&self) -> String {
        let n = self.th.frames.len();
        if n == 0 {
            return "?".to_string();
        }
        if let Some((_, name)) = self.calling_name(n - 1) {
            return name;
        }
        let f = self.th.stack[self.th.frames[n - 1].func];
        self.global_name(f).unwrap_or_else(|| "?".to_string())
    }

    /// The stack traceback, innermost first (`luaL_traceback`), starting
    /// `level` frames below the top.
    ///
    /// Like `luaL_traceback`, a traceback of more than 22 levels shows the
    /// first 10 and the last 11, with a line saying how many it skips (a
    /// count one short of the levels left out, as PUC's).
    pub fn traceback(&self, level: usize) -> String {
        const LEVELS1: usize = 10;
        const LEVELS2: usize = 11;
        let mut out = String::from("stack traceback:");
        let levels = self.level_frames();
        let shown = levels.len().saturating_sub(level);
        for (k, &fi) in levels[levels.len() - shown..].iter().enumerate() {
            if shown > LEVELS1 + LEVELS2 + 1 && (LEVELS1..shown - LEVELS2).contains(&k) {
                if k == LEVELS1 {
                    let skipped = shown - LEVELS1 - LEVELS2 - 1;
                    out.push_str(&format!("\n\t...\t(skipping {skipped} levels)"));
                }
                continue;
            }
            out.push_str("\n\t");
            match self.th.frames[fi].kind {
                FrameKind::Native(_) => out.push_str("[C]: "),
                FrameKind::Lua(_) => match self.frame_line(fi) {
                    Some(_) => out.push_str(&self.frame_where(fi)),
                    // No line information (stripped): `chunk: in`.
                    None => {
                        if let Some(p) = self.frame_proto(fi) {
                            out.push_str(&format!("{}: ", chunk_id(&p.source)));
                        }
                    }
                },
            }
            out.push_str("in ");
            out.push_str(&self.frame_description(fi));
            if self.th.frames[fi].flags & TAIL != 0 {
                out.push_str("\n\t(...tail calls...)");
            }
        }
        out
    }

    /// How a traceback names frame `fi`, in `luaL_traceback`'s order: a
    /// global function by its global name, else how it was called, else
    /// the main chunk, a Lua function by its definition, a native as `?`.
    fn frame_description(&self, fi: usize) -> String {
        let ci = self.th.frames[fi];
        if let Some(name) = self.global_name(self.th.stack[ci.func]) {
            return format!("function '{name}'");
        }
        if let Some((kind, name)) = self.calling_name(fi) {
            return format!("{kind} '{name}'");
        }
        match ci.kind {
            FrameKind::Lua(cl) => {
                let p = &self.heap.lfns[cl].proto;
                if p.line_defined == 0 {
                    "main chunk".to_string()
                } else {
                    format!("function <{}:{}>", chunk_id(&p.source), p.line_defined)
                }
            }
            FrameKind::Native(_) => "?".to_string(),
        }
    }

    /// The name of a global variable holding function `f`
    /// (`pushglobalfuncname`, over the globals table).
    fn global_name(&self, f: Value) -> Option<String> {
        if !matches!(f, Value::LuaFn(_) | Value::Native(_)) {
            return None;
        }
        let find = |t: crate::value::TableRef| {
            self.heap.tables[t].iter().find_map(|(k, v)| match k {
                Value::Str(s) if v.raw_eq(f) => Some(self.heap.str_bytes(s)),
                _ => None,
            })
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        // Like `pushglobalfuncname`: search the loaded modules, with the
        // globals' names unqualified.
        let loaded = self
            .heap
            .find_str(b"_LOADED")
            .map(|k| self.heap.tables[self.registry].get_str(k));
        if let Some(Value::Table(loaded)) = loaded {
            for (m, v) in self.heap.tables[loaded].iter() {
                let (Value::Str(m), Value::Table(t)) = (m, v) else {
                    continue;
                };
                if let Some(field) = find(t) {
                    let module = self.heap.str_bytes(m);
                    return Some(if module == b"_G" {
                        text(field)
                    } else {
                        format!("{}.{}", text(module), text(field))
                    });
                }
            }
            // `_G` owed to the loaded modules (not made yet) is there all
            // the same for the program.
            let g = Value::Str(crate::names::name!("_G"));
            if self.owed_entry(loaded, g).is_some() {
                if let Some(field) = find(self.globals) {
                    return Some(text(field));
                }
            }
            return self.owed_function_name(f);
        }
        find(self.globals)
            .map(text)
            .or_else(|| self.owed_function_name(f))
    }
}

/// What `lua_getinfo` reports about a function, or about the function
/// running at a stack level (`lua_Debug`).
#[derive(Clone, Debug)]
pub struct DebugInfo {
    /// The chunk name the function was loaded with (`=[C]` for natives).
    pub source: String,
    /// Its display form (`luaO_chunkid`).
    pub short_src: String,
    /// `"Lua"`, `"C"` or `"main"`.
    pub what: &'static str,
    /// Line where the function starts (-1 for natives, 0 for a main chunk).
    pub line_defined: i64,
    /// Line where it ends (-1 for natives).
    pub last_line_defined: i64,
    /// The line running at that level (-1 for natives and functions
    /// inspected outside a call).
    pub current_line: i64,
    /// Number of upvalues.
    pub nups: usize,
    /// Number of fixed parameters.
    pub nparams: usize,
    /// Whether the function takes `...` (always true for natives).
    pub is_vararg: bool,
    /// How the caller named the function (levels only), and what kind of
    /// name that is (`"global"`, `"local"`, `"method"`, `"field"`,
    /// `"upvalue"`, `"for iterator"`, `"metamethod"`, or `""`).
    pub name: Option<String>,
    /// See `name`.
    pub namewhat: &'static str,
    /// The function itself.
    pub func: Value,
    /// The lines with code, in order (Lua functions; `activelines`).
    pub active_lines: Vec<u32>,
    /// Whether the level was entered by a tail call (levels only).
    pub is_tail_call: bool,
    /// While a call or return hook of the level runs: the index of the
    /// first value transferred (the arguments or the results, as locals)
    /// and how many there are; 0 and 0 otherwise.
    pub ftransfer: usize,
    /// See `ftransfer`.
    pub ntransfer: usize,
}

impl Vm {
    /// `lua_getinfo` of a function value; `None` for anything else.
    pub fn function_info(&self, f: Value) -> Option<DebugInfo> {
        match f {
            Value::LuaFn(cl) => {
                let p = &self.heap.lfns.get(cl)?.proto;
                Some(self.lua_info(p, f, -1))
            }
            Value::Native(n) => Some(DebugInfo {
                source: "=[C]".to_string(),
                short_src: "[C]".to_string(),
                what: "C",
                line_defined: -1,
                last_line_defined: -1,
                current_line: -1,
                nups: {
                    self.heap.native_fn(n)?;
                    self.heap.native_upvals(n).len()
                },
                nparams: 0,
                is_vararg: true,
                name: None,
                namewhat: "",
                func: f,
                active_lines: Vec::new(),
                is_tail_call: false,
                ftransfer: 0,
                ntransfer: 0,
            }),
            _ => None,
        }
    }

    /// `lua_getstack` plus `lua_getinfo`: the function running at stack
    /// level `level` of the running thread (0 is the running function,
    /// a native asking about its caller uses 1); `None` past the bottom.
    pub fn level_info(&self, level: usize) -> Option<DebugInfo> {
        let fi = self.level_frame(level)?;
        let func = self.th.stack[self.th.frames[fi].func];
        let mut info = match self.frame_proto(fi) {
            Some(p) => {
                let line = self.frame_line(fi).map_or(-1, i64::from);
                self.lua_info(&p, func, line)
            }
            None => self.function_info(func)?,
        };
        if let Some((kind, name)) = self.calling_name(fi) {
            info.namewhat = kind;
            info.name = Some(name);
        }
        (info.is_tail_call, info.ftransfer, info.ntransfer) = self.frame_tail_and_transfer(fi);
        Some(info)
    }

    /// The number of active stack levels of the running thread (a walk
    /// over the whole stack: to check one level, [`Vm::has_level`]).
    pub fn stack_depth(&self) -> usize {
        self.level_frames().len()
    }

    /// Whether the running thread has stack level `level`, found in time
    /// proportional to `level` (`lua_getstack`).
    pub fn has_level(&self, level: usize) -> bool {
        self.level_frame(level).is_some()
    }

    /// Runs `f` with thread `t` made the running one, for inspecting its
    /// stack (`lua_getstack` on another thread), then switches back. `f`
    /// must only read: it runs outside the interpreter's loop.
    ///
    /// # Errors
    /// "bad handle" when `t` names no thread of this VM.
    pub fn inspect_thread<R>(
        &mut self,
        t: crate::value::ThreadRef,
        f: impl FnOnce(&Vm) -> R,
    ) -> LuaResult<R> {
        self.check_owned("Vm::inspect_thread", Value::Thread(t))?;
        Ok(self.on_thread(t, |vm| f(vm)))
    }

    /// Runs `f` with thread `t` switched in (when it is a live thread other
    /// than the running one), then switches back.
    fn on_thread<R>(&mut self, t: crate::value::ThreadRef, f: impl FnOnce(&mut Vm) -> R) -> R {
        let cur = self.cur;
        if t == cur || !self.heap.threads.contains_key(t) {
            return f(self);
        }
        self.switch_to(t);
        // Back on the running thread even if `f` panics (a native's panic
        // is caught as a Lua error; the VM must not stay switched).
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
        self.switch_to(cur);
        match r {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Local `n` of the function at stack level `level` of the running
    /// thread, with its name (`lua_getlocal`): `n > 0` counts active
    /// locals (then other live stack slots, named "(temporary)" or "(C
    /// temporary)"), `n < 0` the varargs of a vararg function ("(vararg)").
    pub fn get_local(&self, level: usize, n: i64) -> Option<(String, Value)> {
        let fi = self.level_frame(level)?;
        let (name, slot) = self.find_local(fi, n)?;
        Some((name, self.th.stack[slot]))
    }

    /// Sets local `n` of stack level `level` (`lua_setlocal`); returns its
    /// name, or `None` when there is no such local.
    ///
    /// # Errors
    /// A register whose kind of value the interpreter relies on (a numeric
    /// `for` loop's hidden state, the table a constructor is filling) takes
    /// only a value of that kind; another value is refused, the register
    /// keeps its value, and the error says what it takes: "integer
    /// expected for '(for state)', got string". (PUC Lua stores the value,
    /// then reads its bits as a number or a table: a runaway loop or a
    /// crash.)
    pub fn set_local(&mut self, level: usize, n: i64, v: Value) -> Result<Option<String>, String> {
        if !self.owns(v) {
            return Err("bad handle given to Vm::set_local".to_string());
        }
        let Some(fi) = self.level_frame(level) else {
            return Ok(None);
        };
        let Some((name, slot)) = self.find_local(fi, n) else {
            return Ok(None);
        };
        self.check_trusted_kind(fi, slot, &name, v)?;
        self.th.stack[slot] = v;
        Ok(Some(name))
    }

    /// `set_local` on thread `t`'s stack (which need not be running; a
    /// dead handle has no locals).
    ///
    /// # Errors
    /// As [`Vm::set_local`].
    pub fn set_local_of(
        &mut self,
        t: crate::value::ThreadRef,
        level: usize,
        n: i64,
        v: Value,
    ) -> Result<Option<String>, String> {
        if !self.heap.threads.contains_key(t) && t != self.cur {
            return Ok(None);
        }
        self.on_thread(t, |vm| vm.set_local(level, n, v))
    }

    /// Refuses `v` for stack slot `slot` (local `name` of frame `fi`) when
    /// the slot is a register the verifier proved to hold a table or a
    /// loop's state where the frame goes on (`verify::trusted_kind`) and
    /// `v` is not of the same kind. `FORLOOP` and `SETLIST` read those
    /// registers without checking them: refusing here keeps the checks out
    /// of the interpreter's loop, and an error (rather than ignoring the
    /// value) tells the caller that nothing was stored. A value of the same
    /// kind is stored, and does what it does in PUC Lua (another loop
    /// index, count, limit or step; another table to fill).
    fn check_trusted_kind(
        &self,
        fi: usize,
        slot: usize,
        name: &str,
        v: Value,
    ) -> Result<(), String> {
        let old = self.th.stack[slot];
        let same_kind = matches!(
            (old, v),
            (Value::Table(_), Value::Table(_))
                | (Value::Int(_), Value::Int(_))
                | (Value::Num(_), Value::Num(_))
        );
        // Only tables and numbers are ever trusted.
        if same_kind || !matches!(old, Value::Table(_) | Value::Int(_) | Value::Num(_)) {
            return Ok(());
        }
        let (Some(p), Some(reg)) = (
            self.frame_proto(fi),
            slot.checked_sub(self.th.frames[fi].base),
        ) else {
            return Ok(());
        };
        let pc = self.th.frames[fi].pc as usize;
        let want = match crate::verify::trusted_kind(&p, pc, reg) {
            None => return Ok(()),
            Some(crate::verify::Trusted::Table) => "table",
            Some(crate::verify::Trusted::LoopState) if matches!(old, Value::Int(_)) => "integer",
            Some(crate::verify::Trusted::LoopState) => "float",
        };
        let got = match v {
            Value::Int(_) => "integer",
            Value::Num(_) => "float",
            _ => v.type_name(),
        };
        Err(format!("{want} expected for '{name}', got {got}"))
    }

    /// The name of parameter `n` (1-based) of Lua function `f`
    /// (`lua_getlocal` with a function): `None` past the parameters or for
    /// natives.
    pub fn param_name(&self, f: Value, n: usize) -> Option<String> {
        let Value::LuaFn(cl) = f else { return None };
        let p = &self.heap.lfns.get(cl)?.proto;
        if n == 0 || n > p.num_params as usize {
            return None;
        }
        local_name(p, n - 1, 0).map(str::to_string)
    }

    /// Name and stack slot of local `n` of frame `fi` (`luaG_findlocal`).
    fn find_local(&self, fi: usize, n: i64) -> Option<(String, usize)> {
        let ci = self.th.frames[fi];
        let proto = self.frame_proto(fi);
        if let Some(p) = &proto {
            if n < 0 {
                // Varargs sit just below the function's copy (`base - 1`).
                let nextra = ci.nvarargs as i64;
                if !p.is_vararg || n < -nextra {
                    return None;
                }
                let slot = ci.base as i64 - 1 - nextra + (-n - 1);
                return Some(("(vararg)".to_string(), usize::try_from(slot).ok()?));
            }
            let pc = (ci.pc as usize).saturating_sub(1);
            if let Some(name) = local_name(p, usize::try_from(n).ok()?.checked_sub(1)?, pc) {
                return Some((name.to_string(), ci.base + n as usize - 1));
            }
        }
        // Other live slots of the frame: up to the next frame's function,
        // or the top for the innermost one.
        let limit = match self.th.frames.get(fi + 1) {
            Some(next) => next.func,
            None => self.th.top,
        };
        let n = usize::try_from(n).ok().filter(|&n| n > 0)?;
        if limit.saturating_sub(ci.base) < n {
            return None;
        }
        let name = if proto.is_some() {
            "(temporary)"
        } else {
            "(C temporary)"
        };
        Some((name.to_string(), ci.base + n - 1))
    }

    /// Upvalue `n` (1-based) of function `f`, with its name
    /// (`lua_getupvalue`): a Lua closure's variable name, `"(no name)"`
    /// when stripped, `""` for a native's; `None` when there is no such
    /// upvalue.
    pub fn get_upvalue(&self, f: Value, n: usize) -> Option<(String, Value)> {
        let i = n.checked_sub(1)?;
        match f {
            Value::LuaFn(cl) => {
                let c = self.heap.lfns.get(cl)?;
                let uv = *c.upvals.get(i)?;
                let name = &c.proto.upvalues.get(i)?.name;
                let name = if name.is_empty() { "(no name)" } else { name };
                Some((name.to_string(), self.cell_value(uv)))
            }
            Value::Native(nc) => {
                let v = *self.heap.natives.get(nc)?.upvals.get(i)?;
                Some((String::new(), v))
            }
            _ => None,
        }
    }

    /// Sets upvalue `n` (1-based) of function `f` (`lua_setupvalue`);
    /// returns its name, or `None` when there is no such upvalue (or `v`
    /// is a handle that names no object of this VM).
    pub fn set_upvalue(&mut self, f: Value, n: usize, v: Value) -> Option<String> {
        if !self.owns(v) {
            return None;
        }
        let (name, _) = self.get_upvalue(f, n)?;
        match f {
            Value::LuaFn(cl) => {
                let uv = self.heap.lfns.get(cl)?.upvals[n - 1];
                match self.heap.upvals[uv] {
                    crate::heap::Upval::Closed(_) => {
                        self.heap.upvals[uv] = crate::heap::Upval::Closed(v);
                    }
                    crate::heap::Upval::Open { thread, slot } => {
                        let stack = if thread == self.cur {
                            Some(&mut self.th.stack)
                        } else {
                            self.heap.threads[thread].get_mut().map(|th| &mut th.stack)
                        };
                        if let Some(cell) = stack.and_then(|s| s.get_mut(slot)) {
                            *cell = v;
                        }
                    }
                }
            }
            Value::Native(nc) => self.heap.natives.get_mut(nc)?.upvals[n - 1] = v,
            _ => return None,
        }
        Some(name)
    }

    /// An identity for upvalue `n` (1-based) of Lua closure `f`
    /// (`lua_upvalueid`): closures sharing the variable get the same
    /// number, different live variables different ones. `None` for
    /// natives and indices out of range (PUC gives natives' upvalues ids
    /// too).
    pub fn upvalue_id(&self, f: Value, n: usize) -> Option<i64> {
        let Value::LuaFn(cl) = f else { return None };
        let uv = *self.heap.lfns.get(cl)?.upvals.get(n.checked_sub(1)?)?;
        Some(slotmap::Key::data(&uv).as_ffi() as i64)
    }

    /// Makes upvalue `n1` of Lua closure `f1` refer to upvalue `n2` of Lua
    /// closure `f2` (`lua_upvaluejoin`); false when either is not a Lua
    /// closure or an index is out of range.
    pub fn upvalue_join(&mut self, f1: Value, n1: usize, f2: Value, n2: usize) -> bool {
        let (Value::LuaFn(c1), Value::LuaFn(c2)) = (f1, f2) else {
            return false;
        };
        let Some(&cell) = self
            .heap
            .lfns
            .get(c2)
            .and_then(|c| c.upvals.get(n2.wrapping_sub(1)))
        else {
            return false;
        };
        // Rebound in place: frames hold the address of this slice.
        match self
            .heap
            .lfns
            .get_mut(c1)
            .and_then(|c| c.upvals.get_mut(n1.wrapping_sub(1)))
        {
            Some(slot) => {
                *slot = cell;
                true
            }
            None => false,
        }
    }

    /// The value in upvalue cell `uv`, open or closed.
    fn cell_value(&self, uv: crate::value::UpvalRef) -> Value {
        match self.heap.upvals[uv] {
            crate::heap::Upval::Closed(v) => v,
            crate::heap::Upval::Open { thread, slot } => {
                let stack = if thread == self.cur {
                    Some(&self.th.stack)
                } else {
                    self.heap.threads[thread].get().map(|th| &th.stack)
                };
                stack.and_then(|s| s.get(slot)).copied().unwrap_or_default()
            }
        }
    }

    /// The user value of userdata `u` (`lua_getiuservalue` with one value);
    /// `None` when `u` is not a full userdata.
    pub fn user_value(&self, u: Value) -> Option<Value> {
        match u {
            Value::UserData(r) => Some(self.heap.userdata.get(r)?.user_value),
            _ => None,
        }
    }

    /// Sets the user value of userdata `u`; false when `u` is not one (or
    /// `v` is a handle that names no object of this VM).
    pub fn set_user_value(&mut self, u: Value, v: Value) -> bool {
        if !self.owns(v) {
            return false;
        }
        match u {
            Value::UserData(r) => match self.heap.userdata.get_mut(r) {
                Some(ud) => {
                    ud.user_value = v;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    fn lua_info(&self, p: &Proto, func: Value, current_line: i64) -> DebugInfo {
        let mut active_lines: Vec<u32> = p
            .lines
            .iter()
            .enumerate()
            // A vararg function's VARARGPREP is not a line of its own
            // (`collectvalidlines`).
            .filter(|&(pc, _)| !(p.is_vararg && pc == 0))
            .map(|(_, &l)| l)
            .collect();
        active_lines.sort_unstable();
        active_lines.dedup();
        DebugInfo {
            source: p.source.to_string(),
            short_src: chunk_id(&p.source),
            what: if p.line_defined == 0 { "main" } else { "Lua" },
            line_defined: p.line_defined.into(),
            last_line_defined: p.last_line_defined.into(),
            current_line,
            nups: p.upvalues.len(),
            nparams: p.num_params.into(),
            is_vararg: p.is_vararg,
            name: None,
            namewhat: "",
            func,
            active_lines,
            is_tail_call: false,
            ftransfer: 0,
            ntransfer: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::chunk_id;

    #[test]
    fn chunk_ids() {
        assert_eq!(chunk_id("@foo.lua"), "foo.lua");
        assert_eq!(chunk_id("=stdin"), "stdin");
        assert_eq!(chunk_id("return 1"), "[string \"return 1\"]");
        assert_eq!(chunk_id("x = 1\nreturn x"), "[string \"x = 1...\"]");
        // PUC keeps a one-line source of up to 44 bytes, and cuts at 45.
        let a44 = "a".repeat(44);
        assert_eq!(chunk_id(&a44), format!("[string \"{a44}\"]"));
        let a45 = "a".repeat(45);
        assert_eq!(chunk_id(&a45), format!("[string \"{a45}...\"]"));
        assert_eq!(
            chunk_id(&"b".repeat(1 << 20)),
            format!("[string \"{}...\"]", "b".repeat(45))
        );
        // Never inside a character.
        let e = format!("{}é", "a".repeat(44));
        assert_eq!(chunk_id(&e), format!("[string \"{a44}...\"]"));
    }
}
