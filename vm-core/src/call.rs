//! Calls, returns and errors (`ldo.c`): `precall`, `postcall`, the driver
//! loop that runs frames without recursing in Rust (`run`, Lua's `unroll`),
//! protected calls and error recovery, closing upvalues and to-be-closed
//! variables (`lfunc.c`'s `luaF_close`).
//!
//! Protocol of a call:
//! 1. The caller puts the function and its arguments on top of the stack.
//! 2. `precall` pushes a `CallInfo`: for a Lua function it adjusts the
//!    arguments (fixed parameters, varargs) and reserves `max_stack` slots;
//!    for a native it records the arguments (the native is started by the
//!    interpreter or the driver, never by `precall`).
//! 3. The frame runs; a native answers with a `Step`, a Lua function ends
//!    with a `RETURN` instruction.
//! 4. `postcall` moves the results to the slot where the function was and
//!    pops the frame; the caller continues (a Lua caller that was running a
//!    metamethod first finishes the interrupted instruction, a native caller
//!    waiting in a continuation has it called).
//!
//! Errors are Rust `Err` values. `run` catches them and looks for the
//! innermost protected native frame (`pcall`) of the running thread: it
//! applies that frame's message handler while the failing frames are still
//! intact, then unwinds to it and marks it `CLOSING`; the loop then runs
//! the pending `__close` handlers above it one ordinary call at a time (so
//! they may yield) and finally calls its continuation with `Status::Error`.
//! An error no frame of a coroutine catches kills the coroutine and goes to
//! its resumer (`resume::coroutine_die`).
//!
//! The loop is anchored to a thread and a frame depth (`run_anchored`):
//! coroutine switches happen inside it (`resume`), and it returns when the
//! anchor thread is back to that depth or a driver-level suspension (fuel,
//! offload, a yield to the driver) is pending.

use crate::error::{LuaError, LuaResult};
use crate::heap::Upval;
use crate::native::{Args, Request, Status, Step};
use crate::state::{
    CallInfo, FrameKind, Tm, Vm, CALLING, CLOSING, EXTRA_STACK, K_ERROR, K_YIELD, MAX_CCALLS,
    MAX_STACK, MSGH, MULTRET, OFFLOADED, PROTECTED, RETURNING, STARTED, YIELDED,
};
use crate::value::{LuaFnRef, NativeRef, ThreadRef, Value};

/// What pushing a Lua frame needs from the function's prototype.
#[derive(Clone, Copy)]
pub(crate) struct FrameShape {
    params: usize,
    max_stack: usize,
    pub(crate) vararg: bool,
    /// `raw::proto_addr` of the prototype.
    pub(crate) addr: usize,
    /// `raw::upvals_addr` of the closure.
    pub(crate) upvals: usize,
}

/// Stack slots a message handler may use past `MAX_STACK`.
const HANDLER_STACK: usize = 200;

/// Maximum `__call` chain length when calling a non-function.
const MAX_CALL_CHAIN: usize = 100;

impl Vm {
    /// Makes sure a frame reaching `top` fits (with `EXTRA_STACK` above it),
    /// or raises "stack overflow".
    #[inline(always)]
    fn reserve(&mut self, top: usize) -> LuaResult<()> {
        if top + EXTRA_STACK > self.th.stack.len() {
            self.grow_stack(top)?;
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn grow_stack(&mut self, top: usize) -> LuaResult<()> {
        if top + EXTRA_STACK > MAX_STACK && !self.handler_stack(top) {
            return Err(self.rt_error("stack overflow"));
        }
        // Refused: no collection first, which needs memory of its own
        // (the collector paces itself on the room left, see
        // `Heap::check_headroom`).
        if !self.th.try_ensure(top + EXTRA_STACK) {
            return Err(self.memory_error());
        }
        // The frame list grows with the stack; its growth since the last
        // stack growth is counted here too.
        let grown = self.th.take_growth();
        self.stack_grew(grown)
    }

    /// Makes room for one more frame (the list is full), or raises "not
    /// enough memory" when the allocator refuses it.
    #[cold]
    #[inline(never)]
    fn grow_frames(&mut self) -> LuaResult<()> {
        if !self.th.try_grow_frames() {
            return Err(self.memory_error());
        }
        let grown = self.th.take_growth();
        self.stack_grew(grown)
    }

    /// Whether a stack reaching `top` fits in the extra space PUC Lua keeps
    /// for error handling (`ERRORSTACKSIZE`): while a message handler runs
    /// or is being started, so that it runs after a stack overflow.
    #[cold]
    fn handler_stack(&self, top: usize) -> bool {
        top + EXTRA_STACK <= MAX_STACK + HANDLER_STACK
            && (self.starting_handler || self.th.frames.iter().any(|ci| ci.flags & MSGH != 0))
    }

    /// Pushes the frame for a call of the value at `func` with the values
    /// above it as arguments (steps 1-2 of the protocol). Returns true if
    /// a Lua frame was pushed.
    #[inline(always)]
    pub(crate) fn precall(&mut self, func: usize, nresults: i32) -> LuaResult<bool> {
        // The common case, inlined into the interpreter: a Lua function
        // with fixed parameters.
        match self.th.stack[func] {
            Value::LuaFn(cl) => {
                // SAFETY: a function on the stack is live.
                let shape = unsafe { self.frame_shape(cl) };
                if !shape.vararg {
                    return self.push_fixed_frame(func, cl, shape, nresults);
                }
            }
            Value::Native(n) => return self.push_native_frame(func, n, nresults),
            _ => {}
        }
        self.precall_general(func, nresults)
    }

    /// Pushes the frame of native `n` at `func` (it is started by the
    /// interpreter or the driver loop).
    #[inline(always)]
    fn push_native_frame(&mut self, func: usize, n: NativeRef, nresults: i32) -> LuaResult<bool> {
        let nargs = self.th.top - func - 1;
        if self.th.top + EXTRA_STACK > self.th.stack.len() {
            self.grow_stack(self.th.top)?;
        }
        let mut ci = CallInfo::new(func, func + 1, nresults, FrameKind::Native(n));
        ci.nargs = nargs as u32;
        if self.th.frames.len() == self.th.frames.capacity() {
            self.grow_frames()?;
        }
        self.th.frames.push(ci);
        Ok(false)
    }

    /// What pushing a frame of closure `cl` needs from its prototype.
    ///
    /// # Safety
    /// `cl` must be live: the function slot of a call.
    #[inline(always)]
    pub(crate) unsafe fn frame_shape(&self, cl: LuaFnRef) -> FrameShape {
        // SAFETY: the caller guarantees that `cl` is live.
        let closure = unsafe { crate::raw::live(&self.heap.lfns, cl) };
        let proto = &closure.proto;
        FrameShape {
            params: proto.num_params as usize,
            max_stack: proto.max_stack as usize,
            vararg: proto.is_vararg,
            addr: crate::raw::proto_addr(proto),
            upvals: crate::raw::upvals_addr(closure),
        }
    }

    /// Pushes the frame of Lua function `cl` (not vararg) at `func`.
    #[inline(always)]
    pub(crate) fn push_fixed_frame(
        &mut self,
        func: usize,
        cl: LuaFnRef,
        shape: FrameShape,
        nresults: i32,
    ) -> LuaResult<bool> {
        let (np, base, addr) = (shape.params, func + 1, shape.addr);
        let top = base + shape.max_stack;
        // `reserve` spelled out: propagating its `Result` here measurably
        // slows every call (fib(25): +3% instructions).
        if top + EXTRA_STACK > self.th.stack.len() {
            self.grow_stack(top)?;
        }
        // Missing parameters are nil; registers above the parameters are
        // written before they are read.
        let nargs = self.th.top - base;
        if nargs < np {
            for slot in &mut self.th.stack[base + nargs..base + np] {
                *slot = Value::Nil;
            }
        }
        self.th.top = top;
        let mut ci = CallInfo::new(func, base, nresults, FrameKind::Lua(cl));
        ci.top = top;
        ci.proto = addr;
        ci.upvals = shape.upvals;
        if self.th.frames.len() == self.th.frames.capacity() {
            self.grow_frames()?;
        }
        self.th.frames.push(ci);
        Ok(true)
    }

    /// Pushes the frame of vararg Lua function `cl` at `func`: the fixed
    /// parameters move above the varargs, next to a copy of the function
    /// (see `CallInfo::nvarargs`).
    fn push_vararg_frame(
        &mut self,
        func: usize,
        cl: LuaFnRef,
        shape: FrameShape,
        nresults: i32,
    ) -> LuaResult<bool> {
        let (np, max, addr) = (shape.params, shape.max_stack, shape.addr);
        let nargs = self.th.top - func - 1;
        let base = func + nargs + 2;
        self.reserve(base + max)?;
        self.th.stack[base - 1] = Value::LuaFn(cl);
        for i in 0..np {
            let v = if i < nargs {
                self.th.stack[func + 1 + i]
            } else {
                Value::Nil
            };
            self.th.stack[base + i] = v;
            if i < nargs {
                self.th.stack[func + 1 + i] = Value::Nil;
            }
        }
        let mut ci = CallInfo::new(func, base, nresults, FrameKind::Lua(cl));
        ci.nvarargs = nargs.saturating_sub(np) as u32;
        ci.top = base + max;
        ci.proto = addr;
        ci.upvals = shape.upvals;
        self.th.top = ci.top;
        if self.th.frames.len() == self.th.frames.capacity() {
            self.grow_frames()?;
        }
        self.th.frames.push(ci);
        Ok(true)
    }

    /// `precall` for vararg functions, natives and `__call`.
    #[inline(never)]
    fn precall_general(&mut self, func: usize, nresults: i32) -> LuaResult<bool> {
        match self.resolve_call(func)? {
            Value::LuaFn(cl) => {
                // SAFETY: a function on the stack is live.
                let shape = unsafe { self.frame_shape(cl) };
                if shape.vararg {
                    self.push_vararg_frame(func, cl, shape, nresults)
                } else {
                    self.push_fixed_frame(func, cl, shape, nresults)
                }
            }
            Value::Native(n) => self.push_native_frame(func, n, nresults),
            _ => unreachable!("resolve_call leaves a function"),
        }
    }

    /// Makes the value at `func` a function (`tryfuncTM`): while it is not
    /// one, inserts its `__call` handler below it (the value becoming the
    /// first argument). Returns the function.
    pub(crate) fn resolve_call(&mut self, func: usize) -> LuaResult<Value> {
        let mut f = self.th.stack[func];
        let mut chain = 0;
        while !matches!(f, Value::LuaFn(_) | Value::Native(_)) {
            let h = self.tm_of_value(f, Tm::Call);
            if h.is_nil() || chain >= MAX_CALL_CHAIN {
                return Err(self.call_error(func));
            }
            let top = self.th.top;
            self.th.ensure(top + 1);
            self.th.stack.copy_within(func..top, func + 1);
            self.th.stack[func] = h;
            self.th.top = top + 1;
            f = h;
            chain += 1;
        }
        Ok(f)
    }

    /// Starts native `n`, whose frame is on top: charges its declared cost
    /// and calls it, returning its step; or, when the budget cannot pay for
    /// it, stops the run first (`None`: the frame starts on the next
    /// resume). A native costing more than a whole budget still runs when
    /// it is the first thing a slice does, so every slice progresses.
    ///
    /// # Safety
    /// `n` must be the native of the frame on top, which its function slot
    /// keeps live.
    #[inline(always)]
    pub(crate) unsafe fn start_native(&mut self, n: NativeRef) -> Option<LuaResult<Step>> {
        let (func, closure) = match crate::light::native(n) {
            Some(func) => (func, None),
            None => {
                // SAFETY: the caller guarantees that `n` is live (and it
                // is no light handle, which names no slot).
                let nc = unsafe { crate::raw::live(&self.heap.natives, n) };
                (nc.func, nc.closure.clone())
            }
        };
        let (cost, f) = (i64::from(func.cost), func.func);
        // At or below the cost: the budget may be spent, or a hook holds
        // it back to see the call.
        if self.fuel <= cost {
            match self.native_start_slow(cost) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        self.fuel -= cost;
        let ci = self.th.frames.last_mut().expect("a native frame");
        ci.flags |= STARTED;
        let args = Args {
            base: ci.base,
            count: ci.nargs as usize,
        };
        Some(match closure {
            Some(c) => self.guarded(|vm| (c.func)(vm, args)),
            None => self.guarded(|vm| f(vm, args)),
        })
    }

    /// Runs a native or continuation, turning a Rust panic inside it into a
    /// Lua error (the VM stays usable: natives change it only through the
    /// API, whose operations leave it consistent between calls).
    ///
    /// The step is written straight into the result's place and read from
    /// there field by field: moving the whole fresh `Step` (which the
    /// native just stored field by field) costs a store-forwarding stall
    /// per native call.
    #[inline(always)]
    pub(crate) fn guarded(
        &mut self,
        f: impl FnOnce(&mut Vm) -> LuaResult<Step>,
    ) -> LuaResult<Step> {
        let mut out = None;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            out = Some(f(self));
        })) {
            Ok(()) => {
                let step = out.unwrap_or_else(|| unreachable!("the native returned"));
                // A bad handle it wrote to its frame (as nil).
                match (self.take_noted_misuse(), step) {
                    (Some(e), _) => Err(e),
                    (None, Err(e)) if !self.owns(e.0.value) => {
                        Err(self.bad_handle("an error raised by a native", e.0.value))
                    }
                    (None, step) => step,
                }
            }
            Err(p) => {
                let msg = crate::native::panic_message(&*p);
                Err(self.rt_error(&format!("native function {msg}")))
            }
        }
    }

    /// Pops the top frame, moving its `n` results from `first` to the
    /// frame's function slot (step 4 of the protocol).
    #[inline(never)]
    pub(crate) fn postcall(&mut self, first: usize, n: usize) {
        // Results move down (`first >= res`), so copying in order is safe.
        self.th.pop_frame_with(n, |stack, i| stack[first + i]);
    }

    /// Returns from the native frame on top with its top `n` values (which
    /// must be on the frame): its return hook, then `postcall`. False when
    /// the frame returns later, after its return hook's runner.
    #[inline(always)]
    pub(crate) fn return_native(&mut self, n: usize) -> LuaResult<bool> {
        let first = self.frame_values(n)?;
        if self.hooks_seen && self.native_return_hook(first, n)? {
            return Ok(false);
        }
        self.postcall(first, n);
        Ok(true)
    }

    /// Applies a native's step to the native frame on top of the stack
    /// (where the request's continuation and operands are recorded).
    #[inline(never)]
    pub(crate) fn apply_step(&mut self, step: Step) -> LuaResult<()> {
        match step {
            Step::Return(n) => self.return_native(n).map(drop),
            Step::TailCall { nargs } => {
                let callee = self.frame_values(nargs.saturating_add(1))?;
                let ci = self.th.frames.pop().expect("native frame");
                self.th.stack.copy_within(callee..self.th.top, ci.func);
                self.th.top = ci.func + nargs + 1;
                self.precall(ci.func, ci.nresults)?;
                Ok(())
            }
            Step::Call(Request(nargs)) => {
                let callee = self.frame_values(nargs.saturating_add(1))?;
                self.enter_ccall()?;
                let ci = self.th.frames.last_mut().expect("native frame");
                ci.callee = callee as u32;
                self.precall(callee, MULTRET)?;
                Ok(())
            }
            Step::PCall(Request(nargs)) => {
                let callee = self.frame_values(nargs.saturating_add(1))?;
                let ci = self.th.frames.last_mut().expect("native frame");
                if ci.handler.is_some_and(|h| h as usize >= callee) {
                    return Err(
                        self.rt_error("native frame error: message handler slot above the call")
                    );
                }
                ci.callee = callee as u32;
                ci.flags |= PROTECTED;
                // Past the nesting limit the call fails inside its own
                // protection, as `luaD_call` does in `lua_pcallk`.
                self.enter_ccall()?;
                self.precall(callee, MULTRET)?;
                Ok(())
            }
            Step::Yield(Request(nresults)) => {
                self.frame_values(nresults)?;
                self.yield_step(nresults)
            }
            Step::Resume(Request(nargs)) => {
                self.frame_values(nargs)?;
                match self.rare.as_mut().and_then(|r| r.request_thread.take()) {
                    Some(thread) => self.resume_step(thread, nargs),
                    None => Err(self.request_error()),
                }
            }
            // The driver loop calls the continuation of a started native
            // on top after its budget check.
            Step::Pause(_) => Ok(()),
            Step::Wait(_) => self.wait_step(),
            Step::Offload(_) => match self.rare.as_mut().and_then(|r| r.request_job.take()) {
                Some(job) => self.offload_step(job),
                None => Err(self.request_error()),
            },
        }
    }

    /// The slot of the first of the top `n` values of the native frame on
    /// top: a native that counts more values than its frame holds gets an
    /// error instead of reaching into its caller's frame.
    #[inline]
    pub(crate) fn frame_values(&mut self, n: usize) -> LuaResult<usize> {
        let base = self.th.frames.last().map_or(0, |ci| ci.base);
        match self.th.top.checked_sub(n) {
            Some(first) if first >= base => Ok(first),
            _ => Err(self.frame_values_error(n, base)),
        }
    }

    /// A step whose operands were not recorded on this frame (a `Step`
    /// kept from another native's request).
    #[cold]
    #[inline(never)]
    fn request_error(&mut self) -> LuaError {
        self.rt_error("native frame error: a request without its continuation or operands")
    }

    #[cold]
    #[inline(never)]
    fn frame_values_error(&mut self, n: usize, base: usize) -> LuaError {
        let have = self.th.top.saturating_sub(base);
        self.rt_error(&format!(
            "native frame error: {n} values asked for, {have} on the frame"
        ))
    }

    /// Runs frames until only `stop` frames of the running thread remain
    /// (Lua's `unroll`): Lua frames in the interpreter, natives and their
    /// continuations here.
    pub(crate) fn run(&mut self, stop: usize) -> LuaResult<()> {
        self.run_anchored(self.cur, stop)
    }

    /// Runs frames until only `stop` frames of thread `anchor` remain, or a
    /// driver-level suspension (`Vm::suspend`). Coroutines resumed meanwhile
    /// run in the same loop: a thread switch just changes which frames are
    /// on top.
    pub(crate) fn run_anchored(&mut self, anchor: ThreadRef, stop: usize) -> LuaResult<()> {
        self.run_anchored_from(anchor, stop, None)
    }

    /// `run_anchored`, first raising `raise` (if any) where the running
    /// thread stands (a cancel, `Vm::cancel`).
    pub(crate) fn run_anchored_from(
        &mut self,
        anchor: ThreadRef,
        stop: usize,
        mut raise: Option<LuaError>,
    ) -> LuaResult<()> {
        let outer = (self.anchor, self.anchor_stop);
        (self.anchor, self.anchor_stop) = (anchor, stop);
        self.set_exec_floor();
        let r = loop {
            let ran = match raise.take() {
                Some(e) => Err(e),
                None => self.run_unprotected(anchor, stop),
            };
            match ran {
                Ok(()) => break Ok(()),
                Err(e) => {
                    if let Err(e) = self.recover(e, anchor, stop) {
                        break Err(e);
                    }
                }
            }
        };
        (self.anchor, self.anchor_stop) = outer;
        self.set_exec_floor();
        r
    }

    /// One run of the interpreter on the running thread, anchored as
    /// `run_anchored` anchors it, without the safe point and the checks
    /// that it makes before (the caller made them): its frames may stop
    /// at anything, which `run_anchored` then takes over.
    #[inline]
    pub(crate) fn execute_anchored(&mut self, anchor: ThreadRef, stop: usize) -> LuaResult<()> {
        let outer = (self.anchor, self.anchor_stop);
        (self.anchor, self.anchor_stop) = (anchor, stop);
        self.set_exec_floor();
        let r = self.execute();
        (self.anchor, self.anchor_stop) = outer;
        self.set_exec_floor();
        r
    }

    /// Recomputes `exec_floor` for the running thread.
    #[inline]
    pub(crate) fn set_exec_floor(&mut self) {
        self.exec_floor = if self.cur == self.anchor {
            self.anchor_stop
        } else {
            0
        };
    }

    fn run_unprotected(&mut self, anchor: ThreadRef, stop: usize) -> LuaResult<()> {
        loop {
            if self.suspend.is_some() {
                return Ok(());
            }
            // A safe point between steps: every value is on a stack (errors
            // in flight were pushed where they are caught).
            self.gc_safe_point(self.th.top)?;
            let n = self.th.frames.len();
            if self.cur == anchor {
                if n <= stop {
                    return Ok(());
                }
            } else if n == 0 {
                self.coroutine_return();
                continue;
            }
            let ci = *self.th.frames.last().expect("frame");
            match ci.kind {
                FrameKind::Lua(_) => self.execute()?,
                FrameKind::Native(n) => {
                    if ci.flags & STARTED == 0 {
                        // SAFETY: `n` is the native of the frame on top.
                        // Not started now: the run stops, or a call hook
                        // runs first.
                        let Some(step) = (unsafe { self.start_native(n) }) else {
                            continue;
                        };
                        self.apply_step(step?)?;
                    } else {
                        if ci.flags & (YIELDED | OFFLOADED) != 0 {
                            unreachable!(
                                "a waiting native frame is never on top of a running thread"
                            );
                        }
                        // (No instruction-limit check here: an error
                        // raised on a protected frame about to continue
                        // would be caught by that same frame again. What
                        // the continuation runs next is checked.)
                        if self.fuel <= 0 && self.real_fuel() <= 0 && self.out_of_fuel() {
                            return Ok(());
                        }
                        if ci.flags & CLOSING != 0 {
                            self.close_step(ci)?;
                            continue;
                        }
                        if ci.flags & RETURNING != 0 {
                            self.th.frames.last_mut().expect("native frame").flags &= !RETURNING;
                            // (Its return hook may defer it again.)
                            self.return_native(self.th.top - ci.callee as usize)?;
                            continue;
                        }
                        let step = self.continue_native(ci)?;
                        self.apply_step(step)?;
                    }
                }
            }
        }
    }

    /// One step of a protected frame's unwinding (`CLOSING`): calls the
    /// next pending `__close` handler above its callee with the error, or,
    /// when none is left, hands the error to the continuation. A handler
    /// that fails replaces the error (`recover` catches it here again).
    fn close_step(&mut self, ci: CallInfo) -> LuaResult<()> {
        let level = ci.callee as usize;
        match self.th.tbc.last() {
            Some(&slot) if slot > level => {
                self.th.tbc.pop();
                let v = self.th.stack[slot];
                let h = self.tm_of_value(v, Tm::Close);
                let errv = self.th.stack[level];
                self.th.top = slot + 1;
                let func = self.th.top;
                self.th.push(h);
                self.th.push(v);
                self.th.push(errv);
                self.precall(func, 0)?;
            }
            _ => {
                self.th.top = level + 1;
                let at = self.th.frames.len() - 1;
                if self.th.cancel_depth.is_some_and(|d| at < d as usize) {
                    // A cancelled run's protected call has closed its
                    // variables: the error goes on below it.
                    let err = self.th.stack[level];
                    self.unwind_frames(at);
                    self.th.cancel_depth = Some(at as u32);
                    return Err(LuaError::handled(err));
                }
                let top = self.th.frames.last_mut().expect("protected frame");
                top.flags &= !(CLOSING | PROTECTED);
                top.flags |= K_ERROR;
                top.handler = None;
            }
        }
        Ok(())
    }

    /// Calls the continuation of the native frame `ci` (on top), with the
    /// status its flags record.
    fn continue_native(&mut self, ci: CallInfo) -> LuaResult<Step> {
        let status = if ci.flags & K_ERROR != 0 {
            Status::Error
        } else if ci.flags & K_YIELD != 0 {
            Status::Yield
        } else {
            Status::Ok
        };
        let top = self.th.frames.last_mut().expect("native frame");
        // Whatever the native asked for is over: in particular a protected
        // call no longer protects the frame (`finishpcallk`), so an error
        // its continuation raises goes to the caller.
        if top.flags & CALLING != 0 {
            self.th.ncalls -= 1;
        }
        top.flags &= !(K_ERROR | K_YIELD | PROTECTED | CALLING);
        top.handler = None;
        let Some(k) = ci.k else {
            return Err(self.request_error());
        };
        let args = Args {
            base: ci.base,
            count: ci.nargs as usize,
        };
        self.guarded(|vm| (k.func)(vm, args, status, ci.ctx))
    }

    /// Handles an error raised while running frames: if a protected frame
    /// of the running thread catches it (above `stop` on `anchor`), unwinds
    /// to it and lets its continuation run; if the running thread is a
    /// coroutine above `anchor`, it dies and its resumer gets the error;
    /// otherwise returns the error. A thread being cancelled closes its
    /// variables on the way down instead of catching (`Vm::cancel`).
    fn recover(&mut self, mut err: LuaError, anchor: ThreadRef, stop: usize) -> LuaResult<()> {
        loop {
            let floor = if self.cur == anchor { stop } else { 0 };
            let cancelled = self.th.cancel_depth.map(|d| d as usize);
            if let Some(p) = self
                .th
                .frames
                .iter()
                .rposition(|ci| ci.flags & PROTECTED != 0)
            {
                // A cancelled run's own protected calls run no handler.
                let own = cancelled.is_some_and(|d| p < d);
                if !own {
                    match self.run_message_handler(p, floor, err) {
                        Some(e) => err = e,
                        // The handler runs above the failing frames.
                        None => return Ok(()),
                    }
                }
                if p >= floor {
                    // Unwind to the protected frame, which then closes the
                    // pending variables above its callee (`close_step`) with
                    // the error kept in the callee's slot.
                    let level = self.th.frames[p].callee as usize;
                    self.unwind_frames(p + 1);
                    self.close_upvals(level);
                    self.th.stack[level] = err.0.value;
                    let pending = self.th.tbc.last().filter(|&&s| s > level);
                    self.th.top = pending.map_or(level + 1, |&s| s + 1);
                    let top = self.th.frames.last_mut().expect("protected frame");
                    top.flags |= CLOSING;
                    if own {
                        // The handlers' frames are not the run's.
                        self.th.cancel_depth = Some(p as u32 + 1);
                    }
                    return Ok(());
                }
            }
            if cancelled.is_some() {
                // The bottom of a cancelled thread: its last handlers run
                // (`closethread`), then the error raised again comes back
                // here; once none is left the thread dies and the error
                // goes on in its resumer.
                if self.start_closing(err.0.value) {
                    return Ok(());
                }
                if self.cur == anchor {
                    return Err(err);
                }
                self.cancelled_die();
                continue;
            }
            if self.cur == anchor {
                return Err(err);
            }
            self.coroutine_die(err.0.value);
            return Ok(());
        }
    }

    /// Applies the message handler of protected frame `p` (if it has one
    /// and `err` was not handled yet): above `floor` the handler is pushed
    /// as a frame over the failing ones (`msgh.rs`), and `None` says the run
    /// goes on there (its result comes back to `recover` as an error
    /// already handled); below, as in a recursive call (`call_value`), it
    /// is called at once, as `lua_call` raises through a protected call's
    /// handler. Returns the error to unwind with.
    fn run_message_handler(&mut self, p: usize, floor: usize, err: LuaError) -> Option<LuaError> {
        let ci = &self.th.frames[p];
        let Some(h) = ci
            .handler
            .filter(|_| !err.0.handled && ci.flags & CLOSING == 0)
        else {
            return Some(err);
        };
        if p >= floor {
            return match self.push_handler(p, h as usize, err) {
                Ok(()) => None,
                Err(e) if e.0.handled => Some(e),
                Err(e) => Some(LuaError::handled(e.0.value)),
            };
        }
        if self.gc.in_finalizers {
            // Finalizers are protected calls of their own (`GCTM`).
            return Some(err);
        }
        // Errors inside the handler must not re-enter it.
        self.th.frames[p].handler = None;
        let err = self.apply_handler(h as usize, err);
        self.th.frames[p].handler = Some(h);
        Some(err)
    }

    /// Calls an `xpcall` message handler on an error, while the frames that
    /// raised it are still on the stack.
    fn apply_handler(&mut self, h: usize, err: LuaError) -> LuaError {
        let handler = self.th.stack[h];
        let mut value = err.0.value;
        // A handler that fails is applied to its own error, a bounded number
        // of times, then gives up as Lua does.
        for _ in 0..MAX_CCALLS / 2 {
            match self.with_handler_grace(|vm| vm.call_value(handler, &[value])) {
                Ok(res) => {
                    let v = res.first().copied().unwrap_or(Value::Nil);
                    return LuaError::handled(v);
                }
                Err(e) => value = e.0.value,
            }
        }
        let v = Value::Str(self.heap.intern(b"error in error handling"));
        LuaError::handled(v)
    }

    /// Closes upvalues and runs pending `__close` handlers (with the error)
    /// for slots at or above `level`; returns the final error value.
    pub(crate) fn close_on_error(&mut self, level: usize, errv: Value) -> Value {
        self.close_from(level, errv).unwrap_or(errv)
    }

    /// Closes every upvalue and pending to-be-closed variable of the
    /// running thread, passing `errv` to the `__close` handlers; returns the
    /// error a handler raised, if any (`lua_closethread`).
    pub(crate) fn close_all(&mut self, errv: Value) -> Option<Value> {
        self.close_from(0, errv)
    }

    /// Closes upvalues and runs the pending `__close` handlers at or above
    /// `level` through the non-yieldable path. Each handler gets the
    /// current error; one that fails replaces it, and the last replacement
    /// is returned.
    pub(crate) fn close_from(&mut self, level: usize, mut errv: Value) -> Option<Value> {
        self.close_upvals(level);
        let mut raised = None;
        // The error is in no stack slot the collector sees once a handler
        // drops its argument: rooted while the handlers run.
        let root = self.root_value(errv);
        while let Some(&slot) = self.th.tbc.last() {
            if slot < level {
                break;
            }
            self.th.tbc.pop();
            // The handler goes just above its variable: what was above is
            // dead, and after a stack overflow there would be no room.
            self.th.top = slot + 1;
            let v = self.th.stack[slot];
            let h = self.tm_of_value(v, Tm::Close);
            if let Err(e) = self.call_value(h, &[v, errv]) {
                errv = e.0.value;
                raised = Some(e.0.value);
                if let Some(slot) = self.roots.as_mut().and_then(|r| r.get_mut(root.0)) {
                    *slot = errv;
                }
            }
        }
        self.unroot(root);
        raised
    }

    /// The stack top from which the pending `__close` handlers at or above
    /// `level` run once the frames above it are unwound: just above the
    /// last pending variable (what was above is dead, and after a stack
    /// overflow there would be no room for a handler).
    pub(crate) fn closing_top(&self, level: usize) -> usize {
        self.th.tbc.last().map_or(level, |&s| level.max(s + 1))
    }

    /// Closes every open upvalue at or above stack slot `level`.
    #[inline(never)]
    pub(crate) fn close_upvals(&mut self, level: usize) {
        while let Some(&(slot, uv)) = self.th.open_upvals.last() {
            if slot < level {
                break;
            }
            self.th.open_upvals.pop();
            self.heap.upvals[uv] = Upval::Closed(self.th.stack[slot]);
        }
    }

    /// Calls `f` with `args` through the recursive (non-yieldable) path and
    /// returns all its results. Natives use this for callbacks that cannot
    /// yield (`table.sort` comparators, `__gc`, `tostring`'s `__tostring`).
    ///
    /// # Errors
    /// Returns the error raised by the call; the stack is restored.
    pub fn call_value(&mut self, f: Value, args: &[Value]) -> LuaResult<Vec<Value>> {
        self.take_misuse()?;
        self.check_owned("Vm::call", f)?;
        self.check_all_owned("Vm::call", args)?;
        if self.n_ccalls >= MAX_CCALLS {
            return Err(self.rt_error("C stack overflow"));
        }
        let func = self.th.top;
        let depth = self.th.frames.len();
        self.th.push(f);
        for &a in args {
            self.th.push(a);
        }
        self.n_ccalls += 1;
        self.th.nny += 1;
        let r = self.precall(func, MULTRET).and_then(|_| self.run(depth));
        self.th.nny -= 1;
        self.n_ccalls -= 1;
        match r {
            Ok(()) => {
                let results = self.th.stack[func..self.th.top].to_vec();
                self.th.top = func;
                Ok(results)
            }
            Err(mut e) => {
                // Pending `__close` handlers of the abandoned frames run with
                // the error, as a protected call's would.
                self.unwind_frames(depth);
                e.0.value = self.close_on_error(func, e.0.value);
                self.th.top = func;
                Err(e)
            }
        }
    }
}
