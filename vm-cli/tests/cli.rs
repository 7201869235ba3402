//! Integration tests of the `vm` command: the Lua test corpus and the
//! command-line behaviour of `lua` (arguments, `-e`, stdin, errors).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn vm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vm"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vm");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for vm")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every script in `tests/lua/` runs to completion under `vm`, from that
/// folder, as `cd tests/lua && vm <file>.lua`.
#[test]
fn lua_corpus() {
    let dir = workspace_root().join("tests/lua");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/lua exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in {}", dir.display());
    let mut failures = Vec::new();
    for s in &scripts {
        let name = s
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let out = vm()
            .arg(&name)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run vm");
        if !out.status.success() {
            failures.push(format!(
                "{name}: {}",
                text(&out.stderr).lines().next().unwrap_or("(no message)")
            ));
        }
    }
    println!(
        "{} passed, {} failed",
        scripts.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failing scripts:\n{}",
        failures.join("\n")
    );
}

/// Every corpus script prints exactly the same under `--slice N` as in one
/// go: a run resumed every N instructions continues exactly where it
/// stopped.
#[test]
fn lua_corpus_is_identical_in_slices() {
    let dir = workspace_root().join("tests/lua");
    let mut scripts: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/lua exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".lua"))
        .collect();
    scripts.sort();
    let run = |name: &str, slice: Option<&str>| {
        let mut cmd = vm();
        if let Some(n) = slice {
            cmd.args(["--slice", n]);
        }
        let out = cmd
            .arg(name)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run vm");
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let mut failures = Vec::new();
    for name in &scripts {
        let whole = run(name, None);
        for n in ["1", "3", "64"] {
            let sliced = run(name, Some(n));
            if sliced != whole {
                failures.push(format!("{name} --slice {n}: {:?} vs {:?}", sliced, whole));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn slice_needs_a_positive_count() {
    for bad in [&["--slice"][..], &["--slice", "0"], &["--slice", "x"]] {
        let out = vm().args(bad).arg("-e").arg("print(1)").output().unwrap();
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("'--slice' needs"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn runs_script_with_arguments() {
    let dir = tempdir();
    let script = dir.join("args.lua");
    std::fs::write(&script, "print(#arg, arg[0] ~= nil, arg[1], arg[2], ...)").unwrap();
    let out = vm().arg(&script).args(["x", "y"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "2\ttrue\tx\ty\tx\ty\n");
}

/// A script's header is skipped as `lua` skips it (`luaL_loadfile`): a
/// UTF-8 byte order mark, then a `#` line (line numbers hold), before text
/// or a binary chunk; from standard input too.
#[test]
fn script_headers_are_skipped() {
    let dir = tempdir();
    let dumped = dir.join("dump.lua");
    let make = format!(
        "local h = io.open({:?}, 'wb') h:write('#!/usr/bin/env vm\\n', \
         string.dump(load('print(\\'binary\\', ...)'))) h:close()",
        dumped.display().to_string()
    );
    let out = vm().args(["-e", &make]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vm().arg(&dumped).arg("x").output().unwrap();
    assert_eq!(text(&out.stdout), "binary\tx\n", "{}", text(&out.stderr));
    for (body, expected) in [
        ("\u{feff}print('bom')", "bom\n"),
        ("\u{feff}#!/usr/bin/env vm\nprint('both')", "both\n"),
        ("#!/usr/bin/env vm\r\nerror('line')", "vm: "),
    ] {
        let script = dir.join("header.lua");
        std::fs::write(&script, body).unwrap();
        let out = vm().arg(&script).output().unwrap();
        // `vm run` reads its files the same way.
        let run = vm()
            .args(["run", "--sched", "tick"])
            .arg(&script)
            .output()
            .unwrap();
        if expected == "vm: " {
            assert!(
                text(&run.stderr).contains("header.lua:2: line"),
                "{}",
                text(&run.stderr)
            );
        } else {
            assert_eq!(text(&run.stdout), expected, "{}", text(&run.stderr));
        }
        let stdin = run_with_stdin(
            {
                let mut c = vm();
                c.arg("-");
                c
            },
            body,
        );
        if expected == "vm: " {
            // The error is on line 2: the header's line break stays.
            assert!(
                text(&out.stderr).contains("header.lua:2: line"),
                "{}",
                text(&out.stderr)
            );
            assert!(
                text(&stdin.stderr).contains("stdin:2: line"),
                "{}",
                text(&stdin.stderr)
            );
        } else {
            assert_eq!(text(&out.stdout), expected, "{}", text(&out.stderr));
            assert_eq!(text(&stdin.stdout), expected, "{}", text(&stdin.stderr));
        }
    }
}

/// Without a memory limit, a read that outgrows the address space (a line
/// of `/dev/zero`, under `ulimit -v`) is "not enough memory", not an
/// abort; so are string results, tables and chunks too large for it (they
/// aborted).
#[test]
#[cfg(target_os = "linux")]
fn outgrowing_the_address_space_without_a_limit_is_not_enough_memory() {
    for script in [
        "local f = io.open('/dev/zero') print(pcall(f.read, f, 'l')) print('alive')",
        "local s = ('x'):rep(300000000) print(pcall(string.format, '%s%s%s%-s', s, s, s, s)) print('alive')",
        "local s, t = {}, {} for i = 1, 4 do s[i] = ('ab'):rep(50000000 + i) end
         print(pcall(function() for i = 1, 4 do t[i] = s[i]:upper() t[i + 4] = s[i]:reverse() end end))
         t = nil print('alive')",
        "local s, t = ('ab'):rep(100000000), {}
         print(pcall(function() for i = 1, 8 do t[i] = s .. i end end)) t = nil print('alive')",
        "local s, t = ('ab'):rep(100000000), {}
         print(pcall(function() for i = 1, 8 do t[i] = s:sub(i) end end)) t = nil print('alive')",
        // A table's array part, its hash part, a string literal and a
        // name as long as a chunk.
        "local t = {} print(pcall(function() for i = 1, 1e9 do t[i] = i end end)) t = nil print('alive')",
        "local t = {} print(pcall(function() for i = 1, 1e9 do t[i + 0.5] = i end end)) t = nil print('alive')",
        "local s = 'return [[' .. ('x'):rep(250000000) .. ']]'
         local f, e = load(s, '=n') s = nil print(f ~= nil, e) print('alive')",
        "local s = 'return ' .. ('x'):rep(300000000)
         local f, e = load(s, '=n') s = nil print(f ~= nil, e) print('alive')",
        "local s = 'return [[' .. ('x'):rep(400000000) .. ']]'
         local f, e = load(s) s = nil print(f ~= nil, e) print('alive')",
        // A long chain of operators (the tree's nodes), a long list, and a
        // token longer than memory from a reader.
        "local f, e = load('return 1' .. (' + 1'):rep(50000000)) print(f ~= nil, e) print('alive')",
        "local f, e = load('f(' .. ('1,'):rep(100000000) .. '1)') print(f ~= nil, e) print('alive')",
        "local first, piece = true, ('x'):rep(10000000)
         local f, e = load(function() if first then first = false return 'return [[' end return piece end)
         print(f ~= nil, e) print('alive')",
    ] {
        runs_out_under_ulimit(&["--memory-limit", "none"], script);
    }
}

/// Runs `vm options -e script` with 1 GB of address space (`ulimit -v`):
/// it must print `false`, "not enough memory" and `alive`, and succeed.
#[cfg(target_os = "linux")]
fn runs_out_under_ulimit(options: &[&str], script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_vm"))
        .args(options)
        .args(["-e", script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "false\tnot enough memory\nalive\n",
        "{script}"
    );
}

/// Bombs of small objects end in "not enough memory" too (they aborted):
/// after each collection the heap checks that its arenas could double
/// (`Heap::check_headroom`), and without `--memory-limit`, `vm` limits
/// the heap to half what the process may use.
#[test]
#[cfg(target_os = "linux")]
fn small_objects_outgrowing_the_address_space_are_not_enough_memory() {
    let bomb = |make: &str| {
        format!(
            "local t = {{}} print(pcall(function() local i = 0 while true do i = i + 1 t[i] = {make} end end)) t = nil print('alive')"
        )
    };
    let strings = bomb("'s' .. i");
    let closures = bomb("function() return i end");
    let tables = bomb("{1, 2, 3, 4, 5, 6, 7, 8}");
    let finalized = bomb("setmetatable({}, {__gc = function() end})");
    let coroutines = bomb("coroutine.create(print)");
    // Coroutines each deep in calls: their stacks and frame lists grow
    // fallibly, and the collector paces itself on the room left.
    let deep = "local function deep(k)
            local a, b, c, d, e, f, g, h, i, j, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z
            if k == 0 then return coroutine.wrap(function() return deep(150) end)() end
            return 1 + deep(k - 1)
        end
        local ok, e = pcall(deep, 150) print(ok, (e:gsub('^.*: ', ''))) print('alive')"
        .to_owned();
    for script in [&strings, &closures, &tables, &finalized, &coroutines, &deep] {
        runs_out_under_ulimit(&[], script);
        runs_out_under_ulimit(&["--memory-limit", "none"], script);
    }
}

/// With the collector stopped, nothing collects to probe the allocator's
/// room: the heap watches it anyway, and a bomb of small objects without
/// a limit ends in "not enough memory" (it aborted in an arena's growth).
#[test]
#[cfg(target_os = "linux")]
fn a_stopped_collector_still_runs_out_gracefully() {
    for make in ["{i}", "('x'):rep(1024) .. i"] {
        let script = format!(
            "collectgarbage('stop') local t = {{}}
             print(pcall(function() local i = 0 while true do i = i + 1 t[i] = {make} end end))
             t = nil collectgarbage() print('alive')"
        );
        runs_out_under_ulimit(&["--memory-limit", "none"], &script);
        runs_out_under_ulimit(&[], &script);
    }
}

/// Found by a hostile pass: the error leaving a script that ran out of
/// memory was freed by a finalizer that collected as the run ended, and
/// rendering it panicked.
#[test]
fn an_escaping_error_outlives_a_collecting_finalizer() {
    let out = vm()
        .args([
            "--memory-limit",
            "20M",
            "-e",
            "setmetatable({}, {__gc = function() collectgarbage() end})
             local t = {} for i = 1, 1e8 do t[i] = i end",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("vm: not enough memory"),
        "{}",
        text(&out.stderr)
    );
}

/// The state is closed however the command ends (only `-e` chunks, an
/// error), so the remaining finalizers run; one that passes the
/// instruction limit there fails the command, as the limit promises.
#[test]
fn closing_runs_finalizers_under_the_limit() {
    let fin = "setmetatable({}, {__gc = function() print('closed') end})";
    let out = vm().args(["-e", fin]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "closed\n");
    let out = vm()
        .args(["-e", &format!("{fin} error('x')")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "closed\n");
    let long = "setmetatable({}, {__gc = function() for i = 1, 1e7 do end print('done') end})";
    let out = vm()
        .args(["--instruction-limit", "100000", "-e", long])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "vm: instruction limit exceeded\n");
    // `os.exit(0, true)` closes the state too, and fails the same way.
    let out = vm()
        .args([
            "--instruction-limit",
            "100000",
            "-e",
            &format!("{long} os.exit(0, true)"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "instruction limit exceeded\n");
}

#[test]
fn arg_table_without_a_script_starts_with_the_interpreter() {
    let out = vm()
        .args(["-e", "print(arg[1], arg[2] ~= nil, arg[-1])"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "-e\ttrue\tnil\n");
}

#[test]
fn executes_strings_and_stdin() {
    let out = vm().args(["-e", "print(1 + 2)"]).output().unwrap();
    assert_eq!(text(&out.stdout), "3\n");
    let out = run_with_stdin(
        {
            let mut c = vm();
            c.arg("-");
            c
        },
        "print('from stdin')",
    );
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "from stdin\n");
}

#[test]
fn uncaught_error_prints_message_and_traceback() {
    let out = vm()
        .args(["-e", "local function f() error('boom') end f()"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("vm: (command line):1: boom\nstack traceback:"),
        "{err}"
    );
    assert!(err.contains("[C]: in function 'error'"), "{err}");
}

#[test]
fn syntax_error_is_reported() {
    let out = vm().args(["-e", "x = = 1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vm: (command line):1: unexpected symbol near '='\n"
    );
}

#[test]
fn missing_script_is_an_error() {
    let out = vm().arg("/nonexistent/script.lua").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vm: cannot open /nonexistent/script.lua: No such file or directory\n"
    );
}

#[test]
fn error_objects_that_are_not_strings() {
    let out = vm().args(["-e", "error({})"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("vm: (error object is a table value)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn error_objects_with_tostring_are_their_own_message() {
    let out = vm()
        .args([
            "-e",
            "error(setmetatable({}, {__tostring = function() return 'custom' end}))",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "vm: custom\n");
    // A `__tostring` that gives no string: the object's type and a
    // traceback, as lua.c's msghandler gives.
    let out = vm()
        .args([
            "-e",
            "error(setmetatable({}, {__tostring = function() return {} end}))",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("vm: (error object is a table value)\nstack traceback:\n"),
        "{err}"
    );
}

#[test]
fn disassembly_lists_bytecode() {
    let out = vm()
        .args(["--disasm", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempdir();
    let script = dir.join("d.lua");
    std::fs::write(&script, "local x = 1\nprint(x + 2)\n").unwrap();
    let out = vm().arg("--disasm").arg(&script).output().unwrap();
    let listing = text(&out.stdout);
    assert!(listing.contains("main <"), "{listing}");
    assert!(listing.contains("GETTABUP"), "{listing}");
    assert!(listing.contains("CALL"), "{listing}");
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vm-cli-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `lua.c` starts the collector in generational mode; the first switch
/// reports it.
#[test]
fn the_collector_starts_generational_as_in_lua() {
    let out = vm()
        .args([
            "-e",
            "print(collectgarbage('incremental'), collectgarbage('incremental'))",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "generational\tincremental\n");
}

/// A long traceback shows its first 10 and last 11 levels, as
/// `luaL_traceback` does.
#[test]
fn long_tracebacks_skip_the_middle_levels() {
    let src = "local function f(n) if n == 0 then error('deep') end f(n - 1) end f(30)";
    let out = vm().args(["-e", src]).output().unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    // The message, "stack traceback:", 10 levels, the skip line, 11 levels.
    assert_eq!(lines.len(), 24, "{err}");
    assert_eq!(lines[12], "\t...\t(skipping 12 levels)");
    assert_eq!(lines[23], "\t[C]: in ?");
}

#[test]
fn instruction_limit_ends_a_runaway_script_with_a_traceback() {
    let endless = [
        "while true do end",
        "table.sort({3, 1, 2}, function(a, b) while true do end end)",
        "while true do pcall(function() while true do end end) end",
    ];
    for src in endless {
        let out = vm()
            .args(["--instruction-limit", "100000", "-e", src])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{src}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("vm: (command line):1: instruction limit exceeded\nstack traceback:"),
            "{src}: {err}"
        );
    }
    let out = vm()
        .args(["--instruction-limit", "100000", "--slice", "3", "-e"])
        .arg("local s = 0 for i = 1, 1000 do s = s + i end print(s)")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "500500\n");
}

#[test]
fn memory_limit_turns_a_memory_bomb_into_an_error() {
    let out = vm()
        .args(["--memory-limit", "16M", "-e"])
        .arg("local t = {} for i = 1, 1e9 do t[i] = i end")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("vm: not enough memory"), "{err}");
    // Caught, the error leaves the script running.
    let out = vm()
        .args(["--memory-limit", "16M", "-e"])
        .arg("print(pcall(function() local s = 'x' while true do s = s .. s end end)) print(#{1, 2})")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "false\tnot enough memory\n2\n");
}

/// `vm run`: several programs under the round-robin scheduler; a failure
/// is reported with its name and traceback without stopping the others,
/// an endless loop ends at the instruction limit, and `--stats` counts.
#[test]
fn run_runs_several_programs_under_a_scheduler() {
    let dir = std::env::temp_dir().join(format!("vm-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, src: &str| {
        let p = dir.join(name);
        std::fs::write(&p, src).unwrap();
        p.to_string_lossy().into_owned()
    };
    let counter = "for i = 1, 3 do print(NAME, i) local s = 0 for j = 1, 3000 do s = s + j end end";
    let a = write("a.lua", &format!("NAME = 'a' {counter}"));
    let b = write(
        "b.lua",
        "print('b starts')\nlocal function f() error('boom') end\nf()\n",
    );
    let c = write("c.lua", "while true do end\n");
    let d = write("d.lua", &format!("NAME = 'd' {counter}"));
    let out = vm()
        .args([
            "run",
            "--slice",
            "1000",
            "--stats",
            "--instruction-limit",
            "1000000",
        ])
        .args([&a, &b, &c, &d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    // Round-robin with a fixed slice: the same interleaving every time.
    assert_eq!(
        stdout, "a\t1\nb starts\nd\t1\na\t2\nd\t2\na\t3\nd\t3\n",
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("b.lua:2: boom\nstack traceback:\n\t[C]: in function 'error'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("c.lua:1: instruction limit exceeded"),
        "{stderr}"
    );
    let rows: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("task"))
        .collect();
    assert_eq!(rows.len(), 5, "{stderr}");
    assert!(
        rows[1].contains("a.lua") && rows[1].contains("finished"),
        "{stderr}"
    );
    assert!(
        rows[2].contains("b.lua") && rows[2].contains("failed"),
        "{stderr}"
    );
    assert!(
        rows[3].contains("c.lua") && rows[3].contains("failed"),
        "{stderr}"
    );
    assert!(
        rows[4].contains("d.lua") && rows[4].contains("finished"),
        "{stderr}"
    );
    // The other schedulers: the same results (work-stealing's order of
    // lines between programs is its own), and per-worker counters.
    for sched in ["tick", "ws"] {
        let mut cmd = vm();
        cmd.args(["run", "--sched", sched, "--slice", "1000", "--stats"]);
        if sched == "ws" {
            cmd.args(["--workers", "2"]);
        }
        let out = cmd
            .args(["--instruction-limit", "1000000", &a, &b, &c, &d])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{sched}");
        let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
        lines.sort();
        assert_eq!(
            lines,
            ["a\t1", "a\t2", "a\t3", "b starts", "d\t1", "d\t2", "d\t3"],
            "{sched}"
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("b.lua:2: boom\nstack traceback:"),
            "{sched}: {stderr}"
        );
        assert!(
            stderr.contains("c.lua:1: instruction limit exceeded"),
            "{sched}: {stderr}"
        );
        assert_eq!(
            stderr.contains("worker    slices"),
            sched == "ws",
            "{sched}: {stderr}"
        );
    }
    let e = vm().args(["run", "--workers", "2", &a]).output().unwrap();
    assert_eq!(e.status.code(), Some(1));
    // All programs succeeding: status 0; a missing file: 1.
    let ok = vm().args(["run", &a, &d]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    // `--slice` is exact, however long; a failure without a position
    // is named by its program.
    let long = vm()
        .args(["run", "--slice", "2000000", "--stats", &a])
        .output()
        .unwrap();
    let table = text(&long.stderr);
    let row = table
        .lines()
        .find(|l| l.contains("a.lua"))
        .unwrap_or_default();
    assert_eq!(row.split_whitespace().nth(4), Some("1"), "{table}");
    let m = write("m.lua", "local t = {} for i = 1, 1e8 do t[i] = i end");
    let mem = vm()
        .args(["run", "--memory-limit", "1M", &m, &a])
        .output()
        .unwrap();
    assert_eq!(mem.status.code(), Some(1));
    assert!(
        text(&mem.stderr).contains(&format!("vm: {m}: not enough memory")),
        "{}",
        text(&mem.stderr)
    );
    let missing = vm()
        .args(["run", &a, "/nonexistent/x.lua"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot open /nonexistent/x.lua"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An interrupt stops `vm run` between slices: the table shows the
/// runaway program still running, and the exit status is 130.
#[test]
fn run_stops_at_an_interrupt_and_reports() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("vm-run-int-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let looping = dir.join("loop.lua");
    std::fs::write(
        &looping,
        "print('looping') io.stdout:flush() while true do end",
    )
    .unwrap();
    let quick = dir.join("quick.lua");
    std::fs::write(
        &quick,
        "local s = 0 for i = 1, 100 do s = s + i end print('quick done') io.stdout:flush()",
    )
    .unwrap();
    for sched in ["rr", "ws"] {
        let mut child = vm()
            .args(["run", "--sched", sched, "--stats", "--slice", "1000"])
            .arg(&looping)
            .arg(&quick)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The runaway program has started and the other one is done:
        // interrupt.
        let mut seen = Vec::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        while seen.len() < 2 {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            seen.push(line);
        }
        seen.sort();
        assert_eq!(seen, ["looping\n", "quick done\n"], "{sched}");
        // SAFETY: a plain kill(2) of our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{sched}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("vm: interrupted"), "{sched}: {stderr}");
        let row = |name: &str| {
            stderr
                .lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("{sched}: no row for {name}: {stderr}"))
                .to_string()
        };
        assert!(row("loop.lua").contains("running"), "{sched}: {stderr}");
        assert!(row("quick.lua").contains("finished"), "{sched}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pipe whose reader is already gone: writes to it fail (`EPIPE`).
#[cfg(unix)]
fn broken_pipe() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two new descriptors, which are ours: the
    // read end is closed at once, the write end owned by the result.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

/// Found by a hostile pass: messages to a standard error (or output)
/// that is a closed pipe panicked ("failed printing to stderr", status
/// 101); they are dropped, and the status is the one the command gives.
#[test]
#[cfg(unix)]
fn a_closed_pipe_for_messages_is_not_a_panic() {
    let dir = tempdir();
    let fail = dir.join("fail.lua");
    std::fs::write(&fail, "error('x')").unwrap();
    let fail = fail.to_string_lossy().into_owned();
    for args in [
        &["run", "/nonexistent/missing.lua"][..],
        &["run", "--slice", "abc", "x.lua"],
        &["--badopt"],
        &[&fail],
        &["run", &fail],
        &["run", "--stats", &fail],
    ] {
        let out = vm()
            .args(args)
            .stdin(Stdio::null())
            .stderr(broken_pipe())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    let out = vm()
        .args(["-v", "-e", ""])
        .stdout(broken_pipe())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Found by a hostile pass: a huge `--workers` panicked ("capacity
/// overflow"), aborted on allocation or ran for ever; past 1024 it is a
/// usage error, as other bad options are, and 1024 still runs.
#[test]
fn run_caps_the_worker_count() {
    let dir = tempdir();
    let script = dir.join("hi.lua");
    std::fs::write(&script, "print('hi')").unwrap();
    for huge in ["1025", "100000000", "4294967296", "18446744073709551615"] {
        let out = vm()
            .args(["run", "--sched", "ws", "--workers", huge])
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{huge}");
        assert_eq!(text(&out.stdout), "", "{huge}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "vm: '--workers' is at most 1024, got '{huge}'\nusage: vm run"
            )),
            "{err}"
        );
    }
    let out = vm()
        .args(["run", "--sched", "ws", "--workers", "1024"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
}

/// Waits for `child` at most a generous minute; kills it and fails past
/// that.
fn wait_or_kill(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Starts `vm run --stats --sched sched script` with standard input a
/// pipe, and waits for the script's first line ("reading", printed just
/// before it reads standard input).
fn start_reading(sched: &str, script: &Path) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = vm()
        .args(["run", "--stats", "--sched", sched])
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "reading\n", "{sched}");
    child
}

/// What an exited `child` left on its standard output and error.
fn rest_of_output(child: &mut std::process::Child) -> (String, String) {
    use std::io::Read;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (stdout, stderr)
}

fn interrupt(child: &std::process::Child) {
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
}

/// Found by a hostile pass: a program blocked reading a pipe that never
/// closes kept `vm run` running after an interrupt (the read resumes);
/// a second interrupt ends the process at once, with status 130.
#[test]
fn a_second_interrupt_ends_a_blocked_run() {
    let dir = tempdir();
    let script = dir.join("blocked.lua");
    std::fs::write(
        &script,
        "print('reading') io.stdout:flush() io.read() print('read')",
    )
    .unwrap();
    for sched in ["rr", "tick", "ws"] {
        let mut child = start_reading(sched, &script);
        // Standard input stays open (`child.stdin` is held) all along.
        interrupt(&child);
        std::thread::sleep(std::time::Duration::from_millis(200));
        interrupt(&child);
        let status = wait_or_kill(&mut child, sched);
        assert_eq!(status.code(), Some(130), "{sched}");
        let (stdout, stderr) = rest_of_output(&mut child);
        // The read never returned, and no table: the process just ended.
        assert_eq!(stdout, "", "{sched}");
        assert_eq!(stderr, "vm: interrupted\n", "{sched}");
    }
}

/// Found by a hostile pass: an interrupt during the last program's read,
/// which then finished within the same execute, was reported as an
/// interrupted run (status 130); with no program left it is a complete
/// one.
#[test]
fn an_interrupt_after_every_program_ended_is_no_interruption() {
    let dir = tempdir();
    let script = dir.join("reads.lua");
    std::fs::write(
        &script,
        "print('reading') io.stdout:flush() print('got', io.read())",
    )
    .unwrap();
    for sched in ["rr", "tick", "ws"] {
        let mut child = start_reading(sched, &script);
        interrupt(&child);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"a line\n").unwrap();
        drop(stdin);
        let status = wait_or_kill(&mut child, sched);
        let (stdout, stderr) = rest_of_output(&mut child);
        assert_eq!(status.code(), Some(0), "{sched}: {stderr}");
        assert_eq!(stdout, "got\ta line\n", "{sched}");
        assert!(!stderr.contains("interrupted"), "{sched}: {stderr}");
        let row = stderr.lines().find(|l| l.contains("reads.lua"));
        assert!(
            row.is_some_and(|r| r.contains("finished")),
            "{sched}: {stderr}"
        );
    }
}

/// `vm run -` runs standard input, as `vm -` and `lua -` do, named
/// `stdin` in messages (it said "cannot open -"); only once.
#[test]
fn run_reads_a_program_from_standard_input() {
    let dir = tempdir();
    let file = dir.join("file.lua");
    std::fs::write(&file, "print('from the file')").unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = vm();
        cmd.arg("run").args(args);
        run_with_stdin(cmd, stdin)
    };
    let file = file.to_string_lossy().into_owned();
    let out = run(&["--stats", "-", &file], "print('from stdin')");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from stdin\nfrom the file\n");
    assert!(
        text(&out.stderr).contains("   1  stdin "),
        "{}",
        text(&out.stderr)
    );
    // Errors name it `stdin`, as `lua -` does.
    let out = run(&["-"], "local function f() error('x') end\nf()");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("vm: stdin:1: x\nstack traceback:\n"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("\n\tstdin:2: in main chunk\n"));
    let out = run(&["-"], "x = = 1");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vm: stdin:1: unexpected symbol near '='\n"
    );
    // (Refused before standard input is read.)
    let out = vm()
        .args(["run", "-", &file, "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).starts_with("vm: '-' (standard input) given twice\nusage: vm run"),
        "{}",
        text(&out.stderr)
    );
}

/// Found by a hostile pass: an argument that is not UTF-8 panicked
/// (`std::env::args`); a script of that name cannot be opened, which is
/// reported.
#[test]
#[cfg(unix)]
fn an_argument_that_is_not_utf8_is_no_panic() {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::OsStr::from_bytes(b"/nonexistent/\xff.lua");
    for run in [false, true] {
        let mut cmd = vm();
        if run {
            cmd.arg("run");
        }
        let out = cmd.arg(name).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).starts_with("vm: cannot open /nonexistent/"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// `vm run --sched SCHED script`'s output.
fn vm_run(sched: &str, script: &std::path::Path) -> Output {
    vm().args(["run", "--sched", sched])
        .arg(script)
        .output()
        .unwrap()
}

/// The supervisor example (`examples/supervisor.lua`) runs as documented
/// on every scheduler: a failing worker restarted through `agent.monitor`,
/// the same output each time, the workers' failures reported.
#[test]
fn the_supervisor_example_restarts_its_worker() {
    let script = workspace_root().join("examples/supervisor.lua");
    for sched in ["rr", "tick", "ws"] {
        let out = vm_run(sched, &script);
        assert_eq!(
            text(&out.stdout),
            "1 squared is 1\n2 squared is 4\nworker failed: cannot square -3\n\
             4 squared is 16\nworker failed: cannot square -5\n6 squared is 36\n\
             done, 2 restarts\n",
            "{sched}: {}",
            text(&out.stderr)
        );
        assert!(out.status.success(), "{sched}");
        assert!(
            text(&out.stderr).contains("cannot square -3\nstack traceback:"),
            "{sched}: {}",
            text(&out.stderr)
        );
    }
}

/// A program left waiting for a message nothing can send is reported,
/// and the run is no success.
#[test]
fn vm_run_reports_a_program_left_waiting() {
    let dir = tempdir();
    let script = dir.join("waits.lua");
    std::fs::write(&script, "print('waiting') print(agent.receive())").unwrap();
    for sched in ["rr", "tick", "ws"] {
        let out = vm_run(sched, &script);
        assert_eq!(text(&out.stdout), "waiting\n", "{sched}");
        assert!(
            text(&out.stderr).contains("waits.lua: waits for a message that nothing can send"),
            "{sched}: {}",
            text(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{sched}");
    }
}

/// `vm run` names a script's chunk `@file`, as `lua` does, so that
/// `debug.getinfo(1, "S").source` tells a script where it is.
#[test]
fn vm_run_names_a_script_by_its_file() {
    let dir = tempdir();
    let script = dir.join("where.lua");
    std::fs::write(&script, "print(debug.getinfo(1, 'S').source)").unwrap();
    let out = vm_run("rr", &script);
    assert_eq!(text(&out.stdout), format!("@{}\n", script.display()));
    assert_eq!(out.status.code(), Some(0));
}

/// `vm run --max-agents N` caps the agents alive at once: the spawn past
/// it is a Lua error the program can catch, and an agent that ended makes
/// room for another.
#[test]
fn vm_run_caps_the_agents_alive_at_once() {
    let dir = tempdir();
    let script = dir.join("cap.lua");
    std::fs::write(
        &script,
        "local waiting = {}
         for i = 1, 2 do waiting[i] = agent.spawn(function() agent.receive() end) end
         print(pcall(agent.spawn, function() end))
         agent.monitor(waiting[1])
         agent.kill(waiting[1])
         print(agent.receive())
         print(type(agent.spawn(function() end)))
         agent.kill(waiting[2])",
    )
    .unwrap();
    for sched in ["rr", "tick", "ws"] {
        let out = vm()
            .args(["run", "--sched", sched, "--max-agents", "3"])
            .arg(&script)
            .output()
            .unwrap();
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{sched}: {stdout}{}", text(&out.stderr));
        assert!(lines[0].starts_with("false\t"), "{sched}: {stdout}");
        assert!(lines[0].contains("3"), "{sched}: the limit named: {stdout}");
        assert_eq!(lines[1], format!("down\t{}\tkilled", 2), "{sched}");
        assert_eq!(lines[2], "number", "{sched}");
        assert_eq!(out.status.code(), Some(0), "{sched}: {}", text(&out.stderr));
    }
}

/// `warn` as `lua` has it: off until `@on`; a control message is a
/// single argument starting with `@` (one of several pieces is text,
/// however it starts); each warning a `Lua warning: ` line on stderr.
#[test]
fn warnings_follow_luas_controls() {
    let script = r#"warn("hidden") warn("@o", "n") warn("still hidden")
        warn("@on") warn("a", "b", "c") warn("@off", "x") warn("@unknown")
        warn("@off") warn("hidden again")"#;
    let out = vm().args(["-e", script]).output().expect("run vm");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "Lua warning: abc\nLua warning: @offx\n",
        "(lua5.4 prints these two lines)"
    );
}
