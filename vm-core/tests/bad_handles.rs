//! Handles that name no object of the VM they are given to: made up, kept
//! by Rust across the collection that freed their object, or taken from
//! another VM. Every public entry point that takes values refuses them
//! with "bad handle" (or, for reads, finds nothing) instead of reading a
//! freed or foreign slot: before the checks, a made-up table passed to
//! `Vm::call` crashed a release build, and a stale function ran whatever
//! function had taken its slot.

use vm_core::{LuaError, Step, Value, Vm};
use vm_core::{LuaFnRef, StrRef, TableRef, ThreadRef};

fn vm() -> Box<Vm> {
    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm).unwrap();
    vm
}

fn is_bad_handle(r: Result<impl std::fmt::Debug, LuaError>) -> bool {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e.message().is_some_and(|m| m.contains("bad handle")),
    }
}

/// The three kinds of bad handle, for `vm`: made up, stale, foreign.
fn bad_values(vm: &mut Vm) -> Vec<(&'static str, Value)> {
    let made_up = vec![
        ("made-up table", Value::Table(TableRef::default())),
        ("made-up string", Value::Str(StrRef::default())),
        ("made-up function", Value::LuaFn(LuaFnRef::default())),
        ("made-up thread", Value::Thread(ThreadRef::default())),
    ];
    // Stale: results of a call, kept by Rust only, then collected.
    let r = vm
        .exec(
            b"return {}, function() return 1 end, 'a string made at run time' .. 42",
            "=stale",
        )
        .unwrap();
    vm.full_gc();
    let stale = vec![
        ("stale table", r[0]),
        ("stale function", r[1]),
        ("stale string", r[2]),
    ];
    // Foreign: live objects of another VM (whose first slots hold its
    // globals, its registry, its main thread, as this VM's do).
    let mut other = Vm::new();
    let r = other
        .exec(b"return {}, print or function() end", "=other")
        .unwrap();
    let foreign = vec![
        ("foreign globals", Value::Table(other.globals_ref())),
        ("foreign table", r[0]),
        ("foreign function", r[1]),
        ("foreign thread", Value::Thread(other.main_thread())),
    ];
    made_up.into_iter().chain(stale).chain(foreign).collect()
}

#[test]
fn entry_points_refuse_bad_handles() {
    let mut vm = vm();
    for (what, bad) in bad_values(&mut vm) {
        let print = vm.get_global("print");
        assert!(is_bad_handle(vm.call(bad, &[])), "{what}: call");
        assert!(is_bad_handle(vm.call(print, &[bad])), "{what}: call arg");
        assert!(is_bad_handle(vm.set_global("x", bad)), "{what}: set_global");
        let g = vm.globals_ref();
        assert!(
            is_bad_handle(vm.raw_set(g, Value::Int(1), bad)),
            "{what}: raw_set"
        );
        assert!(
            is_bad_handle(vm.raw_set(g, bad, Value::Int(1))),
            "{what}: raw_set key"
        );
        assert!(is_bad_handle(vm.index(bad, Value::Int(1))), "{what}: index");
        assert!(
            is_bad_handle(vm.set_index(Value::Table(g), Value::Int(1), bad)),
            "{what}: set_index"
        );
        assert!(is_bad_handle(vm.tostring(bad)), "{what}: tostring");
        assert!(is_bad_handle(vm.len(bad)), "{what}: len");
        assert!(
            is_bad_handle(vm.less_than(bad, Value::Int(1))),
            "{what}: less_than"
        );
        assert!(is_bad_handle(vm.root(bad)), "{what}: root");
        assert!(is_bad_handle(vm.new_thread(bad)), "{what}: new_thread");
        assert!(is_bad_handle(vm.start(bad, &[], 1000)), "{what}: start");
        assert!(
            is_bad_handle(vm.from_value::<Value>(bad)),
            "{what}: from_value"
        );
        assert!(is_bad_handle(vm.to_value(Some(bad))), "{what}: to_value");
        assert!(
            is_bad_handle(vm.set_metatable(bad, None)),
            "{what}: set_metatable"
        );
        let f = vm.new_native_closure(&PUSH_UPVALUE, vec![bad]);
        assert!(is_bad_handle(f), "{what}: new_native_closure");
        let load = vm.load_chunk(b"return 1", "=c", "t", Some(bad));
        assert!(is_bad_handle(load), "{what}: load_chunk env");
        // Reads find nothing.
        if let Value::Table(t) = bad {
            assert!(vm.raw_get(t, Value::Int(1)).is_nil(), "{what}: raw_get");
            assert_eq!(vm.raw_len(t), 0, "{what}: raw_len");
            assert!(is_bad_handle(vm.next(t, Value::Nil)), "{what}: next");
        }
        assert_eq!(vm.metatable(bad), None, "{what}: metatable");
        assert_eq!(vm.str_bytes(bad), None, "{what}: str_bytes");
        assert_eq!(vm.to_display(bad), "(bad handle)", "{what}: to_display");
        assert!(!vm.owns(bad), "{what}: owns");
        // And the VM is unharmed.
        let r = vm.exec(b"return #tostring(print)", "=after").unwrap();
        assert!(matches!(r[0], Value::Int(n) if n > 0), "{what}");
        vm.check_invariants().unwrap();
    }
}

/// A native closure that pushes its first upvalue.
static PUSH_UPVALUE: vm_core::NativeFunction =
    vm_core::NativeFunction::new("push_upvalue", |vm, args| {
        let v = vm.upvalue(args, 1);
        vm.push(v);
        Ok(Step::Return(1))
    });

/// Natives write their frames with functions that return nothing (`push`,
/// `set_arg`): a bad handle is written as nil there, and the native fails
/// with "bad handle" when it returns; so does a native whose error value
/// is a bad handle.
#[test]
fn natives_that_push_or_raise_bad_handles_fail() {
    let mut vm = vm();
    for (what, bad) in bad_values(&mut vm) {
        let push = vm.create_raw_function("pushes_bad", move |vm, _args| {
            vm.push(bad);
            Ok(Step::Return(1))
        });
        vm.set_global("pushes_bad", push).unwrap();
        let set = vm.create_raw_function("sets_bad", move |vm, args| {
            vm.set_arg(args, 1, bad);
            Ok(Step::Return(1))
        });
        vm.set_global("sets_bad", set).unwrap();
        let raise = vm.create_raw_function("raises_bad", move |_vm, _args| Err(LuaError::new(bad)));
        vm.set_global("raises_bad", raise).unwrap();
        for name in ["pushes_bad", "sets_bad", "raises_bad"] {
            let r = vm.exec(
                format!("local ok, e = pcall({name}, 1) return ok, e").as_bytes(),
                "=natives",
            );
            let r = r.unwrap_or_else(|e| panic!("{what}: {name}: {:?}", e.message()));
            assert!(matches!(r[0], Value::Bool(false)), "{what}: {name}");
            let msg = vm.to_display(r[1]);
            assert!(msg.contains("bad handle"), "{what}: {name}: {msg}");
        }
        vm.check_invariants().unwrap();
    }
}

/// Values a call returns stay valid through the finalizers that run when
/// it ends, even when a finalizer collects (found by a hostile pass: the
/// 8 MB result of `string.rep` was freed before the caller could read it,
/// and the error value of a failed call panicked the `vm` command).
#[test]
fn results_survive_the_finalizers_run_at_the_end_of_a_call() {
    let mut vm = vm();
    vm.set_memory_limit(Some(20 << 20));
    // Garbage that only a collection frees, and a finalizer that collects:
    // the room `string.rep` makes collects, the finalizer becomes due and
    // runs when the call ends.
    vm.exec(
        b"collectgarbage('stop')
          setmetatable({}, {__gc = function() collectgarbage() end})
          for i = 1, 256 do local _ = string.rep('g', 65536) .. i end",
        "=setup",
    )
    .unwrap();
    let rep = vm.exec(b"return string.rep", "=rep").unwrap()[0];
    let x = vm.new_str(b"x");
    let r = vm.call(rep, &[x, Value::Int(8 << 20)]).unwrap();
    assert_eq!(vm.str_bytes(r[0]).map(<[u8]>::len), Some(8 << 20));
    // The error path: a run that ends in "not enough memory" with such a
    // finalizer due; its error value is read after the finalizers ran.
    let e = vm
        .exec(
            b"collectgarbage('restart')
              setmetatable({}, {__gc = function() collectgarbage() end})
              local t = {} for i = 1, 1e8 do t[i] = i end",
            "=oom",
        )
        .unwrap_err();
    assert_eq!(e.message(), Some("not enough memory"));
    assert!(vm.owns(e.value()));
    assert_eq!(vm.str_bytes(e.value()), Some(&b"not enough memory"[..]));
}

/// More entry points a second hostile pass found taking bad handles: a
/// hook's data (which the collector marks), the scan charge of a string,
/// rendering an error whose value is a bad handle; and a panic inside
/// `inspect_thread` left the VM switched to the inspected coroutine.
#[test]
fn hooks_errors_and_inspection_survive_bad_handles_and_panics() {
    let mut vm = vm();
    let main = vm.main_thread();
    for (what, bad) in bad_values(&mut vm) {
        let hook = vm_core::Hook {
            func: |_, _| Ok(vm_core::HookStep::Done),
            mask: vm_core::HookMask {
                call: true,
                ..Default::default()
            },
            count: 0,
            data: bad,
        };
        assert!(
            is_bad_handle(vm.set_hook(main, Some(hook))),
            "{what}: set_hook"
        );
        assert!(vm.hook(main).is_none(), "{what}: hook installed");
        vm.full_gc();
        assert!(vm.charge_scan(bad).is_ok(), "{what}: charge_scan");
        assert_eq!(
            vm.error_to_string(&LuaError::new(bad)),
            "(bad handle)",
            "{what}: error_to_string"
        );
    }
    let co = vm
        .exec(
            b"return coroutine.create(function() coroutine.yield() end)",
            "=co",
        )
        .unwrap()[0];
    let Value::Thread(co) = co else {
        panic!("{co:?}")
    };
    assert!(matches!(
        vm.resume(co, &[], 1000),
        Ok(vm_core::Outcome::Yield(_))
    ));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vm.inspect_thread(co, |_| -> () { panic!("inspecting") })
    }));
    assert!(caught.is_err());
    assert_eq!(vm.current_thread(), vm.main_thread());
    let r = vm.exec(b"return 1 + 1", "=after").unwrap();
    assert!(matches!(r[0], Value::Int(2)));
}

/// Counts no frame can hold: a request for `usize::MAX` arguments is the
/// frame error, not an overflow (a panic in debug builds, a call of the
/// slot above the top in release ones).
#[test]
fn huge_counts_are_frame_errors() {
    static HUGE_CALL: vm_core::NativeFunction =
        vm_core::NativeFunction::new("huge_call", |vm, _| Ok(vm.callk(usize::MAX, &HUGE_K, 0)));
    static HUGE_PCALL: vm_core::NativeFunction =
        vm_core::NativeFunction::new("huge_pcall", |vm, _| {
            Ok(vm.pcallk(usize::MAX, None, &HUGE_K, 0))
        });
    static HUGE_TAIL: vm_core::NativeFunction =
        vm_core::NativeFunction::new("huge_tail", |_, _| Ok(Step::TailCall { nargs: usize::MAX }));
    static HUGE_K: vm_core::Continuation =
        vm_core::Continuation::new("huge_k", |_, _, _, _| Ok(Step::Return(0)));
    let mut vm = vm();
    for f in [&HUGE_CALL, &HUGE_PCALL, &HUGE_TAIL] {
        let v = vm.new_native(f);
        vm.set_global("huge", v).unwrap();
        let r = vm.exec(b"return pcall(huge)", "=huge").unwrap();
        assert!(matches!(r[0], Value::Bool(false)), "{}", f.name);
        let msg = vm.to_display(r[1]);
        assert!(msg.contains("values asked for"), "{}: {msg}", f.name);
    }
}

/// A budget of 0 counts as 1: a driver resuming with it makes progress
/// (it stayed out of fuel for ever).
#[test]
fn a_zero_budget_still_makes_progress() {
    let mut vm = vm();
    let f = vm
        .load(
            b"local s = 0 for i = 1, 100 do s = s + i end return s",
            "=zero",
        )
        .unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], 0).unwrap();
    let mut calls = 1;
    while matches!(out, vm_core::Outcome::OutOfFuel) {
        assert!(calls < 10_000, "no progress");
        out = vm.resume(main, &[], 0).unwrap();
        calls += 1;
    }
    let vm_core::Outcome::Return(r) = out else {
        panic!("{out:?}")
    };
    assert!(matches!(r[0], Value::Int(5050)));
    assert!(calls > 100, "{calls} calls");
}
