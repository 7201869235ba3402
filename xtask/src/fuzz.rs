//! `cargo xtask fuzz [--scale N]`: the fuzzers and property tests that
//! `cargo test` runs at a small size, run large.
//!
//! Each target is a test binary whose case counts scale with
//! `VM_TEST_SCALE`: the structure-aware bytecode fuzzer (mutated chunks
//! loaded and run), the weak-table model, the limits and preemption tests
//! (endless callbacks, memory bombs, sliced runs), the random-program and
//! library property tests; and the API misuse tests (forged, stale and
//! foreign handles at every entry point), so that they also run in the
//! release build, where no debug assertion stands between a bad handle
//! and an unchecked read; and the schedulers' model test and
//! work-stealing stress test (20,000 tasks at the default scale).

use crate::exec;

/// Scale when `--scale` is not given: 20 times the `cargo test` size.
pub(crate) const DEFAULT_SCALE: u32 = 20;

/// The test targets run, as `cargo test` arguments.
const TARGETS: &[&[&str]] = &[
    &["-p", "vm-core", "--test", "bytecode_fuzz"],
    &["-p", "vm-core", "--test", "weak_tables"],
    &["-p", "vm-core", "--test", "expr_eval"],
    &["-p", "vm-core", "--test", "number_props"],
    &["-p", "vm-core", "--test", "bad_handles"],
    &["-p", "vm-core", "--test", "api_misuse"],
    &["-p", "vm-core", "--test", "handles"],
    &["-p", "vm-stdlib", "--test", "limits"],
    &["-p", "vm-stdlib", "--test", "sliced"],
    &["-p", "vm-stdlib", "--test", "sort_props"],
    &["-p", "vm-stdlib", "--test", "string_props"],
    &["-p", "vm-stdlib", "--test", "format_props"],
    &["-p", "vm-stdlib", "--test", "pack_props"],
    &["-p", "vm-stdlib", "--test", "utf8_props"],
    &["-p", "vm-sched", "--test", "schedulers"],
    &["-p", "vm-sched", "--test", "work_stealing"],
];

/// Runs every target at `scale`, in release mode (the sizes are large).
///
/// # Errors
/// Names the first target that failed.
pub(crate) fn run(scale: u32) -> Result<(), String> {
    for target in TARGETS {
        let mut args = vec!["test", "--release"];
        args.extend_from_slice(target);
        let shown = format!("VM_TEST_SCALE={scale} cargo {}", args.join(" "));
        eprintln!("fuzz: {shown}");
        let mut command = exec::cargo(&args);
        command.env("VM_TEST_SCALE", scale.to_string());
        exec::run_status(&mut command, &shown)?;
    }
    eprintln!(
        "fuzz: all {} targets passed at scale {scale}",
        TARGETS.len()
    );
    Ok(())
}
