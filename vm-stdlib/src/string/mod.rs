//! The string library (`lstrlib.c`): `byte`, `char`, `find`, `gmatch`,
//! `gsub`, `len`, `lower`, `match`, `rep`, `reverse`, `sub`, `upper`
//! (plus `format` and `pack`/`unpack`/`packsize` from the submodules), and
//! the string metatable: `__index` and the arithmetic metamethods.
//!
//! Strings are bytes; classes and case mapping follow the C locale. The
//! pattern matcher lives in `pattern` and never touches the VM: the
//! natives borrow a subject while matching, then copy out what they push.
//! `gsub` calls replacement functions (and `__index` of replacement
//! tables) through `Vm::call_value`, so, as in PUC Lua, a yield inside
//! them is "attempt to yield across a C-call boundary".

use std::ops::Range;

use vm_core::meta::Tm;
use vm_core::number::{self, ArithOp};
use vm_core::value::TableRef;
use vm_core::{Args, LuaError, LuaResult, Step, Value, Vm};

use pattern::{CaptureValue, Captures, MatchState, PatternError};

mod format;
mod pack;
mod pattern;

natives! {
    BYTE = "byte" => byte;
    CHAR = "char" => char;
    DUMP = "dump" => dump;
    FIND = "find" => find;
    GMATCH = "gmatch" => gmatch;
    GMATCH_STEP = "gmatch_step" => gmatch_step;
    GSUB = "gsub" => gsub;
    LEN = "len" => len;
    LOWER = "lower" => lower;
    MATCH = "match" => match_;
    REP = "rep" => rep;
    REVERSE = "reverse" => reverse;
    SUB = "sub" => sub;
    UPPER = "upper" => upper;
    ADD = "__add" => arith_add;
    SUB_MM = "__sub" => arith_sub;
    MUL = "__mul" => arith_mul;
    MOD = "__mod" => arith_mod;
    POW = "__pow" => arith_pow;
    DIV = "__div" => arith_div;
    IDIV = "__idiv" => arith_idiv;
    UNM = "__unm" => arith_unm;
}

/// Largest string `rep` builds (`MAXSIZE` in `lstrlib.c` on 64-bit
/// machines, where it is `INT_MAX`).
const MAX_SIZE: usize = i32::MAX as usize;

/// Installs the string library: the `string` table, and the string
/// metatable whose `__index` is that table (so `("x"):rep(3)` works).
pub fn open_string(vm: &mut Vm) {
    let Value::Table(t) = vm.new_table() else {
        unreachable!("new_table makes a table")
    };
    vm.register(
        t,
        &[
            &BYTE, &CHAR, &DUMP, &FIND, &GMATCH, &GSUB, &LEN, &LOWER, &MATCH, &REP, &REVERSE, &SUB,
            &UPPER,
        ],
    );
    format::register(vm, t);
    pack::register(vm, t);
    vm.set_global("string", Value::Table(t));
    vm.register_library("string", t);
    set_string_metatable(vm, t);
}

/// The metatable of strings: `__index` is the string table, and the
/// arithmetic events convert numeric strings (`stringmetamethods`).
fn set_string_metatable(vm: &mut Vm, string: TableRef) {
    let Value::Table(mt) = vm.new_table() else {
        unreachable!("new_table makes a table")
    };
    vm.register(mt, &[&ADD, &SUB_MM, &MUL, &MOD, &POW, &DIV, &IDIV, &UNM]);
    vm.raw_set_str(mt, "__index", Value::Table(string));
    let any_string = vm.new_str(b"");
    vm.set_metatable(any_string, Some(mt));
}

// ----- helpers -----

/// The bytes of a string value (empty for anything else: callers pass
/// values that `check_string` returned).
fn bytes(vm: &Vm, s: Value) -> &[u8] {
    vm.str_bytes(s).unwrap_or_default()
}

/// Argument `i` as a string value and its length.
fn check_str(vm: &mut Vm, args: Args, i: usize) -> LuaResult<(Value, usize)> {
    let s = vm.check_string(args, i)?;
    Ok((s, bytes(vm, s).len()))
}

/// Pushes a new string and returns one result.
fn return_str(vm: &mut Vm, b: &[u8]) -> LuaResult<Step> {
    let s = vm.new_str(b);
    vm.push(s);
    Ok(Step::Return(1))
}

/// Pushes the single "fail" result (`luaL_pushfail`).
fn return_fail(vm: &mut Vm) -> LuaResult<Step> {
    vm.push(Value::Nil);
    Ok(Step::Return(1))
}

/// A start position (`posrelatI`): negative counts back from the end;
/// the result is at least 1 and may exceed `len`.
fn start_pos(pos: i64, len: usize) -> usize {
    if pos > 0 {
        usize::try_from(pos).unwrap_or(usize::MAX)
    } else if pos == 0 || pos.unsigned_abs() > len as u64 {
        1
    } else {
        len - pos.unsigned_abs() as usize + 1
    }
}

/// An end position (`getendpos`): negative counts back from the end;
/// the result is clipped to `0..=len`.
fn end_pos(pos: i64, len: usize) -> usize {
    if pos >= 0 {
        usize::try_from(pos).map_or(len, |p| p.min(len))
    } else if pos.unsigned_abs() > len as u64 {
        0
    } else {
        len - pos.unsigned_abs() as usize + 1
    }
}

/// Raises a pattern error at the caller's position (`luaL_error`).
fn pattern_error(vm: &mut Vm, e: PatternError) -> LuaError {
    vm.error(&e.message())
}

/// Makes sure `n` more values fit on the stack (`luaL_checkstack`).
fn check_stack(vm: &mut Vm, n: usize, what: &str) -> LuaResult<()> {
    if !vm.has_stack_room(n) {
        return Err(vm.error(&format!("stack overflow ({what})")));
    }
    Ok(())
}

/// Capture `i` of the match `m` of `subject` as a Lua value: a new string
/// or a position.
fn capture_value(
    vm: &mut Vm,
    subject: &[u8],
    caps: &Captures,
    i: usize,
    m: Range<usize>,
) -> LuaResult<Value> {
    match caps.get(i, m) {
        Ok(CaptureValue::Str(r)) => Ok(vm.new_str(&subject[r])),
        Ok(CaptureValue::Position(p)) => Ok(Value::Int(p)),
        Err(e) => Err(pattern_error(vm, e)),
    }
}

/// Pushes the captures of the match `m` of `subject` (`push_captures`);
/// `whole` yields the whole match for a pattern without captures.
/// Returns how many values it pushed.
fn push_captures(
    vm: &mut Vm,
    subject: Value,
    caps: &Captures,
    m: Range<usize>,
    whole: bool,
) -> LuaResult<usize> {
    let n = caps.count(whole);
    for i in 0..n {
        let v = match caps.get(i, m.clone()) {
            Ok(CaptureValue::Str(r)) => {
                // Copied out: making the string needs the VM mutably.
                let text = bytes(vm, subject)[r].to_vec();
                vm.new_str(&text)
            }
            Ok(CaptureValue::Position(p)) => Value::Int(p),
            Err(e) => return Err(pattern_error(vm, e)),
        };
        vm.push(v);
    }
    Ok(n)
}

// ----- basic functions -----

fn len(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (_, l) = check_str(vm, args, 1)?;
    vm.push(Value::Int(l as i64));
    Ok(Step::Return(1))
}

fn sub(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, l) = check_str(vm, args, 1)?;
    let start = start_pos(vm.check_integer(args, 2)?, l);
    let end = end_pos(vm.opt_integer(args, 3, -1)?, l);
    if start > end {
        return return_str(vm, b"");
    }
    let piece = bytes(vm, s)[start - 1..end].to_vec();
    return_str(vm, &piece)
}

fn reverse(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, _) = check_str(vm, args, 1)?;
    let r: Vec<u8> = bytes(vm, s).iter().rev().copied().collect();
    return_str(vm, &r)
}

fn lower(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, _) = check_str(vm, args, 1)?;
    let r = bytes(vm, s).to_ascii_lowercase();
    return_str(vm, &r)
}

fn upper(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, _) = check_str(vm, args, 1)?;
    let r = bytes(vm, s).to_ascii_uppercase();
    return_str(vm, &r)
}

fn rep(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, l) = check_str(vm, args, 1)?;
    let n = vm.check_integer(args, 2)?;
    let sep = vm.opt_string(args, 3)?;
    let lsep = sep.map_or(0, |sep| bytes(vm, sep).len());
    let n = match usize::try_from(n) {
        Ok(n) if n > 0 && l + lsep > 0 => n,
        _ => return return_str(vm, b""),
    };
    // Checked as PUC does: each copy with its separator times `n` must
    // stay below MAX_SIZE.
    if l + lsep > MAX_SIZE / n {
        return Err(vm.error("resulting string too large"));
    }
    let total = n * l + (n - 1) * lsep;
    let mut out = Vec::with_capacity(total);
    let (text, sep) = (bytes(vm, s), sep.map_or(&[][..], |sep| bytes(vm, sep)));
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(text);
    }
    return_str(vm, &out)
}

fn byte(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, l) = check_str(vm, args, 1)?;
    let first = vm.opt_integer(args, 2, 1)?;
    let start = start_pos(first, l);
    let end = end_pos(vm.opt_integer(args, 3, first)?, l);
    if start > end {
        return Ok(Step::Return(0));
    }
    let n = end - start + 1;
    if n >= i32::MAX as usize {
        return Err(vm.error("string slice too long"));
    }
    check_stack(vm, n, "string slice too long")?;
    for i in start - 1..end {
        let b = bytes(vm, s)[i];
        vm.push(Value::Int(i64::from(b)));
    }
    Ok(Step::Return(n))
}

fn char(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let mut out = Vec::with_capacity(args.len());
    for i in 1..=args.len() {
        let c = vm.check_integer(args, i)?;
        // Compared as unsigned, as PUC does: negative codes are too large.
        match u8::try_from(c as u64) {
            Ok(b) => out.push(b),
            Err(_) => return Err(vm.arg_error(i, "value out of range")),
        }
    }
    return_str(vm, &out)
}

// ----- pattern matching -----

fn find(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    find_aux(vm, args, true)
}

fn match_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    find_aux(vm, args, false)
}

/// `find` (positions, then captures) and `match` (captures, or the whole
/// match) share their search (`str_find_aux`).
fn find_aux(vm: &mut Vm, args: Args, find: bool) -> LuaResult<Step> {
    let (s, ls) = check_str(vm, args, 1)?;
    let (p, lp) = check_str(vm, args, 2)?;
    let init = start_pos(vm.opt_integer(args, 3, 1)?, ls) - 1;
    if init > ls {
        return return_fail(vm); // starts after the end: nothing to find
    }
    if find && (vm.arg(args, 4).truthy() || pattern::is_literal(bytes(vm, p))) {
        let found = pattern::find_literal(&bytes(vm, s)[init..], bytes(vm, p));
        let Some(at) = found.map(|at| at + init) else {
            return return_fail(vm);
        };
        vm.push(Value::Int(at as i64 + 1));
        vm.push(Value::Int((at + lp) as i64));
        return Ok(Step::Return(2));
    }
    let found = pattern::search(bytes(vm, s), bytes(vm, p), init);
    let found = match found {
        Ok(Some(f)) => f,
        Ok(None) => return return_fail(vm),
        Err(e) => return Err(pattern_error(vm, e)),
    };
    let m = found.start..found.end;
    if find {
        vm.push(Value::Int(found.start as i64 + 1));
        vm.push(Value::Int(found.end as i64));
        let n = push_captures(vm, s, &found.caps, m, false)?;
        Ok(Step::Return(n + 2))
    } else {
        let n = push_captures(vm, s, &found.caps, m, true)?;
        Ok(Step::Return(n))
    }
}

/// Slots of the table holding a `gmatch` iterator's progress (its third
/// upvalue; the subject and the pattern are the first two).
const GMATCH_POS: i64 = 1;
const GMATCH_LAST: i64 = 2;

fn gmatch(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, ls) = check_str(vm, args, 1)?;
    let (p, _) = check_str(vm, args, 2)?;
    // Past the end, it stays one past it: nothing is found there.
    let init = (start_pos(vm.opt_integer(args, 3, 1)?, ls) - 1).min(ls + 1);
    let Value::Table(state) = vm.new_table() else {
        unreachable!("new_table makes a table")
    };
    vm.raw_set(state, Value::Int(GMATCH_POS), Value::Int(init as i64))?;
    let f = vm.new_native_closure(&GMATCH_STEP, vec![s, p, Value::Table(state)]);
    vm.push(f);
    Ok(Step::Return(1))
}

/// The iterator `gmatch` returns (`gmatch_aux`): the next match starting
/// at or after the current position that does not end where the previous
/// one did (so an empty match right after a match is skipped). A leading
/// `^` is an ordinary byte here, as in PUC Lua.
fn gmatch_step(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, p) = (vm.upvalue(args, 1), vm.upvalue(args, 2));
    let Value::Table(state) = vm.upvalue(args, 3) else {
        return Err(vm.error("gmatch iterator lost its state"));
    };
    let Value::Int(pos) = vm.raw_get(state, Value::Int(GMATCH_POS)) else {
        return Err(vm.error("gmatch iterator lost its state"));
    };
    let last = match vm.raw_get(state, Value::Int(GMATCH_LAST)) {
        Value::Int(e) => Some(e as usize),
        _ => None,
    };
    let found = next_gmatch(bytes(vm, s), bytes(vm, p), pos as usize, last);
    let (m, caps) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(Step::Return(0)),
        Err(e) => return Err(pattern_error(vm, e)),
    };
    let end = Value::Int(m.end as i64);
    vm.raw_set(state, Value::Int(GMATCH_POS), end)?;
    vm.raw_set(state, Value::Int(GMATCH_LAST), end)?;
    let n = push_captures(vm, s, &caps, m, true)?;
    Ok(Step::Return(n))
}

/// The search of one `gmatch` step: the match and its captures.
fn next_gmatch(
    src: &[u8],
    pat: &[u8],
    from: usize,
    last: Option<usize>,
) -> Result<Option<(Range<usize>, Captures)>, PatternError> {
    let mut ms = MatchState::new(src, pat);
    for start in from..=src.len() {
        match ms.match_at(start)? {
            Some(end) if Some(end) != last => return Ok(Some((start..end, *ms.captures()))),
            _ => {}
        }
    }
    Ok(None)
}

/// What `gsub` replaces each match with.
#[derive(Clone, Copy)]
enum Replacement {
    /// A string (or number) with `%` escapes.
    Text(Value),
    /// A table indexed by the first capture.
    Table(Value),
    /// A function called with the captures.
    Function(Value),
}

fn gsub(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (subject, ls) = check_str(vm, args, 1)?;
    let (pat, _) = check_str(vm, args, 2)?;
    let max = vm.opt_integer(args, 4, ls as i64 + 1)?;
    let repl = match vm.arg(args, 3) {
        Value::Str(_) | Value::Int(_) | Value::Num(_) => {
            Replacement::Text(vm.check_string(args, 3)?)
        }
        t @ Value::Table(_) => Replacement::Table(t),
        f @ (Value::LuaFn(_) | Value::Native(_)) => Replacement::Function(f),
        _ => return Err(vm.type_error_arg(args, 3, "string/function/table")),
    };
    // Copied, because replacements may run Lua code (the copies are no
    // bigger than the result being built).
    let src = bytes(vm, subject).to_vec();
    let pat = bytes(vm, pat).to_vec();
    let (anchor, pat) = pattern::split_anchor(&pat);
    let mut ms = MatchState::new(&src, pat);
    let mut out = Vec::new();
    let (mut pos, mut last, mut n, mut changed) = (0, None, 0i64, false);
    while n < max {
        match ms.match_at(pos).map_err(|e| pattern_error(vm, e))? {
            Some(end) if Some(end) != last => {
                n += 1;
                changed |= add_value(vm, &mut out, &src, pos..end, ms.captures(), repl)?;
                (pos, last) = (end, Some(end));
            }
            // No match here: keep one byte and move on.
            _ if pos < src.len() => {
                out.push(src[pos]);
                pos += 1;
            }
            _ => break,
        }
        if anchor {
            break;
        }
    }
    if changed {
        out.extend_from_slice(&src[pos..]);
        let r = vm.new_str(&out);
        vm.push(r);
    } else {
        vm.push(subject); // nothing changed: the original string
    }
    vm.push(Value::Int(n));
    Ok(Step::Return(2))
}

/// Appends the replacement of the match `m` to `out` (`add_value`).
/// Returns whether it changed the subject: a function or table giving
/// false or nil keeps the match as it was.
fn add_value(
    vm: &mut Vm,
    out: &mut Vec<u8>,
    src: &[u8],
    m: Range<usize>,
    caps: &Captures,
    repl: Replacement,
) -> LuaResult<bool> {
    let v = match repl {
        Replacement::Text(r) => {
            let r = pattern::expand_replacement(out, bytes(vm, r), src, m, caps);
            r.map_err(|e| pattern_error(vm, e))?;
            return Ok(true);
        }
        Replacement::Table(t) => {
            let key = capture_value(vm, src, caps, 0, m.clone())?;
            vm.index(t, key)?
        }
        Replacement::Function(f) => {
            let argv = (0..caps.count(true))
                .map(|i| capture_value(vm, src, caps, i, m.clone()))
                .collect::<LuaResult<Vec<_>>>()?;
            let results = vm.call_value(f, &argv)?;
            results.first().copied().unwrap_or_default()
        }
    };
    match v {
        _ if !v.truthy() => {
            out.extend_from_slice(&src[m]);
            Ok(false)
        }
        Value::Str(_) | Value::Int(_) | Value::Num(_) => {
            let s = vm.tostring(v)?;
            out.extend_from_slice(bytes(vm, s));
            Ok(true)
        }
        _ => {
            let msg = format!("invalid replacement value (a {})", v.type_name());
            Err(vm.error(&msg))
        }
    }
}

// ----- metamethods -----

/// A number from an arithmetic operand (`tonum`): numbers as they are,
/// strings converted when the whole string is a numeral.
fn to_num(vm: &Vm, v: Value) -> Option<Value> {
    match v {
        Value::Int(_) | Value::Num(_) => Some(v),
        Value::Str(_) => vm.to_number_value(v),
        _ => None,
    }
}

/// The arithmetic metamethods of strings (`arith` in `lstrlib.c`): both
/// operands converted, or else the second operand's own metamethod
/// (`trymt`). A unary operator sees its operand twice and, as
/// `lua_arith` does, operates on the second.
fn arith(vm: &mut Vm, args: Args, op: ArithOp, event: Tm, name: &str) -> LuaResult<Step> {
    let (a, b) = (vm.arg(args, 1), vm.arg(args, 2));
    let x = to_num(vm, a);
    // With a single argument, PUC's `tonum(L, 2)` reads the number that
    // `tonum(L, 1)` just pushed: `__add("10")` is 20.
    let y = if args.len() == 1 { x } else { to_num(vm, b) };
    if let (Some(x), Some(y)) = (x, y) {
        let (x, y) = if op == ArithOp::Unm { (y, y) } else { (x, y) };
        return match number::arith(op, x, y) {
            Some(Ok(r)) => {
                vm.push(r);
                Ok(Step::Return(1))
            }
            // Raised by the arithmetic itself, inside this native: no
            // position, as in PUC Lua.
            Some(Err(e)) => Err(LuaError::new(vm.new_str(e.message().as_bytes()))),
            None => unreachable!("operands are numbers"),
        };
    }
    let h = match b {
        Value::Str(_) => Value::Nil,
        _ => vm.metamethod(b, event),
    };
    if h.is_nil() {
        let msg = format!(
            "attempt to {name} a '{}' with a '{}'",
            a.type_name(),
            b.type_name()
        );
        return Err(vm.error(&msg));
    }
    let r = vm.call_value(h, &[a, b])?;
    vm.push(r.first().copied().unwrap_or_default());
    Ok(Step::Return(1))
}

fn arith_add(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Add, Tm::Add, "add")
}

fn arith_sub(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Sub, Tm::Sub, "sub")
}

fn arith_mul(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Mul, Tm::Mul, "mul")
}

fn arith_mod(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Mod, Tm::Mod, "mod")
}

fn arith_pow(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Pow, Tm::Pow, "pow")
}

fn arith_div(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Div, Tm::Div, "div")
}

fn arith_idiv(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::IDiv, Tm::IDiv, "idiv")
}

fn arith_unm(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    arith(vm, args, ArithOp::Unm, Tm::Unm, "unm")
}

/// `string.dump(f [, strip])`: the binary chunk of Lua function `f`, which
/// `load` accepts (`Vm::dump`).
fn dump(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let f = vm.check_function(args, 1)?;
    let strip = vm.arg(args, 2).truthy();
    match vm.dump(f, strip) {
        Some(bytes) => {
            let s = vm.new_str(&bytes);
            vm.push(s);
            Ok(Step::Return(1))
        }
        None => Err(vm.error("unable to dump given function")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        assert_eq!(start_pos(1, 3), 1);
        assert_eq!(start_pos(0, 3), 1);
        assert_eq!(start_pos(-1, 3), 3);
        assert_eq!(start_pos(-3, 3), 1);
        assert_eq!(start_pos(-4, 3), 1);
        assert_eq!(start_pos(i64::MIN, 3), 1);
        assert_eq!(start_pos(i64::MAX, 3), i64::MAX as usize);
        assert_eq!(end_pos(-1, 3), 3);
        assert_eq!(end_pos(-3, 3), 1);
        assert_eq!(end_pos(-4, 3), 0);
        assert_eq!(end_pos(i64::MIN, 3), 0);
        assert_eq!(end_pos(10, 3), 3);
        assert_eq!(end_pos(0, 3), 0);
    }
}
