//! The table library (`ltablib.c`): `concat`, `insert`, `move`, `pack`,
//! `unpack`, `remove`, `sort`.
//!
//! Every element is read and written as `t[i]` with `__index` and
//! `__newindex`, and lengths are taken with `__len`, so any value whose
//! metatable supplies the metamethods a function needs is accepted in place
//! of a table (`checktab`). `sort` (module `sort`) is a suspendable state
//! machine: its comparator and metamethods run through the interpreter
//! loop, under the budget, and may yield. The other functions still call
//! metamethods through `Vm::call_value`, as PUC Lua's library does (a yield
//! there is "attempt to yield across a C-call boundary"; the instruction
//! limit still bounds them).
//!
//! Values read from the array are kept on the native's stack frame while a
//! metamethod or comparator may run, so that a collection triggered there
//! cannot free them (only stack slots and rooted values are marked).

mod sort;

use sort::sort;
use vm_core::{number, Args, LuaResult, Step, Value, Vm};

natives! {
    CONCAT = "concat" => concat;
    INSERT = "insert" => insert;
    MOVE = "move" => move_;
    PACK = "pack" => pack;
    UNPACK = "unpack" => unpack;
    REMOVE = "remove" => remove;
    SORT = "sort" => sort;
}

/// Installs the `table` library: global `table` and `_LOADED.table`.
pub fn open_table(vm: &mut Vm) {
    let Value::Table(t) = vm.new_table() else {
        unreachable!("new_table makes a table")
    };
    vm.register(
        t,
        &[&CONCAT, &INSERT, &MOVE, &PACK, &UNPACK, &REMOVE, &SORT],
    );
    vm.register_library("table", t);
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

/// `#v` as an integer (`luaL_len`).
fn length(vm: &mut Vm, v: Value) -> LuaResult<i64> {
    let n = vm.len(v)?;
    match to_integer(vm, n) {
        Some(n) => Ok(n),
        None => Err(vm.error("object length is not an integer")),
    }
}

/// Checks argument 1 for `needs` and returns it with its length
/// (`aux_getn`).
fn table_and_len(vm: &mut Vm, args: Args, needs: Needs) -> LuaResult<(Value, i64)> {
    let t = check_tab(vm, args, 1, needs)?;
    let n = length(vm, t)?;
    Ok((t, n))
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

/// `t[i]`, with `__index` (`lua_geti`).
fn geti(vm: &mut Vm, t: Value, i: i64) -> LuaResult<Value> {
    vm.index(t, Value::Int(i))
}

/// `t[i] = v`, with `__newindex` (`lua_seti`).
fn seti(vm: &mut Vm, t: Value, i: i64, v: Value) -> LuaResult<()> {
    vm.set_index(t, Value::Int(i), v)
}

/// `lua_compare(a, b, LUA_OPEQ)`: raw equality, else `__eq` for two tables
/// or two userdata (the first operand's metamethod first).
fn equals(vm: &mut Vm, a: Value, b: Value) -> LuaResult<bool> {
    use vm_core::meta::Tm;
    if a.raw_eq(b) {
        return Ok(true);
    }
    let comparable = matches!(
        (a, b),
        (Value::Table(_), Value::Table(_)) | (Value::UserData(_), Value::UserData(_))
    );
    if !comparable {
        return Ok(false);
    }
    let mut h = vm.metamethod(a, Tm::Eq);
    if h.is_nil() {
        h = vm.metamethod(b, Tm::Eq);
    }
    if h.is_nil() {
        return Ok(false);
    }
    let r = vm.call_value(h, &[a, b])?;
    Ok(r.first().is_some_and(|v| v.truthy()))
}

// ----- concat, insert, remove, move -----

/// `table.concat(list [, sep [, i [, j]]])`.
fn concat(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (t, len) = table_and_len(vm, args, RL)?;
    let sep = match vm.opt_string(args, 2)? {
        Some(s) => vm.str_bytes(s).unwrap_or_default().to_vec(),
        None => Vec::new(),
    };
    let mut i = vm.opt_integer(args, 3, 1)?;
    let last = vm.opt_integer(args, 4, len)?;
    let mut buf = Vec::new();
    // `i < last` before each step, so `i + 1` cannot overflow.
    while i < last {
        add_field(vm, t, i, &mut buf)?;
        buf.extend_from_slice(&sep);
        i += 1;
    }
    if i == last {
        add_field(vm, t, i, &mut buf)?;
    }
    let s = vm.new_str(&buf);
    vm.push(s);
    Ok(Step::Return(1))
}

/// Appends `t[i]`, a string or a number, to `buf` (`addfield`).
fn add_field(vm: &mut Vm, t: Value, i: i64, buf: &mut Vec<u8>) -> LuaResult<()> {
    match geti(vm, t, i)? {
        v @ Value::Str(_) => buf.extend_from_slice(vm.str_bytes(v).unwrap_or_default()),
        v @ (Value::Int(_) | Value::Num(_)) => buf.extend_from_slice(vm.to_display(v).as_bytes()),
        v => {
            let msg = format!(
                "invalid value ({}) at index {i} in table for 'concat'",
                v.type_name()
            );
            return Err(vm.error(&msg));
        }
    }
    Ok(())
}

/// `table.insert(list, [pos,] value)`.
fn insert(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (t, len) = table_and_len(vm, args, RWL)?;
    let end = len.wrapping_add(1); // first empty slot
    let pos = match args.len() {
        2 => end,
        3 => {
            let pos = vm.check_integer(args, 2)?;
            // `pos` in [1, end], compared unsigned as in `ltablib.c`, so
            // that a wrapped `end` accepts every positive position.
            if (pos as u64).wrapping_sub(1) >= end as u64 {
                return Err(vm.arg_error(2, "position out of bounds"));
            }
            let mut i = end;
            while i > pos {
                let v = geti(vm, t, i - 1)?;
                seti(vm, t, i, v)?;
                i -= 1;
            }
            pos
        }
        _ => return Err(vm.error("wrong number of arguments to 'insert'")),
    };
    let v = vm.arg(args, args.len());
    seti(vm, t, pos, v)?;
    Ok(Step::Return(0))
}

/// `table.remove(list [, pos])`.
fn remove(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (t, size) = table_and_len(vm, args, RWL)?;
    let mut pos = vm.opt_integer(args, 2, size)?;
    // An explicit position may be `size + 1` (or 0 for an empty list).
    // PUC Lua 5.4.4 reports a bad one as argument #1.
    if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
        return Err(vm.arg_error(1, "position out of bounds"));
    }
    // The result stays on the stack while the shifts may run metamethods.
    let removed = geti(vm, t, pos)?;
    vm.push(removed);
    while pos < size {
        let v = geti(vm, t, pos + 1)?;
        seti(vm, t, pos, v)?;
        pos += 1;
    }
    seti(vm, t, pos, Value::Nil)?;
    Ok(Step::Return(1))
}

/// `table.move(a1, f, e, t [, a2])`: copies `a1[f..=e]` to `a2[t..]`.
fn move_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let f = vm.check_integer(args, 2)?;
    let e = vm.check_integer(args, 3)?;
    let t = vm.check_integer(args, 4)?;
    let dest = if vm.is_none_or_nil(args, 5) { 1 } else { 5 };
    let src = check_tab(vm, args, 1, R)?;
    let dst = check_tab(vm, args, dest, W)?;
    if e >= f {
        if !(f > 0 || e < i64::MAX + f) {
            return Err(vm.arg_error(3, "too many elements to move"));
        }
        let n = e - f + 1;
        if t > i64::MAX - n + 1 {
            return Err(vm.arg_error(4, "destination wrap around"));
        }
        // Copy upwards unless the destination overlaps the source from
        // above (copying upwards is kinder to the table's array part).
        let upwards = t > e || t <= f || (dest != 1 && !equals(vm, src, dst)?);
        if upwards {
            for i in 0..n {
                let v = geti(vm, src, f + i)?;
                seti(vm, dst, t + i, v)?;
            }
        } else {
            for i in (0..n).rev() {
                let v = geti(vm, src, f + i)?;
                seti(vm, dst, t + i, v)?;
            }
        }
    }
    vm.push(dst);
    Ok(Step::Return(1))
}

// ----- pack, unpack -----

/// `table.pack(...)`: the arguments in a new table, with `n` their count.
fn pack(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t = vm.new_table();
    let Value::Table(tr) = t else {
        unreachable!("new_table makes a table")
    };
    // Ascending keys fill the array part; nothing here can collect.
    for i in 1..=args.len() {
        let v = vm.arg(args, i);
        vm.raw_set(tr, Value::Int(i as i64), v)?;
    }
    vm.raw_set_str(tr, "n", Value::Int(args.len() as i64));
    vm.push(t);
    Ok(Step::Return(1))
}

/// `table.unpack(list [, i [, j]])`: `list[i], ..., list[j]`.
fn unpack(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let list = vm.arg(args, 1);
    let first = vm.opt_integer(args, 2, 1)?;
    let last = if vm.is_none_or_nil(args, 3) {
        length(vm, list)?
    } else {
        vm.check_integer(args, 3)?
    };
    if first > last {
        return Ok(Step::Return(0));
    }
    // Elements minus one, computed unsigned so that no range overflows;
    // refused before anything is pushed, as `lua_checkstack` would.
    let n = (last as u64).wrapping_sub(first as u64);
    if n >= i32::MAX as u64 || !vm.has_stack_room(n as usize + 1) {
        return Err(vm.error("too many results to unpack"));
    }
    for i in 0..=n {
        let v = geti(vm, list, first.wrapping_add(i as i64))?;
        vm.push(v);
    }
    Ok(Step::Return(n as usize + 1))
}
