//! Property test of `string.pack`/`string.unpack`/`string.packsize`:
//! random formats (integers of every size and signedness, floats, the
//! three string kinds, padding, alignment with `!` and `X`, byte-order
//! switches, spaces) with values in range round-trip through `pack` and
//! `unpack`; `unpack` ends just past the data; `packsize` agrees with the
//! packed length for fixed-size formats; and unpacking from an offset
//! that keeps the alignment gives the same values.

#[path = "support/progen.rs"]
mod progen;
mod support;

use proptest::prelude::*;
use support::vm;
use vm_core::{Value, Vm};

/// One option of a format, with the value it packs (if any).
#[derive(Clone, Debug)]
enum Opt {
    /// `i`/`I` with an explicit size, or a fixed-size letter.
    Int {
        letter: String,
        signed: bool,
        size: u32,
        value: i64,
    },
    Float(f32),
    Double(char, f64),
    Char(usize, Vec<u8>),
    Str(u32, Vec<u8>),
    Zstr(Vec<u8>),
    Pad,
    /// `X` followed by an integer option of this size.
    Align(u32),
    /// `<`, `>`, `=` or ` `.
    Setting(char),
    /// `!n`.
    MaxAlign(u32),
}

impl Opt {
    fn text(&self) -> String {
        match self {
            Opt::Int { letter, .. } => letter.clone(),
            Opt::Float(_) => "f".into(),
            Opt::Double(c, _) => c.to_string(),
            Opt::Char(n, _) => format!("c{n}"),
            Opt::Str(n, _) => format!("s{n}"),
            Opt::Zstr(_) => "z".into(),
            Opt::Pad => "x".into(),
            Opt::Align(n) => format!("Xi{n}"),
            Opt::Setting(c) => c.to_string(),
            Opt::MaxAlign(n) => format!("!{n}"),
        }
    }

    /// The value packed, if the option takes one.
    fn value(&self, vm: &mut Vm) -> Option<Value> {
        Some(match self {
            Opt::Int { value, .. } => Value::Int(*value),
            Opt::Float(x) => Value::Num(f64::from(*x)),
            Opt::Double(_, x) => Value::Num(*x),
            Opt::Char(_, s) | Opt::Str(_, s) | Opt::Zstr(s) => vm.new_str(s),
            _ => return None,
        })
    }

    /// What `unpack` gives back: a fixed-size string comes back padded.
    fn expected(&self, vm: &mut Vm) -> Option<Value> {
        match self {
            Opt::Char(n, s) => {
                let mut padded = s.clone();
                padded.resize(*n, 0);
                Some(vm.new_str(&padded))
            }
            _ => self.value(vm),
        }
    }
}

/// `value` brought into the range of a `size`-byte integer.
fn in_range(value: i64, size: u32, signed: bool) -> i64 {
    if size >= 8 {
        return value;
    }
    let bits = 8 * size;
    let modulus = 1i64 << bits;
    let v = value.rem_euclid(modulus);
    if signed {
        v - (modulus >> 1)
    } else {
        v
    }
}

fn bytes(max: usize, zeros: bool) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
        .prop_map(move |v| v.into_iter().filter(|&b| zeros || b != 0).collect())
}

fn int_opt() -> impl Strategy<Value = Opt> {
    let fixed = prop::sample::select(vec![
        ("b", true, 1),
        ("B", false, 1),
        ("h", true, 2),
        ("H", false, 2),
        ("l", true, 8),
        ("L", false, 8),
        ("j", true, 8),
        ("J", false, 8),
        ("T", false, 8),
        ("i", true, 4),
        ("I", false, 4),
    ])
    .prop_map(|(l, s, n)| (l.to_string(), s, n));
    let sized = (any::<bool>(), 1u32..=16).prop_map(|(signed, n)| {
        let letter = if signed { "i" } else { "I" };
        (format!("{letter}{n}"), signed, n)
    });
    (prop_oneof![fixed, sized], any::<i64>(), 0u8..3).prop_map(
        |((letter, signed, size), raw, small)| {
            // Small values too, so that sign extension is exercised.
            let raw = if small == 0 { raw % 300 } else { raw };
            Opt::Int {
                letter,
                signed,
                size,
                value: in_range(raw, size, signed),
            }
        },
    )
}

fn opt() -> impl Strategy<Value = Opt> {
    prop_oneof![
        4 => int_opt(),
        1 => any::<f32>().prop_filter("NaN payloads aside", |x| !x.is_nan()).prop_map(Opt::Float),
        1 => (prop::sample::select(vec!['d', 'n']), any::<f64>().prop_filter("no NaN", |x| !x.is_nan()))
            .prop_map(|(c, x)| Opt::Double(c, x)),
        1 => (0usize..12, bytes(12, true)).prop_map(|(n, mut s)| {
            s.truncate(n);
            Opt::Char(n, s)
        }),
        1 => (1u32..=16, bytes(40, true)).prop_map(|(n, s)| Opt::Str(n, s)),
        1 => bytes(20, false).prop_map(Opt::Zstr),
        1 => Just(Opt::Pad),
        1 => (1u32..=16).prop_map(Opt::Align),
        1 => prop::sample::select(vec!['<', '>', '=', ' ']).prop_map(Opt::Setting),
        1 => prop::sample::select(vec![1u32, 2, 4, 8, 16]).prop_map(Opt::MaxAlign),
    ]
}

/// A format whose alignments are all powers of two: sizes that an
/// alignment would use are rounded up where they fall below the cap.
fn format() -> impl Strategy<Value = Vec<Opt>> {
    prop::collection::vec(opt(), 0..12).prop_map(|opts| {
        let mut max_align = 1;
        opts.into_iter()
            .map(|o| match o {
                Opt::MaxAlign(n) => {
                    max_align = n;
                    o
                }
                Opt::Int {
                    signed,
                    size,
                    value,
                    ..
                } if size < max_align && !size.is_power_of_two() => {
                    let size = size.next_power_of_two();
                    let letter = format!("{}{size}", if signed { 'i' } else { 'I' });
                    Opt::Int {
                        letter,
                        signed,
                        size,
                        value: in_range(value, size, signed),
                    }
                }
                Opt::Str(size, s) if size < max_align && !size.is_power_of_two() => {
                    Opt::Str(size.next_power_of_two(), s)
                }
                Opt::Align(size) if size < max_align && !size.is_power_of_two() => {
                    Opt::Align(size.next_power_of_two())
                }
                o => o,
            })
            .collect()
    })
}

fn same(vm: &Vm, a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => x.to_bits() == y.to_bits(),
        (Value::Str(_), Value::Str(_)) => vm.str_bytes(a) == vm.str_bytes(b),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(256), ..ProptestConfig::default() })]

    #[test]
    fn pack_unpack_round_trip(opts in format(), offset in 0usize..3) {
        let mut vm = vm();
        let fns = vm
            .exec(b"return string.pack, string.unpack, string.packsize", "=props")
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let (pack, unpack, packsize) = (fns[0], fns[1], fns[2]);
        let fmt: String = opts.iter().map(Opt::text).collect();
        let fmt_v = vm.new_str(fmt.as_bytes());
        let mut args = vec![fmt_v];
        args.extend(opts.iter().filter_map(|o| o.value(&mut vm)));
        let packed = vm.call(pack, &args).map_err(|e| TestCaseError::fail(format!("pack {fmt:?}: {e:?}")))?[0];
        let data = vm.str_bytes(packed).unwrap_or_default().to_vec();

        // Unpacking from an offset that is a multiple of 16 keeps every
        // alignment, so it reads the same values.
        let mut shifted = vec![0xAA; 16 * offset];
        shifted.extend_from_slice(&data);
        let shifted = vm.new_str(&shifted);
        let init = Value::Int(16 * offset as i64 + 1);
        let out = vm
            .call(unpack, &[fmt_v, shifted, init])
            .map_err(|e| TestCaseError::fail(format!("unpack {fmt:?}: {e:?}")))?;
        let expected: Vec<Value> = opts.iter().filter_map(|o| o.expected(&mut vm)).collect();
        prop_assert_eq!(out.len(), expected.len() + 1, "results of {:?}", fmt);
        for (k, (&got, &want)) in out.iter().zip(&expected).enumerate() {
            prop_assert!(same(&vm, got, want), "value {} of {:?}: {:?} vs {:?}", k, fmt, got, want);
        }
        let next = out.last().copied();
        prop_assert!(
            matches!(next, Some(Value::Int(p)) if p == (16 * offset + data.len()) as i64 + 1),
            "next position {:?} for {:?}", next, fmt
        );

        let variable = opts.iter().any(|o| matches!(o, Opt::Str(..) | Opt::Zstr(_)));
        let size = vm.call(packsize, &[fmt_v]);
        if variable {
            prop_assert!(size.is_err(), "packsize accepted {:?}", fmt);
        } else {
            let size = size.map_err(|e| TestCaseError::fail(format!("packsize {fmt:?}: {e:?}")))?;
            prop_assert!(matches!(size[0], Value::Int(n) if n == data.len() as i64), "packsize of {:?}", fmt);
        }
    }
}
