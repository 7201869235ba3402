//! Closing a coroutine (`lua_closethread`) with its pending `__close`
//! handlers run under the budget.
//!
//! PUC Lua runs the handlers of a suspended or failed coroutine from C,
//! nested in the caller of `coroutine.close`. Here the coroutine is set up
//! to run them itself: its frames go, its open upvalues close, and a native
//! frame (the closer) takes their place, as if suspended in a yield. The
//! caller then resumes it like any coroutine, so the handlers are ordinary
//! calls on the coroutine's stack that the budget can suspend, and a
//! driver can park or cancel the chain meanwhile. The closer calls the
//! handlers one at a time, newest first, each with the current error (a
//! failing handler's error replaces it), then returns `true`, or `false`
//! and the error, and the coroutine is dead. As in PUC Lua, the handlers
//! cannot yield.
//!
//! An error that leaves a driven call on the main thread (`Vm::start`, no
//! protected call to catch it) is handled the same way: a closer frame
//! replaces the failed frames and runs the main task's pending handlers
//! under the budget, then raises the final error, which leaves the driver
//! with nothing left to close. So does the bottom of each thread that a
//! cancel unwinds (`Vm::cancel`).

use crate::error::LuaResult;
use crate::native::{Args, Continuation, Deliver, NativeFunction, Status, Step};
use crate::state::{ThreadSlot, ThreadStatus, Tm, Vm, HIDDEN, MULTRET, STARTED, YIELDED};
use crate::value::{ThreadRef, Value};

impl Vm {
    /// `coroutine.close(t)` for a native that must stay suspendable: the
    /// results (`true`, or `false` and the error) are delivered as
    /// [`Vm::resumek`] delivers a coroutine's (`deliver`); when the closing
    /// itself fails (the instruction limit), `k` gets `Status::Error`. A
    /// coroutine without pending handlers is closed at once.
    ///
    /// # Errors
    /// "cannot close a running coroutine" and "cannot close a normal
    /// coroutine".
    pub fn close_threadk(
        &mut self,
        t: ThreadRef,
        deliver: Deliver,
        k: &'static Continuation,
        ctx: i64,
    ) -> LuaResult<Step> {
        if !self.in_native() {
            return Err(self.api_error("Vm::close_threadk was used outside any native"));
        }
        // Only a suspended or dead coroutine is closed here: a running one
        // (the top of a parked chain is, without being current) is refused
        // by `close_thread`.
        let pending = t != self.cur
            && self
                .heap
                .threads
                .get(t)
                .and_then(ThreadSlot::get)
                .is_some_and(|th| {
                    matches!(th.status, ThreadStatus::Suspended | ThreadStatus::Dead)
                        && !th.tbc.is_empty()
                });
        if !pending {
            let n = match self.close_thread(t)? {
                None => {
                    self.push(Value::Bool(true));
                    1
                }
                Some(e) => {
                    self.push(Value::Bool(false));
                    self.push(e);
                    2
                }
            };
            return Ok(match deliver {
                Deliver::Continuation => self.pausek(k, ctx),
                Deliver::Results | Deliver::TrueAndResults => Step::Return(n),
            });
        }
        let from = self.cur;
        self.switch_to(t);
        let err = self.th.errored.then(|| self.th.stack[self.th.top - 1]);
        self.th.nny += 1;
        self.unwind_frames(0);
        self.close_upvals(0);
        self.th.errored = false;
        self.th.top = self.closing_top(0);
        let closer = self.new_native(&CLOSER);
        let func = self.th.top;
        self.th.push(closer);
        self.th.push(err.unwrap_or_default());
        let r = self.precall(func, MULTRET);
        if r.is_ok() {
            let ci = self.th.frames.last_mut().expect("the closer's frame");
            ci.flags |= STARTED | YIELDED | HIDDEN;
            ci.k = Some(&CLOSER_K);
            ci.ctx = i64::from(err.is_some());
            self.th.status = ThreadStatus::Suspended;
        } else {
            // No room for the closer (its frames are gone already): the
            // coroutine is dead, its handlers not run.
            self.th.nny -= 1;
            self.th.top = 0;
            self.th.status = ThreadStatus::Dead;
        }
        self.switch_to(from);
        r?;
        // The closer's results are `coroutine.close`'s (without the
        // `true` a resume would add).
        let deliver = match deliver {
            Deliver::TrueAndResults => Deliver::Results,
            d => d,
        };
        Ok(self.resumek(t, 0, deliver, k, ctx))
    }
}

impl Vm {
    /// After error `err` left the main task: when it has pending `__close`
    /// handlers, replaces its frames with a closer frame that runs them
    /// (started by the driver loop) and answers true.
    pub(crate) fn start_main_closing(&mut self, err: Value) -> bool {
        self.cur == self.main && self.start_closing(err)
    }

    /// After error `err` reached the bottom of the running thread's run
    /// (the main task, or a whole coroutine being cancelled): when handlers
    /// are pending there, replaces the run's frames with a closer frame
    /// that runs them and then raises the final error, and answers true.
    pub(crate) fn start_closing(&mut self, err: Value) -> bool {
        let (func, depth) = if self.cur == self.main {
            match self.main_task() {
                Some(task) => task,
                None => return false,
            }
        } else {
            (0, 0)
        };
        if self.th.tbc.last().is_none_or(|&s| s <= func) {
            return false;
        }
        self.unwind_frames(depth);
        self.close_upvals(func);
        if let Some(d) = self.th.cancel_depth {
            // The closer and the handlers it calls are not the run's.
            self.th.cancel_depth = Some(d.min(depth as u32));
        }
        self.th.top = self.closing_top(func);
        let closer = self.new_native(&MAIN_CLOSER);
        let at = self.th.top;
        self.th.push(closer);
        self.th.push(err);
        self.th.push(Value::Int(func as i64));
        if self.precall(at, MULTRET).is_err() {
            return false;
        }
        if let Some(ci) = self.th.frames.last_mut() {
            ci.flags |= HIDDEN;
        }
        true
    }
}

/// The main task's closer (and a cancelled coroutine's): runs the pending
/// handlers above the function slot given as argument 2 with the error
/// (argument 1), then raises it.
pub(crate) static MAIN_CLOSER: NativeFunction =
    NativeFunction::new("close", main_closer).with_id("core.main_closer");
pub(crate) static MAIN_CLOSER_K: Continuation =
    Continuation::new("core.main_closer_k", main_closer_k);

fn main_closer(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    main_closer_k(vm, args, Status::Ok, 0)
}

fn main_closer_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    if status == Status::Error {
        let e = vm.frame_get(args, vm.frame_top(args) - 1);
        vm.set_arg(args, 1, e);
    }
    vm.frame_truncate(args, args.len());
    let err = vm.arg(args, 1);
    let level = match vm.arg(args, 2) {
        Value::Int(l) => l as usize,
        _ => 0,
    };
    match vm.th.tbc.last() {
        Some(&slot) if slot > level => {
            vm.th.tbc.pop();
            let v = vm.th.stack[slot];
            let h = vm.tm_of_value(v, Tm::Close);
            vm.push(h);
            vm.push(v);
            vm.push(err);
            Ok(vm.pcallk(2, None, &MAIN_CLOSER_K, 0))
        }
        _ => Err(crate::error::LuaError::new(err)),
    }
}

/// The closer: never started, it begins suspended (see the module
/// documentation).
pub(crate) static CLOSER: NativeFunction =
    NativeFunction::new("close", closer).with_id("core.closer");
pub(crate) static CLOSER_K: Continuation = Continuation::new("core.closer_k", closer_k);

fn closer(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Err(vm.error("the coroutine closer was called"))
}

/// Calls the next pending handler with the error (argument 1), or returns
/// the outcome. `failed` is 1 once there is an error (even nil) to report.
fn closer_k(vm: &mut Vm, args: Args, status: Status, failed: i64) -> LuaResult<Step> {
    let mut failed = failed;
    if status == Status::Error {
        let e = vm.frame_get(args, vm.frame_top(args) - 1);
        vm.set_arg(args, 1, e);
        failed = 1;
    }
    vm.frame_truncate(args, args.len());
    let err = vm.arg(args, 1);
    let Some(slot) = vm.th.tbc.pop() else {
        vm.th.nny -= 1;
        // Nothing below the closer matters any more: its results go to
        // slot 0, where a coroutine's return leaves them for its resumer.
        vm.th.frames.last_mut().expect("the closer's frame").func = 0;
        if failed == 0 {
            vm.push(Value::Bool(true));
            return Ok(Step::Return(1));
        }
        vm.push(Value::Bool(false));
        vm.push(err);
        return Ok(Step::Return(2));
    };
    let v = vm.th.stack[slot];
    let h = vm.tm_of_value(v, Tm::Close);
    vm.push(h);
    vm.push(v);
    vm.push(err);
    Ok(vm.pcallk(2, None, &CLOSER_K, failed))
}
