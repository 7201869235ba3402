//! The native-function ABI (`lua_CFunction`, `lua_KFunction`).
//!
//! A native never calls back into the interpreter to run Lua code that may
//! need to be resumable: it returns a [`Step`] saying what the interpreter
//! must do next. Calls requested this way (`Step::Call`, `Step::PCall`) run
//! on the interpreter's own loop, and when they finish the interpreter calls
//! the named [`Continuation`] of the native's frame with the results on the
//! stack. Natives and continuations are plain `fn` items registered under
//! stable names; their state is Lua values on the stack plus a small integer
//! context, never a captured closure (that is what makes a suspended native
//! frame persistable).

use crate::error::LuaResult;
use crate::state::Vm;

/// Where a native frame's values live: stack slots `base..` of the running
/// thread. Argument `i` (1-based) is `vm.arg(args, i)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Args {
    pub(crate) base: usize,
    pub(crate) count: usize,
}

impl Args {
    /// Number of arguments the native was called with.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the native was called without arguments.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Signature of a native function.
pub type NativeFn = fn(&mut Vm, Args) -> LuaResult<Step>;

/// Signature of a continuation: called with the frame's `Args` (the stack
/// may hold more values above them: the results of the requested call),
/// the outcome of that call, and the context integer given with the step.
pub type ContinuationFn = fn(&mut Vm, Args, Status, i64) -> LuaResult<Step>;

/// A native function with its stable name.
#[derive(Debug)]
pub struct NativeFunction {
    /// Stable name (for listings, error messages and persistence).
    pub name: &'static str,
    /// The function.
    pub func: NativeFn,
}

/// A continuation with its stable name.
#[derive(Debug)]
pub struct Continuation {
    /// Stable name (for persistence).
    pub name: &'static str,
    /// The function.
    pub func: ContinuationFn,
}

/// Outcome of a call requested by a native, as seen by its continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The call returned; its results are on top of the stack, starting at
    /// the slot where the called function was.
    Ok,
    /// A protected call failed; the error value is on top of the stack, at
    /// the slot where the called function was.
    Error,
}

/// What the interpreter must do after a native function (or continuation)
/// returns.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Return the top `n` values of the stack to the caller.
    Return(usize),
    /// Call the value `nargs + 1` slots below the top with the `nargs`
    /// values above it as arguments, keeping all results; then call `k`.
    Call {
        /// Number of arguments on top of the stack.
        nargs: usize,
        /// Continuation run with the results.
        k: &'static Continuation,
        /// Context integer passed to `k`.
        ctx: i64,
    },
    /// As `Call`, but errors raised by the call are caught: `k` receives
    /// `Status::Error` with the error value. With a `handler` (a stack slot
    /// of this frame holding a function), the handler is applied to the
    /// error first, as `xpcall` does.
    PCall {
        /// Number of arguments on top of the stack.
        nargs: usize,
        /// Absolute stack slot of the message handler, if any.
        handler: Option<usize>,
        /// Continuation run with the results or the error.
        k: &'static Continuation,
        /// Context integer passed to `k`.
        ctx: i64,
    },
    /// Replace this native's frame with a call of the value `nargs + 1`
    /// slots below the top (a tail call).
    TailCall {
        /// Number of arguments on top of the stack.
        nargs: usize,
    },
}
