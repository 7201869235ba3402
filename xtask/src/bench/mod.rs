//! `cargo xtask bench`: runs every `bench/*.lua` under our `vm` and under PUC Lua 5.4,
//! checks that both print the same thing, and compares wall time and peak memory.
//!
//! 1. Find `lua5.4` (installing it when possible) and build `vm` in release mode, unless
//!    `VM_BENCH_VM` names another binary.
//! 2. For each benchmark, run both interpreters `--runs` times, alternating which goes
//!    first in each round (lua5.4 in the first) so neither always runs on a warmer machine.
//! 3. Every run's stdout must equal lua5.4's first one; otherwise, or if a run fails, the
//!    benchmark is marked failed and left out of the means.
//! 4. Print the table (median time and highest peak memory per VM, with ratios, and the
//!    range of the per-round time ratios) and the geometric means; with `--write`, also
//!    put them in `BENCHMARKS.md`.
//!
//! Adding a benchmark is dropping a deterministic `.lua` file in `bench/`.
//!
//! Without a filter, the schedulers' and agents' benchmarks run last
//! (`vm-sched/examples/agents_bench.rs`: round trips, spawns, idle agents'
//! memory, skynet; `vm-sched/examples/sched_bench.rs`: round-robin slices, work-stealing
//! on 2 workers against 1, tick polls).

mod measure;
mod report;
mod setup;
mod stats;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::BenchOptions;
use crate::exec;
use measure::Sample;
use report::{Context, Figures, Measured, Row};
use setup::Benchmark;

/// Runs the suite as `options` say.
///
/// # Errors
/// If setup fails, `BENCHMARKS.md` cannot be rewritten, or any benchmark failed (after the
/// table has been printed).
pub(crate) fn run(options: &BenchOptions) -> Result<(), String> {
    let root = exec::workspace_root();
    let lua = setup::ensure_lua()?;
    let vm = setup::vm_binary(&root)?;
    let benchmarks = setup::discover(&root.join("bench"), options.filter.as_deref())?;
    eprintln!(
        "bench: {} benchmark(s), {} run(s) each, vm = {}, reference = {}",
        benchmarks.len(),
        options.runs,
        vm.display(),
        lua.display()
    );

    let mut rows = Vec::with_capacity(benchmarks.len());
    for (index, benchmark) in benchmarks.iter().enumerate() {
        let outcome = run_benchmark(benchmark, &vm, &lua, options.runs);
        eprintln!(
            "[{}/{}] {}: {}",
            index + 1,
            benchmarks.len(),
            benchmark.name,
            progress_note(&outcome)
        );
        rows.push(Row {
            name: benchmark.name.clone(),
            outcome,
        });
    }

    println!("\n{}\n{}", report::table(&rows), report::summary(&rows));
    if options.filter.is_none() {
        schedulers()?;
        agents()?;
    }
    if options.write {
        write_figures(&root.join("BENCHMARKS.md"), &context(options, &lua), &rows)?;
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|row| row.outcome.is_err())
        .map(|row| row.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("error: benchmark(s) failed: {}", failed.join(", ")))
    }
}

/// The schedulers' benchmarks (`vm-sched/examples/sched_bench.rs`: the
/// cost of round-robin slices, work-stealing on 2 workers against 1, the
/// cost of a tick poll).
fn schedulers() -> Result<(), String> {
    vm_sched_example("schedulers", "sched_bench")
}

/// The agents' benchmarks (`vm-sched/examples/agents_bench.rs`: message
/// round trips, spawns, bytes per idle agent and skynet, per scheduler).
fn agents() -> Result<(), String> {
    vm_sched_example("agents", "agents_bench")
}

/// Runs vm-sched's example `name` in release mode; it measures vm alone,
/// so it prints its own figures.
fn vm_sched_example(what: &str, name: &str) -> Result<(), String> {
    let args = [
        "run",
        "--release",
        "-q",
        "-p",
        "vm-sched",
        "--features",
        "vm",
        "--example",
        name,
    ];
    eprintln!("\nbench: {what}");
    exec::run_status(
        &mut exec::cargo(&args),
        &format!("cargo {}", args.join(" ")),
    )
}

/// Runs one benchmark `runs` times under each interpreter, comparing every output with
/// lua5.4's first one; stops at the first failure.
fn run_benchmark(
    benchmark: &Benchmark,
    vm: &Path,
    lua: &Path,
    runs: u32,
) -> Result<Measured, String> {
    const VM: usize = 0;
    const LUA: usize = 1;
    let sides = [("vm", vm), ("lua5.4", lua)];
    let mut samples: [Vec<Sample>; 2] = Default::default();
    let mut expected: Option<Vec<u8>> = None;
    for round in 0..runs {
        // lua5.4 starts, so that its output is the reference before vm's is checked.
        let order = if round % 2 == 0 { [LUA, VM] } else { [VM, LUA] };
        for side in order {
            let (label, program) = sides[side];
            let sample = measure::run(Command::new(program).arg(&benchmark.path))
                .map_err(|err| format!("{label} failed: {err}"))?;
            let expected = expected.get_or_insert_with(|| sample.stdout.clone());
            check_output(&sample.stdout, expected, label)?;
            samples[side].push(sample);
        }
    }
    let [vm_samples, lua_samples] = samples;
    Ok(Measured {
        vm: figures(&vm_samples)?,
        lua: figures(&lua_samples)?,
        round_ratios: round_ratios(&vm_samples, &lua_samples)?,
    })
}

/// The lowest and highest vm/lua time ratio among the rounds.
fn round_ratios(vm: &[Sample], lua: &[Sample]) -> Result<(f64, f64), String> {
    let ratios: Vec<f64> = vm
        .iter()
        .zip(lua)
        .map(|(v, l)| v.seconds / l.seconds)
        .collect();
    let min = ratios.iter().copied().reduce(f64::min);
    let max = ratios.iter().copied().reduce(f64::max);
    match (min, max) {
        (Some(min), Some(max)) if min.is_finite() && max.is_finite() => Ok((min, max)),
        _ => Err("no valid timing was recorded".to_string()),
    }
}

/// Median time and highest peak memory of a VM's samples.
fn figures(samples: &[Sample]) -> Result<Figures, String> {
    let seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    Ok(Figures {
        median_seconds: stats::median(&seconds).ok_or("no valid timing was recorded")?,
        peak_bytes: samples.iter().map(|s| s.peak_bytes).max().unwrap_or(0),
    })
}

/// Checks one run's output against lua5.4's, naming the first line that differs.
fn check_output(actual: &[u8], expected: &[u8], label: &str) -> Result<(), String> {
    if actual == expected {
        return Ok(());
    }
    let actual = String::from_utf8_lossy(actual);
    let expected = String::from_utf8_lossy(expected);
    let mut actual_lines = actual.lines();
    let mut expected_lines = expected.lines();
    for line in 1.. {
        match (actual_lines.next(), expected_lines.next()) {
            (Some(a), Some(e)) if a == e => continue,
            (None, None) => break,
            (a, e) => {
                let show =
                    |l: Option<&str>| l.map_or("end of output".to_string(), |l| format!("`{l}`"));
                return Err(format!(
                    "{label} output differs from lua5.4's at line {line}: {} instead of {}",
                    show(a),
                    show(e)
                ));
            }
        }
    }
    // Same lines, so the difference is in line endings or a final newline.
    Err(format!(
        "{label} output differs from lua5.4's in line endings"
    ))
}

/// A one-line account of a finished benchmark for the progress log.
fn progress_note(outcome: &Result<Measured, String>) -> String {
    match outcome {
        Ok(m) => format!(
            "vm {:.3} s, lua5.4 {:.3} s, ratio {:.2}",
            m.vm.median_seconds,
            m.lua.median_seconds,
            m.time_ratio()
        ),
        Err(reason) => format!("FAILED: {reason}"),
    }
}

/// Describes this run for `BENCHMARKS.md`.
fn context(options: &BenchOptions, lua: &Path) -> Context {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let overridden = std::env::var(setup::VM_OVERRIDE)
        .map(|vm| format!("{}={vm} ", setup::VM_OVERRIDE))
        .unwrap_or_default();
    let mut command = format!("{overridden}cargo xtask bench");
    for arg in &options.raw_args {
        command.push(' ');
        command.push_str(arg);
    }
    Context {
        date: report::utc_date(now),
        cpus: setup::cpu_count(),
        cpu_model: setup::cpu_model(),
        lua_version: setup::lua_version(lua),
        command,
    }
}

/// Rewrites the figures section of `BENCHMARKS.md` at `path`.
fn write_figures(path: &Path, context: &Context, rows: &[Row]) -> Result<(), String> {
    let document = fs::read_to_string(path)
        .map_err(|err| format!("error: cannot read {}: {err}", path.display()))?;
    let updated = report::replace_figures(&document, &report::figures(context, rows))?;
    fs::write(path, updated)
        .map_err(|err| format!("error: cannot write {}: {err}", path.display()))?;
    eprintln!("bench: figures written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_outputs_pass() {
        assert_eq!(check_output(b"a\nb\n", b"a\nb\n", "vm"), Ok(()));
    }

    #[test]
    fn output_mismatch_names_the_first_differing_line() {
        let err = check_output(b"a\nx\nc\n", b"a\nb\nc\n", "vm").unwrap_err();
        assert_eq!(
            err,
            "vm output differs from lua5.4's at line 2: `x` instead of `b`"
        );
        let err = check_output(b"a\n", b"a\nb\n", "vm").unwrap_err();
        assert_eq!(
            err,
            "vm output differs from lua5.4's at line 2: end of output instead of `b`"
        );
        let err = check_output(b"a\nb", b"a\nb\n", "lua5.4").unwrap_err();
        assert_eq!(err, "lua5.4 output differs from lua5.4's in line endings");
    }

    #[test]
    fn round_ratios_pair_the_runs_of_each_round() {
        let sample = |seconds| Sample {
            seconds,
            peak_bytes: 0,
            stdout: Vec::new(),
        };
        let vm = [sample(1.0), sample(3.0), sample(2.0)];
        let lua = [sample(2.0), sample(2.0), sample(1.0)];
        assert_eq!(round_ratios(&vm, &lua), Ok((0.5, 2.0)));
        assert!(round_ratios(&[], &[]).is_err());
        assert!(round_ratios(&[sample(1.0)], &[sample(0.0)]).is_err());
    }

    #[test]
    fn figures_take_median_time_and_highest_peak() {
        let sample = |seconds, peak_bytes| Sample {
            seconds,
            peak_bytes,
            stdout: Vec::new(),
        };
        let figures = figures(&[sample(3.0, 10), sample(1.0, 30), sample(2.0, 20)]).unwrap();
        assert_eq!(
            figures,
            Figures {
                median_seconds: 2.0,
                peak_bytes: 30
            }
        );
    }
}
