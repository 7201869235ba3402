//! Owned handles: they keep their objects across collections, release
//! them on drop, refuse other VMs, and convert keys, values, arguments and
//! results through the typed traits.

use vm_core::{
    AnyUserData, FromLua, Function, LuaString, Table, Thread, ThreadStatus, Value, Variadic, Vm,
};

fn churn(vm: &mut Vm) {
    vm.exec(
        b"local t = {} for i = 1, 2000 do t[i] = {i, 'x' .. i} end",
        "=churn",
    )
    .unwrap();
    vm.full_gc();
    vm.check_invariants().unwrap();
}

#[test]
fn handles_keep_objects_across_collections() {
    let mut vm = Vm::new();
    vm.exec(
        b"t = {x = 1, list = {10, 20, 30}}
          f = function(a, b) return a + b, a * b end
          s = 'a string made at run time' .. 1",
        "=setup",
    )
    .unwrap();
    let t: Table = vm.globals().get(&mut vm, "t").unwrap();
    let f: Function = vm.globals().get(&mut vm, "f").unwrap();
    let s: LuaString = vm.globals().get(&mut vm, "s").unwrap();
    let th = vm.create_thread(&f).unwrap();
    let u = vm.create_userdata(vec![1u32, 2, 3]).unwrap();
    vm.exec(b"t, f, s = nil, nil, nil", "=forget").unwrap();
    for _ in 0..5 {
        churn(&mut vm);
    }
    assert_eq!(t.get::<_, i64>(&mut vm, "x").unwrap(), 1);
    let list: Table = t.get(&mut vm, "list").unwrap();
    assert_eq!(list.raw_len(&mut vm).unwrap(), 3);
    let (sum, product): (i64, i64) = f.call(&mut vm, (6, 7)).unwrap();
    assert_eq!((sum, product), (13, 42));
    assert_eq!(s.as_bytes(&mut vm).unwrap(), b"a string made at run time1");
    assert_eq!(s.to_str(&mut vm).unwrap(), "a string made at run time1");
    assert_eq!(th.status(&mut vm).unwrap(), ThreadStatus::Suspended);
    assert_eq!(u.borrow::<Vec<u32>>(&mut vm).unwrap(), &[1, 2, 3]);
    u.borrow_mut::<Vec<u32>>(&mut vm).unwrap().push(4);
    assert_eq!(u.borrow::<Vec<u32>>(&mut vm).unwrap().len(), 4);
    let e = u.borrow::<String>(&mut vm).unwrap_err();
    assert!(
        e.to_string()
            .contains("does not hold a value of type alloc::string::String"),
        "{e}"
    );
}

#[test]
fn dropping_the_last_clone_releases_the_object() {
    let mut vm = Vm::new();
    vm.full_gc();
    let base = vm.object_count();
    let t = vm.create_table().unwrap();
    for i in 1..=100 {
        let inner = vm.create_table().unwrap();
        inner.set(&mut vm, 1, i).unwrap();
        t.push(&mut vm, inner).unwrap();
    }
    let clone = t.clone();
    drop(t);
    vm.full_gc();
    assert_eq!(vm.object_count(), base + 101, "a clone keeps everything");
    assert_eq!(clone.raw_len(&mut vm).unwrap(), 100);
    drop(clone);
    vm.full_gc();
    assert_eq!(vm.object_count(), base, "nothing is held any more");
}

#[test]
fn a_handle_dropped_on_another_thread_is_released() {
    let mut vm = Vm::new();
    vm.full_gc();
    let base = vm.object_count();
    let t = vm.create_table().unwrap();
    let f = vm.create_function("id", |_, v: Value| v);
    std::thread::spawn(move || drop((t, f))).join().unwrap();
    vm.full_gc();
    assert_eq!(vm.object_count(), base);
}

#[test]
fn many_short_lived_handles_do_not_pile_up() {
    let mut vm = Vm::new();
    let t = vm.create_table().unwrap();
    for i in 0..100_000 {
        let s = vm.create_string(format!("k{}", i % 10)).unwrap();
        t.raw_set(&mut vm, &s, i).unwrap();
    }
    vm.full_gc();
    let n = t.pairs::<String, i64>(&mut vm).count();
    assert_eq!(n, 10);
}

#[test]
fn handles_refuse_another_vm() {
    let mut a = Vm::new();
    let mut b = Vm::new();
    let t = a.create_table().unwrap();
    let f: Function = a.eval(b"return function() return 1 end", "=f").unwrap();
    let s = a.create_string("text").unwrap();
    let u = a.create_userdata(5u8).unwrap();
    let th = a.create_thread(&f).unwrap();
    let foreign = |r: Result<(), vm_core::LuaError>| {
        let e = r.expect_err("a handle of another VM must be refused");
        assert!(e.to_string().contains("another VM"), "{e}");
    };
    foreign(t.get::<_, Value>(&mut b, 1).map(drop));
    foreign(t.set(&mut b, 1, 2));
    foreign(t.raw_get::<_, Value>(&mut b, 1).map(drop));
    foreign(t.raw_set(&mut b, 1, 2));
    foreign(t.len(&mut b).map(drop));
    foreign(t.raw_len(&mut b).map(drop));
    foreign(t.push(&mut b, 1));
    foreign(t.metatable(&mut b).map(drop));
    foreign(t.set_metatable(&mut b, None));
    foreign(t.pairs::<Value, Value>(&mut b).next().unwrap().map(drop));
    foreign(t.sequence_values::<Value>(&mut b).next().unwrap().map(drop));
    foreign(f.call::<_, ()>(&mut b, ()));
    foreign(s.as_bytes(&mut b).map(drop));
    foreign(s.to_str(&mut b).map(drop));
    foreign(u.borrow::<u8>(&mut b).map(drop));
    foreign(u.borrow_mut::<u8>(&mut b).map(drop));
    foreign(th.status(&mut b).map(drop));
    foreign(b.create_thread(&f).map(drop));
    foreign(b.set_global("x", &t));
    foreign(b.globals().set(&mut b, "x", &f));
    foreign(b.globals().set(&mut b, &s, 1));
    let bt = b.create_table().unwrap();
    foreign(t.set_metatable(&mut a, Some(&bt)));
    foreign(f.call::<_, ()>(&mut a, &bt));
    // Nothing of `b` changed, and `a` still works.
    assert!(b.get_global("x").is_nil());
    assert_eq!(f.call::<_, i64>(&mut a, ()).unwrap(), 1);
}

#[test]
fn get_and_set_use_metamethods_raw_access_does_not() {
    let mut vm = Vm::new();
    let (t, mt): (Table, Table) = vm
        .eval(
            b"return {}, {
                __index = function(_, k) return 'default ' .. k end,
                __newindex = function(t, k, v) local mt = __mt __mt = nil
                  setmeta(t, nil) t[k] = v * 2 setmeta(t, mt) end,
                __len = function() return 99 end,
              }",
            "=mt",
        )
        .unwrap();
    t.set_metatable(&mut vm, Some(&mt)).unwrap();
    // `__newindex` writes raw by taking the metatable off for a moment.
    let setmeta = vm.create_function("setmeta", |vm, (t, mt): (Table, Option<Table>)| {
        t.set_metatable(vm, mt.as_ref())
    });
    vm.set_global("setmeta", setmeta).unwrap();
    vm.set_global("__mt", &mt).unwrap();
    assert_eq!(t.get::<_, String>(&mut vm, "a").unwrap(), "default a");
    assert_eq!(t.raw_get::<_, Option<String>>(&mut vm, "a").unwrap(), None);
    t.set(&mut vm, "n", 21).unwrap();
    assert_eq!(t.raw_get::<_, i64>(&mut vm, "n").unwrap(), 42);
    t.raw_set(&mut vm, "m", 1).unwrap();
    assert_eq!(t.get::<_, i64>(&mut vm, "m").unwrap(), 1);
    assert_eq!(t.len(&mut vm).unwrap(), 99);
    assert_eq!(t.raw_len(&mut vm).unwrap(), 0);
    let mt = t.metatable(&mut vm).unwrap().expect("a metatable");
    assert!(mt.raw_get::<_, Function>(&mut vm, "__index").is_ok());
    t.set_metatable(&mut vm, None).unwrap();
    assert_eq!(t.get::<_, Option<String>>(&mut vm, "zz").unwrap(), None);
    // Errors of a metamethod and of a bad key are Lua errors.
    let (strict, mt): (Table, Table) = vm
        .eval(
            b"return {}, {__index = function(_, k) return k .. nil end}",
            "=strict",
        )
        .unwrap();
    strict.set_metatable(&mut vm, Some(&mt)).unwrap();
    let e = strict.get::<_, Value>(&mut vm, "q").unwrap_err();
    assert!(
        e.to_string().contains("attempt to concatenate a nil value"),
        "{e}"
    );
    let e = strict.raw_set(&mut vm, Value::Nil, 1).unwrap_err();
    assert!(e.to_string().contains("index is nil"), "{e}");
    let e = strict.raw_set(&mut vm, f64::NAN, 1).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    let e = t.get::<_, i64>(&mut vm, "missing").unwrap_err();
    assert!(e.to_string().contains("number expected, got nil"), "{e}");
}

#[test]
fn iteration_is_typed_and_ordered_like_next() {
    let mut vm = Vm::new();
    let t: Table = vm
        .eval(b"return {10, 20, 30, nil, 50, x = 'y'}", "=t")
        .unwrap();
    let seq: Vec<i64> = t
        .sequence_values(&mut vm)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(seq, [10, 20, 30]);
    let mut pairs: Vec<(String, String)> = t
        .pairs::<String, String>(&mut vm)
        .collect::<Result<_, _>>()
        .unwrap();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("1", "10"),
            ("2", "20"),
            ("3", "30"),
            ("5", "50"),
            ("x", "y")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    // A pair that does not convert is an error, and the iteration goes on.
    let mut it = t.pairs::<i64, i64>(&mut vm);
    let items: Vec<_> = it.by_ref().collect();
    assert_eq!(items.len(), 5);
    assert_eq!(items.iter().filter(|r| r.is_err()).count(), 1);
    // Assigning to existing fields while iterating is allowed.
    let keys: Vec<Value> = t
        .pairs::<Value, Value>(&mut vm)
        .map(|r| r.unwrap().0)
        .collect();
    for k in keys {
        t.raw_set(&mut vm, k, 0).unwrap();
    }
    let total: i64 = t.pairs::<Value, i64>(&mut vm).map(|r| r.unwrap().1).sum();
    assert_eq!(total, 0);
}

#[test]
fn calls_convert_arguments_and_results() {
    let mut vm = Vm::new();
    let f: Function = vm
        .eval(
            b"return function(...) local t = {...} return #t, ... end",
            "=f",
        )
        .unwrap();
    let n: i64 = f.call(&mut vm, ()).unwrap();
    assert_eq!(n, 0);
    let (n, a, b, c): (i64, String, Option<i64>, bool) = f.call(&mut vm, ("x", 2, true)).unwrap();
    assert_eq!((n, a.as_str(), b, c), (3, "x", Some(2), true));
    let all: Variadic<i64> = f.call(&mut vm, Variadic(vec![5, 6, 7])).unwrap();
    assert_eq!(all.0, [3, 5, 6, 7]);
    // Missing results read as nil; extra results are dropped.
    let (n, x, y): (i64, i64, Option<i64>) = f.call(&mut vm, 9).unwrap();
    assert_eq!((n, x, y), (1, 9, None));
    let e = f
        .call::<_, (i64, i64)>(&mut vm, "not a number")
        .unwrap_err();
    assert!(e.to_string().contains("number expected, got string"), "{e}");
    let boom: Function = vm
        .eval(b"return function() local x = nil; return x.y end", "=boom")
        .unwrap();
    let e = boom.call::<_, ()>(&mut vm, ()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "boom:1: attempt to index a nil value (local 'x')"
    );
    // A Rust function is a Function too.
    let add = vm.create_plain_function("add", |(a, b): (i64, i64)| a + b);
    assert_eq!(add.call::<_, i64>(&mut vm, (2, 3)).unwrap(), 5);
    let e = add.call::<_, i64>(&mut vm, (2, "x")).unwrap_err();
    assert!(e.to_string().contains("bad argument #2"), "{e}");
}

#[test]
fn fnmut_closures_keep_state_and_refuse_reentry() {
    let mut vm = Vm::new();
    let mut total = 0i64;
    let acc = vm.create_function_mut("acc", move |_, n: i64| {
        total += n;
        total
    });
    vm.set_global("acc", &acc).unwrap();
    let r: i64 = vm.eval(b"acc(1) acc(2) return acc(3)", "=acc").unwrap();
    assert_eq!(r, 6);
    // Reaching the closure again while it runs is an error, not a deadlock.
    let reenter = vm.create_function_mut("reenter", |vm, f: Function| f.call::<_, i64>(vm, ()));
    vm.set_global("reenter", &reenter).unwrap();
    let e = vm
        .exec(
            b"return reenter(function() return reenter(reenter) end)",
            "=re",
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("Rust function 'reenter' called while it is running"),
        "{e}"
    );
    // The closure is usable again afterwards.
    let r: i64 = vm
        .eval(b"return reenter(function() return 7 end)", "=re")
        .unwrap();
    assert_eq!(r, 7);
}

#[test]
fn a_closure_can_hold_a_handle() {
    let mut vm = Vm::new();
    let counts = vm.create_table().unwrap();
    let held = counts.clone();
    let count = vm.create_function("count", move |vm, word: String| {
        let n: i64 = held
            .raw_get::<_, Option<i64>>(vm, word.as_str())?
            .unwrap_or(0);
        held.raw_set(vm, word, n + 1)
    });
    vm.set_global("count", count).unwrap();
    vm.exec(
        b"local words = {'a', 'b', 'a', 'c', 'a', 'b'} for i = 1, #words do count(words[i]) end",
        "=words",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    churn(&mut vm);
    assert_eq!(counts.raw_get::<_, i64>(&mut vm, "a").unwrap(), 3);
    assert_eq!(counts.raw_get::<_, i64>(&mut vm, "b").unwrap(), 2);
}

#[test]
fn threads_and_userdata_convert_from_values() {
    let mut vm = Vm::new();
    let f: Function = vm.eval(b"return function() end", "=f").unwrap();
    let th = vm.create_thread(&f).unwrap();
    let back: Thread = vm.from_value(th.value()).unwrap();
    assert_eq!(back, th);
    let u = vm.create_userdata(1.5f64).unwrap();
    let back: AnyUserData = vm.from_value(u.value()).unwrap();
    assert_eq!(back, u);
    let e = vm.from_value::<Table>(u.value()).unwrap_err();
    assert!(
        e.to_string().contains("table expected, got userdata"),
        "{e}"
    );
    let s: LuaString = vm.from_value(Value::Int(12)).unwrap();
    assert_eq!(s.to_str(&mut vm).unwrap(), "12");
    let bad = vm.create_string([0xff, 0xfe]).unwrap();
    assert!(bad.to_str(&mut vm).is_err());
    assert_eq!(bad.as_bytes(&mut vm).unwrap(), [0xff, 0xfe]);
}

/// A `FromLua` that reads fields through the table's `__index`, which
/// runs Lua and collects: the values converted after it (and the
/// arguments converted after another) stay alive. Before, the later
/// results were freed mid-conversion, handles were made on dead slots,
/// and every later collection panicked.
struct Point {
    x: f64,
}

impl FromLua for Point {
    fn from_lua(v: Value, vm: &mut Vm) -> Result<Self, vm_core::ConvertError> {
        let t = Table::from_lua(v, vm)?;
        Ok(Point { x: t.get(vm, "x")? })
    }
}

/// An `IntoLua` that collects while it converts.
struct Collects(i64);

impl vm_core::IntoLua for Collects {
    fn into_lua(self, vm: &mut Vm) -> vm_core::LuaResult<Value> {
        vm.full_gc();
        Ok(Value::Int(self.0))
    }
}

#[test]
fn conversions_that_run_lua_or_collect_keep_the_other_values() {
    let mut vm = Vm::new();
    let f: Function = vm
        .eval(
            b"return function(...)
                local mt = {__index = function(_, k)
                  for i = 1, 20000 do local _ = {i} end  -- enough to collect
                  return 1.5
                end}
                return setmeta({}, mt), {name = 'second'}, 'third' .. #{...}, ...
              end",
            "=f",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let setmeta = vm.create_function("setmeta", |vm, (t, mt): (Table, Table)| {
        t.set_metatable(vm, Some(&mt)).map(|()| t)
    });
    vm.set_global("setmeta", setmeta).unwrap();
    vm.gc_set_stress(true);
    let (p, t, s, list, a): (Point, Table, LuaString, Table, String) = f
        .call(&mut vm, (vec![Collects(1), Collects(2)], "arg"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.x, 1.5);
    assert_eq!(t.get::<_, String>(&mut vm, "name").unwrap(), "second");
    assert_eq!(s.to_str(&mut vm).unwrap(), "third2");
    assert_eq!(list.raw_get::<_, i64>(&mut vm, 2).unwrap(), 2);
    assert_eq!(a, "arg");
    vm.full_gc();
    vm.check_invariants().unwrap();
    // Table::set with a value whose conversion collects keeps the key.
    let t = vm.create_table().unwrap();
    t.set(&mut vm, String::from("key made here"), Collects(5))
        .unwrap();
    assert_eq!(t.get::<_, i64>(&mut vm, "key made here").unwrap(), 5);
    t.set(&mut vm, "list", vec![Collects(1), Collects(2), Collects(3)])
        .unwrap();
    let list: Table = t.get(&mut vm, "list").unwrap();
    assert_eq!(list.raw_len(&mut vm).unwrap(), 3);
}

#[test]
fn conversions_refuse_stale_and_foreign_values() {
    let mut vm = Vm::new();
    let r = vm
        .exec(
            b"return {}, function() end, 'made at run time' .. 1, 2.5",
            "=stale",
        )
        .unwrap();
    vm.full_gc();
    let bad = |e: vm_core::ConvertError| {
        assert!(e.to_string().contains("bad handle"), "{e}");
    };
    bad(Table::from_lua(r[0], &mut vm).unwrap_err());
    bad(Function::from_lua(r[1], &mut vm).unwrap_err());
    bad(LuaString::from_lua(r[2], &mut vm).unwrap_err());
    bad(String::from_lua(r[2], &mut vm).unwrap_err());
    bad(<Vec<u8>>::from_lua(r[2], &mut vm).unwrap_err());
    bad(i64::from_lua(r[2], &mut vm).unwrap_err());
    bad(f64::from_lua(r[2], &mut vm).unwrap_err());
    let mut other = Vm::new();
    let t = other.create_table().unwrap();
    bad(Table::from_lua(t.value(), &mut vm).unwrap_err());
    // Nothing was held: collections go on.
    vm.full_gc();
    vm.check_invariants().unwrap();
}

#[test]
fn rust_loops_making_handles_stay_bounded_and_limited() {
    let mut vm = Vm::new();
    for i in 0..200_000 {
        let t = vm.create_table().unwrap();
        t.raw_set(&mut vm, 1, i).unwrap();
        let _ = vm.create_string(format!("string {i}")).unwrap();
    }
    // Collections ran at the handle layer's allocation points.
    assert!(vm.gc_cycles() > 0);
    assert!(vm.memory_used() < 8 << 20, "{}", vm.memory_used());
    vm.set_memory_limit(Some(1 << 20));
    let e = vm.create_string(vec![b'x'; 2 << 20]).unwrap_err();
    assert_eq!(e.to_string(), "not enough memory");
    let t = vm.create_table().unwrap();
    let e = t.set(&mut vm, "big", vec![1i64; 1 << 20]).unwrap_err();
    assert_eq!(e.to_string(), "not enough memory");
    assert!(vm.memory_used() < 2 << 20, "{}", vm.memory_used());
}

#[test]
fn conversion_errors_name_the_field_or_result() {
    let mut vm = Vm::new();
    let t: Table = vm.eval(b"return {n = 'x', [3] = {}}", "=t").unwrap();
    let e = t.get::<_, i64>(&mut vm, "missing").unwrap_err();
    assert!(
        e.to_string()
            .contains("field 'missing': number expected, got nil"),
        "{e}"
    );
    let e = t.raw_get::<_, bool>(&mut vm, 3).map(drop);
    assert!(e.is_ok(), "any value converts to bool");
    let e = t.raw_get::<_, String>(&mut vm, 3).unwrap_err();
    assert!(
        e.to_string()
            .contains("field [3]: string expected, got table"),
        "{e}"
    );
    let f: Function = vm
        .eval(b"return function() return 1, {} end", "=f")
        .unwrap();
    let e = f.call::<_, (i64, i64)>(&mut vm, ()).unwrap_err();
    assert!(
        e.to_string()
            .contains("result #2: number expected, got table"),
        "{e}"
    );
    let other = vm.create_table().unwrap();
    let mut b = Vm::new();
    let e = other.push(&mut b, 1).unwrap_err();
    assert!(e.to_string().starts_with("Table::push"), "{e}");
    let u = vm.create_userdata(1u8).unwrap();
    let e = u.borrow::<u16>(&mut vm).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the userdata does not hold a value of type u16"
    );
}

/// A conversion that panics unwinds to the embedder without leaving its
/// values rooted.
#[test]
fn a_panicking_conversion_leaves_nothing_held() {
    struct Panics;
    impl FromLua for Panics {
        fn from_lua(_: Value, _: &mut Vm) -> Result<Self, vm_core::ConvertError> {
            panic!("conversion panics")
        }
    }
    let mut vm = Vm::new();
    let f: Function = vm
        .eval(b"return function() return {}, {} end", "=f")
        .unwrap();
    vm.full_gc();
    let base = vm.object_count();
    for _ in 0..10 {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.call::<_, (Table, Panics)>(&mut vm, ())
        }));
        assert!(r.is_err());
    }
    vm.full_gc();
    assert_eq!(vm.object_count(), base);
    let (a, b): (Table, Table) = f.call(&mut vm, ()).unwrap();
    assert_ne!(a, b);
}
