//! Property tests of the utf8 library: `utf8.char` and `utf8.codepoint`
//! are inverses, and `utf8.len`, `utf8.offset` and `utf8.codes` agree with
//! them, for code points up to `0x10FFFF` and for Lua's extended range up
//! to `0x7FFFFFFF` (lax mode); strict decoding refuses exactly what is not
//! a Unicode scalar value, and on arbitrary bytes `utf8.len` agrees with
//! Rust's UTF-8 validation.
//!
//! `VM_TEST_SCALE` multiplies the number of cases (64 by default).

#[path = "support/progen.rs"]
mod progen;
mod support;

use proptest::prelude::*;
use support::vm;
use vm_core::{Value, Vm};

/// A VM with the standard library and the functions under test.
struct Lib {
    vm: Box<Vm>,
    char: Value,
    codepoint: Value,
    len: Value,
    offset: Value,
    /// `codes_list(s, lax)`: the positions and code points `utf8.codes`
    /// yields, as two sequences.
    codes_list: Value,
}

impl Lib {
    fn new() -> Self {
        let mut vm = vm();
        let Value::Table(utf8) = vm.get_global("utf8") else {
            panic!("no utf8 table");
        };
        let [char, codepoint, len, offset] =
            ["char", "codepoint", "len", "offset"].map(|name| vm.raw_get_str(utf8, name));
        let src = b"return function(s, lax)
            local ps, cs = {}, {}
            for p, c in utf8.codes(s, lax) do ps[#ps + 1] = p; cs[#cs + 1] = c end
            return ps, cs
        end";
        let codes_list = vm.exec(src, "=codes_list").expect("helper loads")[0];
        // Keep the helper alive: only globals reach the library functions.
        vm.root(codes_list).unwrap();
        Lib {
            vm,
            char,
            codepoint,
            len,
            offset,
            codes_list,
        }
    }

    /// Calls `f`, returning its results or the error message.
    fn try_call(&mut self, f: Value, args: &[Value]) -> Result<Vec<Value>, String> {
        self.vm
            .call(f, args)
            .map_err(|e| self.vm.error_to_string(&e))
    }

    /// Calls `f`, which must not fail.
    fn call(&mut self, f: Value, args: &[Value]) -> Result<Vec<Value>, TestCaseError> {
        self.try_call(f, args).map_err(TestCaseError::fail)
    }

    /// The string `utf8.char(cps...)`, rooted until `release`.
    fn encode(&mut self, cps: &[u32]) -> (Value, vm_core::RootId) {
        let args: Vec<Value> = cps.iter().map(|&c| Value::Int(c.into())).collect();
        let r = self
            .try_call(self.char, &args)
            .expect("utf8.char accepts the code points");
        assert_eq!(r.len(), 1);
        let id = self.vm.root(r[0]).unwrap();
        (r[0], id)
    }

    /// The integers in `t[1..=#t]`.
    fn ints(&self, t: Value) -> Vec<i64> {
        let Value::Table(t) = t else {
            panic!("expected a table, got {t:?}")
        };
        (1..=self.vm.raw_len(t))
            .map(|i| match self.vm.raw_peek(t, Value::Int(i)) {
                Value::Int(n) => n,
                v => panic!("expected an integer, got {v:?}"),
            })
            .collect()
    }
}

/// The integer results of a call, which must all be integers.
fn as_ints(vs: &[Value]) -> Vec<i64> {
    vs.iter()
        .map(|v| match v {
            Value::Int(n) => *n,
            v => panic!("expected an integer, got {v:?}"),
        })
        .collect()
}

/// Bytes of Lua's extended UTF-8 encoding of `c`.
fn encoded_len(c: u32) -> usize {
    match c {
        0..=0x7F => 1,
        0x80..=0x7FF => 2,
        0x800..=0xFFFF => 3,
        0x1_0000..=0x1F_FFFF => 4,
        0x20_0000..=0x3FF_FFFF => 5,
        _ => 6,
    }
}

/// Whether strict decoding accepts `c`.
fn is_scalar(c: u32) -> bool {
    char::from_u32(c).is_some()
}

/// Code points of every encoded length, surrogates included, up to `max`.
fn code_point(max: u32) -> impl Strategy<Value = u32> {
    prop_oneof![
        0..0x80u32,
        0x80..0x800u32,
        0x800..0x1_0000u32,
        0xD800..=0xDFFFu32,
        0x1_0000..=0x10_FFFFu32,
        0x11_0000..0x20_0000u32,
        0x20_0000..0x400_0000u32,
        0x400_0000..=0x7FFF_FFFFu32,
    ]
    .prop_filter("within range", move |&c| c <= max)
}

/// Checks the round trip of `cps` through every function, in lax mode and
/// (where that differs) strict mode.
fn check_round_trip(lib: &mut Lib, cps: &[u32]) -> Result<(), TestCaseError> {
    let (s, root) = lib.encode(cps);
    let bytes = lib.vm.str_bytes(s).unwrap_or_default().to_vec();
    let n = cps.len() as i64;
    let want: Vec<i64> = cps.iter().map(|&c| c.into()).collect();
    // Start position of each character, 1-based.
    let starts: Vec<i64> = cps
        .iter()
        .scan(1, |pos, &c| {
            let at = *pos;
            *pos += encoded_len(c) as i64;
            Some(at)
        })
        .collect();
    prop_assert_eq!(
        bytes.len(),
        cps.iter().map(|&c| encoded_len(c)).sum::<usize>()
    );
    if cps.iter().all(|&c| is_scalar(c)) {
        let std: String = cps.iter().filter_map(|&c| char::from_u32(c)).collect();
        prop_assert_eq!(&bytes, std.as_bytes());
    }

    let (one, minus_one, lax) = (Value::Int(1), Value::Int(-1), Value::Bool(true));
    let got = lib.call(lib.codepoint, &[s, one, minus_one, lax])?;
    prop_assert_eq!(as_ints(&got), want.clone());
    let got = lib.call(lib.len, &[s, one, minus_one, lax])?;
    prop_assert_eq!(as_ints(&got), vec![n]);
    let got = lib.call(lib.codes_list, &[s, lax])?;
    prop_assert_eq!(lib.ints(got[0]), starts.clone());
    prop_assert_eq!(lib.ints(got[1]), want.clone());
    for (i, &start) in starts.iter().enumerate() {
        let got = lib.call(lib.offset, &[s, Value::Int(i as i64 + 1)])?;
        prop_assert_eq!(as_ints(&got), vec![start]);
    }
    let end = lib.call(lib.offset, &[s, Value::Int(n + 1)])?;
    prop_assert_eq!(as_ints(&end), vec![bytes.len() as i64 + 1]);

    // Strict mode: the first code point that is not a scalar value stops it.
    match cps.iter().position(|&c| !is_scalar(c)) {
        None => {
            let got = lib.call(lib.codepoint, &[s, one, minus_one])?;
            prop_assert_eq!(as_ints(&got), want);
            let got = lib.call(lib.len, &[s])?;
            prop_assert_eq!(as_ints(&got), vec![n]);
        }
        Some(bad) => {
            let err = lib.try_call(lib.codepoint, &[s, one, minus_one]).err();
            prop_assert_eq!(err.as_deref(), Some("invalid UTF-8 code"));
            let got = lib.call(lib.len, &[s])?;
            prop_assert_eq!(got.len(), 2);
            prop_assert!(got[0].is_nil());
            prop_assert_eq!(as_ints(&got[1..]), vec![starts[bad]]);
        }
    }
    lib.vm.unroot(root);
    Ok(())
}

/// Bytes that are often parts of UTF-8 sequences, valid or not.
fn utf8ish_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        0x00..0x80u8,
        0x80..0xC0u8,
        0xC0..0xE0u8,
        0xE0..0xF0u8,
        0xF0..0xF8u8,
        0xF8..=0xFFu8,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(64), ..ProptestConfig::default() })]

    #[test]
    fn round_trip_up_to_max_unicode(cps in prop::collection::vec(code_point(0x10_FFFF), 0..12)) {
        check_round_trip(&mut Lib::new(), &cps)?;
    }

    #[test]
    fn round_trip_extended_range(cps in prop::collection::vec(code_point(0x7FFF_FFFF), 0..12)) {
        check_round_trip(&mut Lib::new(), &cps)?;
    }

    /// Strict `utf8.len` accepts exactly valid UTF-8 and reports the first
    /// invalid sequence where Rust's validation finds it.
    #[test]
    fn strict_len_agrees_with_std(bytes in prop::collection::vec(utf8ish_byte(), 0..24)) {
        let mut lib = Lib::new();
        let s = lib.vm.new_str(&bytes);
        let got = lib.call(lib.len, &[s])?;
        match std::str::from_utf8(&bytes) {
            Ok(text) => prop_assert_eq!(as_ints(&got), vec![text.chars().count() as i64]),
            Err(e) => {
                prop_assert_eq!(got.len(), 2);
                prop_assert!(got[0].is_nil());
                prop_assert_eq!(as_ints(&got[1..]), vec![e.valid_up_to() as i64 + 1]);
            }
        }
    }
}
