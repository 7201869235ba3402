//! Lua programs as tasks (the `vm` feature): interleaving pinned under
//! round-robin, failures isolated with their traceback, offloaded jobs
//! blocking only their task, and a task moved between schedulers.
#![cfg(feature = "vm")]

use std::sync::{Arc, Mutex};

use vm_core::{Args, Continuation, Job, JobValue, LuaResult, NativeFunction, Status, Step, Vm};
use vm_sched::{End, LuaTask, RoundRobin, Scheduler, TaskStatus};

/// A Lua task whose `emit(x)` appends `name:x` to `log`.
fn task(name: &str, src: &str, log: &Arc<Mutex<Vec<String>>>) -> LuaTask {
    let mut t = LuaTask::from_source(name, src.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let (log, who) = (Arc::clone(log), name.to_string());
    let vm = t.vm();
    vm.set_global_function("emit", move |_, x: String| {
        log.lock().unwrap().push(format!("{who}:{x}"));
    })
    .unwrap();
    t
}

const COUNTER: &str = "for i = 1, 3 do
    emit(i)
    local s = 0
    for j = 1, 200 do s = s + j end
end";

#[test]
fn round_robin_pins_the_interleaving_of_lua_programs() {
    let run = || {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut rr = RoundRobin::new();
        for name in ["a", "b", "c"] {
            rr.insert(Box::new(task(name, COUNTER, &log)), 300);
        }
        rr.run(10_000);
        let v = log.lock().unwrap().clone();
        v
    };
    let first = run();
    // An iteration (about 410 instructions) is longer than a slice (300):
    // each emit falls in its own slice, round after round, a b c.
    let expected: Vec<String> = (1..=3)
        .flat_map(|i| ["a", "b", "c"].map(|n| format!("{n}:{i}")))
        .collect();
    assert_eq!(first, expected);
    for _ in 0..3 {
        assert_eq!(run(), first);
    }
}

#[test]
fn a_failing_program_does_not_stop_the_others() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut rr = RoundRobin::new();
    let ok = rr.insert(Box::new(task("ok", COUNTER, &log)), 50);
    let bad = rr.insert(
        Box::new(task(
            "bad",
            "emit('start')\nlocal function f() error('boom') end\nf()",
            &log,
        )),
        50,
    );
    let forever = rr.insert(Box::new(task("forever", "while true do end", &log)), 50);
    // The endless loop keeps the scheduler busy, never the others waiting.
    for _ in 0..100 {
        rr.execute(1_000);
    }
    assert_eq!(rr.status(ok), Some(TaskStatus::Dead(End::Finished)));
    let Some(TaskStatus::Dead(End::Failed(e))) = rr.status(bad) else {
        panic!("{:?}", rr.status(bad))
    };
    assert_eq!(e.message, "bad:2: boom");
    let tb = e.traceback.expect("a traceback");
    assert!(tb.contains("bad:2: in"), "{tb}");
    assert_eq!(rr.status(forever), Some(TaskStatus::Running));
    assert!(rr.stats(forever).unwrap().used >= 50_000);
    assert!(rr.kill(forever));
    assert_eq!(rr.live(), 0);
    assert_eq!(log.lock().unwrap().len(), 4);
}

/// `slow_double(n)`: 2n, computed by an offloaded job.
static SLOW_DOUBLE: NativeFunction = NativeFunction::new("slow_double", slow_double);
static SLOW_DOUBLE_K: Continuation = Continuation::new("test.slow_double_k", slow_double_k);

fn slow_double(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let n = vm.check_integer(args, 1)?;
    Ok(vm.offloadk(
        Job::new(move || Ok(vec![JobValue::Int(2 * n)])),
        &SLOW_DOUBLE_K,
        0,
    ))
}

fn slow_double_k(vm: &mut Vm, args: Args, status: Status, _ctx: i64) -> LuaResult<Step> {
    if status == Status::Error {
        return Err(vm.error("the job failed"));
    }
    Ok(Step::Return(vm.frame_top(args) - args.len()))
}

#[test]
fn an_offloaded_job_blocks_only_its_task() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut rr = RoundRobin::new();
    let mut waiter = task(
        "waiter",
        "local s = 0 for i = 1, 5 do s = s + slow_double(i) end emit(s)",
        &log,
    );
    let vm = waiter.vm();
    let g = vm.globals_ref();
    vm.register(g, &[&SLOW_DOUBLE]).unwrap();
    let w = rr.insert(Box::new(waiter), 100);
    let c = rr.insert(Box::new(task("counter", COUNTER, &log)), 100);
    rr.run(1_000);
    assert_eq!(rr.status(w), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(rr.status(c), Some(TaskStatus::Dead(End::Finished)));
    assert!(rr.stats(w).unwrap().blocks >= 5);
    assert!(log.lock().unwrap().contains(&"waiter:30".to_string()));
}

#[test]
fn a_lua_task_moves_to_another_scheduler_and_continues() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut a = RoundRobin::new();
    let mut b: Box<dyn Scheduler> = Box::new(RoundRobin::new());
    let id = a.insert(Box::new(task("mover", COUNTER, &log)), 100);
    a.execute(150);
    assert_eq!(log.lock().unwrap().as_slice(), ["mover:1"]);
    let t = a.remove(id).expect("a live task");
    assert_eq!(a.status(id), None);
    let id = b.insert(t, 100);
    b.run(1_000);
    assert_eq!(b.status(id), Some(TaskStatus::Dead(End::Finished)));
    assert_eq!(
        log.lock().unwrap().as_slice(),
        ["mover:1", "mover:2", "mover:3"]
    );
}
