//! `string.format` (`lstrlib.c`'s `str_format`).
//!
//! PUC Lua hands each conversion to C's `snprintf`; the output here is
//! glibc's, byte for byte, without libc. Floats are printed from their
//! exact decimal expansion (a double is a dyadic rational, so it has a
//! finite one), rounded half to even on the digits as glibc rounds, and
//! `%a` is built from the bits. Specifications are validated exactly as
//! Lua 5.4.4 does (`getformat`, `checkformat`), which also bounds widths
//! and precisions to two digits: no format can ask for a large buffer.

use std::ops::Range;

use vm_core::number::fmt_int;
use vm_core::Tm;
use vm_core::{Args, LuaResult, Meta, Status, Step, Value, Vm};

use super::cost::charge_bytes;
use super::FORMAT_K;
use crate::resumable::{int_at, pause, set_int, PhaseLog};

/// `MAX_FORMAT` in `lstrlib.c`: a specification (flags, width, precision
/// and conversion) must be shorter than `MAX_FORMAT - 10` characters.
const MAX_FORMAT: usize = 32;

/// Characters `getformat` spans before the conversion character.
const SPEC_CHARS: &[u8] = b"-+#0 123456789.";

/// Flags accepted by each family of conversions (`L_FMTFLAGS*`).
const FLAGS_FLOAT: &[u8] = b"-+#0 ";
const FLAGS_HEX: &[u8] = b"-#0";
const FLAGS_INT: &[u8] = b"-+0 ";
const FLAGS_UNSIGNED: &[u8] = b"-0";
const FLAGS_CHAR: &[u8] = b"-";

/// `%s` without a precision copies strings this long unformatted (a width
/// of at most 99 cannot pad them).
const LONG_STRING: usize = 100;

pub(super) fn format(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let fmt = vm.check_string(args, 1)?;
    // A copy: converting arguments needs `vm` mutably. Paid first, so
    // that a format failing late (a bad conversion at its end) has paid
    // for what it went through.
    let fmt = copy_format(vm, fmt)?;
    let mut out = Vec::with_capacity(fmt.len());
    match format_from(vm, args, &fmt, 0, 1, &mut out)? {
        None => format_done(vm, out),
        Some((i, arg)) => {
            // A `__tostring` to call: the state moves to the frame.
            let buf = crate::auxlib::new_buffer(vm, out);
            vm.push(buf);
            vm.push(Value::Int(i as i64));
            vm.push(Value::Int(arg as i64));
            format_run(vm, args)
        }
    }
}

// Once `format` must call a `__tostring`, its frame holds, above the
// arguments: the result so far (a userdata holding a `Vec<u8>`), the
// format position just past the `%` of the pending `%s`, and that
// conversion's argument; then the phase log with the handler's answer.
const FMT_BUF: usize = 0;
const FMT_POS: usize = 1;
const FMT_ARG: usize = 2;
const FMT_LOG: usize = 3;

pub(super) fn format_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, args.len() + FMT_LOG, ctx);
    format_run(vm, args)
}

/// The suspendable part of `format`: each phase converts a pending `%s`
/// argument through its `__tostring` (requested with `Vm::callk`, so it
/// runs under the budget and may yield), then formats on to the next one.
fn format_run(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let n = args.len();
    loop {
        let (i, arg) = (int_at(vm, args, n + FMT_POS), int_at(vm, args, n + FMT_ARG));
        let (i, arg) = (i as usize, arg as usize);
        let mut log = PhaseLog::open(args, n + FMT_LOG);
        let Some(s) = log.tostring(vm, vm.arg(args, arg))? else {
            return Ok(log.request(vm, &FORMAT_K));
        };
        let fmt = vm.check_string(args, 1)?;
        let fmt = copy_format(vm, fmt)?;
        let buf = vm.frame_get(args, n + FMT_BUF);
        let mut out = vm
            .userdata_mut::<Vec<u8>>(buf)
            .map(std::mem::take)
            .unwrap_or_default();
        let (form, next) = spec_at(vm, &fmt, i)?;
        add_string(vm, arg, &fmt[form], s, &mut out)?;
        match format_from(vm, args, &fmt, next, arg, &mut out)? {
            None => return format_done(vm, out),
            Some((i, arg)) => {
                crate::auxlib::put_buffer(vm, buf, out);
                set_int(vm, args, n + FMT_POS, i as i64);
                set_int(vm, args, n + FMT_ARG, arg as i64);
                if log.commit(vm)? {
                    return Ok(pause(vm, &FORMAT_K));
                }
            }
        }
    }
}

/// The format string's bytes, copied and paid for.
fn copy_format(vm: &mut Vm, fmt: Value) -> LuaResult<Vec<u8>> {
    vm.charge_scan(fmt)?;
    Ok(vm.str_bytes(fmt).unwrap_or_default().to_vec())
}

/// The result: charged for its bytes, then pushed.
fn format_done(vm: &mut Vm, out: Vec<u8>) -> LuaResult<Step> {
    charge_bytes(vm, out.len())?;
    crate::auxlib::return_string(vm, out)
}

/// Formats `fmt` from byte `i`, `arg` being the last argument consumed,
/// appending to `out`. Stops before a `%s` whose argument has a
/// `__tostring`, answering the position just past its `%` and its
/// argument.
fn format_from(
    vm: &mut Vm,
    args: Args,
    fmt: &[u8],
    mut i: usize,
    mut arg: usize,
    out: &mut Vec<u8>,
) -> LuaResult<Option<(usize, usize)>> {
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        if fmt.get(i) == Some(&b'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        arg += 1;
        if arg > args.len() {
            return Err(vm.arg_error(arg, "no value"));
        }
        let (form, next) = spec_at(vm, fmt, i)?;
        let form = &fmt[form];
        if form.last() == Some(&b's') && form.len() > 1 {
            let v = vm.arg(args, arg);
            // Strings too: `luaL_tolstring` honours a `__tostring` in the
            // string metatable.
            if !vm.metamethod(v, Tm::ToString).is_nil() {
                return Ok(Some((i, arg)));
            }
        }
        i = next;
        conversion(vm, args, arg, form, out)?;
        // The result so far must fit (each item is bounded by its
        // argument or its width).
        vm.reserve_memory(out.capacity())?;
    }
    Ok(None)
}

/// The specification starting at the `%` just before `fmt[i]` (`%`, the
/// spanned characters and the conversion, absent at the end of the
/// string, where C sees the terminating NUL), and the position after it.
fn spec_at(vm: &mut Vm, fmt: &[u8], i: usize) -> LuaResult<(Range<usize>, usize)> {
    let span = fmt[i..]
        .iter()
        .take_while(|c| SPEC_CHARS.contains(c))
        .count();
    if span + 1 >= MAX_FORMAT - 10 {
        return Err(vm.error("invalid format (too long)"));
    }
    let end = (i + span + 1).min(fmt.len());
    Ok((i - 1..end, i + span + 1))
}

/// Formats argument `arg` by `form` (`%`, flags, width, precision and the
/// conversion character), appending to `out`. Arguments are checked
/// before or after the specification as `str_format` does, so that the
/// same error wins.
fn conversion(
    vm: &mut Vm,
    args: Args,
    arg: usize,
    form: &[u8],
    out: &mut Vec<u8>,
) -> LuaResult<()> {
    let conv = form.get(1..).and_then(|s| s.last()).copied().unwrap_or(0);
    match conv {
        b'c' => {
            let spec = check_spec(vm, form, FLAGS_CHAR, false)?;
            // C converts to `int`, then `%c` to `unsigned char`.
            let byte = vm.check_integer(args, arg)? as u8;
            pad(out, &spec, b"", &[byte], false);
        }
        b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
            let n = vm.check_integer(args, arg)?;
            let flags = match conv {
                b'd' | b'i' => FLAGS_INT,
                b'u' => FLAGS_UNSIGNED,
                _ => FLAGS_HEX,
            };
            let spec = check_spec(vm, form, flags, true)?;
            format_int(out, &spec, n);
        }
        b'a' | b'A' => {
            let spec = check_spec(vm, form, FLAGS_FLOAT, true)?;
            let f = vm.check_float(args, arg)?;
            format_float(out, &spec, f);
        }
        b'f' | b'e' | b'E' | b'g' | b'G' => {
            let f = vm.check_float(args, arg)?;
            let spec = check_spec(vm, form, FLAGS_FLOAT, true)?;
            format_float(out, &spec, f);
        }
        b'p' => {
            let v = vm.arg(args, arg);
            let spec = check_spec(vm, form, FLAGS_CHAR, false)?;
            // `lua_topointer`: only objects have addresses; PUC prints
            // NULL as the string "(null)".
            let text = match v {
                Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Num(_) => "(null)".to_string(),
                _ => vm.address(v),
            };
            pad(out, &spec, b"", text.as_bytes(), false);
        }
        b'q' => {
            if form.len() > 2 {
                return Err(vm.error("specifier '%q' cannot have modifiers"));
            }
            add_literal(vm, args, arg, out)?;
        }
        b's' => {
            // No `__tostring` here: `format_from` stops before those.
            let s = match vm.tostring_k(vm.arg(args, arg))? {
                Meta::Done(s) => s,
                Meta::Call(_) => unreachable!("__tostring is called by format_run"),
            };
            add_string(vm, arg, form, s, out)?;
        }
        _ => {
            // C prints the specification up to a NUL.
            let shown = form.split(|&c| c == 0).next().unwrap_or_default();
            let msg = [b"invalid conversion '", shown, b"' to 'format'"].concat();
            return Err(vm.error_bytes(&msg));
        }
    }
    Ok(())
}

/// `%s` of argument `arg`, whose string is `s`.
fn add_string(vm: &mut Vm, arg: usize, form: &[u8], s: Value, out: &mut Vec<u8>) -> LuaResult<()> {
    if form.len() == 2 {
        return crate::auxlib::add_string(vm, out, s);
    }
    // C's `%s` stops at a NUL: refuse rather than truncate (a scan of the
    // whole string, paid for whatever the precision keeps).
    crate::string::cost::charge_bytes(vm, vm.str_bytes(s).map_or(0, <[u8]>::len))?;
    if vm.str_bytes(s).unwrap_or_default().contains(&0) {
        return Err(vm.arg_error(arg, "string contains zeros"));
    }
    let spec = check_spec(vm, form, FLAGS_CHAR, true)?;
    let len = vm.str_bytes(s).map_or(0, <[u8]>::len);
    if spec.precision.is_none() && len >= LONG_STRING {
        return crate::auxlib::add_string(vm, out, s);
    }
    let bytes = vm.str_bytes(s).unwrap_or_default();
    match spec.precision {
        None => pad(out, &spec, b"", bytes, false),
        Some(p) => pad(out, &spec, b"", &bytes[..p.min(bytes.len())], false),
    }
    Ok(())
}

/// A validated conversion specification.
#[derive(Clone, Copy, Debug, Default)]
struct Spec {
    /// `-`: left-justify.
    left: bool,
    /// `+`: always print a sign.
    plus: bool,
    /// ` `: a space where a plus sign would go.
    space: bool,
    /// `#`: the alternative form.
    alt: bool,
    /// `0`: pad with zeros after the sign and prefix.
    zero: bool,
    /// Minimum field width (at most 99).
    width: usize,
    /// Precision (at most 99), if given; `.` alone means 0.
    precision: Option<usize>,
    /// The conversion character.
    conv: u8,
}

/// `checkformat`: `form` must be `%`, any of `flags`, a width of at most
/// two digits (not starting with `0`), then, when `precision` is allowed,
/// an optional `.` with at most two digits, then the conversion letter.
fn check_spec(vm: &mut Vm, form: &[u8], flags: &[u8], precision: bool) -> LuaResult<Spec> {
    match parse_spec(form, flags, precision) {
        Some(spec) => Ok(spec),
        None => {
            let msg = [b"invalid conversion specification: '", form, b"'"].concat();
            Err(vm.error_bytes(&msg))
        }
    }
}

fn parse_spec(form: &[u8], flags: &[u8], precision: bool) -> Option<Spec> {
    let mut spec = Spec::default();
    let mut rest = form.get(1..)?;
    while let Some((&c, tail)) = rest.split_first() {
        if !flags.contains(&c) {
            break;
        }
        match c {
            b'-' => spec.left = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.alt = true,
            _ => spec.zero = true,
        }
        rest = tail;
    }
    if rest.first() != Some(&b'0') {
        let (width, tail) = two_digits(rest);
        spec.width = width;
        rest = tail;
        if precision && rest.first() == Some(&b'.') {
            let (p, tail) = two_digits(&rest[1..]);
            spec.precision = Some(p);
            rest = tail;
        }
    }
    match rest {
        [c] if c.is_ascii_alphabetic() => {
            spec.conv = *c;
            Some(spec)
        }
        _ => None,
    }
}

/// `get2digits`: up to two leading decimal digits and what follows them.
fn two_digits(s: &[u8]) -> (usize, &[u8]) {
    let n = s.iter().take(2).take_while(|c| c.is_ascii_digit()).count();
    let value = s[..n]
        .iter()
        .fold(0, |acc, &d| acc * 10 + usize::from(d - b'0'));
    (value, &s[n..])
}

/// Appends `prefix` (sign, `0x`) and `body` padded to the field width:
/// spaces on the right with `-`, zeros between prefix and body with `0`
/// when `zero_ok`, spaces on the left otherwise.
fn pad(out: &mut Vec<u8>, spec: &Spec, prefix: &[u8], body: &[u8], zero_ok: bool) {
    let fill = spec.width.saturating_sub(prefix.len() + body.len());
    if spec.left {
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if spec.zero && zero_ok {
        out.extend_from_slice(prefix);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(body);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
    }
}

/// The sign C prints before a number: `-`, or `+`/` ` when asked for.
fn sign(spec: &Spec, negative: bool) -> &'static [u8] {
    if negative {
        b"-"
    } else if spec.plus {
        b"+"
    } else if spec.space {
        b" "
    } else {
        b""
    }
}

/// `%d %i %u %o %x %X` of a Lua integer (`%lld` and friends: the
/// unsigned conversions see its two's complement bits).
fn format_int(out: &mut Vec<u8>, spec: &Spec, n: i64) {
    let signed = matches!(spec.conv, b'd' | b'i');
    let magnitude = if signed { n.unsigned_abs() } else { n as u64 };
    let mut digits = match spec.conv {
        b'o' => format!("{magnitude:o}"),
        b'x' => format!("{magnitude:x}"),
        b'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    }
    .into_bytes();
    // An explicit precision of 0 prints no digits for 0.
    if magnitude == 0 && spec.precision == Some(0) {
        digits.clear();
    }
    if let Some(p) = spec.precision {
        if digits.len() < p {
            digits.splice(0..0, std::iter::repeat_n(b'0', p - digits.len()));
        }
    }
    let prefix: &[u8] = match spec.conv {
        // `#o` makes the first digit a 0.
        b'o' if spec.alt && digits.first() != Some(&b'0') => {
            digits.insert(0, b'0');
            b""
        }
        b'x' if spec.alt && magnitude != 0 => b"0x",
        b'X' if spec.alt && magnitude != 0 => b"0X",
        _ if signed => sign(spec, n < 0),
        _ => b"",
    };
    pad(out, spec, prefix, &digits, spec.precision.is_none());
}

/// `%a %A %e %E %f %g %G` of a float.
fn format_float(out: &mut Vec<u8>, spec: &Spec, f: f64) {
    let upper = spec.conv.is_ascii_uppercase();
    let mut prefix = sign(spec, f.is_sign_negative()).to_vec();
    if !f.is_finite() {
        // glibc: `inf`/`nan` (a NaN's sign shows), padded with spaces.
        let word: &[u8] = match (f.is_nan(), upper) {
            (true, false) => b"nan",
            (true, true) => b"NAN",
            (false, false) => b"inf",
            (false, true) => b"INF",
        };
        pad(out, spec, &prefix, word, false);
        return;
    }
    let body = match spec.conv {
        b'a' | b'A' => {
            prefix.extend_from_slice(if upper { b"0X" } else { b"0x" });
            hex_float(f.abs(), spec.precision, spec.alt, upper)
        }
        b'e' | b'E' => {
            let x = Exact::of(f.abs());
            scientific(&x, spec.precision.unwrap_or(6), spec.alt, upper)
        }
        b'f' => fixed(&Exact::of(f.abs()), spec.precision.unwrap_or(6), spec.alt),
        _ => general(&Exact::of(f.abs()), spec.precision, spec.alt, upper),
    };
    pad(out, spec, &prefix, &body, true);
}

/// `%a` of a finite non-negative `f` after the `0x` prefix: the leading
/// digit (1 for normal numbers, 0 for zero and subnormals, 2 when rounding
/// carries into it), the hex fraction (all 13 digits less trailing zeros
/// without a precision; rounded half to even with one) and `p±exp`.
fn hex_float(f: f64, precision: Option<usize>, alt: bool, upper: bool) -> Vec<u8> {
    const FRACTION_BITS: u32 = 52;
    const FRACTION_DIGITS: usize = 13;
    let bits = f.to_bits();
    let biased = (bits >> FRACTION_BITS) as i64;
    let fraction = bits & ((1 << FRACTION_BITS) - 1);
    let (mut mantissa, exp) = match (biased, fraction) {
        (0, 0) => (0, 0),
        (0, _) => (fraction, -1022),
        _ => (fraction | 1 << FRACTION_BITS, biased - 1023),
    };
    let digits = match precision {
        Some(p) if p < FRACTION_DIGITS => {
            // Round to `p` hex digits, ties to the even last kept bit.
            let shift = 4 * (FRACTION_DIGITS - p) as u32;
            let half = 1u64 << (shift - 1);
            let rest = mantissa & ((1 << shift) - 1);
            mantissa >>= shift;
            if rest > half || (rest == half && mantissa & 1 == 1) {
                mantissa += 1;
            }
            mantissa <<= shift;
            p
        }
        Some(p) => p,
        None => {
            let fraction = mantissa & ((1 << FRACTION_BITS) - 1);
            FRACTION_DIGITS - (fraction.trailing_zeros().min(FRACTION_BITS) / 4) as usize
        }
    };
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut body = vec![hex[(mantissa >> FRACTION_BITS) as usize]];
    if digits > 0 || alt {
        body.push(b'.');
    }
    for k in 0..digits {
        let digit = if k < FRACTION_DIGITS {
            (mantissa >> (FRACTION_BITS - 4 * (k as u32 + 1))) & 0xf
        } else {
            0
        };
        body.push(hex[digit as usize]);
    }
    body.push(if upper { b'P' } else { b'p' });
    body.extend_from_slice(format!("{exp:+}").as_bytes());
    body
}

/// The exact decimal value of a finite non-negative float: the integer
/// `digits` (ASCII, no leading zeros; `"0"` for zero) times `10^scale`.
struct Exact {
    digits: Vec<u8>,
    scale: i32,
}

impl Exact {
    /// `f = m * 2^e`; for `e < 0` that is `m * 5^-e / 10^-e`, an integer
    /// times a power of ten. At most 767 significant digits.
    fn of(f: f64) -> Exact {
        let bits = f.to_bits();
        let biased = (bits >> 52) as i32;
        let fraction = bits & ((1 << 52) - 1);
        let (mut m, mut e) = match biased {
            0 => (fraction, -1074),
            _ => (fraction | 1 << 52, biased - 1075),
        };
        if m == 0 {
            return Exact {
                digits: b"0".to_vec(),
                scale: 0,
            };
        }
        let zeros = m.trailing_zeros();
        m >>= zeros;
        e += zeros as i32;
        let mut n = BigUint::from(m);
        if e >= 0 {
            n.shl(e as u32);
            Exact {
                digits: n.into_decimal(),
                scale: 0,
            }
        } else {
            n.mul_pow5(e.unsigned_abs());
            Exact {
                digits: n.into_decimal(),
                scale: e,
            }
        }
    }

    /// Decimal exponent of the leading digit (0 for zero).
    fn exponent(&self) -> i32 {
        self.digits.len() as i32 - 1 + self.scale
    }

    /// The digits of `round(value / 10^unit)`, rounded half to even as
    /// glibc does; `"0"` or more digits, no leading zeros except `"0"`.
    fn round_at(&self, unit: i32) -> Vec<u8> {
        let drop = i64::from(unit) - i64::from(self.scale);
        if drop <= 0 {
            let mut d = self.digits.clone();
            d.extend(std::iter::repeat_n(b'0', drop.unsigned_abs() as usize));
            return d;
        }
        let drop = drop as usize;
        if drop > self.digits.len() {
            // Less than a tenth of the unit.
            return b"0".to_vec();
        }
        let (kept, gone) = self.digits.split_at(self.digits.len() - drop);
        let first = gone[0];
        let odd = kept.last().is_some_and(|&d| (d - b'0') % 2 == 1);
        let up = first > b'5' || (first == b'5' && (odd || gone[1..].iter().any(|&d| d != b'0')));
        let mut r = if kept.is_empty() {
            b"0".to_vec()
        } else {
            kept.to_vec()
        };
        if up {
            increment(&mut r);
        }
        r
    }
}

/// Adds one to a decimal digit string, growing it on a carry out.
fn increment(d: &mut Vec<u8>) {
    for c in d.iter_mut().rev() {
        if *c == b'9' {
            *c = b'0';
        } else {
            *c += 1;
            return;
        }
    }
    d.insert(0, b'1');
}

/// `%.<p>f`.
fn fixed(x: &Exact, p: usize, alt: bool) -> Vec<u8> {
    let mut d = x.round_at(-(p as i32));
    if d.len() <= p {
        d.splice(0..0, std::iter::repeat_n(b'0', p + 1 - d.len()));
    }
    let point = d.len() - p;
    if p > 0 || alt {
        d.insert(point, b'.');
    }
    d
}

/// `%.<p>e`: `p + 1` significant digits and an exponent of at least two
/// digits.
fn scientific(x: &Exact, p: usize, alt: bool, upper: bool) -> Vec<u8> {
    let (mut d, exp) = significant(x, p + 1);
    if p > 0 || alt {
        d.insert(1, b'.');
    }
    d.push(if upper { b'E' } else { b'e' });
    d.push(if exp < 0 { b'-' } else { b'+' });
    if exp.abs() < 10 {
        d.push(b'0');
    }
    d.extend_from_slice(exp.unsigned_abs().to_string().as_bytes());
    d
}

/// `x` rounded to `n` significant digits, and the decimal exponent of the
/// first one (after any carry).
fn significant(x: &Exact, n: usize) -> (Vec<u8>, i32) {
    let mut exp = x.exponent();
    let mut d = x.round_at(exp - (n as i32 - 1));
    if d.len() > n {
        // Rounded up to a power of ten: one more digit, all zeros after 1.
        d.truncate(n);
        exp += 1;
    }
    (d, exp)
}

/// `%g`: `%e` or `%f` by the exponent, as C specifies, without trailing
/// zeros unless `#`.
fn general(x: &Exact, precision: Option<usize>, alt: bool, upper: bool) -> Vec<u8> {
    let p = precision.unwrap_or(6).max(1);
    let (_, exp) = significant(x, p);
    let mut body = if exp == p as i32 && x.exponent() == exp - 1 {
        // glibc quirk: the value was in `%f` range with no fraction digits
        // to spare until rounding carried into a new digit; it switches to
        // `%e` but keeps that count of fraction digits ("%#.3g" of 999.5
        // is "1.e+03").
        scientific(x, 0, alt, upper)
    } else if exp < -4 || exp >= p as i32 {
        scientific(x, p - 1, alt, upper)
    } else {
        fixed(x, (p as i32 - 1 - exp) as usize, alt)
    };
    if !alt {
        strip_zeros(&mut body);
    }
    body
}

/// Removes trailing zeros of the fraction, and the point if nothing is
/// left after it.
fn strip_zeros(body: &mut Vec<u8>) {
    let Some(point) = body.iter().position(|&c| c == b'.') else {
        return;
    };
    let mantissa_end = body[point..]
        .iter()
        .position(|c| c.is_ascii_alphabetic())
        .map_or(body.len(), |k| point + k);
    let mut cut = mantissa_end;
    while body[cut - 1] == b'0' {
        cut -= 1;
    }
    if cut == point + 1 {
        cut = point;
    }
    body.drain(cut..mantissa_end);
}

/// A minimal unsigned big integer (little-endian 32-bit limbs): enough
/// for the exact decimal expansion of a double (at most 1078 bits above,
/// 2548 below one).
struct BigUint(Vec<u32>);

impl From<u64> for BigUint {
    fn from(n: u64) -> BigUint {
        BigUint(vec![n as u32, (n >> 32) as u32])
    }
}

impl BigUint {
    fn mul_small(&mut self, k: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(k) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow5(&mut self, mut k: u32) {
        // 5^13 is the largest power of five in a u32.
        const POW5_13: u32 = 1_220_703_125;
        while k >= 13 {
            self.mul_small(POW5_13);
            k -= 13;
        }
        self.mul_small(5u32.pow(k));
    }

    fn shl(&mut self, bits: u32) {
        let (limbs, bits) = ((bits / 32) as usize, bits % 32);
        if bits > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let v = (*limb << bits) | carry;
                carry = *limb >> (32 - bits);
                *limb = v;
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    /// Decimal digits, by repeated division by 10^9.
    fn into_decimal(mut self) -> Vec<u8> {
        const BILLION: u64 = 1_000_000_000;
        let mut chunks = Vec::new();
        loop {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
            if self.0.is_empty() {
                break;
            }
            let mut rem = 0u64;
            for limb in self.0.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*limb);
                *limb = (v / BILLION) as u32;
                rem = v % BILLION;
            }
            chunks.push(rem as u32);
        }
        let mut out = chunks.pop().unwrap_or(0).to_string().into_bytes();
        for chunk in chunks.iter().rev() {
            out.extend_from_slice(format!("{chunk:09}").as_bytes());
        }
        out
    }
}

/// `%q` (`addliteral`): a Lua literal that reads back as the same value.
fn add_literal(vm: &mut Vm, args: Args, arg: usize, out: &mut Vec<u8>) -> LuaResult<()> {
    match vm.arg(args, arg) {
        v @ Value::Str(_) => add_quoted(out, vm.str_bytes(v).unwrap_or_default()),
        // `-9223372036854775808` would read back as a float.
        Value::Int(i64::MIN) => out.extend_from_slice(b"0x8000000000000000"),
        Value::Int(n) => fmt_int(n, out),
        Value::Num(f) if f == f64::INFINITY => out.extend_from_slice(b"1e9999"),
        Value::Num(f) if f == f64::NEG_INFINITY => out.extend_from_slice(b"-1e9999"),
        Value::Num(f) if f.is_nan() => out.extend_from_slice(b"(0/0)"),
        Value::Num(f) => {
            let spec = Spec {
                conv: b'a',
                ..Spec::default()
            };
            format_float(out, &spec, f);
        }
        Value::Nil => out.extend_from_slice(b"nil"),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        _ => return Err(vm.arg_error(arg, "value has no literal form")),
    }
    Ok(())
}

/// `addquoted`: `"`, `\` and newline escaped with a backslash, other
/// control characters as decimal escapes, three digits wide when a digit
/// follows.
fn add_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for (k, &c) in s.iter().enumerate() {
        match c {
            b'"' | b'\\' | b'\n' => out.extend_from_slice(&[b'\\', c]),
            0..=0x1f | 0x7f => {
                // Written digit by digit: a formatted `String` per byte
                // made a string of control characters 15 times slower.
                let next_is_digit = s.get(k + 1).is_some_and(u8::is_ascii_digit);
                let digits = [b'0' + c / 100, b'0' + c / 10 % 10, b'0' + c % 10];
                let from = match c {
                    _ if next_is_digit => 0,
                    100.. => 0,
                    10.. => 1,
                    _ => 2,
                };
                out.push(b'\\');
                out.extend_from_slice(&digits[from..]);
            }
            _ => out.push(c),
        }
    }
    out.push(b'"');
}
