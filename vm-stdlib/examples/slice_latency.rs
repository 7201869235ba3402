//! How long one slice takes: runs a Lua script (with the standard library)
//! by resuming it with a budget of N instructions at a time, as a scheduler
//! would, and prints the number of slices, the longest one and the mean,
//! and the fuel the run was charged (with the time per unit: a script
//! whose work is undercharged shows many more nanoseconds per unit than
//! plain instructions, about 10).
//! The longest slice is what the budget invariant bounds ("a driver call
//! returns within its budget plus K units"): a native that pauses between
//! steps keeps it short however large its input.
//!
//! ```sh
//! cargo run --release -p vm-stdlib --example slice_latency -- 10000 script.lua
//! ```

use std::time::{Duration, Instant};

use vm_core::{Outcome, Vm};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let (Some(budget), Some(path)) = (argv.get(1).and_then(|n| n.parse().ok()), argv.get(2)) else {
        eprintln!("usage: slice_latency BUDGET SCRIPT");
        std::process::exit(2);
    };
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("slice_latency: {path}: {e}");
            std::process::exit(1);
        }
    };
    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm).unwrap();
    let f = match vm.load(&text, &format!("@{path}")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("slice_latency: {}", vm.error_to_string(&e));
            std::process::exit(1);
        }
    };
    let main = vm.main_thread();
    let (mut slices, mut longest, mut total) = (0u64, Duration::ZERO, Duration::ZERO);
    let mut fuel = 0u64;
    let mut time = |vm: &Vm, slices: &mut u64, started: Instant| {
        let took = started.elapsed();
        fuel += vm.fuel_used();
        *slices += 1;
        longest = longest.max(took);
        total += took;
    };
    let started = Instant::now();
    let mut out = vm.start(f, &[], budget);
    time(&vm, &mut slices, started);
    loop {
        match out {
            Ok(Outcome::OutOfFuel) => {
                let started = Instant::now();
                out = vm.resume(main, &[], budget);
                time(&vm, &mut slices, started);
            }
            Ok(Outcome::Return(_)) => break,
            Ok(other) => {
                eprintln!("slice_latency: the script stopped with {other:?}");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("slice_latency: {}", vm.error_to_string(&e));
                std::process::exit(1);
            }
        }
    }
    let mean = total / u32::try_from(slices).unwrap_or(u32::MAX).max(1);
    let per_unit = total.as_nanos() as f64 / fuel.max(1) as f64;
    println!(
        "slices {slices}  longest {longest:.2?}  mean {mean:.2?}  total {total:.2?}  fuel {fuel}  {per_unit:.1} ns/unit"
    );
}
