//! Coroutines and drivers (`ldo.c`'s `lua_resume`/`lua_yieldk`, stackless):
//! switching the running thread, yields, coroutine returns and deaths, the
//! instruction budget, offloaded jobs, and the driver API ([`Vm::start`],
//! [`Vm::resume`], [`Vm::complete_offload`]).
//!
//! Data flow: a resume moves the arguments from the resumer's stack to the
//! coroutine's and makes the coroutine the running thread (`Vm::th`); the
//! driver loop (`call::run`) simply goes on with the new thread's top
//! frame. A yield or a return moves values back and switches to the
//! `parent`; the parent's top frame is the native that asked for the resume
//! (`Vm::resumek`), whose continuation receives them. Nothing recurses in
//! Rust, so chains of coroutines are as deep as memory allows.
//!
//! A driver (the embedder, a scheduler, the `vm` command) runs a thread
//! with a budget. When the budget is spent, or a native offloads a job,
//! the whole chain of coroutines that this resume runs is *parked*: its
//! threads keep their frames, the main thread becomes the running one
//! again, and the next [`Vm::resume`] of the same thread continues exactly
//! where it stopped.

use crate::error::{LuaError, LuaResult};
use crate::native::{Deliver, Job, JobResult, JobValue};
use crate::state::{
    Suspend, ThreadSlot, ThreadStatus, Vm, K_ERROR, K_YIELD, MULTRET, OFFLOADED, RETURNING, YIELDED,
};
use crate::value::{ThreadRef, Value};

/// How a [`Vm::cancel`] went.
#[derive(Debug)]
pub enum Cancelled {
    /// The run is unwound and its `__close` handlers have run; the error
    /// the last failing handler raised, if any.
    Closed(Option<Value>),
    /// The handlers' budget ran out, or one offloaded a job: the closing is
    /// parked like a run that ended this way ([`Vm::resume`] continues it).
    Parked(Outcome),
}

/// How a [`Vm::start`] or [`Vm::resume`] ended (errors are the `Err` side).
///
/// The values are raw: valid until the next collection, which the next
/// call into the VM may make. Convert them at once ([`Vm::from_value`],
/// into owned handles such as [`Table`](crate::Table) to keep objects)
/// or render them ([`Vm::to_display`]).
#[derive(Debug)]
pub enum Outcome {
    /// The thread's function returned these values; the thread is dead
    /// (the main thread is ready for the next `start`).
    Return(Vec<Value>),
    /// The thread yielded these values; resume it to continue.
    Yield(Vec<Value>),
    /// The budget ran out; resume the thread (with no arguments) to go on.
    OutOfFuel,
    /// A native asked for blocking work: run the job, hand its result to
    /// [`Vm::complete_offload`], then resume the thread.
    Offload(Job),
    /// A native waits for something the driver provides ([`Vm::waitk`]):
    /// provide it (as that native's library says), then resume the thread
    /// (with no arguments).
    Wait,
}

impl Vm {
    /// Makes `t` the running thread: the current one goes back to its arena
    /// slot, `t`'s state moves into `Vm::th`.
    pub(crate) fn switch_to(&mut self, t: ThreadRef) {
        if t == self.cur {
            return;
        }
        assert!(self.heap.threads.contains_key(t), "switch to a dead thread");
        // SAFETY: just checked.
        unsafe { self.switch_to_live(t) }
    }

    /// `switch_to` a thread known to be live: one the running thread
    /// resumes after `resume_error` found it suspended, or the running
    /// thread's parent (the collector marks the whole chain of resumers).
    ///
    /// # Safety
    /// `t` must name a live thread.
    #[inline(always)]
    unsafe fn switch_to_live(&mut self, t: ThreadRef) {
        if t == self.cur {
            return;
        }
        // The running thread's slot is empty: it takes the running
        // thread's state, and `t`'s slot is emptied. (Threads are boxed,
        // so these are pointer moves.)
        // SAFETY: the running thread's slot stays occupied (empty) while
        // it runs; the caller guarantees `t`, which is not running.
        unsafe {
            let next = crate::raw::live_mut(&mut self.heap.threads, t).take();
            debug_assert!(next.is_some(), "switch to the running thread's slot");
            let prev = std::mem::replace(&mut self.th, next.unwrap_unchecked());
            crate::raw::live_mut(&mut self.heap.threads, self.cur).put(prev);
        }
        self.cur = t;
        self.set_exec_floor();
        if self.hooks_seen {
            self.rewindow();
        }
    }

    /// Pops the top `n` values of the running thread.
    fn take_top(&mut self, n: usize) -> Vec<Value> {
        let first = self.th.top - n;
        let vals = self.th.stack[first..self.th.top].to_vec();
        self.th.top = first;
        vals
    }

    /// Pushes values on the running thread.
    fn push_all(&mut self, vals: &[Value]) {
        let len = self.th.stack.len();
        self.th
            .ensure(self.th.top + vals.len() + crate::state::EXTRA_STACK);
        if self.th.stack.len() != len {
            self.note_stack_growth();
        }
        for &v in vals {
            self.th.push(v);
        }
    }

    /// Pushes `n` values of (non-running) thread `from`'s stack, from slot
    /// `first`, on the running thread.
    fn push_from(&mut self, from: ThreadRef, first: usize, n: usize) {
        let at = self.th.top;
        let len = self.th.stack.len();
        self.th.ensure(at + n + crate::state::EXTRA_STACK);
        if self.th.stack.len() != len {
            self.note_stack_growth();
        }
        self.spend_moves(n);
        // SAFETY: `from` ran until this switch, so it is live.
        let src = &unsafe { crate::raw::live(&self.heap.threads, from).idle_unchecked() }.stack
            [first..first + n];
        // Few values: an element loop beats a `memcpy` call.
        for (d, s) in self.th.stack[at..at + n].iter_mut().zip(src) {
            *d = *s;
        }
        self.th.top = at + n;
    }

    /// Returns from the running thread's top frame with `n` values of
    /// (non-running) thread `from`'s stack, from slot `first`, preceded by
    /// `true` if `with_true` (`coroutine.resume`'s status): `postcall` with
    /// values taken straight from the other thread, so they are copied
    /// once. (A flag rather than an optional value: a `Value` argument is
    /// passed through memory, and this runs on every switch.) It and the
    /// `deliver_*` helpers are inlined into the switch paths: as calls,
    /// their prologues and epilogues were 7% of a round trip's
    /// instructions.
    #[inline(always)]
    fn return_from(&mut self, from: ThreadRef, first: usize, n: usize, with_true: bool) {
        if self.hooks_seen && self.wants_return() {
            self.defer_return(Some(from), first, n, with_true);
            return;
        }
        let res = self.th.frames.last().expect("a frame to return from").func;
        let total = n + usize::from(with_true);
        let len = self.th.stack.len();
        self.th.ensure(res + total + crate::state::EXTRA_STACK);
        if self.th.stack.len() != len {
            self.note_stack_growth();
        }
        self.spend_moves(n);
        // SAFETY: `from` ran until this switch, so it is live.
        let src = &unsafe { crate::raw::live(&self.heap.threads, from).idle_unchecked() }.stack
            [first..first + n];
        if with_true {
            // SAFETY (both): `pop_frame_with` asks for `i < total` (or
            // `i < n`), and `src` holds `n` values.
            self.th.pop_frame_with(total, |_, i| {
                if i == 0 {
                    Value::Bool(true)
                } else {
                    debug_assert!(i - 1 < src.len());
                    *unsafe { src.get_unchecked(i - 1) }
                }
            });
        } else {
            self.th.pop_frame_with(n, |_, i| {
                debug_assert!(i < src.len());
                *unsafe { src.get_unchecked(i) }
            });
        }
    }

    /// `return_from` (or `postcall` of the values at `first` of the
    /// running thread's own stack, when `from` is `None`) for a thread
    /// whose return hook must see the results: they are put on top and
    /// the driver loop returns them (`RETURNING`), where the hook may fail.
    #[cold]
    #[inline(never)]
    fn defer_return(&mut self, from: Option<ThreadRef>, first: usize, n: usize, with_true: bool) {
        let at = match from {
            Some(from) => {
                let at = self.th.top;
                if with_true {
                    self.th.push(Value::Bool(true));
                }
                self.push_from(from, first, n);
                at
            }
            None => first,
        };
        let ci = self.th.frames.last_mut().expect("native frame");
        ci.callee = at as u32;
        ci.flags |= RETURNING;
    }

    /// Why `t` cannot be resumed, if it cannot (the message
    /// `coroutine.resume` returns), checked in `lua_resume`'s order: the
    /// coroutine's status, then the length of the chain of resumes.
    pub fn resume_error(&self, t: ThreadRef) -> Option<&'static str> {
        match self.thread_status(t) {
            ThreadStatus::Dead => Some("cannot resume dead coroutine"),
            ThreadStatus::Running | ThreadStatus::Normal => {
                Some("cannot resume non-suspended coroutine")
            }
            ThreadStatus::Suspended if self.th.depth >= crate::state::MAX_RESUME_DEPTH => {
                Some("C stack overflow")
            }
            ThreadStatus::Suspended => None,
        }
    }

    /// The status of thread `t` as `coroutine.status` reports it (a handle
    /// to a collected thread is dead).
    pub fn thread_status(&self, t: ThreadRef) -> ThreadStatus {
        if t == self.cur {
            return ThreadStatus::Running;
        }
        self.heap
            .threads
            .get(t)
            .and_then(ThreadSlot::get)
            .map_or(ThreadStatus::Dead, |th| th.status)
    }

    /// The fuel the last [`Vm::start`] or [`Vm::resume`] used: instructions
    /// plus the declared costs of the natives it started. It stays within
    /// the budget, except where a non-yieldable native call overran it or a
    /// native costing more than the whole budget ran alone in its slice.
    pub fn fuel_used(&self) -> u64 {
        self.last_fuel_used
    }

    /// Whether the running thread may yield (`lua_isyieldable`).
    pub fn is_yieldable(&self) -> bool {
        self.cur != self.main && self.th.nny == 0
    }

    /// Whether thread `t` could yield if it ran: not the main thread, and no
    /// non-yieldable native call in progress on it.
    pub fn thread_is_yieldable(&self, t: ThreadRef) -> bool {
        if t == self.cur {
            return self.is_yieldable();
        }
        t != self.main
            && self
                .heap
                .threads
                .get(t)
                .and_then(ThreadSlot::get)
                .is_some_and(|th| th.nny == 0)
    }

    /// Creates a coroutine that will call `f` (`lua_newthread` plus pushing
    /// the body). The thread is a collectable object: keep it reachable
    /// from Lua or [`Vm::root`] it while the embedder holds the handle.
    ///
    /// # Errors
    /// "bad handle" if `f` is not a value of this VM.
    pub fn new_thread(&mut self, f: Value) -> LuaResult<ThreadRef> {
        self.check_owned("Vm::new_thread", f)?;
        Ok(self.make_thread(f))
    }

    /// `new_thread` of a value of this VM.
    pub(crate) fn make_thread(&mut self, f: Value) -> ThreadRef {
        let mut th = Box::<crate::state::Thread>::default();
        if self.th.hook.hook.is_some() {
            th.hook = crate::state::OnDemand::new(self.th.hook.inherited());
        }
        th.push(f);
        let bytes = th.take_growth();
        self.heap.debt += bytes + crate::heap::THREAD_OVERHEAD;
        self.stack_bytes += bytes;
        self.heap
            .threads
            .insert(self.heap.base, ThreadSlot::new(th))
    }

    /// Applies a resume request (`Vm::resumek`) from the native frame on top: moves the
    /// arguments to `co` and makes it run.
    pub(crate) fn resume_step(&mut self, co: ThreadRef, nargs: usize) -> LuaResult<()> {
        if let Some(msg) = self.resume_error(co) {
            return self.refuse_resume(msg, nargs);
        }
        // The arguments leave the resumer's stack; they are copied to the
        // coroutine once it runs.
        let first = self.th.top - nargs;
        self.th.top = first;
        let ci = self.th.frames.last_mut().expect("native frame");
        ci.callee = first as u32;
        self.th.status = ThreadStatus::Normal;
        let (from, depth) = (self.cur, self.th.depth);
        // SAFETY: `resume_error` found `co` in the arena, suspended.
        unsafe { self.switch_to_live(co) };
        self.th.status = ThreadStatus::Running;
        self.th.parent = Some(from);
        self.th.depth = depth + 1;
        self.deliver_resume(Some(from), first, nargs)
    }

    /// A resume that cannot happen (dead, running or normal coroutine, chain
    /// too long), answered as `lua_resume`'s callers do: `false` and the
    /// message as results (`Deliver::TrueAndResults`), an error with the
    /// caller's position (`Deliver::Results`, as `coroutine.wrap`), or the
    /// continuation with `Status::Error`.
    fn refuse_resume(&mut self, msg: &str, nargs: usize) -> LuaResult<()> {
        self.th.top -= nargs;
        let m = self.new_str(msg.as_bytes());
        let deliver = self.th.frames.last().expect("native frame").aux;
        match deliver {
            d if d == Deliver::Results as u32 => Err(self.error_at(1, msg)),
            d if d == Deliver::TrueAndResults as u32 => {
                self.th.push(Value::Bool(false));
                self.th.push(m);
                self.return_native(2).map(drop)
            }
            _ => {
                let top = self.th.top;
                let ci = self.th.frames.last_mut().expect("native frame");
                ci.callee = top as u32;
                ci.flags |= K_ERROR;
                self.th.push(m);
                Ok(())
            }
        }
    }

    /// Gives the running (just resumed) thread its resume arguments, the `n`
    /// values from slot `first` of the resumer `from` (or of its own stack,
    /// where a driver pushed them, when `from` is `None`): the arguments of
    /// its body when it starts, or the results of its yield.
    #[inline(always)]
    fn deliver_resume(&mut self, from: Option<ThreadRef>, first: usize, n: usize) -> LuaResult<()> {
        let Some(ci) = self.th.frames.last_mut() else {
            // Not started: the body is at slot 0.
            if let Some(from) = from {
                self.push_from(from, first, n);
            }
            self.precall(0, MULTRET)?;
            return Ok(());
        };
        debug_assert!(
            ci.flags & YIELDED != 0,
            "resumed a frame that did not yield"
        );
        ci.flags &= !YIELDED;
        if ci.k.is_some() {
            ci.flags |= K_YIELD;
            if let Some(from) = from {
                self.push_from(from, first, n);
            }
        } else {
            // `coroutine.yield` itself: the resume arguments are its results.
            match from {
                Some(from) => self.return_from(from, first, n, false),
                None if self.hooks_seen && self.wants_return() => {
                    self.defer_return(None, first, n, false);
                }
                None => self.postcall(first, n),
            }
        }
        Ok(())
    }

    /// Applies a yield request (`Vm::yieldk`) from the native frame on top.
    pub(crate) fn yield_step(&mut self, nresults: usize) -> LuaResult<()> {
        if self.cur == self.main {
            return Err(self.rt_error("attempt to yield from outside a coroutine"));
        }
        // A thread without a parent yields to its driver, which only runs
        // it outside native calls, so `nny` covers that case too.
        if self.th.nny > 0 {
            return Err(self.rt_error("attempt to yield across a C-call boundary"));
        }
        let ci = self.th.frames.last_mut().expect("native frame");
        ci.flags |= YIELDED;
        self.th.status = ThreadStatus::Suspended;
        match self.th.parent.take() {
            Some(p) => {
                let (from, first) = (self.cur, self.th.top - nresults);
                self.th.top = first;
                // SAFETY: the collector marks the parent of a running thread.
                unsafe { self.switch_to_live(p) };
                self.th.status = ThreadStatus::Running;
                self.deliver_to_resumer(from, first, nresults);
            }
            // A thread resumed by the driver yields to the driver; the
            // values stay on its stack until `Vm::resume` takes them.
            None => self.suspend = Some(Suspend::Yield(nresults)),
        }
        Ok(())
    }

    /// The running coroutine's body returned (its results are at slot 0 and
    /// up): it dies and its parent's continuation gets the results.
    pub(crate) fn coroutine_return(&mut self) {
        let p = self
            .th
            .parent
            .take()
            .expect("a resumed coroutine has a parent");
        let (from, n) = (self.cur, self.th.top);
        self.th.top = 0;
        self.th.status = ThreadStatus::Dead;
        // SAFETY: the collector marks the parent of a running thread.
        unsafe { self.switch_to_live(p) };
        self.th.status = ThreadStatus::Running;
        self.deliver_to_resumer(from, 0, n);
    }

    /// The coroutine `from` that the running thread's top (native) frame
    /// resumed yielded or returned the `n` values at slot `first` of its
    /// stack: they become that native's results, with `true` first, or are
    /// pushed for its continuation, as the frame's `Deliver` mode says.
    #[inline(always)]
    fn deliver_to_resumer(&mut self, from: ThreadRef, first: usize, n: usize) {
        let mode = self.th.frames.last().expect("resuming frame").aux;
        if mode == Deliver::Results as u32 {
            self.return_from(from, first, n, false);
        } else if mode == Deliver::TrueAndResults as u32 {
            self.return_from(from, first, n, true);
        } else {
            self.push_from(from, first, n);
        }
    }

    /// The running coroutine raised an error it does not catch: it dies
    /// (keeping its frames and the error on its stack) and its parent's
    /// continuation gets the error.
    pub(crate) fn coroutine_die(&mut self, err: Value) {
        self.die_by_error(err);
        let p = self
            .th
            .parent
            .take()
            .expect("a resumed coroutine has a parent");
        self.switch_to(p);
        self.th.status = ThreadStatus::Running;
        self.th.push(err);
        let ci = self.th.frames.last_mut().expect("resuming frame");
        ci.flags |= K_ERROR;
    }

    /// Marks the running thread dead by error `err`, which it keeps on top
    /// of its stack (with its frames) for `coroutine.close`.
    fn die_by_error(&mut self, err: Value) {
        self.th.status = ThreadStatus::Dead;
        self.th.errored = true;
        self.th.push(err);
    }

    /// Applies a wait request (`Vm::waitk`) from the native frame on top.
    pub(crate) fn wait_step(&mut self) -> LuaResult<()> {
        if self.n_ccalls == 0 && self.suspendable {
            self.suspend = Some(Suspend::Wait);
            Ok(())
        } else {
            Err(self.rt_error("attempt to wait across a C-call boundary"))
        }
    }

    /// Applies an offload request (`Vm::offloadk`) from the native frame on top.
    pub(crate) fn offload_step(&mut self, job: Job) -> LuaResult<()> {
        let ci = self.th.frames.last_mut().expect("native frame");
        ci.callee = self.th.top as u32;
        if self.n_ccalls == 0 && self.suspendable {
            ci.flags |= OFFLOADED;
            self.suspend = Some(Suspend::Offload(job));
        } else {
            // No driver can take the job: run it here, blocking.
            let r = job.run();
            self.push_job_result(r);
        }
        Ok(())
    }

    /// Puts a job's result on the running thread for the continuation of
    /// the native frame on top.
    fn push_job_result(&mut self, r: JobResult) {
        let err = match r {
            Ok(vals) => match self.job_room(vals.len()) {
                Ok(()) => {
                    for v in vals {
                        let v = self.job_value(v);
                        self.th.push(v);
                    }
                    return;
                }
                Err(e) => e.0.value,
            },
            Err(msg) => self.new_str(msg.as_bytes()),
        };
        // A native frame always has room for one more value.
        self.th.push(err);
        let ci = self.th.frames.last_mut().expect("native frame");
        ci.flags |= K_ERROR;
    }

    /// Room for a job's `n` values on the running thread's stack: they
    /// count towards the stack's and the memory's limits, as values a
    /// native pushes do.
    fn job_room(&mut self, n: usize) -> LuaResult<()> {
        if !self.has_stack_room(n) {
            let s = self.new_str(b"too many results from a job");
            return Err(LuaError::new(s));
        }
        let end = self.th.top + n;
        if end > self.th.stack.len() {
            self.grow_stack(end)?;
        }
        Ok(())
    }

    fn job_value(&mut self, v: JobValue) -> Value {
        match v {
            JobValue::Nil => Value::Nil,
            JobValue::Bool(b) => Value::Bool(b),
            JobValue::Int(i) => Value::Int(i),
            JobValue::Num(n) => Value::Num(n),
            JobValue::Str(s) => self.new_str(&s),
        }
    }

    /// Called before an instruction or a native start when the fuel is
    /// spent: true (and the loop must stop) when this run can be suspended.
    /// (A driver slicing a run comes here at every slice.)
    #[inline]
    pub(crate) fn out_of_fuel(&mut self) -> bool {
        if self.n_ccalls == 0 && self.suspendable {
            self.suspend = Some(Suspend::OutOfFuel);
            true
        } else {
            // Inside a non-yieldable native call the run cannot stop: it
            // overruns its budget and stops at the first chance afterwards.
            false
        }
    }

    // ----- driver API -----

    /// The call `Vm::start` runs on the main thread (`Vm::main_call`, kept
    /// in 32 bits: a stack slot and a frame depth): its function slot and
    /// the frame depth below it.
    pub(crate) fn main_task(&self) -> Option<(usize, usize)> {
        self.main_call.map(|(f, d)| (f as usize, d as usize))
    }

    /// [`Vm::main_task`], taken.
    pub(crate) fn take_main_task(&mut self) -> Option<(usize, usize)> {
        let task = self.main_task();
        self.main_call = None;
        task
    }

    /// Runs `f(args...)` on the main thread with an instruction budget
    /// (one unit per VM instruction dispatched, natives their declared
    /// cost; a comparison and the jump it takes are one dispatch, as PUC
    /// Lua's count hook counts them). A budget of 0 counts as 1.
    ///
    /// Returns `Outcome::Return` when the call finished, or
    /// `Outcome::OutOfFuel`/`Outcome::Offload` when it was suspended:
    /// continue it with [`Vm::resume`] of [`Vm::main_thread`]. A yield
    /// outside any coroutine is an error, as in the `lua` command.
    ///
    /// # Errors
    /// Any Lua error the call raises (the main thread is then ready for the
    /// next call), or an error when a call started this way is still
    /// suspended or the VM is already running.
    pub fn start(&mut self, f: Value, args: &[Value], budget: u64) -> LuaResult<Outcome> {
        self.check_idle()?;
        self.take_misuse()?;
        self.check_owned("Vm::start", f)?;
        self.check_all_owned("Vm::start", args)?;
        if self.main_call.is_some() {
            return Err(self.api_error("the main thread is running a suspended call"));
        }
        let func = self.th.top;
        let depth = self.th.frames.len();
        self.th.push(f);
        self.push_all(args);
        self.main_call = Some((func as u32, depth as u32));
        if let Err(e) = self.precall(func, MULTRET) {
            self.main_call = None;
            self.th.top = func;
            return Err(self.escaped(e));
        }
        self.drive(self.main, budget)
    }

    /// Resumes thread `t` with a budget: a coroutine created by
    /// [`Vm::new_thread`] (or by Lua) that is suspended, with `args` passed
    /// as `coroutine.resume` would; or a chain suspended by the driver
    /// (out of fuel, offload), which continues where it stopped (`args`
    /// must be empty).
    ///
    /// # Errors
    /// The error that killed the thread, or the reason it cannot be
    /// resumed (dead, running, waiting for [`Vm::complete_offload`]).
    pub fn resume(&mut self, t: ThreadRef, args: &[Value], budget: u64) -> LuaResult<Outcome> {
        self.check_idle()?;
        self.take_misuse()?;
        self.check_all_owned("Vm::resume", args)?;
        if let Some(top) = self.parked.get(t) {
            if !args.is_empty() {
                return Err(self.api_error("a suspended run continues without arguments"));
            }
            if self.frame_flags(top) & OFFLOADED != 0 {
                return Err(self.api_error("the thread waits for complete_offload"));
            }
            self.parked.remove(t);
            self.switch_to(top);
            return self.drive(t, budget);
        }
        if t == self.main {
            return Err(self.api_error("the main thread runs calls with Vm::start"));
        }
        if !self.heap.threads.contains_key(t) {
            return Err(self.api_error("invalid thread"));
        }
        if let Some(msg) = self.resume_error(t) {
            return Err(self.api_error(msg));
        }
        self.switch_to(t);
        self.th.status = ThreadStatus::Running;
        self.th.parent = None;
        self.th.depth = 0;
        let first = self.th.top;
        self.push_all(args);
        if let Err(e) = self.deliver_resume(None, first, args.len()) {
            return self.drive_end(t, Err(e));
        }
        self.drive(t, budget)
    }

    /// Hands the result of the job of an `Outcome::Offload` to the thread
    /// the driver resumed (`t`); the next [`Vm::resume`] of `t` continues
    /// in the native's continuation with it.
    ///
    /// # Errors
    /// When `t` is not waiting for a job.
    pub fn complete_offload(&mut self, t: ThreadRef, result: JobResult) -> LuaResult<()> {
        let Some(top) = self.parked.get(t) else {
            // (A scan, on the error path only.)
            if self.parked.iter().any(|(_, top)| top == t) {
                return Err(self.api_error(
                    "complete_offload takes the thread the driver resumed, \
                     not the coroutine it resumed that offloaded",
                ));
            }
            return Err(self.api_error("the thread is not waiting for a job"));
        };
        if self.frame_flags(top) & OFFLOADED == 0 {
            return Err(self.api_error("the thread is not waiting for a job"));
        }
        let cur = self.cur;
        self.switch_to(top);
        if let Some(ci) = self.th.frames.last_mut() {
            ci.flags &= !OFFLOADED;
        }
        self.push_job_result(result);
        self.switch_to(cur);
        Ok(())
    }

    /// Flags of the top frame of thread `t`.
    fn frame_flags(&self, t: ThreadRef) -> u16 {
        self.thread(t)
            .and_then(|th| th.frames.last())
            .map_or(0, |ci| ci.flags)
    }

    fn check_idle(&mut self) -> LuaResult<()> {
        if self.cur != self.main || self.n_ccalls > 0 || self.suspendable {
            return Err(self.api_error("cannot start or resume a thread while the VM runs"));
        }
        Ok(())
    }

    /// An error leaving a driven run: rendered for the embedder without
    /// running Lua, as the run's budget is over (an object's `__tostring`
    /// is the embedder's to call, through [`Vm::error_to_string`]).
    fn escaped(&mut self, mut e: LuaError) -> LuaError {
        e.0.message = Some(self.error_text(e.0.value));
        e
    }

    /// Runs the driven thread `t` (already running, possibly inside its
    /// parked chain) with `budget` until it ends or is suspended.
    fn drive(&mut self, t: ThreadRef, budget: u64) -> LuaResult<Outcome> {
        self.drive_from(t, budget, None)
    }

    /// `drive`, first raising `raise` (if any) where the running thread
    /// stands.
    fn drive_from(
        &mut self,
        t: ThreadRef,
        budget: u64,
        raise: Option<LuaError>,
    ) -> LuaResult<Outcome> {
        // A budget of 0 counts as 1: every driver call makes progress, so
        // a driver that keeps resuming with it ends.
        let budget = i64::try_from(budget.max(1)).unwrap_or(i64::MAX);
        self.slice_fuel = budget;
        self.set_budget(budget);
        let stop = if t == self.main {
            self.main_task().map_or(0, |(_, depth)| depth)
        } else {
            0
        };
        self.suspendable = true;
        let raise = match raise {
            // A driver slicing a long run comes here at every slice: go
            // straight into the interpreter and, when it stops for the
            // budget, straight back (`run_unprotected`'s loop takes over
            // wherever it stopped for anything else).
            None if self.heap.debt < self.gc.threshold => match self.execute_anchored(t, stop) {
                Ok(()) if matches!(self.suspend, Some(Suspend::OutOfFuel)) => {
                    self.suspendable = false;
                    self.suspend = None;
                    return Ok(self.park(t, Outcome::OutOfFuel));
                }
                Ok(()) => None,
                Err(e) => Some(e),
            },
            raise => raise,
        };
        let mut r = self.run_anchored_from(t, stop, raise);
        // An error leaving the main task runs its pending `__close`
        // handlers under the budget too (`closethread`), then leaves again.
        while let Err(e) = &r {
            if t != self.main || !self.start_main_closing(e.0.value) {
                break;
            }
            r = self.run_anchored(t, stop);
        }
        self.suspendable = false;
        self.drive_end(t, r)
    }

    /// Turns the end of a driven run into an `Outcome` and makes the main
    /// thread the running one again.
    fn drive_end(&mut self, t: ThreadRef, r: LuaResult<()>) -> LuaResult<Outcome> {
        let out = match r {
            Ok(()) => match self.suspend.take() {
                Some(Suspend::OutOfFuel) => return Ok(self.park(t, Outcome::OutOfFuel)),
                Some(Suspend::Offload(job)) => return Ok(self.park(t, Outcome::Offload(job))),
                Some(Suspend::Wait) => return Ok(self.park(t, Outcome::Wait)),
                Some(Suspend::Yield(n)) => Ok(Outcome::Yield(self.take_top(n))),
                None => {
                    // The results run from the called function's slot (the
                    // main task's, or a coroutine's slot 0) to the top.
                    let first = if t == self.main {
                        self.take_main_task().expect("main task").0
                    } else {
                        self.th.status = ThreadStatus::Dead;
                        0
                    };
                    Ok(Outcome::Return(self.take_top(self.th.top - first)))
                }
            },
            Err(e) => {
                if t != self.main && self.th.cancel_depth.is_some() {
                    // The end of a cancel: its handlers have run.
                    self.bury();
                    Err(e)
                } else if t == self.main {
                    self.th.cancel_depth = None;
                    let (func, depth) = self.take_main_task().expect("main task");
                    self.unwind_frames(depth);
                    let v = self.close_on_error(func, e.0.value);
                    self.th.top = func;
                    let mut e = e;
                    e.0.value = v;
                    Err(e)
                } else {
                    self.die_by_error(e.0.value);
                    Err(e)
                }
            }
        };
        // Statuses are already right: dead, or suspended after a yield.
        self.switch_to(self.main);
        // No interpreter runs now: a stack left large by a deep run (or a
        // stack overflow) goes back, as PUC's `luaD_shrinkstack` does, and
        // finalizers that no instruction was left to start run here.
        if self.th.frames.is_empty() {
            self.th.shrink();
            match &out {
                Ok(Outcome::Return(values) | Outcome::Yield(values)) => {
                    self.run_finalizers_keeping(values)
                }
                Err(e) => self.run_finalizers_keeping(&[e.0.value]),
                Ok(_) => self.run_finalizers(),
            }
        }
        self.end_slice();
        out.map_err(|e| self.escaped(e))
    }

    /// Parks the chain that driven thread `t` runs (its threads keep their
    /// frames; the one running now stays running, at the top) and ends
    /// the driven run with `out`.
    fn park(&mut self, t: ThreadRef, out: Outcome) -> Outcome {
        self.parked.insert(t, self.cur);
        self.switch_to(self.main);
        if self.th.frames.is_empty() {
            // A coroutine was driven: the main thread is idle (`drive_end`).
            self.th.shrink();
            self.run_finalizers();
        }
        self.end_slice();
        out
    }

    /// Records the fuel the driven run used and lifts its budget.
    fn end_slice(&mut self) {
        let used = self.slice_fuel.saturating_sub(self.real_fuel());
        self.last_fuel_used = u64::try_from(used).unwrap_or(0);
        self.slice_fuel = i64::MAX;
        self.set_budget(i64::MAX);
    }

    /// Cancels a run: the call [`Vm::start`] left suspended on the main
    /// thread, a thread the driver resumed whose chain is parked (out of
    /// fuel, or waiting for an offloaded job, whose result is then
    /// dropped), or a coroutine suspended by a yield or dead by an error.
    ///
    /// The error `"cancelled"` (a dead coroutine's own error) is raised
    /// where the innermost thread of the chain stands and unwinds every
    /// thread of the chain down to `t`: protected calls on the way close
    /// their pending variables but do not catch it, and so does the bottom
    /// of each thread, whose upvalues close and whose stack is freed (the
    /// coroutines are dead; the main thread is ready for the next `start`).
    /// The `__close` handlers run as ordinary calls under `budget`, each
    /// with the current error (one that fails replaces it); they cannot
    /// yield.
    ///
    /// Returns [`Cancelled::Closed`] with the error a handler raised, if
    /// any, once all have run; or [`Cancelled::Parked`] when the budget ran
    /// out (or a handler offloaded a job): the closing is then a parked run
    /// like any other, that [`Vm::resume`] continues until it ends with the
    /// error `"cancelled"` (or a handler's). Cancelling it again abandons
    /// it at once: the handlers not run yet never run.
    ///
    /// # Errors
    /// When the VM is running, or `t` is not suspended (a running or normal
    /// coroutine, or the main thread without a suspended call).
    pub fn cancel(&mut self, t: ThreadRef, budget: u64) -> LuaResult<Cancelled> {
        self.check_idle()?;
        let top = match self.parked.remove(t) {
            Some(top) => {
                if self.thread(t).is_some_and(|th| th.cancel_depth.is_some()) {
                    self.abandon(t, top);
                    return Ok(Cancelled::Closed(None));
                }
                top
            }
            None if t == self.main => {
                return Err(self.api_error("the main thread has no suspended call"));
            }
            None => match self.thread(t) {
                None => return Err(self.api_error("invalid thread")),
                Some(th) if th.frames.is_empty() && th.tbc.is_empty() => {
                    // Not started or dead: nothing to unwind or close.
                    return self.close_thread(t).map(Cancelled::Closed);
                }
                Some(th) if matches!(th.status, ThreadStatus::Suspended | ThreadStatus::Dead) => t,
                Some(_) => {
                    return Err(self.api_error("cannot cancel a running or normal coroutine"))
                }
            },
        };
        // Mark the chain, from its innermost thread down to `t`.
        let (main, mut at) = (self.main, top);
        while let Some(th) = self.thread_mut(at) {
            th.cancel_depth = Some(th.frames.len() as u32);
            if at != main {
                th.nny += 1;
            }
            match th.parent {
                Some(p) if at != t => at = p,
                _ => break,
            }
        }
        self.switch_to(top);
        let errv = if self.th.errored {
            self.th.top -= 1;
            self.th.stack[self.th.top]
        } else {
            self.new_str(b"cancelled")
        };
        self.th.errored = false;
        self.th.status = ThreadStatus::Running;
        if top == t && t != self.main {
            self.th.parent = None;
            self.th.depth = 0;
        }
        match self.drive_from(t, budget, Some(LuaError::handled(errv))) {
            Ok(Outcome::OutOfFuel) => Ok(Cancelled::Parked(Outcome::OutOfFuel)),
            Ok(Outcome::Offload(job)) => Ok(Cancelled::Parked(Outcome::Offload(job))),
            Ok(Outcome::Wait) => Ok(Cancelled::Parked(Outcome::Wait)),
            Ok(_) => Ok(Cancelled::Closed(None)),
            Err(e) if e.0.value.raw_eq(errv) => Ok(Cancelled::Closed(None)),
            Err(e) => Ok(Cancelled::Closed(Some(e.0.value))),
        }
    }

    /// Abandons a parked cancel (chain from `top` down to `t`) without
    /// running the handlers left.
    fn abandon(&mut self, t: ThreadRef, top: ThreadRef) {
        let mut at = top;
        loop {
            self.switch_to(at);
            let parent = self.th.parent.take();
            if at == self.main {
                let (func, depth) = self.take_main_task().expect("a parked main call");
                self.unwind_frames(depth);
                self.close_upvals(func);
                self.th.tbc.retain(|&s| s < func);
                self.th.top = func;
                self.th.cancel_depth = None;
            } else {
                self.bury();
            }
            match parent {
                Some(p) if at != t => at = p,
                _ => break,
            }
        }
        self.switch_to(self.main);
    }

    /// The running thread, cancelled, has closed everything: it dies and
    /// its resumer goes on unwinding.
    pub(crate) fn cancelled_die(&mut self) {
        let p = self
            .th
            .parent
            .take()
            .expect("a cancelled coroutine's resumer");
        self.bury();
        // SAFETY: the collector marks the parent of a running thread.
        unsafe { self.switch_to_live(p) };
        self.th.status = ThreadStatus::Running;
    }

    /// Makes the running coroutine dead with nothing kept: no frames, no
    /// stack, its upvalues closed and its pending variables dropped.
    fn bury(&mut self) {
        self.unwind_frames(0);
        self.close_upvals(0);
        self.th.tbc.clear();
        self.th.status = ThreadStatus::Dead;
        self.th.errored = false;
        self.th.cancel_depth = None;
        self.th.top = 0;
        self.th.stack = Vec::new();
    }

    /// `coroutine.close`/`lua_closethread`: closes the pending to-be-closed
    /// variables and upvalues of a suspended or dead coroutine, which is
    /// dead afterwards. Returns the error that killed it or that a
    /// `__close` raised, if any.
    ///
    /// # Errors
    /// When `t` is running or normal ("cannot close a running coroutine",
    /// positioned at the running native's caller as `luaL_error` does).
    pub fn close_thread(&mut self, t: ThreadRef) -> LuaResult<Option<Value>> {
        if !self.heap.threads.contains_key(t) {
            return Ok(None);
        }
        let refused = match self.thread_status(t) {
            ThreadStatus::Running => "cannot close a running coroutine",
            ThreadStatus::Normal => "cannot close a normal coroutine",
            _ => "",
        };
        if !refused.is_empty() {
            let e = self.error(refused);
            return Err(self.with_message(e));
        }
        let from = self.cur;
        self.switch_to(t);
        let mut err = if self.th.errored {
            Some(self.th.stack[self.th.top - 1])
        } else {
            None
        };
        // The handlers run on the coroutine, which cannot yield meanwhile.
        self.th.nny += 1;
        self.th.status = ThreadStatus::Running;
        self.unwind_frames(0);
        let errv = err.unwrap_or(Value::Nil);
        if let Some(v) = self.close_all(errv) {
            err = Some(v);
        }
        self.th.nny -= 1;
        self.th.top = 0;
        self.th.status = ThreadStatus::Dead;
        self.th.errored = false;
        self.switch_to(from);
        Ok(err)
    }
}
