//! `table.sort`: `ltablib.c`'s quicksort as a suspendable state machine
//! (`resumable.rs`). It reads, compares and writes elements in the same
//! order as PUC Lua, so metamethods and comparators see the same calls and
//! an inconsistent comparator is reported ("invalid order function for
//! sorting") in the same situations; and since every comparator or
//! metamethod call goes through the interpreter loop, it runs under the
//! budget and may even yield (PUC Lua: "attempt to yield across a C-call
//! boundary").
//!
//! `auxsort`'s recursion into the smaller part becomes an explicit stack
//! of pending larger parts (`TASKS`), popped when a part is done; the
//! re-seeding test that follows the recursive call in C runs when its
//! task is popped, so the pivots are the same.
//!
//! Frame layout (offsets from the frame's base): the list and the
//! comparator, the integer state below, the pivot and `a[i]` of the
//! partition, the task stack (four integers a task), then the phase log.

use vm_core::{Args, Continuation, LuaError, LuaResult, Status, Step, Value, Vm};

use super::{check_tab, to_integer, RWL};
use crate::resumable::{int_at, pause, set_int, Answer, PhaseLog};

static SORT_K: Continuation = Continuation::new("table.sort_k", sort_k);

/// Array index type of the sort: PUC Lua sorts with `unsigned int`
/// indices, and their wrap-around shows in the imbalance test.
type Idx = u32;

/// Parts at least this long get a randomized pivot when the partitions
/// grow unbalanced (`RANLIMIT`).
const RANDOM_LIMIT: Idx = 100;

// Frame slots.
const LIST: usize = 0;
const COMP: usize = 1;
const PHASE: usize = 2;
const LO: usize = 3;
const UP: usize = 4;
const RND: usize = 5;
const I: usize = 6;
const J: usize = 7;
const SEED: usize = 8;
const PIVOT: usize = 9;
const AI: usize = 10;
const NTASKS: usize = 11;
const TASKS: usize = 12;
/// Integers a task holds: lo, up, rnd, and the size of the part sorted
/// before it (for the re-seeding test).
const TASK: usize = 4;

// Phases.
/// Take the list's length and check the arguments.
const INIT: i64 = 0;
/// Order a[lo], a[p], a[up], then move the pivot to a[up - 1].
const HEAD: i64 = 1;
/// Advance `i` while a[i] < pivot.
const PART_I: i64 = 2;
/// Retreat `j` while pivot < a[j], then swap or finish the partition.
const PART_J: i64 = 3;
/// The part [lo, up] is sorted: take the next pending one.
const FINISH: i64 = 4;

/// `table.sort(list [, comp])`.
pub(super) fn sort(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    check_tab(vm, args, 1, RWL)?;
    // `lua_settop(L, 2)`, then the state, all integers.
    while vm.frame_top(args) < 2 {
        vm.push(Value::Nil);
    }
    vm.frame_truncate(args, 2);
    for _ in COMP + 1..TASKS {
        vm.push(Value::Int(0));
    }
    set_int(vm, args, PHASE, INIT);
    run(vm, args)
}

fn sort_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, mark(vm, args), ctx);
    run(vm, args)
}

/// Where the phase log starts: above the task stack.
fn mark(vm: &Vm, args: Args) -> usize {
    TASKS + TASK * int_at(vm, args, NTASKS) as usize
}

/// What a phase did.
enum Flow {
    /// It requested a call: return the step.
    Wait,
    /// It finished and wrote its state.
    Next,
    /// It finished and left this part for later: push it as a task.
    Split([Idx; TASK]),
    /// The sort is over.
    Done,
}

/// Unwraps an operation's answer, or leaves the phase to wait for its call.
macro_rules! ask {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok(Flow::Wait),
        }
    };
}

/// Runs phases until the sort ends, a call is requested, or the budget
/// asks for a pause.
fn run(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    loop {
        let mut log = PhaseLog::open(args, mark(vm, args));
        let mut s = Sorter {
            args,
            log: &mut log,
        };
        let flow = match int_at(vm, args, PHASE) {
            INIT => s.init(vm),
            HEAD => s.head(vm),
            PART_I => s.part_i(vm),
            PART_J => s.part_j(vm),
            _ => s.finish(vm),
        }?;
        match flow {
            Flow::Wait => return Ok(log.request(vm, &SORT_K)),
            Flow::Done => return Ok(Step::Return(0)),
            Flow::Next | Flow::Split(_) => {
                if log.commit(vm)? {
                    if let Flow::Split(task) = flow {
                        push_task(vm, args, task);
                    }
                    return Ok(pause(vm, &SORT_K));
                }
                if let Flow::Split(task) = flow {
                    push_task(vm, args, task);
                }
            }
        }
    }
}

/// Pushes a pending part above the task stack (where the log was).
fn push_task(vm: &mut Vm, args: Args, task: [Idx; TASK]) {
    debug_assert_eq!(vm.frame_top(args), mark(vm, args));
    for n in task {
        vm.push(Value::Int(i64::from(n)));
    }
    let n = int_at(vm, args, NTASKS);
    set_int(vm, args, NTASKS, n + 1);
}

/// One phase of a sort: the frame and the phase's log.
struct Sorter<'a> {
    args: Args,
    log: &'a mut PhaseLog,
}

impl Sorter<'_> {
    fn int(&self, vm: &Vm, slot: usize) -> i64 {
        int_at(vm, self.args, slot)
    }

    fn idx(&self, vm: &Vm, slot: usize) -> Idx {
        self.int(vm, slot) as Idx
    }

    fn set(&self, vm: &mut Vm, slot: usize, n: i64) {
        set_int(vm, self.args, slot, n);
    }

    fn list(&self, vm: &Vm) -> Value {
        vm.frame_get(self.args, LIST)
    }

    /// `a[i]`.
    fn get(&mut self, vm: &mut Vm, i: Idx) -> Answer<Value> {
        let t = self.list(vm);
        self.log.index(vm, t, Value::Int(i64::from(i)))
    }

    /// `a[i] = v`.
    fn put(&mut self, vm: &mut Vm, i: Idx, v: Value) -> Answer<()> {
        let t = self.list(vm);
        self.log.set_index(vm, t, Value::Int(i64::from(i)), v)
    }

    /// Whether `a` sorts before `b` (`sort_comp`).
    fn less(&mut self, vm: &mut Vm, a: Value, b: Value) -> Answer<bool> {
        let comp = vm.frame_get(self.args, COMP);
        if comp.is_nil() {
            return self.log.less_than(vm, a, b);
        }
        Ok(self.log.call2(vm, comp, a, b)?.map(Value::truthy))
    }

    /// `a[i] = vi; a[j] = vj`, in that order.
    fn put2(&mut self, vm: &mut Vm, i: Idx, vi: Value, j: Idx, vj: Value) -> Answer<()> {
        if self.put(vm, i, vi)?.is_none() {
            return Ok(None);
        }
        self.put(vm, j, vj)
    }

    fn init(&mut self, vm: &mut Vm) -> LuaResult<Flow> {
        let t = self.list(vm);
        let n = ask!(self.log.len(vm, t));
        let Some(n) = to_integer(vm, n) else {
            return Err(vm.error("object length is not an integer"));
        };
        // As in PUC Lua, shorter lists are not looked at: not even the
        // comparator is checked.
        if n <= 1 {
            return Ok(Flow::Done);
        }
        if n >= i64::from(i32::MAX) {
            return Err(vm.arg_error(1, "array too big"));
        }
        let comp = vm.frame_get(self.args, COMP);
        if !comp.is_nil() && !matches!(comp, Value::LuaFn(_) | Value::Native(_)) {
            return Err(vm.type_error_arg(self.args, 2, "function"));
        }
        self.set(vm, LO, 1);
        self.set(vm, UP, n);
        self.set(vm, RND, 0);
        // Never zero: n < 2^31 and the constant has its top bit set.
        self.set(vm, SEED, i64::from(n as u32 ^ 0x9e37_79b9));
        self.set(vm, PHASE, HEAD);
        Ok(Flow::Next)
    }

    /// The start of `auxsort`'s loop for the part [lo, up].
    fn head(&mut self, vm: &mut Vm) -> LuaResult<Flow> {
        let (lo, up, rnd) = (self.idx(vm, LO), self.idx(vm, UP), self.idx(vm, RND));
        if lo >= up {
            self.set(vm, PHASE, FINISH);
            return Ok(Flow::Next);
        }
        // Order a[lo] <= a[up].
        let a_lo = ask!(self.get(vm, lo));
        let a_up = ask!(self.get(vm, up));
        if ask!(self.less(vm, a_up, a_lo)) {
            ask!(self.put2(vm, lo, a_up, up, a_lo));
        }
        if up - lo == 1 {
            self.set(vm, PHASE, FINISH);
            return Ok(Flow::Next);
        }
        let p = if up - lo < RANDOM_LIMIT || rnd == 0 {
            (lo + up) / 2
        } else {
            choose_pivot(lo, up, rnd)
        };
        // Order a[lo] <= a[p] <= a[up].
        let a_p = ask!(self.get(vm, p));
        let a_lo = ask!(self.get(vm, lo));
        if ask!(self.less(vm, a_p, a_lo)) {
            ask!(self.put2(vm, p, a_lo, lo, a_p));
        } else {
            let a_up = ask!(self.get(vm, up));
            if ask!(self.less(vm, a_up, a_p)) {
                ask!(self.put2(vm, p, a_up, up, a_p));
            }
        }
        if up - lo == 2 {
            self.set(vm, PHASE, FINISH);
            return Ok(Flow::Next);
        }
        // Move the pivot to a[up - 1].
        let pivot = ask!(self.get(vm, p));
        let a_up1 = ask!(self.get(vm, up - 1));
        ask!(self.put2(vm, p, a_up1, up - 1, pivot));
        vm.set_arg(self.args, PIVOT + 1, pivot);
        self.set(vm, I, i64::from(lo));
        self.set(vm, J, i64::from(up - 1));
        self.set(vm, PHASE, PART_I);
        Ok(Flow::Next)
    }

    /// One step of the partition's `while a[++i] < P`. a[up - 1] is P
    /// itself, so getting there means the comparator is inconsistent.
    fn part_i(&mut self, vm: &mut Vm) -> LuaResult<Flow> {
        let (up, i) = (self.idx(vm, UP), self.idx(vm, I) + 1);
        let pivot = vm.frame_get(self.args, PIVOT);
        let a_i = ask!(self.get(vm, i));
        if ask!(self.less(vm, a_i, pivot)) {
            if i == up - 1 {
                return Err(invalid_order(vm));
            }
        } else {
            vm.set_arg(self.args, AI + 1, a_i);
            self.set(vm, PHASE, PART_J);
        }
        self.set(vm, I, i64::from(i));
        Ok(Flow::Next)
    }

    /// One step of `while P < a[--j]`; passing `i` means a[j] > P where
    /// a[lo .. i - 1] < P was established. Then swap a[i] and a[j], or put
    /// the pivot in its place and split.
    fn part_j(&mut self, vm: &mut Vm) -> LuaResult<Flow> {
        let (i, j) = (self.idx(vm, I), self.idx(vm, J) - 1);
        let pivot = vm.frame_get(self.args, PIVOT);
        let a_j = ask!(self.get(vm, j));
        if ask!(self.less(vm, pivot, a_j)) {
            if j < i {
                return Err(invalid_order(vm));
            }
            self.set(vm, J, i64::from(j));
            return Ok(Flow::Next);
        }
        let a_i = vm.frame_get(self.args, AI);
        if j < i {
            // Nothing out of place: the pivot goes to a[i].
            let up = self.idx(vm, UP);
            ask!(self.put2(vm, up - 1, a_i, i, pivot));
            return Ok(Flow::Split(self.split(vm, i)));
        }
        ask!(self.put2(vm, i, a_j, j, a_i));
        self.set(vm, J, i64::from(j));
        self.set(vm, PHASE, PART_I);
        Ok(Flow::Next)
    }

    /// The partition put the pivot at `p`: sort the smaller part first and
    /// return the larger one as a task, with what the re-seeding test
    /// needs (pushed once the phase's log is gone).
    fn split(&mut self, vm: &mut Vm, p: Idx) -> [Idx; TASK] {
        let (lo, up, rnd) = (self.idx(vm, LO), self.idx(vm, UP), self.int(vm, RND));
        let task = if p - lo < up - p {
            self.set(vm, UP, i64::from(p - 1));
            [p + 1, up, p - lo]
        } else {
            self.set(vm, LO, i64::from(p + 1));
            [lo, p - 1, up - p]
        };
        vm.set_arg(self.args, PIVOT + 1, Value::Nil);
        vm.set_arg(self.args, AI + 1, Value::Nil);
        self.set(vm, PHASE, HEAD);
        [task[0], task[1], rnd as Idx, task[2]]
    }

    /// The current part is done: continue with the last pending part,
    /// re-seeding the pivot choice first if the split was unbalanced.
    fn finish(&mut self, vm: &mut Vm) -> LuaResult<Flow> {
        let n = self.int(vm, NTASKS) as usize;
        if n == 0 {
            return Ok(Flow::Done);
        }
        let at = TASKS + TASK * (n - 1);
        let [lo, up, mut rnd, smaller] = [0, 1, 2, 3].map(|k| int_at(vm, self.args, at + k) as Idx);
        vm.frame_truncate(self.args, at);
        self.set(vm, NTASKS, (n - 1) as i64);
        // Unsigned as in C: when `up` dropped below `lo` the difference
        // wraps and this re-seeds; the loop ends anyway.
        if up.wrapping_sub(lo) / 128 > smaller {
            rnd = self.randomize_pivot(vm);
        }
        self.set(vm, LO, i64::from(lo));
        self.set(vm, UP, i64::from(up));
        self.set(vm, RND, i64::from(rnd));
        self.set(vm, PHASE, HEAD);
        Ok(Flow::Next)
    }

    /// Stands in for `l_randomizePivot`, which PUC Lua feeds from `clock()`
    /// and `time()`. A fixed xorshift sequence seeded with the array length
    /// keeps sorting deterministic (the same comparator calls under any
    /// budget or run), at the price of pivots an adversary could predict.
    fn randomize_pivot(&self, vm: &mut Vm) -> Idx {
        let mut x = self.idx(vm, SEED);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.set(vm, SEED, i64::from(x));
        x
    }
}

/// A pivot index in the middle half of `[lo, up]`, offset by `rnd`
/// (`choosePivot`); `up - lo >= RANDOM_LIMIT`, so the modulus is not zero.
fn choose_pivot(lo: Idx, up: Idx, rnd: Idx) -> Idx {
    let r4 = (up - lo) / 4;
    rnd % (r4 * 2) + (lo + r4)
}

fn invalid_order(vm: &mut Vm) -> LuaError {
    vm.error("invalid order function for sorting")
}
