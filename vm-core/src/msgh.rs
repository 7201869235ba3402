//! Message handlers (`xpcall`'s, `Vm::pcallk` with a handler) run as
//! frames, so that the budget preempts them like any Lua code.
//!
//! When an error reaches a protected frame that has a handler, `recover`
//! does not unwind yet: it pushes a *trampoline* native frame (`MSGH`) on
//! top of the frames that failed, which stay intact for tracebacks. The
//! trampoline calls the handler with the error; its continuation raises the
//! handler's result as an error already handled, which then unwinds to the
//! protected frame. An error inside the handler gets the handler again
//! (another trampoline), as in PUC Lua, until `MAX_HANDLERS` are nested:
//! then "error in error handling".
//!
//! Handlers cannot yield (PUC Lua: `LUA_ERRERR`): a trampoline counts as
//! a non-yieldable call on its thread (`Thread::nny`). Past the
//! instruction limit a handler gets a grace (`limit.rs`), which ends when
//! its trampoline returns or is unwound: how far the limit moved is kept
//! in the trampoline's context. All running handlers share one grace, so
//! nested or retried handlers cannot outlive the limit.

use crate::error::{LuaError, LuaResult};
use crate::native::{Args, Continuation, NativeFunction, Status, Step};
use crate::state::{Vm, MAX_CCALLS, MSGH};
use crate::value::Value;

/// How many handler calls may be nested for one error before "error in
/// error handling".
const MAX_HANDLERS: usize = (MAX_CCALLS / 2) as usize;

pub(crate) static TRAMPOLINE: NativeFunction =
    NativeFunction::new("(message handler)", start).with_id("core.message_handler");
pub(crate) static TRAMPOLINE_K: Continuation = Continuation::new("core.message_handler_k", done);

/// The trampoline: `(handler, error)` are its arguments.
fn start(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let ctx = vm.th.frames.last().map_or(0, |ci| ci.ctx);
    Ok(vm.callk(1, &TRAMPOLINE_K, ctx))
}

/// The handler returned: its first result is the error the protected call
/// reports.
fn done(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    let v = vm.frame_get(args, 0);
    vm.end_trampoline(ctx);
    if let Some(ci) = vm.th.frames.last_mut() {
        ci.flags &= !MSGH;
    }
    Err(LuaError::handled(v))
}

impl Vm {
    /// Starts the message handler at stack slot `h` on `err`, above the
    /// failing frames; or, when `MAX_HANDLERS` are running already above
    /// protected frame `p`, gives up with "error in error handling".
    pub(crate) fn push_handler(&mut self, p: usize, h: usize, err: LuaError) -> LuaResult<()> {
        let nested = self.th.frames[p + 1..]
            .iter()
            .filter(|ci| ci.flags & MSGH != 0)
            .count();
        if nested >= MAX_HANDLERS {
            let v = Value::Str(self.heap.intern(b"error in error handling"));
            return Err(LuaError::handled(v));
        }
        // Above every value the failing frames may still use.
        let top = self
            .th
            .frames
            .last()
            .map_or(0, |ci| ci.top)
            .max(self.th.top);
        self.th.top = top;
        let tramp = self.new_native(&TRAMPOLINE);
        let handler = self.th.stack[h];
        self.th.push(tramp);
        self.th.push(handler);
        self.th.push(err.0.value);
        self.starting_handler = true;
        let pushed = self.precall(top, 1);
        self.starting_handler = false;
        pushed?;
        let moved = self.grant_handler_grace();
        self.th.nny += 1;
        let ci = self.th.frames.last_mut().expect("the trampoline");
        ci.flags |= MSGH;
        ci.ctx = moved;
        Ok(())
    }

    /// A trampoline ends (returned, or unwound), with context `ctx`: the
    /// grace it was given.
    pub(crate) fn end_trampoline(&mut self, ctx: i64) {
        self.th.nny = self.th.nny.saturating_sub(1);
        self.end_handler_grace(ctx);
    }

    /// Pops frames down to `keep`, ending the trampolines and the
    /// finalizers' runner among them, and uncounts the native calls
    /// waiting in them.
    pub(crate) fn unwind_frames(&mut self, keep: usize) {
        let mut calling = 0;
        for fi in (keep..self.th.frames.len()).rev() {
            let ci = &self.th.frames[fi];
            calling += u32::from(ci.flags & crate::state::CALLING != 0);
            if ci.flags & MSGH != 0 {
                let ctx = ci.ctx;
                self.end_trampoline(ctx);
            } else if ci.flags & crate::state::FIN != 0 && self.is_runner_frame(fi) {
                self.unwind_runner(fi);
            }
        }
        self.unwind_hook(keep);
        self.th.frames.truncate(keep);
        // Only the frames popped are visited: an error caught deep in the
        // stack costs what it unwinds, not the stack's depth.
        self.th.ncalls = self.th.ncalls.saturating_sub(calling);
        debug_assert_eq!(self.th.ncalls, self.count_ccalls());
    }
}
