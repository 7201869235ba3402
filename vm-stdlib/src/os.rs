//! The os library (`loslib.c`): dates and times, the CPU clock, the
//! environment, files, shell commands, `exit` and the locale.
//!
//! Calendar work is the C library's, as in PUC Lua: `localtime_r`,
//! `gmtime_r` and `mktime` give the system's time zones, normalisation and
//! range limits. `os.date` then formats the broken-down time in Rust exactly
//! as glibc's `strftime` does in the "C" locale, which is the only locale
//! the VM offers (see `os.setlocale`): the output never depends on a
//! locale some other part of the process may have set.
//!
//! Names and commands passed to the system end at their first NUL byte,
//! where the C functions PUC Lua calls see them end. Failures of `remove`,
//! `rename` and `execute` return `nil, message, errno` (`luaL_fileresult`).
//! The library is Unix-only: it uses `/bin/sh`, `/tmp` and POSIX calls.
//!
//! Functions that make strings (`date`, `getenv`) pay for their bytes,
//! one unit of fuel per 32 (the string library's cost model,
//! `string/cost.rs`). `os.time` reaches its table's metamethods through
//! the interpreter loop (`resumable.rs`), so they run under the budget and
//! may yield.

use crate::auxlib::{check_c_string, exec_result, file_result, until_nul};
use std::ffi::{CStr, OsStr};
use std::fs::OpenOptions;
use std::hash::BuildHasher;
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use vm_core::number::tointeger;
use vm_core::{Args, LuaResult, Status, Step, Value, Vm};

use crate::resumable::PhaseLog;
use crate::string::cost::charge_bytes;

natives! {
    natives {
        CLOCK = "os.clock" as "clock" => clock;
        DATE = "os.date" as "date" => date;
        DIFFTIME = "os.difftime" as "difftime" => difftime;
        EXECUTE = "os.execute" as "execute" => execute;
        EXIT = "os.exit" as "exit" => exit;
        GETENV = "os.getenv" as "getenv" => getenv;
        REMOVE = "os.remove" as "remove" => remove;
        RENAME = "os.rename" as "rename" => rename;
        SETLOCALE = "os.setlocale" as "setlocale" => setlocale;
        TIME = "os.time" as "time" => time;
        TMPNAME = "os.tmpname" as "tmpname" => tmpname;
    }
    continuations {
        TIME_K = "os.time_k" => time_k;
    }
}

/// The shell `os.execute` runs commands with, as C's `system` does.
const SHELL: &str = "/bin/sh";

/// Installs the `os` table into the globals.
pub fn open_os(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    install(
        vm,
        &[
            &CLOCK, &DATE, &DIFFTIME, &EXECUTE, &EXIT, &GETENV, &REMOVE, &RENAME, &SETLOCALE,
            &TIME, &TMPNAME,
        ],
    )
}

/// Installs the `os` table of the sandbox profile: only the clock and the
/// calendar (`clock`, `date`, `difftime`, `time`), nothing that touches
/// files, processes, the environment or the locale.
pub fn open_os_sandboxed(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&SANDBOX_NATIVES)?;
    install(vm, &[&CLOCK, &DATE, &DIFFTIME, &TIME])
}

/// The natives and continuations of the sandbox profile's `os`
/// (`open_os_sandboxed`), which it registers instead of [`NATIVES`]: a
/// snapshot restored into a sandbox finds no other.
pub static SANDBOX_NATIVES: vm_core::NativeList = vm_core::NativeList {
    natives: &[&CLOCK, &DATE, &DIFFTIME, &TIME],
    continuations: &[&TIME_K],
};

/// An `os` table holding `funcs`, as the global `os` and `package.loaded.os`.
fn install(vm: &mut Vm, funcs: &[&'static vm_core::NativeFunction]) -> LuaResult<()> {
    let t = vm.new_table();
    vm.register(t, funcs)?;
    vm.register_library("os", t)
}

/// Returns the single result `v`.
fn ret(vm: &mut Vm, v: Value) -> LuaResult<Step> {
    vm.push(v);
    Ok(Step::Return(1))
}

// ---------------------------------------------------------------------------
// Processes, files and the environment
// ---------------------------------------------------------------------------

/// `os.clock()`: the process's CPU time in seconds, as C's
/// `clock() / CLOCKS_PER_SEC`.
fn clock(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` only writes the `timespec` it is given.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0;
    // glibc's `clock` reads this clock in whole microseconds
    // (CLOCKS_PER_SEC is 1,000,000) and gives -1 when it cannot.
    let micros = if ok {
        widen(ts.tv_sec) * 1_000_000 + widen(ts.tv_nsec) / 1_000
    } else {
        -1
    };
    ret(vm, Value::Num(micros as f64 / 1e6))
}

/// `os.getenv(name)`: the variable's value, or nil.
fn getenv(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = check_c_string(vm, args, 1)?;
    let v = match std::env::var_os(OsStr::from_bytes(&name)) {
        Some(value) => {
            charge_bytes(vm, value.len())?;
            vm.new_str(value.as_bytes())
        }
        None => Value::Nil,
    };
    ret(vm, v)
}

/// `os.execute([command])`: without a command, whether a shell is
/// available; with one, runs it with `/bin/sh -c` and returns
/// `true|nil, "exit"|"signal", code` (`luaL_execresult`).
fn execute(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if vm.is_none_or_nil(args, 1) {
        // As glibc's `system(NULL)`: the shell is there if it runs.
        let ok = Command::new(SHELL)
            .args(["-c", "exit 0"])
            .status()
            .is_ok_and(|s| s.success());
        return ret(vm, Value::Bool(ok));
    }
    let command = check_c_string(vm, args, 1)?;
    // What the script printed comes before what the command prints.
    let _ = std::io::stdout().flush();
    match Command::new(SHELL)
        .arg("-c")
        .arg(OsStr::from_bytes(&command))
        .status()
    {
        Ok(status) => exec_result(vm, status),
        Err(e) => file_result(vm, Err(e), None),
    }
}

/// `os.exit([code [, close]])`: ends the process with `code` (`true`
/// success, `false` failure, or an integer), after flushing the standard
/// streams as C's `exit` does.
///
/// A true `close` closes the VM first (`lua_close`: every pending
/// finalizer runs).
fn exit(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let mut status = match vm.arg(args, 1) {
        Value::Bool(b) => i32::from(!b),
        // C's conversion of `lua_Integer` to `int`: the low 32 bits.
        _ => vm.opt_integer(args, 1, 0)? as i32,
    };
    if vm.arg(args, 2).truthy() {
        vm.close();
        // A finalizer that passed the instruction limit while closing
        // (its error there is only a warning) fails the exit, as it fails
        // the end of a script.
        if vm.instruction_limit_exceeded() && status == 0 {
            eprintln!("{}", vm_core::LIMIT_MESSAGE);
            status = 1;
        }
    }
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(status)
}

/// `os.remove(name)`: removes a file or an empty directory (C's `remove`).
fn remove(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = check_c_string(vm, args, 1)?;
    let path = OsStr::from_bytes(&name);
    // glibc's `remove`: `unlink`, then `rmdir` when the name is a
    // directory, reporting the error of the last call made.
    let r = match std::fs::remove_file(path) {
        Err(e) if e.kind() == ErrorKind::IsADirectory => std::fs::remove_dir(path),
        r => r,
    };
    file_result(vm, r.map(|()| Value::Bool(true)), Some(&name))
}

/// `os.rename(from, to)`; a failure's message does not name the files.
fn rename(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let from = check_c_string(vm, args, 1)?;
    let to = check_c_string(vm, args, 2)?;
    let r = std::fs::rename(OsStr::from_bytes(&from), OsStr::from_bytes(&to));
    file_result(vm, r.map(|()| Value::Bool(true)), None)
}

/// `os.tmpname()`: creates an empty file `/tmp/lua_XXXXXX` readable only by
/// its owner and returns its name, as PUC Lua's `mkstemp` does.
fn tmpname(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Each `RandomState` has fresh keys, so hashing gives unpredictable
    // suffixes; `create_new` makes the claim on a name atomic.
    for attempt in 0..100u32 {
        let mut bits = std::hash::RandomState::new().hash_one((attempt, std::process::id()));
        let mut name = b"/tmp/lua_".to_vec();
        for _ in 0..6 {
            name.push(LETTERS[(bits % LETTERS.len() as u64) as usize]);
            bits /= LETTERS.len() as u64;
        }
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(OsStr::from_bytes(&name));
        match created {
            Ok(_) => {
                let name = vm.new_str(&name);
                return ret(vm, name);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(_) => break,
        }
    }
    Err(vm.error("unable to generate a unique filename"))
}

/// `os.setlocale([locale [, category]])`.
///
/// The VM's locale is always "C": its number formatting and string
/// functions do not follow the C library's locale, and changing that
/// process-wide state is not safe while other threads run. So a query
/// answers "C"; setting "C", "POSIX" or "" (the environment's default,
/// taken to be "C") answers "C"; any other locale fails with nil.
/// The category is checked but changes nothing.
fn setlocale(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    const CATEGORIES: &[&str] = &["all", "collate", "ctype", "monetary", "numeric", "time"];
    // Only "C", "POSIX" and "" are known: six bytes tell them from any
    // other name, however long.
    let locale = vm.opt_string(args, 1)?.map(|s| {
        let name = vm.str_bytes(s).unwrap_or_default();
        until_nul(&name[..name.len().min(6)]).to_vec()
    });
    vm.check_option(args, 2, Some("all"), CATEGORIES)?;
    let v = match locale.as_deref() {
        None | Some(b"C" | b"POSIX" | b"") => vm.new_str(b"C"),
        Some(_) => Value::Nil,
    };
    ret(vm, v)
}

// ---------------------------------------------------------------------------
// Times
// ---------------------------------------------------------------------------

/// A broken-down time (C's `struct tm`), with the zone details `%z` and
/// `%Z` print.
#[derive(Clone, Debug)]
struct Tm {
    /// Years since 1900.
    year: i32,
    /// Month, 0 to 11.
    mon: i32,
    /// Day of the month, 1 to 31.
    mday: i32,
    /// Hours, 0 to 23.
    hour: i32,
    /// Minutes, 0 to 59.
    min: i32,
    /// Seconds, 0 to 60 (a leap second).
    sec: i32,
    /// Days since Sunday, 0 to 6.
    wday: i32,
    /// Days since January 1st, 0 to 365.
    yday: i32,
    /// Positive when summer time is in effect, 0 when not, negative when
    /// unknown.
    isdst: i32,
    /// Seconds east of UTC.
    gmtoff: i64,
    /// The zone's abbreviation ("UTC", "CET", "GMT" for `gmtime`).
    zone: Vec<u8>,
}

impl Tm {
    /// Copies a C `struct tm`.
    fn from_c(tm: &libc::tm) -> Tm {
        let zone = if tm.tm_zone.is_null() {
            Vec::new()
        } else {
            // SAFETY: a non-null `tm_zone` set by the C library points to a
            // NUL-terminated name in its time zone data, which stays
            // allocated; it is copied at once.
            unsafe { CStr::from_ptr(tm.tm_zone) }.to_bytes().to_vec()
        };
        Tm {
            year: tm.tm_year,
            mon: tm.tm_mon,
            mday: tm.tm_mday,
            hour: tm.tm_hour,
            min: tm.tm_min,
            sec: tm.tm_sec,
            wday: tm.tm_wday,
            yday: tm.tm_yday,
            isdst: tm.tm_isdst,
            gmtoff: widen(tm.tm_gmtoff),
            zone,
        }
    }
}

/// A C integer (`time_t`, `long`: 32 or 64 bits wide depending on the
/// target) as an `i64`.
fn widen(v: impl Into<i64>) -> i64 {
    v.into()
}

/// An `i64` as a C integer type, if it fits.
fn narrow<T: TryFrom<i64>>(v: i64) -> Option<T> {
    T::try_from(v).ok()
}

/// The current time in seconds since the epoch (C's `time(NULL)`).
fn now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Before the epoch: round towards minus infinity, as `time` does.
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -secs - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// Argument `i` as a time (`l_checktime`): an integer that fits `time_t`.
fn check_time(vm: &mut Vm, args: Args, i: usize) -> LuaResult<libc::time_t> {
    let t = vm.check_integer(args, i)?;
    narrow(t).ok_or_else(|| vm.arg_error(i, "time out-of-bounds"))
}

/// `t` broken down as UTC or local time; `None` when its year does not fit
/// the C library's range.
fn broken_down(t: libc::time_t, utc: bool) -> Option<Tm> {
    // SAFETY: all-zero bytes are a valid `struct tm` (integers and a null
    // pointer).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both functions read `t` and write only `tm`, returning null
    // on failure.
    let r = unsafe {
        if utc {
            libc::gmtime_r(&t, &mut tm)
        } else {
            libc::localtime_r(&t, &mut tm)
        }
    };
    (!r.is_null()).then(|| Tm::from_c(&tm))
}

/// The fields of a date table for `tm`, in `setallfields`' order; an
/// unknown summer-time flag leaves `isdst` out.
fn date_fields(tm: &Tm) -> Vec<(&'static str, Value)> {
    let mut fields: Vec<(&str, Value)> = [
        ("year", i64::from(tm.year) + 1900),
        ("month", i64::from(tm.mon) + 1),
        ("day", tm.mday.into()),
        ("hour", tm.hour.into()),
        ("min", tm.min.into()),
        ("sec", tm.sec.into()),
        ("yday", i64::from(tm.yday) + 1),
        ("wday", i64::from(tm.wday) + 1),
    ]
    .into_iter()
    .map(|(k, v)| (k, Value::Int(v)))
    .collect();
    if tm.isdst >= 0 {
        fields.push(("isdst", Value::Bool(tm.isdst > 0)));
    }
    fields
}

/// Field `key` of a date table as a `struct tm` value: the field minus
/// `delta`, or `default` when it is nil (`getfield`), read through
/// `__index` as a logged operation of `log` (`None`: its call is pending).
///
/// # Errors
/// "field 'day' missing in date table" without a default, "field 'x' is
/// not an integer", and "field 'x' is out-of-bound" when the result does
/// not fit a C `int`.
fn date_field(
    vm: &mut Vm,
    log: &mut PhaseLog,
    table: Value,
    key: &str,
    default: Option<i32>,
    delta: i32,
) -> LuaResult<Option<i32>> {
    let k = vm.new_str(key.as_bytes());
    let Some(v) = log.index(vm, table, k)? else {
        return Ok(None);
    };
    match vm.to_number_value(v).and_then(tointeger) {
        Some(n) => n
            .checked_sub(delta.into())
            .and_then(|field| i32::try_from(field).ok())
            .map(Some)
            .ok_or_else(|| vm.error(&format!("field '{key}' is out-of-bound"))),
        None if !v.is_nil() => Err(vm.error(&format!("field '{key}' is not an integer"))),
        None => default
            .map(Some)
            .ok_or_else(|| vm.error(&format!("field '{key}' missing in date table"))),
    }
}

/// `os.time([table])`: now, or the local time the table describes. The
/// table's fields are normalised in place, as `mktime` normalised them
/// (`{month = 14}` becomes February of the next year). The fields are
/// read and written through metamethods, as `lua_getfield` and
/// `lua_setfield` do, in one phase of a `PhaseLog` (`resumable.rs`): a
/// metamethod runs through the interpreter loop and the phase is replayed
/// from its log.
fn time(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if vm.is_none_or_nil(args, 1) {
        return time_result(vm, now());
    }
    vm.check_table(args, 1)?;
    vm.frame_truncate(args, 1);
    time_run(vm, args)
}

fn time_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    PhaseLog::settle(vm, args, 1, ctx);
    time_run(vm, args)
}

fn time_run(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let table = vm.frame_get(args, 0);
    let mut log = PhaseLog::open(args, 1);
    macro_rules! ask {
        ($e:expr) => {
            match $e? {
                Some(v) => v,
                None => return Ok(log.request(vm, &TIME_K)),
            }
        };
    }
    // SAFETY: all-zero bytes are a valid `struct tm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = ask!(date_field(vm, &mut log, table, "year", None, 1900));
    tm.tm_mon = ask!(date_field(vm, &mut log, table, "month", None, 1));
    tm.tm_mday = ask!(date_field(vm, &mut log, table, "day", None, 0));
    tm.tm_hour = ask!(date_field(vm, &mut log, table, "hour", Some(12), 0));
    tm.tm_min = ask!(date_field(vm, &mut log, table, "min", Some(0), 0));
    tm.tm_sec = ask!(date_field(vm, &mut log, table, "sec", Some(0), 0));
    let k = vm.new_str(b"isdst");
    tm.tm_isdst = match ask!(log.index(vm, table, k)) {
        Value::Nil => -1,
        v => v.truthy().into(),
    };
    // SAFETY: `mktime` reads and normalises only the `tm` it is given.
    let t = unsafe { libc::mktime(&mut tm) };
    for (key, v) in date_fields(&Tm::from_c(&tm)) {
        let k = vm.new_str(key.as_bytes());
        ask!(log.set_index(vm, table, k, v));
    }
    time_result(vm, widen(t))
}

/// Returns time `t`, refusing `mktime`'s failure value.
fn time_result(vm: &mut Vm, t: i64) -> LuaResult<Step> {
    // -1 is `mktime`'s failure; PUC Lua refuses it even where it is the
    // genuine answer (one second before the epoch, in UTC).
    if t == -1 {
        return Err(vm.error("time result cannot be represented in this installation"));
    }
    ret(vm, Value::Int(t))
}

/// `os.difftime(t2, t1)`: `t2 - t1` in seconds, as a float.
fn difftime(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let t2 = check_time(vm, args, 1)?;
    let t1 = check_time(vm, args, 2)?;
    // Exact difference, rounded once (glibc subtracts in long double).
    let d = i128::from(t2) - i128::from(t1);
    ret(vm, Value::Num(d as f64))
}

/// `os.date([format [, time]])`: the time (default now) as a string made
/// from `format` (default "%c"), or as a table for "*t"; a leading "!"
/// means UTC rather than local time.
fn date(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let format = match vm.opt_string(args, 1)? {
        // Paid first, so that a format failing late has paid for the
        // conversions before its bad one.
        Some(s) => {
            vm.charge_scan(s)?;
            vm.str_bytes(s).unwrap_or_default().to_vec()
        }
        None => b"%c".to_vec(),
    };
    let t = if vm.is_none_or_nil(args, 2) {
        narrow(now()).unwrap_or(libc::time_t::MAX)
    } else {
        check_time(vm, args, 2)?
    };
    let (utc, format) = match format.strip_prefix(b"!") {
        Some(rest) => (true, rest),
        None => (false, &format[..]),
    };
    let Some(tm) = broken_down(t, utc) else {
        return Err(vm.error("date result cannot be represented in this installation"));
    };
    // PUC Lua compares with `strcmp`, so a NUL ends the format here.
    if until_nul(format) == b"*t" {
        let table = vm.new_table();
        // A new table: no metamethods to honour.
        for (key, v) in date_fields(&tm) {
            vm.raw_set_str(table, key, v)?;
        }
        return ret(vm, Value::Table(table));
    }
    let mut out = Vec::with_capacity(format.len() * 2);
    let mut rest = format;
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let Some(len) = conversion_len(rest) else {
            // The message quotes the rest of the format, as PUC Lua's does.
            let msg = [
                &b"invalid conversion specifier '%"[..],
                until_nul(rest),
                b"'",
            ]
            .concat();
            return Err(vm.arg_error_bytes(1, &msg));
        };
        // The E and O modifiers change nothing in the "C" locale.
        let room = out.capacity();
        strftime(&mut out, rest[len - 1], &tm);
        if out.capacity() != room {
            // A conversion makes up to ~30 bytes of 2: the result must fit.
            vm.reserve_memory(out.capacity())?;
        }
        rest = &rest[len..];
    }
    charge_bytes(vm, format.len() + out.len())?;
    vm.make_room(out.len())?;
    let s = vm.new_str(&out);
    ret(vm, s)
}

/// Length of the conversion at the start of `spec` (after its `%`), or
/// `None` when C99 defines no such conversion. These are Lua 5.4's
/// `LUA_STRFTIMEOPTIONS` for C99.
fn conversion_len(spec: &[u8]) -> Option<usize> {
    const SINGLE: &[u8] = b"aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%";
    const MODIFIED: &[u8] = b"EcECExEXEyEYOdOeOHOIOmOMOSOuOUOVOwOWOy";
    match spec {
        [c, ..] if SINGLE.contains(c) => Some(1),
        [m, c, ..] if MODIFIED.chunks(2).any(|p| p == [*m, *c]) => Some(2),
        _ => None,
    }
}

/// Day names of the "C" locale.
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Month names of the "C" locale.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Appends conversion `conv` of `tm` as glibc's `strftime` writes it in
/// the "C" locale: names in English, numbers zero-padded to their usual
/// width, years (`%Y`, `%C`, `%G`) unpadded and computed with C `int`
/// arithmetic on `tm_year + 1900`, wrapping at the extremes as glibc's do.
fn strftime(out: &mut Vec<u8>, conv: u8, tm: &Tm) {
    let year = tm.year.wrapping_add(1900);
    match conv {
        b'a' => push_name(out, &DAYS, tm.wday, 3),
        b'A' => push_name(out, &DAYS, tm.wday, usize::MAX),
        b'b' | b'h' => push_name(out, &MONTHS, tm.mon, 3),
        b'B' => push_name(out, &MONTHS, tm.mon, usize::MAX),
        b'c' => composite(out, b"%a %b %e %H:%M:%S %Y", tm),
        b'C' => push_num(out, year / 100 - i32::from(year % 100 < 0), 1),
        b'd' => push_num(out, tm.mday, 2),
        b'D' | b'x' => composite(out, b"%m/%d/%y", tm),
        b'e' => out.extend_from_slice(format!("{:2}", tm.mday).as_bytes()),
        b'F' => composite(out, b"%Y-%m-%d", tm),
        b'g' => push_num(out, (iso_week(tm).0 % 100 + 100) % 100, 2),
        b'G' => push_num(out, iso_week(tm).0, 1),
        b'H' => push_num(out, tm.hour, 2),
        b'I' => {
            let hour = match tm.hour {
                0 => 12,
                h if h > 12 => h - 12,
                h => h,
            };
            push_num(out, hour, 2);
        }
        b'j' => push_num(out, tm.yday + 1, 3),
        b'm' => push_num(out, tm.mon + 1, 2),
        b'M' => push_num(out, tm.min, 2),
        b'n' => out.push(b'\n'),
        b'p' => out.extend_from_slice(if tm.hour > 11 { b"PM" } else { b"AM" }),
        b'r' => composite(out, b"%I:%M:%S %p", tm),
        b'R' => composite(out, b"%H:%M", tm),
        b'S' => push_num(out, tm.sec, 2),
        b't' => out.push(b'\t'),
        b'T' | b'X' => composite(out, b"%H:%M:%S", tm),
        b'u' => push_num(out, (tm.wday + 6) % 7 + 1, 1),
        b'U' => push_num(out, (tm.yday - tm.wday + 7) / 7, 2),
        b'V' => push_num(out, iso_week(tm).1, 2),
        b'w' => push_num(out, tm.wday, 1),
        b'W' => push_num(out, (tm.yday - (tm.wday + 6) % 7 + 7) / 7, 2),
        b'y' => push_num(out, (tm.year % 100 + 100) % 100, 2),
        b'Y' => push_num(out, year, 1),
        // "+hhmm"; nothing when it is unknown whether summer time applies.
        b'z' if tm.isdst >= 0 => {
            out.push(if tm.gmtoff < 0 { b'-' } else { b'+' });
            let minutes = tm.gmtoff.unsigned_abs() / 60;
            let hhmm = format!("{:04}", minutes / 60 * 100 + minutes % 60);
            out.extend_from_slice(hhmm.as_bytes());
        }
        b'Z' => out.extend_from_slice(&tm.zone),
        b'%' => out.push(b'%'),
        // `conversion_len` admits no other conversion.
        _ => {}
    }
}

/// Appends `format`, made of single-character conversions and literal
/// characters, formatted from `tm` (the compound conversions `%c`, `%D`,
/// `%F`, `%r`, `%R`, `%T`).
fn composite(out: &mut Vec<u8>, format: &[u8], tm: &Tm) {
    let mut chars = format.iter();
    while let Some(&c) = chars.next() {
        match c {
            b'%' => strftime(out, chars.next().copied().unwrap_or(b'%'), tm),
            _ => out.push(c),
        }
    }
}

/// Appends `v` in decimal, zero-padded to `width` digits.
fn push_num(out: &mut Vec<u8>, v: i32, width: usize) {
    out.extend_from_slice(format!("{v:0width$}").as_bytes());
}

/// Appends the first `len` letters of name `i` of `names`, or "?" for an
/// index out of range (as glibc does).
fn push_name(out: &mut Vec<u8>, names: &[&str], i: i32, len: usize) {
    let name = usize::try_from(i).ok().and_then(|i| names.get(i));
    match name {
        Some(name) => out.extend_from_slice(&name.as_bytes()[..len.min(name.len())]),
        None => out.push(b'?'),
    }
}

/// The ISO 8601 week-based year and week number (1 to 53) of `tm`: weeks
/// start on Monday, and week 1 is the one holding the year's first
/// Thursday, so early January may belong to the previous year's last week
/// and late December to the next year's first.
fn iso_week(tm: &Tm) -> (i32, i32) {
    let is_leap = |y: i32| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let mut year = tm.year.wrapping_add(1900);
    let mut days = iso_week_days(tm.yday, tm.wday);
    if days < 0 {
        // Counted in the previous year's weeks.
        year = year.wrapping_sub(1);
        days = iso_week_days(tm.yday + 365 + i32::from(is_leap(year)), tm.wday);
    } else {
        let next = iso_week_days(tm.yday - 365 - i32::from(is_leap(year)), tm.wday);
        if next >= 0 {
            // Already in the next year's first week.
            year = year.wrapping_add(1);
            days = next;
        }
    }
    (year, days / 7 + 1)
}

/// Days from the Monday that starts ISO week 1 of the year to the day
/// `yday` (days since January 1st, from -366 on) falling on weekday
/// `wday`; negative when the day comes before that week.
fn iso_week_days(yday: i32, wday: i32) -> i32 {
    // A multiple of 7 keeping the left operand of `%` non-negative.
    const BIG_ENOUGH: i32 = (366 / 7 + 2) * 7;
    const THURSDAY: i32 = 4;
    const MONDAY: i32 = 1;
    yday - (yday - wday + THURSDAY + BIG_ENOUGH) % 7 + THURSDAY - MONDAY
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sunday 2006-01-01 15:04:05 in a zone an hour and a half west of UTC.
    fn sample() -> Tm {
        Tm {
            year: 106,
            mon: 0,
            mday: 1,
            hour: 15,
            min: 4,
            sec: 5,
            wday: 0,
            yday: 0,
            isdst: 0,
            gmtoff: -5400,
            zone: b"XST".to_vec(),
        }
    }

    fn format(spec: &str, tm: &Tm) -> String {
        let mut out = Vec::new();
        composite(&mut out, spec.as_bytes(), tm);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn conversions_are_those_of_c99() {
        assert_eq!(conversion_len(b"Y-%m"), Some(1));
        assert_eq!(conversion_len(b"Ey"), Some(2));
        assert_eq!(conversion_len(b"Oy"), Some(2));
        assert_eq!(conversion_len(b"Ez"), None);
        assert_eq!(conversion_len(b"E"), None);
        assert_eq!(conversion_len(b"k"), None);
        assert_eq!(conversion_len(b""), None);
    }

    #[test]
    fn formats_as_the_c_locale() {
        let tm = sample();
        assert_eq!(format("%c", &tm), "Sun Jan  1 15:04:05 2006");
        assert_eq!(format("%a %A %b %B %h", &tm), "Sun Sunday Jan January Jan");
        assert_eq!(
            format("%D %x %X %r %R %T %F", &tm),
            "01/01/06 01/01/06 15:04:05 03:04:05 PM 15:04 15:04:05 2006-01-01"
        );
        assert_eq!(
            format("%C %y %Y %j %e %I %p", &tm),
            "20 06 2006 001  1 03 PM"
        );
        assert_eq!(format("%u %w %U %W %V %G %g", &tm), "7 0 01 00 52 2005 05");
        assert_eq!(format("%z %Z %% %n%t", &tm), "-0130 XST % \n\t");
    }

    #[test]
    fn years_are_unpadded_and_may_be_negative() {
        let mut tm = sample();
        tm.year = -1905; // year -5
        assert_eq!(format("%Y %C %y", &tm), "-5 -1 95");
        tm.year = i32::MAX; // glibc's `int` arithmetic wraps
        assert_eq!(format("%Y", &tm), "-2147481749");
    }

    #[test]
    fn iso_weeks_cross_year_ends() {
        // Monday 2024-12-30 opens week 1 of 2025.
        let tm = Tm {
            year: 124,
            mon: 11,
            mday: 30,
            wday: 1,
            yday: 364,
            ..sample()
        };
        assert_eq!(iso_week(&tm), (2025, 1));
        // Friday 2021-01-01 closes week 53 of 2020.
        let tm = Tm {
            year: 121,
            mon: 0,
            mday: 1,
            wday: 5,
            yday: 0,
            ..sample()
        };
        assert_eq!(iso_week(&tm), (2020, 53));
    }

    #[test]
    fn bad_fields_print_a_question_mark() {
        let tm = Tm {
            wday: 9,
            mon: -1,
            ..sample()
        };
        assert_eq!(format("%a %B", &tm), "? ?");
    }
}
