//! Developer automation for the workspace, run as `cargo xtask <command>` through the alias
//! in `.cargo/config.toml`.
//!
//! - `cargo xtask ci`: the checks CI runs (format, lints, tests); see [`ci`].
//! - `cargo xtask bench [--runs N] [--filter NAME] [--write]`: the Lua programs under
//!   `bench/` timed side by side with PUC Lua 5.4; see [`mod@bench`].
//!
//! - `cargo xtask fuzz [--scale N]`: the fuzzers and property tests, large; see
//!   [`fuzz`].
//!
//! `stress` is reserved for a later issue. xtask is a developer tool, never a runtime
//! dependency of the VM crates. Every failure is reported as a message on stderr with a
//! non-zero exit status, never as a panic.

mod bench;
mod ci;
mod cli;
mod exec;
mod fuzz;
mod tidy;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    match cli::args_from_env()
        .and_then(|args| cli::parse(&args))
        .and_then(run)
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command.
fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Command::Ci => ci::run(),
        Command::Bench(options) => bench::run(&options),
        Command::Fuzz { scale } => fuzz::run(scale),
    }
}
