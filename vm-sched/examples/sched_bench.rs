//! Scheduler benchmarks (`cargo xtask bench` runs this): what slicing
//! costs CPU-bound Lua programs under round-robin, against one unsliced
//! run; work-stealing with 2 workers against 1 on 8 CPU-bound programs;
//! the tick scheduler's cost per poll of an empty task.
//!
//! ```sh
//! cargo run --release -p vm-sched --features vm --example sched_bench
//! ```
//!
//! `sched_bench whole` and `sched_bench sliced` run the tightest program
//! once, unsliced or in slices of 1,000 (for callgrind).

use std::time::Instant;

use vm_sched::{
    LuaTask, Message, Poll, RoundRobin, Scheduler, Slice, Task, TickScheduler, WorkStealing,
};

/// A CPU-bound loop of `n` iterations, about 4.4 instructions each: the
/// tightest case for slicing (each slice's share of the interpreter's
/// warm-up is largest).
fn tight_loop(n: u64) -> String {
    format!(
        "local s = 0
for i = 1, {n} do
  local x = i % 7
  if x < 3 then s = s + x else s = s - 1 end
end
result = s"
    )
}

/// The CPU-bound programs whose slicing is measured: the tight loop,
/// calls, tables and strings.
fn programs() -> Vec<(&'static str, String)> {
    vec![
        ("loop", tight_loop(5_000_000)),
        (
            "fib",
            "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
result = fib(27)"
                .into(),
        ),
        (
            "tables",
            "local t = {}
for i = 1, 200000 do t[i] = {x = i, y = i * 2} end
local s = 0
for _ = 1, 10 do for i = 1, #t do local p = t[i] s = s + p.x + p.y end end
result = s"
                .into(),
        ),
        (
            "strings",
            "local parts = {}
for i = 1, 200000 do parts[#parts + 1] = tostring(i) .. ',' end
local n = 0
for w in table.concat(parts):gmatch('%d+') do n = n + #w end
result = n"
                .into(),
        ),
    ]
}

/// Runs `source` as one task under round-robin with slices of `slice`:
/// the seconds it took (the VM made and the program compiled before)
/// and the slices it ran.
fn run_sliced(source: &str, slice: u64) -> (f64, u64) {
    let mut rr = RoundRobin::new().with_slices(slice, slice);
    let task = LuaTask::from_source("cpu", source.as_bytes()).expect("compiles");
    let id = rr.insert(Box::new(task), 0);
    let t = Instant::now();
    // Each `execute` runs many slices, as a driver's would.
    rr.run(slice.saturating_mul(100));
    let elapsed = t.elapsed().as_secs_f64();
    (elapsed, rr.stats(id).expect("a task").slices)
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

fn round_robin() {
    // Whole and sliced runs alternate, and each side keeps its best: the
    // machine's speed drifts by more than the difference measured.
    let rounds = 9;
    let mut overheads = Vec::new();
    for (name, source) in programs() {
        let (mut whole, mut sliced, mut slices) = (f64::INFINITY, f64::INFINITY, 0);
        for _ in 0..rounds {
            whole = whole.min(run_sliced(&source, u64::MAX).0);
            let (t, n) = run_sliced(&source, 1_000);
            sliced = sliced.min(t);
            slices = n;
        }
        let overhead = sliced / whole - 1.0;
        overheads.push(overhead);
        println!(
            "round-robin, {name}: slices of 1,000 instructions {:.2} ms ({slices} slices) against {:.2} ms unsliced: {:+.1}%, {:.0} ns per slice",
            sliced * 1e3,
            whole * 1e3,
            overhead * 100.0,
            (sliced - whole) / slices as f64 * 1e9
        );
    }
    let mean = overheads.iter().map(|o| (1.0 + o).ln()).sum::<f64>() / overheads.len() as f64;
    println!(
        "round-robin, geometric mean of the {} programs: {:+.1}%",
        overheads.len(),
        (mean.exp() - 1.0) * 100.0
    );
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("whole") => {
            run_sliced(&tight_loop(5_000_000), u64::MAX);
            return;
        }
        Some("sliced") => {
            run_sliced(&tight_loop(5_000_000), 1_000);
            return;
        }
        _ => {}
    }
    round_robin();

    // Work-stealing: 8 programs on 1 worker, then on 2.
    let on = |workers: usize| {
        best(3, || {
            let mut ws = WorkStealing::new(workers);
            for i in 0..8 {
                let t = LuaTask::from_source(&format!("cpu{i}"), tight_loop(5_000_000).as_bytes())
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
