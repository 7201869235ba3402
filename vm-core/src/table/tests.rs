//! Unit tests of `table.rs`: every key type, the array and hash parts and
//! their migrations, borders, traversal order and its edge cases, memory
//! bounds under churn, and a property test of random operations against a
//! model (`table_matches_model`), each step followed by `check_invariants`.

use super::*;
use proptest::prelude::*;
use slotmap::SlotMap;

fn strings(n: usize) -> Vec<StrRef> {
    let mut arena = SlotMap::<StrRef, ()>::with_key();
    (0..n).map(|_| arena.insert(())).collect()
}

/// Same value (nil included); floats by bits.
fn same(a: Value, b: Value) -> bool {
    (a.is_nil() && b.is_nil()) || same_key(a, b)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

/// A full traversal with `next`, checked against `iter`.
fn traverse(t: &Table) -> Vec<(Value, Value)> {
    let mut pairs = Vec::new();
    let mut key = Value::Nil;
    while let Some((k, v)) = t.next(key).expect("traversal key") {
        pairs.push((k, v));
        key = k;
    }
    let iterated: Vec<_> = t.iter().collect();
    assert_eq!(pairs.len(), iterated.len());
    for (a, b) in pairs.iter().zip(&iterated) {
        assert!(same(a.0, b.0) && same(a.1, b.1), "next and iter disagree");
    }
    pairs
}

#[test]
fn hinted_lookups_agree_with_plain_ones_whatever_the_hint() {
    let k = strings(4);
    let mut a = Table::new();
    let mut b = Table::new();
    // The same fields in different orders, one removed and put back.
    for (i, &s) in k[..3].iter().enumerate() {
        a.set_str(s, int(i as i64));
        b.set_str(k[2 - i], int(10 + i as i64));
    }
    a.set_str(k[1], Value::Nil);
    let hint = AtomicU32::new(u32::MAX);
    for _ in 0..3 {
        for t in [&a, &b] {
            for &s in &k {
                let plain = t.get_str(s);
                assert!(same(*t.get_str_hinted(s, Some(&hint)), plain));
                assert!(same(*t.get_str_hinted(s, None), plain));
            }
        }
        a.set_str(k[1], int(7));
    }
    // A hit records where the key is: the next lookup takes the hint.
    a.get_str_hinted(k[2], Some(&hint));
    assert_eq!(hint.load(Ordering::Relaxed), 2);
}

fn assert_border(t: &Table) {
    let n = t.len();
    assert!(n >= 0);
    assert!(n == 0 || !t.get_int(n).is_nil(), "t[{n}] is nil");
    assert!(t.get_int(n + 1).is_nil(), "t[{n}+1] is not nil");
}

fn assert_int_keys(pairs: &[(Value, Value)], expected: &[i64]) {
    let keys: Vec<i64> = pairs
        .iter()
        .map(|(k, _)| match k {
            Value::Int(i) => *i,
            other => panic!("unexpected key {other:?}"),
        })
        .collect();
    assert_eq!(keys, expected);
}

/// The examples the type's documentation used to carry.
#[test]
fn documented_behaviour() {
    let name = strings(1)[0];
    let mut t = Table::new();
    t.set_int(1, int(10));
    t.set_int(2, int(20));
    t.set_str(name, Value::Bool(true));
    t.set(Value::Num(3.0), int(30)).unwrap(); // the key is normalised to 3
    assert_eq!(t.len(), 3);
    assert!(matches!(t.get_int(3), Value::Int(30)));
    let keys: Vec<Value> = t.iter().map(|(k, _)| k).collect();
    assert!(matches!(
        keys[..],
        [Value::Int(1), Value::Int(2), Value::Int(3), Value::Str(_)]
    ));

    let mut t = Table::with_capacity(4, 0); // as for `{1, 2, nil, 4}`
    for k in [1, 2, 4] {
        t.set_int(k, int(k));
    }
    assert_eq!(t.len(), 4);
    t.set_int(4, Value::Nil);
    assert_eq!(t.len(), 2);

    let mut t = Table::new();
    t.set_int(1, Value::Bool(true));
    t.set(Value::Num(0.5), Value::Bool(false)).unwrap();
    let (k1, _) = t.next(Value::Nil).unwrap().unwrap();
    let (k2, _) = t.next(k1).unwrap().unwrap();
    assert!(matches!((k1, k2), (Value::Int(1), Value::Num(f)) if f == 0.5));
    assert!(t.next(k2).unwrap().is_none());
    assert!(t.next(int(7)).is_err());
    assert_eq!(TableError::BadNext.message(), "invalid key to 'next'");
}

#[test]
fn table_is_small_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Table>();
    // Tables are many: the header holds the inline index
    // (`table/index.rs`) but only a pointer to the entries.
    assert!(std::mem::size_of::<Table>() <= 80);
}

#[test]
fn get_and_set_every_key_type() {
    let s = strings(2);
    let mut tables = SlotMap::<TableRef, ()>::with_key();
    let tref = tables.insert(());
    let keys = [
        int(7),
        Value::Num(0.25),
        Value::Str(s[0]),
        Value::Bool(true),
        Value::Bool(false),
        Value::Table(tref),
    ];
    let mut t = Table::new();
    for (i, &k) in keys.iter().enumerate() {
        t.set(k, int(i as i64)).unwrap();
    }
    for (i, &k) in keys.iter().enumerate() {
        assert!(same(t.get(k), int(i as i64)), "key {k:?}");
    }
    assert!(t.get(Value::Str(s[1])).is_nil());
    assert!(t.get_str(s[1]).is_nil());
    assert!(same(t.get_str(s[0]), int(2)));
    assert!(t.get(Value::Num(0.5)).is_nil());
    t.check_invariants();
}

#[test]
fn integral_floats_are_integer_keys() {
    let mut t = Table::new();
    t.set(Value::Num(1.0), int(10)).unwrap();
    t.set(Value::Num(-0.0), int(0)).unwrap();
    t.set(Value::Num(2f64.powi(53)), int(53)).unwrap();
    assert!(same(t.get_int(1), int(10)));
    assert!(same(t.get(int(1)), int(10)));
    assert!(same(t.get_int(0), int(0)));
    assert!(same(t.get(Value::Num(0.0)), int(0)));
    assert!(same(t.get_int(1 << 53), int(53)));
    let pairs = traverse(&t);
    assert_int_keys(&pairs, &[1, 0, 1 << 53]);
    // Non-integral and infinite floats stay floats.
    t.set(Value::Num(1.5), int(15)).unwrap();
    t.set(Value::Num(f64::INFINITY), int(99)).unwrap();
    assert!(same(t.get(Value::Num(1.5)), int(15)));
    assert!(same(t.get(Value::Num(f64::INFINITY)), int(99)));
    assert!(t.get(Value::Num(f64::NEG_INFINITY)).is_nil());
    // The i64 range ends exactly: -2^63 is an integer, 2^63 is not.
    t.set(Value::Num(-TWO_63), int(-63)).unwrap();
    t.set(Value::Num(TWO_63), int(63)).unwrap();
    assert!(same(t.get_int(i64::MIN), int(-63)));
    assert!(t.get_int(i64::MAX).is_nil());
    assert!(same(t.get(Value::Num(TWO_63)), int(63)));
    assert!(matches!(t.next(int(1 << 53)).unwrap(), Some((Value::Num(f), _)) if f == 1.5));
    t.check_invariants();
}

#[test]
fn nil_and_nan_keys() {
    let mut t = Table::new();
    assert_eq!(t.set(Value::Nil, int(1)), Err(TableError::NilIndex));
    assert_eq!(t.set(Value::Nil, Value::Nil), Err(TableError::NilIndex));
    assert_eq!(
        t.set(Value::Num(f64::NAN), int(1)),
        Err(TableError::NaNIndex)
    );
    assert_eq!(
        t.set(Value::Num(f64::NAN), Value::Nil),
        Err(TableError::NaNIndex)
    );
    assert!(t.get(Value::Nil).is_nil());
    assert!(t.get(Value::Num(f64::NAN)).is_nil());
    assert_eq!(
        t.next(Value::Num(f64::NAN)).err(),
        Some(TableError::BadNext)
    );
    assert!(t.is_empty());
    assert_eq!(TableError::NilIndex.message(), "table index is nil");
    assert_eq!(TableError::NaNIndex.message(), "table index is NaN");
    assert_eq!(TableError::BadNext.to_string(), "invalid key to 'next'");
}

#[test]
fn nil_on_absent_key_inserts_nothing() {
    let s = strings(1);
    let mut t = Table::new();
    let before = t.approx_bytes();
    t.set_int(1, Value::Nil);
    t.set_int(5, Value::Nil);
    t.set_int(-5, Value::Nil);
    t.set_str(s[0], Value::Nil);
    t.set(Value::Num(0.5), Value::Nil).unwrap();
    assert!(t.is_empty());
    assert_eq!(t.approx_bytes(), before);
    assert_eq!(t.hash.entries.len(), 0);
    assert_eq!(t.array.len(), 0);
    assert!(matches!(t.next(Value::Nil), Ok(None)));
}

#[test]
fn zero_negative_and_huge_integer_keys() {
    let mut t = Table::new();
    let keys = [0, -1, i64::MIN, i64::MAX, i64::MAX - 1, 1 << 40];
    for (i, &k) in keys.iter().enumerate() {
        t.set_int(k, int(i as i64));
    }
    for (i, &k) in keys.iter().enumerate() {
        assert!(same(t.get_int(k), int(i as i64)));
    }
    assert_eq!(t.len(), 0);
    assert_int_keys(&traverse(&t), &keys);
    t.set_int(1, int(1));
    assert_eq!(t.len(), 1);
    assert!(t.get_int(2).is_nil());
    t.check_invariants();
}

#[test]
fn appends_use_the_array_part() {
    let mut t = Table::new();
    for i in 1..=1000 {
        t.set_int(t.len() + 1, int(i));
    }
    assert_eq!(t.len(), 1000);
    assert_eq!(t.array.len(), 1000);
    assert!(t.hash.entries.is_empty());
    assert!(same(t.get_int(500), int(500)));
    t.check_invariants();
}

#[test]
fn reverse_fill_migrates_into_the_array() {
    let mut t = Table::new();
    for i in (1..=100).rev() {
        t.set_int(i, int(i));
        t.check_invariants();
    }
    assert_eq!(t.len(), 100);
    assert!(t.array.len() >= 100);
    assert_eq!(t.hash.live_entries().count(), 0);
    let expected: Vec<i64> = (1..=100).collect();
    assert_int_keys(&traverse(&t), &expected);
}

#[test]
fn dense_keys_without_one_move_to_the_array_on_rehash() {
    let mut t = Table::new();
    for i in 2..=64 {
        t.set_int(i, int(i));
        t.check_invariants();
    }
    assert!(
        !t.array.is_empty(),
        "computesizes should pick an array part"
    );
    assert_border(&t);
    t.set_int(1, int(1));
    assert_eq!(t.len(), 64);
    t.check_invariants();
}

#[test]
fn len_borders() {
    let mut t = Table::new();
    assert_eq!(t.len(), 0);
    // Only hash keys: t[1] is nil, so 0 is the border.
    t.set_int(2, int(2));
    assert_eq!(t.len(), 0);
    // `{nil, nil, 3}` as a constructor builds it.
    let mut c = Table::with_capacity(3, 0);
    c.set_int(1, Value::Nil);
    c.set_int(2, Value::Nil);
    c.set_int(3, int(3));
    assert_eq!(c.len(), 3);
    // Holes: a border inside the array when its last slot is nil.
    let mut h = Table::new();
    for i in 1..=10 {
        h.set_int(i, int(i));
    }
    h.set_int(5, Value::Nil);
    assert_eq!(h.len(), 10, "last slot non-nil: n is a border");
    h.set_int(10, Value::Nil);
    assert_border(&h);
    for i in (1..=10).rev() {
        h.set_int(i, Value::Nil);
        assert_border(&h);
    }
    assert_eq!(h.len(), 0);
    // Preallocated but empty.
    assert_eq!(Table::with_capacity(8, 0).len(), 0);
    // Key n+1 present after a migration: still a border.
    let mut m = Table::new();
    m.set_int(3, int(3));
    m.set_int(1, int(1));
    assert_eq!(m.len(), 1);
    m.set_int(2, int(2));
    assert_eq!(m.len(), 3);
}

#[test]
fn grow_array_keeps_constructor_borders() {
    // `{f()}` where f returns nil, 2.
    let mut t = Table::new();
    t.grow_array(2);
    t.set_int(1, Value::Nil);
    t.set_int(2, int(2));
    assert_eq!(t.len(), 2);
    // Existing hash keys move into the grown array, and the run above.
    let mut u = Table::new();
    u.set_int(3, int(3));
    u.set_int(4, int(4));
    u.set_int(6, int(6));
    u.grow_array(2);
    assert_eq!(u.array.len(), 4);
    assert_eq!(u.len(), 4);
    assert!(same(u.get_int(6), int(6)));
    u.check_invariants();
    u.grow_array(1);
    assert_eq!(u.array.len(), 4, "never shrinks");
}

#[test]
fn traversal_order_is_array_then_insertion_order() {
    let s = strings(4);
    let mut t = Table::new();
    // Insert strings in the reverse of their handle order.
    for (i, &k) in s.iter().enumerate().rev() {
        t.set_str(k, int(i as i64));
    }
    t.set_int(2, int(2));
    t.set_int(1, int(1));
    t.set(Value::Num(0.5), int(5)).unwrap();
    let pairs = traverse(&t);
    let keys: Vec<String> = pairs.iter().map(|(k, _)| format!("{k:?}")).collect();
    let mut expected = vec![format!("{:?}", int(1)), format!("{:?}", int(2))];
    expected.extend(s.iter().rev().map(|&k| format!("{:?}", Value::Str(k))));
    expected.push(format!("{:?}", Value::Num(0.5)));
    assert_eq!(keys, expected);
}

#[test]
fn order_is_deterministic_across_handle_values() {
    // Two heaps whose handles differ (the second skips slots) give the
    // same order for the same insertion history.
    let mut a = SlotMap::<StrRef, ()>::with_key();
    let mut b = SlotMap::<StrRef, ()>::with_key();
    let ka: Vec<_> = (0..50).map(|_| a.insert(())).collect();
    let kb: Vec<_> = (0..100).map(|_| b.insert(())).filter(|_| true).collect();
    let kb: Vec<_> = kb.into_iter().rev().step_by(2).collect();
    let (mut ta, mut tb) = (Table::new(), Table::new());
    for i in 0..50 {
        ta.set_str(ka[i], int(i as i64));
        tb.set_str(kb[i], int(i as i64));
        if i % 7 == 3 {
            ta.set_str(ka[i / 2], Value::Nil);
            tb.set_str(kb[i / 2], Value::Nil);
        }
    }
    let va: Vec<_> = traverse(&ta).into_iter().map(|(_, v)| v).collect();
    let vb: Vec<_> = traverse(&tb).into_iter().map(|(_, v)| v).collect();
    assert_eq!(va.len(), vb.len());
    assert!(va.iter().zip(&vb).all(|(x, y)| same(*x, *y)));
}

#[test]
fn next_errors_and_edges() {
    let s = strings(2);
    let mut t = Table::new();
    t.set_int(1, int(1));
    t.set_int(2, int(2));
    t.set_str(s[0], int(3));
    assert_eq!(t.next(int(5)).err(), Some(TableError::BadNext));
    assert_eq!(t.next(Value::Str(s[1])).err(), Some(TableError::BadNext));
    assert_eq!(t.next(Value::Bool(true)).err(), Some(TableError::BadNext));
    assert!(matches!(t.next(Value::Str(s[0])), Ok(None)));
    // A float key that normalises to an array key.
    assert!(matches!(
        t.next(Value::Num(1.0)),
        Ok(Some((Value::Int(2), _)))
    ));
    // An array hole is still a valid position.
    t.set_int(1, Value::Nil);
    assert!(matches!(t.next(int(1)), Ok(Some((Value::Int(2), _)))));
    assert!(matches!(t.next(Value::Nil), Ok(Some((Value::Int(2), _)))));
}

#[test]
fn removing_during_traversal_visits_everything_once() {
    let s = strings(20);
    let mut t = Table::new();
    for i in 1..=20 {
        t.set_int(i, int(i));
        t.set_int(100 + i, int(100 + i));
        t.set_str(s[i as usize - 1], int(200 + i));
    }
    let mut seen = Vec::new();
    let mut key = Value::Nil;
    while let Some((k, v)) = t.next(key).unwrap() {
        seen.push(v);
        t.set(k, Value::Nil).unwrap();
        // Overwriting other existing keys is allowed too.
        t.set_int(20, int(20));
        key = k;
    }
    assert_eq!(seen.len(), 60);
    let mut values: Vec<i64> = seen
        .iter()
        .map(|v| match v {
            Value::Int(i) => *i,
            _ => panic!(),
        })
        .collect();
    values.sort_unstable();
    values.dedup();
    assert_eq!(values.len(), 60);
    // Only t[20] survives (it was reassigned after its removal).
    assert_int_keys(&traverse(&t), &[20]);
    t.check_invariants();
}

#[test]
fn flags_reset_only_when_a_string_key_appears() {
    let s = strings(2);
    let mut t = Table::new();
    t.flags = 0xFF;
    t.set_str(s[0], int(1));
    assert_eq!(t.flags, 0, "new string key");
    t.flags = 0xFF;
    t.set_str(s[0], int(2));
    t.set(Value::Str(s[0]), int(3)).unwrap();
    assert_eq!(t.flags, 0xFF, "overwrite");
    t.set_str(s[0], Value::Nil);
    t.set_str(s[1], Value::Nil);
    assert_eq!(t.flags, 0xFF, "removal, or nil on an absent key");
    t.set_int(1, int(1));
    t.set_int(-1, int(1));
    t.set(Value::Bool(true), int(1)).unwrap();
    assert_eq!(t.flags, 0xFF, "non-string keys");
    t.set(Value::Str(s[0]), int(4)).unwrap();
    assert_eq!(t.flags, 0, "revived string key");
}

#[test]
fn clear_where_keeps_traversal_valid() {
    let mut t = Table::new();
    for i in 1..=10 {
        t.set_int(i, int(i));
        t.set_int(-i, int(-i));
    }
    let (k, _) = t.next(int(-3)).unwrap().unwrap();
    let cleared = t.clear_where(|_, v| matches!(v, Value::Int(i) if i % 2 == 0));
    assert_eq!(cleared, 10);
    // `next` continues from keys that were just cleared.
    assert!(t.next(k).is_ok());
    assert!(t.next(int(-4)).is_ok());
    let rest: Vec<i64> = t
        .iter()
        .map(|(k, _)| match k {
            Value::Int(i) => i,
            _ => panic!(),
        })
        .collect();
    assert_eq!(rest, [1, 3, 5, 7, 9, -1, -3, -5, -7, -9]);
    assert!(!t.is_empty());
    assert_eq!(t.clear_where(|_, _| true), 10);
    assert!(t.is_empty());
    t.check_invariants();
}

#[test]
fn queue_memory_stays_bounded() {
    let mut t = Table::new();
    let (mut head, mut tail) = (1, 0);
    let mut peak = 0;
    for round in 0..100_000 {
        tail += 1;
        t.set_int(tail, int(tail));
        if round >= 10 {
            assert!(same(t.get_int(head), int(head)));
            t.set_int(head, Value::Nil);
            head += 1;
        }
        if round > 1000 {
            peak = peak.max(t.approx_bytes());
        }
    }
    t.check_invariants();
    assert!(peak < 4096, "queue of 10 uses {peak} bytes");
}

#[test]
fn churn_next_to_a_large_array_does_not_rescan_it() {
    // Each insertion of a new key into a full hash part of tombstones
    // must compact the hash part, not rehash the whole table: rescanning
    // the 100k array every time would make this loop take seconds.
    let s = strings(20_000);
    let mut t = Table::new();
    for i in 1..=100_000 {
        t.set_int(i, int(i));
    }
    for &k in &s {
        t.set_str(k, int(1));
        t.set_str(k, Value::Nil);
    }
    assert!(t.hash.capacity() <= 2);
    assert_eq!(t.len(), 100_000);
    t.check_invariants();
}

#[test]
fn churn_compacts_tombstones() {
    let s = strings(1000);
    let mut t = Table::new();
    for i in 0..1000 {
        t.set_str(s[i], int(i as i64));
        if i >= 8 {
            t.set_str(s[i - 8], Value::Nil);
        }
    }
    t.check_invariants();
    assert!(t.hash.capacity() <= 32, "capacity {}", t.hash.capacity());
    assert_eq!(t.iter().count(), 8);
}

#[test]
fn sparse_array_shrinks_on_rehash() {
    let s = strings(1);
    let mut t = Table::new();
    for i in 1..=1024 {
        t.set_int(i, int(i));
    }
    for i in 1..=1020 {
        t.set_int(i, Value::Nil);
    }
    t.set_str(s[0], int(0));
    assert!(t.array.len() < 1024);
    assert_int_keys(&traverse(&t)[..4], &[1021, 1022, 1023, 1024]);
    assert_border(&t);
    t.check_invariants();
}

#[test]
fn with_capacity_preallocates_and_caps() {
    let t = Table::with_capacity(4, 5);
    assert_eq!(t.array.len(), 4);
    assert_eq!(t.hash.capacity(), 8);
    assert!(t.is_empty());
    let big = Table::with_capacity(usize::MAX, usize::MAX);
    assert_eq!(big.array.len(), MAX_PREALLOC);
    assert!(big.approx_bytes() > MAX_PREALLOC * 16);
    big.check_invariants();
}

#[test]
fn approx_bytes_grows_with_contents() {
    let mut t = Table::new();
    let empty = t.approx_bytes();
    for i in 1..=100 {
        t.set_int(i, int(i));
        t.set_int(-i, int(i));
    }
    assert!(t.approx_bytes() >= empty + 100 * 16 + 100 * 32);
}

// ---- Model-based property test ----

/// A key as generated: strings are indices into a pool of handles.
#[derive(Clone, Copy, Debug)]
enum GenKey {
    Int(i64),
    Float(f64),
    Str(usize),
    Bool(bool),
    Nil,
}

/// A normalised key, as the model stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ModelKey {
    Int(i64),
    Float(u64),
    Str(usize),
    Bool(bool),
}

#[derive(Clone, Debug)]
enum Op {
    Set(GenKey, Option<i64>),
    Get(GenKey),
    Next(GenKey),
    /// A full traversal that removes the values divisible by the modulus.
    Traverse(i64),
    ClearWhere(i64),
    GrowArray(usize),
    /// `Set` on each integer key of a range: builds dense arrays, then
    /// holes and sparse arrays when the value is nil.
    SetRange(i64, i64, Option<i64>),
}

const POOL: usize = 40;
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

fn gen_key(max_int: i64) -> impl Strategy<Value = GenKey> {
    prop_oneof![
        8 => (-3..max_int).prop_map(GenKey::Int),
        1 => prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1, 1 << 40]).prop_map(GenKey::Int),
        2 => prop::sample::select(vec![1.0, 2.0, 3.0, -0.0, 0.5, 2.5, -TWO_63, TWO_63, f64::INFINITY, f64::NAN])
            .prop_map(GenKey::Float),
        3 => (0..POOL).prop_map(GenKey::Str),
        1 => any::<bool>().prop_map(GenKey::Bool),
        1 => Just(GenKey::Nil),
    ]
}

fn gen_op(max_int: i64, present: f64) -> impl Strategy<Value = Op> {
    let value = move || prop::option::weighted(present, 0..1000i64);
    prop_oneof![
        12 => (gen_key(max_int), value()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (-2..max_int, 0..max_int, value()).prop_map(|(a, n, v)| Op::SetRange(a, n, v)),
        3 => gen_key(max_int).prop_map(Op::Get),
        2 => gen_key(max_int).prop_map(Op::Next),
        1 => (2..6i64).prop_map(Op::Traverse),
        1 => (2..6i64).prop_map(Op::ClearWhere),
        1 => (0..64usize).prop_map(Op::GrowArray),
    ]
}

fn gen_case() -> impl Strategy<Value = Vec<Op>> {
    (prop_oneof![Just(40i64), Just(300i64)], 0.4..0.9f64)
        .prop_flat_map(|(max_int, present)| prop::collection::vec(gen_op(max_int, present), 0..300))
}

fn to_value(key: GenKey, pool: &[StrRef]) -> Value {
    match key {
        GenKey::Int(i) => Value::Int(i),
        GenKey::Float(f) => Value::Num(f),
        GenKey::Str(i) => Value::Str(pool[i]),
        GenKey::Bool(b) => Value::Bool(b),
        GenKey::Nil => Value::Nil,
    }
}

/// The model's own normalisation (independent of `normalise`).
fn model_key(key: GenKey) -> Result<ModelKey, TableError> {
    Ok(match key {
        GenKey::Int(i) => ModelKey::Int(i),
        GenKey::Float(f) if f.is_nan() => return Err(TableError::NaNIndex),
        GenKey::Float(f) if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) => {
            ModelKey::Int(f as i64)
        }
        GenKey::Float(f) => ModelKey::Float(f.to_bits()),
        GenKey::Str(i) => ModelKey::Str(i),
        GenKey::Bool(b) => ModelKey::Bool(b),
        GenKey::Nil => return Err(TableError::NilIndex),
    })
}

fn from_value(key: Value, pool: &[StrRef]) -> ModelKey {
    match key {
        Value::Int(i) => ModelKey::Int(i),
        Value::Num(f) => ModelKey::Float(f.to_bits()),
        Value::Str(s) => ModelKey::Str(pool.iter().position(|&p| p == s).unwrap()),
        Value::Bool(b) => ModelKey::Bool(b),
        other => panic!("unexpected key {other:?}"),
    }
}

fn value_int(v: Value) -> i64 {
    match v {
        Value::Int(i) => i,
        other => panic!("unexpected value {other:?}"),
    }
}

/// Live pairs: the order is not modelled, only the contents.
#[derive(Default)]
struct Model(Vec<(ModelKey, i64)>);

impl Model {
    fn get(&self, key: ModelKey) -> Option<i64> {
        self.0.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }
    fn set(&mut self, key: ModelKey, value: Option<i64>) {
        self.0.retain(|(k, _)| *k != key);
        if let Some(v) = value {
            self.0.push((key, v));
        }
    }
    fn sorted(&self) -> Vec<(ModelKey, i64)> {
        let mut pairs = self.0.clone();
        pairs.sort_unstable();
        pairs
    }
}

fn sorted_pairs(pairs: &[(Value, Value)], pool: &[StrRef]) -> Vec<(ModelKey, i64)> {
    let mut out: Vec<_> = pairs
        .iter()
        .map(|&(k, v)| (from_value(k, pool), value_int(v)))
        .collect();
    out.sort_unstable();
    out
}

fn apply(t: &mut Table, model: &mut Model, op: &Op, pool: &[StrRef]) {
    match *op {
        Op::Set(key, value) => {
            let v = value.map_or(Value::Nil, Value::Int);
            let result = t.set(to_value(key, pool), v);
            match model_key(key) {
                Ok(k) => {
                    assert_eq!(result, Ok(()));
                    model.set(k, value);
                }
                Err(e) => assert_eq!(result, Err(e)),
            }
        }
        Op::Get(key) => {
            let got = t.get(to_value(key, pool));
            let expected = model_key(key).ok().and_then(|k| model.get(k));
            assert_eq!(got.is_nil(), expected.is_none());
            if let Some(e) = expected {
                assert_eq!(value_int(got), e);
            }
        }
        Op::Next(key) => {
            // A present key (or nil) must give its successor in `iter`
            // order; absent keys may be array holes or tombstones, which
            // `next` also accepts, so only "no panic" is checked for them.
            let order: Vec<ModelKey> = t.iter().map(|(k, _)| from_value(k, pool)).collect();
            let position = match model_key(key) {
                Ok(k) if model.get(k).is_some() => {
                    order.iter().position(|&o| o == k).map(|p| p + 1)
                }
                Err(TableError::NilIndex) => Some(0),
                _ => None,
            };
            let result = t.next(to_value(key, pool));
            if let Some(p) = position {
                let got = result.unwrap().map(|(k, _)| from_value(k, pool));
                assert_eq!(got, order.get(p).copied());
            }
        }
        Op::Traverse(modulus) => {
            let before = model.sorted();
            let mut visited = Vec::new();
            let mut key = Value::Nil;
            while let Some((k, v)) = t.next(key).unwrap() {
                visited.push((k, v));
                if value_int(v) % modulus == 0 {
                    t.set(k, Value::Nil).unwrap();
                    model.set(from_value(k, pool), None);
                }
                key = k;
            }
            assert_eq!(sorted_pairs(&visited, pool), before);
        }
        Op::ClearWhere(modulus) => {
            let cleared = t.clear_where(|_, v| value_int(v) % modulus == 0);
            let before = model.0.len();
            model.0.retain(|&(_, v)| v % modulus != 0);
            assert_eq!(cleared, before - model.0.len());
        }
        Op::GrowArray(len) => t.grow_array(len),
        Op::SetRange(start, n, value) => {
            for i in start..start + n {
                apply(t, model, &Op::Set(GenKey::Int(i), value), pool);
            }
        }
    }
}

fn test_scale() -> u32 {
    std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128 * test_scale()))]

    #[test]
    fn table_matches_model(ops in gen_case()) {
        let pool = strings(POOL);
        let mut t = Table::new();
        let mut model = Model::default();
        for op in &ops {
            // Only a string key going from absent to present resets flags.
            t.flags = 0xA5;
            let resets = matches!(*op, Op::Set(GenKey::Str(i), Some(_))
                if model.get(ModelKey::Str(i)).is_none());
            apply(&mut t, &mut model, op, &pool);
            prop_assert_eq!(t.flags, if resets { 0 } else { 0xA5 });
            t.check_invariants();
            assert_border(&t);
            for &(k, v) in &model.0 {
                let key = match k {
                    ModelKey::Int(i) => Value::Int(i),
                    ModelKey::Float(b) => Value::Num(f64::from_bits(b)),
                    ModelKey::Str(i) => Value::Str(pool[i]),
                    ModelKey::Bool(b) => Value::Bool(b),
                };
                prop_assert_eq!(value_int(t.get(key)), v);
            }
        }
        prop_assert_eq!(sorted_pairs(&traverse(&t), &pool), model.sorted());
        prop_assert_eq!(t.is_empty(), model.0.is_empty());

        // Determinism: replaying the history gives the same order.
        let mut replay = Table::new();
        let mut replay_model = Model::default();
        for op in &ops {
            apply(&mut replay, &mut replay_model, op, &pool);
        }
        let (a, b) = (traverse(&t), traverse(&replay));
        prop_assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            prop_assert!(same(x.0, y.0) && same(x.1, y.1));
        }
    }
}
