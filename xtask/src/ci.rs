//! `cargo xtask ci`: the checks that `.ci/run` runs, in the same order, stopping at the
//! first failure.

use crate::exec;

/// The test command of CI, as `cargo` arguments. Change it here only. It
/// runs the tidy checks too (`tidy.rs`: module headers, vm-core's
/// layering), which are tests of this crate.
pub(crate) const TEST_COMMAND: &[&str] = &["test", "--workspace"];

/// Formatting check, as `cargo` arguments.
const FMT_COMMAND: &[&str] = &["fmt", "--all", "--check"];

/// Lints with warnings denied, as `cargo` arguments.
const CLIPPY_COMMAND: &[&str] = &[
    "clippy",
    "--workspace",
    "--all-targets",
    "--",
    "-D",
    "warnings",
];

/// Every CI step, in order.
const STEPS: [&[&str]; 3] = [FMT_COMMAND, CLIPPY_COMMAND, TEST_COMMAND];

/// Runs every CI step.
///
/// # Errors
/// Names the first step that failed.
pub(crate) fn run() -> Result<(), String> {
    for args in STEPS {
        let shown = shown(args);
        eprintln!("ci: {shown}");
        exec::run_status(&mut exec::cargo(args), &shown)?;
    }
    eprintln!("ci: all {} steps passed", STEPS.len());
    Ok(())
}

/// The step as a shell user would type it.
fn shown(args: &[&str]) -> String {
    format!("cargo {}", args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_match_the_ci_script() {
        let steps: Vec<String> = STEPS.iter().map(|args| shown(args)).collect();
        assert_eq!(
            steps,
            [
                "cargo fmt --all --check",
                "cargo clippy --workspace --all-targets -- -D warnings",
                "cargo test --workspace",
            ]
        );
    }
}
