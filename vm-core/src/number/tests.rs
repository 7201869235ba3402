//! Unit tests of `number.rs`: numerals, `%.14g` and integer formatting,
//! float/integer conversions and comparisons at the edges, and arithmetic
//! with its errors, against what PUC Lua 5.4 gives.

use super::*;

/// Same subtype and same bits (so `-0.0`, NaN and integers are distinguished).
fn same(a: Option<Value>, b: Option<Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Value::Int(x)), Some(Value::Int(y))) => x == y,
        (Some(Value::Num(x)), Some(Value::Num(y))) => x.to_bits() == y.to_bits(),
        _ => false,
    }
}

/// `tonumber(s)` as printed by PUC Lua 5.4.4 (`lua5.4`), float results
/// by their bits.
const NUMERALS: &[(&[u8], Option<Value>)] = &[
    (b"0x10", Some(Value::Int(16))),
    (
        b"0xA.8p1",
        Some(Value::Num(f64::from_bits(0x4035000000000000))),
    ),
    (b"1e", None),
    (b" 10 ", Some(Value::Int(10))),
    (b"0x", None),
    (
        b"1e400",
        Some(Value::Num(f64::from_bits(0x7ff0000000000000))),
    ),
    (
        b"-1e400",
        Some(Value::Num(f64::from_bits(0xfff0000000000000))),
    ),
    (
        b"9223372036854775808",
        Some(Value::Num(f64::from_bits(0x43e0000000000000))),
    ),
    (
        b"9223372036854775807",
        Some(Value::Int(9223372036854775807)),
    ),
    (
        b"-9223372036854775808",
        Some(Value::Int(-9223372036854775808)),
    ),
    (
        b"-9223372036854775809",
        Some(Value::Num(f64::from_bits(0xc3e0000000000000))),
    ),
    (b"0xffffffffffffffff", Some(Value::Int(-1))),
    (b"0x1ffffffffffffffff", Some(Value::Int(-1))),
    (
        b"0x8000000000000000",
        Some(Value::Int(-9223372036854775808)),
    ),
    (
        b"-0x8000000000000000",
        Some(Value::Int(-9223372036854775808)),
    ),
    (b".5", Some(Value::Num(f64::from_bits(0x3fe0000000000000)))),
    (b"5.", Some(Value::Num(f64::from_bits(0x4014000000000000)))),
    (b"1..2", None),
    (b"inf", None),
    (b"nan", None),
    (b"-inf", None),
    (b"infinity", None),
    (b"  -0x10  ", Some(Value::Int(-16))),
    (b"- 1", None),
    (b"+1", Some(Value::Int(1))),
    (b"+-1", None),
    (b"--1", None),
    (
        b"0x.8",
        Some(Value::Num(f64::from_bits(0x3fe0000000000000))),
    ),
    (
        b"0x8.",
        Some(Value::Num(f64::from_bits(0x4020000000000000))),
    ),
    (b"0x.", None),
    (b".", None),
    (b"", None),
    (b" ", None),
    (b"1e+", None),
    (
        b"1e+2",
        Some(Value::Num(f64::from_bits(0x4059000000000000))),
    ),
    (
        b"1E-2",
        Some(Value::Num(f64::from_bits(0x3f847ae147ae147b))),
    ),
    (b"0x1p", None),
    (
        b"0x1p-2",
        Some(Value::Num(f64::from_bits(0x3fd0000000000000))),
    ),
    (
        b"0X1P+4",
        Some(Value::Num(f64::from_bits(0x4030000000000000))),
    ),
    (
        b"\x0b\x0c\x09\x0d\x0a1\x0b\x0c\x09\x0d\x0a",
        Some(Value::Int(1)),
    ),
    (b"1 2", None),
    (b"0x1e", Some(Value::Int(30))),
    (b"0x1E+1", None),
    (
        b"1e308",
        Some(Value::Num(f64::from_bits(0x7fe1ccf385ebc8a0))),
    ),
    (
        b"1e309",
        Some(Value::Num(f64::from_bits(0x7ff0000000000000))),
    ),
    (
        b"1e-400",
        Some(Value::Num(f64::from_bits(0x0000000000000000))),
    ),
    (b"-0", Some(Value::Int(0))),
    (
        b"-0.0",
        Some(Value::Num(f64::from_bits(0x8000000000000000))),
    ),
    (b"00012", Some(Value::Int(12))),
    (
        b"0x1.fffffffffffff8p1023",
        Some(Value::Num(f64::from_bits(0x7ff0000000000000))),
    ),
    (
        b"0x1.fffffffffffff7p1023",
        Some(Value::Num(f64::from_bits(0x7fefffffffffffff))),
    ),
    (
        b"0x1p-1075",
        Some(Value::Num(f64::from_bits(0x0000000000000000))),
    ),
    (
        b"0x1.0000000000001p-1075",
        Some(Value::Num(f64::from_bits(0x0000000000000001))),
    ),
    (
        b"0x1.8p-1074",
        Some(Value::Num(f64::from_bits(0x0000000000000002))),
    ),
    (
        b"0x1p-1074",
        Some(Value::Num(f64::from_bits(0x0000000000000001))),
    ),
    (
        b"0x3p-1076",
        Some(Value::Num(f64::from_bits(0x0000000000000001))),
    ),
    (
        b"0x1p-1022",
        Some(Value::Num(f64::from_bits(0x0010000000000000))),
    ),
    (
        b"0x0.fffffffffffffp-1022",
        Some(Value::Num(f64::from_bits(0x000fffffffffffff))),
    ),
    (
        b"0x1.00000000000008p0",
        Some(Value::Num(f64::from_bits(0x3ff0000000000000))),
    ),
    (
        b"0x1.00000000000018p0",
        Some(Value::Num(f64::from_bits(0x3ff0000000000002))),
    ),
    (
        b"0x1.000000000000080000000001p0",
        Some(Value::Num(f64::from_bits(0x3ff0000000000001))),
    ),
    (
        b"0x123456789abcdef0123456789p0",
        Some(Value::Num(f64::from_bits(0x45f23456789abcdf))),
    ),
    (
        b"0x.000000000000000000000000000001p120",
        Some(Value::Num(f64::from_bits(0x3ff0000000000000))),
    ),
    (
        b"0x0p99999999999999",
        Some(Value::Num(f64::from_bits(0x0000000000000000))),
    ),
    (b"1\x00", None),
    (b"0x-1", None),
    (b"-0x1", Some(Value::Int(-1))),
    (
        b"0x1P99999999999999999999",
        Some(Value::Num(f64::from_bits(0x7ff0000000000000))),
    ),
    (
        b"0x1P-99999999999999999999",
        Some(Value::Num(f64::from_bits(0x0000000000000000))),
    ),
    (
        b"1e99999999999999999999",
        Some(Value::Num(f64::from_bits(0x7ff0000000000000))),
    ),
    (b"0.1", Some(Value::Num(f64::from_bits(0x3fb999999999999a)))),
    (
        b"123456789012345678901234567890",
        Some(Value::Num(f64::from_bits(0x45f8ee90ff6c373e))),
    ),
    (
        b"2.4703282292062328e-324",
        Some(Value::Num(f64::from_bits(0x0000000000000001))),
    ),
    (
        b"2.4703282292062327e-324",
        Some(Value::Num(f64::from_bits(0x0000000000000000))),
    ),
    (
        b"1.7976931348623157e308",
        Some(Value::Num(f64::from_bits(0x7fefffffffffffff))),
    ),
    (
        b"1.7976931348623158e308",
        Some(Value::Num(f64::from_bits(0x7fefffffffffffff))),
    ),
    (
        b"1.7976931348623159e308",
        Some(Value::Num(f64::from_bits(0x7ff0000000000000))),
    ),
    (b"0e0", Some(Value::Num(f64::from_bits(0x0000000000000000)))),
    (b".e1", None),
    (
        b"1.e1",
        Some(Value::Num(f64::from_bits(0x4024000000000000))),
    ),
    (
        b".1e1",
        Some(Value::Num(f64::from_bits(0x3ff0000000000000))),
    ),
    (
        b"0x.1p4",
        Some(Value::Num(f64::from_bits(0x3ff0000000000000))),
    ),
    (b"1f", None),
    (b"0b1", None),
    (b"1_000", None),
    (b"\xef\xbc\x91", None),
    (b"0xg", None),
    (b"1e1.5", None),
    (b"1.5.", None),
    (
        b"0x1.8",
        Some(Value::Num(f64::from_bits(0x3ff8000000000000))),
    ),
    (b"-.5", Some(Value::Num(f64::from_bits(0xbfe0000000000000)))),
    (
        b"+.5e-3",
        Some(Value::Num(f64::from_bits(0x3f40624dd2f1a9fc))),
    ),
    (b"0X", None),
    (b"0xx1", None),
    (b"00x1", None),
    (b"1e+-1", None),
    (
        b"1e0001",
        Some(Value::Num(f64::from_bits(0x4024000000000000))),
    ),
    (
        b"007.5",
        Some(Value::Num(f64::from_bits(0x401e000000000000))),
    ),
];

#[test]
fn numerals_match_lua() {
    for &(text, expected) in NUMERALS {
        let got = str_to_number(text);
        assert!(
            same(got, expected),
            "{:?}: got {got:?}, want {expected:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn embedded_nul_is_not_a_numeral() {
    assert!(str_to_number(b"1\0").is_none());
    assert!(str_to_number(b"\x001").is_none());
    assert!(str_to_number(b"0x1\x00p1").is_none());
}

#[test]
fn long_numerals() {
    let mut zeros = vec![b'0'; 5000];
    zeros.extend_from_slice(b"12");
    assert!(same(str_to_number(&zeros), Some(Value::Int(12))));
    let mut hex = b"0x1".to_vec();
    hex.extend(std::iter::repeat_n(b'0', 300));
    hex.extend_from_slice(b"p-1200");
    // 2^(4*300 - 1200) = 1
    assert!(same(str_to_number(&hex), Some(Value::Num(1.0))));
    let mut frac = b"0x0.".to_vec();
    frac.extend(std::iter::repeat_n(b'0', 300));
    frac.extend_from_slice(b"1p1204");
    assert!(same(str_to_number(&frac), Some(Value::Num(1.0))));
}

/// `tostring(f)` as printed by PUC Lua 5.4.4 on Linux/x86-64.
const FLOATS: &[(f64, &[u8])] = &[
    (f64::from_bits(0xfff8000000000000), b"-nan"),
    (f64::from_bits(0x7ff8000000000000), b"nan"),
    (f64::from_bits(0x7ff0000000000000), b"inf"),
    (f64::from_bits(0xfff0000000000000), b"-inf"),
    (f64::from_bits(0x430c6bf526340000), b"1e+15"),
    (f64::from_bits(0x43e0000000000000), b"9.2233720368548e+18"),
    (f64::from_bits(0x3fb999999999999a), b"0.1"),
    (f64::from_bits(0x8000000000000000), b"-0.0"),
    (f64::from_bits(0x0000000000000000), b"0.0"),
    (f64::from_bits(0x54b249ad2594c37d), b"1e+100"),
    (f64::from_bits(0x437b69b4ba630f35), b"1.2345678901235e+17"),
    (f64::from_bits(0x42dc12218377de40), b"1.2345678901234e+14"),
    (f64::from_bits(0x42dc12218377e0c0), b"1.2345678901236e+14"),
    (f64::from_bits(0x42a674e79c5fe500), b"12345678901234.0"),
    (f64::from_bits(0x42a674e79c5fe700), b"12345678901236.0"),
    (f64::from_bits(0x42d6bcc41e900000), b"1e+14"),
    (f64::from_bits(0x42a2309ce5400000), b"10000000000000.0"),
    (f64::from_bits(0x42d6bcc41e8fffc0), b"99999999999999.0"),
    (f64::from_bits(0x430c6bf52633fff8), b"1e+15"),
    (f64::from_bits(0x42d6bcc41e8fffe0), b"1e+14"),
    (f64::from_bits(0x3ee4f8b588e368f1), b"1e-05"),
    (f64::from_bits(0x3f1a36e2eb1c432d), b"0.0001"),
    (f64::from_bits(0x3f202c9dedbc309d), b"0.0001234"),
    (f64::from_bits(0x3f202e85be180b74), b"0.00012345678901235"),
    (f64::from_bits(0x4340000000000000), b"9.007199254741e+15"),
    (f64::from_bits(0x3fd5555555555555), b"0.33333333333333"),
    (f64::from_bits(0xbfd5555555555555), b"-0.33333333333333"),
    (f64::from_bits(0x3fe5555555555555), b"0.66666666666667"),
    (f64::from_bits(0x4059000000000000), b"100.0"),
    (f64::from_bits(0x4341c37937e08000), b"1e+16"),
    (f64::from_bits(0x0000000000000001), b"4.9406564584125e-324"),
    (f64::from_bits(0x0010000000000000), b"2.2250738585072e-308"),
    (f64::from_bits(0x7fefffffffffffff), b"1.7976931348623e+308"),
    (f64::from_bits(0xffefffffffffffff), b"-1.7976931348623e+308"),
    (f64::from_bits(0x3ff8000000000000), b"1.5"),
    (f64::from_bits(0xc004000000000000), b"-2.5"),
    (f64::from_bits(0x400921fb54442d11), b"3.1415926535898"),
    (f64::from_bits(0x444b1ae4d6e2ef50), b"1e+21"),
    (f64::from_bits(0x4480f0cf064dd592), b"1e+22"),
    (f64::from_bits(0x3ddb7cdfd9d7bdbb), b"1e-10"),
    (f64::from_bits(0x405edd2f1a9fbe77), b"123.456"),
    (f64::from_bits(0x3fe0000000000000), b"0.5"),
    (f64::from_bits(0x01a56e1fc2f8f359), b"1e-300"),
    (f64::from_bits(0x4023000000000000), b"9.5"),
    (f64::from_bits(0x40f869ffffffffff), b"100000.0"),
    (f64::from_bits(0x3fd3333333333334), b"0.3"),
    (f64::from_bits(0x7ff0000000000000), b"inf"),
    (f64::from_bits(0x43dfffffffffffff), b"9.2233720368548e+18"),
    (f64::from_bits(0xc3e0000000000000), b"-9.2233720368548e+18"),
    (f64::from_bits(0x3fb0000000000000), b"0.0625"),
    (f64::from_bits(0x3fb0000000000000), b"0.0625"),
    (f64::from_bits(0x3ee4f8b588e368f1), b"1e-05"),
    (f64::from_bits(0x3f1a36e2eb1c42e3), b"9.9999999999999e-05"),
    (f64::from_bits(0x4132d68700000000), b"1234567.0"),
    (f64::from_bits(0x4045000000000000), b"42.0"),
    (f64::from_bits(0xc045000000000000), b"-42.0"),
    (f64::from_bits(0x3eff75104d551d6a), b"3e-05"),
    (f64::from_bits(0x4011666666666666), b"4.35"),
    (f64::from_bits(0x3fefe00000000000), b"0.99609375"),
    (f64::from_bits(0x6974e718d7d7625a), b"1e+200"),
    (f64::from_bits(0x44dfe185ca57c517), b"6.02214076e+23"),
    (f64::from_bits(0x4340000000000000), b"9.007199254741e+15"),
];

#[test]
fn float_formatting_matches_lua() {
    for &(f, expected) in FLOATS {
        let mut out = b"prefix".to_vec();
        fmt_float(f, &mut out);
        assert_eq!(
            &out[6..],
            expected,
            "{f:e}: got {:?}",
            String::from_utf8_lossy(&out[6..])
        );
    }
}

#[test]
fn integer_formatting() {
    for (i, text) in [
        (0, "0"),
        (-1, "-1"),
        (i64::MAX, "9223372036854775807"),
        (i64::MIN, "-9223372036854775808"),
        (1_000_000, "1000000"),
    ] {
        let mut out = Vec::new();
        fmt_int(i, &mut out);
        assert_eq!(out, text.as_bytes());
    }
}

#[test]
fn float_to_int_conversions() {
    let two63 = 2f64.powi(63);
    assert_eq!(float_to_int_exact(-two63), Some(i64::MIN));
    assert_eq!(float_to_int_exact(two63), None);
    assert_eq!(float_to_int_exact(two63 - 1024.0), Some(i64::MAX - 1023));
    assert_eq!(float_to_int_exact(-0.0), Some(0));
    assert_eq!(float_to_int_exact(f64::NAN), None);
    assert_eq!(float_to_int_exact(f64::INFINITY), None);
    assert_eq!(float_to_int_exact(1.5), None);
    assert_eq!(float_floor_to_int(-1.5), Some(-2));
    assert_eq!(float_ceil_to_int(-1.5), Some(-1));
    assert_eq!(float_floor_to_int(-two63 + 0.0), Some(i64::MIN));
    assert_eq!(float_ceil_to_int(-two63 - 2048.0), None);
    assert_eq!(float_floor_to_int(f64::NEG_INFINITY), None);
    assert_eq!(float_ceil_to_int(f64::NAN), None);
    assert_eq!(tointeger(Value::Int(7)), Some(7));
    assert_eq!(tointeger(Value::Num(-3.0)), Some(-3));
    assert_eq!(tointeger(Value::Nil), None);
}

#[test]
fn mixed_comparisons_at_the_edges() {
    let two63 = 2f64.powi(63);
    assert!(!int_eq_float(i64::MAX, two63));
    assert!(int_lt_float(i64::MAX, two63));
    assert!(int_le_float(i64::MAX, two63));
    assert!(!float_lt_int(two63, i64::MAX));
    assert!(int_le_float(i64::MIN, -two63));
    assert!(!int_lt_float(i64::MIN, -two63));
    assert!(float_le_int(-two63, i64::MIN));
    // 2^53 + 1 is not a float: the nearest floats are 2^53 and 2^53 + 2.
    let big = (1i64 << 53) + 1;
    assert!(int_lt_float(big, 2f64.powi(53) + 2.0));
    assert!(!int_le_float(big, 2f64.powi(53)));
    assert!(float_lt_int(2f64.powi(53), big));
    for i in [0, i64::MAX, i64::MIN, big] {
        for f in [f64::NAN, -f64::NAN] {
            assert!(!int_lt_float(i, f) && !int_le_float(i, f));
            assert!(!float_lt_int(f, i) && !float_le_int(f, i));
            assert!(!int_eq_float(i, f));
        }
        assert!(int_lt_float(i, f64::INFINITY));
        assert!(float_lt_int(f64::NEG_INFINITY, i));
        assert!(!float_le_int(f64::INFINITY, i));
    }
}

fn int(v: Option<Result<Value, ArithError>>) -> i64 {
    match v {
        Some(Ok(Value::Int(i))) => i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn float(v: Option<Result<Value, ArithError>>) -> f64 {
    match v {
        Some(Ok(Value::Num(f))) => f,
        other => panic!("expected a float, got {other:?}"),
    }
}

#[test]
fn integer_arithmetic_wraps() {
    use ArithOp::*;
    let (min, max) = (Value::Int(i64::MIN), Value::Int(i64::MAX));
    assert_eq!(int(arith(Add, max, Value::Int(1))), i64::MIN);
    assert_eq!(int(arith(Sub, min, Value::Int(1))), i64::MAX);
    assert_eq!(int(arith(Mul, max, Value::Int(2))), -2);
    assert_eq!(int(arith(Unm, min, Value::Nil)), i64::MIN);
    assert_eq!(int(arith(IDiv, min, Value::Int(-1))), i64::MIN);
    assert_eq!(int(arith(Mod, min, Value::Int(-1))), 0);
    assert_eq!(int(arith(IDiv, Value::Int(-7), Value::Int(2))), -4);
    assert_eq!(int(arith(Mod, Value::Int(-7), Value::Int(3))), 2);
    assert_eq!(int(arith(Mod, Value::Int(7), Value::Int(-3))), -2);
}

#[test]
fn division_and_power_give_floats() {
    use ArithOp::*;
    assert_eq!(float(arith(Div, Value::Int(7), Value::Int(2))), 3.5);
    assert_eq!(float(arith(Pow, Value::Int(3), Value::Int(2))), 9.0);
    assert_eq!(
        float(arith(Pow, Value::Int(2), Value::Num(0.5))),
        2f64.sqrt()
    );
    assert_eq!(
        float(arith(Div, Value::Int(1), Value::Int(0))),
        f64::INFINITY
    );
    assert!(float(arith(Div, Value::Int(0), Value::Int(0))).is_nan());
}

#[test]
fn mixed_operands_use_floats() {
    use ArithOp::*;
    assert_eq!(float(arith(Add, Value::Int(1), Value::Num(0.5))), 1.5);
    assert_eq!(
        float(arith(IDiv, Value::Num(-5.0), Value::Int(0))),
        f64::NEG_INFINITY
    );
    assert_eq!(float(arith(IDiv, Value::Num(7.5), Value::Int(2))), 3.0);
    assert_eq!(
        float(arith(Mod, Value::Num(5.3), Value::Int(-2))),
        5.3 % 2.0 - 2.0
    );
    assert_eq!(
        float(arith(Mod, Value::Int(1), Value::Num(f64::NEG_INFINITY))),
        f64::NEG_INFINITY
    );
    assert_eq!(
        float(arith(Mod, Value::Int(-1), Value::Num(f64::INFINITY))),
        f64::INFINITY
    );
    assert!(float(arith(Mod, Value::Int(5), Value::Num(0.0))).is_nan());
    assert_eq!(
        float(arith(Unm, Value::Num(0.0), Value::Nil)).to_bits(),
        (-0.0f64).to_bits()
    );
    let neg_zero = float(arith(Mod, Value::Num(-0.0), Value::Int(2)));
    assert_eq!(neg_zero.to_bits(), (-0.0f64).to_bits());
}

#[test]
fn bitwise_operators() {
    use ArithOp::*;
    assert_eq!(int(arith(BAnd, Value::Num(6.0), Value::Int(3))), 2);
    assert_eq!(int(arith(BOr, Value::Int(6), Value::Int(3))), 7);
    assert_eq!(int(arith(BXor, Value::Int(6), Value::Int(3))), 5);
    assert_eq!(int(arith(BNot, Value::Num(0.0), Value::Nil)), -1);
    assert_eq!(int(arith(Shl, Value::Int(1), Value::Int(63))), i64::MIN);
    assert_eq!(int(arith(Shl, Value::Int(1), Value::Int(64))), 0);
    assert_eq!(int(arith(Shr, Value::Int(-1), Value::Int(1))), i64::MAX);
    assert_eq!(int(arith(Shr, Value::Int(-1), Value::Int(64))), 0);
    assert_eq!(int(arith(Shl, Value::Int(2), Value::Int(-1))), 1);
    assert_eq!(int(arith(Shr, Value::Int(2), Value::Int(-1))), 4);
    assert_eq!(int(arith(Shr, Value::Int(5), Value::Int(i64::MIN))), 0);
    assert_eq!(int(arith(Shl, Value::Int(5), Value::Int(i64::MIN))), 0);
}

fn error(v: Option<Result<Value, ArithError>>) -> Option<ArithError> {
    v?.err()
}

#[test]
fn arithmetic_errors() {
    use ArithOp::*;
    let (one, zero) = (Value::Int(1), Value::Int(0));
    assert_eq!(error(arith(IDiv, one, zero)), Some(ArithError::DivByZero));
    assert_eq!(error(arith(Mod, one, zero)), Some(ArithError::ModByZero));
    assert_eq!(
        error(arith(BOr, Value::Num(1.5), zero)),
        Some(ArithError::NoIntegerRep)
    );
    assert_eq!(
        error(arith(BNot, Value::Num(2f64.powi(63)), one)),
        Some(ArithError::NoIntegerRep)
    );
    assert_eq!(
        error(arith(Shl, one, Value::Num(f64::NAN))),
        Some(ArithError::NoIntegerRep)
    );
    assert!(arith(Add, one, Value::Bool(true)).is_none());
    assert!(arith(Add, Value::Nil, one).is_none());
    assert_eq!(ArithError::DivByZero.message(), "attempt to divide by zero");
    assert_eq!(
        ArithError::NoIntegerRep.to_string(),
        "number has no integer representation"
    );
}
