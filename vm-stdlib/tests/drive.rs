//! The driver API: instruction budgets (`Vm::start`/`Vm::resume` with
//! fuel), yields to the driver, native continuations interrupted by the
//! budget, declared native costs, and offloaded jobs run by a driver on
//! another OS thread.

mod support;

use std::sync::mpsc;

use vm_core::{
    Args, Continuation, Job, JobValue, LuaError, LuaResult, NativeFunction, Outcome, Status, Step,
    ThreadStatus, Value, Vm,
};

static CHEAP: NativeFunction = NativeFunction::new("cheap", nothing);
static DEAR: NativeFunction = NativeFunction::with_cost("dear", nothing, 1000);
static CALLK: NativeFunction = NativeFunction::new("callk", callk);
static CALLK_K: Continuation = Continuation::new("callk_k", callk_k);
static BLOCKING_ADD: NativeFunction = NativeFunction::new("blocking_add", blocking_add);
static FAILING_JOB: NativeFunction = NativeFunction::new("failing_job", failing_job);
static JOB_K: Continuation = Continuation::new("job_k", job_k);
static PANICS: NativeFunction = NativeFunction::new("panics", panics);
static MISCOUNTS: NativeFunction = NativeFunction::new("miscounts", miscounts);
static RESUME_K_STYLE: NativeFunction = NativeFunction::new("resume_k_style", resume_k_style);
static TAGGED_K: Continuation = Continuation::new("tagged_k", tagged_k);
static WAIT_FOR: NativeFunction = NativeFunction::new("wait_for", wait_for);
static WAIT_K: Continuation = Continuation::new("wait_k", wait_k);

/// `wait_for()`: waits until the driver has put a value in the global
/// `GIVEN`, and returns it (an error if the driver resumed without one).
fn wait_for(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Ok(vm.waitk(&WAIT_K, 0))
}

fn wait_k(vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    let v = vm.get_global("GIVEN");
    if v.is_nil() {
        return Err(vm.error("resumed with nothing given"));
    }
    vm.set_global("GIVEN", Value::Nil)?;
    vm.push(v);
    Ok(Step::Return(1))
}

/// `resume_k_style(co, ...)`: resumes `co` and reports through its
/// continuation: "ok" or "error" followed by the values or the message.
fn resume_k_style(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let Value::Thread(thread) = vm.arg(args, 1) else {
        return Err(vm.type_error_arg(args, 1, "thread"));
    };
    Ok(vm.resumek(
        thread,
        args.len() - 1,
        vm_core::Deliver::Continuation,
        &TAGGED_K,
        0,
    ))
}

fn tagged_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    let tag = if status == Status::Error {
        "error"
    } else {
        "ok"
    };
    let tag = vm.new_str(tag.as_bytes());
    vm.frame_insert(args, 1, tag);
    Ok(Step::Return(vm.frame_top(args) - 1))
}

/// Claims more results (and call arguments) than it pushed.
fn miscounts(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    match vm.arg(args, 1) {
        Value::Int(1) => Ok(Step::Return(7)),
        Value::Int(2) => Ok(vm.callk(9, &CALLK_K, 0)),
        _ => Ok(vm.yieldk(9, None, 0)),
    }
}
static STALE_REQUEST: NativeFunction = NativeFunction::new("stale_request", stale_request);

/// Makes an offload request but does not return it at once: a nested
/// native's offload uses up the recorded job first.
fn stale_request(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let step = vm.offloadk(Job::new(|| Ok(vec![])), &JOB_K, 0);
    let nested = vm.new_native(&BLOCKING_ADD);
    vm.call_value(nested, &[Value::Int(1), Value::Int(2)])?;
    Ok(step)
}

static PCALL_THEN_FAIL: NativeFunction = NativeFunction::new("pcall_then_fail", pcall_then_fail);
static PCALL_THEN_FAIL_K: Continuation = Continuation::new("pcall_then_fail_k", pcall_then_fail_k);

/// `pcall_then_fail(f)`: calls `f` protected, then raises an error of its
/// own from the continuation. That error is not the protected call's: it
/// must reach the caller, not come back to this continuation.
fn pcall_then_fail(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_function(args, 1)?;
    Ok(vm.pcallk(0, None, &PCALL_THEN_FAIL_K, 0))
}

fn pcall_then_fail_k(vm: &mut Vm, _args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    match status {
        Status::Ok => Err(vm.error("raised after the protected call")),
        _ => {
            vm.push(Value::Bool(false));
            Ok(Step::Return(1))
        }
    }
}

static SUM_YIELDS: NativeFunction = NativeFunction::new("sum_yields", sum_yields);
static SUM_YIELDS_K: Continuation = Continuation::new("sum_yields_k", sum_yields_k);

fn panics(_vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    panic!("a bug in a native")
}

/// `sum_yields(n)`: yields 1..=n one at a time (`lua_yieldk`) and returns
/// the sum of the values it is resumed with; the running sum is the frame's
/// second value, the counter the context.
fn sum_yields(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_integer(args, 1)?;
    vm.frame_truncate(args, 1);
    vm.push(Value::Int(0));
    vm.push(Value::Int(1));
    Ok(vm.yieldk(1, Some(&SUM_YIELDS_K), 1))
}

fn sum_yields_k(vm: &mut Vm, args: Args, status: Status, ctx: i64) -> LuaResult<Step> {
    assert_eq!(status, Status::Yield);
    let (Value::Int(n), Value::Int(sum)) = (vm.frame_get(args, 0), vm.frame_get(args, 1)) else {
        return Err(vm.error("sum_yields: lost its state"));
    };
    let got = match vm.frame_get(args, 2) {
        Value::Int(i) => i,
        _ => 0,
    };
    vm.frame_truncate(args, 1);
    vm.push(Value::Int(sum + got));
    if ctx == n {
        return Ok(Step::Return(1));
    }
    vm.push(Value::Int(ctx + 1));
    Ok(vm.yieldk(1, Some(&SUM_YIELDS_K), ctx + 1))
}

fn nothing(_vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Ok(Step::Return(0))
}

/// `callk(f, x)`: calls `f(x)` through the interpreter and returns its
/// first result plus one (from the continuation).
fn callk(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    Ok(vm.callk(args.len() - 1, &CALLK_K, 1))
}

fn callk_k(vm: &mut Vm, args: Args, status: Status, ctx: i64) -> LuaResult<Step> {
    assert_eq!(status, Status::Ok);
    let Value::Int(r) = vm.frame_get(args, 0) else {
        return Err(vm.error("callk: integer expected"));
    };
    vm.push(Value::Int(r + ctx));
    Ok(Step::Return(1))
}

/// `blocking_add(a, b)`: adds in an offloaded job.
fn blocking_add(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let a = vm.check_integer(args, 1)?;
    let b = vm.check_integer(args, 2)?;
    let job = Job::new(move || {
        std::thread::sleep(std::time::Duration::from_millis(1));
        Ok(vec![JobValue::Int(a + b), JobValue::Str(b"done".to_vec())])
    });
    Ok(vm.offloadk(job, &JOB_K, 0))
}

fn failing_job(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Ok(vm.offloadk(Job::new(|| Err("disk on fire".to_string())), &JOB_K, 0))
}

/// The job's values are the native's results; its error is raised.
fn job_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    let n = vm.frame_top(args) - args.len();
    match status {
        Status::Error => {
            let e = vm.frame_get(args, args.len());
            Err(LuaError::new(e))
        }
        _ => Ok(Step::Return(n)),
    }
}

fn new_vm() -> Box<Vm> {
    let mut vm = support::vm();
    let g = vm.globals_ref();
    vm.register(
        g,
        &[
            &CHEAP,
            &DEAR,
            &CALLK,
            &BLOCKING_ADD,
            &FAILING_JOB,
            &PANICS,
            &SUM_YIELDS,
            &MISCOUNTS,
            &RESUME_K_STYLE,
            &STALE_REQUEST,
            &PCALL_THEN_FAIL,
            &WAIT_FOR,
        ],
    )
    .unwrap();
    vm
}

/// Runs `src`, which returns `pcall(...)`, and returns the error message
/// of the call, which must have failed.
fn pcall_error(vm: &mut Vm, src: &str) -> String {
    let r = vm.exec(src.as_bytes(), "=pcall").unwrap();
    assert!(matches!(r[0], Value::Bool(false)), "{src}: {r:?}");
    text(vm, r[1])
}

fn text(vm: &Vm, v: Value) -> String {
    match v {
        Value::Str(_) => String::from_utf8_lossy(vm.str_bytes(v).unwrap()).into_owned(),
        other => format!("{other:?}"),
    }
}

/// Runs `src` on the main thread in slices of `budget`, running offloaded
/// jobs in place; returns the results and the number of slices.
fn run_sliced(vm: &mut Vm, src: &str, budget: u64) -> (Vec<String>, usize) {
    let f = vm.load(src.as_bytes(), "=sliced").expect("compiles");
    let main = vm.main_thread();
    let mut slices = 1;
    let mut out = vm.start(f, &[], budget);
    loop {
        match out {
            Ok(Outcome::Return(vals)) => {
                vm.check_invariants().unwrap();
                return (vals.into_iter().map(|v| text(vm, v)).collect(), slices);
            }
            Ok(Outcome::OutOfFuel) => {
                slices += 1;
                out = vm.resume(main, &[], budget);
            }
            Ok(Outcome::Offload(job)) => {
                let r = job.run();
                vm.complete_offload(main, r).unwrap();
                slices += 1;
                out = vm.resume(main, &[], budget);
            }
            Ok(Outcome::Yield(_)) => panic!("the main thread yielded"),
            Ok(Outcome::Wait) => panic!("nothing waits here"),
            Err(e) => panic!("{e}"),
        }
    }
}

/// Exercises every kind of frame interruption: deep calls, pcall with an
/// error after a yield, metamethods, generic-for iterators, wraps, a
/// native's continuation, `__close`, offloads.
const MIXED: &str = r##"
local log = ""
local function emit(x) log = log .. tostring(x) .. "," end
local function deep(n) if n == 0 then return 0 end return deep(n - 1) + 1 end
emit(deep(50))
local mt = {
  __index = function(t, k) return k * 2 end,
  __add = function(a, b) return 100 end,
  __lt = function(a, b) return true end,
  __concat = function(a, b) return "cat" end,
  __close = function() emit("closed") end,
}
local obj = setmetatable({}, mt)
emit(obj[21]); emit(obj + 1); emit(obj < obj); emit(obj .. "x")
do local c <close> = obj end
local gen = coroutine.wrap(function()
  for i = 1, 5 do
    local ok, e = pcall(function()
      coroutine.yield(i)
      if i % 2 == 0 then error("even " .. i, 0) end
      return i
    end)
    emit(tostring(ok) .. ":" .. tostring(e))
  end
end)
for v in gen do emit(v) end
emit(callk(function(x) return deep(x) end, 30))
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e = blocking_add(c, 1)
  return d, e, obj[c]
end)
emit(select(2, coroutine.resume(co, 1, 2)))
local _, d, e, f = coroutine.resume(co, 10)
emit(d); emit(e); emit(f)
emit(select("#", pcall(error, { code = 1 })))
return log, blocking_add(2, 3)
"##;

#[test]
fn every_budget_gives_the_same_results() {
    let mut vm = new_vm();
    let (want, one) = run_sliced(&mut vm, MIXED, u64::MAX);
    assert_eq!(one, 3, "one slice plus one per offload");
    assert_eq!(
        want[0],
        "50,42,100,true,cat,closed,1,true:1,2,false:even 2,3,true:3,4,false:even 4,5,true:5,31,3,11,done,20,2,"
    );
    assert_eq!(want[1..], ["Int(5)".to_string(), "done".to_string()]);
    for budget in [1, 2, 3, 5, 7, 16, 100, 1000] {
        let mut vm = new_vm();
        let (got, slices) = run_sliced(&mut vm, MIXED, budget);
        assert_eq!(got, want, "budget {budget}");
        if budget <= 5 {
            assert!(slices > 200, "budget {budget}: only {slices} slices");
        }
    }
}

#[test]
fn a_budget_bounds_the_instructions_of_a_slice() {
    let src = "local s = 0 for i = 1, 1000 do s = s + i end return s";
    let mut vm = new_vm();
    let (r, slices) = run_sliced(&mut vm, src, 100);
    assert_eq!(r, ["Int(500500)"]);
    // Each iteration is two instructions (ADD, FORLOOP).
    assert!((20..=22).contains(&slices), "{slices} slices");
}

/// The fuel a fresh VM spends running `src` to its end in one slice.
fn fuel_to_finish(src: &str) -> u64 {
    let mut vm = new_vm();
    let f = vm.load(src.as_bytes(), "=fuel").unwrap();
    assert!(matches!(
        vm.start(f, &[], 1_000_000),
        Ok(Outcome::Return(_))
    ));
    vm.fuel_used()
}

#[test]
fn a_comparison_and_the_jump_it_takes_cost_one_unit() {
    // `if i < lim then x = i end`: LTI, then either the jump taken or,
    // when the condition holds, the jump skipped and MOVE run; plus
    // FORLOOP. Taken inline, the jump is not dispatched and not charged,
    // as PUC Lua's count hook does not count it: 2 units per iteration
    // against 3.
    let used = |lim: i64| {
        fuel_to_finish(&format!(
            "local x for i = 1, 100 do if i < {lim} then x = i end end"
        ))
    };
    let (taken, skipped) = (used(0), used(101));
    assert_eq!(skipped - taken, 100);
    // Sliced at every budget, the run with the jumps taken still ends.
    for budget in 1..8 {
        let src = "local x = 0 for i = 1, 50 do if i % 3 == 0 then x = x + i end end return x";
        let mut vm = new_vm();
        let (r, _) = run_sliced(&mut vm, src, budget);
        assert_eq!(r, ["Int(408)"], "budget {budget}");
    }
}

#[test]
fn instructions_cut_short_by_an_error_are_charged() {
    // `pcall(f)` with an `f` that raises, against one that returns: each
    // call runs `f`'s GETTABUP, LOADK and CALL and the `error` native
    // (cost 1) instead of a RETURN0, 3 more units per call, however the
    // interpreter unwinds.
    let used = |body: &str| {
        fuel_to_finish(&format!(
            "local function f() {body} end for i = 1, 100 do pcall(f) end"
        ))
    };
    assert_eq!(used("error('x')") - used(""), 100 * 3);
}

#[test]
fn natives_are_charged_their_declared_cost() {
    let loop_of = |f: &str| format!("for i = 1, 10 do {f}() end return 1");
    let mut vm = new_vm();
    let f = vm.load(loop_of("cheap").as_bytes(), "=c").unwrap();
    assert!(matches!(vm.start(f, &[], 200), Ok(Outcome::Return(_))));
    let cheap_total = vm.fuel_used();
    // Instructions plus one unit per call.
    assert!((40..60).contains(&cheap_total), "{cheap_total}");
    let f = vm.load(loop_of("dear").as_bytes(), "=d").unwrap();
    let (mut slices, mut total) = (1, 0);
    let mut out = vm.start(f, &[], 2000);
    loop {
        // No slice spends more than its budget: a native that does not fit
        // waits for the next slice.
        assert!(vm.fuel_used() <= 2000, "slice {slices}: {}", vm.fuel_used());
        total += vm.fuel_used();
        match out {
            Ok(Outcome::OutOfFuel) => {
                slices += 1;
                out = vm.resume(vm.main_thread(), &[], 2000);
            }
            Ok(Outcome::Return(_)) => break,
            other => panic!("{other:?}"),
        }
    }
    // 10 calls at 1000 each: one fits per slice once the loop runs.
    assert_eq!(slices, 10);
    assert_eq!(total, cheap_total + 10 * 999);
}

#[test]
fn a_native_dearer_than_the_budget_still_runs_alone() {
    let mut vm = new_vm();
    let f = vm.load(b"dear() dear() return 7", "=d").unwrap();
    let mut out = vm.start(f, &[], 10);
    let mut slices = 1;
    while let Ok(Outcome::OutOfFuel) = out {
        slices += 1;
        out = vm.resume(vm.main_thread(), &[], 10);
    }
    assert!(matches!(out, Ok(Outcome::Return(ref v)) if matches!(v[..], [Value::Int(7)])));
    // Each `dear()` waits for a fresh slice and then has it to itself:
    // [GETTABUP CALL] [dear] [GETTABUP CALL] [dear] [LOADI RETURN].
    assert_eq!(slices, 5);
}

#[test]
fn yields_reach_the_driver_of_a_coroutine() {
    let mut vm = new_vm();
    let f = vm
        .load(
            b"return function(a) local b = coroutine.yield(a + 1, 'y') return b * 2 end",
            "=co",
        )
        .unwrap();
    let body = vm.call(f, &[]).unwrap()[0];
    let t = vm.new_thread(body).unwrap();
    let root = vm.root(Value::Thread(t)).unwrap();
    assert_eq!(vm.thread_status(t), ThreadStatus::Suspended);
    let Ok(Outcome::Yield(vals)) = vm.resume(t, &[Value::Int(1)], u64::MAX) else {
        panic!("expected a yield")
    };
    assert!(matches!(vals[0], Value::Int(2)));
    assert_eq!(text(&vm, vals[1]), "y");
    assert_eq!(vm.thread_status(t), ThreadStatus::Suspended);
    let Ok(Outcome::Return(vals)) = vm.resume(t, &[Value::Int(5)], u64::MAX) else {
        panic!("expected a return")
    };
    assert!(matches!(vals[..], [Value::Int(10)]));
    assert_eq!(vm.thread_status(t), ThreadStatus::Dead);
    let e = vm.resume(t, &[], u64::MAX).unwrap_err();
    assert_eq!(e.to_string(), "cannot resume dead coroutine");
    vm.unroot(root);
}

#[test]
fn a_driven_coroutine_runs_in_slices_and_reports_its_error() {
    let mut vm = new_vm();
    let f = vm
        .load(
            b"return function() local s = 0 for i = 1, 100 do s = s + i end error('boom ' .. s) end",
            "=co",
        )
        .unwrap();
    let body = vm.call(f, &[]).unwrap()[0];
    let t = vm.new_thread(body).unwrap();
    let _root = vm.root(Value::Thread(t)).unwrap();
    let mut out = vm.resume(t, &[], 10);
    let mut slices = 1;
    while let Ok(Outcome::OutOfFuel) = out {
        slices += 1;
        out = vm.resume(t, &[], 10);
    }
    assert!(slices > 10);
    let e = out.unwrap_err();
    assert_eq!(e.to_string(), "co:1: boom 5050");
    assert_eq!(vm.thread_status(t), ThreadStatus::Dead);
    // The dead coroutine still reports its error through close.
    let closed = vm.close_thread(t).unwrap().expect("the error");
    assert_eq!(text(&vm, closed), "co:1: boom 5050");
}

#[test]
fn offloaded_jobs_run_on_another_os_thread() {
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (res_tx, res_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let me = std::thread::current().id();
        for job in job_rx {
            res_tx.send((job.run(), me)).unwrap();
        }
    });
    let mut vm = new_vm();
    let src = r#"
        local a, s = blocking_add(1, 2)
        CO = coroutine.create(function(x) return blocking_add(x, 10) end)
        local ok, b = coroutine.resume(CO, a)
        local ok2, e = pcall(failing_job)
        return a, s, ok, b, ok2, e
    "#;
    let f = vm.load(src.as_bytes(), "=offload").unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], u64::MAX);
    let mut jobs = 0;
    let results = loop {
        match out {
            Ok(Outcome::Offload(job)) => {
                jobs += 1;
                // Parked on the job: the chain is intact and not resumable.
                let e = vm.resume(main, &[], u64::MAX).unwrap_err();
                assert!(e.to_string().contains("complete_offload"), "{e}");
                if jobs == 2 {
                    let probe = vm.exec(b"return coroutine.resume(CO)", "=probe").unwrap();
                    assert!(matches!(probe[0], Value::Bool(false)));
                    assert_eq!(text(&vm, probe[1]), "cannot resume non-suspended coroutine");
                    let st = vm.exec(b"return coroutine.status(CO)", "=p").unwrap()[0];
                    assert_eq!(text(&vm, st), "running");
                }
                job_tx.send(job).unwrap();
                let (r, ran_on) = res_rx.recv().unwrap();
                assert_ne!(ran_on, std::thread::current().id());
                vm.complete_offload(main, r).unwrap();
                assert!(vm.complete_offload(main, Ok(vec![])).is_err());
                out = vm.resume(main, &[], u64::MAX);
            }
            Ok(Outcome::Return(vals)) => break vals,
            other => panic!("unexpected {other:?}"),
        }
    };
    drop(job_tx);
    worker.join().unwrap();
    assert_eq!(jobs, 3);
    let r: Vec<String> = results.iter().map(|&v| text(&vm, v)).collect();
    assert_eq!(
        r,
        [
            "Int(3)",
            "done",
            "Bool(true)",
            "Int(13)",
            "Bool(false)",
            "disk on fire"
        ]
    );
    vm.check_invariants().unwrap();
}

#[test]
fn offload_in_a_non_yieldable_call_runs_in_place() {
    let mut vm = new_vm();
    // `Vm::exec` is not a driver: the job runs at once, blocking.
    let r = vm.exec(b"return blocking_add(40, 2)", "=inline").unwrap();
    assert!(matches!(r[0], Value::Int(42)));
    // So does one under a metamethod called through the recursive API.
    let r = vm
        .exec(
            b"local t = setmetatable({}, {__tostring = function() return (blocking_add(1, 1)) .. '' end})
              return tostring(t)",
            "=inline",
        )
        .unwrap();
    assert_eq!(text(&vm, r[0]), "2");
}

#[test]
fn job_panics_become_error_messages() {
    let r = Job::new(|| panic!("the job broke")).run();
    assert_eq!(r, Err("job panicked: the job broke".to_string()));
}

#[test]
fn collections_while_a_chain_is_parked_keep_it_intact() {
    let src = r#"
        local gen = coroutine.wrap(function()
          for i = 1, 50 do coroutine.yield({ i }) end
        end)
        local s = 0
        for i = 1, 50 do s = s + gen()[1] end
        return s
    "#;
    let mut vm = new_vm();
    let f = vm.load(src.as_bytes(), "=gc").unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], 7);
    while let Ok(Outcome::OutOfFuel) = out {
        vm.exec(b"collectgarbage()", "=collect").unwrap();
        vm.check_invariants().unwrap();
        out = vm.resume(main, &[], 7);
    }
    let Ok(Outcome::Return(vals)) = out else {
        panic!("{out:?}")
    };
    assert!(matches!(vals[0], Value::Int(1275)));
}

#[test]
fn driver_misuse_is_an_error_not_a_panic() {
    let mut vm = new_vm();
    let main = vm.main_thread();
    assert!(vm.resume(main, &[], 10).is_err());
    let f = vm.load(b"for i = 1, 100 do end", "=loop").unwrap();
    assert!(matches!(vm.start(f, &[], 5), Ok(Outcome::OutOfFuel)));
    // A second call cannot start while the first is parked.
    assert!(vm.start(f, &[], 5).is_err());
    assert!(vm.resume(main, &[Value::Int(1)], 5).is_err());
    assert!(vm.complete_offload(main, Ok(vec![])).is_err());
    let mut out = vm.resume(main, &[], 5);
    while let Ok(Outcome::OutOfFuel) = out {
        out = vm.resume(main, &[], 5);
    }
    assert!(matches!(out, Ok(Outcome::Return(_))));
    // A syntax-correct call of a non-function fails cleanly.
    let e = vm.start(Value::Int(3), &[], 5).unwrap_err();
    assert!(
        e.to_string().contains("attempt to call a number value"),
        "{e}"
    );
    // And the main thread is usable afterwards.
    assert!(matches!(
        vm.exec(b"return 1 + 1", "=after").unwrap()[0],
        Value::Int(2)
    ));
}

#[test]
fn a_native_yields_with_a_continuation() {
    let mut vm = new_vm();
    let src = r#"
        local co = coroutine.wrap(function(n) return "sum", sum_yields(n) end)
        local seen = {}
        local v = co(4)
        while type(v) == "number" do
          seen[#seen + 1] = v
          v, total = co(v * 10)
        end
        return v, total, #seen, seen[1], seen[4]
    "#;
    for budget in [1, 2, 5, u64::MAX] {
        let (r, _) = run_sliced(&mut vm, src, budget);
        assert_eq!(
            r,
            ["sum", "Int(100)", "Int(4)", "Int(1)", "Int(4)"],
            "budget {budget}"
        );
    }
}

#[test]
fn a_panic_in_a_native_is_a_lua_error() {
    let mut vm = new_vm();
    let r = vm
        .exec(b"local ok, e = pcall(panics) return ok, e", "=panic")
        .unwrap();
    assert!(matches!(r[0], Value::Bool(false)));
    assert_eq!(
        text(&vm, r[1]),
        "native function panicked: a bug in a native"
    );
    // The VM goes on working.
    let r = vm.exec(b"return 6 * 7", "=after").unwrap();
    assert!(matches!(r[0], Value::Int(42)));
    vm.check_invariants().unwrap();
}

#[test]
fn a_native_that_miscounts_its_values_gets_an_error() {
    let mut vm = new_vm();
    for case in 1..=3 {
        let src = format!(
            "local co = coroutine.wrap(function() return miscounts({case}) end)
             return pcall(co)"
        );
        let msg = pcall_error(&mut vm, &src);
        assert!(msg.contains("native frame error"), "case {case}: {msg}");
    }
    vm.check_invariants().unwrap();
}

#[test]
fn a_protected_call_protects_only_itself() {
    let mut vm = new_vm();
    for src in [
        "return pcall(pcall_then_fail, function() end)",
        // The same inside a coroutine.
        "return coroutine.wrap(function() return pcall(pcall_then_fail, print) end)()",
    ] {
        let msg = pcall_error(&mut vm, src);
        assert!(
            msg.contains("raised after the protected call"),
            "{src}: {msg}"
        );
    }
    vm.check_invariants().unwrap();
}

#[test]
fn a_request_not_returned_at_once_is_an_error() {
    let mut vm = new_vm();
    let msg = pcall_error(&mut vm, "return pcall(stale_request)");
    assert!(
        msg.contains("a request without its continuation or operands"),
        "{msg}"
    );
    vm.check_invariants().unwrap();
}

#[test]
fn handles_to_collected_threads_are_dead() {
    let mut vm = new_vm();
    let f = vm.load(b"return 1", "=t").unwrap();
    let t = vm.new_thread(f).unwrap();
    vm.exec(b"collectgarbage()", "=gc").unwrap();
    assert_eq!(vm.thread_status(t), ThreadStatus::Dead);
    let e = vm.resume(t, &[], 10).unwrap_err();
    assert_eq!(e.to_string(), "invalid thread");
    assert!(matches!(vm.close_thread(t), Ok(None)));
}

/// Several threads driven round-robin with small budgets, as a scheduler
/// would: each parks and resumes independently (several chains parked at
/// once), and each computes what it computes alone.
#[test]
fn round_robin_over_parked_threads() {
    let mut vm = new_vm();
    let make = vm
        .load(
            br#"return function(seed)
                  local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
                  local gen = coroutine.wrap(function()
                    for i = 1, 30 do coroutine.yield(fib(i % 12) + seed) end
                  end)
                  local acc = 0
                  for v in gen do acc = (acc * 31 + v) % 1000003 end
                  local ok, e = pcall(function() error({ seed = seed }) end)
                  return acc, e.seed
                end"#,
            "=rr",
        )
        .unwrap();
    let body = vm.call(make, &[]).unwrap()[0];
    let alone: Vec<(i64, i64)> = (0..4)
        .map(|seed| {
            let r = vm.call(body, &[Value::Int(seed)]).unwrap();
            match (r[0], r[1]) {
                (Value::Int(a), Value::Int(s)) => (a, s),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let threads: Vec<_> = (0..4).map(|_| vm.new_thread(body).unwrap()).collect();
    let _roots: Vec<_> = threads
        .iter()
        .map(|&t| vm.root(Value::Thread(t)).unwrap())
        .collect();
    let mut results = vec![None; 4];
    let mut started = [false; 4];
    let mut rounds = 0;
    while results.iter().any(Option::is_none) {
        rounds += 1;
        for (i, &t) in threads.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let args = if started[i] {
                vec![]
            } else {
                vec![Value::Int(i as i64)]
            };
            started[i] = true;
            match vm.resume(t, &args, 37) {
                Ok(Outcome::OutOfFuel) => {}
                Ok(Outcome::Return(r)) => {
                    results[i] = match (r[0], r[1]) {
                        (Value::Int(a), Value::Int(s)) => Some((a, s)),
                        other => panic!("{other:?}"),
                    }
                }
                other => panic!("thread {i}: {other:?}"),
            }
            if rounds % 16 == 0 {
                vm.exec(b"collectgarbage()", "=gc").unwrap();
            }
        }
    }
    assert!(rounds > 50, "{rounds} rounds");
    let results: Vec<_> = results.into_iter().map(Option::unwrap).collect();
    assert_eq!(results, alone);
    vm.check_invariants().unwrap();
}

#[test]
fn continuation_style_resumes_report_values_errors_and_refusals() {
    let mut vm = new_vm();
    let r = vm
        .exec(
            br#"local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) error("bad " .. b, 0) end)
                local t1, v1 = resume_k_style(co, 1)
                local t2, v2 = resume_k_style(co, 5)
                local t3, v3 = resume_k_style(co)
                return t1, v1, t2, v2, t3, v3"#,
            "=k",
        )
        .unwrap();
    let got: Vec<String> = r.iter().map(|&v| text(&vm, v)).collect();
    assert_eq!(
        got,
        [
            "ok",
            "Int(2)",
            "error",
            "bad 5",
            "error",
            "cannot resume dead coroutine"
        ]
    );
}

/// `Deliver::TrueAndResults` from a native whose every value is an
/// argument of the resume (no slot below them for `true`).
#[test]
fn true_and_results_with_no_slot_below_the_values() {
    let mut vm = new_vm();
    let resume_co = vm.create_raw_function("resume_co", |vm: &mut Vm, args: Args| {
        let Value::Thread(thread) = vm.get_global("CO") else {
            return Err(vm.error("no CO"));
        };
        Ok(vm.resumek(
            thread,
            args.len(),
            vm_core::Deliver::TrueAndResults,
            &TAGGED_K,
            0,
        ))
    });
    vm.set_global("resume_co", resume_co).unwrap();
    let r = vm
        .exec(
            b"CO = coroutine.create(function(a, b) local c = coroutine.yield(a + b, 'x') return c end)
              local r1 = select('#', resume_co(1, 2))
              local ok, s, x = resume_co(0, 0)
              return r1, ok, s, x",
            "=t",
        )
        .unwrap();
    let got: Vec<String> = r.iter().map(|&v| text(&vm, v)).collect();
    // First resume: true, 3, "x" (3 values); second: the body returns 0.
    assert_eq!(got, ["Int(3)", "Bool(true)", "Int(0)", "Nil"]);
}

/// `Vm::waitk`: a native waits for what the driver provides, from the
/// main thread or from inside coroutines (the whole chain is parked), and
/// continues when resumed; where no driver can take the wait, it is an
/// error.
#[test]
fn a_native_waits_for_its_driver() {
    let mut vm = new_vm();
    let f = vm
        .load(
            b"local a = wait_for()
              local co = coroutine.wrap(function() return wait_for() * 2 end)
              local b = co()
              return a, b, coroutine.status(coroutine.create(print))",
            "=wait",
        )
        .unwrap();
    let main = vm.main_thread();
    let mut out = vm.start(f, &[], 1_000);
    let mut given = 0;
    let results = loop {
        match out {
            Ok(Outcome::Wait) => {
                given += 1;
                // Parked: resuming without giving anything is the
                // native's business (here an error) -- so give first.
                vm.set_global("GIVEN", given * 10).unwrap();
                out = vm.resume(main, &[], 1_000);
            }
            Ok(Outcome::OutOfFuel) => out = vm.resume(main, &[], 1_000),
            Ok(Outcome::Return(v)) => break v,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(given, 2);
    assert!(
        matches!(results[..2], [Value::Int(10), Value::Int(40)]),
        "{results:?}"
    );
    // Outside a driver there is no one to wait for.
    let e = vm.exec(b"return wait_for()", "=direct").unwrap_err();
    assert!(
        e.to_string()
            .contains("attempt to wait across a C-call boundary"),
        "{e}"
    );
}
