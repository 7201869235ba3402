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
//! A hook runs in a frame of its own, the runner: a native frame pushed on
//! top of the hooked one, hidden from stack levels (`HIDDEN`, so the
//! hooked function is level 0 for a Rust hook and level 2 for a Lua one)
//! and marked `HOOKED` (functions it calls are named "?" of kind "hook").
//! The event's site leaves for the driver loop, which runs the runner
//! like any native: the hook function, then the call it asks for
//! (`HookStep::Call`, how the debug library calls a Lua hook), under the
//! budget, so a run suspends inside a hook's Lua code as anywhere else.
//! When the runner returns, the event's site runs again and skips the
//! events already reported (`Done`). A hook cannot itself be hooked or
//! yield (`Thread::nny`), as PUC Lua's hooks set from Lua. As in PUC Lua,
//! the instructions a hook (or a finalizer) runs still count for the count
//! hook, and finalizers run without events.
//!
//! The hook types and the per-thread `HookState` are declared in
//! `state/hook.rs`; this module is the only one that writes its tracing
//! fields.

use crate::error::LuaResult;
use crate::func::Proto;
use crate::native::{Args, Continuation, NativeFunction, Status, Step};
use crate::opcodes::Op;
use crate::state::{
    Active, Done, Hook, HookEvent, HookFn, HookMask, HookState, HookStep, Redo, Stage, Vm, HIDDEN,
    HOOKED, MULTRET, RETURNING, TAIL, TRACED,
};
use crate::value::{ThreadRef, Value};

impl Hook {
    fn is_empty(&self) -> bool {
        self.mask == HookMask::default() && self.count == 0
    }
}

/// The pc of a native frame's site (`Done`).
const NATIVE: usize = usize::MAX;

impl Vm {
    /// Sets thread `t`'s hook (`lua_sethook`), or removes it with `None`
    /// (a hook asking for no event is removed too). New coroutines get
    /// their creator's hook. Functions already running on `t` will report
    /// their returns and lines, not their calls.
    ///
    /// # Errors
    /// "bad handle" if the hook's `data` is not a value of this VM (the
    /// collector marks it).
    pub fn set_hook(&mut self, t: ThreadRef, hook: Option<Hook>) -> LuaResult<()> {
        if let Some(h) = hook {
            self.check_owned("Vm::set_hook", h.data)?;
        }
        self.install_hook(t, hook);
        Ok(())
    }

    /// `set_hook` with data of this VM.
    fn install_hook(&mut self, t: ThreadRef, hook: Option<Hook>) {
        let hook = hook.filter(|h| !h.is_empty());
        self.hooks_seen |= hook.is_some();
        let cur = self.cur;
        let Some(th) = self.thread_mut(t) else {
            return;
        };
        for ci in &mut th.frames {
            ci.flags |= TRACED;
        }
        // A hook that changes hooks still runs: keep what its end needs.
        th.hook = crate::state::OnDemand::new(HookState {
            hook,
            countdown: hook.map_or(0, |h| h.count),
            events_off: th.hook.events_off,
            last_frame: usize::MAX,
            transfer: th.hook.transfer,
            active: th.hook.active,
            done: th.hook.done,
            ..HookState::default()
        });
        if t == cur {
            self.rewindow();
        }
    }

    /// Thread `t`'s hook (`lua_gethook`, `lua_gethookmask`,
    /// `lua_gethookcount`).
    pub fn hook(&self, t: ThreadRef) -> Option<Hook> {
        self.thread(t).and_then(|th| th.hook.hook)
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
    /// run leaves the frame there (the instruction runs when it comes
    /// back: the budget is spent, or finalizers or a hook run first);
    /// otherwise traces it if the thread traps.
    #[cold]
    #[inline(never)]
    pub(crate) fn before_instruction(&mut self, fi: usize) -> LuaResult<bool> {
        self.check_limit(0)?;
        let leave = (self.real_fuel() < 0 && self.out_of_fuel())
            || (self.fin_due && self.start_finalizers()?)
            || (self.trap() && self.trace_exec(fi)?);
        if leave {
            // Refund the instruction, charged already.
            self.fuel += 1;
        }
        self.rewindow();
        Ok(leave)
    }

    /// Reports the events of the instruction at the saved pc of Lua frame
    /// `fi` (on top), in PUC Lua's order: call, count, line, return. True
    /// when a hook's runner was pushed for one: the instruction is traced
    /// again once it returns, for the later events only.
    fn trace_exec(&mut self, fi: usize) -> LuaResult<bool> {
        // Only the fields needed (a whole `CallInfo` is 104 bytes).
        let ci = &self.th.frames[fi];
        if !ci.is_lua() {
            return Ok(false);
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
            return Ok(false);
        }
        let done = self.take_done(fi, pc);
        let after = |stage| done.is_none_or(|d| stage > d);
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
            return Ok(false);
        }
        if redo {
            return self.trace_return(pc, base, op, tail);
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
                let transfer = Some((1, p.num_params as usize));
                if self.run_hook(pc, Stage::Call, event, transfer, true)? {
                    return Ok(true);
                }
            }
        } else if self.th.hook.last_frame != fi {
            // Back from a call: the last instruction traced here was it.
            self.th.hook.last_frame = fi;
            self.th.hook.old_pc = Some(pc.saturating_sub(1));
        }
        if after(Stage::Count)
            && self.count_tick()
            && self.wants(|h| h.count > 0)
            && self.run_hook(pc, Stage::Count, HookEvent::Count, None, true)?
        {
            return Ok(true);
        }
        // Stripped functions have no lines to report.
        if let (true, true, Some(&line)) = (
            after(Stage::Line),
            self.wants(|h| h.mask.line),
            p.lines.get(pc),
        ) {
            let new_line = match self.th.hook.old_pc {
                None => true,
                Some(old) => pc <= old || p.lines.get(old) != Some(&line),
            };
            self.th.hook.old_pc = Some(pc);
            if new_line && self.run_hook(pc, Stage::Line, HookEvent::Line(line), None, true)? {
                return Ok(true);
            }
        }
        if after(Stage::Return) {
            self.trace_return(pc, base, op, false)
        } else {
            Ok(false)
        }
    }

    /// The return event of instruction `op` at `pc` of the Lua frame on
    /// top (its registers from `base`), if it is a `RETURN` with no
    /// `__close` handler left to call first (reported at the instruction
    /// before it after a tail call). True when a hook's runner was pushed.
    fn trace_return(
        &mut self,
        pc: usize,
        base: usize,
        op: Op,
        after_tail_call: bool,
    ) -> LuaResult<bool> {
        if !matches!(op, Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. })
            || self.th.tbc.last().is_some_and(|&s| s >= base)
            || !self.wants(|h| h.mask.ret)
        {
            return Ok(false);
        }
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
            _ => (1, 0),
        };
        let transfer = Some((first, n));
        self.run_hook(
            pc,
            Stage::Return,
            HookEvent::Return,
            transfer,
            !after_tail_call,
        )
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
    /// (when `fuel` is at or below its `cost`): false when it does not
    /// start now (the run stops before it, or its call hook runs first).
    #[cold]
    #[inline(never)]
    pub(crate) fn native_start_slow(&mut self, cost: i64) -> LuaResult<bool> {
        self.check_limit(cost)?;
        let real = self.real_fuel();
        if real < cost && real < self.slice_fuel && self.out_of_fuel() {
            return Ok(false);
        }
        let fi = self.th.frames.len() - 1;
        if self.wants(|h| h.mask.call) && self.take_done(fi, NATIVE).is_none() {
            let nargs = self.th.frames[fi].nargs as usize;
            let transfer = Some((1, nargs));
            return Ok(!self.run_hook(NATIVE, Stage::Call, HookEvent::Call, transfer, true)?);
        }
        Ok(true)
    }

    /// The return hook of the native frame on top, returning the `n`
    /// values from slot `first` (the top ones): true when its runner was
    /// pushed, and the frame returns them when it is done (`RETURNING`).
    #[cold]
    #[inline(never)]
    pub(crate) fn native_return_hook(&mut self, first: usize, n: usize) -> LuaResult<bool> {
        let fi = self.th.frames.len() - 1;
        let ci = self.th.frames[fi];
        // Hidden frames (a hook's runner, a closer) are no calls of the
        // program's.
        if ci.flags & HIDDEN != 0
            || !self.wants(|h| h.mask.ret)
            || self.take_done(fi, NATIVE).is_some()
        {
            return Ok(false);
        }
        let top = &mut self.th.frames[fi];
        top.callee = first as u32;
        top.flags |= RETURNING;
        let transfer = Some((first + 1 - ci.base, n));
        self.run_hook(NATIVE, Stage::Return, HookEvent::Return, transfer, true)
    }

    /// The events of site `(fi, pc)` already reported, if the site is
    /// running again after a hook's runner returned.
    fn take_done(&mut self, fi: usize, pc: usize) -> Option<Stage> {
        match self.th.hook.done {
            Some(d) if d.frame == fi && d.pc == pc => {
                self.th.hook.done = None;
                Some(d.stage)
            }
            _ => None,
        }
    }

    /// Pushes the runner of the running thread's hook for `event`, the
    /// `stage` of site `pc` of the frame on top (`luaD_hook`), with the
    /// values it transfers (call and return events) as local indices;
    /// a hooked Lua frame reports the traced instruction as its current
    /// one (`at_traced`), or the one before it. True when it was pushed
    /// (the site must leave for the driver loop); false without a hook.
    fn run_hook(
        &mut self,
        pc: usize,
        stage: Stage,
        event: HookEvent,
        transfer: Option<(usize, usize)>,
        at_traced: bool,
    ) -> LuaResult<bool> {
        if self.th.hook.hook.is_none() {
            return Ok(false);
        }
        let fi = self.th.frames.len() - 1;
        let ci = self.th.frames[fi];
        let top = self.th.top;
        let bump = ci.is_lua() && at_traced;
        if ci.is_lua() {
            // The runner goes above the whole frame.
            self.th.top = top.max(ci.top);
            self.th.frames[fi].pc += u32::from(bump);
        }
        let hs = &mut self.th.hook;
        hs.events_off = true;
        // No values, no transfer information, as in PUC Lua.
        hs.transfer = transfer
            .filter(|&(_, n)| n > 0)
            .map(|(first, n)| (fi, first, n));
        hs.active = Some(Active {
            event,
            frame: fi,
            top,
            bump,
        });
        hs.done = Some(Done {
            frame: fi,
            pc,
            stage,
        });
        self.th.nny += 1;
        let func = self.th.top;
        let runner = match self.rare.as_ref().and_then(|r| r.hook_runner) {
            Some(n) => n,
            None => {
                let Value::Native(n) = self.new_native(&RUNNER) else {
                    unreachable!("new_native makes a native")
                };
                *self.rare().hook_runner.insert(n)
            }
        };
        self.th.push(Value::Native(runner));
        if let Err(e) = self.precall(func, MULTRET) {
            self.th.top = top;
            self.unwind_hook(fi + 1);
            self.th.hook.done = None;
            return Err(e);
        }
        self.set_top_frame_flag(HOOKED | HIDDEN, true);
        self.rewindow();
        Ok(true)
    }

    /// The hook is over (its runner, on top, returns): events on again,
    /// the hooked frame as it was, and the runner returns to the top the
    /// hooked frame had.
    fn finish_hook(&mut self) {
        let Some(a) = self.end_hook() else {
            return;
        };
        let fi = a.frame;
        if let Some(ci) = self.th.frames.get_mut(fi) {
            ci.pc -= u32::from(a.bump);
            if ci.is_lua() && self.th.hook.last_frame != fi {
                // Lua code the hook called returned into the frame: PUC
                // Lua's `rethook` then makes the traced instruction the last
                // one, so a line check after a count event fires.
                self.th.hook.last_frame = fi;
                self.th.hook.old_pc = Some(ci.pc as usize);
            }
        }
        // Returning nothing, the runner leaves the top where its slot is.
        if let Some(runner) = self.th.frames.last_mut() {
            runner.func = a.top;
        }
        // The hook may have changed or removed itself.
        self.rewindow();
    }

    /// The running thread's hook ends, its runner returning or unwound.
    fn end_hook(&mut self) -> Option<Active> {
        let a = self.th.hook.active.take()?;
        self.th.hook.events_off = false;
        self.th.hook.transfer = None;
        self.th.nny = self.th.nny.saturating_sub(1);
        Some(a)
    }

    /// Frames from `keep` up are being unwound (an error, a cancel): a
    /// hook running among them ends, and the events a site among them
    /// reported are forgotten.
    pub(crate) fn unwind_hook(&mut self, keep: usize) {
        if self.th.hook.active.is_some_and(|a| a.frame + 1 >= keep) {
            if let Some(a) = self.end_hook() {
                if let Some(ci) = self.th.frames.get_mut(a.frame).filter(|_| a.frame < keep) {
                    ci.pc -= u32::from(a.bump);
                }
            }
        }
        if self.th.hook.done.is_some_and(|d| d.frame >= keep) {
            self.th.hook.done = None;
        }
    }

    /// Runs hook `f`, turning a panic inside it into a Lua error.
    fn guarded_hook(&mut self, f: HookFn, event: HookEvent) -> LuaResult<HookStep> {
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

// Free: what the hook's Lua code runs is charged, its frame is not.
pub(crate) static RUNNER: NativeFunction =
    NativeFunction::with_cost("(hook)", runner, 0).with_id("core.hook");
pub(crate) static RUNNER_K: Continuation = Continuation::new("core.hook_k", runner_k);

/// The runner's step: the hook function, then the call it asks for.
fn runner(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    // A hook removed while its runner waited to start has nothing to say.
    let (Some(hook), Some(a)) = (vm.th.hook.hook, vm.th.hook.active) else {
        return finish(vm);
    };
    match vm.guarded_hook(hook.func, a.event)? {
        HookStep::Done => finish(vm),
        HookStep::Call { nargs } => Ok(vm.callk(nargs, &RUNNER_K, 0)),
    }
}

/// The hook's call returned.
fn runner_k(vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    finish(vm)
}

fn finish(vm: &mut Vm) -> LuaResult<Step> {
    vm.finish_hook();
    Ok(Step::Return(0))
}
