//! Property test of exact resumption: random programs (`support/progen.rs`,
//! with coroutines, pcall, metamethods, closures, iterators) run by
//! `Vm::start`/`Vm::resume` in random slice sizes, from one instruction
//! upward, return exactly what an unsliced run returns.
//!
//! `VM_TEST_SCALE` multiplies the number of cases (32 by default).

#[path = "support/progen.rs"]
mod progen;

use proptest::prelude::*;
use vm_core::{Outcome, Value, Vm};

/// Runs `src` on a fresh VM, resuming with the budgets of `slices` in turn
/// (cycling); returns the chunk's results rendered as text (or the error)
/// and the number of resumes.
fn run(src: &str, slices: &[u64]) -> (Result<Vec<String>, String>, usize) {
    run_on(Vm::new(), src, slices)
}

/// `run` with a collection at every safe point (`Vm::gc_set_stress`).
fn run_stressed(src: &str, slices: &[u64]) -> (Result<Vec<String>, String>, usize) {
    let mut vm = Vm::new();
    vm.gc_set_stress(true);
    run_on(vm, src, slices)
}

fn run_on(mut vm: Box<Vm>, src: &str, slices: &[u64]) -> (Result<Vec<String>, String>, usize) {
    vm_stdlib::open_all(&mut vm).unwrap();
    let f = match vm.load(src.as_bytes(), "=prog") {
        Ok(f) => f,
        Err(e) => return (Err(vm.error_to_string(&e)), 0),
    };
    let main = vm.main_thread();
    let mut budgets = slices.iter().copied().cycle();
    let mut resumes = 1;
    let mut out = vm.start(f, &[], budgets.next().unwrap_or(u64::MAX));
    let result = loop {
        match out {
            Ok(Outcome::OutOfFuel) => {
                resumes += 1;
                out = vm.resume(main, &[], budgets.next().unwrap_or(u64::MAX));
            }
            Ok(Outcome::Return(vals)) => {
                break Ok(vals.iter().map(|&v| render(&vm, v)).collect());
            }
            Ok(other) => break Err(format!("unexpected outcome {other:?}")),
            Err(e) => break Err(e.to_string()),
        }
    };
    if let Err(e) = vm.check_invariants() {
        return (Err(format!("invariant broken: {e}")), resumes);
    }
    (result, resumes)
}

/// A value as text; objects by their type only, since their handles
/// depend on the collector's history.
fn render(vm: &Vm, v: Value) -> String {
    match v {
        Value::Str(_) => String::from_utf8_lossy(vm.str_bytes(v).unwrap_or_default()).into_owned(),
        Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Num(_) => format!("{v:?}"),
        other => other.type_name().to_string(),
    }
}

fn slices() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(
        prop_oneof![4 => 1u64..8, 2 => 8u64..100, 1 => 100u64..5000],
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(32), ..ProptestConfig::default() })]

    #[test]
    fn sliced_runs_match_unsliced(src in progen::program_with_coroutines(), slices in slices()) {
        let (whole, _) = run(&src, &[u64::MAX]);
        let (sliced, resumes) = run(&src, &slices);
        prop_assert_eq!(&sliced, &whole, "slices {:?}, {} resumes\n{}", slices, resumes, src);
    }

    #[test]
    fn plain_programs_sliced_match_unsliced(src in progen::program(), slices in slices()) {
        let (whole, _) = run(&src, &[u64::MAX]);
        let (sliced, resumes) = run(&src, &slices);
        prop_assert_eq!(&sliced, &whole, "slices {:?}, {} resumes\n{}", slices, resumes, src);
    }

    /// The same with a collection at every safe point in the sliced run:
    /// whatever the interpreter holds across a suspension stays alive.
    #[test]
    fn sliced_runs_under_gc_stress_match(src in progen::program_with_coroutines(), slices in slices()) {
        let (whole, _) = run(&src, &[u64::MAX]);
        let (sliced, resumes) = run_stressed(&src, &slices);
        prop_assert_eq!(&sliced, &whole, "slices {:?}, {} resumes\n{}", slices, resumes, src);
    }
}

/// Slicing really happens: a one-instruction budget needs a resume per
/// instruction.
#[test]
fn one_instruction_slices_resume_often() {
    let src = "local t = {} for i = 1, 100 do t[i] = i end return #t";
    let (r, resumes) = run(src, &[1]);
    assert_eq!(r, Ok(vec!["Int(100)".to_string()]));
    // Two instructions per iteration (SETTABLE, FORLOOP).
    assert!(resumes > 200, "{resumes} resumes");
}
