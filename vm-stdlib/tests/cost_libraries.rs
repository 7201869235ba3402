//! `string.pack`/`unpack`, `utf8`, `io`, `os` and `package` pay for the
//! bytes they produce or scan, one unit of fuel per 32, as the string
//! library does (`string/cost.rs`).

mod support;

use support::{slices, vm};
use vm_core::{Outcome, Vm};

/// Fuel a whole driven run of `src` uses.
fn fuel(src: &str) -> u64 {
    let mut vm = vm();
    let f = vm.load(src.as_bytes(), "=cost").unwrap();
    match vm.start(f, &[], u64::MAX / 2) {
        Ok(Outcome::Return(_)) => vm.fuel_used(),
        other => panic!("{src}: {other:?}"),
    }
}

/// Checks that each expression pays `units` more than its baseline, in a
/// chunk that starts with `setup`.
fn paid(setup: &str, cases: &[(&str, &str, u64)]) {
    for &(expr, baseline, units) in cases {
        let base = fuel(&format!("{setup} local r = {baseline} return 0"));
        let cost = fuel(&format!("{setup} local r = {expr} return 0"));
        let paid = cost.saturating_sub(base);
        // A baseline may differ by an instruction or two.
        assert!(paid + 2 >= units, "{expr}: paid {paid}, expected {units}");
        assert!(
            paid <= units + units / 50 + 100,
            "{expr}: paid {paid}, expected {units}"
        );
    }
}

const MB: u64 = 32_768;

#[test]
fn pack_and_utf8_pay_for_their_bytes() {
    let setup = "local N = 1 << 20 local S = string.rep('x', N) local Z = S .. '\\0'
                 local P = string.pack('s4', S)
                 local T = {} for i = 1, 1000 do T[i] = 0x10FFFF end
                 local U = string.rep(utf8.char(0x10FFFF), N // 4)
                 local C = string.rep('\\x80', N) ";
    paid(
        setup,
        &[
            ("string.pack('s4', S)", "string.pack('s4', 'x')", MB),
            ("string.pack('z', S)", "string.pack('z', 'x')", MB),
            ("string.unpack('s4', P)", "string.unpack('i4', P)", MB),
            ("string.unpack('z', Z)", "string.unpack('z', 'x\\0')", MB),
            ("utf8.len(S)", "utf8.len('x')", MB),
            ("utf8.len(U)", "utf8.len('x')", MB),
            (
                "utf8.codepoint(U, 1, 4 * 1000)",
                "utf8.codepoint(U, 1, 4)",
                125,
            ),
            ("utf8.offset(U, N // 4)", "utf8.offset(U, 1)", MB - 1),
            ("utf8.offset(S, -N)", "utf8.offset(S, -1)", MB - 1),
            (
                "utf8.char(table.unpack(T))",
                "select('#', table.unpack(T))",
                125,
            ),
            ("utf8.codes('a')(C, 0)", "utf8.codes('a')(C, N)", MB),
        ],
    );
}

#[test]
fn io_os_and_package_pay_for_their_bytes() {
    let dir = std::env::temp_dir().join(format!("vm-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("data");
    std::fs::write(&file, vec![b'y'; 1 << 20]).unwrap();
    let out = dir.join("out");
    let setup = format!(
        "local N = 1 << 20 local S = string.rep('x', N)
         local function rd(fmt) local f = io.open('{}') local r = f:read(fmt) f:close() return r end
         local function wr(s) local f = io.open('{}', 'w') f:write(s) f:close() return true end
         local D = string.rep('%Y', 1000) local P = string.rep('/x/?;', 10000) ",
        file.display(),
        out.display()
    );
    paid(
        &setup,
        &[
            ("rd('a')", "rd(1)", MB),
            ("rd(N)", "rd(1)", MB),
            ("rd('l')", "rd(1)", MB),
            ("wr(S)", "wr('x')", MB),
            // 1,000 conversions of two bytes into four.
            ("os.date(D, 0)", "os.date('%Y', 0)", 6000 / 32),
            // Each template scanned and its name built (4 + 4 bytes),
            // the "no file" list (16 bytes a template), and a unit per
            // file probed.
            (
                "package.searchpath('m', P)",
                "package.searchpath('m', '/x/?')",
                10_000 * (4 + 4 + 16) / 32 + 10_000,
            ),
        ],
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Runs `src` in slices of `slice` units, at most `cap` of them; the
/// slices run, the most fuel one used, and the first result (or why the
/// run did not end).
fn sliced(vm: &mut Vm, src: &str, slice: u64, cap: usize) -> (usize, u64, Result<String, String>) {
    slices::run(vm, src, slice, cap, true).parts()
}

/// Reads of a large file go in paid steps: a sliced run comes back to the
/// driver every slice, within its budget plus one step, and reads what a
/// whole run reads; endless reads of `/dev/zero` come back too, and under
/// a memory limit end with "not enough memory".
#[test]
fn long_reads_come_back_to_the_driver_every_slice() {
    let dir = std::env::temp_dir().join(format!("vm-cost-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lines");
    let mut text = Vec::new();
    for i in 0..40_000 {
        text.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 700)).as_bytes());
    }
    std::fs::write(&file, &text).unwrap();
    let name = file.display();
    let cases = [
        format!("local f = io.open('{name}') local s = f:read('a') f:close() return #s .. s:sub(-12)"),
        format!("local f = io.open('{name}') local a, b, c = f:read(5, 3e6, 'L') f:close() return #a .. #b .. c"),
        format!("local n, t = 0, 0 for l in io.lines('{name}') do n = n + 1 t = t + #l end return n .. ' ' .. t"),
        format!("local f = io.open('{name}') local t = {{}} for a, b in f:lines(100000, 'l') do t[#t + 1] = #a + #(b or '') end f:close() return #t .. ' ' .. t[1]"),
        format!("io.input('{name}') local s = io.read('a') io.input():close() return #s"),
    ];
    for src in &cases {
        let mut whole = vm();
        let r = whole.exec(src.as_bytes(), "=whole").unwrap();
        let expected = whole.to_display(r[0]);
        let mut v = vm();
        let (slices, most, end) = sliced(&mut v, src, 10_000, usize::MAX);
        assert_eq!(end, Ok(expected), "{src}");
        assert!(slices >= 5, "{src}: {slices} slices");
        assert!(most <= 10_000 + 160, "{src}: a slice used {most}");
    }
    std::fs::remove_dir_all(dir).ok();
    for src in [
        "local f = io.open('/dev/zero') return #f:read('a')",
        "local f = io.open('/dev/zero') return #f:read('l')",
        "return #io.lines('/dev/zero', 1e12)()",
    ] {
        let mut v = vm();
        let (slices, most, end) = sliced(&mut v, src, 10_000, 30);
        assert_eq!(end, Err("still running".to_string()), "{src}");
        assert_eq!(slices, 30, "{src}");
        assert!(most <= 10_000 + 160, "{src}: a slice used {most}");
        let mut v = vm();
        v.set_memory_limit(Some(16 << 20));
        let r = v
            .exec(
                format!("return select(2, pcall(function() {src} end))").as_bytes(),
                "=zero",
            )
            .unwrap();
        assert_eq!(v.to_display(r[0]), "not enough memory", "{src}");
    }
}

/// Instructions and natives whose work grows with their operands pay for
/// it: a run under an instruction limit cannot repeat such work for free.
#[test]
fn long_operands_and_many_values_are_paid_for() {
    let setup = "local N = 1 << 20 local S = string.rep('x', N) local S2 = string.rep('x', N)
                 local D = string.rep('1', N) local T = {} for i = 1, 10000 do T[i] = i end
                 local function f(...) return select('#', ...) end
                 local function g(...) local t = {...} return #t end
                 local co = coroutine.wrap(function(...) while true do coroutine.yield(...) end end)
                 local C = string.rep('a = 1 ', N // 6)
                 local E = {} for i = 1, 4096 do E[i + 0.5] = true end
                 for i = 1, 4095 do E[i + 0.5] = nil end
                 local H = {} for i = 1, 1600 do H = setmetatable({}, {__index = H, __newindex = H}) end
                 local function set(t) t.x = 1 end
                 local F = {} for i = 1, 8000 do F[i] = i + 0.25 end
                 local I = {} for i = 1, 8000 do I[i] = i end ";
    paid(
        setup,
        &[
            // A concatenation pays for the bytes it copies.
            ("S .. 'a'", "'x' .. 'a'", MB),
            // An order comparison of strings for the bytes it may scan.
            ("S < S2", "'x' < 'y'", MB),
            // A string converted to a number for the bytes it scans.
            ("tonumber(D)", "tonumber('1')", MB),
            ("D + 0", "'1' + 0", MB),
            ("math.abs(D)", "math.abs('1')", MB),
            // `unpack` reads 9,999 more elements (and so pays for its
            // results), then values are moved (one unit every two past
            // 64): `...` in `f`; in `g` also the constructor's stores (one
            // a value past 64); for `co`, the values passed in, `...` and
            // the values passed back.
            (
                "f(table.unpack(T))",
                "f(table.unpack(T, 1, 1))",
                9_999 + 4968,
            ),
            (
                "g(table.unpack(T))",
                "g(table.unpack(T, 1, 1))",
                9_999 + 4968 + 9936,
            ),
            (
                "co(table.unpack(T))",
                "co(table.unpack(T, 1, 1))",
                9_999 + 3 * 4968,
            ),
            // Compiling pays a unit a byte.
            ("load(C)", "load('')", (1 << 20) / 6 * 6),
            // `next` pays for the removed keys it steps over (one unit
            // every 16).
            ("next(E)", "next({1})", 4095 / 16),
            // Following `__index`/`__newindex` tables pays a unit every
            // eight hops.
            ("H.x", "T.x", 1600 / 8),
            ("set(H)", "set(T)", 1600 / 8),
            // Floats converted to text pay for the formatting beyond their
            // bytes.
            ("table.concat(F)", "table.concat(I)", 8000 * 16),
        ],
    );
}

/// Loading a long chunk goes in steps of 16 KB (a unit a byte), pausing
/// between them: `load` of a long string, `loadfile`, `dofile` and
/// `require` of a long file come back to the driver every slice, within
/// its budget plus one step, and load what a whole run loads (they used
/// to compile the whole chunk inside one slice).
#[test]
fn long_loads_come_back_to_the_driver_every_slice() {
    const STEP: u64 = 16_384 + 160;
    let dir = std::env::temp_dir().join(format!("vm-cost-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("#!/usr/bin/env lua\nlocal t = {}\n");
    for i in 0..20_000 {
        text.push_str(&format!("t[{i}] = {{'{i}', {i} * 2}} -- comment {i}\n"));
    }
    text.push_str("return #t, t[19999][1], (...)\n");
    std::fs::write(dir.join("big.lua"), &text).unwrap();
    let name = dir.join("big.lua");
    let name = name.display();
    let dir_name = dir.display();
    let cases = [
        format!("local f = io.open('{name}') local s = f:read('a') f:close() s = s:gsub('^#[^\\n]*', '')
                 local a, b, c = assert(load(s))('x') return a .. b .. c"),
        format!("local a, b, c = loadfile('{name}')('y') return a .. b .. c"),
        format!("local a, b, c = dofile('{name}') return a .. b .. tostring(c)"),
        format!("package.path = '{dir_name}/?.lua' local m, file = require('big') return m .. file"),
    ];
    for src in &cases {
        let mut whole = vm();
        let r = whole.exec(src.as_bytes(), "=whole").unwrap();
        assert_eq!(r.len(), 1, "{src}");
        let expected = whole.to_display(r[0]);
        for slice in [2_000, 20_000] {
            let mut v = vm();
            let r = slices::run(&mut v, src, slice, usize::MAX, true);
            assert_eq!(r.end, Ok(expected.clone()), "{src}");
            assert!(r.slices >= 5, "{src}: {} slices", r.slices);
            assert!(r.most <= slice + STEP, "{src}: a slice used {}", r.most);
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// An error passing up a chain of `coroutine.wrap` calls is copied, with
/// the position added, at every level: each copy is paid for, so a deep
/// chain passing a long message comes back to the driver every slice (it
/// ran uncharged in one slice, 15 s for 5,000 levels of 4 MB).
#[test]
fn a_long_error_up_a_chain_of_wraps_is_paid_for() {
    let src = "local depth = 0
        local function f()
          depth = depth + 1
          if depth == 3000 then error(string.rep('x', 1 << 16)) end
          return coroutine.wrap(f)()
        end
        local ok, e = pcall(f)
        return #e";
    let mut whole = vm();
    // (The chunk name of `slices::run`: it is in every position added.)
    let r = whole.exec(src.as_bytes(), "=sliced").unwrap();
    let expected = whole.to_display(r[0]);
    let mut v = vm();
    let r = slices::run(&mut v, src, 10_000, usize::MAX, true);
    assert_eq!(r.end, Ok(expected));
    // 3,000 copies of 64 to 94 KB: 7 million units, a copy at most
    // 2,986 of them.
    assert!(r.slices >= 500, "{} slices", r.slices);
    assert!(r.most <= 10_000 + 2_986 + 160, "a slice used {}", r.most);
}

/// `string.dump`, the debug library and `load` pay for what they copy:
/// a dump's bytes, a traceback's message and the frames it counts, a
/// function's source and active lines, a chunk's name (a long one is
/// copied twice), and the frames a hook marks.
#[test]
fn dump_debug_and_chunk_names_pay_for_their_bytes() {
    let setup = "local N = 1 << 20 local S = string.rep('x', N)
                 local F = load('return ' .. string.format('%q', S), '=F')
                 local G, H = load('return 1', S), load('return 1', 'x')
                 local L = load(string.rep('x = 1\\n', 1000))
                 local function at(n, g) if n == 0 then return g() end return (at(n - 1, g)) end ";
    paid(
        setup,
        &[
            ("string.dump(F)", "string.dump(H)", MB),
            ("debug.traceback(S)", "debug.traceback('x')", MB),
            ("debug.getinfo(G, 'S')", "debug.getinfo(H, 'S')", MB),
            ("debug.getinfo(L, 'L')", "debug.getinfo(L, 'f')", 1000),
            ("load('return 1', S)", "load('return 1', 'x')", 2 * MB),
            ("at(10000, debug.sethook)", "at(10000, os.clock)", 10_000),
            ("at(10000, debug.traceback)", "at(10000, os.clock)", 10_000),
            (
                "at(10000, function() return debug.getinfo(10000, 'l') end)",
                "at(10000, function() return debug.getinfo(1, 'l') end)",
                10_000 - 16,
            ),
        ],
    );
}

/// A format that fails late (a bad conversion at its end) has paid for
/// what it went through: `format`, `unpack` and `os.date` pay for their
/// format first (they ran unpaid when they failed).
#[test]
fn formats_failing_late_are_paid_for() {
    let setup = "local N = 1 << 20 local S = string.rep('x', N)
                 local SF, SU = S .. '%y', string.rep('i4', N // 2)
                 local SD = string.rep('%Y', N // 2) .. '%Q' ";
    paid(
        setup,
        &[
            ("pcall(string.format, SF)", "pcall(string.format, '%y')", MB),
            (
                "pcall(string.unpack, SU, 'x')",
                "pcall(string.unpack, 'i4', 'x')",
                MB,
            ),
            ("pcall(os.date, SD)", "pcall(os.date, '%Q')", MB),
        ],
    );
}

/// Natives that scan or copy a long argument pay for it even when their
/// result is short (found by a hostile pass: a loop of each ran for
/// minutes under a one-million instruction limit), and those that need
/// only a short prefix of it scan no more.
#[test]
fn long_arguments_are_paid_for_whatever_the_result() {
    let setup = "local N = 1 << 20 local S = string.rep('x', N)
                 local F = load('error(1)', S) local G = load('error(1)', 'x')
                 local I = 'i' .. string.rep('1', N) local T = string.rep('S', N)
                 local A, B = S .. 'a', S .. 'b' local H = string.rep('x', N // 2) .. 'y' ";
    paid(
        setup,
        &[
            // The pattern is scanned for specials.
            ("('x'):find(S)", "('x'):find('y')", MB),
            ("('x'):match(S)", "('x'):match('y')", MB),
            // `%s` checks the whole string for zeros.
            ("string.format('%.3s', S)", "string.format('%.3s', 'x')", MB),
            // `warn` copies its pieces, then makes text of them.
            ("warn('@x', S)", "warn('@x', 'x')", 2 * MB),
            // An unfinished `z` string is scanned to the end.
            (
                "pcall(string.unpack, 'z', S)",
                "pcall(string.unpack, 'z', 'x')",
                MB,
            ),
            // A mode and a file name are copied, scanned and quoted.
            ("load('', 'x', S)", "load('', 'x', 'x')", 3 * MB),
            ("loadfile(S)", "loadfile('x')", 3 * MB),
            // Only six bytes of a locale's name matter.
            ("os.setlocale(S)", "os.setlocale('x')", 0),
            // An error in a chunk named by a long text shows 45 bytes of it.
            ("pcall(F)", "pcall(G)", 0),
            // Options are compared in place; a refused one is quoted.
            ("pcall(collectgarbage, S)", "pcall(collectgarbage, 'x')", MB),
            (
                "pcall(io.stdout.seek, io.stdout, S)",
                "pcall(io.stdout.seek, io.stdout, 'x')",
                MB,
            ),
            (
                "pcall(io.popen, 'true', S)",
                "pcall(io.popen, 'true', 'x')",
                0,
            ),
            // Option letters are looked for in the whole string.
            ("debug.getinfo(print, T)", "debug.getinfo(print, 'S')", MB),
            ("debug.sethook(print, S)", "debug.sethook(print, 'x')", MB),
            // A format is scanned before its first item fails.
            (
                "pcall(string.pack, I, 1)",
                "pcall(string.pack, 'i1', 1)",
                MB,
            ),
            // `assert` copies its message as `error` does.
            ("pcall(assert, false, S)", "pcall(assert, false, 'x')", MB),
            // No numeral: it fails at the first stray byte.
            (
                "pcall(function() for j = S, 1 do end end)",
                "pcall(function() for j = 'x', 1 do end end)",
                0,
            ),
            // Sorting compares two long strings byte by byte.
            ("table.sort({B, A})", "table.sort({'b', 'a'})", MB),
            // A long separator: its table, the name's scan, the new name
            // (the name again), the file name and the "no file" entry.
            (
                "package.searchpath(S, '?', H, '')",
                "package.searchpath('x', '?', H, '')",
                4 * MB,
            ),
        ],
    );
}
