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
//! A list without a metatable sorted without a comparator, whose elements
//! compare raw (numbers with numbers, strings with strings), takes a
//! direct path (`Sorter::direct`): the same phases, in the same order and
//! with the same reads, comparisons and writes, but with raw accesses and
//! the partition's steps in a tight loop with its state in locals. It
//! charges what the logged path would (one unit an access or comparison)
//! and pauses at the same phase boundaries when the budget is spent. It
//! hands the current phase to the logged path, before any write of that
//! phase, as soon as a comparison is not raw (an element with `__lt`, or
//! the mixed types whose error the logged path raises), and takes over
//! again from the next phase.
//!
//! Frame layout (offsets from the frame's base): the list and the
//! comparator, the integer state below, the pivot and `a[i]` of the
//! partition, the task stack (four integers a task), then the phase log.

use vm_core::TableRef;
use vm_core::{number, Args, LuaError, LuaResult, Status, Step, Value, Vm};

use super::{check_tab, get_plain, plain, set_plain, to_integer, RWL};
use crate::resumable::{int_at, pause, set_int, Answer, PhaseLog};

use super::{SORT_K, SORT_RAW_K};

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
/// 1 while a partition on the direct path is paused, so that it goes on
/// on the direct path (the others start it only with a part).
const DIRECT: usize = 12;
const TASKS: usize = 13;
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
    if vm.frame_get(args, COMP).is_nil() {
        run::<true>(vm, args)
    } else {
        run::<false>(vm, args)
    }
}

/// The continuation of a sort with a comparator.
pub(super) fn sort_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, mark(vm, args), ctx);
    run::<false>(vm, args)
}

/// The continuation of a sort without a comparator.
pub(super) fn sort_raw_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, mark(vm, args), ctx);
    run::<true>(vm, args)
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

/// How the direct path stopped.
enum Direct {
    /// The sort is over.
    Done,
    /// The budget is spent, between two phases.
    Pause,
    /// The current phase needs the logged path.
    Logged,
}

/// Runs phases until the sort ends, a call is requested, or the budget
/// asks for a pause. `RAW` for a sort without a comparator, whose phases go
/// on the direct path where they may. That path is tried at the start and
/// end of each part: a partition it handed over stays on the logged path,
/// so that a list of elements with `__lt` does not try it at every step.
/// (Two copies of the loop, so that sorts with a comparator pay nothing
/// for the direct path.)
fn run<const RAW: bool>(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let k = if RAW { &SORT_RAW_K } else { &SORT_K };
    loop {
        if RAW
            && (matches!(int_at(vm, args, PHASE), HEAD | FINISH) || int_at(vm, args, DIRECT) != 0)
        {
            match direct_phases(vm, args)? {
                Some(Direct::Done) => return Ok(Step::Return(0)),
                Some(Direct::Pause) => {
                    set_int(vm, args, DIRECT, 1);
                    return Ok(pause(vm, k));
                }
                Some(Direct::Logged) | None => set_int(vm, args, DIRECT, 0),
            }
        }
        let mut log = PhaseLog::open(args, mark(vm, args));
        let mut s = Sorter {
            args,
            ops: Logged(&mut log),
        };
        let flow = match int_at(vm, args, PHASE) {
            INIT => s.init(vm),
            HEAD => s.head(vm),
            PART_I => s.part_i(vm),
            PART_J => s.part_j(vm),
            _ => s.finish(vm),
        }?;
        match flow {
            Flow::Wait => return Ok(log.request(vm, k)),
            Flow::Done => return Ok(Step::Return(0)),
            Flow::Next | Flow::Split(_) => {
                if log.commit(vm)? {
                    if let Flow::Split(task) = flow {
                        push_task(vm, args, task);
                    }
                    return Ok(pause(vm, k));
                }
                if let Flow::Split(task) = flow {
                    push_task(vm, args, task);
                }
            }
        }
    }
}

/// Runs phases on the direct path while they may take it (`None` when the
/// current one may not).
#[inline(never)]
fn direct_phases(vm: &mut Vm, args: Args) -> LuaResult<Option<Direct>> {
    // Nothing logged (a phase waiting for a call's answer is replayed on
    // the logged path), a table without a metatable.
    if vm.frame_top(args) > mark(vm, args) {
        return Ok(None);
    }
    let Some(t) = plain(vm, vm.frame_get(args, LIST)) else {
        return Ok(None);
    };
    let mut s = Sorter {
        args,
        ops: Raw { t, count: 0 },
    };
    s.direct(vm).map(Some)
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

/// The operations of a phase on the list, on one path or the other.
trait Ops {
    /// `a[i]`.
    fn get(&mut self, vm: &mut Vm, list: Value, i: Idx) -> Answer<Value>;
    /// `a[i] = v`.
    fn put(&mut self, vm: &mut Vm, list: Value, i: Idx, v: Value) -> Answer<()>;
    /// `a < b` (`comp` nil) or `comp(a, b)`.
    fn less(&mut self, vm: &mut Vm, comp: Value, a: Value, b: Value) -> Answer<bool>;
}

/// The logged path: every operation through the phase's log.
struct Logged<'a>(&'a mut PhaseLog);

impl Ops for Logged<'_> {
    fn get(&mut self, vm: &mut Vm, list: Value, i: Idx) -> Answer<Value> {
        self.0.index(vm, list, Value::Int(i64::from(i)))
    }

    fn put(&mut self, vm: &mut Vm, list: Value, i: Idx, v: Value) -> Answer<()> {
        self.0.set_index(vm, list, Value::Int(i64::from(i)), v)
    }

    fn less(&mut self, vm: &mut Vm, comp: Value, a: Value, b: Value) -> Answer<bool> {
        if comp.is_nil() {
            return self.0.less_than(vm, a, b);
        }
        Ok(self.0.call2(vm, comp, a, b)?.map(Value::truthy))
    }
}

/// The direct path: raw accesses to a table without a metatable, and raw
/// comparisons (no comparator), counted as the log would count them; a
/// comparison that is not raw answers `None`, as a call would.
struct Raw {
    t: TableRef,
    count: u64,
}

impl Ops for Raw {
    fn get(&mut self, vm: &mut Vm, _: Value, i: Idx) -> Answer<Value> {
        self.count += 1;
        get_plain(vm, self.t, i64::from(i)).map(Some)
    }

    fn put(&mut self, vm: &mut Vm, _: Value, i: Idx, v: Value) -> Answer<()> {
        self.count += 1;
        set_plain(vm, self.t, i64::from(i), v).map(Some)
    }

    fn less(&mut self, vm: &mut Vm, _: Value, a: Value, b: Value) -> Answer<bool> {
        self.count += 1 + compare_cost(vm, a, b);
        Ok(raw_less(vm, a, b))
    }
}

/// One phase of a sort: the frame and the operations of its path.
struct Sorter<O> {
    args: Args,
    ops: O,
}

impl<O: Ops> Sorter<O> {
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
        self.ops.get(vm, t, i)
    }

    /// `a[i] = v`.
    fn put(&mut self, vm: &mut Vm, i: Idx, v: Value) -> Answer<()> {
        let t = self.list(vm);
        self.ops.put(vm, t, i, v)
    }

    /// Whether `a` sorts before `b` (`sort_comp`).
    fn less(&mut self, vm: &mut Vm, a: Value, b: Value) -> Answer<bool> {
        let comp = vm.frame_get(self.args, COMP);
        self.ops.less(vm, comp, a, b)
    }

    /// `a[i] = vi; a[j] = vj`, in that order.
    #[inline(always)]
    fn put2(&mut self, vm: &mut Vm, i: Idx, vi: Value, j: Idx, vj: Value) -> Answer<()> {
        if self.put(vm, i, vi)?.is_none() {
            return Ok(None);
        }
        self.put(vm, j, vj)
    }

    /// The start of `auxsort`'s loop for the part [lo, up].
    #[inline(always)]
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
    #[inline(always)]
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
    #[inline(always)]
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

impl Sorter<Logged<'_>> {
    fn init(&mut self, vm: &mut Vm) -> LuaResult<Flow> {
        let t = self.list(vm);
        let n = ask!(self.ops.0.len(vm, t));
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
}

impl Sorter<Raw> {
    /// Runs phases on the direct path until the sort ends, the budget is
    /// spent, or a phase needs the logged path (its state untouched).
    fn direct(&mut self, vm: &mut Vm) -> LuaResult<Direct> {
        let t = self.ops.t;
        loop {
            let flow = match self.int(vm, PHASE) {
                HEAD if self.head_is_raw(vm, t)? => self.head(vm)?,
                HEAD => return Ok(Direct::Logged),
                PART_I | PART_J => match self.partition(vm, t)? {
                    Some(flow) => flow,
                    None => return Ok(Direct::Logged),
                },
                FINISH => self.finish(vm)?,
                _ => return Ok(Direct::Logged),
            };
            let task = match flow {
                Flow::Done => return Ok(Direct::Done),
                // `head` answers every comparison once it checked them.
                Flow::Wait => unreachable!("a raw comparison waits for no call"),
                Flow::Next => None,
                Flow::Split(task) => Some(task),
            };
            if let Some(task) = task {
                push_task(vm, self.args, task);
            }
            vm.charge(std::mem::take(&mut self.ops.count))?;
            if vm.budget_spent() {
                return Ok(Direct::Pause);
            }
        }
    }

    /// Whether the `head` phase of [lo, up] compares only raw values: it
    /// compares a[lo], a[p] and a[up] (in some arrangement) with each
    /// other, and only after writing some of them, so all three are
    /// checked first.
    fn head_is_raw(&self, vm: &mut Vm, t: TableRef) -> LuaResult<bool> {
        let (lo, up, rnd) = (self.idx(vm, LO), self.idx(vm, UP), self.idx(vm, RND));
        if lo >= up {
            return Ok(true);
        }
        let p = if up - lo < RANDOM_LIMIT || rnd == 0 {
            (lo + up) / 2
        } else {
            choose_pivot(lo, up, rnd)
        };
        let a = get_plain(vm, t, i64::from(lo))?;
        let b = get_plain(vm, t, i64::from(up))?;
        let c = get_plain(vm, t, i64::from(p))?;
        Ok(raw_less(vm, a, b).is_some() && raw_less(vm, a, c).is_some())
    }

    /// The partition's steps (`part_i`, `part_j`) in a loop, with raw
    /// accesses and comparisons, charged as the logged phases are and
    /// paused between steps when the budget is spent. `None` (the state
    /// written back) when a step needs the logged path: a comparison that
    /// is not raw, found before the step writes anything.
    fn partition(&mut self, vm: &mut Vm, t: TableRef) -> LuaResult<Option<Flow>> {
        let up = self.idx(vm, UP);
        let (mut i, mut j) = (self.idx(vm, I), self.idx(vm, J));
        let mut in_i = self.int(vm, PHASE) == PART_I;
        let pivot = vm.frame_get(self.args, PIVOT);
        let mut a_i = vm.frame_get(self.args, AI);
        let mut units = 0u64;
        let stopped = loop {
            if in_i {
                // `while a[++i] < P`
                let v = get_plain(vm, t, i64::from(i + 1))?;
                let Some(lt) = raw_less(vm, v, pivot) else {
                    break None;
                };
                i += 1;
                units += 2 + compare_cost(vm, v, pivot);
                if lt {
                    if i == up - 1 {
                        return Err(invalid_order(vm));
                    }
                } else {
                    a_i = v;
                    in_i = false;
                }
            } else {
                // `while P < a[--j]`, then swap or finish.
                let v = get_plain(vm, t, i64::from(j - 1))?;
                let Some(gt) = raw_less(vm, pivot, v) else {
                    break None;
                };
                units += 2 + compare_cost(vm, pivot, v);
                if gt {
                    if j - 1 < i {
                        return Err(invalid_order(vm));
                    }
                    j -= 1;
                } else if j - 1 < i {
                    set_plain(vm, t, i64::from(up - 1), a_i)?;
                    set_plain(vm, t, i64::from(i), pivot)?;
                    self.ops.count += units + 2;
                    break Some(Flow::Split(self.split(vm, i)));
                } else {
                    set_plain(vm, t, i64::from(i), v)?;
                    set_plain(vm, t, i64::from(j - 1), a_i)?;
                    units += 2;
                    j -= 1;
                    in_i = true;
                }
            }
            if units >= 8 {
                vm.charge(std::mem::take(&mut units))?;
                if vm.budget_spent() {
                    break Some(Flow::Next);
                }
            }
        };
        if let Some(Flow::Split(_)) = stopped {
            return Ok(stopped);
        }
        self.ops.count += units;
        self.set(vm, I, i64::from(i));
        self.set(vm, J, i64::from(j));
        self.set(vm, PHASE, if in_i { PART_I } else { PART_J });
        vm.set_arg(self.args, AI + 1, a_i);
        if stopped.is_none() {
            vm.charge(std::mem::take(&mut self.ops.count))?;
        }
        Ok(stopped)
    }
}

/// The units a raw comparison of `a` and `b` costs beyond the step it is
/// part of: two long strings are compared byte by byte (the shorter's
/// length at worst, a unit per 32 bytes, as the `<` operator pays).
fn compare_cost(vm: &Vm, a: Value, b: Value) -> u64 {
    match (vm.str_bytes(a), vm.str_bytes(b)) {
        (Some(x), Some(y)) => (x.len().min(y.len()) / 32) as u64,
        _ => 0,
    }
}

/// `a < b` without metamethods: numbers with numbers, strings with
/// strings (byte order, as `less_than` compares them); `None` otherwise.
fn raw_less(vm: &Vm, a: Value, b: Value) -> Option<bool> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x < y),
        (Value::Num(x), Value::Num(y)) => Some(x < y),
        (Value::Int(x), Value::Num(y)) => Some(number::int_lt_float(x, y)),
        (Value::Num(x), Value::Int(y)) => Some(number::float_lt_int(x, y)),
        (Value::Str(_), Value::Str(_)) => Some(vm.str_bytes(a)? < vm.str_bytes(b)?),
        _ => None,
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
