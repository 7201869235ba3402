//! Command-line parsing for `cargo xtask`.

use std::ffi::OsString;

/// Help text, printed by `cargo xtask help` and after argument errors.
pub(crate) const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  ci                 run what CI runs: fmt check, clippy, tests
  bench [options]    run bench/*.lua under vm and lua5.4 and compare
    --runs N         runs per VM and benchmark, alternating (default 5)
    --filter NAME    only benchmarks whose file name contains NAME
    --write          rewrite the figures section of BENCHMARKS.md
  fuzz [--scale N]   run the fuzzers and property tests N times larger
                     than cargo test does (default 20), in release mode
  help               print this message

environment:
  VM_BENCH_VM=PATH   benchmark this binary instead of building target/release/vm
";

/// Runs per VM and benchmark when `--runs` is not given.
pub(crate) const DEFAULT_RUNS: u32 = 5;

/// A parsed `cargo xtask` invocation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Print [`USAGE`].
    Help,
    /// `cargo xtask ci`.
    Ci,
    /// `cargo xtask bench ...`.
    Bench(BenchOptions),
    /// `cargo xtask fuzz [--scale N]`.
    Fuzz {
        /// `VM_TEST_SCALE` for the run.
        scale: u32,
    },
}

/// Options of `cargo xtask bench`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BenchOptions {
    /// Runs per VM and benchmark (at least 1).
    pub(crate) runs: u32,
    /// Keep only benchmarks whose name contains this string.
    pub(crate) filter: Option<String>,
    /// Rewrite the figures section of `BENCHMARKS.md`.
    pub(crate) write: bool,
    /// The arguments after `bench`, as given, to record the command in `BENCHMARKS.md`.
    pub(crate) raw_args: Vec<String>,
}

/// The process arguments after the program name.
///
/// # Errors
/// If an argument is not valid UTF-8.
pub(crate) fn args_from_env() -> Result<Vec<String>, String> {
    std::env::args_os()
        .skip(1)
        .map(|arg: OsString| {
            arg.into_string()
                .map_err(|bad| format!("argument {bad:?} is not valid UTF-8"))
        })
        .collect()
}

/// Parses the arguments that follow `cargo xtask`.
///
/// # Errors
/// On an unknown command or option, a missing or invalid option value, or arguments given
/// to a command that takes none; the message ends with [`USAGE`].
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let with_usage = |message: String| format!("error: {message}\n\n{USAGE}");
    let Some((command, rest)) = args.split_first() else {
        return Err(with_usage("no command given".to_string()));
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "ci" => match rest.first() {
            None => Ok(Command::Ci),
            Some(extra) => Err(with_usage(format!(
                "`ci` takes no arguments, got `{extra}`"
            ))),
        },
        "bench" => parse_bench(rest).map(Command::Bench).map_err(with_usage),
        "fuzz" => parse_fuzz(rest).map_err(with_usage),
        other => Err(with_usage(format!("unknown command `{other}`"))),
    }
}

/// Parses the options of `bench`; each valued option is accepted as `--opt V` or `--opt=V`.
fn parse_bench(args: &[String]) -> Result<BenchOptions, String> {
    let mut options = BenchOptions {
        runs: DEFAULT_RUNS,
        filter: None,
        write: false,
        raw_args: args.to_vec(),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline_value
                .clone()
                .or_else(|| iter.next().cloned())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match name {
            "--runs" => options.runs = parse_runs(&value()?)?,
            "--filter" => options.filter = Some(value()?),
            "--write" if inline_value.is_none() => options.write = true,
            "--write" => return Err("`--write` takes no value".to_string()),
            _ => return Err(format!("unknown option `{arg}` for `bench`")),
        }
    }
    Ok(options)
}

/// Parses the options of `fuzz`: `--scale N` or `--scale=N`.
fn parse_fuzz(args: &[String]) -> Result<Command, String> {
    let scale = match args {
        [] => crate::fuzz::DEFAULT_SCALE,
        [flag, n] if flag == "--scale" => parse_scale(n)?,
        [arg] => match arg.strip_prefix("--scale=") {
            Some(n) => parse_scale(n)?,
            None if arg == "--scale" => return Err("`--scale` needs a value".to_string()),
            None => return Err(format!("unknown option `{arg}` for `fuzz`")),
        },
        _ => return Err(format!("unknown options `{}` for `fuzz`", args.join(" "))),
    };
    Ok(Command::Fuzz { scale })
}

fn parse_scale(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "`--scale` expects a positive integer, got `{text}`"
        )),
    }
}

/// Parses a `--runs` value: a positive integer.
fn parse_runs(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err("`--runs` must be at least 1".to_string()),
        Ok(runs) => Ok(runs),
        Err(_) => Err(format!("`--runs` expects a positive integer, got `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args)
    }

    fn bench(args: &[&str]) -> BenchOptions {
        let mut all = vec!["bench"];
        all.extend_from_slice(args);
        match parse_strs(&all) {
            Ok(Command::Bench(options)) => options,
            other => panic!("expected bench options, got {other:?}"),
        }
    }

    #[test]
    fn commands() {
        assert_eq!(parse_strs(&["ci"]), Ok(Command::Ci));
        assert_eq!(parse_strs(&["help"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["--help"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["fuzz"]), Ok(Command::Fuzz { scale: 20 }));
        assert_eq!(
            parse_strs(&["fuzz", "--scale", "5"]),
            Ok(Command::Fuzz { scale: 5 })
        );
        assert_eq!(
            parse_strs(&["fuzz", "--scale=7"]),
            Ok(Command::Fuzz { scale: 7 })
        );
        assert!(parse_strs(&["fuzz", "--scale", "0"]).is_err());
        assert!(parse_strs(&["fuzz", "--fast"]).is_err());
    }

    #[test]
    fn bench_defaults() {
        let options = bench(&[]);
        assert_eq!(options.runs, DEFAULT_RUNS);
        assert_eq!(options.filter, None);
        assert!(!options.write);
        assert!(options.raw_args.is_empty());
    }

    #[test]
    fn bench_options_in_both_spellings() {
        let options = bench(&["--runs", "3", "--filter", "fib", "--write"]);
        assert_eq!(options.runs, 3);
        assert_eq!(options.filter.as_deref(), Some("fib"));
        assert!(options.write);
        assert_eq!(
            options.raw_args,
            ["--runs", "3", "--filter", "fib", "--write"]
        );

        let options = bench(&["--filter=hash", "--runs=1"]);
        assert_eq!(options.runs, 1);
        assert_eq!(options.filter.as_deref(), Some("hash"));
        assert!(!options.write);
    }

    #[test]
    fn errors_are_messages_with_usage() {
        for (args, expected) in [
            (&[][..], "no command given"),
            (&["stress"][..], "unknown command `stress`"),
            (&["ci", "--fast"][..], "`ci` takes no arguments"),
            (&["bench", "--runs"][..], "`--runs` needs a value"),
            (&["bench", "--runs", "0"][..], "must be at least 1"),
            (&["bench", "--runs", "-2"][..], "positive integer, got `-2`"),
            (&["bench", "--runs=x"][..], "positive integer, got `x`"),
            (&["bench", "--filter"][..], "`--filter` needs a value"),
            (&["bench", "--write=yes"][..], "`--write` takes no value"),
            (&["bench", "--fast"][..], "unknown option `--fast`"),
        ] {
            let message = parse_strs(args).expect_err("should be rejected");
            assert!(message.contains(expected), "{args:?}: {message}");
            assert!(message.ends_with(USAGE), "{args:?}: usage missing");
        }
    }
}
