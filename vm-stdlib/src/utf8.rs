//! The utf8 library (`lutf8lib.c`): `char`, `charpattern`, `codes`,
//! `codepoint`, `len`, `offset`.
//!
//! Strings are bytes; these functions decode them as UTF-8 in Lua 5.4's
//! extended form (sequences of up to six bytes, code points up to
//! `0x7FFFFFFF`). Strict decoding, the default, also refuses code points
//! above `0x10FFFF` and surrogates; a true `lax` argument accepts them.
//! Positions are 1-based byte indices, negative ones counting from the end.
//! As in Lua 5.4.6 (5.4.4 skipped them), `codes` refuses stray
//! continuation bytes.
//!
//! PUC Lua reads past a position freely because its strings end in a NUL
//! byte; `byte_at` gives the same answer (0, never a continuation byte)
//! for the positions at and beyond the end.
//!
//! Every function pays for the bytes it produces or scans, one unit of
//! fuel per 32 (the string library's cost model, `string/cost.rs`).

use vm_core::{Args, LuaResult, Step, Value, Vm};

use crate::string::cost::charge_bytes;

natives! {
    natives {
        CHAR = "utf8.char" as "char" => char;
        CODES = "utf8.codes" as "codes" => codes;
        CODEPOINT = "utf8.codepoint" as "codepoint" => codepoint;
        LEN = "utf8.len" as "len" => len;
        OFFSET = "utf8.offset" as "offset" => offset;
        ITER_STRICT = "utf8.codes_iterator" as "codes_iterator" => iter_strict;
        ITER_LAX = "utf8.codes_iterator_lax" as "codes_iterator_lax" => iter_lax;
    }
}

/// Largest code point of strict UTF-8.
const MAX_UNICODE: u32 = 0x10_FFFF;

/// Largest code point of Lua's extended UTF-8.
const MAX_UTF: u32 = 0x7FFF_FFFF;

/// The message of every decoding error.
const MSG_INVALID: &str = "invalid UTF-8 code";

/// A pattern matching exactly one UTF-8 sequence (`UTF8PATT`).
const CHARPATTERN: &[u8] = b"[\0-\x7F\xC2-\xFD][\x80-\xBF]*";

/// Installs the `utf8` table into the globals.
pub fn open_utf8(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let t = vm.new_table();
    vm.register(t, &[&OFFSET, &CODEPOINT, &CHAR, &LEN])?;
    // `codes` hands out the same two iterator functions every time, as
    // PUC Lua's light C functions are (upvalues 1 and 2).
    let strict = vm.new_native(&ITER_STRICT);
    let lax = vm.new_native(&ITER_LAX);
    let codes = vm.new_native_closure(&CODES, vec![strict, lax])?;
    vm.raw_set_str(t, "codes", codes)?;
    let pattern = vm.new_str(CHARPATTERN);
    vm.raw_set_str(t, "charpattern", pattern)?;
    vm.register_library("utf8", t)?;
    Ok(())
}

/// Byte `i` (0-based) of `s`, or 0 (PUC's terminating NUL) past its end.
fn byte_at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Whether `c` is a continuation byte (`10xxxxxx`).
fn is_cont(c: u8) -> bool {
    c & 0xC0 == 0x80
}

/// Decodes the sequence starting at byte `i` of `s` (`utf8_decode`):
/// its code point and the index just past it, or `None` when the bytes
/// are not a valid sequence (or, when `strict`, not a Unicode scalar).
fn decode(s: &[u8], i: usize, strict: bool) -> Option<(u32, usize)> {
    // Smallest code point of each sequence length, to refuse overlong
    // forms; a lone continuation byte (length 1, no continuations) too.
    const LIMITS: [u32; 6] = [u32::MAX, 0x80, 0x800, 0x1_0000, 0x20_0000, 0x400_0000];
    let first = byte_at(s, i);
    let (code, len) = if first < 0x80 {
        (u32::from(first), 1)
    } else {
        let mut c = u32::from(first);
        let mut res: u32 = 0;
        let mut count = 0;
        // Each leading 1 bit after the first asks for a continuation byte.
        while c & 0x40 != 0 {
            count += 1;
            let cc = byte_at(s, i + count);
            if !is_cont(cc) {
                return None;
            }
            res = (res << 6) | u32::from(cc & 0x3F);
            c <<= 1;
        }
        // `0xFE` and `0xFF` ask for six or seven continuation bytes, more
        // than the format has (and than fit the shift below).
        if count > 5 {
            return None;
        }
        res |= (c & 0x7F) << (count * 5);
        if res > MAX_UTF || res < LIMITS[count] {
            return None;
        }
        (res, count + 1)
    };
    if strict && (code > MAX_UNICODE || (0xD800..=0xDFFF).contains(&code)) {
        return None;
    }
    Some((code, i + len))
}

/// Appends the extended UTF-8 encoding of `x` (at most `MAX_UTF`) to `out`,
/// as `luaO_utf8esc` does: up to six bytes.
fn encode(x: u32, out: &mut Vec<u8>) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    let mut buf = [0u8; 6];
    let mut n = 0;
    let mut x = x;
    // Largest value the first byte can still hold.
    let mut max_first: u32 = 0x3F;
    loop {
        buf[5 - n] = 0x80 | (x & 0x3F) as u8;
        n += 1;
        x >>= 6;
        max_first >>= 1;
        if x <= max_first {
            break;
        }
    }
    buf[5 - n] = ((!max_first << 1) | x) as u8;
    out.extend_from_slice(&buf[5 - n..]);
}

/// A relative string position made absolute (`u_posrelat`): negative
/// positions count back from the end; one before the start becomes 0.
fn posrelat(pos: i64, len: usize) -> i64 {
    let len = len as i64;
    if pos >= 0 {
        pos
    } else if pos < -len {
        0
    } else {
        len + pos + 1
    }
}

/// Argument 1 as a string (numbers are converted in place) and its length.
fn check_str(vm: &mut Vm, args: Args) -> LuaResult<(Value, usize)> {
    let s = vm.check_string(args, 1)?;
    Ok((s, vm.str_bytes(s).map_or(0, <[u8]>::len)))
}

/// The bytes of a string value (see `check_str`).
fn bytes(vm: &Vm, s: Value) -> &[u8] {
    vm.str_bytes(s).unwrap_or_default()
}

/// `utf8.char(...)`: the concatenated encodings of the code points.
fn char(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let mut out = Vec::with_capacity(args.len());
    for i in 1..=args.len() {
        let code = vm.check_integer(args, i)? as u64;
        let Some(code) = u32::try_from(code).ok().filter(|&c| c <= MAX_UTF) else {
            return Err(vm.arg_error(i, "value out of range"));
        };
        encode(code, &mut out);
    }
    charge_bytes(vm, out.len())?;
    let s = vm.new_str(&out);
    vm.push(s);
    Ok(Step::Return(1))
}

/// `utf8.len(s [, i [, j [, lax]]])`: the number of characters starting
/// in `[i, j]`, or fail and the position of the first invalid byte.
fn len(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, len) = check_str(vm, args)?;
    let posi = posrelat(vm.opt_integer(args, 2, 1)?, len);
    let posj = posrelat(vm.opt_integer(args, 3, -1)?, len);
    let lax = vm.arg(args, 4).truthy();
    if !(1..=len as i64 + 1).contains(&posi) {
        return Err(vm.arg_error(2, "initial position out of bounds"));
    }
    if posj > len as i64 {
        return Err(vm.arg_error(3, "final position out of bounds"));
    }
    // The range is scanned (up to an invalid sequence, or a little past
    // its end for the last character).
    charge_bytes(vm, (posj + 1 - posi).max(0) as usize)?;
    // 0-based from here; the range may be empty (`posj` 0).
    match count_chars(bytes(vm, s), (posi - 1) as usize, posj - 1, !lax) {
        Ok(n) => {
            vm.push(Value::Int(n));
            Ok(Step::Return(1))
        }
        Err(bad) => {
            vm.push(Value::Nil);
            vm.push(Value::Int(bad as i64 + 1));
            Ok(Step::Return(2))
        }
    }
}

/// The number of characters of `s` starting at 0-based indices in
/// `[i, last]`, or the index of the first sequence that does not decode.
fn count_chars(s: &[u8], mut i: usize, last: i64, strict: bool) -> Result<i64, usize> {
    let mut n = 0;
    while i as i64 <= last {
        i = decode(s, i, strict).ok_or(i)?.1;
        n += 1;
    }
    Ok(n)
}

/// `utf8.codepoint(s [, i [, j [, lax]]])`: the code points of the
/// characters starting in `[i, j]`.
fn codepoint(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, len) = check_str(vm, args)?;
    let posi = posrelat(vm.opt_integer(args, 2, 1)?, len);
    let pose = posrelat(vm.opt_integer(args, 3, posi)?, len);
    let lax = vm.arg(args, 4).truthy();
    if posi < 1 {
        return Err(vm.arg_error(2, "out of bounds"));
    }
    if pose > len as i64 {
        return Err(vm.arg_error(3, "out of bounds"));
    }
    if posi > pose {
        return Ok(Step::Return(0));
    }
    // Every character takes a byte at least: room for one result per byte
    // (`luaL_checkstack`).
    if pose - posi >= i64::from(i32::MAX) {
        return Err(vm.error("string slice too long"));
    }
    if !vm.has_stack_room((pose - posi + 1) as usize) {
        return Err(vm.error("stack overflow (string slice too long)"));
    }
    charge_bytes(vm, (pose - posi + 1) as usize)?;
    // A character starting at `pose` is decoded whole, past `pose`.
    let (mut i, end) = ((posi - 1) as usize, pose as usize);
    let mut codes = Vec::new();
    let s = bytes(vm, s);
    while i < end {
        let Some((code, next)) = decode(s, i, !lax) else {
            return Err(vm.error(MSG_INVALID));
        };
        codes.push(code);
        i = next;
    }
    for &code in &codes {
        vm.push(Value::Int(code.into()));
    }
    Ok(Step::Return(codes.len()))
}

/// `utf8.offset(s, n [, i])`: the byte position where the `n`-th character
/// counted from position `i` starts (`n == 0`: the character containing
/// byte `i`), or fail when there is no such character.
fn offset(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (s, len) = check_str(vm, args)?;
    let n = vm.check_integer(args, 2)?;
    let default = if n >= 0 { 1 } else { len as i64 + 1 };
    let posi = posrelat(vm.opt_integer(args, 3, default)?, len);
    if !(1..=len as i64 + 1).contains(&posi) {
        return Err(vm.arg_error(3, "position out of bounds"));
    }
    let from = (posi - 1) as usize;
    let found = char_start(bytes(vm, s), n, from);
    // The bytes walked over: to the answer, or to the end the walk met.
    let to = match found {
        Ok(Some(p)) => p,
        Ok(None) if n > 0 => len,
        _ => 0,
    };
    charge_bytes(vm, to.abs_diff(from))?;
    match found {
        Ok(r) => {
            vm.push(r.map_or(Value::Nil, |p| Value::Int(p as i64 + 1)));
            Ok(Step::Return(1))
        }
        Err(msg) => Err(vm.error(msg)),
    }
}

/// The 0-based start of the `n`-th character from index `p` (`p <= len`)
/// for `offset`, `None` when the string ends first.
///
/// # Errors
/// The message for a nonzero `n` with `p` on a continuation byte.
fn char_start(s: &[u8], mut n: i64, mut p: usize) -> Result<Option<usize>, &'static str> {
    let cont_at = |p: usize| is_cont(byte_at(s, p));
    if n == 0 {
        // The start of the character holding byte `p`.
        while p > 0 && cont_at(p) {
            p -= 1;
        }
        return Ok(Some(p));
    }
    if cont_at(p) {
        return Err("initial position is a continuation byte");
    }
    if n < 0 {
        while n < 0 && p > 0 {
            // Back to the start of the previous character.
            p -= 1;
            while p > 0 && cont_at(p) {
                p -= 1;
            }
            n += 1;
        }
    } else {
        // The first character is the one at `p`.
        n -= 1;
        while n > 0 && p < s.len() {
            // On to the start of the next character; the end stops the
            // scan, as `byte_at` gives 0 there.
            p += 1;
            while cont_at(p) {
                p += 1;
            }
            n -= 1;
        }
    }
    Ok((n == 0).then_some(p))
}

/// `utf8.codes(s [, lax])`: the iterator triple of a generic `for` over
/// the positions and code points of `s`.
fn codes(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let lax = vm.arg(args, 2).truthy();
    let s = vm.check_string(args, 1)?;
    if is_cont(byte_at(bytes(vm, s), 0)) {
        return Err(vm.arg_error(1, MSG_INVALID));
    }
    let iter = vm.upvalue(args, if lax { 2 } else { 1 });
    vm.push(iter);
    vm.push(s);
    vm.push(Value::Int(0));
    Ok(Step::Return(3))
}

fn iter_strict(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    iter_step(vm, args, true)
}

fn iter_lax(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    iter_step(vm, args, false)
}

/// One step of the `codes` iterator (5.4.4's `iter_aux`): the control
/// value, the 1-based position of the previous character, is the 0-based
/// index of the byte after that character's first one; skip continuation
/// bytes from there and decode the next character, which must not be
/// followed by a stray continuation byte (5.4.6; 5.4.4 skipped them).
fn iter_step(vm: &mut Vm, args: Args, strict: bool) -> LuaResult<Step> {
    let (s, len) = check_str(vm, args)?;
    // `(lua_Unsigned)lua_tointeger`: anything but an integral number (or
    // a string holding one) counts as 0, and a negative one is past the end.
    let control = vm
        .to_number_value(vm.arg(args, 2))
        .and_then(vm_core::number::tointeger)
        .unwrap_or(0);
    let mut n = usize::try_from(control).unwrap_or(usize::MAX);
    let from = n;
    while n < len && is_cont(bytes(vm, s)[n]) {
        n += 1;
    }
    // Stray continuation bytes skipped: scanned.
    if n > from {
        charge_bytes(vm, n - from)?;
    }
    let s = bytes(vm, s);
    if n >= len {
        return Ok(Step::Return(0));
    }
    let Some((code, _)) = decode(s, n, strict).filter(|&(_, next)| !is_cont(byte_at(s, next)))
    else {
        return Err(vm.error(MSG_INVALID));
    };
    vm.push(Value::Int(n as i64 + 1));
    vm.push(Value::Int(code.into()));
    Ok(Step::Return(2))
}
