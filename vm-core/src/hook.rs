//! Debug hooks (`lua_sethook`, `ldebug.c`'s `luaG_traceexec`, `ldo.c`'s
//! `luaD_hook`): a Rust function a thread calls on function calls and
//! returns, on new lines and every `count` instructions.
//!
//! Hooks ride on the instruction budget, so the interpreter's fast path
//! checks nothing new. While the running thread has a hook, the budget the
//! interpreter counts down (`Vm::fuel`) is kept at zero or below and the
//! rest is held back in `Vm::fuel_reserve` (`Vm::set_fuel`): every
//! instruction then takes the slow path of an exhausted budget, which
//! first settles the real budget (`fuel + fuel_reserve`) and then traces
//! the instruction (`trace_exec`), as PUC Lua's `trap` does. Natives see
//! the same small window, so their start checks the call hook there
//! (`native_start_slow`); their returns check `Vm::hooks_seen` first.
//!
//! Events are found where they happen without marking the call paths:
//! - call: the first traced instruction of a frame the hook has not seen
//!   (`TRACED` clear; `set_hook` marks the frames already running), after
//!   `VARARGPREP` for vararg functions, as in PUC Lua; natives when they
//!   start;
//! - return: before a `RETURN` instruction runs; natives when they return;
//! - line: the first traced instruction of a frame, a backward jump, or an
//!   instruction on another line than the last one traced in that frame
//!   (coming back to a frame from a call, the last one is the call);
//! - count: every `count` traced instructions.
//!
//! A hook runs with the hooked frame on top, marked `HOOKED` (functions it
//! calls are named "?" of kind "hook"), and cannot itself be hooked or
//! yield: it calls Lua through the non-yieldable path, like PUC Lua's
//! hooks set from Lua. As in PUC Lua, the instructions a hook (or a
//! finalizer) runs still count for the count hook, and finalizers run
//! without events.

use crate::error::LuaResult;
use crate::func::Proto;
use crate::opcodes::Op;
use crate::state::{HOOKED, TAIL, TRACED};
use crate::value::{ThreadRef, Value};
use crate::Vm;

/// What a hook is called for (`lua_Debug.event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    /// A function is called.
    Call,
    /// A Lua function is entered by a tail call.
    TailCall,
    /// A function returns.
    Return,
    /// The interpreter starts a new line (the line number).
    Line(u32),
    /// `count` instructions were executed.
    Count,
}

impl HookEvent {
    /// The name the debug library passes to Lua hooks.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Call => "call",
            HookEvent::TailCall => "tail call",
            HookEvent::Return => "return",
            HookEvent::Line(_) => "line",
            HookEvent::Count => "count",
        }
    }
}

/// A hook function (`lua_Hook`). It runs with the hooked function at
/// stack level 0 ([`Vm::level_info`]); an error it returns is raised where
/// the event happened.
pub type HookFn = fn(&mut Vm, HookEvent) -> LuaResult<()>;

/// Which events call the hook, besides the count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HookMask {
    /// Function calls (`LUA_MASKCALL`).
    pub call: bool,
    /// Function returns (`LUA_MASKRET`).
    pub ret: bool,
    /// New lines (`LUA_MASKLINE`).
    pub line: bool,
}

/// A thread's hook (`lua_sethook`'s arguments).
#[derive(Clone, Copy, Debug)]
pub struct Hook {
    /// The function called on each event.
    pub func: HookFn,
    /// The call, return and line events it wants.
    pub mask: HookMask,
    /// Call it every `count` instructions too (0: never).
    pub count: u32,
    /// A value for the hook function (the debug library keeps the Lua
    /// function to call here), kept alive by the thread. New threads
    /// inherit the function, mask and count, not this value.
    pub data: Value,
}

impl Hook {
    fn is_empty(&self) -> bool {
        self.mask == HookMask::default() && self.count == 0
    }
}

/// An instruction (frame index and pc) traced only for its return event
/// when it next runs: one running again after a `__close` handler
/// (`finish_op`), whose line and count were traced, or the `RETURN` after
/// a tail call of a native (`tail`), which PUC Lua returns from within
/// the `TAILCALL`, at its line. Keyed by pc too, so that a mark left by a
/// frame an error unwound cannot apply to another instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Redo {
    frame: usize,
    pc: usize,
    tail: bool,
}

/// A thread's hook and the state tracing needs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HookState {
    pub(crate) hook: Option<Hook>,
    /// Instructions until the next count event.
    countdown: u32,
    /// Events are off (`!allowhook`) while a hook or a finalizer runs on
    /// this thread; its instructions still count for the count hook.
    events_off: bool,
    /// The frame and pc of the last traced instruction (`L->oldpc`; the
    /// pc is `None` when the next one must fire a line event).
    last_frame: usize,
    old_pc: Option<usize>,
    /// An instruction to trace only for its return event (`Redo`).
    redo: Option<Redo>,
    /// While a call or return hook runs: the hooked frame, and the first
    /// value transferred (as a local index) and how many (`getinfo`'s
    /// `r`).
    transfer: Option<(usize, usize, usize)>,
}

impl HookState {
    /// The state a new thread starts with: its creator's hook.
    pub(crate) fn inherited(&self) -> HookState {
        HookState {
            hook: self.hook.map(|h| Hook {
                data: Value::Nil,
                ..h
            }),
            countdown: self.hook.map_or(0, |h| h.count),
            ..HookState::default()
        }
    }
}

impl Vm {
    /// Sets thread `t`'s hook (`lua_sethook`), or removes it with `None`
    /// (a hook asking for no event is removed too). New coroutines get
    /// their creator's hook. Functions already running on `t` will report
    /// their returns and lines, not their calls.
    pub fn set_hook(&mut self, t: ThreadRef, hook: Option<Hook>) {
        let hook = hook.filter(|h| !h.is_empty());
        self.hooks_seen |= hook.is_some();
        let cur = self.cur;
        let Some(th) = self.thread_mut(t) else {
            return;
        };
        for ci in &mut th.frames {
            ci.flags |= TRACED;
        }
        th.hook = HookState {
            hook,
            countdown: hook.map_or(0, |h| h.count),
            events_off: th.hook.events_off,
            last_frame: usize::MAX,
            ..HookState::default()
        };
        if t == cur {
            self.rewindow();
        }
    }

    /// Thread `t`'s hook (`lua_gethook`, `lua_gethookmask`,
    /// `lua_gethookcount`).
    pub fn hook(&self, t: ThreadRef) -> Option<Hook> {
        if t == self.cur {
            self.th.hook.hook
        } else {
            self.heap.threads.get(t).and_then(|th| th.hook.hook)
        }
    }

    /// Whether the running thread's hook sees every instruction (its
    /// own too, while it runs: they count for the count hook, as in PUC
    /// Lua).
    #[inline]
    pub(crate) fn trap(&self) -> bool {
        self.th.hook.hook.is_some()
    }

    /// The budget left: what the interpreter counts down plus what a hook
    /// holds back.
    #[inline]
    pub(crate) fn real_fuel(&self) -> i64 {
        self.fuel + self.fuel_reserve
    }

    /// Sets the budget left to `real`: all of it in `fuel`, or, while the
    /// running thread traps, none of it above zero.
    pub(crate) fn set_fuel(&mut self, real: i64) {
        let fuel = real.min(self.limit_distance(real));
        self.fuel = if self.trap() || self.fin_due {
            fuel.min(0)
        } else {
            fuel
        };
        self.fuel_reserve = real - self.fuel;
    }

    /// `set_fuel` again after the running thread or its hook changed.
    pub(crate) fn rewindow(&mut self) {
        self.set_fuel(self.real_fuel());
    }

    /// The interpreter's check before the instruction at the saved pc of
    /// frame `fi`, when its share of the budget is spent: true when the
    /// run stops there (the instruction runs on the next resume);
    /// otherwise traces it if the thread traps.
    #[cold]
    #[inline(never)]
    pub(crate) fn before_instruction(&mut self, fi: usize) -> LuaResult<bool> {
        self.check_limit(0)?;
        if self.real_fuel() < 0 && self.out_of_fuel() {
            // Refund the instruction, charged already.
            self.fuel += 1;
            return Ok(true);
        }
        if self.fin_due && self.start_finalizers()? {
            // The instruction runs after the finalizers.
            self.fuel += 1;
            self.rewindow();
            return Ok(true);
        }
        if self.trap() {
            self.trace_exec(fi)?;
        }
        self.rewindow();
        Ok(false)
    }

    /// Reports the events of the instruction at the saved pc of Lua frame
    /// `fi` (on top), in PUC Lua's order: call, count, line, return.
    fn trace_exec(&mut self, fi: usize) -> LuaResult<()> {
        // Only the fields needed (a whole `CallInfo` is 104 bytes).
        let ci = &self.th.frames[fi];
        if !ci.is_lua() {
            return Ok(());
        }
        let (flags, pc, base) = (ci.flags, ci.pc as usize, ci.base);
        // SAFETY: a Lua frame records its prototype's address, and its
        // closure, which owns the prototype, stays in the frame's function
        // slot while the frame runs (hooks run above it).
        let p: &Proto = unsafe { crate::raw::proto_at(ci.proto) };
        let op = p.code[pc];
        // Vararg functions report their call once their varargs are in
        // place; PUC Lua does not trace `VARARGPREP` at all.
        if matches!(op, Op::VarArgPrep { .. }) {
            return Ok(());
        }
        let redo = match self.th.hook.redo {
            Some(r) if r.frame == fi && r.pc == pc => self.th.hook.redo.take(),
            _ => None,
        };
        let tail = redo.is_some_and(|r| r.tail);
        let redo = redo.is_some();
        if self.th.hook.events_off {
            // The hook's own instructions: counted, not reported.
            if !redo {
                self.count_tick();
            }
            self.th.hook.last_frame = fi;
            return Ok(());
        }
        if redo {
            return self.trace_return(base, op, tail);
        }
        if flags & TRACED == 0 {
            self.th.frames[fi].flags |= TRACED;
            self.th.hook.last_frame = fi;
            self.th.hook.old_pc = None;
            if self.wants(|h| h.mask.call) {
                let event = if flags & TAIL != 0 {
                    HookEvent::TailCall
                } else {
                    HookEvent::Call
                };
                self.run_hook(event, Some((1, p.num_params as usize)))?;
            }
        } else if self.th.hook.last_frame != fi {
            // Back from a call: the last instruction traced here was it.
            self.th.hook.last_frame = fi;
            self.th.hook.old_pc = Some(pc.saturating_sub(1));
        }
        if self.count_tick() && self.wants(|h| h.count > 0) {
            self.run_hook(HookEvent::Count, None)?;
        }
        // Stripped functions have no lines to report.
        if let (true, Some(&line)) = (self.wants(|h| h.mask.line), p.lines.get(pc)) {
            let new_line = match self.th.hook.old_pc {
                None => true,
                Some(old) => pc <= old || p.lines.get(old) != Some(&line),
            };
            if new_line {
                self.run_hook(HookEvent::Line(line), None)?;
            }
            self.th.hook.old_pc = Some(pc);
        }
        self.trace_return(base, op, false)
    }

    /// The return event of instruction `op` of the Lua frame on top (its
    /// registers from `base`), if it is a `RETURN` with no `__close`
    /// handler left to call first (reported at the instruction before it
    /// after a tail call).
    fn trace_return(&mut self, base: usize, op: Op, after_tail_call: bool) -> LuaResult<()> {
        if !matches!(op, Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. })
            || self.th.tbc.last().is_some_and(|&s| s >= base)
        {
            return Ok(());
        }
        if self.wants(|h| h.mask.ret) {
            let (first, n) = match op {
                Op::Return { a, b } => {
                    let n = if b == 0 {
                        self.th.top - (base + a as usize)
                    } else {
                        b as usize - 1
                    };
                    (a as usize + 1, n)
                }
                Op::Return1 { a } => (a as usize + 1, 1),
                Op::Return0 {} => (1, 0),
                _ => return Ok(()),
            };
            self.run_hook_at(HookEvent::Return, Some((first, n)), !after_tail_call)?;
        }
        Ok(())
    }

    /// Allows or forbids hook events on the running thread (`allowhook`);
    /// returns whether they were allowed.
    pub(crate) fn set_hooks_allowed(&mut self, allowed: bool) -> bool {
        !std::mem::replace(&mut self.th.hook.events_off, !allowed)
    }

    /// Frame `fi` runs its current instruction again (after a `__close`
    /// handler): its line and count were traced.
    pub(crate) fn hook_redo(&mut self, fi: usize) {
        self.th.hook.redo = Some(Redo {
            frame: fi,
            pc: self.th.frames[fi].pc as usize,
            tail: false,
        });
    }

    /// Lua frame `fi` tail-called a native (whose frame is above it): the
    /// `RETURN` at its saved pc reports the return at the `TAILCALL`,
    /// however the native finishes (in this slice or a later one).
    pub(crate) fn hook_tail_return(&mut self, fi: usize) {
        self.th.hook.redo = Some(Redo {
            frame: fi,
            pc: self.th.frames[fi].pc as usize,
            tail: true,
        });
    }

    /// Counts one instruction for the count hook: true when it is due.
    fn count_tick(&mut self) -> bool {
        let hs = &mut self.th.hook;
        let Some(count) = hs.hook.map(|h| h.count).filter(|&c| c > 0) else {
            return false;
        };
        hs.countdown = hs.countdown.saturating_sub(1);
        if hs.countdown > 0 {
            return false;
        }
        hs.countdown = count;
        true
    }

    /// Whether the running thread's hook wants return events now.
    pub(crate) fn wants_return(&self) -> bool {
        self.wants(|h| h.mask.ret)
    }

    /// Whether the running thread's hook (still) traps and wants `event`.
    fn wants(&self, event: impl Fn(&Hook) -> bool) -> bool {
        !self.th.hook.events_off && self.th.hook.hook.as_ref().is_some_and(event)
    }

    /// The budget check and call hook of the native frame on top starting
    /// (when `fuel` is at or below its `cost`): false when the run stops
    /// before it.
    #[cold]
    #[inline(never)]
    pub(crate) fn native_start_slow(&mut self, cost: i64) -> LuaResult<bool> {
        self.check_limit(cost)?;
        let real = self.real_fuel();
        if real < cost && real < self.slice_fuel && self.out_of_fuel() {
            return Ok(false);
        }
        if self.wants(|h| h.mask.call) {
            let nargs = self.th.frames.last().map_or(0, |ci| ci.nargs as usize);
            self.run_hook(HookEvent::Call, Some((1, nargs)))?;
        }
        Ok(true)
    }

    /// The return hook of the native frame on top, returning the `n`
    /// values from slot `first`.
    #[cold]
    #[inline(never)]
    pub(crate) fn native_return_hook(&mut self, first: usize, n: usize) -> LuaResult<()> {
        if self.wants(|h| h.mask.ret) {
            let base = self.th.frames.last().map_or(0, |ci| ci.base);
            self.run_hook(HookEvent::Return, Some((first + 1 - base, n)))?;
        }
        Ok(())
    }

    /// Calls the running thread's hook for `event` of the frame on top
    /// (`luaD_hook`), with the values it transfers (call and return
    /// events).
    fn run_hook(&mut self, event: HookEvent, transfer: Option<(usize, usize)>) -> LuaResult<()> {
        self.run_hook_at(event, transfer, true)
    }

    /// `run_hook`; a hooked Lua frame reports the traced instruction as
    /// its current one (`at_traced`), or the one before it.
    fn run_hook_at(
        &mut self,
        event: HookEvent,
        transfer: Option<(usize, usize)>,
        at_traced: bool,
    ) -> LuaResult<()> {
        let Some(hook) = self.th.hook.hook else {
            return Ok(());
        };
        let fi = self.th.frames.len() - 1;
        let ci = self.th.frames[fi];
        let saved_top = self.th.top;
        let bump = u32::from(ci.is_lua() && at_traced);
        if ci.is_lua() {
            // The hook's values go above the whole frame.
            self.th.top = saved_top.max(ci.top);
        }
        self.th.frames[fi].pc += bump;
        self.th.frames[fi].flags |= HOOKED;
        self.th.hook.events_off = true;
        // No values, no transfer information, as in PUC Lua.
        self.th.hook.transfer = transfer
            .filter(|&(_, n)| n > 0)
            .map(|(first, n)| (fi, first, n));
        let r = self.guarded_hook(hook.func, event);
        self.th.hook.events_off = false;
        self.th.hook.transfer = None;
        self.th.frames[fi].flags &= !HOOKED;
        self.th.frames[fi].pc -= bump;
        if ci.is_lua() && self.th.hook.last_frame != fi {
            // Lua code the hook called returned into the frame: PUC Lua's
            // `rethook` then makes the traced instruction the last one, so
            // a line check after a count event fires.
            self.th.hook.last_frame = fi;
            self.th.hook.old_pc = Some(ci.pc as usize);
        }
        self.th.top = saved_top;
        // The hook may have changed or removed itself.
        self.rewindow();
        r
    }

    /// Runs hook `f`, turning a panic inside it into a Lua error.
    fn guarded_hook(&mut self, f: HookFn, event: HookEvent) -> LuaResult<()> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self, event))) {
            Ok(r) => r,
            Err(p) => {
                let msg = crate::native::panic_message(&*p);
                Err(self.rt_error(&format!("hook {msg}")))
            }
        }
    }

    /// Whether frame `fi` of the running thread was entered by a tail
    /// call, and the values a running call or return hook of it transfers
    /// (first as a local index, count; 0 and 0 outside such a hook).
    pub(crate) fn frame_tail_and_transfer(&self, fi: usize) -> (bool, usize, usize) {
        let tail = self.th.frames[fi].flags & TAIL != 0;
        match self.th.hook.transfer {
            Some((f, first, n)) if f == fi => (tail, first, n),
            _ => (tail, 0, 0),
        }
    }
}
