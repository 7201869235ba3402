//! The string library (`lstrlib.c`): `byte`, `char`, `find`, `gmatch`,
//! `gsub`, `len`, `lower`, `match`, `rep`, `reverse`, `sub`, `upper`
//! (plus `format` and `pack`/`unpack`/`packsize` from the submodules), and
//! the string metatable: `__index` and the arithmetic metamethods.
//!
//! Strings are bytes; classes and case mapping follow the C locale. The
//! pattern matcher lives in `pattern` and never touches the VM: the
//! natives borrow a subject while matching, then copy out what they push.
//!
//! Natives pay for the bytes they produce or scan (`cost`). `rep`, `gsub`
//! and the searches of `find`, `match` and `gmatch` work in steps and may
//! be suspended between two (`Vm::pausek`), their state in their frame. A
//! search's step may end inside a match attempt: the frame then holds the
//! attempt's state too, as a string (`pattern`, "Pausing an attempt").
//! `gsub` calls replacement functions (and `__index` of replacement
//! tables) with `Vm::callk`, as do `format`'s `__tostring` and the
//! arithmetic metamethods' fallback: that Lua code runs under the budget
//! and may yield, where PUC Lua says "attempt to yield across a C-call
//! boundary" (an extension).

use std::ops::Range;

use vm_core::number::{self, ArithOp};
use vm_core::TableRef;
use vm_core::Tm;
use vm_core::{Args, LuaError, LuaResult, Status, Step, Value, Vm};

use crate::auxlib::return_string;
use crate::resumable::{int_at, set_int};
use cost::{charge_bytes, charge_work, STEP_BYTES};
use pattern::{Attempt, CaptureValue, Captures, MatchState, PatternError, Search};

pub(crate) mod cost;
mod format;
mod pack;
mod pattern;

natives! {
    natives {
        BYTE = "string.byte" as "byte" => byte;
        CHAR = "string.char" as "char" => char;
        DUMP = "string.dump" as "dump" => dump;
        FIND = "string.find" as "find" => find;
        GMATCH = "string.gmatch" as "gmatch" => gmatch;
        GMATCH_STEP = "string.gmatch_step" as "gmatch_step" => gmatch_step;
        GSUB = "string.gsub" as "gsub" => gsub;
        LEN = "string.len" as "len" => len;
        LOWER = "string.lower" as "lower" => lower;
        MATCH = "string.match" as "match" => match_;
        REP = "string.rep" as "rep" => rep;
        REVERSE = "string.reverse" as "reverse" => reverse;
        SUB = "string.sub" as "sub" => sub;
        UPPER = "string.upper" as "upper" => upper;
        ADD = "string.__add" as "__add" => arith_add;
        SUB_MM = "string.__sub" as "__sub" => arith_sub;
        MUL = "string.__mul" as "__mul" => arith_mul;
        MOD = "string.__mod" as "__mod" => arith_mod;
        POW = "string.__pow" as "__pow" => arith_pow;
        DIV = "string.__div" as "__div" => arith_div;
        IDIV = "string.__idiv" as "__idiv" => arith_idiv;
        UNM = "string.__unm" as "__unm" => arith_unm;
        FORMAT = "string.format" as "format" => format::format;
        PACK = "string.pack" as "pack" => pack::pack;
        UNPACK = "string.unpack" as "unpack" => pack::unpack;
        PACKSIZE = "string.packsize" as "packsize" => pack::packsize;
    }
    continuations {
        REP_K = "string.rep_k" => rep_k;
        GSUB_K = "string.gsub_k" => gsub_k;
        ARITH_K = "string.arith_k" => arith_k;
        FIND_K = "string.find_k" => find_k;
        GMATCH_K = "string.gmatch_k" => gmatch_k;
        FORMAT_K = "string.format_k" => format::format_k;
        PACK_K = "string.pack_k" => pack::pack_k;
    }
}

/// Largest string `rep` builds (`MAXSIZE` in `lstrlib.c` on 64-bit
/// machines, where it is `INT_MAX`).
const MAX_SIZE: usize = i32::MAX as usize;

/// Installs the string library: the `string` table, and the string
/// metatable whose `__index` is that table (so `("x"):rep(3)` works).
pub fn open_string(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let t = vm.new_table();
    vm.register(
        t,
        &[
            &BYTE, &CHAR, &DUMP, &FIND, &GMATCH, &GSUB, &LEN, &LOWER, &MATCH, &REP, &REVERSE, &SUB,
            &UPPER, &FORMAT, &PACK, &UNPACK, &PACKSIZE,
        ],
    )?;
    vm.register_library("string", t)?;
    set_string_metatable(vm, t)
}

/// The metatable of strings: `__index` is the string table, and the
/// arithmetic events convert numeric strings (`stringmetamethods`). The
/// VM gives the table to fill: the one it made lazily, if so, which the
/// program may have replaced already (`Vm::library_metatable`).
fn set_string_metatable(vm: &mut Vm, string: TableRef) -> LuaResult<()> {
    let any_string = vm.new_str(b"");
    let Some(mt) = vm.library_metatable(any_string)? else {
        return Ok(());
    };
    vm.register(mt, &[&ADD, &SUB_MM, &MUL, &MOD, &POW, &DIV, &IDIV, &UNM])?;
    vm.raw_set_str(mt, "__index", Value::Table(string))
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
    vm.make_room(b.len())?;
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
    match e {
        PatternError::NoMemory => vm.memory_error(),
        e => vm.error(&e.message()),
    }
}

/// The most work a match may do (`MatchState::set_work_cap`): under an
/// instruction limit, what the fuel left before it pays for; its charge
/// (made before the pattern error is looked at) then raises the limit's
/// error.
fn work_cap(vm: &Vm) -> u64 {
    vm.instruction_limit_left().map_or(u64::MAX, |left| {
        left.saturating_add(1)
            .saturating_mul(cost::BYTES_PER_UNIT as u64)
    })
}

/// Makes sure `n` more values fit on the stack (`luaL_checkstack`).
fn check_stack(vm: &mut Vm, n: usize, what: &str) -> LuaResult<()> {
    if !vm.has_stack_room(n) {
        return Err(vm.error(&format!("stack overflow ({what})")));
    }
    Ok(())
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
    new_string(vm, s, end + 1 - start, |b, out| {
        out.extend_from_slice(&b[start - 1..end]);
    })
}

fn reverse(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    map_bytes(vm, args, |s, out| out.extend(s.iter().rev()))
}

fn lower(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    map_bytes(vm, args, |s, out| {
        out.extend(s.iter().map(u8::to_ascii_lowercase));
    })
}

fn upper(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    map_bytes(vm, args, |s, out| {
        out.extend(s.iter().map(u8::to_ascii_uppercase));
    })
}

/// A string as long as argument 1, made by `f` from its bytes.
fn map_bytes(vm: &mut Vm, args: Args, f: impl FnOnce(&[u8], &mut Vec<u8>)) -> LuaResult<Step> {
    let (s, l) = check_str(vm, args, 1)?;
    new_string(vm, s, l, f)
}

/// Returns a new string of `len` bytes made by `f` from string `s`'s
/// bytes, paid for, into a buffer reserved first (so that a result too
/// large is "not enough memory" rather than an abort), which becomes the
/// string uncopied.
fn new_string(
    vm: &mut Vm,
    s: Value,
    len: usize,
    f: impl FnOnce(&[u8], &mut Vec<u8>),
) -> LuaResult<Step> {
    charge_bytes(vm, len)?;
    let mut out = Vec::new();
    crate::auxlib::reserve_bytes(vm, &mut out, len)?;
    f(bytes(vm, s), &mut out);
    return_string(vm, out)
}

// `rep`'s frame once it has paused: its three arguments (the strings they
// stand for), the buffer (a userdata holding the `Vec<u8>` built so far)
// and the length of the result.
const REP_BUF: usize = 3;
const REP_TOTAL: usize = 4;

/// `string.rep(s, n [, sep])`, built in steps of `STEP_BYTES` bytes: a
/// result of any size costs fuel in proportion and lets the driver
/// suspend the run between two steps.
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
    // Under a memory limit the result must fit; without one, the buffer
    // is reserved fallibly (a refusal is "not enough memory").
    vm.make_room(total)?;
    let mut out = Vec::new();
    if out.try_reserve_exact(total).is_err() {
        return Err(vm.memory_error());
    }
    rep_run(vm, args, [s, sep.unwrap_or_default()], total, out, false)
}

fn rep_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let parts = [vm.frame_get(args, 0), vm.frame_get(args, 2)];
    let total = int_at(vm, args, REP_TOTAL) as usize;
    let buf = vm.frame_get(args, REP_BUF);
    let out = vm
        .userdata_mut::<Vec<u8>>(buf)
        .map(std::mem::take)
        .unwrap_or_default();
    rep_run(vm, args, parts, total, out, true)
}

/// Builds `rep`'s result (the string and the separator in `parts`, the
/// separator nil when absent) on from what `out` holds; `paused` when the
/// frame holds the state already.
fn rep_run(
    vm: &mut Vm,
    args: Args,
    parts: [Value; 2],
    total: usize,
    mut out: Vec<u8>,
    paused: bool,
) -> LuaResult<Step> {
    loop {
        let chunk = (total - out.len()).min(STEP_BYTES);
        charge_bytes(vm, chunk)?;
        let text = bytes(vm, parts[0]);
        let sep = vm.str_bytes(parts[1]).unwrap_or_default();
        rep_fill(&mut out, text, sep, chunk);
        if out.len() == total {
            return return_string(vm, out);
        }
        if vm.budget_spent() {
            break;
        }
    }
    if paused {
        let buf = vm.frame_get(args, REP_BUF);
        crate::auxlib::put_buffer(vm, buf, out);
    } else {
        // `lua_settop(L, 3)`, the arguments made the strings they stand
        // for, then the buffer and the total.
        set_top(vm, args, 3);
        vm.set_arg(args, 1, parts[0]);
        vm.set_arg(args, 3, parts[1]);
        let buf = crate::auxlib::new_buffer(vm, out);
        vm.push(buf);
        vm.push(Value::Int(total as i64));
    }
    Ok(vm.pausek(&REP_K, 0))
}

/// Appends the next `chunk` bytes of `text sep text sep ... text` to
/// `out`: the first copy from the strings, then from `out` itself, whose
/// prefix repeats with the period of one copy and its separator.
fn rep_fill(out: &mut Vec<u8>, text: &[u8], sep: &[u8], mut chunk: usize) {
    let unit = text.len() + sep.len();
    while chunk > 0 {
        let len = out.len();
        let at = len % unit;
        let piece = if len >= unit {
            // out[at + j] is the byte due at len + j, for at + j < len.
            let piece = chunk.min(len - at);
            out.extend_from_within(at..at + piece);
            piece
        } else {
            let (from, off) = if at < text.len() {
                (text, at)
            } else {
                (sep, at - text.len())
            };
            let piece = chunk.min(from.len() - off);
            out.extend_from_slice(&from[off..off + piece]);
            piece
        };
        chunk -= piece;
    }
}

/// `lua_settop(L, n)` for a native's frame: nils added or values dropped.
fn set_top(vm: &mut Vm, args: Args, n: usize) {
    while vm.frame_top(args) < n {
        vm.push(Value::Nil);
    }
    vm.frame_truncate(args, n);
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
    // Each value pushed is worth a byte produced.
    charge_bytes(vm, n)?;
    for i in start - 1..end {
        let b = bytes(vm, s)[i];
        vm.push(Value::Int(i64::from(b)));
    }
    Ok(Step::Return(n))
}

fn char(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    charge_bytes(vm, args.len())?;
    let mut out = Vec::with_capacity(args.len());
    for i in 1..=args.len() {
        let c = vm.check_integer(args, i)?;
        // Compared as unsigned, as PUC does: negative codes are too large.
        match u8::try_from(c as u64) {
            Ok(b) => out.push(b),
            Err(_) => return Err(vm.arg_error(i, "value out of range")),
        }
    }
    return_string(vm, out)
}

// ----- pattern matching -----

fn find(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    find_aux(vm, args, true)
}

fn match_(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    find_aux(vm, args, false)
}

/// `find` (positions, then captures) and `match` (captures, or the whole
/// match) share their search (`str_find_aux`). Each pays for the bytes
/// its search scanned.
fn find_aux(vm: &mut Vm, args: Args, find: bool) -> LuaResult<Step> {
    let (s, ls) = check_str(vm, args, 1)?;
    let (p, lp) = check_str(vm, args, 2)?;
    let init = start_pos(vm.opt_integer(args, 3, 1)?, ls) - 1;
    if init > ls {
        return return_fail(vm); // starts after the end: nothing to find
    }
    // The pattern is scanned (for specials, for a literal search's
    // preparation) whatever the subject's length.
    charge_bytes(vm, lp)?;
    if find && (vm.arg(args, 4).truthy() || pattern::is_literal(bytes(vm, p))) {
        let found = pattern::find_literal(&bytes(vm, s)[init..], bytes(vm, p));
        charge_bytes(vm, found.map_or(ls - init, |at| at + lp))?;
        let Some(at) = found.map(|at| at + init) else {
            return return_fail(vm);
        };
        vm.push(Value::Int(at as i64 + 1));
        vm.push(Value::Int((at + lp) as i64));
        return Ok(Step::Return(2));
    }
    find_search(vm, args, find, [s, p], init, None, false)
}

/// A step of a pattern search: `STEP_BYTES` of matcher work.
const STEP: u64 = STEP_BYTES as u64;

// The frame of a `find` or `match` paused between two steps of its
// search: its arguments (`lua_settop(L, 4)`, the subject and the pattern
// as strings), then where the search goes on, and the state of the
// attempt there when the step ended inside it (a string), or nil.
const FIND_FROM: usize = 4;
const FIND_ATTEMPT: usize = 5;

fn find_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    let sp = [vm.frame_get(args, 0), vm.frame_get(args, 1)];
    let from = int_at(vm, args, FIND_FROM) as usize;
    let attempt = saved_attempt(vm, vm.frame_get(args, FIND_ATTEMPT));
    find_search(vm, args, ctx != 0, sp, from, attempt, true)
}

/// The state of a paused match attempt kept in a frame slot (see
/// [`pattern::MatchState::saved`]), or `None` for nil.
fn saved_attempt(vm: &Vm, v: Value) -> Option<Vec<u8>> {
    vm.str_bytes(v).map(<[u8]>::to_vec)
}

/// A step of the search for the pattern `p` in `s` from `from`, the
/// attempt there going on from `attempt` ([`pattern::search`]): a leading
/// `^` anchors it when `anchored`; a match ending at `skip` is passed
/// over. Returns how it ended; `work` is set to the matcher's work.
fn search_step(
    vm: &Vm,
    [s, p]: [Value; 2],
    from: usize,
    attempt: Option<&[u8]>,
    anchored: bool,
    skip: Option<usize>,
    work: &mut u64,
) -> Result<Search, PatternError> {
    let (anchor, pat) = match bytes(vm, p) {
        pat if anchored => pattern::split_anchor(pat),
        pat => (false, pat),
    };
    let mut ms = MatchState::new(bytes(vm, s), pat);
    ms.set_work_cap(work_cap(vm));
    let found = pattern::search(&mut ms, from, attempt, anchor, skip, STEP);
    *work = ms.work();
    found
}

/// The pattern search of `find` and `match` from position `from` (the
/// attempt there going on from `attempt`), in steps of about
/// `STEP_BYTES` of matcher work, each paid for; a step may end between
/// two attempts or inside one. After a step, when the budget is spent,
/// the search pauses (its position and the attempt's state in its frame,
/// `paused` once they are there).
fn find_search(
    vm: &mut Vm,
    args: Args,
    find: bool,
    [s, p]: [Value; 2],
    mut from: usize,
    mut attempt: Option<Vec<u8>>,
    paused: bool,
) -> LuaResult<Step> {
    loop {
        let mut work = 0;
        let found = search_step(vm, [s, p], from, attempt.as_deref(), true, None, &mut work);
        charge_work(vm, work)?;
        attempt = None;
        // The match by reference: it holds the captures, too large to copy.
        match found {
            Ok(Search::Found(ref f)) => return find_results(vm, s, f, find),
            Ok(Search::NotFound) => return return_fail(vm),
            Ok(Search::Paused(next)) => from = next,
            Ok(Search::Suspended(at, state)) => (from, attempt) = (at, Some(state)),
            Err(e) => return Err(pattern_error(vm, e)),
        }
        if vm.budget_spent() {
            let state = attempt.map_or(Value::Nil, |a| vm.new_str(&a));
            if paused {
                set_int(vm, args, FIND_FROM, from as i64);
                vm.set_arg(args, FIND_ATTEMPT + 1, state);
            } else {
                set_top(vm, args, 4);
                vm.set_arg(args, 1, s);
                vm.set_arg(args, 2, p);
                vm.push(Value::Int(from as i64));
                vm.push(state);
            }
            return Ok(vm.pausek(&FIND_K, i64::from(find)));
        }
    }
}

/// The results of `find` (positions, then captures) or `match` (captures,
/// or the whole match) for the match `found` in `s`.
fn find_results(vm: &mut Vm, s: Value, found: &pattern::Found, find: bool) -> LuaResult<Step> {
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
    let state = vm.new_table();
    vm.raw_set(state, Value::Int(GMATCH_POS), Value::Int(init as i64))?;
    let f = vm.new_native_closure(&GMATCH_STEP, vec![s, p, Value::Table(state)])?;
    vm.push(f);
    Ok(Step::Return(1))
}

/// The iterator `gmatch` returns (`gmatch_aux`): the next match starting
/// at or after the current position that does not end where the previous
/// one did (so an empty match right after a match is skipped). A leading
/// `^` is an ordinary byte here, as in PUC Lua. Each step pays for the
/// bytes its search scanned.
fn gmatch_step(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    gmatch_run(vm, args, None)
}

// Context of `gmatch_k`: the search paused between two attempts (its
// position in the iterator's table), or inside one, the attempt's
// position and state (a string) then on top of the frame.
const GMATCH_BETWEEN: i64 = 0;
const GMATCH_INSIDE: i64 = 1;

fn gmatch_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    if ctx != GMATCH_INSIDE {
        return gmatch_run(vm, args, None);
    }
    let top = vm.frame_top(args);
    let from = int_at(vm, args, top - 2) as usize;
    let attempt = saved_attempt(vm, vm.frame_get(args, top - 1));
    vm.frame_truncate(args, top - 2);
    gmatch_run(vm, args, attempt.map(|a| (from, a)))
}

/// A `gmatch` step from the iterator's position, or from the attempt
/// `resume` (its position and state) when the step paused inside it.
fn gmatch_run(vm: &mut Vm, args: Args, resume: Option<(usize, Vec<u8>)>) -> LuaResult<Step> {
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
    let (mut from, mut attempt) = match resume {
        Some((at, a)) => (at, Some(a)),
        None => (pos as usize, None),
    };
    loop {
        // A leading `^` is no anchor here.
        let mut work = 0;
        let found = search_step(vm, [s, p], from, attempt.as_deref(), false, last, &mut work);
        charge_work(vm, work)?;
        attempt = None;
        match found {
            Ok(Search::Found(ref f)) => return gmatch_results(vm, s, state, f),
            Ok(Search::NotFound) => return Ok(Step::Return(0)),
            Ok(Search::Paused(next)) => from = next,
            Ok(Search::Suspended(at, a)) => (from, attempt) = (at, Some(a)),
            Err(e) => return Err(pattern_error(vm, e)),
        }
        if vm.budget_spent() {
            // The positions before `from` have no match to give: the
            // search goes on from there, in this call's continuation.
            vm.raw_set(state, Value::Int(GMATCH_POS), Value::Int(from as i64))?;
            let Some(a) = attempt else {
                return Ok(vm.pausek(&GMATCH_K, GMATCH_BETWEEN));
            };
            check_stack(vm, 2, "gmatch")?;
            vm.push(Value::Int(from as i64));
            let a = vm.new_str(&a);
            vm.push(a);
            return Ok(vm.pausek(&GMATCH_K, GMATCH_INSIDE));
        }
    }
}

/// Moves a `gmatch` iterator (its progress in `state`) past the match
/// `found` in `s`, and returns its captures.
fn gmatch_results(
    vm: &mut Vm,
    s: Value,
    state: TableRef,
    found: &pattern::Found,
) -> LuaResult<Step> {
    let end = Value::Int(found.end as i64);
    vm.raw_set(state, Value::Int(GMATCH_POS), end)?;
    vm.raw_set(state, Value::Int(GMATCH_LAST), end)?;
    let n = push_captures(vm, s, &found.caps, found.start..found.end, true)?;
    Ok(Step::Return(n))
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

/// The values a `gsub` works on: the subject and the pattern (strings)
/// and the replacement.
#[derive(Clone, Copy)]
struct GsubArgs {
    subject: Value,
    pat: Value,
    repl: Replacement,
}

/// A `gsub`'s progress: the next subject position, the end of the last
/// match (an empty match there is skipped), the matches replaced, the
/// most allowed, and whether the result differs from the subject.
struct GsubState {
    pos: usize,
    last: Option<usize>,
    n: i64,
    max: i64,
    changed: bool,
}

// `gsub`'s frame once it has stopped, for a callback or a pause: its four
// arguments (the strings they stand for), its state as integers, the
// result so far (a userdata holding a `Vec<u8>`), the state of the match
// attempt at `GSUB_POS` when a pause cut it (a string, else nil), and
// where a requested call sits (the function, then its arguments; its
// first result lands there).
const GSUB_MAX: usize = 4;
const GSUB_POS: usize = 5;
const GSUB_LAST: usize = 6;
const GSUB_N: usize = 7;
const GSUB_CHANGED: usize = 8;
/// The end of the match a requested call replaces; [`GSUB_TAIL`] once
/// the matching is over and the rest of the subject is being copied.
const GSUB_END: usize = 9;
const GSUB_BUF: usize = 10;
const GSUB_ATTEMPT: usize = 11;
const GSUB_CALL: usize = 12;
const GSUB_TAIL: i64 = -2;

// Contexts of `gsub_k`.
const GSUB_CALLED: i64 = 0;
const GSUB_PAUSED: i64 = 1;

/// `string.gsub(s, pattern, repl [, n])` (`str_gsub`). The subject is
/// scanned in steps of about `STEP_BYTES` bytes scanned or produced, each
/// paid for; between two steps, and around every replacement function or
/// `__index` call (requested with `Vm::callk`), the state moves to the
/// frame (`gsub_spill`), so the driver may suspend the run and a
/// callback may yield. A `gsub` that does neither keeps its state in
/// locals.
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
    let g = GsubArgs { subject, pat, repl };
    let st = GsubState {
        pos: 0,
        last: None,
        n: 0,
        max,
        changed: false,
    };
    gsub_run(vm, args, g, st, Vec::new(), None, false)
}

/// Continues a `gsub` after a requested call (`ctx` [`GSUB_CALLED`]: its
/// first result replaces the pending match) or a pause.
fn gsub_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    let repl = match vm.frame_get(args, 2) {
        t @ Value::Table(_) => Replacement::Table(t),
        f @ (Value::LuaFn(_) | Value::Native(_)) => Replacement::Function(f),
        r => Replacement::Text(r),
    };
    let g = GsubArgs {
        subject: vm.frame_get(args, 0),
        pat: vm.frame_get(args, 1),
        repl,
    };
    let mut st = GsubState {
        pos: int_at(vm, args, GSUB_POS) as usize,
        last: usize::try_from(int_at(vm, args, GSUB_LAST)).ok(),
        n: int_at(vm, args, GSUB_N),
        max: int_at(vm, args, GSUB_MAX),
        changed: int_at(vm, args, GSUB_CHANGED) != 0,
    };
    let buf = vm.frame_get(args, GSUB_BUF);
    let mut out = vm
        .userdata_mut::<Vec<u8>>(buf)
        .map(std::mem::take)
        .unwrap_or_default();
    let end = int_at(vm, args, GSUB_END);
    let attempt = saved_attempt(vm, vm.frame_get(args, GSUB_ATTEMPT));
    if ctx == GSUB_CALLED {
        let v = vm.frame_get(args, GSUB_CALL);
        vm.frame_truncate(args, GSUB_CALL);
        gsub_apply(vm, g, &mut st, &mut out, end as usize, v)?;
        if anchored(vm, g) {
            return gsub_finish(vm, args, g, st, out, true);
        }
    } else if end == GSUB_TAIL {
        return gsub_finish(vm, args, g, st, out, true);
    }
    gsub_run(vm, args, g, st, out, attempt, true)
}

/// Whether the pattern starts with `^`: one attempt, at the start.
fn anchored(vm: &Vm, g: GsubArgs) -> bool {
    bytes(vm, g.pat).first() == Some(&b'^')
}

/// How a `gsub` scan stopped.
enum Scan {
    /// The subject is done, or `max` matches were replaced.
    Done,
    /// A step's worth of work was done.
    Step,
    /// A step's worth of work was done inside the attempt at `pos`, which
    /// goes on from this state.
    Suspended(Vec<u8>),
    /// A match ending here, its captures copied out, needs its
    /// replacement function or table (through `__index`), or its
    /// replacement raises an error.
    Match(usize),
    /// A pattern or replacement-string error.
    Error(PatternError),
}

/// Runs a `gsub` from `st` (the attempt at `st.pos` going on from
/// `attempt`) until it ends or stops for a callback or a pause; `spilled`
/// tells whether its frame holds its state already.
fn gsub_run(
    vm: &mut Vm,
    args: Args,
    g: GsubArgs,
    mut st: GsubState,
    mut out: Vec<u8>,
    mut attempt: Option<Vec<u8>>,
    spilled: bool,
) -> LuaResult<Step> {
    let mut caps = Captures::new();
    loop {
        let resume = attempt.take();
        let (scan, work) = gsub_scan(vm, g, &mut st, &mut out, &mut caps, resume.as_deref());
        charge_work(vm, work)?;
        let end = match scan {
            Scan::Done => return gsub_finish(vm, args, g, st, out, spilled),
            Scan::Error(e) => return Err(pattern_error(vm, e)),
            Scan::Step | Scan::Suspended(_) => {
                // The result so far must still fit under a memory limit.
                vm.reserve_memory(out.capacity())?;
                if let Scan::Suspended(a) = scan {
                    attempt = Some(a);
                }
                if vm.budget_spent() {
                    let a = attempt.map_or(Value::Nil, |a| vm.new_str(&a));
                    gsub_spill(vm, args, g, &st, out, spilled, -1, 0);
                    vm.set_arg(args, GSUB_ATTEMPT + 1, a);
                    return Ok(vm.pausek(&GSUB_K, GSUB_PAUSED));
                }
                continue;
            }
            Scan::Match(end) => end,
        };
        let m = st.pos..end;
        let v = match g.repl {
            Replacement::Function(f) => {
                let n = caps.count(true);
                check_stack(vm, n + 1, "too many captures")?;
                gsub_spill(vm, args, g, &st, out, spilled, end as i64, 0);
                vm.push(f);
                for i in 0..n {
                    let v = capture_of(vm, g.subject, &caps, i, m.clone())?;
                    vm.push(v);
                }
                return Ok(vm.callk(n, &GSUB_K, GSUB_CALLED));
            }
            Replacement::Table(t) => {
                let key = capture_of(vm, g.subject, &caps, 0, m)?;
                match vm.index_k(t, key)? {
                    vm_core::Meta::Done(v) => v,
                    vm_core::Meta::Call(nargs) => {
                        gsub_spill(vm, args, g, &st, out, spilled, end as i64, nargs + 1);
                        return Ok(vm.callk(nargs, &GSUB_K, GSUB_CALLED));
                    }
                }
            }
            Replacement::Text(_) => unreachable!("gsub_scan makes text replacements"),
        };
        gsub_apply(vm, g, &mut st, &mut out, end, v)?;
        if anchored(vm, g) {
            return gsub_finish(vm, args, g, st, out, spilled);
        }
    }
}

/// Scans from `st.pos` (the attempt there going on from `resume`, a
/// state [`MatchState::saved`]), making text replacements and those of
/// tables without a metatable, until the subject is done, a match needs
/// Lua (its captures then copied to `caps`), or about `STEP_BYTES` bytes
/// were scanned or produced (the step may end inside an attempt).
/// Returns how it stopped and the work done.
fn gsub_scan(
    vm: &Vm,
    g: GsubArgs,
    st: &mut GsubState,
    out: &mut Vec<u8>,
    caps: &mut Captures,
    resume: Option<&[u8]>,
) -> (Scan, u64) {
    let src = bytes(vm, g.subject);
    let (anchor, pat) = pattern::split_anchor(bytes(vm, g.pat));
    let text = match g.repl {
        Replacement::Text(r) => Some(bytes(vm, r)),
        _ => None,
    };
    let plain = match g.repl {
        Replacement::Table(t @ Value::Table(tr)) if vm.is_plain_table(t) => Some(tr),
        _ => None,
    };
    let mut ms = MatchState::new(src, pat);
    ms.set_work_cap(work_cap(vm));
    let out0 = out.len();
    // The state in locals while scanning (registers, not memory).
    let (mut pos, mut last, mut n, mut changed) = (st.pos, st.last, st.n, st.changed);
    let pos0 = pos;
    // Replacement bytes scanned beyond those produced (a `%0` of an empty
    // match adds nothing to `out` but still costs its scan).
    let mut scanned = 0usize;
    // The work besides the matcher's (the subject scanned, the result
    // produced) is counted against the pause mark between two attempts.
    ms.set_pause(STEP);
    let scan = 'scan: {
        if n >= st.max {
            break 'scan Scan::Done;
        }
        let mut attempt = match resume {
            Some(saved) => ms.resume(pos, saved),
            None => ms.match_at(pos),
        };
        loop {
            let spent = match attempt {
                Err(e) => break 'scan Scan::Error(e),
                Ok(Attempt::Paused) => break 'scan Scan::Suspended(ms.saved()),
                Ok(Attempt::Match(end)) if Some(end) != last => {
                    let (out1, scanned1) = (out.len(), scanned);
                    let m = pos..end;
                    if let Some(text) = text {
                        let r = pattern::expand_replacement(out, text, src, m, ms.captures());
                        scanned += text.len().saturating_sub(out.len() - out1);
                        if let Err(e) = r {
                            break 'scan Scan::Error(e);
                        }
                        changed = true;
                    } else {
                        let v = plain.map(|t| plain_lookup(vm, t, src, ms.captures(), m.clone()));
                        let r = match v {
                            Some(Some(v)) if !v.truthy() => pattern::append(out, &src[m]),
                            Some(Some(v @ Value::Str(_))) => {
                                changed = true;
                                pattern::append(out, bytes(vm, v))
                            }
                            _ => {
                                caps.copy_from(ms.captures());
                                break 'scan Scan::Match(end);
                            }
                        };
                        if let Err(e) = r {
                            break 'scan Scan::Error(e);
                        }
                    }
                    n += 1;
                    let spent = end - pos + out.len() - out1 + scanned - scanned1;
                    (pos, last) = (end, Some(end));
                    if n >= st.max {
                        break 'scan Scan::Done;
                    }
                    spent
                }
                // No match here: keep one byte and move on.
                _ if pos < src.len() => {
                    if let Err(e) = pattern::append(out, &src[pos..=pos]) {
                        break 'scan Scan::Error(e);
                    }
                    pos += 1;
                    2
                }
                _ => break 'scan Scan::Done,
            };
            if anchor {
                break 'scan Scan::Done;
            }
            if ms.spend(spent as u64) {
                break 'scan Scan::Step;
            }
            attempt = ms.match_at(pos);
        }
    };
    let work = ms.work() + (pos - pos0 + out.len() - out0 + scanned) as u64;
    (st.pos, st.last, st.n, st.changed) = (pos, last, n, changed);
    (scan, work)
}

/// `t[k]` for the first capture `k` of the match `m` of `src`, in a table
/// without a metatable, when that needs no new string: a key string that
/// does not exist is in no table. `None` when the capture is malformed.
fn plain_lookup(
    vm: &Vm,
    t: TableRef,
    src: &[u8],
    caps: &Captures,
    m: Range<usize>,
) -> Option<Value> {
    let key = match caps.get(0, m).ok()? {
        CaptureValue::Str(r) => match vm.find_str(&src[r]) {
            Some(s) => Value::Str(s),
            None => return Some(Value::Nil),
        },
        CaptureValue::Position(p) => Value::Int(p),
    };
    Some(vm.raw_peek(t, key))
}

/// Appends the replacement `v` of the match `st.pos..end` (a callback's
/// answer) and moves past the match (`add_value`): false or nil keeps
/// the match as it was.
fn gsub_apply(
    vm: &mut Vm,
    g: GsubArgs,
    st: &mut GsubState,
    out: &mut Vec<u8>,
    end: usize,
    v: Value,
) -> LuaResult<()> {
    let r = match v {
        _ if !v.truthy() => pattern::append(out, &bytes(vm, g.subject)[st.pos..end]),
        Value::Str(_) => {
            st.changed = true;
            pattern::append(out, bytes(vm, v))
        }
        // `lua_tolstring`: no `__tostring` for numbers.
        Value::Int(_) | Value::Num(_) => {
            st.changed = true;
            pattern::append(out, vm.to_display(v).as_bytes())
        }
        _ => {
            let msg = format!("invalid replacement value (a {})", v.type_name());
            return Err(vm.error(&msg));
        }
    };
    r.map_err(|e| pattern_error(vm, e))?;
    st.n += 1;
    (st.pos, st.last) = (end, Some(end));
    Ok(())
}

/// Ends a `gsub`: the result with the rest of the subject copied in
/// steps, or the subject itself when nothing changed; then the count.
fn gsub_finish(
    vm: &mut Vm,
    args: Args,
    g: GsubArgs,
    mut st: GsubState,
    mut out: Vec<u8>,
    spilled: bool,
) -> LuaResult<Step> {
    if !st.changed {
        vm.push(g.subject); // nothing changed: the original string
        vm.push(Value::Int(st.n));
        return Ok(Step::Return(2));
    }
    let ls = bytes(vm, g.subject).len();
    while st.pos < ls {
        let piece = (ls - st.pos).min(STEP_BYTES);
        charge_bytes(vm, piece)?;
        let r = pattern::append(&mut out, &bytes(vm, g.subject)[st.pos..st.pos + piece]);
        r.map_err(|e| pattern_error(vm, e))?;
        st.pos += piece;
        if st.pos < ls && vm.budget_spent() {
            gsub_spill(vm, args, g, &st, out, spilled, GSUB_TAIL, 0);
            return Ok(vm.pausek(&GSUB_K, GSUB_PAUSED));
        }
    }
    vm.make_room(out.len())?;
    let r = vm.new_str_from_vec(out);
    vm.push(r);
    vm.push(Value::Int(st.n));
    Ok(Step::Return(2))
}

/// Writes a `gsub`'s state to its frame before it stops: `end` for
/// [`GSUB_END`], and `call` values (a call `Vm::index_k` pushed) kept on
/// top. The first time, the frame is laid out first (`lua_settop(L, 4)`
/// with the strings the arguments stand for, then the slots).
#[allow(clippy::too_many_arguments)]
fn gsub_spill(
    vm: &mut Vm,
    args: Args,
    g: GsubArgs,
    st: &GsubState,
    out: Vec<u8>,
    spilled: bool,
    end: i64,
    call: usize,
) {
    if !spilled {
        let top = vm.frame_top(args);
        let pushed: Vec<Value> = (top - call..top).map(|i| vm.frame_get(args, i)).collect();
        vm.frame_truncate(args, top - call);
        set_top(vm, args, 4);
        vm.set_arg(args, 1, g.subject);
        vm.set_arg(args, 2, g.pat);
        if let Replacement::Text(r) = g.repl {
            vm.set_arg(args, 3, r);
        }
        for _ in GSUB_MAX..GSUB_BUF {
            vm.push(Value::Int(0));
        }
        let buf = vm.new_userdata(Box::new(Vec::<u8>::new()));
        vm.push(buf);
        vm.push(Value::Nil); // GSUB_ATTEMPT
        for v in pushed {
            vm.push(v);
        }
    }
    set_int(vm, args, GSUB_MAX, st.max);
    set_int(vm, args, GSUB_POS, st.pos as i64);
    set_int(vm, args, GSUB_LAST, st.last.map_or(-1, |l| l as i64));
    set_int(vm, args, GSUB_N, st.n);
    set_int(vm, args, GSUB_CHANGED, i64::from(st.changed));
    set_int(vm, args, GSUB_END, end);
    vm.set_arg(args, GSUB_ATTEMPT + 1, Value::Nil);
    let buf = vm.frame_get(args, GSUB_BUF);
    crate::auxlib::put_buffer(vm, buf, out);
}

/// Capture `i` of the match `m` of `subject` as a Lua value: a new string
/// or a position.
fn capture_of(
    vm: &mut Vm,
    subject: Value,
    caps: &Captures,
    i: usize,
    m: Range<usize>,
) -> LuaResult<Value> {
    match caps.get(i, m) {
        Ok(CaptureValue::Str(r)) => {
            // Copied out: making the string needs the VM mutably.
            let mut short = [0u8; 64];
            if r.len() <= short.len() {
                let short = &mut short[..r.len()];
                short.copy_from_slice(&bytes(vm, subject)[r]);
                return Ok(vm.new_str(short));
            }
            let text = bytes(vm, subject)[r].to_vec();
            Ok(vm.new_str(&text))
        }
        Ok(CaptureValue::Position(p)) => Ok(Value::Int(p)),
        Err(e) => Err(pattern_error(vm, e)),
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
    vm.charge_scan(a)?;
    vm.charge_scan(b)?;
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
    // `trymt`: the metamethod called with the two operands, through the
    // interpreter loop; its first result is the answer.
    set_top(vm, args, 2);
    vm.push(h);
    vm.push(a);
    vm.push(b);
    Ok(vm.callk(2, &ARITH_K, 0))
}

/// The answer of the metamethod `arith` called: its first result.
fn arith_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let v = vm.frame_get(args, 2);
    vm.frame_truncate(args, 2);
    vm.push(v);
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
/// `load` accepts (`Vm::dump`), paid for by its size (the work of writing
/// it is bounded by the function's, which is in memory already).
fn dump(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let f = vm.check_function(args, 1)?;
    let strip = vm.arg(args, 2).truthy();
    match vm.dump(f, strip) {
        Some(bytes) => {
            charge_bytes(vm, bytes.len())?;
            return_string(vm, bytes)
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
