//! Property test of `string.format`: random C conversion specifications
//! (flags, width, precision; `d i u o x X c e E f g G a A`) applied to
//! random integers and floats agree with a reference formatter written
//! here from the C standard's rules. The reference is independent of the
//! library: decimal digits come from Rust's `{:.*e}`/`{:.*}` formatting
//! (the library expands floats exactly with its own big integers), `%a`
//! from the float's bits with 128-bit arithmetic.

#[path = "support/progen.rs"]
mod progen;
mod support;

use proptest::prelude::*;
use support::vm;
use vm_core::Value;

/// A conversion specification: `%[flags][width][.precision]conv`.
#[derive(Clone, Debug)]
struct Spec {
    flags: String,
    width: Option<usize>,
    precision: Option<usize>,
    conv: char,
}

impl Spec {
    fn text(&self) -> String {
        let mut s = format!("%{}", self.flags);
        if let Some(w) = self.width {
            s += &w.to_string();
        }
        if let Some(p) = self.precision {
            s += &format!(".{p}");
        }
        s.push(self.conv);
        s
    }

    fn has(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
}

/// Flags Lua 5.4.4 accepts for each conversion (`L_FMTFLAGS*`).
fn allowed_flags(conv: char) -> &'static str {
    match conv {
        'd' | 'i' => "-+0 ",
        'u' => "-0",
        'o' | 'x' | 'X' => "-#0",
        'c' => "-",
        _ => "-+#0 ",
    }
}

fn spec(convs: &'static [char]) -> impl Strategy<Value = Spec> {
    (
        prop::sample::select(convs),
        prop::collection::vec(any::<bool>(), 5),
        prop::option::of(1usize..100),
        prop::option::of(0usize..100),
    )
        .prop_map(|(conv, picks, width, precision)| {
            let flags = allowed_flags(conv)
                .chars()
                .zip(picks)
                .filter_map(|(f, on)| on.then_some(f))
                .collect();
            let precision = if conv == 'c' { None } else { precision };
            Spec {
                flags,
                width,
                precision,
                conv,
            }
        })
}

/// Pads `prefix` + `body` to the width as C does: left-justified with
/// `-`, zeros after the prefix with `0` (when `zeros` applies), else
/// spaces before.
fn pad(spec: &Spec, prefix: &str, body: &str, zeros: bool) -> String {
    let len = prefix.len() + body.len();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        return format!("{prefix}{body}");
    }
    let fill = width - len;
    if spec.has('-') {
        format!("{prefix}{body}{}", " ".repeat(fill))
    } else if spec.has('0') && zeros {
        format!("{prefix}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{prefix}{body}", " ".repeat(fill))
    }
}

fn sign(spec: &Spec, negative: bool) -> &'static str {
    match (negative, spec.has('+'), spec.has(' ')) {
        (true, _, _) => "-",
        (false, true, _) => "+",
        (false, false, true) => " ",
        _ => "",
    }
}

/// C's integer conversions of a 64-bit value.
fn ref_int(spec: &Spec, n: i64) -> Vec<u8> {
    if spec.conv == 'c' {
        let mut out = pad(spec, "", "\u{1}", false).into_bytes();
        for b in &mut out {
            if *b == 1 {
                *b = n as u8;
            }
        }
        return out;
    }
    let u = n as u64;
    let mut digits = match spec.conv {
        'd' | 'i' => n.unsigned_abs().to_string(),
        'u' => u.to_string(),
        'o' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        _ => format!("{u:X}"),
    };
    if let Some(p) = spec.precision {
        if p == 0 && n == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let mut prefix = "";
    match spec.conv {
        'd' | 'i' => prefix = sign(spec, n < 0),
        'o' if spec.has('#') && !digits.starts_with('0') => digits.insert(0, '0'),
        'x' if spec.has('#') && n != 0 => prefix = "0x",
        'X' if spec.has('#') && n != 0 => prefix = "0X",
        _ => {}
    }
    pad(spec, prefix, &digits, spec.precision.is_none()).into_bytes()
}

/// Rust's `{:.*e}` split into its digits (without the point) and the
/// decimal exponent.
fn rust_e(x: f64, p: usize) -> (String, i32) {
    let s = format!("{x:.p$e}");
    let (mantissa, exp) = s.split_once('e').expect("Rust's {:e} has an exponent");
    (
        mantissa.replace('.', ""),
        exp.parse().expect("an integer exponent"),
    )
}

fn c_exp(body: &mut String, e: i32, upper: bool) {
    body.push(if upper { 'E' } else { 'e' });
    body.push(if e < 0 { '-' } else { '+' });
    body.push_str(&format!("{:02}", e.unsigned_abs()));
}

fn ref_e(x: f64, p: usize, alt: bool, upper: bool) -> String {
    let (digits, e) = rust_e(x, p);
    let mut body = digits[..1].to_string();
    if p > 0 || alt {
        body.push('.');
    }
    body.push_str(&digits[1..]);
    c_exp(&mut body, e, upper);
    body
}

fn ref_f(x: f64, p: usize, alt: bool) -> String {
    let mut body = format!("{x:.p$}");
    if p == 0 && alt {
        body.push('.');
    }
    body
}

fn ref_g(x: f64, p: Option<usize>, alt: bool, upper: bool) -> String {
    let p = p.unwrap_or(6).max(1);
    let (_, x_rounded) = rust_e(x, p - 1);
    let x_rounded = if x == 0.0 { 0 } else { x_rounded };
    // The exponent of the exact value (40 digits cannot round a double up
    // to the next power of ten).
    let (_, x_exact) = rust_e(x, 40);
    let mut body = if x != 0.0 && x_rounded == p as i32 && x_exact == x_rounded - 1 {
        // glibc: rounding carried out of `%f` range with no fraction
        // digits; it prints `%e` with none.
        ref_e(x, 0, alt, upper)
    } else if x_rounded < -4 || x_rounded >= p as i32 {
        ref_e(x, p - 1, alt, upper)
    } else {
        ref_f(x, (p as i32 - 1 - x_rounded) as usize, alt)
    };
    if !alt && body.contains('.') {
        let exp_at = body.find(['e', 'E']).unwrap_or(body.len());
        let (mantissa, exp) = body.split_at(exp_at);
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        body = format!("{mantissa}{exp}");
    }
    body
}

/// `%a` from the bits: `h.hhh...p±d` with a 1 (normal) or 0 (subnormal,
/// zero) leading digit; with a precision, rounded half to even on the
/// 53-bit significand held in a `u128`.
fn ref_a(x: f64, p: Option<usize>, alt: bool, upper: bool) -> String {
    let bits = x.to_bits();
    let exp_bits = (bits >> 52) & 0x7ff;
    let frac = u128::from(bits & ((1u64 << 52) - 1));
    let (lead, e) = match (exp_bits, frac) {
        (0, 0) => (0u128, 0i64),
        (0, _) => (0, -1022),
        _ => (1, exp_bits as i64 - 1023),
    };
    let sig = (lead << 52) | frac;
    // `sig` then holds the leading digit(s) and `ndigits` fraction digits;
    // a precision past 13 digits appends zeros.
    let (sig, ndigits) = match p {
        None => {
            let mut n = 13;
            while n > 0 && (sig >> (4 * (13 - n))) & 0xf == 0 {
                n -= 1;
            }
            (sig >> (4 * (13 - n)), n)
        }
        Some(p) if p >= 13 => (sig, 13),
        Some(p) => {
            let unit = 1u128 << (4 * (13 - p));
            let (q, r) = (sig / unit, sig % unit);
            let up = 2 * r > unit || (2 * r == unit && q % 2 == 1);
            (q + u128::from(up), p)
        }
    };
    let hex = format!("{sig:x}");
    let digits = if hex.len() < ndigits + 1 {
        format!("{}{hex}", "0".repeat(ndigits + 1 - hex.len()))
    } else {
        hex
    };
    let (int, fraction) = digits.split_at(digits.len() - ndigits);
    let zeros = "0".repeat(p.unwrap_or(0).saturating_sub(13));
    let fraction = format!("{fraction}{zeros}");
    let mut body = format!("0x{int}");
    if !fraction.is_empty() || alt {
        body.push('.');
    }
    body.push_str(&fraction);
    body.push_str(&format!("p{e:+}"));
    if upper {
        body = body.to_uppercase();
    }
    body
}

/// C's floating-point conversions.
fn ref_float(spec: &Spec, x: f64) -> Vec<u8> {
    let upper = spec.conv.is_ascii_uppercase();
    let alt = spec.has('#');
    let sign = sign(spec, x.is_sign_negative());
    if !x.is_finite() {
        let word = if x.is_nan() { "nan" } else { "inf" };
        let word = if upper {
            word.to_uppercase()
        } else {
            word.to_string()
        };
        return pad(spec, sign, &word, false).into_bytes();
    }
    let a = x.abs();
    let p = spec.precision;
    let body = match spec.conv {
        'e' | 'E' => ref_e(a, p.unwrap_or(6), alt, upper),
        'f' => ref_f(a, p.unwrap_or(6), alt),
        'g' | 'G' => ref_g(a, p, alt, upper),
        _ => {
            let body = ref_a(a, p, alt, upper);
            let (prefix, rest) = body.split_at(2);
            return pad(spec, &format!("{sign}{prefix}"), rest, true).into_bytes();
        }
    };
    pad(spec, sign, &body, true).into_bytes()
}

/// Calls `string.format(spec, v)` in a fresh VM.
fn lua_format(fmt: &str, v: Value) -> Result<Vec<u8>, String> {
    let mut vm = vm();
    let f = vm
        .exec(b"return string.format", "=props")
        .map_err(|e| format!("{e:?}"))?[0];
    let s = vm.new_str(fmt.as_bytes());
    let r = vm.call(f, &[s, v]).map_err(|e| format!("{e:?}"))?;
    Ok(vm.str_bytes(r[0]).unwrap_or_default().to_vec())
}

/// Floats of every kind: arbitrary bits, short decimals, halves (exact
/// ties), values next to powers of ten, and the special values.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (-100_000i64..100_000, -20i32..20).prop_map(|(m, e)| m as f64 * 10f64.powi(e)),
        (-4096i64..4096).prop_map(|n| n as f64 / 8.0),
        (0i32..30, 1u32..6, -15i32..15)
            .prop_map(|(k, d, s)| (10f64.powi(k) - f64::from(d) * 10f64.powi(-3)) * 10f64.powi(s)),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ]),
    ]
}

fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -1000i64..1000,
        prop::sample::select(vec![0, -1, i64::MIN, i64::MAX]),
    ]
}

const INT_CONVS: &[char] = &['d', 'i', 'u', 'o', 'x', 'X'];
const FLOAT_CONVS: &[char] = &['e', 'E', 'f', 'g', 'G', 'a', 'A'];

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(256), ..ProptestConfig::default() })]

    #[test]
    fn integers_match_c(spec in spec(INT_CONVS), n in integer()) {
        let got = lua_format(&spec.text(), Value::Int(n));
        prop_assert_eq!(got, Ok(ref_int(&spec, n)), "format {:?} of {}", spec.text(), n);
    }

    #[test]
    fn chars_match_c(spec in spec(&['c']), n in 0i64..256) {
        let got = lua_format(&spec.text(), Value::Int(n));
        prop_assert_eq!(got, Ok(ref_int(&spec, n)), "format {:?} of {}", spec.text(), n);
    }

    #[test]
    fn floats_match_c(spec in spec(FLOAT_CONVS), x in float()) {
        let got = lua_format(&spec.text(), Value::Num(x));
        let want = ref_float(&spec, x);
        prop_assert_eq!(
            got.clone(),
            Ok(want.clone()),
            "format {:?} of {:e} ({:#x}): got {:?}, want {:?}",
            spec.text(),
            x,
            x.to_bits(),
            String::from_utf8_lossy(&got.unwrap_or_default()),
            String::from_utf8_lossy(&want)
        );
    }
}

/// Spot checks of the reference itself against glibc output recorded
/// from `lua5.4`, so that a wrong reference cannot pass silently.
#[test]
fn reference_matches_recorded_glibc() {
    let s = |f: &str| {
        let (flags_end, _) = f
            .char_indices()
            .skip(1)
            .find(|(_, c)| !"-+#0 ".contains(*c))
            .unwrap_or((1, ' '));
        let rest = &f[flags_end..f.len() - 1];
        let (w, p) = match rest.split_once('.') {
            Some((w, p)) => (w, Some(p.parse().unwrap_or(0))),
            None => (rest, None),
        };
        Spec {
            flags: f[1..flags_end].to_string(),
            width: w.parse().ok(),
            precision: p,
            conv: f.chars().last().unwrap_or('d'),
        }
    };
    let cases: &[(&str, f64, &str)] = &[
        ("%.3a", 1.99999, "0x2.000p+0"),
        ("%.0a", 1.5, "0x2p+0"),
        ("%.0a", 2.5, "0x1p+1"),
        ("%a", 5e-324, "0x0.0000000000001p-1022"),
        ("%020a", -1.0, "-0x00000000000001p+0"),
        ("%#.3g", 999.5, "1.e+03"),
        ("%#.3g", 9.996, "10.0"),
        ("%.0f", 2.5, "2"),
        ("%.2f", 0.125, "0.12"),
        ("%g", 1e-5, "1e-05"),
        ("%#g", 1e5, "100000."),
        ("%+08.3e", 1234.5, "+1.234e+03"),
    ];
    for &(f, x, want) in cases {
        let got = ref_float(&s(f), x);
        assert_eq!(String::from_utf8_lossy(&got), want, "{f} of {x}");
        assert_eq!(lua_format(f, Value::Num(x)).as_deref(), Ok(want.as_bytes()));
    }
}
