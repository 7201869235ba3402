//! The cost of driving one of many parked coroutines: N coroutines are
//! started and left parked (out of fuel, or waiting for an offloaded
//! job), then each is resumed once (or has its job completed and is
//! resumed); the time per operation should not grow with N.
//!
//! ```sh
//! cargo run --release -p vm-core --example parked -- 100000
//! ```

use std::time::Instant;

use vm_core::{Args, Continuation, Job, LuaResult, NativeFunction, Outcome, Status, Step, Vm};

static WAIT: NativeFunction = NativeFunction::new("wait", wait);
static WAIT_K: Continuation = Continuation::new("wait_k", wait_k);

/// `wait()` offloads a job that does nothing.
fn wait(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    Ok(vm.offloadk(Job::new(|| Ok(Vec::new())), &WAIT_K, 0))
}

fn wait_k(_vm: &mut Vm, _args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    Ok(Step::Return(0))
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut vm = Vm::new();
    let g = vm.globals_ref();
    vm.register(g, &[&WAIT]).unwrap();
    let spin = vm
        .eval::<vm_core::Function>(b"return function() while true do end end", "=spin")
        .unwrap();
    let waiter = vm
        .eval::<vm_core::Function>(b"return function() while true do wait() end end", "=waiter")
        .unwrap();

    // Out of fuel: every coroutine is parked after its first slice.
    let threads: Vec<_> = (0..n).map(|_| vm.create_thread(&spin).unwrap()).collect();
    for t in &threads {
        let out = vm.resume(t.raw(), &[], 10).unwrap();
        assert!(matches!(out, Outcome::OutOfFuel));
    }
    let started = Instant::now();
    for t in &threads {
        let out = vm.resume(t.raw(), &[], 10).unwrap();
        assert!(matches!(out, Outcome::OutOfFuel));
    }
    let per_resume = started.elapsed().as_nanos() as f64 / n as f64;

    // Offloaded: every coroutine waits for its job.
    let waiting: Vec<_> = (0..n).map(|_| vm.create_thread(&waiter).unwrap()).collect();
    let mut jobs = Vec::with_capacity(n);
    for t in &waiting {
        match vm.resume(t.raw(), &[], 1_000).unwrap() {
            Outcome::Offload(job) => jobs.push(job),
            other => panic!("expected an offload, got {other:?}"),
        }
    }
    let results: Vec<_> = jobs.into_iter().map(Job::run).collect();
    let started = Instant::now();
    for (t, result) in waiting.iter().zip(results) {
        vm.complete_offload(t.raw(), result).unwrap();
        let out = vm.resume(t.raw(), &[], 1_000).unwrap();
        assert!(matches!(out, Outcome::Offload(_)));
    }
    let per_offload = started.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "{n} parked coroutines: resume {per_resume:.0} ns, complete_offload + resume {per_offload:.0} ns"
    );
}
