//! Property tests for `vm_core::number` (the counterpart of PUC Lua's
//! `lobject.c`/`lvm.c` number code): every operation is checked against an
//! independent model written with `i128` and exact reasoning, never against
//! the code path under test.
//!
//! Case counts scale with the `VM_TEST_SCALE` environment variable (a
//! multiplier, default 1). `differential_against_lua54` compares thousands
//! of random cases with the `lua5.4` binary; it is skipped, with a message,
//! when `lua5.4` is not on the `PATH`.

mod support;

use std::cmp::Ordering;

use proptest::prelude::*;
use support::lua54;
use support::scale::scale;
use vm_core::number::{
    arith, float_ceil_to_int, float_floor_to_int, float_le_int, float_lt_int, float_mod,
    float_to_int_exact, fmt_float, fmt_int, int_eq_float, int_idiv, int_le_float, int_lt_float,
    int_mod, shift_left, str_to_number, tointeger, ArithError, ArithOp,
};
use vm_core::Value;

const ALL_OPS: [ArithOp; 14] = [
    ArithOp::Add,
    ArithOp::Sub,
    ArithOp::Mul,
    ArithOp::Mod,
    ArithOp::Pow,
    ArithOp::Div,
    ArithOp::IDiv,
    ArithOp::BAnd,
    ArithOp::BOr,
    ArithOp::BXor,
    ArithOp::Shl,
    ArithOp::Shr,
    ArithOp::Unm,
    ArithOp::BNot,
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases.saturating_mul(scale()),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Generators: plain random values plus the edges where conversions go wrong.
// ---------------------------------------------------------------------------

fn ints() -> impl Strategy<Value = i64> {
    const TWO53: i64 = 1 << 53;
    prop_oneof![
        any::<i64>(),
        -1000i64..1000,
        (TWO53 - 5000)..(TWO53 + 5000),
        (-TWO53 - 5000)..(-TWO53 + 5000),
        (i64::MAX - 5000)..=i64::MAX,
        i64::MIN..(i64::MIN + 5000),
        (0u32..64).prop_map(|k| 1i64 << k),
    ]
}

/// `f` moved by `steps` units in the last place (through zero and to the
/// infinities, as bit patterns do).
fn ulps_away(f: f64, steps: i64) -> f64 {
    // Map bits to a monotonic integer line, step, and map back.
    let bits = f.to_bits() as i64;
    let line = if bits < 0 { i64::MIN - bits } else { bits };
    let moved = line.saturating_add(steps);
    let back = if moved < 0 { i64::MIN - moved } else { moved };
    f64::from_bits(back as u64)
}

fn finite_floats() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NORMAL, SUBNORMAL, ZERO};
    prop_oneof![
        NORMAL | SUBNORMAL | ZERO,
        any::<u64>().prop_map(|bits| {
            let f = f64::from_bits(bits);
            if f.is_finite() {
                f
            } else {
                f64::MAX
            }
        }),
        -1000.0f64..1000.0,
        (-2000i32..2000).prop_map(|i| f64::from(i) / 4.0),
        (ints(), -3i64..=3).prop_map(|(i, k)| ulps_away(i as f64, k)),
    ]
}

fn floats() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => finite_floats(),
        1 => proptest::sample::select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN, -0.0]),
        1 => any::<f64>(),
    ]
}

fn numbers() -> impl Strategy<Value = Value> {
    prop_oneof![ints().prop_map(Value::Int), floats().prop_map(Value::Num)]
}

fn ops() -> impl Strategy<Value = ArithOp> {
    proptest::sample::select(ALL_OPS.to_vec())
}

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/// The exact order of `i` and `f` (`None` for NaN), by integer reasoning:
/// `floor(f)` of a float below 2^100 is exactly representable in `i128`.
fn exact_cmp(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.abs() >= 2f64.powi(100) {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let floor = f.floor() as i128;
    let i = i128::from(i);
    Some(match i.cmp(&floor) {
        Ordering::Equal if f.floor() != f => Ordering::Less,
        other => other,
    })
}

/// The integer in `[i64::MIN, i64::MAX]` equal to `x`, if any.
fn fit(x: i128) -> Option<i64> {
    i64::try_from(x).ok()
}

/// `floor(f)` in `i128` for a finite float below 2^100, from truncation.
fn floor_i128(f: f64) -> i128 {
    let t = f.trunc() as i128;
    if (t as f64) > f {
        t - 1
    } else {
        t
    }
}

fn ceil_i128(f: f64) -> i128 {
    -floor_i128(-f)
}

fn small_finite(f: f64) -> bool {
    f.is_finite() && f.abs() < 2f64.powi(100)
}

/// Wraps a mathematical integer to `i64` (two's complement, modulo 2^64).
fn wrap(x: i128) -> i64 {
    x as i64
}

/// `x << n` and logical `x >> n` as multiplication/division by powers of 2.
fn shift_model(x: i64, n: i64) -> i64 {
    let unsigned = i128::from(x as u64);
    match n {
        0..=63 => wrap(unsigned * (1i128 << n)),
        -63..=-1 => wrap(unsigned / (1i128 << -n)),
        _ => 0,
    }
}

/// Two values are the same Lua number result: same subtype, and the same
/// float (any NaN matches any NaN: payloads are not part of the semantics).
fn same_number(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        _ => false,
    }
}

/// `luaO_rawarith` for two integers, from the manual's definitions.
fn int_model(op: ArithOp, a: i64, b: i64) -> Result<Value, ArithError> {
    use ArithOp::*;
    let (x, y) = (i128::from(a), i128::from(b));
    let int = |v: i128| Ok(Value::Int(wrap(v)));
    match op {
        Add => int(x + y),
        Sub => int(x - y),
        Mul => int(x * y),
        IDiv if b == 0 => Err(ArithError::DivByZero),
        Mod if b == 0 => Err(ArithError::ModByZero),
        // Floor division: the q with q*y <= x < (q+1)*y (for y > 0).
        IDiv => int(x.div_euclid(y) - i128::from(y < 0 && x.rem_euclid(y) != 0)),
        Mod => {
            let r = x.rem_euclid(y);
            int(if y < 0 && r != 0 { r + y } else { r })
        }
        Pow => Ok(Value::Num(pow_model(a as f64, b as f64))),
        Div => Ok(Value::Num(a as f64 / b as f64)),
        BAnd => int(x & y),
        BOr => int(x | y),
        BXor => int(x ^ y),
        Shl => Ok(Value::Int(shift_model(a, b))),
        Shr => Ok(Value::Int(shift_model(
            a,
            b.checked_neg().unwrap_or(i64::MAX),
        ))),
        Unm => int(-x),
        BNot => int(-x - 1),
    }
}

fn pow_model(a: f64, b: f64) -> f64 {
    if b == 2.0 {
        a * a
    } else {
        a.powf(b)
    }
}

/// `luaO_rawarith` for floats (at least one operand was a float).
fn float_model(op: ArithOp, a: f64, b: f64) -> Result<Value, ArithError> {
    use ArithOp::*;
    let num = |f: f64| Ok(Value::Num(f));
    match op {
        Add => num(a + b),
        Sub => num(a - b),
        Mul => num(a * b),
        Div => num(a / b),
        Pow => num(pow_model(a, b)),
        IDiv => num((a / b).floor()),
        Mod => num(mod_model(a, b)),
        Unm => num(-a),
        BAnd | BOr | BXor | Shl | Shr | BNot => {
            let exact = |f: f64| {
                (f.is_finite() && f.fract() == 0.0 && f.abs() <= 2f64.powi(63))
                    .then(|| fit(f as i128))
                    .flatten()
            };
            match (exact(a), exact(b)) {
                (Some(x), Some(y)) => int_model(op, x, y),
                _ => Err(ArithError::NoIntegerRep),
            }
        }
    }
}

/// Floor modulo: `a - floor(a/b)*b`, computed as C's exact `fmod` (Rust's
/// `%`) corrected to the sign of `b`.
fn mod_model(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && r.is_sign_negative() != b.is_sign_negative() {
        r + b
    } else {
        r
    }
}

fn arith_model(op: ArithOp, a: Value, b: Value) -> Result<Value, ArithError> {
    let b = if matches!(op, ArithOp::Unm | ArithOp::BNot) {
        a
    } else {
        b
    };
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => int_model(op, x, y),
        (Value::Int(x), Value::Num(y)) => mixed_model(op, x as f64, y, Some(x), None),
        (Value::Num(x), Value::Int(y)) => mixed_model(op, x, y as f64, None, Some(y)),
        (Value::Num(x), Value::Num(y)) => float_model(op, x, y),
        _ => unreachable!("generators only make numbers"),
    }
}

/// Mixed operands: arithmetic on floats, but bitwise ops keep the integer
/// operand as it is (converting it to float could round it).
fn mixed_model(
    op: ArithOp,
    a: f64,
    b: f64,
    a_int: Option<i64>,
    b_int: Option<i64>,
) -> Result<Value, ArithError> {
    use ArithOp::*;
    if !matches!(op, BAnd | BOr | BXor | Shl | Shr | BNot) {
        return float_model(op, a, b);
    }
    let exact = |f: f64, int: Option<i64>| {
        int.or_else(|| {
            (small_finite(f) && f.fract() == 0.0)
                .then(|| fit(f as i128))
                .flatten()
        })
    };
    match (exact(a, a_int), exact(b, b_int)) {
        (Some(x), Some(y)) => int_model(op, x, y),
        _ => Err(ArithError::NoIntegerRep),
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn int_float_comparisons_are_exact(i in ints(), f in floats()) {
        let order = exact_cmp(i, f);
        prop_assert_eq!(int_lt_float(i, f), order == Some(Ordering::Less));
        prop_assert_eq!(int_le_float(i, f), matches!(order, Some(Ordering::Less | Ordering::Equal)));
        prop_assert_eq!(int_eq_float(i, f), order == Some(Ordering::Equal));
        prop_assert_eq!(float_lt_int(f, i), order == Some(Ordering::Greater));
        prop_assert_eq!(float_le_int(f, i), matches!(order, Some(Ordering::Greater | Ordering::Equal)));
        prop_assert_eq!(Value::Int(i).raw_eq(Value::Num(f)), order == Some(Ordering::Equal));
    }

    #[test]
    fn float_to_int_conversions(f in floats()) {
        let (exact, floor, ceil) = if small_finite(f) {
            let fl = floor_i128(f);
            let exact = if fl as f64 == f { fit(fl) } else { None };
            (exact, fit(fl), fit(ceil_i128(f)))
        } else {
            (None, None, None)
        };
        prop_assert_eq!(float_to_int_exact(f), exact);
        prop_assert_eq!(float_floor_to_int(f), floor);
        prop_assert_eq!(float_ceil_to_int(f), ceil);
        prop_assert_eq!(tointeger(Value::Num(f)), exact);
    }

    #[test]
    fn integer_division_and_modulo(a in ints(), b in ints()) {
        prop_assume!(b != 0);
        let (q, r) = (i128::from(int_idiv(a, b)), i128::from(int_mod(a, b)));
        let (x, y) = (i128::from(a), i128::from(b));
        // The remainder has the sign of b and is smaller than it...
        let in_range = if y > 0 { (0..y).contains(&r) } else { (y + 1..=0).contains(&r) };
        prop_assert!(in_range, "remainder {} for divisor {}", r, y);
        // ...and x = q*y + r, with q wrapped only for mininteger // -1.
        if a == i64::MIN && b == -1 {
            prop_assert_eq!(q, x);
            prop_assert_eq!(r, 0);
        } else {
            prop_assert_eq!(q * y + r, x);
        }
    }

    #[test]
    fn float_modulo_follows_the_divisor(a in floats(), b in floats()) {
        let m = float_mod(a, b);
        if a.is_nan() || b.is_nan() || a.is_infinite() || b == 0.0 {
            prop_assert!(m.is_nan());
        } else if m != 0.0 && b.is_finite() {
            prop_assert_eq!(m.is_sign_negative(), b.is_sign_negative());
            prop_assert!(m.abs() <= b.abs());
        }
    }

    #[test]
    fn float_modulo_agrees_with_integers(a in -(1i64 << 40)..(1i64 << 40), b in -(1i64 << 20)..(1i64 << 20)) {
        prop_assume!(b != 0);
        let m = float_mod(a as f64, b as f64);
        prop_assert_eq!(m, int_mod(a, b) as f64);
    }

    #[test]
    fn shifts(a in ints(), n in prop_oneof![-70i64..70, any::<i64>()]) {
        prop_assert_eq!(shift_left(a, n), shift_model(a, n));
    }

    #[test]
    fn arithmetic_matches_the_model(op in ops(), a in numbers(), b in numbers()) {
        let got = arith(op, a, b).expect("numbers are numbers");
        match (got, arith_model(op, a, b)) {
            (Ok(x), Ok(y)) => prop_assert!(same_number(x, y), "{:?} {:?} {:?}: got {:?}, model {:?}", op, a, b, x, y),
            (Err(x), Err(y)) => prop_assert_eq!(x, y),
            (x, y) => prop_assert!(false, "{:?} {:?} {:?}: got {:?}, model {:?}", op, a, b, x, y),
        }
    }

    #[test]
    fn integers_round_trip_through_text(i in ints()) {
        let mut text = Vec::new();
        fmt_int(i, &mut text);
        prop_assert_eq!(String::from_utf8(text.clone()).unwrap(), i.to_string());
        prop_assert!(matches!(str_to_number(&text), Some(Value::Int(j)) if j == i));
    }

    #[test]
    fn whole_floats_print_like_integers(i in -99_999_999_999_999i64..=99_999_999_999_999) {
        let mut text = Vec::new();
        fmt_float(i as f64, &mut text);
        prop_assert_eq!(String::from_utf8(text).unwrap(), format!("{i}.0"));
    }

    #[test]
    fn fourteen_digit_floats_round_trip(mantissa in 1u64..100_000_000_000_000, exp in -300i32..295, neg in any::<bool>()) {
        let f: f64 = format!("{}{}e{}", if neg { "-" } else { "" }, mantissa, exp).parse().unwrap();
        let mut text = Vec::new();
        fmt_float(f, &mut text);
        let text = String::from_utf8(text).unwrap();
        prop_assert_eq!(text.parse::<f64>().unwrap(), f, "{}", text);
        prop_assert!(matches!(str_to_number(text.as_bytes()), Some(Value::Num(g)) if g == f));
    }

    #[test]
    fn float_text_has_printf_g_shape(f in finite_floats()) {
        let mut text = Vec::new();
        fmt_float(f, &mut text);
        let text = String::from_utf8(text).unwrap();
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, ""));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let significant = digits.trim_start_matches('0').trim_end_matches('0');
        prop_assert!(significant.len() <= 14, "{}", text);
        if !exponent.is_empty() {
            prop_assert!(exponent.starts_with(['+', '-']) && exponent.len() >= 3, "{}", text);
            prop_assert!(!mantissa.ends_with('0') && !mantissa.ends_with('.'), "{}", text);
        } else {
            prop_assert!(mantissa.contains('.'), "{}", text);
        }
        // 14 significant digits are within half a unit of the 14th digit.
        let back: f64 = text.parse().unwrap();
        prop_assert!((back - f).abs() <= f.abs() * 5e-14, "{} vs {:e}", text, f);
    }

    #[test]
    fn rust_shortest_float_text_is_a_numeral(f in finite_floats()) {
        let text = format!("{f:?}");
        prop_assert!(matches!(str_to_number(text.as_bytes()), Some(Value::Num(g)) if g.to_bits() == f.to_bits()), "{}", text);
    }

    #[test]
    fn hex_floats_round_correctly(mantissa in any::<u128>(), exp in -900i32..800, frac_digits in 0usize..40, pad in 0usize..3) {
        // "0x<hex>p<e>" with the point moved `frac_digits` hex digits left.
        let hex = format!("{}{:x}", "0".repeat(pad), mantissa);
        let split = hex.len().saturating_sub(frac_digits);
        let text = format!("0x{}.{}p{}", &hex[..split], &hex[split..], exp + 4 * (hex.len() - split) as i32);
        // `u128 as f64` rounds to nearest even; scaling by a power of two in
        // the normal range is then exact.
        let expected = mantissa as f64 * f64::from_bits(((1023 + exp) as u64) << 52);
        prop_assume!(expected == 0.0 || expected.abs() >= f64::MIN_POSITIVE);
        prop_assert!(matches!(str_to_number(text.as_bytes()), Some(Value::Num(g)) if g == expected), "{} -> {:?}", text, str_to_number(text.as_bytes()));
    }

    #[test]
    fn garbage_around_numerals_is_rejected(i in ints(), junk in "[a-zA-Z_.,;]{1,3}") {
        for text in [format!("{i}{junk}"), format!("{junk}{i}"), format!("{i} {junk}")] {
            // "1e5"-like suffixes and hex digits can make a new numeral.
            let reparsed: Option<f64> = text.trim().parse().ok();
            if reparsed.is_none() && !text.contains(['x', 'X']) {
                prop_assert!(str_to_number(text.as_bytes()).is_none(), "{}", text);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Differential test against the reference interpreter
// ---------------------------------------------------------------------------

/// SplitMix64: enough randomness for generating cases, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn int(&mut self) -> i64 {
        match self.below(4) {
            0 => self.next() as i64,
            1 => self.below(2001) as i64 - 1000,
            2 => (1i64 << 53) + self.below(11) as i64 - 5,
            _ => i64::MAX - self.below(3) as i64,
        }
    }

    fn float(&mut self) -> f64 {
        match self.below(5) {
            0 => f64::from_bits(self.next()),
            1 => (self.below(4001) as f64 - 2000.0) / 8.0,
            2 => ulps_away(self.int() as f64, self.below(7) as i64 - 3),
            3 => [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN][self.below(5) as usize],
            _ => f64::from_bits(self.next()) % 1e20,
        }
    }

    fn number(&mut self) -> Value {
        if self.below(2) == 0 {
            Value::Int(self.int())
        } else {
            Value::Num(self.float())
        }
    }

    /// A string that is often, but not always, a numeral.
    fn numeral(&mut self) -> Vec<u8> {
        const ALPHABET: &[u8] = b"0123456789abcdefABCDEFxXpPeE.+- \t";
        let mut s = Vec::new();
        match self.below(4) {
            0 => fmt_int(self.int(), &mut s),
            1 => s.extend_from_slice(format!("{:e}", self.float()).as_bytes()),
            2 => {
                // A hex float with up to 32 significant digits, often subnormal.
                let (int, frac) = (self.next() >> self.below(64), self.next() >> self.below(64));
                let exp = self.below(2300) as i64 - 1150;
                s.extend_from_slice(format!(" -0x{int:x}.{frac:016x}p{exp} ").as_bytes());
                s.drain(..1 + self.below(2) as usize);
            }
            _ => {
                if self.below(2) == 0 {
                    s.extend_from_slice(b"0x");
                }
                for _ in 0..self.below(12) {
                    s.push(ALPHABET[self.below(ALPHABET.len() as u64) as usize]);
                }
            }
        }
        s
    }
}

const OP_NAMES: [&str; 14] = [
    "add", "sub", "mul", "mod", "pow", "div", "idiv", "band", "bor", "bxor", "shl", "shr", "unm",
    "bnot",
];

/// Reads one case per line and prints one result per line.
const LUA_DRIVER: &str = r#"
local function float(bits) return (string.unpack("<d", string.pack("<i8", tonumber(bits)))) end
local function value(s)
  local kind, text = s:match("^(%a):(.*)$")
  if kind == "i" then return math.tointeger(tonumber(text)) else return float(text) end
end
local function show(v)
  if math.type(v) == "integer" then return "i " .. v end
  if v ~= v then return "nan" end
  return string.format("f %x", string.unpack("<i8", string.pack("<d", v)))
end
local ops = {
  add = function(a, b) return a + b end, sub = function(a, b) return a - b end,
  mul = function(a, b) return a * b end, mod = function(a, b) return a % b end,
  pow = function(a, b) return a ^ b end, div = function(a, b) return a / b end,
  idiv = function(a, b) return a // b end, band = function(a, b) return a & b end,
  bor = function(a, b) return a | b end, bxor = function(a, b) return a ~ b end,
  shl = function(a, b) return a << b end, shr = function(a, b) return a >> b end,
  unm = function(a) return -a end, bnot = function(a) return ~a end,
}
for line in io.lines() do
  local words = {}
  for w in line:gmatch("%S+") do words[#words + 1] = w end
  local kind = words[1]
  if kind == "num" then
    local s = (words[2] or ""):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
    local n = tonumber(s)
    print(n == nil and "nil" or show(n))
  elseif kind == "fmt" then
    print(tostring(float(words[2])))
  elseif kind == "ar" then
    local ok, r = pcall(ops[words[2]], value(words[3]), value(words[4]))
    -- Drop the position and the variable name that only the VM knows.
    print(ok and show(r) or "E " .. tostring(r):gsub("^.-:%d+: ", ""):gsub(" %b()", ""))
  else
    local a, b = value(words[2]), value(words[3])
    print((a < b and "T" or "F") .. (a <= b and "T" or "F") .. (a == b and "T" or "F")
      .. (b < a and "T" or "F") .. (b <= a and "T" or "F"))
  end
end
"#;

fn lua_value(v: Value) -> String {
    match v {
        Value::Int(i) => format!("i:{i}"),
        Value::Num(f) => format!("f:0x{:x}", f.to_bits()),
        _ => unreachable!(),
    }
}

fn show(v: Value) -> String {
    match v {
        Value::Int(i) => format!("i {i}"),
        Value::Num(f) if f.is_nan() => "nan".to_string(),
        Value::Num(f) => format!("f {:x}", f.to_bits()),
        _ => unreachable!(),
    }
}

/// Lua's `a < b` etc. for two numbers, through this crate.
fn compare(a: Value, b: Value) -> String {
    let lt = |x: Value, y: Value| match (x, y) {
        (Value::Int(i), Value::Int(j)) => i < j,
        (Value::Int(i), Value::Num(f)) => int_lt_float(i, f),
        (Value::Num(f), Value::Int(i)) => float_lt_int(f, i),
        (Value::Num(f), Value::Num(g)) => f < g,
        _ => unreachable!(),
    };
    let le = |x: Value, y: Value| match (x, y) {
        (Value::Int(i), Value::Int(j)) => i <= j,
        (Value::Int(i), Value::Num(f)) => int_le_float(i, f),
        (Value::Num(f), Value::Int(i)) => float_le_int(f, i),
        (Value::Num(f), Value::Num(g)) => f <= g,
        _ => unreachable!(),
    };
    [lt(a, b), le(a, b), a.raw_eq(b), lt(b, a), le(b, a)]
        .iter()
        .map(|&t| if t { 'T' } else { 'F' })
        .collect()
}

/// One case: the line for the Lua driver and the answer this crate gives.
fn make_case(rng: &mut Rng) -> (String, String) {
    match rng.below(4) {
        0 => {
            let s = rng.numeral();
            let hex: String = s.iter().map(|b| format!("{b:02x}")).collect();
            let answer = str_to_number(&s).map_or("nil".to_string(), show);
            (format!("num {hex}"), answer)
        }
        1 => {
            let f = rng.float();
            let mut text = Vec::new();
            fmt_float(f, &mut text);
            (
                format!("fmt 0x{:x}", f.to_bits()),
                String::from_utf8(text).unwrap(),
            )
        }
        2 => {
            let k = rng.below(ALL_OPS.len() as u64) as usize;
            let (a, b) = (rng.number(), rng.number());
            let answer = match arith(ALL_OPS[k], a, b).unwrap() {
                Ok(v) => show(v),
                Err(e) => format!("E {}", e.message()),
            };
            (
                format!("ar {} {} {}", OP_NAMES[k], lua_value(a), lua_value(b)),
                answer,
            )
        }
        _ => {
            let (a, b) = (rng.number(), rng.number());
            (
                format!("cmp {} {}", lua_value(a), lua_value(b)),
                compare(a, b),
            )
        }
    }
}

#[test]
fn differential_against_lua54() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    if !lua54::lua_available("differential_against_lua54") {
        return;
    }
    let mut rng = Rng(0x5eed_1234 + u64::from(scale()));
    let cases: Vec<_> = (0..20_000 * scale()).map(|_| make_case(&mut rng)).collect();
    let driver = std::env::temp_dir().join(format!("number_props_{}.lua", std::process::id()));
    std::fs::write(&driver, LUA_DRIVER).unwrap();
    let mut lua = Command::new(lua54::LUA)
        .arg(&driver)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("lua5.4 starts");
    let input: String = cases.iter().map(|(line, _)| format!("{line}\n")).collect();
    let mut stdin = lua.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = lua.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let _ = std::fs::remove_file(&driver);
    let lines: Vec<_> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        lines.len(),
        cases.len(),
        "lua5.4 failed: {:?}",
        output.status
    );
    let mismatches: Vec<_> = cases
        .iter()
        .zip(&lines)
        .filter(|((_, ours), theirs)| ours != *theirs)
        .map(|((line, ours), theirs)| format!("{line}: ours {ours:?}, lua5.4 {theirs:?}"))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
}
