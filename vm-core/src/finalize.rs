//! Finalizers (`__gc`) run as frames, so that the budget preempts them like
//! any Lua code (`lgc.c`'s `GCTM`, called from the interpreter loop).
//!
//! A collection that finds objects to finalize (`tobefnz`) sets `fin_due`,
//! which holds the interpreter's share of the budget at zero (as a hook's
//! trap does: `Vm::set_fuel`), so the next instruction boundary takes the
//! slow path. There, `start_finalizers` pushes the runner, a native frame,
//! on top of the running thread (at its top, expecting all results: when
//! it returns nothing the top is where it was) and the driver loop runs it.
//! The runner calls each finalizer in protected mode (`Vm::pcallk`), one
//! at a time; an error becomes a warning, as in Lua 5.4. While it runs,
//! finalizers do not nest (`in_finalizers`), hooks are off and the thread
//! cannot yield (`Thread::nny`), as in PUC Lua.
//!
//! `Vm::run_finalizers` keeps the recursive path for callers outside the
//! interpreter loop (`Vm::close`, the end of a run: no instruction follows).

use crate::error::LuaResult;
use crate::native::{Args, Continuation, NativeFunction, Status, Step};
use crate::state::{FrameKind, Tm, Vm, FIN};

pub(crate) static RUNNER: NativeFunction =
    NativeFunction::new("(finalizers)", runner).with_id("core.finalizers");
pub(crate) static RUNNER_K: Continuation = Continuation::new("core.finalizers_k", runner_k);

/// The runner's first step: hooks off, then the first finalizer.
fn runner(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let allowed = vm.set_hooks_allowed(false);
    next(vm, args, i64::from(allowed))
}

/// A finalizer returned or failed: report a failure, then the next one.
/// `ctx` is whether hooks were allowed before the runner.
fn runner_k(vm: &mut Vm, args: Args, status: Status, ctx: i64) -> LuaResult<Step> {
    if status == Status::Error {
        let top = vm.frame_top(args);
        let e = crate::error::LuaError::new(vm.frame_get(args, top.saturating_sub(1)));
        let msg = vm.error_to_string(&e);
        vm.warn(&format!("error in __gc ({msg})"));
    }
    next(vm, args, ctx)
}

/// Calls the next finalizer due, or ends the runner.
fn next(vm: &mut Vm, args: Args, ctx: i64) -> LuaResult<Step> {
    vm.frame_truncate(args, 0);
    while let Some(obj) = vm.fin.tobefnz.pop_front() {
        if vm.instruction_limit_exceeded() {
            // Each would fail at its first instruction.
            vm.fin.tobefnz.clear();
            break;
        }
        let gc = vm.tm_of_value(obj, Tm::Gc);
        if gc.is_nil() {
            continue;
        }
        vm.push(gc);
        vm.push(obj);
        return Ok(vm.pcallk(1, None, &RUNNER_K, ctx));
    }
    vm.end_runner(ctx != 0);
    Ok(Step::Return(0))
}

impl Vm {
    /// Called at an instruction boundary while `fin_due`: pushes the
    /// runner if finalizers are due and none is running; true when it did
    /// (the interpreter must leave the frame for the driver loop).
    pub(crate) fn start_finalizers(&mut self) -> LuaResult<bool> {
        self.fin_due = false;
        if self.gc.in_finalizers || self.fin.tobefnz.is_empty() {
            return Ok(false);
        }
        let func = self.th.top;
        let runner = self.new_native(&RUNNER);
        self.th.push(runner);
        self.precall(func, crate::state::MULTRET)?;
        self.gc.in_finalizers = true;
        self.th.nny += 1;
        // The runner's frame names the finalizers it calls "__gc".
        self.set_top_frame_flag(FIN, true);
        Ok(true)
    }

    /// The runner is done (or unwound): finalizers may start again.
    fn end_runner(&mut self, hooks_allowed: bool) {
        self.set_hooks_allowed(hooks_allowed);
        self.gc.in_finalizers = false;
        self.th.nny = self.th.nny.saturating_sub(1);
    }

    /// Whether frame `fi` of the running thread is the finalizers' runner.
    pub(crate) fn is_runner_frame(&self, fi: usize) -> bool {
        match self.th.frames[fi].kind {
            FrameKind::Native(n) => self
                .heap
                .native_fn(n)
                .is_some_and(|f| std::ptr::eq(f, &RUNNER)),
            FrameKind::Lua(_) => false,
        }
    }

    /// Frame `fi`, the runner, is being unwound (its thread cancelled or
    /// closed): finalizers may start again elsewhere.
    pub(crate) fn unwind_runner(&mut self, fi: usize) {
        let allowed = self.th.frames[fi].ctx != 0 || self.th.frames[fi].k.is_none();
        self.end_runner(allowed);
    }
}
