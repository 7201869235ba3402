//! Number semantics (`lobject.c`'s `luaO_str2num`/`tostringbuff`, `lvm.c`'s
//! conversions and integer/float arithmetic): everything about Lua 5.4
//! numbers that does not touch the heap.
//!
//! STUB: the signatures below are the contract; bodies are being written.
#![allow(missing_docs, unused_variables)]

use crate::value::Value;

/// Parses a Lua numeral as `tonumber`/the lexer do (`luaO_str2num`): optional
/// surrounding whitespace, optional sign, decimal or hexadecimal, integer or
/// float (hex floats with `p` exponents). A decimal integer that does not fit
/// in an `i64` becomes a float; a hexadecimal integer wraps modulo 2^64.
/// Returns `Value::Int` or `Value::Num`, or `None` when `s` is not a numeral.
pub fn str_to_number(s: &[u8]) -> Option<Value> {
    unimplemented!()
}

/// Appends `tostring(f)` (C's `%.14g`, plus `.0` when the result looks like
/// an integer; `inf`, `-inf`, `nan`, `-nan` as PUC Lua prints them on Linux).
pub fn fmt_float(f: f64, out: &mut Vec<u8>) {
    unimplemented!()
}

/// Appends the decimal form of an integer.
pub fn fmt_int(i: i64, out: &mut Vec<u8>) {
    unimplemented!()
}

/// `i == f` without precision loss.
pub fn int_eq_float(i: i64, f: f64) -> bool {
    float_to_int_exact(f) == Some(i)
}
/// `i < f` without precision loss.
pub fn int_lt_float(i: i64, f: f64) -> bool {
    unimplemented!()
}
/// `i <= f` without precision loss.
pub fn int_le_float(i: i64, f: f64) -> bool {
    unimplemented!()
}
/// `f < i` without precision loss.
pub fn float_lt_int(f: f64, i: i64) -> bool {
    unimplemented!()
}
/// `f <= i` without precision loss.
pub fn float_le_int(f: f64, i: i64) -> bool {
    unimplemented!()
}

/// The integer equal to `f`, if `f` has an exact integer value in range
/// (`luaV_flttointns` with `F2Ieq`).
pub fn float_to_int_exact(f: f64) -> Option<i64> {
    // 2^63 is exact as a float; every float in [-2^63, 2^63) with no
    // fractional part converts exactly.
    if f.floor() == f && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}
/// `floor(f)` as an integer, if in range (`F2Ifloor`).
pub fn float_floor_to_int(f: f64) -> Option<i64> {
    unimplemented!()
}
/// `ceil(f)` as an integer, if in range (`F2Iceil`).
pub fn float_ceil_to_int(f: f64) -> Option<i64> {
    unimplemented!()
}

/// Integer floor division `a // b`; `b` must not be 0 (the caller raises
/// "attempt to perform 'n//0'"). `mininteger // -1` wraps.
pub fn int_idiv(a: i64, b: i64) -> i64 {
    unimplemented!()
}
/// Integer modulo `a % b` with the sign of `b`; `b` must not be 0
/// (the caller raises "attempt to perform 'n%%0'").
pub fn int_mod(a: i64, b: i64) -> i64 {
    unimplemented!()
}
/// Float modulo as Lua's `luai_nummod` (result has the sign of `b`).
pub fn float_mod(a: f64, b: f64) -> f64 {
    unimplemented!()
}
/// Float floor division `floor(a / b)`.
pub fn float_idiv(a: f64, b: f64) -> f64 {
    unimplemented!()
}
/// `a << b` as Lua's `luaV_shiftl` (negative `b` shifts right; shifts of 64
/// or more give 0; logical, not arithmetic, right shift).
pub fn shift_left(a: i64, b: i64) -> i64 {
    unimplemented!()
}
