//! The embedding API used wrongly in ways other than bad handles: an
//! `Args` kept past its call, pushes outside any native or past the
//! stack's and the memory's limits, roots of another VM, requests made
//! outside natives, oversized job results, payloads whose `drop` panics.
//! Each is a Rust `Err` or a Lua error with a message saying what was
//! misused; none panics or breaks the VM (before, a kept `Args` wrote a
//! string into a `for` loop's hidden register and the interpreter
//! panicked).

mod support;

use std::sync::Mutex;

use support::vm;
use vm_core::{Continuation, Job, JobValue, NativeFunction, Outcome, Status, Step, Value, Vm};

/// The message of a failed `pcall` whose results are `r`.
fn pcall_error(vm: &mut Vm, r: &[Value]) -> String {
    assert!(matches!(r[0], Value::Bool(false)), "the call succeeded");
    vm.to_display(r[1])
}

#[test]
fn an_args_kept_past_its_call_writes_nothing() {
    static KEPT: Mutex<Option<vm_core::Args>> = Mutex::new(None);
    let mut vm = vm();
    let keep = vm.create_raw_function("keep", |_, args| {
        *KEPT.lock().unwrap() = Some(args);
        Ok(Step::Return(0))
    });
    vm.set_global("keep", keep).unwrap();
    let s = vm.new_str(b"not a number");
    // Each misuse of the kept `Args` (naming the slots where the `for`
    // loop's control registers now are) is an error, and the loop runs on.
    type Misuse = fn(&mut Vm, vm_core::Args, Value);
    let misuses: [(&str, Misuse); 3] = [
        ("Vm::set_arg", |vm, a, s| vm.set_arg(a, 1, s)),
        ("Vm::frame_insert", |vm, a, s| vm.frame_insert(a, 0, s)),
        ("Vm::frame_truncate", |vm, a, _| vm.frame_truncate(a, 0)),
    ];
    for (name, misuse) in misuses {
        let stale = vm.create_raw_function("stale", move |vm, _| {
            let kept = KEPT.lock().unwrap().expect("kept");
            misuse(vm, kept, s);
            Ok(Step::Return(0))
        });
        vm.set_global("stale", stale).unwrap();
        let r = vm
            .exec(
                b"local function f() keep() end f()
                  local n, errs = 0, {}
                  for i = 1, 3 do
                    local ok, e = pcall(stale)
                    errs[#errs + 1] = e
                    n = n + i
                  end
                  return n, errs[1], #errs",
                "=stale_args",
            )
            .unwrap();
        assert!(matches!(r[0], Value::Int(6)), "{name}: {:?}", r[0]);
        let msg = vm.to_display(r[1]);
        assert!(
            msg.contains(name) && msg.contains("Args of a call that is over"),
            "{name}: {msg}"
        );
        assert!(matches!(r[2], Value::Int(3)), "{name}");
        vm.check_invariants().unwrap();
    }
}

#[test]
fn a_push_outside_any_native_is_refused() {
    let mut vm = vm();
    let before = vm.exec(b"return select('#', 1, 2)", "=before").unwrap();
    assert!(matches!(before[0], Value::Int(2)));
    vm.push(Value::Int(7));
    // The misuse is reported by the next driver call, which does nothing.
    let e = vm.exec(b"return 1", "=after").unwrap_err();
    let msg = e.message().unwrap();
    assert!(
        msg.contains("Vm::push was used outside any native"),
        "{msg}"
    );
    let r = vm.exec(b"return 40 + 2", "=again").unwrap();
    assert!(matches!(r[..], [Value::Int(42)]), "{r:?}");
    vm.check_invariants().unwrap();
}

#[test]
fn a_push_into_a_parked_lua_frame_is_refused() {
    let mut vm = vm();
    let f = vm
        .load(
            b"local s = 0 for i = 1, 1000 do s = s + i end return s",
            "=parked",
        )
        .unwrap();
    let main = vm.main_thread();
    assert!(matches!(vm.start(f, &[], 10), Ok(Outcome::OutOfFuel)));
    // The top of the parked frame is inside its registers.
    vm.push(Value::Table(vm.globals_ref()));
    let e = vm.resume(main, &[], 100_000).unwrap_err();
    assert!(e.message().unwrap().contains("outside any native"));
    let out = vm.resume(main, &[], 100_000).unwrap();
    assert!(matches!(&out, Outcome::Return(r) if matches!(r[..], [Value::Int(500_500)])));
}

#[test]
fn pushes_past_the_stack_or_memory_limit_fail_cleanly() {
    let mut vm = vm();
    let flood = vm.create_raw_function("flood", |vm, args| {
        let n = vm.check_integer(args, 1)?;
        for i in 0..n {
            vm.push(Value::Int(i));
        }
        Ok(Step::Return(1))
    });
    vm.set_global("flood", flood).unwrap();
    let r = vm.exec(b"return pcall(flood, 3000000)", "=flood").unwrap();
    let msg = pcall_error(&mut vm, &r);
    assert!(msg.contains("stack overflow"), "{msg}");
    vm.set_memory_limit(Some(4 << 20));
    let r = vm.exec(b"return pcall(flood, 900000)", "=flood").unwrap();
    let msg = pcall_error(&mut vm, &r);
    assert!(msg.contains("not enough memory"), "{msg}");
    vm.set_memory_limit(None);
    let r = vm.exec(b"return flood(100)", "=flood").unwrap();
    assert!(matches!(r[0], Value::Int(99)), "{r:?}");
    vm.check_invariants().unwrap();
}

#[test]
fn roots_are_generational_and_per_vm() {
    let mut a = vm();
    let mut b = vm();
    let t = a.exec(b"return {}", "=t").unwrap()[0];
    let id = a.root(t).unwrap();
    // Another VM neither sees nor releases it.
    assert!(b.rooted(id).is_nil());
    b.unroot(id);
    a.full_gc();
    assert!(a.owns(a.rooted(id)));
    // Released, then the slot reused: the old id names nothing.
    a.unroot(id);
    let u = a.exec(b"return {}", "=u").unwrap()[0];
    let id2 = a.root(u).unwrap();
    assert!(a.rooted(id).is_nil());
    a.unroot(id);
    a.full_gc();
    assert!(a.owns(a.rooted(id2)));
}

#[test]
fn thread_requests_outside_natives_fail() {
    static K: Continuation = Continuation::new("k", |_, _, _, _| Ok(Step::Return(0)));
    let mut vm = vm();
    let co = vm
        .exec(b"return coroutine.create(function() end)", "=co")
        .unwrap()[0];
    let Value::Thread(co) = co else {
        panic!("{co:?}")
    };
    let e = vm
        .close_threadk(co, vm_core::Deliver::Results, &K, 0)
        .unwrap_err();
    assert!(e.message().unwrap().contains("outside any native"));
    // A continuation recorded outside a native lands on no frame.
    let _ = vm.callk(0, &K, 0);
    let r = vm.exec(b"return 1", "=after").unwrap();
    assert!(matches!(r[..], [Value::Int(1)]));
    // Inspecting a thread of another VM is an error, not a look at ours.
    let other = Vm::new();
    let e = vm.inspect_thread(other.main_thread(), |_| ()).unwrap_err();
    assert!(e.message().unwrap().contains("bad handle"));
    vm.check_invariants().unwrap();
}

#[test]
fn a_job_with_too_many_values_fails_in_its_continuation() {
    static BIG: NativeFunction = NativeFunction::new("big", |vm, _| {
        let job = Job::new(|| Ok(vec![JobValue::Int(1); 3_000_000]));
        Ok(vm.offloadk(job, &BIG_K, 0))
    });
    static BIG_K: Continuation = Continuation::new("big_k", |vm, args, status, _| {
        let n = vm.frame_top(args) - args.len();
        if status == Status::Error {
            return Err(vm_core::LuaError::new(vm.frame_get(args, args.len())));
        }
        Ok(Step::Return(n))
    });
    let mut vm = vm();
    let big = vm.new_native(&BIG);
    vm.set_global("big", big).unwrap();
    let f = vm.load(b"return pcall(big)", "=job").unwrap();
    let main = vm.main_thread();
    let Ok(Outcome::Offload(job)) = vm.start(f, &[], 1000) else {
        panic!("no offload")
    };
    vm.complete_offload(main, job.run()).unwrap();
    let Ok(Outcome::Return(r)) = vm.resume(main, &[], 1000) else {
        panic!("no return")
    };
    let msg = pcall_error(&mut vm, &r);
    assert!(msg.contains("too many results from a job"), "{msg}");
    vm.check_invariants().unwrap();
}

#[test]
fn embedder_facing_errors_carry_their_message() {
    let mut vm = vm();
    let e = vm.load(b"return +", "=bad").unwrap_err();
    assert!(e.message().unwrap().contains("unexpected symbol"), "{e}");
    let t = vm
        .exec(
            b"return setmetatable({}, {__tostring = function() error('no text') end})",
            "=t",
        )
        .unwrap()[0];
    let e = vm.tostring(t).unwrap_err();
    assert!(e.message().unwrap().contains("no text"), "{e}");
    let r = vm
        .exec(
            b"local co co = coroutine.create(function() return stop(co) end) return co",
            "=co",
        )
        .unwrap();
    let Value::Thread(co) = r[0] else { panic!() };
    let stop = vm.create_raw_function("stop", move |vm, _| {
        let e = vm.close_thread(co).unwrap_err();
        assert!(e
            .message()
            .unwrap()
            .contains("cannot close a running coroutine"));
        Ok(Step::Return(0))
    });
    vm.set_global("stop", stop).unwrap();
    vm.exec(b"local co = ... ", "=x").unwrap();
    let resume = vm.exec(b"return coroutine.resume", "=r").unwrap()[0];
    let r = vm.call(resume, &[r[0]]).unwrap();
    assert!(matches!(r[0], Value::Bool(true)), "{}", vm.to_display(r[1]));
}

#[test]
fn a_payload_whose_drop_panics_does_not_stop_the_collector() {
    struct Grumpy;
    impl Drop for Grumpy {
        fn drop(&mut self) {
            panic!("grumpy drop");
        }
    }
    let mut vm = vm();
    for _ in 0..3 {
        let u = vm.new_userdata(Box::new(Grumpy));
        vm.set_global("u", u).unwrap();
        vm.set_global("u", Value::Nil).unwrap();
    }
    let t = vm.exec(b"return {}", "=t").unwrap()[0];
    let before = vm.object_count();
    vm.full_gc();
    assert!(vm.object_count() < before);
    assert!(!vm.owns(t), "the sweep went on past the panics");
    let r = vm.exec(b"return 6 * 7", "=after").unwrap();
    assert!(matches!(r[..], [Value::Int(42)]));
    vm.check_invariants().unwrap();
}

/// `new_table_with_capacity` (`lua_createtable`): huge hints are capped,
/// and the room is refused past the memory limit, not allocated.
#[test]
fn sized_tables_meet_the_memory_limit() {
    let mut vm = vm();
    let t = vm.new_table_with_capacity(3, 2).unwrap();
    vm.raw_set(t, Value::Int(3), Value::Int(7)).unwrap();
    assert!(matches!(vm.raw_get(t, Value::Int(3)), Value::Int(7)));
    vm.set_memory_limit(Some(256 << 10));
    let e = vm
        .new_table_with_capacity(usize::MAX, usize::MAX)
        .unwrap_err();
    assert!(vm.error_to_string(&e).contains("not enough memory"), "{e}");
    assert!(vm.new_table_with_capacity(0, 0).is_ok());
    vm.check_invariants().unwrap();
}
