//! The results table, its summary, and the figures section of `BENCHMARKS.md`.
//!
//! The table is Markdown with padded columns, so the same text reads well in a terminal
//! and renders in `BENCHMARKS.md`.

use super::stats::geometric_mean;

/// Marks the start of the generated figures in `BENCHMARKS.md`.
pub(crate) const FIGURES_BEGIN: &str = "<!-- bench-figures:begin -->";
/// Marks the end of the generated figures in `BENCHMARKS.md`.
pub(crate) const FIGURES_END: &str = "<!-- bench-figures:end -->";

const MIB: f64 = 1024.0 * 1024.0;

/// The figures of one VM on one benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    /// Median wall time over the runs, in seconds.
    pub(crate) median_seconds: f64,
    /// Highest peak resident memory over the runs, in bytes.
    pub(crate) peak_bytes: u64,
}

/// Both VMs' figures on one benchmark whose outputs agreed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measured {
    /// Our `vm`.
    pub(crate) vm: Figures,
    /// The reference, PUC Lua 5.4.
    pub(crate) lua: Figures,
    /// The lowest and highest vm/lua time ratio of a single round (each
    /// round runs both interpreters back to back): how far one run's ratio
    /// can be trusted on this machine.
    pub(crate) round_ratios: (f64, f64),
}

impl Measured {
    /// vm time / lua5.4 time: below 1 means our VM is faster.
    pub(crate) fn time_ratio(&self) -> f64 {
        self.vm.median_seconds / self.lua.median_seconds
    }

    /// vm peak memory / lua5.4 peak memory.
    pub(crate) fn memory_ratio(&self) -> f64 {
        self.vm.peak_bytes as f64 / self.lua.peak_bytes as f64
    }
}

/// One line of the table: a benchmark and its figures, or why it failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// The benchmark's file name without `.lua`.
    pub(crate) name: String,
    /// The figures, or the failure message.
    pub(crate) outcome: Result<Measured, String>,
}

/// Where and how the figures were taken, for the header of the figures section.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Context {
    /// The UTC date, `YYYY-MM-DD`.
    pub(crate) date: String,
    /// How many CPUs the machine offers (what `nproc` prints).
    pub(crate) cpus: usize,
    /// The CPU model, when known.
    pub(crate) cpu_model: Option<String>,
    /// The reference interpreter's version line, when known.
    pub(crate) lua_version: Option<String>,
    /// The command that produced the figures.
    pub(crate) command: String,
}

/// Columns of the table.
const COLUMNS: usize = 8;

const HEADER: [&str; COLUMNS] = [
    "benchmark",
    "vm median (s)",
    "lua5.4 median (s)",
    "vm/lua",
    "vm/lua by round",
    "vm peak MiB",
    "lua peak MiB",
    "mem vm/lua",
];

/// The results as an aligned Markdown table, one row per benchmark.
pub(crate) fn table(rows: &[Row]) -> String {
    let body: Vec<[String; COLUMNS]> = rows.iter().map(cells).collect();
    let mut widths = HEADER.map(str::len);
    for row in &body {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = render_line(&HEADER.map(String::from), &widths);
    out.push_str(&separator(&widths));
    for row in &body {
        out.push_str(&render_line(row, &widths));
    }
    out
}

/// The cells of one row; a failed benchmark shows `failed` and no figures.
fn cells(row: &Row) -> [String; COLUMNS] {
    match &row.outcome {
        Ok(m) => [
            row.name.clone(),
            format!("{:.3}", m.vm.median_seconds),
            format!("{:.3}", m.lua.median_seconds),
            format!("{:.2}", m.time_ratio()),
            format!("{:.2}-{:.2}", m.round_ratios.0, m.round_ratios.1),
            format!("{:.1}", m.vm.peak_bytes as f64 / MIB),
            format!("{:.1}", m.lua.peak_bytes as f64 / MIB),
            format!("{:.2}", m.memory_ratio()),
        ],
        Err(_) => {
            let mut cells = [(); COLUMNS].map(|()| "-".to_string());
            cells[0] = row.name.clone();
            cells[1] = "failed".to_string();
            cells
        }
    }
}

/// One table line: the first column left-aligned, the figures right-aligned.
fn render_line(cells: &[String; COLUMNS], widths: &[usize; COLUMNS]) -> String {
    let mut line = String::from("|");
    for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if column == 0 {
            line.push_str(&format!(" {cell:<width$} |"));
        } else {
            line.push_str(&format!(" {cell:>width$} |"));
        }
    }
    line.push('\n');
    line
}

/// The Markdown header separator, with alignment markers matching [`render_line`].
fn separator(widths: &[usize; COLUMNS]) -> String {
    let mut line = String::from("|");
    for (column, width) in widths.iter().enumerate() {
        let dashes = "-".repeat(width + 1);
        if column == 0 {
            line.push_str(&format!("{dashes}-|"));
        } else {
            line.push_str(&format!("{dashes}:|"));
        }
    }
    line.push('\n');
    line
}

/// The geometric means of the time and memory ratios over the benchmarks that passed,
/// then one line per failed benchmark with its reason.
pub(crate) fn summary(rows: &[Row]) -> String {
    let measured: Vec<Measured> = rows.iter().filter_map(|r| r.outcome.clone().ok()).collect();
    let time: Vec<f64> = measured.iter().map(Measured::time_ratio).collect();
    let memory: Vec<f64> = measured.iter().map(Measured::memory_ratio).collect();
    let mut out = String::new();
    for (what, ratios) in [("time", &time), ("memory", &memory)] {
        let mean = match geometric_mean(ratios) {
            Some(mean) => format!("{mean:.2}"),
            None => "n/a".to_string(),
        };
        out.push_str(&format!(
            "Geometric mean of {what} ratios (vm/lua): {mean} over {} benchmark(s).\n",
            ratios.len()
        ));
    }
    for row in rows {
        if let Err(reason) = &row.outcome {
            out.push_str(&format!("FAILED {}: {reason}\n", row.name));
        }
    }
    out
}

/// The generated body of the figures section: context, table and summary.
pub(crate) fn figures(context: &Context, rows: &[Row]) -> String {
    let cpu = match &context.cpu_model {
        Some(model) => format!(" ({model})"),
        None => String::new(),
    };
    let reference = context.lua_version.as_deref().unwrap_or("lua5.4");
    format!(
        "Measured on {date} (UTC) on a machine with {cpus} CPU(s){cpu}, against {reference}, with:\n\
         \n    {command}\n\n{table}\n{summary}",
        date = context.date,
        cpus = context.cpus,
        command = context.command,
        table = table(rows),
        summary = summary(rows),
    )
}

/// `document` with everything between [`FIGURES_BEGIN`] and [`FIGURES_END`] replaced by
/// `figures`; the markers and the rest of the document are kept as they are.
///
/// # Errors
/// If a marker is missing, or the end marker comes before the begin marker.
pub(crate) fn replace_figures(document: &str, figures: &str) -> Result<String, String> {
    let missing = |marker: &str| format!("error: BENCHMARKS.md has no `{marker}` line");
    let begin = document
        .find(FIGURES_BEGIN)
        .ok_or_else(|| missing(FIGURES_BEGIN))?
        + FIGURES_BEGIN.len();
    let end = begin
        + document[begin..]
            .find(FIGURES_END)
            .ok_or_else(|| missing(FIGURES_END))?;
    let figures = figures.trim_end();
    Ok(format!(
        "{}\n{figures}\n{}",
        &document[..begin],
        &document[end..]
    ))
}

/// The UTC calendar date of a Unix timestamp, as `YYYY-MM-DD`.
pub(crate) fn utc_date(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day), counting
/// in 400-year eras that start on March 1st so that the leap day ends each year.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153; // 0 = March ... 11 = February
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(vm_s: f64, lua_s: f64, vm_mib: u64, lua_mib: u64) -> Measured {
        Measured {
            vm: Figures {
                median_seconds: vm_s,
                peak_bytes: vm_mib << 20,
            },
            lua: Figures {
                median_seconds: lua_s,
                peak_bytes: lua_mib << 20,
            },
            round_ratios: (vm_s / lua_s * 0.9, vm_s / lua_s * 1.2),
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                name: "fib".to_string(),
                outcome: Ok(measured(1.5, 1.0, 4, 2)),
            },
            Row {
                name: "binary_trees".to_string(),
                outcome: Ok(measured(0.5, 1.0, 16, 32)),
            },
            Row {
                name: "sort".to_string(),
                outcome: Err("stdout differs".to_string()),
            },
        ]
    }

    #[test]
    fn ratios() {
        let m = measured(1.5, 1.0, 4, 2);
        assert_eq!(m.time_ratio(), 1.5);
        assert_eq!(m.memory_ratio(), 2.0);
    }

    #[test]
    fn table_is_aligned_markdown() {
        let expected = "\
| benchmark    | vm median (s) | lua5.4 median (s) | vm/lua | vm/lua by round | vm peak MiB | lua peak MiB | mem vm/lua |
|--------------|--------------:|------------------:|-------:|----------------:|------------:|-------------:|-----------:|
| fib          |         1.500 |             1.000 |   1.50 |       1.35-1.80 |         4.0 |          2.0 |       2.00 |
| binary_trees |         0.500 |             1.000 |   0.50 |       0.45-0.60 |        16.0 |         32.0 |       0.50 |
| sort         |        failed |                 - |      - |               - |           - |            - |          - |
";
        assert_eq!(table(&rows()), expected);
    }

    #[test]
    fn summary_skips_failures_and_lists_them() {
        assert_eq!(
            summary(&rows()),
            "Geometric mean of time ratios (vm/lua): 0.87 over 2 benchmark(s).\n\
             Geometric mean of memory ratios (vm/lua): 1.00 over 2 benchmark(s).\n\
             FAILED sort: stdout differs\n"
        );
        let failed = &rows()[2..];
        assert!(summary(failed).starts_with("Geometric mean of time ratios (vm/lua): n/a over 0"));
    }

    #[test]
    fn figures_carry_their_context() {
        let context = Context {
            date: "2025-01-02".to_string(),
            cpus: 2,
            cpu_model: Some("AMD EPYC".to_string()),
            lua_version: Some("Lua 5.4.4".to_string()),
            command: "cargo xtask bench --write".to_string(),
        };
        let text = figures(&context, &rows());
        assert!(text.starts_with(
            "Measured on 2025-01-02 (UTC) on a machine with 2 CPU(s) (AMD EPYC), \
             against Lua 5.4.4, with:\n\n    cargo xtask bench --write\n\n| benchmark"
        ));
        assert!(text.contains(&table(&rows())));
        assert!(text.ends_with(&summary(&rows())));
    }

    #[test]
    fn replace_figures_keeps_the_rest() {
        let doc = format!("# Title\nintro\n{FIGURES_BEGIN}\nold\nfigures\n{FIGURES_END}\ntail\n");
        let new = replace_figures(&doc, "new figures\n").unwrap();
        assert_eq!(
            new,
            format!("# Title\nintro\n{FIGURES_BEGIN}\nnew figures\n{FIGURES_END}\ntail\n")
        );
        // Rewriting is idempotent.
        assert_eq!(replace_figures(&new, "new figures").unwrap(), new);
    }

    #[test]
    fn replace_figures_needs_both_markers_in_order() {
        let only_begin = format!("{FIGURES_BEGIN}\n");
        assert!(replace_figures(&only_begin, "x")
            .unwrap_err()
            .contains(FIGURES_END));
        assert!(replace_figures("nothing", "x")
            .unwrap_err()
            .contains(FIGURES_BEGIN));
        let reversed = format!("{FIGURES_END}\n{FIGURES_BEGIN}\n");
        assert!(replace_figures(&reversed, "x").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(86_399), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        assert_eq!(utc_date(1_709_164_800), "2024-02-29");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(4_107_542_400), "2100-03-01");
    }
}
