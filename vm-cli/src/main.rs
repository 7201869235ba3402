//! The `vm` command: a `lua`-compatible front end (`lua.c`).
//!
//! ```text
//! vm [options] [script [args]]
//!   -e stat    execute string 'stat'
//!   -v         show version information
//!   --disasm   list the compiled bytecode of the script (like `luac -l`)
//!   --disasm-full  the same with constants, locals and upvalues (`luac -l -l`)
//!   --slice N  run by resuming with a budget of N instructions at a time
//!   --instruction-limit N  fail with "instruction limit exceeded" past N
//!              instructions in all (natives count their fuel cost)
//!   --memory-limit BYTES  fail with "not enough memory" past BYTES of heap
//!              (suffixes k, M, G allowed; `none`: no limit; without the
//!              option, half the memory the process may use, see `memory`)
//!   --         stop handling options
//!   -          execute stdin and stop handling options
//! ```
//! Uncaught errors print `vm: message` and a stack traceback on standard
//! error and exit with status 1.
//!
//! `vm run [options] a.lua b.lua ...` runs several programs at once under
//! a scheduler instead (`sched`).
//!
//! Every chunk runs on the main thread through [`Vm::start`] and
//! [`Vm::resume`], the driver API: with `--slice N` each resume gets a
//! budget of N instructions, so a script's output is the same for every N
//! (this is how exact resumption is checked from the command line). Jobs
//! that natives offload run here, on the command's own thread.

/// `eprintln!` that ignores write errors: a closed standard error (a
/// pipe whose reader is gone) must not end the command with a panic.
/// With `stdout` first, the same for standard output.
macro_rules! say {
    (stdout, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod memory;
mod sched;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use vm_core::{LuaError, LuaResult, Outcome, Value, Vm};

const PROGNAME: &str = "vm";
const VERSION: &str = "Lua 5.4 (vm 0.1.0, a Rust VM)";

/// What the command line asks for.
#[derive(Debug, Default, PartialEq)]
struct Options {
    /// `-e` chunks, in order.
    exec: Vec<String>,
    /// Show the version.
    version: bool,
    /// List bytecode instead of running: `Some(full)`.
    disasm: Option<bool>,
    /// Index in argv of the script (`-` for stdin), if any.
    script: Option<usize>,
    /// Instruction budget of each resume (`--slice N`).
    slice: Option<u64>,
    /// Hard limit on the instructions run in all (`--instruction-limit N`).
    instruction_limit: Option<u64>,
    /// Limit on the heap's size (`--memory-limit BYTES`).
    memory_limit: MemoryLimit,
}

/// The heap limit asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum MemoryLimit {
    /// No option: [`memory::default_limit`].
    #[default]
    Default,
    /// `--memory-limit none`.
    None,
    /// `--memory-limit BYTES`.
    Bytes(u64),
}

/// A byte count with an optional `k`, `M` or `G` suffix (powers of 1024).
fn byte_count(argv: &[String], i: usize, name: &str) -> Result<u64, String> {
    let n = argv.get(i).ok_or(format!("'{name}' needs argument"))?;
    let (digits, unit) = match n.char_indices().last() {
        Some((at, 'k' | 'K')) => (&n[..at], 1u64 << 10),
        Some((at, 'm' | 'M')) => (&n[..at], 1 << 20),
        Some((at, 'g' | 'G')) => (&n[..at], 1 << 30),
        _ => (n.as_str(), 1),
    };
    match decimal(digits).and_then(|d| d.checked_mul(unit)) {
        Some(b) if b > 0 => Ok(b),
        _ => Err(format!("'{name}' needs a positive byte count, got '{n}'")),
    }
}

/// The argument of `--memory-limit` at `argv[i]`: `none` or a byte count.
fn memory_limit_arg(argv: &[String], i: usize, name: &str) -> Result<MemoryLimit, String> {
    match argv.get(i).map(String::as_str) {
        Some("none") => Ok(MemoryLimit::None),
        _ => byte_count(argv, i, name).map(MemoryLimit::Bytes),
    }
}

/// The heap limit a VM gets for `limit`.
fn memory_limit_bytes(limit: MemoryLimit) -> Option<usize> {
    let bytes = match limit {
        MemoryLimit::Default => memory::default_limit(),
        MemoryLimit::None => None,
        MemoryLimit::Bytes(b) => Some(b),
    };
    bytes.map(|b| usize::try_from(b).unwrap_or(usize::MAX))
}

/// The positive integer argument of option `name` at `argv[i]`.
fn count_arg(argv: &[String], i: usize, name: &str) -> Result<u64, String> {
    let n = argv.get(i).ok_or(format!("'{name}' needs argument"))?;
    match decimal(n) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("'{name}' needs a positive integer, got '{n}'")),
    }
}

/// A number written in decimal digits only (no sign, as a count has
/// none), if it fits.
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses `lua`-style options; `Err` carries the usage message.
fn parse_args(argv: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "--" => {
                if i + 1 < argv.len() {
                    o.script = Some(i + 1);
                }
                return Ok(o);
            }
            "-" => {
                o.script = Some(i);
                return Ok(o);
            }
            "-e" => {
                let code = argv.get(i + 1).ok_or("'-e' needs argument")?;
                o.exec.push(code.clone());
                i += 1;
            }
            "-v" => o.version = true,
            "--disasm" => o.disasm = Some(false),
            "--disasm-full" => o.disasm = Some(true),
            "--slice" => {
                o.slice = Some(count_arg(argv, i + 1, a)?);
                i += 1;
            }
            "--instruction-limit" => {
                o.instruction_limit = Some(count_arg(argv, i + 1, a)?);
                i += 1;
            }
            "--memory-limit" => {
                o.memory_limit = memory_limit_arg(argv, i + 1, a)?;
                i += 1;
            }
            _ if a.starts_with("-e") => o.exec.push(a[2..].to_string()),
            _ if a.starts_with('-') => return Err(format!("unrecognized option '{a}'")),
            _ => {
                o.script = Some(i);
                return Ok(o);
            }
        }
        i += 1;
    }
    Ok(o)
}

fn usage(msg: &str) {
    say!("{PROGNAME}: {msg}");
    say!(
        "usage: {PROGNAME} [options] [script [args]]\n\
         Available options are:\n  \
         -e stat   execute string 'stat'\n  \
         -v        show version information\n  \
         --disasm  list bytecode (--disasm-full for details)\n  \
         --slice N run in slices of N instructions\n  \
         --instruction-limit N  stop past N instructions in all\n  \
         --memory-limit BYTES   stop past BYTES of memory (k, M, G; none)\n  \
         --        stop handling options\n  \
         -         stop handling options and execute stdin"
    );
}

/// Runs a function through `docall` on the main thread, resuming it with
/// `slice` instructions at a time; on error prints `vm: message` (with
/// traceback) and returns false.
fn run(vm: &mut Vm, f: Value, args: &[Value], slice: u64) -> bool {
    let docall = match vm_stdlib::docall::docall(vm) {
        Ok(d) => d,
        Err(e) => {
            report(vm, &e);
            return false;
        }
    };
    let mut all = vec![f];
    all.extend_from_slice(args);
    let main = vm.main_thread();
    let mut step = vm.start(docall, &all, slice);
    loop {
        match step {
            Ok(Outcome::Return(_)) => return true,
            Ok(Outcome::OutOfFuel) => step = vm.resume(main, &[], slice),
            Ok(Outcome::Offload(job)) => {
                let result = job.run();
                step = vm
                    .complete_offload(main, result)
                    .and_then(|()| vm.resume(main, &[], slice));
            }
            // (The main thread cannot yield; a wait here has no one to end it.)
            Ok(Outcome::Yield(_) | Outcome::Wait) => {
                say!("{PROGNAME}: the program waits, and nothing can wake it");
                return false;
            }
            Err(e) => {
                report(vm, &e);
                return false;
            }
        }
    }
}

fn report(vm: &mut Vm, e: &LuaError) {
    let msg = vm.error_to_string(e);
    let _ = std::io::stdout().flush();
    say!("{PROGNAME}: {msg}");
}

/// Loads a chunk; on a syntax error prints it and returns `None`.
fn load(vm: &mut Vm, text: &[u8], chunkname: &str) -> Option<Value> {
    match vm.load(text, chunkname) {
        Ok(f) => Some(f),
        Err(e) => {
            report(vm, &e);
            None
        }
    }
}

/// Builds the global `arg` table: script at 0, its arguments at 1.., the
/// interpreter and options at negative indices.
fn create_arg_table(vm: &mut Vm, argv: &[String], script: usize) -> LuaResult<()> {
    let t = vm.new_table();
    for (i, a) in argv.iter().enumerate() {
        let v = vm.new_str(a.as_bytes());
        vm.raw_set(t, Value::Int(i as i64 - script as i64), v)?;
    }
    vm.set_global("arg", t)
}

fn main() -> ExitCode {
    // An argument that is not UTF-8 (`std::env::args` panicked on it) is
    // taken with its invalid bytes replaced: a script of such a name
    // cannot be opened, which is reported.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.get(1).map(String::as_str) == Some("run") {
        return sched::main(&argv);
    }
    let opts = match parse_args(&argv) {
        Ok(o) => o,
        Err(msg) => {
            usage(&msg);
            return ExitCode::FAILURE;
        }
    };
    let mut vm = Vm::new();
    if let Err(e) = vm_stdlib::open_all_lazily(&mut vm) {
        say!("{PROGNAME}: {}", vm.error_to_string(&e));
        return ExitCode::FAILURE;
    }
    // `lua.c` switches the collector to generational mode at startup, so
    // `collectgarbage("incremental")` first reports "generational".
    vm.gc_set_generational(true);
    vm.set_instruction_limit(opts.instruction_limit);
    vm.set_memory_limit(memory_limit_bytes(opts.memory_limit));
    let mut ok = run_command(&mut vm, &opts, &argv);
    // The state is closed however the command ended, as `lua.c` closes
    // it: the remaining finalizers run (under the instruction limit too,
    // whose error there is only a warning, so it is reported here).
    vm.close();
    if ok && vm.instruction_limit_exceeded() {
        say!("{PROGNAME}: {}", vm_core::LIMIT_MESSAGE);
        ok = false;
    }
    let _ = std::io::stdout().flush();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs what the options ask for (`pmain`): the `-e` chunks, then the
/// script or standard input. False when something failed (reported).
fn run_command(vm: &mut Vm, opts: &Options, argv: &[String]) -> bool {
    if opts.version {
        say!(stdout, "{VERSION}");
    }
    let script = opts.script;
    let slice = opts.slice.unwrap_or(u64::MAX);
    // Without a script, the interpreter's name is `arg[0]` and the options
    // follow at positive indices, as `lua.c` does.
    if let Err(e) = create_arg_table(vm, argv, script.unwrap_or(0)) {
        say!("{PROGNAME}: {}", vm.error_to_string(&e));
        return false;
    }
    for code in &opts.exec {
        let Some(f) = load(vm, code.as_bytes(), "=(command line)") else {
            return false;
        };
        if !run(vm, f, &[], slice) {
            return false;
        }
    }
    let name = match script {
        Some(i) => argv[i].clone(),
        None if opts.exec.is_empty() && !opts.version && !std::io::stdin().is_terminal() => {
            "-".to_string()
        }
        None if opts.exec.is_empty() && !opts.version => {
            say!(stdout, "{VERSION}");
            say!("{PROGNAME}: interactive mode is not available yet; pass a script or -e");
            return false;
        }
        None => return true,
    };
    let file = (name != "-").then_some(name.as_str());
    let f = match vm_stdlib::base::load_file(vm, file, "bt", None) {
        Ok(f) => f,
        Err(e) => {
            report(vm, &e);
            return false;
        }
    };
    if let Some(full) = opts.disasm {
        let _ = std::io::stdout().write_all(vm.listing(f, full).unwrap_or_default().as_bytes());
        return true;
    }
    let script_args: Vec<Value> = match script {
        Some(i) => argv[i + 1..]
            .iter()
            .map(|a| vm.new_str(a.as_bytes()))
            .collect(),
        None => Vec::new(),
    };
    run(vm, f, &script_args, slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An argument vector (shared with `sched`'s tests).
    pub(crate) fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = parse_args(&argv(&["vm", "-e", "x=1", "s.lua", "a"])).unwrap();
        assert_eq!(o.exec, vec!["x=1"]);
        assert_eq!(o.script, Some(3));
        let o = parse_args(&argv(&["vm", "-"])).unwrap();
        assert_eq!(o.script, Some(1));
        let o = parse_args(&argv(&["vm", "--", "-x"])).unwrap();
        assert_eq!(o.script, Some(2));
        assert!(parse_args(&argv(&["vm", "-e"])).is_err());
        assert!(parse_args(&argv(&["vm", "-z"])).is_err());
        let o = parse_args(&argv(&["vm", "--disasm", "f.lua"])).unwrap();
        assert_eq!(o.disasm, Some(false));
        let o = parse_args(&argv(&["vm", "--instruction-limit", "50", "f.lua"])).unwrap();
        assert_eq!((o.instruction_limit, o.script), (Some(50), Some(3)));
        assert!(parse_args(&argv(&["vm", "--instruction-limit", "-1"])).is_err());
        assert!(parse_args(&argv(&["vm", "--slice"])).is_err());
        assert!(parse_args(&argv(&["vm", "--slice", "+5"])).is_err());
        assert!(parse_args(&argv(&["vm", "--instruction-limit", "+5"])).is_err());
        assert!(parse_args(&argv(&["vm", "--memory-limit", "+5M"])).is_err());
        let o = parse_args(&argv(&["vm", "--memory-limit", "64M", "f.lua"])).unwrap();
        assert_eq!(o.memory_limit, MemoryLimit::Bytes(64 << 20));
        let o = parse_args(&argv(&["vm", "--memory-limit", "1000"])).unwrap();
        assert_eq!(o.memory_limit, MemoryLimit::Bytes(1000));
        let o = parse_args(&argv(&["vm", "--memory-limit", "none"])).unwrap();
        assert_eq!(o.memory_limit, MemoryLimit::None);
        let o = parse_args(&argv(&["vm", "f.lua"])).unwrap();
        assert_eq!(o.memory_limit, MemoryLimit::Default);
        for bad in ["0", "x", "12T", "-5", "k"] {
            assert!(
                parse_args(&argv(&["vm", "--memory-limit", bad])).is_err(),
                "{bad}"
            );
        }
    }
}
