//! Scheduler benchmarks (`cargo xtask bench` runs this): what slicing
//! costs a CPU-bound Lua program under round-robin, against one
//! unsliced run; work-stealing with 2 workers against 1 on 8 CPU-bound
//! programs; the tick scheduler's cost per poll of an empty task.
//!
//! ```sh
//! cargo run --release -p vm-sched --features vm --example sched_bench
//! ```

use std::time::Instant;

use vm_sched::{
    LuaTask, Message, Poll, RoundRobin, Scheduler, Slice, Task, TickScheduler, WorkStealing,
};

/// A CPU-bound program of `n` iterations, about 4.4 instructions each.
fn program(n: u64) -> String {
    format!(
        "local s = 0
for i = 1, {n} do
  local x = i % 7
  if x < 3 then s = s + x else s = s - 1 end
end
result = s"
    )
}

/// The round-robin program: about 220 million instructions, long enough
/// for steady timings.
fn long_program() -> String {
    program(50_000_000)
}

/// The best of `runs` timings of `f`, in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Runs the program as one task under round-robin with `slice`.
fn run_sliced(slice: u64, iterations: u64) -> u64 {
    let mut rr = RoundRobin::new().with_slices(slice, slice);
    let task = LuaTask::from_source("cpu", program(iterations).as_bytes()).expect("compiles");
    let id = rr.insert(Box::new(task), 0);
    // Each `execute` runs many slices, as a driver's would.
    rr.run(slice.saturating_mul(100));
    rr.stats(id).expect("a task").slices
}

fn main() {
    // `sched_bench whole` or `sched_bench sliced` runs one side once (for
    // callgrind).
    match std::env::args().nth(1).as_deref() {
        Some("whole") => {
            run_sliced(u64::MAX, 5_000_000);
            return;
        }
        Some("sliced") => {
            run_sliced(1_000, 5_000_000);
            return;
        }
        _ => {}
    }
    let runs = 3;
    // Unsliced: one slice as long as the whole run.
    let mut slices_one = 0;
    let whole = best(runs, || {
        let mut rr = RoundRobin::new().with_slices(u64::MAX, u64::MAX);
        let task = LuaTask::from_source("cpu", long_program().as_bytes()).expect("compiles");
        let id = rr.insert(Box::new(task), 0);
        rr.run(u64::MAX);
        slices_one = rr.stats(id).expect("a task").slices;
    });
    let mut slices = 0;
    let sliced = best(runs, || slices = run_sliced(1_000, 50_000_000));
    println!(
        "round-robin, slices of 1,000 instructions: {:.3} s ({slices} slices) against {:.3} s unsliced ({slices_one} slice): {:+.1}%, {:.0} ns per slice",
        sliced,
        whole,
        (sliced / whole - 1.0) * 100.0,
        (sliced - whole) / slices as f64 * 1e9
    );

    // Work-stealing: 8 programs on 1 worker, then on 2.
    let on = |workers: usize| {
        best(3, || {
            let mut ws = WorkStealing::new(workers);
            for i in 0..8 {
                let t = LuaTask::from_source(&format!("cpu{i}"), program(5_000_000).as_bytes())
                    .expect("compiles");
                ws.insert(Box::new(t), 10_000);
            }
            ws.run(1_000_000);
        })
    };
    let (one, two) = (on(1), on(2));
    println!(
        "work-stealing, 8 CPU-bound programs: {one:.3} s on 1 worker, {two:.3} s on 2: {:.2}x",
        one / two
    );
    // Tick: polls of tasks that do nothing but ask to run again.
    let polls = 1_000_000u64;
    let mut tick = TickScheduler::new();
    for _ in 0..256 {
        tick.insert(Box::new(Empty), 1);
    }
    let t = Instant::now();
    let mut polled = 0u64;
    while polled < polls {
        polled += tick.tick().polled as u64;
    }
    println!(
        "tick: {:.0} ns per poll of an empty task ({polled} polls)",
        t.elapsed().as_secs_f64() / polled as f64 * 1e9
    );
}

/// A task that does nothing and can always go on.
struct Empty;

impl Task for Empty {
    fn run(&mut self, _budget: u64) -> Slice {
        Slice {
            used: 1,
            poll: Poll::Ready,
        }
    }

    fn receive(&mut self, _msg: Message) {}
}
