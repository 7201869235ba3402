//! Values sent from one VM to another (`Vm::pack`, `Vm::unpack`): what
//! travels, what is refused, and that any graph arrives isomorphic.

mod support;

use proptest::prelude::*;
use vm_core::{Value, Vm};

/// Runs `src` in `from`, packs what it returns, unpacks it in `to` and
/// hands it to `check` there (a chunk getting the values as `...`); the
/// results of `check`, as `tostring` renders them.
fn send(from: &mut Vm, src: &str, to: &mut Vm, check: &str) -> String {
    let f = from.load(src.as_bytes(), "=from").expect("compiles");
    let values = from.call(f, &[]).expect("runs");
    let packet = from.pack(&values).expect("packs");
    let values = to.unpack(&packet).expect("unpacks");
    let check = to.load(check.as_bytes(), "=to").expect("compiles");
    let out = to.call(check, &values).unwrap_or_else(|e| {
        let msg = to.error_to_string(&e);
        panic!("{msg}")
    });
    out.iter()
        .map(|&v| to.to_display(v))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn scalars_strings_and_nested_tables_travel() {
    let (mut a, mut b) = (support::vm(), support::vm());
    let out = send(
        &mut a,
        "return nil, true, 42, 2.5, 'bytes\\0with nul', {1, 2, {x = 'y'}, [0.5] = false}",
        &mut b,
        "local n, t, i, f, s, tab = ...
         return n == nil, t, math.type(i), f, #s, #tab, tab[3].x, tab[0.5]",
    );
    assert_eq!(out, "true,true,integer,2.5,14,3,y,false");
}

#[test]
fn sharing_and_cycles_survive_and_metatables_stay_behind() {
    let (mut a, mut b) = (support::vm(), support::vm());
    let out = send(
        &mut a,
        "local shared = {}
         local t = {a = shared, b = shared}
         t.self = t
         t[shared] = 'key'
         setmetatable(t, {__index = function() return 'meta' end})
         return t, shared",
        &mut b,
        "local t, shared = ...
         return t.a == t.b, t.self == t, t[t.a], t.a == shared, getmetatable(t) == nil, t.missing",
    );
    assert_eq!(out, "true,true,key,true,true,nil");
}

#[test]
fn functions_travel_with_copies_of_their_upvalues() {
    let (mut a, mut b) = (support::vm(), support::vm());
    // A recursive local function (a cycle through its upvalue), two
    // closures sharing one cell, and the sender's cell left alone.
    let out = send(
        &mut a,
        "local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
         local count = 10
         local function inc() count = count + 1 return count end
         local function get() return count end
         return fact, inc, get, function() return count end",
        &mut b,
        "local fact, inc, get, peek = ...
         inc() inc()
         return fact(10), get(), peek(), debug.getinfo(fact, 'S').short_src",
    );
    assert_eq!(out, "3628800,12,12,from");
}

#[test]
fn the_globals_table_arrives_as_the_receivers() {
    let (mut a, mut b) = (support::vm(), support::vm());
    a.set_global("where", "sender").unwrap();
    b.set_global("where", "receiver").unwrap();
    let out = send(
        &mut a,
        "return function() return where end, {g = _G}",
        &mut b,
        "local f, t = ... return f(), t.g == _G",
    );
    assert_eq!(out, "receiver,true");
}

#[test]
fn natives_travel_by_identity() {
    let (mut a, mut b) = (support::vm(), support::vm());
    let out = send(
        &mut a,
        "return string.format, math, select('#', print)",
        &mut b,
        "local fmt, m = ...
         return fmt('%d-%s', 7, 'x'), m.floor(2.5), m.pi == math.pi, m.floor == m.floor",
    );
    // (Each arrives as a new function value: `m.floor ~= math.floor`.)
    assert_eq!(out, "7-x,2,true,true");
}

#[test]
fn what_cannot_travel_is_refused_by_name() {
    let mut a = support::vm();
    for (src, what) in [
        (
            "return coroutine.create(print)",
            "cannot send a thread (coroutine)",
        ),
        ("return {deep = {{io.stdout}}}", "cannot send a userdata"),
        ("return 1, 2, rust_closure", "cannot send a Rust closure"),
    ] {
        let f = a.create_function("rust_closure", |_vm, ()| ());
        a.set_global("rust_closure", f).expect("sets");
        let chunk = a.load(src.as_bytes(), "=t").expect("compiles");
        let values = a.call(chunk, &[]).expect("runs");
        let err = a.pack(&values).expect_err(src);
        let msg = a.error_to_string(&err);
        assert!(msg.starts_with(what), "{src}: {msg}");
    }
}

#[test]
fn a_native_the_receiver_lacks_is_an_error_there() {
    let mut a = support::vm();
    let mut b = support::sandboxed();
    let f = a.load(b"return io.write", "=t").expect("compiles");
    let values = a.call(f, &[]).expect("runs");
    let packet = a.pack(&values).expect("packs");
    let err = b
        .unpack(&packet)
        .expect_err("io is not registered in a sandbox");
    assert!(b.error_to_string(&err).contains("io.write"));
}

#[test]
fn a_million_deep_list_copies_without_recursion() {
    let (mut a, mut b) = (support::vm(), support::vm());
    let out = send(
        &mut a,
        "local l = nil for i = 1, 1000000 do l = {next = l, i = i} end return l",
        &mut b,
        "local l, n, sum = ..., 0, 0
         while l do n = n + 1 sum = sum + l.i l = l.next end
         return n, sum",
    );
    assert_eq!(out, "1000000,500000500000");
}

#[test]
fn unpacking_past_the_memory_limit_fails_in_the_receiver_only() {
    let (mut a, mut b) = (support::vm(), support::vm());
    let f = a
        .load(
            b"local t = {} for i = 1, 200000 do t[i] = {i} end return t",
            "=t",
        )
        .expect("compiles");
    let values = a.call(f, &[]).expect("runs");
    let packet = a.pack(&values).expect("packs");
    b.set_memory_limit(Some(2 << 20));
    let err = b.unpack(&packet).expect_err("past the limit");
    assert!(b.error_to_string(&err).contains("not enough memory"));
    // The sender is untouched, and the receiver goes on.
    b.set_memory_limit(None);
    assert_eq!(b.unpack(&packet).expect("fits now").len(), 1);
}

// ---- any graph arrives isomorphic ----

/// `VM_TEST_SCALE` (default 1): `cargo xtask fuzz` runs more cases.
fn scale() -> u32 {
    std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// A random graph: `n` tables, each with entries keyed by small integers
/// or short strings, holding scalars or other tables (so sharing and
/// cycles are common).
fn graph() -> impl Strategy<Value = (usize, Vec<(usize, Key, Val)>)> {
    (1usize..12).prop_flat_map(|n| {
        let entry = (0..n, key(), val(n));
        (Just(n), prop::collection::vec(entry, 0..40))
    })
}

#[derive(Clone, Debug)]
enum Key {
    Int(i64),
    Str(String),
}

#[derive(Clone, Debug)]
enum Val {
    Int(i64),
    Num(f64),
    Str(String),
    Bool(bool),
    Table(usize),
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        (1i64..6).prop_map(Key::Int),
        (-3i64..100).prop_map(Key::Int),
        "[a-c]{1,2}".prop_map(Key::Str),
    ]
}

fn val(n: usize) -> impl Strategy<Value = Val> {
    prop_oneof![
        any::<i64>().prop_map(Val::Int),
        (-1e9f64..1e9).prop_map(Val::Num),
        "[a-z]{0,5}".prop_map(Val::Str),
        any::<bool>().prop_map(Val::Bool),
        (0..n).prop_map(Val::Table),
        (0..n).prop_map(Val::Table),
    ]
}

/// Builds the graph in `vm`; returns its tables.
fn build(vm: &mut Vm, n: usize, entries: &[(usize, Key, Val)]) -> Vec<Value> {
    let mut src = String::from("local t = {}\nfor i = 1, ");
    src += &format!("{n} do t[i] = {{}} end\n");
    for (at, k, v) in entries {
        let k = match k {
            Key::Int(i) => format!("{i}"),
            Key::Str(s) => format!("'{s}'"),
        };
        let v = match v {
            Val::Int(i) => format!("math.tointeger('{i}')"),
            Val::Num(f) => format!("{f:?}"),
            Val::Str(s) => format!("'{s}'"),
            Val::Bool(b) => format!("{b}"),
            Val::Table(j) => format!("t[{}]", j + 1),
        };
        src += &format!("t[{}][{k}] = {v}\n", at + 1);
    }
    src += "return table.unpack(t)";
    let f = vm.load(src.as_bytes(), "=graph").expect("compiles");
    vm.call(f, &[]).expect("runs")
}

/// A table's raw entries.
fn pairs(vm: &mut Vm, t: vm_core::TableRef) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    let mut k = Value::Nil;
    while let Some((key, v)) = vm.next(t, k).expect("iterates") {
        out.push((key, v));
        k = key;
    }
    out
}

/// Whether `xs` in `a` and `ys` in `b` are the same graph: a one-to-one
/// map of tables under which every entry corresponds.
fn isomorphic(a: &mut Vm, xs: &[Value], b: &mut Vm, ys: &[Value]) -> Result<(), String> {
    use std::collections::HashMap;
    let mut there: HashMap<vm_core::TableRef, vm_core::TableRef> = HashMap::new();
    let mut back: HashMap<vm_core::TableRef, vm_core::TableRef> = HashMap::new();
    let mut work: Vec<(Value, Value)> = xs.iter().copied().zip(ys.iter().copied()).collect();
    if xs.len() != ys.len() {
        return Err("value counts differ".into());
    }
    let text = |vm: &mut Vm, v: Value| vm.to_display(v);
    while let Some((x, y)) = work.pop() {
        match (x, y) {
            (Value::Table(s), Value::Table(d)) => {
                match (there.get(&s), back.get(&d)) {
                    (Some(&d2), _) if d2 == d => continue,
                    (None, None) => {
                        there.insert(s, d);
                        back.insert(d, s);
                    }
                    _ => return Err("sharing differs".into()),
                }
                let ex = pairs(a, s);
                let ey = pairs(b, d);
                if ex.len() != ey.len() {
                    return Err(format!("entry counts differ: {} vs {}", ex.len(), ey.len()));
                }
                for (k, v) in ex {
                    let kd = match k {
                        Value::Str(_) => b.new_str(a.to_display(k).as_bytes()),
                        other => other,
                    };
                    let w = b.raw_get(d, kd);
                    work.push((v, w));
                }
            }
            (Value::Str(_), Value::Str(_)) => {
                if text(a, x) != text(b, y) {
                    return Err("strings differ".into());
                }
            }
            (Value::Int(i), Value::Int(j)) if i == j => {}
            (Value::Num(p), Value::Num(q)) if p.to_bits() == q.to_bits() => {}
            (Value::Bool(p), Value::Bool(q)) if p == q => {}
            (Value::Nil, Value::Nil) => {}
            _ => return Err(format!("{} vs {}", text(a, x), text(b, y))),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64 * scale()))]

    #[test]
    fn any_graph_arrives_isomorphic((n, entries) in graph()) {
        let (mut a, mut b) = (support::vm(), support::vm());
        let xs = build(&mut a, n, &entries);
        let packet = a.pack(&xs).expect("packs");
        let ys = b.unpack(&packet).expect("unpacks");
        if let Err(e) = isomorphic(&mut a, &xs, &mut b, &ys) {
            prop_assert!(false, "{e}");
        }
    }
}
