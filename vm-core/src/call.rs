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
//! innermost protected native frame (`pcall`): it applies that frame's
//! message handler while the failing frames are still intact, then unwinds
//! to it, closes what must be closed, and calls its continuation with
//! `Status::Error`.

use crate::error::{LuaError, LuaResult};
use crate::heap::Upval;
use crate::meta::Tm;
use crate::native::{Args, Status, Step};
use crate::state::{CallInfo, FrameKind, Vm, MAX_CCALLS, MAX_STACK, MULTRET, PROTECTED};
use crate::value::{LuaFnRef, Value};

/// Native frame flag: the native function itself has been called.
pub(crate) const STARTED: u8 = 8;

/// Extra slots every frame may use above its registers (for metamethod
/// calls and natives' pushes), like `LUA_MINSTACK`.
pub(crate) const EXTRA_STACK: usize = 20;

/// What pushing a Lua frame needs from the function's prototype.
#[derive(Clone, Copy)]
struct FrameShape {
    params: usize,
    max_stack: usize,
    vararg: bool,
    /// `raw::proto_addr` of the prototype.
    addr: usize,
}

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
    fn grow_stack(&mut self, top: usize) -> LuaResult<()> {
        if top + EXTRA_STACK > MAX_STACK {
            return Err(self.rt_error("stack overflow"));
        }
        self.th.ensure(top + EXTRA_STACK);
        Ok(())
    }

    /// Pushes the frame for a call of the value at `func` with the values
    /// above it as arguments (steps 1-2 of the protocol). Returns true if
    /// a Lua frame was pushed.
    #[inline(always)]
    pub(crate) fn precall(&mut self, func: usize, nresults: i32) -> LuaResult<bool> {
        // The common case, inlined into the interpreter: a Lua function
        // with fixed parameters.
        if let Value::LuaFn(cl) = self.th.stack[func] {
            let shape = self.frame_shape(cl);
            if !shape.vararg {
                return self.push_fixed_frame(func, cl, shape, nresults);
            }
        }
        self.precall_general(func, nresults)
    }

    /// What pushing a frame of closure `cl` needs from its prototype.
    #[inline(always)]
    fn frame_shape(&self, cl: LuaFnRef) -> FrameShape {
        let proto = &self.heap.lfns[cl].proto;
        FrameShape {
            params: proto.num_params as usize,
            max_stack: proto.max_stack as usize,
            vararg: proto.is_vararg,
            addr: crate::raw::proto_addr(proto),
        }
    }

    /// Pushes the frame of Lua function `cl` (not vararg) at `func`.
    #[inline(always)]
    fn push_fixed_frame(
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
        for slot in &mut self.th.stack[base + nargs.min(np)..base + np] {
            *slot = Value::Nil;
        }
        self.th.top = top;
        let mut ci = CallInfo::new(func, base, nresults, FrameKind::Lua(cl));
        ci.top = top;
        ci.proto = addr;
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
        self.th.top = ci.top;
        self.th.frames.push(ci);
        Ok(true)
    }

    /// `precall` for vararg functions, natives and `__call`.
    #[inline(never)]
    fn precall_general(&mut self, func: usize, nresults: i32) -> LuaResult<bool> {
        let mut f = self.th.stack[func];
        let mut chain = 0;
        loop {
            match f {
                Value::LuaFn(cl) => {
                    let shape = self.frame_shape(cl);
                    return if shape.vararg {
                        self.push_vararg_frame(func, cl, shape, nresults)
                    } else {
                        self.push_fixed_frame(func, cl, shape, nresults)
                    };
                }
                Value::Native(n) => {
                    let nargs = self.th.top - func - 1;
                    self.reserve(self.th.top)?;
                    let mut ci = CallInfo::new(func, func + 1, nresults, FrameKind::Native(n));
                    ci.nargs = nargs as u32;
                    self.th.frames.push(ci);
                    return Ok(false);
                }
                _ => {
                    // `__call`: insert the handler below the callee.
                    let h = self.metamethod(f, Tm::Call);
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
            }
        }
    }

    /// Calls the native frame on top of the stack for the first time and
    /// returns its step.
    #[inline(never)]
    pub(crate) fn start_native(&mut self) -> LuaResult<Step> {
        let ci = self.th.frames.last_mut().expect("a native frame");
        ci.flags |= STARTED;
        let FrameKind::Native(n) = ci.kind else {
            unreachable!("start_native on a Lua frame")
        };
        let args = Args {
            base: ci.base,
            count: ci.nargs as usize,
        };
        let nc = &self.heap.natives[n];
        if let Some(c) = &nc.closure {
            let c = std::sync::Arc::clone(c);
            return (c.func)(self, args);
        }
        let f = nc.func.func;
        f(self, args)
    }

    /// Pops the top frame, moving its `n` results from `first` to the
    /// frame's function slot (step 4 of the protocol).
    #[inline(never)]
    pub(crate) fn postcall(&mut self, first: usize, n: usize) {
        let frames = &mut self.th.frames;
        let (res, nresults) = match frames.last() {
            Some(ci) => (ci.func, ci.nresults),
            None => unreachable!("a frame to return from"),
        };
        frames.truncate(frames.len() - 1);
        let stack = &mut self.th.stack;
        // Results move down (`first >= res`); few values, so an element
        // loop beats a `memmove` call.
        let copy = if nresults == MULTRET {
            n
        } else {
            n.min(nresults as usize)
        };
        for i in 0..copy {
            stack[res + i] = stack[first + i];
        }
        if nresults == MULTRET {
            self.th.top = res + n;
            return;
        }
        // Missing results are nil; a Lua caller gets its frame extent back
        // (or just above a metamethod's result, which `finish_op` takes).
        let wanted = nresults as usize;
        for slot in &mut stack[res + copy..res + wanted] {
            *slot = Value::Nil;
        }
        let mut top = res + wanted;
        if let Some(caller) = frames.last() {
            if caller.is_lua() {
                top = top.max(caller.top);
            }
        }
        self.th.top = top;
    }

    /// Applies a native's step to the native frame on top of the stack.
    #[inline(never)]
    pub(crate) fn apply_step(&mut self, step: Step) -> LuaResult<()> {
        match step {
            Step::Return(n) => {
                let first = self.th.top - n;
                self.postcall(first, n);
                Ok(())
            }
            Step::Call { nargs, k, ctx } => {
                let callee = self.th.top - nargs - 1;
                let ci = self.th.frames.last_mut().expect("native frame");
                ci.k = Some(k);
                ci.ctx = ctx;
                ci.callee = callee as u32;
                self.precall(callee, MULTRET)?;
                Ok(())
            }
            Step::PCall {
                nargs,
                handler,
                k,
                ctx,
            } => {
                let callee = self.th.top - nargs - 1;
                let ci = self.th.frames.last_mut().expect("native frame");
                ci.k = Some(k);
                ci.ctx = ctx;
                ci.callee = callee as u32;
                ci.handler = handler.map(|h| h as u32);
                ci.flags |= PROTECTED;
                self.precall(callee, MULTRET)?;
                Ok(())
            }
            Step::TailCall { nargs } => {
                let callee = self.th.top - nargs - 1;
                let ci = self.th.frames.pop().expect("native frame");
                self.th.stack.copy_within(callee..self.th.top, ci.func);
                self.th.top = ci.func + nargs + 1;
                self.precall(ci.func, ci.nresults)?;
                Ok(())
            }
        }
    }

    /// Runs frames until only `stop` frames remain (Lua's `unroll`): Lua
    /// frames in the interpreter, natives and their continuations here.
    pub(crate) fn run(&mut self, stop: usize) -> LuaResult<()> {
        loop {
            match self.run_unprotected(stop) {
                Ok(()) => return Ok(()),
                Err(e) => self.recover(e, stop)?,
            }
        }
    }

    fn run_unprotected(&mut self, stop: usize) -> LuaResult<()> {
        while self.th.frames.len() > stop {
            let ci = *self.th.frames.last().expect("frame");
            match ci.kind {
                FrameKind::Lua(_) => self.execute(stop)?,
                FrameKind::Native(_) => {
                    let step = if ci.flags & STARTED == 0 {
                        self.start_native()?
                    } else {
                        let k = ci.k.expect("a native frame resumed without continuation");
                        let args = Args {
                            base: ci.base,
                            count: ci.nargs as usize,
                        };
                        (k.func)(self, args, Status::Ok, ci.ctx)?
                    };
                    self.apply_step(step)?;
                }
            }
        }
        Ok(())
    }

    /// Handles an error raised while running frames above `stop`: if a
    /// protected frame above `stop` catches it, unwinds to it and lets its
    /// continuation run; otherwise returns the error.
    fn recover(&mut self, mut err: LuaError, stop: usize) -> LuaResult<()> {
        let Some(p) = self
            .th
            .frames
            .iter()
            .rposition(|ci| ci.flags & PROTECTED != 0)
        else {
            return Err(err);
        };
        if !err.handled {
            if let Some(h) = self.th.frames[p].handler {
                // Errors inside the handler must not re-enter it.
                self.th.frames[p].handler = None;
                err = self.apply_handler(h as usize, err);
                self.th.frames[p].handler = Some(h);
            }
        }
        if p < stop {
            return Err(err);
        }
        let ci = self.th.frames[p];
        let level = ci.callee as usize;
        self.th.frames.truncate(p + 1);
        let errv = self.close_on_error(level, err.value);
        self.th.top = level;
        self.th.push(errv);
        let top = self.th.frames.last_mut().expect("protected frame");
        top.flags &= !PROTECTED;
        top.handler = None;
        let k = ci.k.expect("protected frame has a continuation");
        let args = Args {
            base: ci.base,
            count: ci.nargs as usize,
        };
        let step = (k.func)(self, args, Status::Error, ci.ctx)?;
        self.apply_step(step)
    }

    /// Calls an `xpcall` message handler on an error, while the frames that
    /// raised it are still on the stack.
    fn apply_handler(&mut self, h: usize, err: LuaError) -> LuaError {
        let handler = self.th.stack[h];
        let mut value = err.value;
        // A handler that fails is applied to its own error, a bounded number
        // of times, then gives up as Lua does.
        for _ in 0..MAX_CCALLS / 2 {
            match self.call_value(handler, &[value]) {
                Ok(res) => {
                    let v = res.first().copied().unwrap_or(Value::Nil);
                    return LuaError {
                        value: v,
                        handled: true,
                        message: None,
                    };
                }
                Err(e) => value = e.value,
            }
        }
        let v = Value::Str(self.heap.intern(b"error in error handling"));
        LuaError {
            value: v,
            handled: true,
            message: None,
        }
    }

    /// Closes upvalues and runs pending `__close` handlers (with the error)
    /// for slots at or above `level`; returns the final error value.
    fn close_on_error(&mut self, level: usize, mut errv: Value) -> Value {
        self.close_upvals(level);
        while let Some(&slot) = self.th.tbc.last() {
            if slot < level {
                break;
            }
            self.th.tbc.pop();
            let v = self.th.stack[slot];
            let h = self.metamethod(v, Tm::Close);
            if let Err(e) = self.call_value(h, &[v, errv]) {
                errv = e.value;
            }
        }
        errv
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
        let r = self.precall(func, MULTRET).and_then(|_| self.run(depth));
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
                self.th.frames.truncate(depth);
                e.value = self.close_on_error(func, e.value);
                self.th.top = func;
                Err(e)
            }
        }
    }
}
