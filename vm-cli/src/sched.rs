//! `vm run`: several Lua programs at once, each a task of a scheduler.
//!
//! ```text
//! vm run [--sched rr|tick|ws] [--workers N] [--slice N] [--stats]
//!        [--instruction-limit N] [--memory-limit BYTES] [--max-agents N]
//!        a.lua b.lua ...
//! ```
//! Each file (`-`: standard input, named `stdin`) runs in its own VM
//! with the standard library, as a [`LuaTask`], N instructions per slice.
//! A program that fails is reported when it fails, with its name and
//! traceback, and the others go on; the exit status is 1 if any failed. `--instruction-limit` and
//! `--memory-limit` apply to each program (each agent); `--max-agents`
//! caps the agents alive at once (`agent.spawn` past it is an error; by
//! default as many as half the machine's memory holds at 8 KB each).
//! `--stats` prints, on standard
//! error at the end, each task's counters (and each worker's, under
//! work-stealing). The schedulers: round-robin (`rr`, the default: one
//! thread, a fixed order), tick (`tick`) and work-stealing (`ws`,
//! `--workers N` threads, by default one per core, at most
//! [`MAX_WORKERS`]).
//!
//! An interrupt (SIGINT, SIGTERM) stops the run between slices: the
//! programs still running are reported as such (`--stats` prints the
//! table as it stands), and the exit status is 130; if every program has
//! ended by then, the run ends as if there had been none. A program
//! blocked in a native call (`io.read` on a pipe, `os.execute`) goes on
//! after the interrupt; a second one ends the process at once, with
//! status 130 and no table.
//!
//! (`vm run ...` is this command; a script named `run` is run with
//! `vm ./run` or `vm -- run`.)

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use vm_sched::{
    AgentConfig, Agents, End, RoundRobin, Scheduler, StatusCallback, TaskId, TaskStatus,
    TickScheduler, WorkStealing, DEFAULT_SLICE, MAX_WORKERS,
};

use crate::{count_arg, memory_limit_arg, memory_limit_bytes, MemoryLimit, PROGNAME};

/// What `vm run` is asked for.
#[derive(Debug, Default, PartialEq)]
struct RunOptions {
    sched: String,
    workers: Option<u64>,
    slice: Option<u64>,
    stats: bool,
    instruction_limit: Option<u64>,
    memory_limit: MemoryLimit,
    max_agents: Option<u64>,
    files: Vec<String>,
    /// The index in `files` of `-`, standard input, if given.
    stdin: Option<usize>,
}

fn parse(argv: &[String]) -> Result<RunOptions, String> {
    let mut o = RunOptions {
        sched: "rr".to_string(),
        ..RunOptions::default()
    };
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "--sched" => {
                o.sched = argv.get(i + 1).ok_or("'--sched' needs argument")?.clone();
                i += 1;
            }
            "--slice" => {
                o.slice = Some(count_arg(argv, i + 1, a)?);
                i += 1;
            }
            "--workers" => {
                let n = count_arg(argv, i + 1, a)?;
                // (Work-stealing's own cap: far more threads than cores
                // only slow the run down.)
                if n > MAX_WORKERS as u64 {
                    return Err(format!("'{a}' is at most {MAX_WORKERS}, got '{n}'"));
                }
                o.workers = Some(n);
                i += 1;
            }
            "--stats" => o.stats = true,
            "--instruction-limit" => {
                o.instruction_limit = Some(count_arg(argv, i + 1, a)?);
                i += 1;
            }
            "--memory-limit" => {
                o.memory_limit = memory_limit_arg(argv, i + 1, a)?;
                i += 1;
            }
            "--max-agents" => {
                o.max_agents = Some(count_arg(argv, i + 1, a)?);
                i += 1;
            }
            // As `lua -`: the script on standard input (read once, so
            // given once). After `--`, `-` is a file's name, as in `lua.c`.
            "-" => {
                if o.stdin.is_some() {
                    return Err("'-' (standard input) given twice".to_string());
                }
                o.stdin = Some(o.files.len());
                o.files.push(a.to_string());
            }
            "--" => {
                o.files.extend(argv[i + 1..].iter().cloned());
                break;
            }
            _ if a.starts_with('-') => {
                return Err(format!("unrecognized option '{a}' for 'run'"));
            }
            _ => o.files.push(a.to_string()),
        }
        i += 1;
    }
    if o.files.is_empty() {
        return Err("'run' needs at least one script".to_string());
    }
    Ok(o)
}

fn usage(msg: &str) {
    say!("{PROGNAME}: {msg}");
    say!(
        "usage: {PROGNAME} run [options] script... ('-': standard input)\n\
         Available options are:\n  \
         --sched rr|tick|ws  the scheduler: round-robin (default), tick, work-stealing\n  \
         --workers N         work-stealing's threads (default: one per core; at most {MAX_WORKERS})\n  \
         --slice N           N instructions per slice (default {DEFAULT_SLICE})\n  \
         --stats             print each task's counters at the end\n  \
         --instruction-limit N  stop each program past N instructions\n  \
         --memory-limit BYTES   stop each program past BYTES of heap\n  \
         --max-agents N         at most N agents alive at once"
    );
}

/// Runs `vm run` (argv[1] is "run").
pub(crate) fn main(argv: &[String]) -> ExitCode {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(msg) => {
            usage(&msg);
            return ExitCode::FAILURE;
        }
    };
    if o.workers.is_some() && o.sched != "ws" {
        usage("'--workers' is for '--sched ws'");
        return ExitCode::FAILURE;
    }
    // Every task gets exactly `--slice` instructions per slice: the
    // schedulers' default and longest slice are set to it.
    let slice = o.slice.unwrap_or(DEFAULT_SLICE);
    let mut ws = None;
    let mut workers = 1;
    let mut sched: Box<dyn Scheduler> = match o.sched.as_str() {
        "rr" => Box::new(RoundRobin::new().with_slices(slice, slice)),
        "tick" => Box::new(TickScheduler::new().with_slices(slice, slice)),
        "ws" => {
            let s = match o.workers {
                Some(n) => WorkStealing::new(usize::try_from(n).unwrap_or(usize::MAX)),
                None => WorkStealing::default(),
            }
            .with_slices(slice, slice);
            workers = s.workers();
            // The statistics of the workers are read at the end.
            let stats = s.stats_handle();
            ws = Some(stats);
            Box::new(s)
        }
        other => {
            usage(&format!(
                "unknown scheduler '{other}' (available: rr, tick, ws)"
            ));
            return ExitCode::FAILURE;
        }
    };
    // Failures are reported as they happen, named by their program when
    // the message does not say where it comes from.
    let names: Arc<Mutex<HashMap<TaskId, String>>> = Arc::default();
    let names_seen = Arc::clone(&names);
    let report: StatusCallback = Box::new(move |id, status| {
        if let TaskStatus::Dead(End::Failed(e)) = status {
            let names = names_seen.lock().unwrap_or_else(PoisonError::into_inner);
            // An agent a program spawned is named by its id.
            let name = names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("agent {}", id.get()));
            let text = if e.message.starts_with(&format!("{name}:")) {
                e.to_string()
            } else {
                format!("{name}: {e}")
            };
            let _ = writeln!(std::io::stderr(), "{PROGNAME}: {text}");
        }
    });
    // Every program is an agent, and so is every agent it spawns, each
    // with the limits given.
    let memory_limit = memory_limit_bytes(o.memory_limit);
    let config = AgentConfig {
        memory_limit,
        instruction_limit: o.instruction_limit,
        max_agents: o
            .max_agents
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..AgentConfig::default()
    };
    let agents = Agents::install(sched.as_mut(), config, Some(report));
    let mut failed = false;
    let mut tasks: Vec<TaskId> = Vec::new();
    for (k, file) in o.files.iter().enumerate() {
        // Standard input is named `stdin` in messages, as `lua -` names it.
        let (name, read) = if o.stdin == Some(k) {
            let mut source = Vec::new();
            let read = std::io::stdin().read_to_end(&mut source);
            ("stdin", read.map(|_| source).map_err(|e| ("read", e)))
        } else {
            (file.as_str(), std::fs::read(file).map_err(|e| ("open", e)))
        };
        let source = match read {
            // A byte order mark and a `#` first line are skipped, as `lua`
            // skips them in a script.
            Ok(mut s) => {
                vm_stdlib::base::skip_file_header(&mut s);
                s
            }
            Err((what, e)) => {
                say!("{PROGNAME}: cannot {what} {name}: {}", os_error_text(&e));
                failed = true;
                continue;
            }
        };
        // A file's chunk is `@file` (its source for `debug.getinfo`), as
        // `lua` names it; standard input's `=stdin`.
        let chunk = if o.stdin == Some(k) {
            "=stdin".to_string()
        } else {
            format!("@{name}")
        };
        let task = match agents.from_source(&chunk, &source) {
            Ok(t) => t,
            // (A syntax error names its chunk; a library that cannot open,
            // under a tiny memory limit, does not.)
            Err(e) if !e.message.starts_with(&format!("{name}:")) => {
                say!("{PROGNAME}: {name}: {e}");
                failed = true;
                continue;
            }
            Err(e) => {
                say!("{PROGNAME}: {e}");
                failed = true;
                continue;
            }
        };
        let id = sched.insert(Box::new(task), 0);
        names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, name.to_string());
        tasks.push(id);
    }
    // Each execute gives every task (or every worker) a slice, and lasts
    // a few milliseconds at least: an execute of work-stealing wakes every
    // worker and waits for all to park again, which slices of a lone task
    // should not pay every few slices. (Interrupts are seen between
    // executes.)
    let budget = slice
        .saturating_mul(tasks.len().max(workers).max(1) as u64)
        .max(EXECUTE_UNITS);
    let interrupted = run_until_done_or_interrupted(sched.as_mut(), budget);
    if interrupted {
        say!("{PROGNAME}: interrupted");
    }
    failed |= tasks
        .iter()
        .any(|&id| matches!(sched.status(id), Some(TaskStatus::Dead(End::Failed(_)))));
    // Programs that wait for messages nothing can send any more: the run
    // ended without them (a deadlock), which is no success either.
    if !interrupted {
        let names = names.lock().unwrap_or_else(PoisonError::into_inner);
        for &id in &tasks {
            if sched.status(id) == Some(TaskStatus::Blocking) {
                let name = names.get(&id).map_or("?", String::as_str);
                say!("{PROGNAME}: {name}: waits for a message that nothing can send");
                failed = true;
            }
        }
    }
    if o.stats {
        print_stats(sched.as_ref(), &tasks);
        if let Some(workers) = ws {
            print_worker_stats(&workers.get());
        }
    }
    if interrupted {
        ExitCode::from(130)
    } else if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// An OS error as C's `strerror` words it, as `lua` reports it (Rust's
/// `Display` adds " (os error N)").
fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The least budget of one `execute`: a few milliseconds of Lua.
const EXECUTE_UNITS: u64 = 2_000_000;

/// Set by the signal handler; read between executes.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The first interrupt sets [`INTERRUPTED`]; a second one ends the process
/// at once (status 130), for a program blocked in a native call (a read
/// from a pipe that stays open, `os.execute`) that the first one did not
/// end: the call resumes after the handler, and the flag is only read
/// between executes.
extern "C" fn on_interrupt(_signal: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        const MESSAGE: &[u8] = b"vm: interrupted\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer
        // is a static one of the length given.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(130);
        }
    }
}

/// Runs the scheduler until no task can run any more, or an interrupt
/// comes while some task is still live (true then).
fn run_until_done_or_interrupted(sched: &mut dyn Scheduler, budget: u64) -> bool {
    let handler = on_interrupt as extern "C" fn(libc::c_int);
    // SAFETY: the handler only swaps an atomic, and on a second signal
    // writes and exits, which are async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
    loop {
        let e = sched.execute(budget);
        // Every program ended within the execute the interrupt came in:
        // the run is complete.
        if e.live == 0 {
            return false;
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            return true;
        }
        if e.runnable == 0 {
            if !e.wakeable {
                return false;
            }
            // Bounded, so that an interrupt is seen.
            sched.wait(Some(Duration::from_millis(100)));
        }
    }
}

/// Each task's counters, as a table on standard error (write errors
/// ignored: a closed pipe ends the table, not the command).
fn print_stats(sched: &dyn Scheduler, tasks: &[TaskId]) {
    let _ = writeln!(
        std::io::stderr(),
        "{:>4}  {:<24} {:<10} {:>14} {:>8} {:>6}",
        "task",
        "name",
        "status",
        "instructions",
        "slices",
        "blocks"
    );
    for &id in tasks {
        let status = match sched.status(id) {
            Some(TaskStatus::Dead(End::Finished)) => "finished",
            Some(TaskStatus::Dead(End::Failed(_))) => "failed",
            Some(TaskStatus::Dead(End::Killed)) => "killed",
            Some(TaskStatus::Blocking) => "blocked",
            Some(_) => "running",
            None => "released",
        };
        let stats = sched.stats(id).unwrap_or_default();
        let name = sched.name(id).unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "{:>4}  {:<24} {:<10} {:>14} {:>8} {:>6}",
            id.get(),
            name,
            status,
            stats.used,
            stats.slices,
            stats.blocks
        );
    }
}

/// Each worker's counters, as a table on standard error.
fn print_worker_stats(workers: &[vm_sched::WorkerStats]) {
    let mut err = std::io::stderr();
    // A closed standard error (`| head`) ends the table, not the command.
    let _ = writeln!(
        err,
        "{:>6}  {:>8} {:>6} {:>6}",
        "worker", "slices", "steals", "parks"
    );
    for (i, w) in workers.iter().enumerate() {
        let _ = writeln!(
            err,
            "{:>6}  {:>8} {:>6} {:>6}",
            i, w.slices, w.steals, w.parks
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::argv;

    #[test]
    fn options_parse() {
        let o = parse(&argv(&[
            "vm", "run", "--slice", "100", "--stats", "a.lua", "b.lua",
        ]))
        .unwrap();
        assert_eq!(o.slice, Some(100));
        assert!(o.stats);
        assert_eq!(o.files, ["a.lua", "b.lua"]);
        assert_eq!(o.sched, "rr");
        assert!(parse(&argv(&["vm", "run"])).is_err());
        assert!(parse(&argv(&["vm", "run", "--slice", "0", "a.lua"])).is_err());
        assert!(parse(&argv(&["vm", "run", "--bogus", "a.lua"])).is_err());
        let o = parse(&argv(&[
            "vm",
            "run",
            "--sched",
            "ws",
            "--workers",
            "1024",
            "a",
        ]))
        .unwrap();
        assert_eq!(o.workers, Some(MAX_WORKERS as u64));
        for huge in ["1025", "100000000", "4294967296", "18446744073709551615"] {
            let e = parse(&argv(&["vm", "run", "--workers", huge, "a"])).unwrap_err();
            assert_eq!(e, format!("'--workers' is at most 1024, got '{huge}'"));
        }
        let o = parse(&argv(&["vm", "run", "--max-agents", "3", "a"])).unwrap();
        assert_eq!(o.max_agents, Some(3));
        assert!(parse(&argv(&["vm", "run", "--max-agents", "0", "a"])).is_err());
        assert!(parse(&argv(&["vm", "run", "--max-agents", "-1", "a"])).is_err());
        let o = parse(&argv(&["vm", "run", "--", "--odd.lua"])).unwrap();
        assert_eq!(o.files, ["--odd.lua"]);
        // `-` is standard input, once; after `--` a file named `-`.
        let o = parse(&argv(&["vm", "run", "a.lua", "-", "b.lua"])).unwrap();
        assert_eq!((o.files.len(), o.stdin), (3, Some(1)));
        assert!(parse(&argv(&["vm", "run", "-", "a.lua", "-"])).is_err());
        let o = parse(&argv(&["vm", "run", "-", "--", "-"])).unwrap();
        assert_eq!((o.files, o.stdin), (vec!["-".into(), "-".into()], Some(0)));
    }
}
