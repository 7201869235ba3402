//! Handles that name no object of the VM they are given to: made up, kept
//! by Rust across the collection that freed their object, or taken from
//! another VM. Every public entry point that takes values refuses them
//! with "bad handle" (or, for reads, finds nothing) instead of reading a
//! freed or foreign slot: before the checks, a made-up table passed to
//! `Vm::call` crashed a release build, and a stale function ran whatever
//! function had taken its slot.

mod support;

use support::vm;
use vm_core::{LuaError, Step, Value, Vm};
use vm_core::{LuaFnRef, StrRef, TableRef, ThreadRef};

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

/// The rest of the public surface that takes values or handles: the
/// suspendable metamethod operations, the debug interface, loaders,
/// userdata, threads and the number helpers. Each refuses a bad handle,
/// or finds nothing through it, and changes nothing.
#[test]
fn the_rest_of_the_surface_refuses_bad_handles() {
    let mut vm = vm();
    let f = vm
        .exec(b"local up = {} return function(a) return up, a end", "=f")
        .unwrap()[0];
    vm.set_global("f", f).unwrap();
    let u = vm.new_userdata(Box::new(7u32));
    vm.set_global("u", u).unwrap();
    for (what, bad) in bad_values(&mut vm) {
        let g = vm.globals_ref();
        // Metamethod operations, both forms.
        assert!(
            is_bad_handle(vm.index_k(bad, Value::Int(1))),
            "{what}: index_k"
        );
        assert!(
            is_bad_handle(vm.set_index_k(Value::Table(g), Value::Int(1), bad)),
            "{what}: set_index_k"
        );
        assert!(is_bad_handle(vm.len_k(bad)), "{what}: len_k");
        assert!(
            is_bad_handle(vm.less_than_k(Value::Int(1), bad)),
            "{what}: less_than_k"
        );
        assert!(is_bad_handle(vm.tostring_k(bad)), "{what}: tostring_k");
        assert!(
            is_bad_handle(vm.tostring_result(bad)),
            "{what}: tostring_result"
        );
        assert!(is_bad_handle(vm.call_value(bad, &[])), "{what}: call_value");
        assert!(
            vm.metamethod(bad, vm_core::Tm::Index).is_nil(),
            "{what}: metamethod"
        );
        assert!(!vm.type_name_of(bad).is_empty(), "{what}: type_name_of");
        // Tables by raw handle.
        assert!(
            is_bad_handle(vm.raw_set_str(g, "k", bad)),
            "{what}: raw_set_str"
        );
        if let Value::Table(t) = bad {
            assert!(vm.raw_get_str(t, "k").is_nil(), "{what}: raw_get_str");
            assert!(
                is_bad_handle(vm.raw_set_str(t, "k", Value::Int(1))),
                "{what}: raw_set_str table"
            );
            assert!(
                is_bad_handle(vm.register_library("bad", t)),
                "{what}: register_library"
            );
            assert!(is_bad_handle(vm.raw_set(t, Value::Int(1), Value::Int(1))));
        }
        assert!(vm.get_global("k").is_nil() && vm.get_global("bad").is_nil());
        // The debug interface reads nothing and writes nothing.
        assert!(vm.dump(bad, false).is_none(), "{what}: dump");
        assert!(vm.listing(bad, true).is_none(), "{what}: listing");
        assert!(vm.function_info(bad).is_none(), "{what}: function_info");
        assert!(vm.param_name(bad, 1).is_none(), "{what}: param_name");
        assert!(vm.get_upvalue(bad, 1).is_none(), "{what}: get_upvalue");
        assert!(vm.upvalue_id(bad, 1).is_none(), "{what}: upvalue_id");
        assert!(
            vm.set_upvalue(bad, 1, Value::Nil).is_none(),
            "{what}: set_upvalue"
        );
        assert!(
            vm.set_upvalue(f, 1, bad).is_none(),
            "{what}: set_upvalue value"
        );
        assert!(!vm.upvalue_join(bad, 1, f, 1), "{what}: upvalue_join");
        assert!(!vm.upvalue_join(f, 1, bad, 1), "{what}: upvalue_join 2");
        assert!(vm.user_value(bad).is_none(), "{what}: user_value");
        assert!(
            !vm.set_user_value(bad, Value::Nil),
            "{what}: set_user_value"
        );
        assert!(!vm.set_user_value(u, bad), "{what}: set_user_value value");
        assert!(vm.set_local(0, 1, bad).is_err(), "{what}: set_local");
        // Arithmetic on the handle's bits, no read of the slot.
        assert!(vm.address(bad).starts_with("0x"), "{what}: address");
        assert!(vm.to_number_value(bad).is_none(), "{what}: to_number_value");
        // Userdata.
        assert!(
            vm.userdata_ref::<u32>(bad).is_none(),
            "{what}: userdata_ref"
        );
        assert!(
            vm.userdata_mut::<u32>(bad).is_none(),
            "{what}: userdata_mut"
        );
        vm.set_userdata_size(bad, 1 << 40);
        assert!(vm.memory_used() < 1 << 40, "{what}: set_userdata_size");
        // Loaders.
        assert!(
            vm.load_piece(bad, b"return 1").is_err(),
            "{what}: load_piece"
        );
        assert!(vm.load_finish(bad, None).is_err(), "{what}: load_finish");
        // Threads.
        if let Value::Thread(t) = bad {
            assert!(vm.resume_error(t).is_some(), "{what}: resume_error");
            assert!(!vm.thread_is_yieldable(t), "{what}: thread_is_yieldable");
            assert_eq!(
                vm.thread_status(t),
                vm_core::ThreadStatus::Dead,
                "{what}: thread_status"
            );
            assert!(vm.cancel(t, 100).is_err(), "{what}: cancel");
            assert!(vm.resume(t, &[], 100).is_err(), "{what}: resume");
            assert!(
                vm.complete_offload(t, Ok(Vec::new())).is_err(),
                "{what}: complete_offload"
            );
            assert!(
                vm.set_local_of(t, 0, 1, Value::Int(1))
                    .unwrap_or(None)
                    .is_none(),
                "{what}: set_local_of"
            );
        }
        // The number helpers never look inside a handle.
        assert!(vm_core::number::tointeger(bad).is_none());
        assert!(
            vm_core::number::arith(vm_core::number::ArithOp::Add, bad, Value::Int(1)).is_none()
        );
        // And the VM is unharmed.
        let r = vm.exec(b"return #tostring(print) > 0 and f(2) == nil", "=after");
        assert!(r.is_ok(), "{what}");
        let r = vm.exec(b"local _, a = f(2) return a", "=after").unwrap();
        assert!(matches!(r[0], Value::Int(2)), "{what}");
        assert_eq!(vm.userdata_ref::<u32>(u), Some(&7));
        vm.check_invariants().unwrap();
    }
}
