//! Number semantics, the counterpart of `lobject.c`'s `luaO_str2num`,
//! `tostringbuff` and `luaO_rawarith` plus `lvm.c`'s conversions and integer
//! arithmetic (`luaV_idiv`, `luaV_mod`, `luaV_shiftl`, `LTintfloat`, ...):
//! everything about Lua 5.4 numbers that does not touch the heap.
//!
//! Results match PUC Lua 5.4 on Linux/x86-64 bit for bit, including the
//! C library parts it relies on (`strtod` for numerals, `%.14g` for
//! `tostring`), which are reimplemented here without libc.

#[cfg(test)]
mod tests;

use std::io::Write as _;

use crate::value::{StrRef, Value};

/// 2^63 as a float: the first float above `i64::MAX` (floats in
/// `[-2^63, 2^63)` with no fractional part convert to `i64` exactly).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

// ---------------------------------------------------------------------------
// Numerals (`luaO_str2num`)
// ---------------------------------------------------------------------------

/// Parses a Lua numeral as `tonumber`/the lexer do (`luaO_str2num`): optional
/// surrounding whitespace, optional sign, decimal or hexadecimal, integer or
/// float (hex floats with `p` exponents). A decimal integer that does not fit
/// in an `i64` becomes a float; a hexadecimal integer wraps modulo 2^64.
/// Returns `Value::Int` or `Value::Num`, or `None` when `s` is not a numeral
/// (this includes `inf`/`nan` words, trailing garbage and embedded NUL bytes).
///
/// # Examples
/// ```
/// use vm_core::{number::str_to_number, Value};
/// assert!(matches!(str_to_number(b" 0x10 "), Some(Value::Int(16))));
/// assert!(matches!(str_to_number(b"0xA.8p1"), Some(Value::Num(f)) if f == 21.0));
/// assert!(matches!(str_to_number(b"9223372036854775808"), Some(Value::Num(_))));
/// assert!(str_to_number(b"1e").is_none());
/// assert!(str_to_number(b"inf").is_none());
/// ```
pub fn str_to_number(s: &[u8]) -> Option<Value> {
    let v = match str_to_int(s) {
        Some(i) => Value::Int(i),
        None => Value::Num(str_to_float(s)?),
    };
    // `luaO_str2num` sees a C string: a NUL ends it before the Lua length.
    // Checked once a numeral was read, so that a long string that is none
    // fails at its first stray byte, as in PUC, not after a scan.
    if s.contains(&0) {
        return None;
    }
    Some(v)
}

/// C's `isspace` in the "C" locale (Rust's ASCII whitespace lacks `\v`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| is_space(c)).count();
    &s[n..]
}

/// Splits an optional `-`/`+`; returns whether the number is negative.
fn take_sign(s: &[u8]) -> (bool, &[u8]) {
    match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// The digits after a `0x`/`0X` prefix, if `s` has one.
fn strip_hex_prefix(s: &[u8]) -> Option<&[u8]> {
    match s {
        [b'0', b'x' | b'X', rest @ ..] => Some(rest),
        _ => None,
    }
}

/// True when only whitespace is left (a numeral must use the whole string).
fn only_spaces(s: &[u8]) -> bool {
    skip_spaces(s).is_empty()
}

/// `l_str2int`: an integer numeral, or `None` (including decimal overflow,
/// which the caller retries as a float).
fn str_to_int(s: &[u8]) -> Option<i64> {
    let (neg, s) = take_sign(skip_spaces(s));
    let (magnitude, rest) = match strip_hex_prefix(s) {
        Some(digits) => hex_int(digits)?,
        None => decimal_int(s, neg)?,
    };
    if !only_spaces(rest) {
        return None;
    }
    // Two's complement reinterpretation: hex numerals wrap modulo 2^64.
    let value = if neg {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    Some(value as i64)
}

/// Hex digits wrapping modulo 2^64; at least one digit is required.
fn hex_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let n = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    if n == 0 {
        return None;
    }
    let value = s[..n]
        .iter()
        .fold(0u64, |acc, &c| (acc << 4) | u64::from(hex_value(c)));
    Some((value, &s[n..]))
}

/// Decimal digits whose magnitude fits in an `i64` once the sign is applied
/// (2^63 is allowed only when negative).
fn decimal_int(s: &[u8], neg: bool) -> Option<(u64, &[u8])> {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let limit = i64::MAX as u64 + u64::from(neg);
    let mut value = 0u64;
    for &c in &s[..n] {
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if value > limit {
            return None;
        }
    }
    Some((value, &s[n..]))
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// `l_str2d`: a float numeral as C's `strtod` reads it, except that any
/// `n`/`N` rejects the string (Lua does not accept `inf` or `nan`).
fn str_to_float(s: &[u8]) -> Option<f64> {
    let (neg, body) = take_sign(skip_spaces(s));
    let (magnitude, rest) = match strip_hex_prefix(body) {
        Some(digits) => hex_float(digits)?,
        None => decimal_float(body)?,
    };
    // 'inf' and 'nan' are no numerals (`l_str2d`); looked for once the
    // rest was read, for the same reason as the NUL in `str_to_number`.
    if !only_spaces(rest) || s.iter().any(|&c| c == b'n' || c == b'N') {
        return None;
    }
    Some(if neg { -magnitude } else { magnitude })
}

/// Length of the run of bytes satisfying `pred` at the start of `s`.
fn run_len(s: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&c| pred(c)).count()
}

/// Length of `digits ['.' digits]` at the start of `s`, and how many digits
/// it holds in all (a mantissa needs at least one).
fn mantissa_len(s: &[u8], is_digit: impl Fn(u8) -> bool) -> (usize, usize) {
    let int_digits = run_len(s, &is_digit);
    if s.get(int_digits) != Some(&b'.') {
        return (int_digits, int_digits);
    }
    let frac_digits = run_len(&s[int_digits + 1..], &is_digit);
    (int_digits + 1 + frac_digits, int_digits + frac_digits)
}

/// Length of an exponent (`marker [sign] digits`) at the start of `s`, or 0
/// if there is none: like `strtod`, an exponent without digits is not part
/// of the numeral.
fn exponent_len(s: &[u8], markers: [u8; 2]) -> usize {
    match s.first() {
        Some(c) if markers.contains(c) => {
            let signed = usize::from(matches!(s.get(1), Some(b'+' | b'-')));
            let digits = run_len(&s[1 + signed..], |c| c.is_ascii_digit());
            if digits == 0 {
                0
            } else {
                1 + signed + digits
            }
        }
        _ => 0,
    }
}

/// A decimal float: the syntax is checked here, and the correctly rounded
/// conversion is Rust's (the same result as glibc's `strtod`).
fn decimal_float(s: &[u8]) -> Option<(f64, &[u8])> {
    let (mantissa, digits) = mantissa_len(s, |c| c.is_ascii_digit());
    if digits == 0 {
        return None;
    }
    let end = mantissa + exponent_len(&s[mantissa..], [b'e', b'E']);
    let text = std::str::from_utf8(&s[..end]).ok()?;
    Some((text.parse().ok()?, &s[end..]))
}

/// A hex float after its `0x`: `hexdigits ['.' hexdigits] [p [sign] digits]`,
/// rounded to nearest-even like glibc's `strtod`.
fn hex_float(s: &[u8]) -> Option<(f64, &[u8])> {
    let (mantissa, digits) = mantissa_len(s, |c| c.is_ascii_hexdigit());
    if digits == 0 {
        return None;
    }
    let mut bits = HexMantissa::default();
    let mut in_fraction = false;
    for &c in &s[..mantissa] {
        if c == b'.' {
            in_fraction = true;
        } else {
            bits.push_digit(hex_value(c), in_fraction);
        }
    }
    let exp_len = exponent_len(&s[mantissa..], [b'p', b'P']);
    let p_exponent = if exp_len == 0 {
        0
    } else {
        parse_exponent(&s[mantissa + 1..mantissa + exp_len])
    };
    let value = bits.to_f64(p_exponent);
    Some((value, &s[mantissa + exp_len..]))
}

/// A signed decimal exponent, saturated far beyond any float's range.
fn parse_exponent(s: &[u8]) -> i64 {
    const SATURATION: i64 = 1 << 40;
    let (neg, digits) = take_sign(s);
    let magnitude = digits.iter().fold(0i64, |acc, &c| {
        (acc * 10 + i64::from(c - b'0')).min(SATURATION)
    });
    if neg {
        -magnitude
    } else {
        magnitude
    }
}

/// The significant bits of a hex mantissa: its value is
/// `(bits + sticky) * 2^exponent`, where `sticky` stands for nonzero digits
/// too small to fit in the 64-bit accumulator.
#[derive(Default)]
struct HexMantissa {
    bits: u64,
    exponent: i64,
    sticky: bool,
}

impl HexMantissa {
    fn push_digit(&mut self, digit: u8, in_fraction: bool) {
        if self.bits >> 60 == 0 {
            self.bits = (self.bits << 4) | u64::from(digit);
            if in_fraction {
                self.exponent -= 4;
            }
        } else {
            // No room: the digit only matters for rounding.
            self.sticky |= digit != 0;
            if !in_fraction {
                self.exponent += 4;
            }
        }
    }

    /// The mantissa times `2^p_exponent`, rounded to the nearest float with
    /// ties to even.
    fn to_f64(&self, p_exponent: i64) -> f64 {
        if self.bits == 0 {
            return 0.0;
        }
        let shift = self.bits.leading_zeros();
        let m = self.bits << shift;
        // value = (m / 2^63) * 2^e, with m / 2^63 in [1, 2).
        let e = (self.exponent.saturating_add(p_exponent))
            .saturating_sub(i64::from(shift))
            .saturating_add(63);
        if e > 1023 {
            return f64::INFINITY;
        }
        if e < -1075 {
            return 0.0; // below half the smallest subnormal
        }
        // Normal floats keep 53 bits of m; subnormals keep fewer (at most
        // all 64 bits are dropped, for values in [2^-1075, 2^-1074)).
        let dropped = 11 + (-1022 - e).max(0);
        let (kept, half, below_half) = if dropped == 64 {
            (0, m >> 63 == 1, (m << 1) != 0)
        } else {
            let low = m & ((1u64 << dropped) - 1);
            let half = 1u64 << (dropped - 1);
            (m >> dropped, low >= half, low & (half - 1) != 0)
        };
        let round_up = half && (below_half || self.sticky || kept & 1 == 1);
        let kept = kept + u64::from(round_up);
        // `kept` carries the implicit leading bit at position 52, so adding
        // it to a biased exponent one too low gives the right field; a
        // rounding carry to 2^53 (or 2^52 for subnormals) bumps the exponent.
        let bits = if e >= -1022 {
            ((e + 1022) as u64) << 52
        } else {
            0
        };
        f64::from_bits(bits + kept)
    }
}

/// The number `v` converts to for arithmetic (`luaV_tonumber_` and the
/// string library's `tonum`): numbers unchanged, strings converted by
/// [`str_to_number`] (their bytes read through `str_bytes`), anything else
/// `None`.
///
/// # Examples
/// ```
/// use vm_core::{number::to_number, StrRef, Value};
/// let from_string = to_number(Value::Str(StrRef::default()), |_| b" 0x10 ");
/// assert!(matches!(from_string, Some(Value::Int(16))));
/// assert!(matches!(to_number(Value::Num(2.5), |_| b""), Some(Value::Num(f)) if f == 2.5));
/// assert!(to_number(Value::Nil, |_| b"1").is_none());
/// ```
pub fn to_number<'s>(v: Value, str_bytes: impl FnOnce(StrRef) -> &'s [u8]) -> Option<Value> {
    match v {
        Value::Int(_) | Value::Num(_) => Some(v),
        Value::Str(s) => str_to_number(str_bytes(s)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Formatting (`tostringbuff`)
// ---------------------------------------------------------------------------

/// Significant digits of `LUAI_NUMFFORMAT` (`%.14g`).
const FLOAT_DIGITS: usize = 14;

/// Appends `tostring(f)`: C's `%.14g`, plus `.0` when the result looks like
/// an integer; `inf`, `-inf`, `nan` and `-nan` as PUC Lua prints them on
/// Linux (a NaN's sign bit shows).
///
/// # Examples
/// ```
/// use vm_core::number::fmt_float;
/// let mut out = Vec::new();
/// for f in [1e15, 0.1, -0.0, 2f64.powi(63), f64::NEG_INFINITY] {
///     fmt_float(f, &mut out);
///     out.push(b' ');
/// }
/// assert_eq!(out, b"1e+15 0.1 -0.0 9.2233720368548e+18 -inf ");
/// ```
pub fn fmt_float(f: f64, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend_from_slice(if f.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if f.is_infinite() {
        out.extend_from_slice(if f < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    if f.fract() == 0.0 && f.abs() < 1e14 && f.to_bits() != (-0.0f64).to_bits() {
        // Fast path: whole numbers of at most 14 digits print exactly.
        fmt_int(f as i64, out);
        out.extend_from_slice(b".0");
        return;
    }
    let start = out.len();
    fmt_general(f, out);
    if out[start..]
        .iter()
        .all(|&c| c == b'-' || c.is_ascii_digit())
    {
        out.extend_from_slice(b".0");
    }
}

/// C's `%.14g` for a finite `f`.
fn fmt_general(f: f64, out: &mut Vec<u8>) {
    let (negative, digits, exp) = decimal_digits(f, out);
    if negative {
        out.push(b'-');
    }
    // %g keeps only significant digits: trailing zeros go.
    let sig = digits.len() - digits.iter().rev().take_while(|&&d| d == b'0').count();
    let digits = &digits[..sig.max(1)];
    if exp < -4 || exp >= FLOAT_DIGITS as i32 {
        push_scientific(digits, exp, out);
    } else {
        push_fixed(digits, exp, out);
    }
}

/// `f` rounded to [`FLOAT_DIGITS`] significant digits (ties to even, as
/// glibc): its sign, digits and decimal exponent (`d.ddd * 10^exp`).
/// `out` serves as scratch space and is left as it was.
fn decimal_digits(f: f64, out: &mut Vec<u8>) -> (bool, [u8; FLOAT_DIGITS], i32) {
    let start = out.len();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{:.*e}", FLOAT_DIGITS - 1, f);
    let text = &out[start..];
    let mut digits = [b'0'; FLOAT_DIGITS];
    for (slot, &d) in digits
        .iter_mut()
        .zip(text.iter().filter(|c| c.is_ascii_digit()))
    {
        *slot = d;
    }
    let e_pos = text.iter().position(|&c| c == b'e').unwrap_or(text.len());
    let exp = std::str::from_utf8(&text[e_pos + 1..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let negative = text.first() == Some(&b'-');
    out.truncate(start);
    (negative, digits, exp)
}

/// `d[.ddd]e±XX` with at least two exponent digits, as C prints it.
fn push_scientific(digits: &[u8], exp: i32, out: &mut Vec<u8>) {
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    out.push(if exp < 0 { b'-' } else { b'+' });
    let magnitude = exp.unsigned_abs();
    if magnitude < 10 {
        out.push(b'0');
    }
    let _ = write!(out, "{magnitude}");
}

/// Positional notation for `-4 <= exp < FLOAT_DIGITS`.
fn push_fixed(digits: &[u8], exp: i32, out: &mut Vec<u8>) {
    if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
    } else {
        out.extend_from_slice(&digits[..int_len]);
        out.push(b'.');
        out.extend_from_slice(&digits[int_len..]);
    }
}

/// Appends the decimal form of an integer (`LUA_INTEGER_FMT`, `%lld`).
///
/// # Examples
/// ```
/// use vm_core::number::fmt_int;
/// let mut out = Vec::new();
/// fmt_int(i64::MIN, &mut out);
/// assert_eq!(out, b"-9223372036854775808");
/// ```
pub fn fmt_int(i: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut magnitude = i.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[pos..]);
}

// ---------------------------------------------------------------------------
// Integer/float comparisons (`LTintfloat` and friends)
// ---------------------------------------------------------------------------

/// True when converting `i` to a float is exact (`l_intfitsf`), so a plain
/// float comparison is exact too.
fn fits_float(i: i64) -> bool {
    const MANTISSA_LIMIT: u64 = 1 << 53;
    i.unsigned_abs() <= MANTISSA_LIMIT
}

/// `i == f` without precision loss.
///
/// # Examples
/// ```
/// use vm_core::number::int_eq_float;
/// assert!(int_eq_float(3, 3.0));
/// assert!(!int_eq_float(i64::MAX, 2f64.powi(63)));
/// ```
pub fn int_eq_float(i: i64, f: f64) -> bool {
    float_to_int_exact(f) == Some(i)
}

/// `i < f` without precision loss.
///
/// # Examples
/// ```
/// use vm_core::number::int_lt_float;
/// assert!(int_lt_float(i64::MAX, 2f64.powi(63)));
/// assert!(!int_lt_float(0, f64::NAN));
/// ```
pub fn int_lt_float(i: i64, f: f64) -> bool {
    if fits_float(i) {
        return (i as f64) < f;
    }
    // i < f  <=>  i < ceil(f); out of range, f is beyond every integer.
    match float_ceil_to_int(f) {
        Some(c) => i < c,
        None => f > 0.0,
    }
}

/// `i <= f` without precision loss.
///
/// # Examples
/// ```
/// use vm_core::number::int_le_float;
/// assert!(int_le_float(i64::MIN, -2f64.powi(63)));
/// ```
pub fn int_le_float(i: i64, f: f64) -> bool {
    if fits_float(i) {
        return (i as f64) <= f;
    }
    // i <= f  <=>  i <= floor(f)
    match float_floor_to_int(f) {
        Some(c) => i <= c,
        None => f > 0.0,
    }
}

/// `f < i` without precision loss.
///
/// # Examples
/// ```
/// use vm_core::number::float_lt_int;
/// assert!(float_lt_int(-2f64.powi(63), i64::MIN + 1));
/// ```
pub fn float_lt_int(f: f64, i: i64) -> bool {
    if fits_float(i) {
        return f < i as f64;
    }
    // f < i  <=>  floor(f) < i
    match float_floor_to_int(f) {
        Some(c) => c < i,
        None => f < 0.0,
    }
}

/// `f <= i` without precision loss.
///
/// # Examples
/// ```
/// use vm_core::number::float_le_int;
/// assert!(!float_le_int(2f64.powi(63), i64::MAX));
/// ```
pub fn float_le_int(f: f64, i: i64) -> bool {
    if fits_float(i) {
        return f <= i as f64;
    }
    // f <= i  <=>  ceil(f) <= i
    match float_ceil_to_int(f) {
        Some(c) => c <= i,
        None => f < 0.0,
    }
}

// ---------------------------------------------------------------------------
// Float to integer conversions (`luaV_flttointns`)
// ---------------------------------------------------------------------------

/// The integer equal to `f`, if `f` has an exact integer value in range
/// (`luaV_flttointns` with `F2Ieq`).
///
/// # Examples
/// ```
/// use vm_core::number::float_to_int_exact;
/// assert_eq!(float_to_int_exact(-2f64.powi(63)), Some(i64::MIN));
/// assert_eq!(float_to_int_exact(2f64.powi(63)), None);
/// assert_eq!(float_to_int_exact(0.5), None);
/// ```
pub fn float_to_int_exact(f: f64) -> Option<i64> {
    if f.floor() == f {
        in_range_to_int(f)
    } else {
        None
    }
}

/// `floor(f)` as an integer, if in range (`F2Ifloor`).
///
/// # Examples
/// ```
/// use vm_core::number::float_floor_to_int;
/// assert_eq!(float_floor_to_int(-0.5), Some(-1));
/// assert_eq!(float_floor_to_int(f64::NAN), None);
/// ```
pub fn float_floor_to_int(f: f64) -> Option<i64> {
    in_range_to_int(f.floor())
}

/// `ceil(f)` as an integer, if in range (`F2Iceil`).
///
/// # Examples
/// ```
/// use vm_core::number::float_ceil_to_int;
/// assert_eq!(float_ceil_to_int(-0.5), Some(0));
/// assert_eq!(float_ceil_to_int(1e300), None);
/// ```
pub fn float_ceil_to_int(f: f64) -> Option<i64> {
    in_range_to_int(f.ceil())
}

/// `lua_numbertointeger` for an integral float: exact in `[-2^63, 2^63)`.
fn in_range_to_int(f: f64) -> Option<i64> {
    (-TWO_POW_63..TWO_POW_63).contains(&f).then_some(f as i64)
}

/// The integer value of `v`: an integer, or a float with an exact integer
/// value (`luaV_tointegerns` with `F2Ieq`; strings are not converted).
///
/// # Examples
/// ```
/// use vm_core::{number::tointeger, Value};
/// assert_eq!(tointeger(Value::Num(4.0)), Some(4));
/// assert_eq!(tointeger(Value::Num(4.5)), None);
/// assert_eq!(tointeger(Value::Bool(true)), None);
/// ```
pub fn tointeger(v: Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i),
        Value::Num(f) => float_to_int_exact(f),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Arithmetic (`luaO_rawarith`, `luaV_idiv`, `luaV_mod`, `luaV_shiftl`)
// ---------------------------------------------------------------------------

/// Integer floor division `a // b` (`luaV_idiv`); `mininteger // -1` wraps.
/// `b` must not be 0: callers raise "attempt to divide by zero" first
/// ([`arith`] reports [`ArithError::DivByZero`]); a zero `b` gives 0.
///
/// # Examples
/// ```
/// use vm_core::number::int_idiv;
/// assert_eq!(int_idiv(-7, 2), -4);
/// assert_eq!(int_idiv(i64::MIN, -1), i64::MIN);
/// ```
pub fn int_idiv(a: i64, b: i64) -> i64 {
    match b {
        0 => 0,
        -1 => a.wrapping_neg(),
        _ => {
            let q = a / b;
            // Truncation rounded toward zero: step down when the exact
            // quotient is negative and not whole.
            if (a % b != 0) && ((a < 0) != (b < 0)) {
                q - 1
            } else {
                q
            }
        }
    }
}

/// Integer modulo `a % b` with the sign of `b` (`luaV_mod`). `b` must not be
/// 0: callers raise "attempt to perform 'n%0'" first ([`arith`] reports
/// [`ArithError::ModByZero`]); a zero `b` gives 0.
///
/// # Examples
/// ```
/// use vm_core::number::int_mod;
/// assert_eq!(int_mod(-7, 3), 2);
/// assert_eq!(int_mod(7, -3), -2);
/// ```
pub fn int_mod(a: i64, b: i64) -> i64 {
    match b {
        0 | -1 => 0,
        _ => {
            let r = a % b;
            if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            }
        }
    }
}

/// Float modulo as Lua's `luai_nummod`: C's `fmod`, moved to the sign of
/// `b` when the two differ.
///
/// # Examples
/// ```
/// use vm_core::number::float_mod;
/// assert_eq!(float_mod(-5.5, 2.0), 0.5);
/// assert_eq!(float_mod(1.0, f64::NEG_INFINITY), f64::NEG_INFINITY);
/// ```
pub fn float_mod(a: f64, b: f64) -> f64 {
    // Rust's `%` on floats is C's `fmod` (sign of `a`, exact).
    let m = a % b;
    if (m > 0.0 && b < 0.0) || (m < 0.0 && b > 0.0) {
        m + b
    } else {
        m
    }
}

/// Float floor division `floor(a / b)` (`luai_numidiv`).
///
/// # Examples
/// ```
/// use vm_core::number::float_idiv;
/// assert_eq!(float_idiv(-7.0, 2.0), -4.0);
/// ```
pub fn float_idiv(a: f64, b: f64) -> f64 {
    (a / b).floor()
}

/// `a ^ b` as `luai_numpow`: C's `pow`, with squaring done by multiplying.
fn float_pow(a: f64, b: f64) -> f64 {
    if b == 2.0 {
        a * a
    } else {
        a.powf(b)
    }
}

/// `a << b` as Lua's `luaV_shiftl` (negative `b` shifts right; shifts of 64
/// or more give 0; logical, not arithmetic, right shift).
///
/// # Examples
/// ```
/// use vm_core::number::shift_left;
/// assert_eq!(shift_left(1, 63), i64::MIN);
/// assert_eq!(shift_left(-1, -1), i64::MAX);
/// assert_eq!(shift_left(1, 64), 0);
/// ```
pub fn shift_left(a: i64, b: i64) -> i64 {
    let bits = a as u64;
    let shifted = if b < 0 {
        b.checked_neg()
            .and_then(|n| u32::try_from(n).ok())
            .and_then(|n| bits.checked_shr(n))
    } else {
        u32::try_from(b).ok().and_then(|n| bits.checked_shl(n))
    };
    shifted.unwrap_or(0) as i64
}

/// Arithmetic and bitwise operators, in `LUA_OP*` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `%` (floor modulo)
    Mod,
    /// `^` (always a float)
    Pow,
    /// `/` (always a float)
    Div,
    /// `//` (floor division)
    IDiv,
    /// `&`
    BAnd,
    /// `|`
    BOr,
    /// binary `~`
    BXor,
    /// `<<`
    Shl,
    /// `>>` (logical)
    Shr,
    /// unary `-`
    Unm,
    /// unary `~`
    BNot,
}

/// Why an arithmetic operation on numbers failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithError {
    /// Integer `//` by zero: "attempt to divide by zero".
    DivByZero,
    /// Integer `%` by zero: "attempt to perform 'n%0'" (C's `'n%%0'`).
    ModByZero,
    /// A bitwise operand is a float without an exact integer value:
    /// "number has no integer representation".
    NoIntegerRep,
}

impl ArithError {
    /// The error message PUC Lua 5.4 raises (before position information).
    ///
    /// # Examples
    /// ```
    /// use vm_core::number::ArithError;
    /// assert_eq!(ArithError::ModByZero.message(), "attempt to perform 'n%0'");
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            ArithError::DivByZero => "attempt to divide by zero",
            ArithError::ModByZero => "attempt to perform 'n%0'",
            ArithError::NoIntegerRep => "number has no integer representation",
        }
    }
}

impl std::fmt::Display for ArithError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ArithError {}

/// A number operand, split by subtype.
#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn of(v: Value) -> Option<Number> {
        match v {
            Value::Int(i) => Some(Number::Int(i)),
            Value::Num(f) => Some(Number::Float(f)),
            _ => None,
        }
    }

    fn to_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    fn to_exact_int(self) -> Result<i64, ArithError> {
        match self {
            Number::Int(i) => Ok(i),
            Number::Float(f) => float_to_int_exact(f).ok_or(ArithError::NoIntegerRep),
        }
    }
}

/// `a op b` for two numbers (`Value::Int`/`Value::Num` only; for unary ops
/// `b` is ignored), exactly as `luaO_rawarith`: integer ops stay integers
/// with wrapping (`Add`, `Sub`, `Mul`, `IDiv`, `Mod`, `Unm` and the bitwise
/// ops), `/` and `^` always give floats, mixed operands convert the integer
/// to float, bitwise ops convert floats with exact integer values.
/// Returns `None` if an operand is not a number.
///
/// # Errors
/// Integer `//` or `%` by zero, and bitwise operands without an integer
/// value, give an [`ArithError`].
///
/// # Examples
/// ```
/// use vm_core::number::{arith, ArithError, ArithOp};
/// use vm_core::Value;
/// assert!(matches!(arith(ArithOp::Add, Value::Int(i64::MAX), Value::Int(1)),
///                  Some(Ok(Value::Int(i64::MIN)))));
/// assert!(matches!(arith(ArithOp::Div, Value::Int(1), Value::Int(2)),
///                  Some(Ok(Value::Num(f))) if f == 0.5));
/// assert!(matches!(arith(ArithOp::IDiv, Value::Int(1), Value::Int(0)),
///                  Some(Err(ArithError::DivByZero))));
/// assert!(arith(ArithOp::Unm, Value::Nil, Value::Int(0)).is_none());
/// ```
pub fn arith(op: ArithOp, a: Value, b: Value) -> Option<Result<Value, ArithError>> {
    let x = Number::of(a)?;
    // Unary operators see their operand twice, as in `luaO_rawarith`.
    let y = if matches!(op, ArithOp::Unm | ArithOp::BNot) {
        x
    } else {
        Number::of(b)?
    };
    Some(arith_numbers(op, x, y))
}

fn arith_numbers(op: ArithOp, x: Number, y: Number) -> Result<Value, ArithError> {
    use ArithOp::*;
    use Number::Int;
    let float = |f: fn(f64, f64) -> f64| Ok(Value::Num(f(x.to_f64(), y.to_f64())));
    let bitwise = |f: fn(i64, i64) -> i64| Ok(Value::Int(f(x.to_exact_int()?, y.to_exact_int()?)));
    match (op, x, y) {
        (Add, Int(i), Int(j)) => Ok(Value::Int(i.wrapping_add(j))),
        (Sub, Int(i), Int(j)) => Ok(Value::Int(i.wrapping_sub(j))),
        (Mul, Int(i), Int(j)) => Ok(Value::Int(i.wrapping_mul(j))),
        (Mod, Int(_), Int(0)) => Err(ArithError::ModByZero),
        (Mod, Int(i), Int(j)) => Ok(Value::Int(int_mod(i, j))),
        (IDiv, Int(_), Int(0)) => Err(ArithError::DivByZero),
        (IDiv, Int(i), Int(j)) => Ok(Value::Int(int_idiv(i, j))),
        (Unm, Int(i), _) => Ok(Value::Int(i.wrapping_neg())),
        (Add, ..) => float(|a, b| a + b),
        (Sub, ..) => float(|a, b| a - b),
        (Mul, ..) => float(|a, b| a * b),
        (Mod, ..) => float(float_mod),
        (Pow, ..) => float(float_pow),
        (Div, ..) => float(|a, b| a / b),
        (IDiv, ..) => float(float_idiv),
        (Unm, ..) => float(|a, _| -a),
        (BAnd, ..) => bitwise(|i, j| i & j),
        (BOr, ..) => bitwise(|i, j| i | j),
        (BXor, ..) => bitwise(|i, j| i ^ j),
        (Shl, ..) => bitwise(shift_left),
        (Shr, ..) => bitwise(|i, j| shift_left(i, j.wrapping_neg())),
        (BNot, ..) => bitwise(|i, _| !i),
    }
}
