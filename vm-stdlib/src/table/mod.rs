//! The table library (`ltablib.c`): `concat`, `insert`, `move`, `pack`,
//! `unpack`, `remove`, `sort`.
//!
//! Every element is read and written as `t[i]` with `__index` and
//! `__newindex`, and lengths are taken with `__len`, so any value whose
//! metatable supplies the metamethods a function needs is accepted in place
//! of a table (`checktab`); `move` compares its two tables with `__eq`.
//! Metamethods run in PUC Lua's order and as often.
//!
//! Every function but `pack` is a suspendable state machine
//! (`resumable.rs`): its metamethods (and `sort`'s comparator) run through
//! the interpreter loop, under the budget, and may yield (PUC Lua: "attempt
//! to yield across a C-call boundary"). The state lives in frame slots
//! above the arguments, which stay as they were given (errors about them
//! are raised after a `__len` call as in C). One element is one phase on
//! the logged path; a table without a metatable, whose accesses and length
//! never call Lua, takes a direct path instead: a loop of raw accesses that
//! charges its work and stops only when the budget is spent. `sort` lives
//! in module `sort`.
//!
//! Cost model: on top of the one unit each call costs, every element read
//! or written costs one unit (`move` pays two an element, `insert` and
//! `remove` two a shifted element, `unpack` one), as does each `__len` or
//! `__eq` query of the logged path; `concat` pays one unit an element plus
//! one for every 32 bytes of its result. Once the budget is spent the
//! function pauses (`Vm::pausek`) before its next element, so a long call
//! is suspended as often as a Lua loop doing the same work. Direct loops
//! charge every `STRIDE` elements, and calls on tables without a
//! metatable that touch fewer than `SMALL` elements charge everything in
//! advance and skip the state machine, so a slice overshoots its budget by
//! a few units at most (by the length of the strings a `concat` copies).
//!
//! Values read from the array are kept on the native's stack frame while a
//! metamethod or comparator may run, so that a collection triggered there
//! cannot free them (only stack slots and rooted values are marked).

mod sort;

use sort::sort;
use vm_core::TableRef;
use vm_core::{number, Args, Continuation, LuaResult, Meta, Status, Step, Value, Vm};

use crate::auxlib::{add_string, new_buffer, put_buffer, reserve_bytes};
use crate::resumable::{int_at, pause, set_int, Answer, PhaseLog};

natives! {
    natives {
        CONCAT = "table.concat" as "concat" => concat;
        INSERT = "table.insert" as "insert" => insert;
        MOVE = "table.move" as "move" => move_;
        PACK = "table.pack" as "pack" => pack;
        UNPACK = "table.unpack" as "unpack" => unpack;
        REMOVE = "table.remove" as "remove" => remove;
        SORT = "table.sort" as "sort" => sort;
    }
    continuations {
        CONCAT_K = "table.concat_k" => concat_k;
        INSERT_K = "table.insert_k" => insert_k;
        REMOVE_K = "table.remove_k" => remove_k;
        MOVE_K = "table.move_k" => move_k;
        UNPACK_K = "table.unpack_k" => unpack_k;
        SORT_K = "table.sort_k" => sort::sort_k;
        SORT_RAW_K = "table.sort_raw_k" => sort::sort_raw_k;
    }
}

/// Installs the `table` library: global `table` and `_LOADED.table`.
pub fn open_table(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let t = vm.new_table();
    vm.register(
        t,
        &[&CONCAT, &INSERT, &MOVE, &PACK, &UNPACK, &REMOVE, &SORT],
    )?;
    vm.register_library("table", t)?;
    Ok(())
}

// ----- access to table-like arguments -----

/// Operations a value must support to stand in for a table (`TAB_R`,
/// `TAB_W`, `TAB_L` in `ltablib.c`).
#[derive(Clone, Copy)]
struct Needs {
    read: bool,
    write: bool,
    len: bool,
}

const R: Needs = Needs {
    read: true,
    write: false,
    len: false,
};
const W: Needs = Needs {
    read: false,
    write: true,
    len: false,
};
const RL: Needs = Needs {
    read: true,
    write: false,
    len: true,
};
const RWL: Needs = Needs {
    read: true,
    write: true,
    len: true,
};

/// Checks that argument `i` is a table, or has a metatable with every
/// metamethod in `needs` (`checktab`); otherwise the "table expected" type
/// error of `luaL_checktype`.
fn check_tab(vm: &mut Vm, args: Args, i: usize, needs: Needs) -> LuaResult<Value> {
    let v = vm.arg(args, i);
    if let Value::Table(_) = v {
        return Ok(v);
    }
    if let Some(mt) = vm.metatable(v) {
        // Raw lookups in the metatable, as `checkfield` does.
        let mut has = |name: &str| !vm.raw_get_str(mt, name).is_nil();
        if (!needs.read || has("__index"))
            && (!needs.write || has("__newindex"))
            && (!needs.len || has("__len"))
        {
            return Ok(v);
        }
    }
    Err(vm.type_error_arg(args, i, "table"))
}

/// `lua_tointegerx`: integers, floats with an exact integer value, and
/// strings converting to either.
fn to_integer(vm: &Vm, v: Value) -> Option<i64> {
    match vm.to_number_value(v)? {
        Value::Int(i) => Some(i),
        Value::Num(f) => number::float_to_int_exact(f),
        _ => None,
    }
}

/// A table without a metatable: its reads, writes and length never call
/// Lua, so a function may work on it directly.
fn plain(vm: &Vm, v: Value) -> Option<TableRef> {
    match v {
        Value::Table(t) if vm.metatable(v).is_none() => Some(t),
        _ => None,
    }
}

/// `t[i]` of a table without a metatable (through `Vm::index_k` for its
/// integer fast path; no metamethod can be called).
#[inline]
fn get_plain(vm: &mut Vm, t: TableRef, i: i64) -> LuaResult<Value> {
    match vm.index_k(Value::Table(t), Value::Int(i))? {
        Meta::Done(v) => Ok(v),
        Meta::Call(_) => unreachable!("a table without a metatable has no __index"),
    }
}

/// `t[i] = v` for a table without a metatable.
#[inline]
fn set_plain(vm: &mut Vm, t: TableRef, i: i64, v: Value) -> LuaResult<()> {
    match vm.set_index_k(Value::Table(t), Value::Int(i), v)? {
        Meta::Done(()) => Ok(()),
        Meta::Call(_) => unreachable!("a table without a metatable has no __newindex"),
    }
}

/// `#t` as an integer (`luaL_len`), as an operation of a phase: raw for a
/// table without a metatable while the phase has not run Lua, else with
/// `__len`.
fn length(vm: &mut Vm, log: &mut PhaseLog, t: Value) -> Answer<i64> {
    let n = match plain(vm, t) {
        Some(tr) if log.fresh(vm) => Value::Int(vm.raw_len(tr)),
        _ => match log.len(vm, t)? {
            Some(n) => n,
            None => return Ok(None),
        },
    };
    match to_integer(vm, n) {
        Some(n) => Ok(Some(n)),
        None => Err(vm.error("object length is not an integer")),
    }
}

// ----- the state machines -----

/// The state of a table function: integers and values in the frame slots
/// above its arguments (slot `k` of the state is frame offset
/// `args.len() + k`).
#[derive(Clone, Copy)]
struct State(Args);

impl State {
    /// Pushes `n` state slots (zeros) above the arguments.
    fn open(vm: &mut Vm, args: Args, n: usize) -> State {
        vm.frame_truncate(args, args.len());
        for _ in 0..n {
            vm.push(Value::Int(0));
        }
        State(args)
    }

    fn int(self, vm: &Vm, k: usize) -> i64 {
        int_at(vm, self.0, self.0.len() + k)
    }

    fn set_int(self, vm: &mut Vm, k: usize, n: i64) {
        set_int(vm, self.0, self.0.len() + k, n);
    }

    fn val(self, vm: &Vm, k: usize) -> Value {
        vm.frame_get(self.0, self.0.len() + k)
    }

    fn set_val(self, vm: &mut Vm, k: usize, v: Value) {
        vm.set_arg(self.0, self.0.len() + k + 1, v);
    }

    /// Argument `i` (1-based).
    fn arg(self, vm: &Vm, i: usize) -> Value {
        vm.arg(self.0, i)
    }
}

/// What a phase did.
enum Flow {
    /// An operation requested a call: return the log's request.
    Wait,
    /// It finished and wrote the state: drop its log, go on.
    Next,
    /// As `Next`, but its log stays: values the function returns.
    Keep,
    /// A direct path stopped with the budget spent (state written).
    Pause,
    /// The function is over: return the top this many values.
    Return(usize),
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

/// A table function as a state machine: its continuation, where its phase
/// log starts, and its phases (dispatched on the state it reads).
struct Machine {
    k: &'static Continuation,
    mark: fn(&Vm, State) -> usize,
    phase: fn(&mut Vm, State, &mut PhaseLog) -> LuaResult<Flow>,
}

/// Runs phases until the function returns, requests a call or pauses.
fn drive(vm: &mut Vm, st: State, m: &Machine) -> LuaResult<Step> {
    loop {
        let mut log = PhaseLog::open(st.0, (m.mark)(vm, st));
        match (m.phase)(vm, st, &mut log)? {
            Flow::Wait => return Ok(log.request(vm, m.k)),
            Flow::Next => {
                if log.commit(vm)? {
                    return Ok(pause(vm, m.k));
                }
            }
            Flow::Keep => {
                if log.keep(vm)? {
                    return Ok(pause(vm, m.k));
                }
            }
            Flow::Pause => return Ok(pause(vm, m.k)),
            Flow::Return(n) => {
                log.keep(vm)?;
                return Ok(Step::Return(n));
            }
        }
    }
}

/// A machine's continuation: settles the call's answer, if any, and goes on.
fn continue_machine(vm: &mut Vm, args: Args, ctx: i64, m: &Machine) -> LuaResult<Step> {
    let st = State(args);
    PhaseLog::settle(vm, args, (m.mark)(vm, st), ctx);
    drive(vm, st, m)
}

/// Calls on tables without a metatable that touch fewer elements than this
/// do their work at once, charged in advance (so a slice overshoots its
/// budget by a few units at most), without setting up a state machine.
const SMALL: u64 = 8;

/// Direct loops pay for this many elements at a time: a slice overshoots
/// its budget by at most that much work.
const STRIDE: i64 = 4;

/// Charges `units` for direct work and tells whether to pause.
fn paid(vm: &mut Vm, units: u64) -> LuaResult<bool> {
    vm.charge(units)?;
    Ok(vm.budget_spent())
}

// ----- concat -----

static CONCAT_M: Machine = Machine {
    k: &CONCAT_K,
    mark: |_, st| st.0.len() + concat_slot::N,
    phase: concat_phase,
};

/// `concat`'s state slots and phases.
mod concat_slot {
    pub(super) const PHASE: usize = 0;
    /// The next index to add.
    pub(super) const I: usize = 1;
    pub(super) const LAST: usize = 2;
    /// The separator (a string, or nil for none).
    pub(super) const SEP: usize = 3;
    /// The partial result: a userdata holding a `Vec<u8>`, once a phase
    /// had to leave the native (nil before).
    pub(super) const BUF: usize = 4;
    pub(super) const N: usize = 5;
    /// Take the length and check the arguments.
    pub(super) const LEN: i64 = 0;
    /// Add elements.
    pub(super) const ADD: i64 = 1;
}

/// `table.concat(list [, sep [, i [, j]]])`.
fn concat(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    use concat_slot::*;
    let list = check_tab(vm, args, 1, RL)?;
    let Some(t) = plain(vm, list) else {
        let st = State::open(vm, args, N);
        return drive(vm, st, &CONCAT_M);
    };
    let len = vm.raw_len(t);
    let (sep, first, last) = concat_args(vm, args, len)?;
    if (last as u64).wrapping_sub(first as u64) >= SMALL && first <= last {
        let st = State::open(vm, args, N);
        st.set_val(vm, SEP, sep);
        st.set_int(vm, I, first);
        st.set_int(vm, LAST, last);
        st.set_int(vm, PHASE, ADD);
        return drive(vm, st, &CONCAT_M);
    }
    let mut buf = Vec::new();
    if first <= last {
        let mut units = (last - first) as u64 + 1;
        for i in first..=last {
            let v = get_plain(vm, t, i)?;
            units += add_field(vm, &mut buf, v, i)?;
            if i < last {
                add_string(vm, &mut buf, sep)?;
            }
        }
        vm.charge(units + byte_units(0, buf.len()))?;
    }
    let s = vm.new_str(&buf);
    vm.push(s);
    Ok(Step::Return(1))
}

/// `concat`'s other arguments, checked once the length is known: the
/// separator (nil for none) and the range.
fn concat_args(vm: &mut Vm, args: Args, len: i64) -> LuaResult<(Value, i64, i64)> {
    let sep = vm.opt_string(args, 2)?.unwrap_or_default();
    let first = vm.opt_integer(args, 3, 1)?;
    let last = vm.opt_integer(args, 4, len)?;
    Ok((sep, first, last))
}

fn concat_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    continue_machine(vm, args, ctx, &CONCAT_M)
}

fn concat_phase(vm: &mut Vm, st: State, log: &mut PhaseLog) -> LuaResult<Flow> {
    use concat_slot::*;
    let list = st.arg(vm, 1);
    if st.int(vm, PHASE) == LEN {
        let len = ask!(length(vm, log, list));
        let (sep, first, last) = concat_args(vm, st.0, len)?;
        if first > last {
            let s = vm.new_str(b"");
            vm.push(s);
            return Ok(Flow::Return(1));
        }
        st.set_val(vm, SEP, sep);
        st.set_int(vm, I, first);
        st.set_int(vm, LAST, last);
        st.set_int(vm, PHASE, ADD);
        return Ok(Flow::Next);
    }
    let (mut i, last, sep) = (st.int(vm, I), st.int(vm, LAST), st.val(vm, SEP));
    let mut buf = take_buffer(vm, st);
    if let (Some(t), true) = (plain(vm, list), log.fresh(vm)) {
        loop {
            let v = get_plain(vm, t, i)?;
            let before = buf.len();
            let units = 1 + add_field(vm, &mut buf, v, i)?;
            if i == last {
                vm.charge(units + byte_units(before, buf.len()))?;
                return concat_result(vm, buf);
            }
            add_string(vm, &mut buf, sep)?;
            i += 1;
            if paid(vm, units + byte_units(before, buf.len()))? {
                st.set_int(vm, I, i);
                store_buffer(vm, st, buf);
                return Ok(Flow::Pause);
            }
        }
    }
    let Some(v) = log.index(vm, list, Value::Int(i))? else {
        store_buffer(vm, st, buf);
        return Ok(Flow::Wait);
    };
    let before = buf.len();
    let units = add_field(vm, &mut buf, v, i)?;
    if i == last {
        vm.charge(units + byte_units(before, buf.len()))?;
        return concat_result(vm, buf);
    }
    add_string(vm, &mut buf, sep)?;
    vm.charge(units + byte_units(before, buf.len()))?;
    st.set_int(vm, I, i + 1);
    store_buffer(vm, st, buf);
    Ok(Flow::Next)
}

/// Units for converting a float to text, beyond its bytes: formatting
/// one (`%.14g`) costs about as much as this many instructions.
const FLOAT_UNITS: u64 = 16;

/// Appends `v`, the value at index `i`, to `buf` if it is a string or a
/// number (`addfield`). Returns the units its conversion costs beyond
/// the bytes it adds.
fn add_field(vm: &mut Vm, buf: &mut Vec<u8>, v: Value, i: i64) -> LuaResult<u64> {
    match v {
        Value::Str(_) => add_string(vm, buf, v)?,
        Value::Int(_) | Value::Num(_) => {
            let s = vm.to_display(v);
            reserve_bytes(vm, buf, s.len())?;
            buf.extend_from_slice(s.as_bytes());
            if let Value::Num(_) = v {
                return Ok(FLOAT_UNITS);
            }
        }
        _ => {
            let msg = format!(
                "invalid value ({}) at index {i} in table for 'concat'",
                v.type_name()
            );
            return Err(vm.error(&msg));
        }
    }
    Ok(0)
}

/// Units for the bytes from `before` to `after` of a result: one every 32
/// bytes, counted from its start.
fn byte_units(before: usize, after: usize) -> u64 {
    (after / 32 - before / 32) as u64
}

/// The partial result of `concat`, taken out of its userdata (empty before
/// the first phase that left the native).
fn take_buffer(vm: &mut Vm, st: State) -> Vec<u8> {
    let u = st.val(vm, concat_slot::BUF);
    vm.userdata_mut::<Vec<u8>>(u)
        .map(std::mem::take)
        .unwrap_or_default()
}

/// Puts the partial result back, in a new userdata the first time.
fn store_buffer(vm: &mut Vm, st: State, buf: Vec<u8>) {
    let u = st.val(vm, concat_slot::BUF);
    match u {
        Value::UserData(_) => put_buffer(vm, u, buf),
        _ if buf.is_empty() => {}
        _ => {
            let u = new_buffer(vm, buf);
            st.set_val(vm, concat_slot::BUF, u);
        }
    }
}

fn concat_result(vm: &mut Vm, buf: Vec<u8>) -> LuaResult<Flow> {
    let s = vm.new_str_from_vec(buf);
    vm.push(s);
    Ok(Flow::Return(1))
}

// ----- insert, remove -----

static INSERT_M: Machine = Machine {
    k: &INSERT_K,
    mark: |_, st| st.0.len() + insert_slot::N,
    phase: insert_phase,
};

/// `insert`'s state slots and phases.
mod insert_slot {
    pub(super) const PHASE: usize = 0;
    /// The slot to fill next while shifting up.
    pub(super) const I: usize = 1;
    pub(super) const POS: usize = 2;
    pub(super) const N: usize = 3;
    /// Take the length and check the arguments.
    pub(super) const LEN: i64 = 0;
    /// Move `t[i - 1]` to `t[i]`, down to `pos`.
    pub(super) const SHIFT: i64 = 1;
    /// Store the value at `pos`.
    pub(super) const STORE: i64 = 2;
}

/// `table.insert(list, [pos,] value)`.
fn insert(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = check_tab(vm, args, 1, RWL)?;
    // A table without a metatable and few elements to shift (appending,
    // the common case, shifts none).
    if let (Some(tr), 2 | 3) = (plain(vm, t), args.len()) {
        let end = vm.raw_len(tr).wrapping_add(1);
        let pos = if args.len() == 2 {
            end
        } else {
            insert_pos(vm, args, end)?
        };
        if (end as u64).wrapping_sub(pos as u64) < SMALL {
            vm.charge((end - pos) as u64 * 2 + 1)?;
            for i in (pos + 1..=end).rev() {
                let v = get_plain(vm, tr, i - 1)?;
                set_plain(vm, tr, i, v)?;
            }
            set_plain(vm, tr, pos, vm.arg(args, args.len()))?;
            return Ok(Step::Return(0));
        }
    }
    let st = State::open(vm, args, insert_slot::N);
    drive(vm, st, &INSERT_M)
}

fn insert_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    continue_machine(vm, args, ctx, &INSERT_M)
}

fn insert_phase(vm: &mut Vm, st: State, log: &mut PhaseLog) -> LuaResult<Flow> {
    use insert_slot::*;
    let t = st.arg(vm, 1);
    let pos = st.int(vm, POS);
    match st.int(vm, PHASE) {
        LEN => {
            let end = ask!(length(vm, log, t)).wrapping_add(1); // first empty slot
            let pos = match st.0.len() {
                2 => end,
                3 => insert_pos(vm, st.0, end)?,
                _ => return Err(vm.error("wrong number of arguments to 'insert'")),
            };
            st.set_int(vm, POS, pos);
            st.set_int(vm, I, end);
            st.set_int(vm, PHASE, SHIFT);
            Ok(Flow::Next)
        }
        SHIFT => {
            let mut i = st.int(vm, I);
            if let (Some(tr), true) = (plain(vm, t), log.fresh(vm)) {
                while i > pos {
                    let stop = (i - STRIDE).max(pos);
                    let mut j = i;
                    while j > stop {
                        let v = get_plain(vm, tr, j - 1)?;
                        set_plain(vm, tr, j, v)?;
                        j -= 1;
                    }
                    let done = (i - stop) as u64;
                    i = stop;
                    if paid(vm, 2 * done)? && i > pos {
                        st.set_int(vm, I, i);
                        return Ok(Flow::Pause);
                    }
                }
            } else if i > pos {
                let v = ask!(log.index(vm, t, Value::Int(i - 1)));
                ask!(log.set_index(vm, t, Value::Int(i), v));
                i -= 1;
            }
            if i <= pos {
                st.set_int(vm, PHASE, STORE);
            }
            st.set_int(vm, I, i);
            Ok(Flow::Next)
        }
        _ => {
            let v = st.arg(vm, st.0.len());
            ask!(log.set_index(vm, t, Value::Int(pos), v));
            Ok(Flow::Return(0))
        }
    }
}

/// `insert`'s position argument, given the first empty slot `end`.
fn insert_pos(vm: &mut Vm, args: Args, end: i64) -> LuaResult<i64> {
    let pos = vm.check_integer(args, 2)?;
    // `pos` in [1, end], compared unsigned as in `ltablib.c`, so that a
    // wrapped `end` accepts every positive position.
    if (pos as u64).wrapping_sub(1) >= end as u64 {
        return Err(vm.arg_error(2, "position out of bounds"));
    }
    Ok(pos)
}

static REMOVE_M: Machine = Machine {
    k: &REMOVE_K,
    mark: |_, st| st.0.len() + remove_slot::N,
    phase: remove_phase,
};

/// `remove`'s state slots and phases.
mod remove_slot {
    pub(super) const PHASE: usize = 0;
    /// The slot to fill next while shifting down.
    pub(super) const POS: usize = 1;
    pub(super) const SIZE: usize = 2;
    /// The removed value (the result).
    pub(super) const RESULT: usize = 3;
    pub(super) const N: usize = 4;
    /// Take the length, check the position and read the element there.
    pub(super) const START: i64 = 0;
    /// Move `t[pos + 1]` to `t[pos]` up to `size`, then clear `t[pos]`.
    pub(super) const SHIFT: i64 = 1;
}

/// `table.remove(list [, pos])`.
fn remove(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = check_tab(vm, args, 1, RWL)?;
    // A table without a metatable and few elements to shift (removing
    // the last one, the common case, shifts none).
    if let Some(tr) = plain(vm, t) {
        let size = vm.raw_len(tr);
        let mut pos = remove_pos(vm, args, size)?;
        if (size as u64).wrapping_sub(pos as u64).wrapping_add(1) <= SMALL {
            let removed = get_plain(vm, tr, pos)?;
            vm.charge((size - pos).max(0) as u64 * 2 + 2)?;
            while pos < size {
                let v = get_plain(vm, tr, pos + 1)?;
                set_plain(vm, tr, pos, v)?;
                pos += 1;
            }
            set_plain(vm, tr, pos, Value::Nil)?;
            vm.push(removed);
            return Ok(Step::Return(1));
        }
    }
    let st = State::open(vm, args, remove_slot::N);
    drive(vm, st, &REMOVE_M)
}

fn remove_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    continue_machine(vm, args, ctx, &REMOVE_M)
}

fn remove_phase(vm: &mut Vm, st: State, log: &mut PhaseLog) -> LuaResult<Flow> {
    use remove_slot::*;
    let t = st.arg(vm, 1);
    let direct = plain(vm, t).filter(|_| log.fresh(vm));
    if st.int(vm, PHASE) == START {
        let size = ask!(length(vm, log, t));
        let pos = remove_pos(vm, st.0, size)?;
        let removed = match direct {
            Some(tr) => get_plain(vm, tr, pos)?,
            None => ask!(log.index(vm, t, Value::Int(pos))),
        };
        st.set_val(vm, RESULT, removed);
        st.set_int(vm, POS, pos);
        st.set_int(vm, SIZE, size);
        st.set_int(vm, PHASE, SHIFT);
        return Ok(Flow::Next);
    }
    let (mut pos, size) = (st.int(vm, POS), st.int(vm, SIZE));
    if let Some(tr) = direct {
        while pos < size {
            let stop = pos.saturating_add(STRIDE).min(size);
            for p in pos..stop {
                let v = get_plain(vm, tr, p + 1)?;
                set_plain(vm, tr, p, v)?;
            }
            let done = (stop - pos) as u64;
            pos = stop;
            if paid(vm, 2 * done)? {
                st.set_int(vm, POS, pos);
                return Ok(Flow::Pause);
            }
        }
        set_plain(vm, tr, pos, Value::Nil)?;
        vm.charge(1)?;
    } else if pos < size {
        let v = ask!(log.index(vm, t, Value::Int(pos + 1)));
        ask!(log.set_index(vm, t, Value::Int(pos), v));
        st.set_int(vm, POS, pos + 1);
        return Ok(Flow::Next);
    } else {
        ask!(log.set_index(vm, t, Value::Int(pos), Value::Nil));
    }
    vm.push(st.val(vm, RESULT));
    Ok(Flow::Return(1))
}

/// `remove`'s position argument, given the length `size`.
fn remove_pos(vm: &mut Vm, args: Args, size: i64) -> LuaResult<i64> {
    let pos = vm.opt_integer(args, 2, size)?;
    // An explicit position may be `size + 1` (or 0 for an empty list).
    // PUC Lua 5.4.4 reports a bad one as argument #1.
    if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
        return Err(vm.arg_error(1, "position out of bounds"));
    }
    Ok(pos)
}

// ----- move -----

static MOVE_M: Machine = Machine {
    k: &MOVE_K,
    mark: |_, st| st.0.len() + move_slot::N,
    phase: move_phase,
};

/// `move`'s state slots and phases.
mod move_slot {
    pub(super) const PHASE: usize = 0;
    /// Elements moved so far.
    pub(super) const I: usize = 1;
    /// Elements to move.
    pub(super) const COUNT: usize = 2;
    /// 1 to copy upwards, 0 downwards.
    pub(super) const UP: usize = 3;
    pub(super) const F: usize = 4;
    pub(super) const T: usize = 5;
    pub(super) const N: usize = 6;
    /// Compare the two tables (`__eq`) to choose the direction.
    pub(super) const EQ: i64 = 0;
    /// Copy elements.
    pub(super) const COPY: i64 = 1;
}

/// `table.move(a1, f, e, t [, a2])`: copies `a1[f..=e]` to `a2[t..]`.
fn move_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    use move_slot::*;
    let f = vm.check_integer(args, 2)?;
    let e = vm.check_integer(args, 3)?;
    let t = vm.check_integer(args, 4)?;
    let dest = move_dest(vm, args);
    let src = check_tab(vm, args, 1, R)?;
    let dst = check_tab(vm, args, dest, W)?;
    if e < f {
        vm.push(dst);
        return Ok(Step::Return(1));
    }
    if !(f > 0 || e < i64::MAX + f) {
        return Err(vm.arg_error(3, "too many elements to move"));
    }
    let n = e - f + 1;
    if t > i64::MAX - n + 1 {
        return Err(vm.arg_error(4, "destination wrap around"));
    }
    let up = t > e || t <= f;
    if let (Some(s), Some(d), true) = (plain(vm, src), plain(vm, dst), (n as u64) < SMALL) {
        // Two tables without metatables are the same table when equal.
        vm.charge(n as u64 * 2)?;
        let order: &mut dyn Iterator<Item = i64> = if up || !src.raw_eq(dst) {
            &mut (0..n)
        } else {
            &mut (0..n).rev()
        };
        for k in order {
            let v = get_plain(vm, s, f + k)?;
            set_plain(vm, d, t + k, v)?;
        }
        vm.push(dst);
        return Ok(Step::Return(1));
    }
    let st = State::open(vm, args, N);
    st.set_int(vm, COUNT, n);
    st.set_int(vm, F, f);
    st.set_int(vm, T, t);
    // Copy upwards unless the destination overlaps the source from above
    // (copying upwards is kinder to the table's array part); two tables
    // that `__eq` says are equal count as one.
    if up {
        st.set_int(vm, UP, 1);
        st.set_int(vm, PHASE, COPY);
    } else if dest == 1 {
        st.set_int(vm, PHASE, COPY);
    }
    drive(vm, st, &MOVE_M)
}

/// The destination argument of `move`: `a2`, or `a1` when absent or nil.
fn move_dest(vm: &Vm, args: Args) -> usize {
    if vm.is_none_or_nil(args, 5) {
        1
    } else {
        5
    }
}

fn move_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    continue_machine(vm, args, ctx, &MOVE_M)
}

fn move_phase(vm: &mut Vm, st: State, log: &mut PhaseLog) -> LuaResult<Flow> {
    use move_slot::*;
    let src = st.arg(vm, 1);
    let dst = st.arg(vm, move_dest(vm, st.0));
    if st.int(vm, PHASE) == EQ {
        let same = ask!(log.equals(vm, src, dst));
        st.set_int(vm, UP, i64::from(!same));
        st.set_int(vm, PHASE, COPY);
        return Ok(Flow::Next);
    }
    let (mut i, n, up) = (st.int(vm, I), st.int(vm, COUNT), st.int(vm, UP) != 0);
    let (f, t) = (st.int(vm, F), st.int(vm, T));
    // The offset of the `i`th element moved.
    let at = |i: i64| if up { i } else { n - 1 - i };
    match (plain(vm, src), plain(vm, dst), log.fresh(vm)) {
        (Some(s), Some(d), true) => {
            while i < n {
                let stop = i.saturating_add(STRIDE).min(n);
                for j in i..stop {
                    let k = at(j);
                    let v = get_plain(vm, s, f + k)?;
                    set_plain(vm, d, t + k, v)?;
                }
                let done = (stop - i) as u64;
                i = stop;
                if paid(vm, 2 * done)? && i < n {
                    st.set_int(vm, I, i);
                    return Ok(Flow::Pause);
                }
            }
        }
        _ if i < n => {
            let k = at(i);
            let v = ask!(log.index(vm, src, Value::Int(f + k)));
            ask!(log.set_index(vm, dst, Value::Int(t + k), v));
            st.set_int(vm, I, i + 1);
            return Ok(Flow::Next);
        }
        _ => {}
    }
    vm.push(dst);
    Ok(Flow::Return(1))
}

// ----- pack, unpack -----

/// `table.pack(...)`: the arguments in a new table, with `n` their count.
fn pack(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let tr = vm.new_table();
    // Ascending keys fill the array part; nothing here can collect.
    for i in 1..=args.len() {
        let v = vm.arg(args, i);
        vm.raw_set(tr, Value::Int(i as i64), v)?;
    }
    vm.charge(args.len() as u64)?;
    vm.raw_set_str(tr, "n", Value::Int(args.len() as i64))?;
    vm.push(Value::Table(tr));
    Ok(Step::Return(1))
}

static UNPACK_M: Machine = Machine {
    k: &UNPACK_K,
    // The elements read so far stay below the log: they are the results.
    mark: |vm, st| st.0.len() + unpack_slot::N + st.int(vm, unpack_slot::KEPT) as usize,
    phase: unpack_phase,
};

/// `unpack`'s state slots and phases; the elements follow the state.
mod unpack_slot {
    pub(super) const PHASE: usize = 0;
    /// The next index to read.
    pub(super) const I: usize = 1;
    pub(super) const LAST: usize = 2;
    /// Elements read so far.
    pub(super) const KEPT: usize = 3;
    pub(super) const N: usize = 4;
    /// Take the length (no `j` given).
    pub(super) const LEN: i64 = 0;
    /// Read elements.
    pub(super) const READ: i64 = 1;
}

/// `table.unpack(list [, i [, j]])`: `list[i], ..., list[j]`.
fn unpack(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    use unpack_slot::*;
    let first = vm.opt_integer(args, 2, 1)?;
    let last = if vm.is_none_or_nil(args, 3) {
        None
    } else {
        Some(vm.check_integer(args, 3)?)
    };
    let list = vm.arg(args, 1);
    let direct = plain(vm, list);
    let last = match (last, direct) {
        (None, Some(t)) => Some(vm.raw_len(t)),
        _ => last,
    };
    // A few elements of a table without a metatable.
    if let (Some(t), Some(last)) = (direct, last) {
        if first > last {
            return Ok(Step::Return(0));
        }
        let n = (last as u64).wrapping_sub(first as u64);
        if n < SMALL {
            if !vm.has_stack_room(n as usize + 1) {
                return Err(vm.error("too many results to unpack"));
            }
            vm.charge(n + 1)?;
            for i in first..=last {
                let v = get_plain(vm, t, i)?;
                vm.push(v);
            }
            return Ok(Step::Return(n as usize + 1));
        }
    }
    let st = State::open(vm, args, N);
    st.set_int(vm, I, first);
    if let Some(last) = last {
        if let Some(flow) = unpack_range(vm, st, first, last)? {
            let Flow::Return(n) = flow else {
                unreachable!("an empty range returns")
            };
            return Ok(Step::Return(n));
        }
    }
    drive(vm, st, &UNPACK_M)
}

/// Checks the range `first..=last` once `last` is known and moves to the
/// reading phase; `Some` when there is nothing to read.
fn unpack_range(vm: &mut Vm, st: State, first: i64, last: i64) -> LuaResult<Option<Flow>> {
    use unpack_slot::*;
    if first > last {
        return Ok(Some(Flow::Return(0)));
    }
    // Elements minus one, computed unsigned so that no range overflows;
    // refused before anything is read, as `lua_checkstack` would, counting
    // from the arguments as C does.
    let n = (last as u64).wrapping_sub(first as u64);
    let above = (vm.frame_top(st.0) - st.0.len()) as u64;
    if n >= i32::MAX as u64 || (n + 1 > above && !vm.has_stack_room((n + 1 - above) as usize)) {
        return Err(vm.error("too many results to unpack"));
    }
    st.set_int(vm, LAST, last);
    st.set_int(vm, PHASE, READ);
    Ok(None)
}

fn unpack_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    continue_machine(vm, args, ctx, &UNPACK_M)
}

fn unpack_phase(vm: &mut Vm, st: State, log: &mut PhaseLog) -> LuaResult<Flow> {
    use unpack_slot::*;
    let list = st.arg(vm, 1);
    let (mut i, mut kept) = (st.int(vm, I), st.int(vm, KEPT));
    if st.int(vm, PHASE) == LEN {
        let last = ask!(length(vm, log, list));
        if let Some(flow) = unpack_range(vm, st, i, last)? {
            return Ok(flow);
        }
        return Ok(Flow::Next);
    }
    let last = st.int(vm, LAST);
    if let (Some(t), true) = (plain(vm, list), log.fresh(vm)) {
        loop {
            let stop = i.saturating_add(STRIDE - 1).min(last);
            for j in i..=stop {
                let v = get_plain(vm, t, j)?;
                vm.push(v);
            }
            let done = stop - i + 1;
            kept += done;
            let spent = paid(vm, done as u64)?;
            if stop == last {
                return Ok(Flow::Return(kept as usize));
            }
            i = stop + 1;
            if spent {
                st.set_int(vm, I, i);
                st.set_int(vm, KEPT, kept);
                return Ok(Flow::Pause);
            }
        }
    }
    ask!(log.index(vm, list, Value::Int(i)));
    if i == last {
        return Ok(Flow::Return(kept as usize + 1));
    }
    st.set_int(vm, I, i + 1);
    st.set_int(vm, KEPT, kept + 1);
    Ok(Flow::Keep)
}
