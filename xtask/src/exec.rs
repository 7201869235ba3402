//! Helpers to locate the workspace and run external commands with readable errors.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// A `cargo` command; prefers `$CARGO` (set by `cargo xtask`) so that the same toolchain runs.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.args(args).current_dir(workspace_root());
    command
}

/// Runs `command` with inherited stdio and waits for it.
///
/// # Errors
/// If it cannot be started or exits unsuccessfully; `shown` is how the message names it.
pub(crate) fn run_status(command: &mut Command, shown: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|err| format!("error: could not run `{shown}`: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("error: `{shown}` failed ({status})"))
    }
}
