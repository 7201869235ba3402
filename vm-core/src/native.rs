//! The native-function ABI (`lua_CFunction`, `lua_KFunction`).
//!
//! A native never calls back into the interpreter to run Lua code that may
//! need to be resumable: it returns a [`Step`] saying what the interpreter
//! must do next. Calls requested this way (`Step::Call`, `Step::PCall`) run
//! on the interpreter's own loop, and when they finish the interpreter calls
//! the named [`Continuation`] of the native's frame with the results on the
//! stack. The same holds for yields (`Step::Yield`), coroutine resumes
//! (`Step::Resume`) and blocking work handed to the driver
//! (`Step::Offload` with a [`Job`]). A native is charged its declared
//! fuel cost each time it starts; a panic inside it becomes a Lua error.
//!
//! Natives and continuations are plain `fn` items registered under stable
//! names; their state is Lua values on the stack plus a small integer
//! context, never a captured closure (that is what makes a suspended native
//! frame persistable).

use crate::error::LuaResult;
use crate::state::Vm;
use crate::value::ThreadRef;

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
    /// Fuel charged each time the native is started (the instruction
    /// budget counts one unit per VM instruction). A native that the rest
    /// of a slice's budget cannot pay for waits for the next slice, unless
    /// it is the first thing that slice does.
    pub cost: u32,
}

impl NativeFunction {
    /// A native costing one unit of fuel per call.
    pub const fn new(name: &'static str, func: NativeFn) -> Self {
        NativeFunction {
            name,
            func,
            cost: 1,
        }
    }

    /// A native costing `cost` units of fuel per call (for natives whose
    /// work is worth many instructions).
    pub const fn with_cost(name: &'static str, func: NativeFn, cost: u32) -> Self {
        NativeFunction { name, func, cost }
    }
}

/// A continuation with its stable name.
#[derive(Debug)]
pub struct Continuation {
    /// Stable name (for persistence).
    pub name: &'static str,
    /// The function.
    pub func: ContinuationFn,
}

impl Continuation {
    /// A continuation registered under `name`.
    pub const fn new(name: &'static str, func: ContinuationFn) -> Self {
        Continuation { name, func }
    }
}

/// Outcome of a call requested by a native, as seen by its continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The call returned; its results are on top of the stack, starting at
    /// the slot where the called function was.
    Ok,
    /// A protected call failed (or an offloaded job failed, or the resumed
    /// coroutine died); the error value is on top of the stack, at the slot
    /// where the called function was.
    Error,
    /// The native yielded (`Step::Yield` with a continuation) and was
    /// resumed: the values passed to `resume` are on top of the stack.
    Yield,
}

/// What the interpreter must do after a native function (or continuation)
/// returns.
#[derive(Debug)]
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
    /// Yield the top `nresults` values to the resumer (`lua_yieldk`). When
    /// the coroutine is resumed, `k` (if any) is called with
    /// `Status::Yield` and the resume arguments on top of the stack;
    /// without `k`, the resume arguments are the native's results.
    Yield {
        /// Number of values on top of the stack to yield.
        nresults: usize,
        /// Continuation run when resumed.
        k: Option<&'static Continuation>,
        /// Context integer passed to `k`.
        ctx: i64,
    },
    /// Resume coroutine `thread` with the top `nargs` values as arguments
    /// (`lua_resume`, stackless). When it yields or returns, the values it
    /// transfers are delivered as `deliver` says; when it dies with an
    /// error, `k` is called with `Status::Error` and the error value pushed
    /// where the arguments were. A coroutine that cannot be resumed (dead,
    /// running, normal) is reported the same way with the message
    /// `coroutine.resume` gives, except that under `Deliver::Results` it is
    /// raised, with the caller's position.
    Resume {
        /// The coroutine to resume (must be suspended).
        thread: ThreadRef,
        /// Number of arguments on top of the stack.
        nargs: usize,
        /// How the values of a yield or return reach this native.
        deliver: Deliver,
        /// Continuation run with the error (and with the values under
        /// `Deliver::Continuation`).
        k: &'static Continuation,
        /// Context integer passed to `k`.
        ctx: i64,
    },
    /// Run `job` outside the VM (it may block) and continue in `k` with its
    /// result: values pushed (`Status::Ok`) or an error message
    /// (`Status::Error`). The whole chain of coroutines being resumed is
    /// suspended and the job is handed to the driver; where the VM cannot
    /// be suspended (inside a non-yieldable native call) the job runs in
    /// place.
    Offload {
        /// The blocking work.
        job: Job,
        /// Continuation run with the job's result.
        k: &'static Continuation,
        /// Context integer passed to `k`.
        ctx: i64,
    },
}

/// How a native that resumed a coroutine (`Step::Resume`) receives the
/// values the coroutine yields or returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deliver {
    /// Its continuation is called with `Status::Ok` and the values pushed
    /// where the arguments were.
    Continuation,
    /// The values are the native's results (what `coroutine.wrap`'s
    /// functions return), without calling the continuation.
    Results,
    /// `true` followed by the values are the native's results (what
    /// `coroutine.resume` returns), without calling the continuation.
    TrueAndResults,
}

/// A Lua value that can cross OS threads: what an offloaded job receives
/// from and returns to the VM.
#[derive(Clone, Debug, PartialEq)]
pub enum JobValue {
    /// `nil`
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string (bytes).
    Str(Vec<u8>),
}

/// What a job produces: values, or an error message.
pub type JobResult = Result<Vec<JobValue>, String>;

/// Blocking work requested by a native (`Step::Offload`). It owns its
/// inputs and touches no VM state, so the driver may run it on any thread.
pub struct Job(Box<dyn FnOnce() -> JobResult + Send>);

impl Job {
    /// Wraps the work.
    pub fn new(f: impl FnOnce() -> JobResult + Send + 'static) -> Job {
        Job(Box::new(f))
    }

    /// Runs the work (a panic inside it becomes an error message).
    pub fn run(self) -> JobResult {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(self.0)) {
            Ok(r) => r,
            Err(p) => Err(format!("job {}", panic_message(&*p))),
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// "panicked: <message>" for a panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}
