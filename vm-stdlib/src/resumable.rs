//! Natives that run Lua in the middle of their work (metamethods,
//! comparators, callbacks) and stay suspendable: the budget, a yield or an
//! offload may stop them inside that Lua code and the driver resumes them
//! later, exactly where they were.
//!
//! Such a native is a state machine whose state lives in its frame (Lua
//! values: integers in fixed slots), never in Rust locals across a call.
//! Its work is cut into *phases*. A phase reads the state, performs its
//! operations through a [`PhaseLog`], and only at its end writes the state
//! back and calls [`PhaseLog::commit`]. Every operation that may call Lua
//! pushes its answer on the frame, in order: the phase's log. When one
//! must call Lua, the native requests the call (`Vm::callk`, with the
//! operation's position in the log as the context) and returns; the call's
//! first result lands in that operation's log slot (the function was
//! pushed there), and the continuation runs the same phase again from its
//! start. Operations already in the log answer from it without running
//! again, so each metamethod or callback runs once, in the order PUC Lua
//! runs them, however often the phase is replayed; the values in the log
//! are on the stack, so the collector keeps them.
//!
//! Between phases a native pays for its work (`Vm::charge`) and, when the
//! budget is spent, returns `Vm::pausek` to let the driver suspend it.

use vm_core::Tm;
use vm_core::{Args, Continuation, LuaResult, Meta, Step, Value, Vm};

/// Context of a pause (`Vm::pausek`): no call result to settle.
const PAUSED: i64 = -1;

/// The log of the running phase: answers from `mark` (a frame offset)
/// upwards, `next` the position of the next operation.
pub(crate) struct PhaseLog {
    args: Args,
    mark: usize,
    next: usize,
    /// The call an operation pushed (its argument count), to request.
    pending: Option<usize>,
}

/// What an operation gives a phase: its answer, or `None` when the phase
/// must stop and return [`PhaseLog::request`].
pub(crate) type Answer<T> = LuaResult<Option<T>>;

impl PhaseLog {
    /// Opens the log of a phase whose answers start at frame offset
    /// `mark` (the frame top when the phase first ran).
    pub(crate) fn open(args: Args, mark: usize) -> PhaseLog {
        PhaseLog {
            args,
            mark,
            next: 0,
            pending: None,
        }
    }

    /// Settles the result of the call an operation requested, in the
    /// continuation: exactly one value (the first result, or nil) in that
    /// operation's log slot. `ctx` is the context the continuation got.
    pub(crate) fn settle(vm: &mut Vm, args: Args, mark: usize, ctx: i64) {
        if ctx == PAUSED {
            return;
        }
        let slot = mark + usize::try_from(ctx).unwrap_or(0);
        if vm.frame_top(args) <= slot {
            vm.push(Value::Nil);
        }
        vm.frame_truncate(args, slot + 1);
    }

    /// One operation: its answer from the log when a previous run of the
    /// phase got it, else from `run`, logged.
    fn op(
        &mut self,
        vm: &mut Vm,
        run: impl FnOnce(&mut Vm) -> LuaResult<Meta<Value>>,
    ) -> Answer<Value> {
        let at = self.mark + self.next;
        if at < vm.frame_top(self.args) {
            self.next += 1;
            return Ok(Some(vm.frame_get(self.args, at)));
        }
        match run(vm)? {
            Meta::Done(v) => {
                vm.push(v);
                self.next += 1;
                Ok(Some(v))
            }
            Meta::Call(nargs) => {
                self.pending = Some(nargs);
                Ok(None)
            }
        }
    }

    /// `t[k]` with `__index`.
    pub(crate) fn index(&mut self, vm: &mut Vm, t: Value, k: Value) -> Answer<Value> {
        self.op(vm, |vm| vm.index_k(t, k))
    }

    /// `t[k] = v` with `__newindex`.
    pub(crate) fn set_index(&mut self, vm: &mut Vm, t: Value, k: Value, v: Value) -> Answer<()> {
        let r = self.op(vm, |vm| {
            Ok(match vm.set_index_k(t, k, v)? {
                Meta::Done(()) => Meta::Done(Value::Nil),
                Meta::Call(n) => Meta::Call(n),
            })
        })?;
        Ok(r.map(drop))
    }

    /// `#v` with `__len`.
    pub(crate) fn len(&mut self, vm: &mut Vm, v: Value) -> Answer<Value> {
        self.op(vm, |vm| vm.len_k(v))
    }

    /// `a < b` with `__lt`.
    pub(crate) fn less_than(&mut self, vm: &mut Vm, a: Value, b: Value) -> Answer<bool> {
        let r = self.op(vm, |vm| {
            Ok(match vm.less_than_k(a, b)? {
                Meta::Done(r) => Meta::Done(Value::Bool(r)),
                Meta::Call(n) => Meta::Call(n),
            })
        })?;
        Ok(r.map(Value::truthy))
    }

    /// `tostring(v)` with `__tostring`.
    pub(crate) fn tostring(&mut self, vm: &mut Vm, v: Value) -> Answer<Value> {
        match self.op(vm, |vm| vm.tostring_k(v))? {
            // A logged string is final; a handler's result is checked.
            Some(s) => vm.tostring_result(s).map(Some),
            None => Ok(None),
        }
    }

    /// `a == b` with `__eq` (`lua_compare(L, a, b, LUA_OPEQ)`): raw
    /// equality, else, for two tables or two full userdata, the first
    /// operand's `__eq` or the second's.
    pub(crate) fn equals(&mut self, vm: &mut Vm, a: Value, b: Value) -> Answer<bool> {
        let r = self.op(vm, |vm| {
            let comparable = matches!(
                (a, b),
                (Value::Table(_), Value::Table(_)) | (Value::UserData(_), Value::UserData(_))
            );
            if a.raw_eq(b) || !comparable {
                return Ok(Meta::Done(Value::Bool(a.raw_eq(b))));
            }
            let mut h = vm.metamethod(a, Tm::Eq);
            if h.is_nil() {
                h = vm.metamethod(b, Tm::Eq);
            }
            if h.is_nil() {
                return Ok(Meta::Done(Value::Bool(false)));
            }
            vm.push(h);
            vm.push(a);
            vm.push(b);
            Ok(Meta::Call(2))
        })?;
        Ok(r.map(Value::truthy))
    }

    /// `f(a, b)`'s first result.
    pub(crate) fn call2(&mut self, vm: &mut Vm, f: Value, a: Value, b: Value) -> Answer<Value> {
        self.op(vm, |vm| {
            vm.push(f);
            vm.push(a);
            vm.push(b);
            Ok(Meta::Call(2))
        })
    }

    /// The step that makes the call the last operation pushed, continuing
    /// in `k` (which settles the result and replays the phase).
    pub(crate) fn request(&mut self, vm: &mut Vm, k: &'static Continuation) -> Step {
        let nargs = self.pending.take().unwrap_or(0);
        vm.callk(nargs, k, self.next as i64)
    }

    /// Whether no operation of this phase has answered yet: the phase has
    /// not run Lua, so it may still take a direct path that does without
    /// the log (and must not once the log holds an answer).
    pub(crate) fn fresh(&self, vm: &Vm) -> bool {
        vm.frame_top(self.args) <= self.mark
    }

    /// Ends a phase whose answers stay on the frame (values the native
    /// returns, as `table.unpack`'s elements): charges its operations.
    /// True when the budget is spent, as for [`PhaseLog::commit`].
    pub(crate) fn keep(self, vm: &mut Vm) -> LuaResult<bool> {
        vm.charge(self.next as u64)?;
        Ok(vm.budget_spent())
    }

    /// Ends the phase: drops its log and charges its operations. True
    /// when the budget is spent and the native should return
    /// [`pause`] before its next phase.
    pub(crate) fn commit(self, vm: &mut Vm) -> LuaResult<bool> {
        vm.frame_truncate(self.args, self.mark);
        vm.charge(self.next as u64)?;
        Ok(vm.budget_spent())
    }
}

/// The step that lets the driver suspend a native between two phases,
/// continuing in `k`.
pub(crate) fn pause(vm: &mut Vm, k: &'static Continuation) -> Step {
    vm.pausek(k, PAUSED)
}

/// An integer kept in frame slot `i` of a state machine.
pub(crate) fn int_at(vm: &Vm, args: Args, i: usize) -> i64 {
    match vm.frame_get(args, i) {
        Value::Int(n) => n,
        _ => 0,
    }
}

/// Stores integer `n` in frame slot `i`.
pub(crate) fn set_int(vm: &mut Vm, args: Args, i: usize, n: i64) {
    vm.set_arg(args, i + 1, Value::Int(n));
}
