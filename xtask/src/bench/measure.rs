//! Runs one benchmark process and measures its wall time and peak resident memory.
//!
//! The peak is the child's own `ru_maxrss`, from the `rusage` that `wait4` fills in when it
//! reaps that child. Sampling `/proc/<pid>/status` instead would miss a peak reached between
//! two samples, and `getrusage(RUSAGE_CHILDREN)` mixes all the children reaped so far.
//! This is the only module of xtask with `unsafe`: the two blocks of [`wait_with_rusage`].

use std::io::{ErrorKind, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Instant;

/// Bytes per unit of `ru_maxrss`: kibibytes on Linux, bytes on macOS.
const MAXRSS_UNIT: u64 = if cfg!(target_os = "macos") { 1 } else { 1024 };

/// What one successful run of a benchmark produced.
#[derive(Debug)]
pub(crate) struct Sample {
    /// Wall time from spawning the process to reaping it.
    pub(crate) seconds: f64,
    /// Peak resident set size of the process, in bytes.
    pub(crate) peak_bytes: u64,
    /// Everything the process wrote to stdout.
    pub(crate) stdout: Vec<u8>,
}

/// Runs `command` to completion with stdout and stderr captured and stdin empty.
///
/// # Errors
/// If the process cannot be started or waited for, or exits unsuccessfully; the message
/// then carries the exit status and the last line of its stderr before any traceback (a Lua
/// error message).
pub(crate) fn run(command: &mut Command) -> Result<Sample, String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|err| format!("could not start: {err}"))?;
    // stderr drains on its own thread, so a chatty child cannot block on a full pipe
    // while stdout is read here.
    let stderr_reader = child.stderr.take().map(|mut pipe| {
        thread::spawn(move || {
            let mut buffer = Vec::new();
            // A read error only loses diagnostics: keep what was read.
            let _ = pipe.read_to_end(&mut buffer);
            buffer
        })
    });
    let mut stdout = Vec::new();
    let stdout_read = match child.stdout.take() {
        Some(mut pipe) => pipe.read_to_end(&mut stdout).map(drop),
        None => Ok(()),
    };
    // Reap the child before reporting any read error, so that no zombie is left behind.
    let reaped = wait_with_rusage(child.id());
    let seconds = start.elapsed().as_secs_f64();
    let stderr = stderr_reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    let (status, peak_bytes) = reaped?;
    stdout_read.map_err(|err| format!("could not read its output: {err}"))?;
    if !status.success() {
        return Err(match last_line(&stderr) {
            Some(line) => format!("{status}: {line}"),
            None => status.to_string(),
        });
    }
    Ok(Sample {
        seconds,
        peak_bytes,
        stdout,
    })
}

/// Waits for the child `pid` and returns its exit status and peak resident memory in bytes.
fn wait_with_rusage(pid: u32) -> Result<(ExitStatus, u64), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("process id {pid} out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are live locals of exactly the types `wait4` writes,
        // borrowed mutably for the duration of the call only. `pid` is our own child, not
        // yet reaped (std's `Child` waits only when asked), so no other process is touched.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if reaped == -1 && err.kind() == ErrorKind::Interrupted {
            continue;
        }
        return Err(format!("waiting for process {pid} failed: {err}"));
    }
    let peak_bytes = u64::try_from(usage.ru_maxrss)
        .unwrap_or(0)
        .saturating_mul(MAXRSS_UNIT);
    Ok((ExitStatus::from_raw(status), peak_bytes))
}

/// The last non-blank line of `output`, trimmed, for error messages.
fn last_line(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    // A Lua error is followed by its traceback: report the message.
    let message_part = match text.find("stack traceback:") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    message_part
        .lines()
        .map(str::trim)
        .rev()
        .find(|line| !line.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Result<Sample, String> {
        run(Command::new("sh").args(["-c", script]))
    }

    #[test]
    fn captures_stdout_time_and_memory() {
        let sample = sh("echo one; echo two; echo noise >&2").expect("sh runs");
        assert_eq!(sample.stdout, b"one\ntwo\n");
        assert!(sample.seconds > 0.0 && sample.seconds < 10.0);
        // Any process maps at least a few pages.
        assert!(sample.peak_bytes >= 64 * 1024, "{}", sample.peak_bytes);
    }

    #[test]
    fn peak_memory_is_per_child() {
        // dd fills a 256 MiB buffer; the small child after it must not
        // inherit that peak. (A child's peak starts at its parent's size
        // when it forks: this test process's, some tens of MiB while other
        // tests run, hence a buffer well above that.)
        let big = sh("exec dd if=/dev/zero of=/dev/null bs=256M count=1").expect("dd runs");
        let small = sh("true").expect("small child runs");
        assert!(big.peak_bytes >= 256 << 20, "{big:?}");
        assert!(
            small.peak_bytes * 4 < big.peak_bytes,
            "{small:?} vs {big:?}"
        );
    }

    #[test]
    fn failure_reports_status_and_last_stderr_line() {
        let err = sh("echo partial; echo 'first' >&2; echo 'lua: x.lua:1: boom' >&2; exit 3")
            .expect_err("must fail");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.ends_with("lua: x.lua:1: boom"), "{err}");
        let err = sh(
            "echo 'lua: x.lua:2: bad' >&2; printf 'stack traceback:\\n\\t[C]: in ?\\n' >&2; exit 1",
        )
        .expect_err("must fail");
        assert!(err.ends_with("lua: x.lua:2: bad"), "{err}");
    }

    #[test]
    fn missing_program_is_an_error() {
        let err = run(&mut Command::new("/nonexistent/xtask-test-binary")).expect_err("no binary");
        assert!(err.starts_with("could not start"), "{err}");
    }

    #[test]
    fn large_stderr_does_not_deadlock() {
        let sample = sh("head -c 1000000 /dev/zero >&2; echo done").expect("runs");
        assert_eq!(sample.stdout, b"done\n");
    }
}
