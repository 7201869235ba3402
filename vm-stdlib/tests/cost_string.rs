//! The string library pays for its work: one unit of fuel per 32 bytes
//! produced or scanned (`string/cost.rs`). `string.rep` and `gsub` work in
//! steps of about 4 KiB and let the driver suspend them between two, so a
//! sliced run of one huge call comes back to the driver every slice, each
//! slice within its budget plus one step (128 units), and gives the same
//! result as a whole run.

mod support;

use support::{slices, vm};
use vm_core::Outcome;

/// The most a slice may overshoot its budget through a stepped native:
/// one step (4096 bytes at 32 a unit) plus the declared costs and
/// instructions around it.
const K: u64 = 160;

/// Runs `src` in slices of `slice` units with a collection between two;
/// the slices run, the most fuel one of them used, and the first result.
fn sliced(src: &str, slice: u64) -> (usize, u64, String) {
    let r = slices::run(&mut vm(), src, slice, usize::MAX, true);
    match r.end {
        Ok(first) => (r.slices, r.most, first),
        Err(e) => panic!("{src}: {e}"),
    }
}

/// Fuel a whole run of `src` uses, and its first result.
fn whole(src: &str) -> (u64, String) {
    let mut vm = vm();
    let f = vm.load(src.as_bytes(), "=whole").unwrap();
    match vm.start(f, &[], u64::MAX / 2) {
        Ok(Outcome::Return(v)) => {
            let r = v.first().map_or(String::new(), |&v| vm.to_display(v));
            (vm.fuel_used(), r)
        }
        other => panic!("{src}: {other:?}"),
    }
}

#[test]
fn a_hundred_megabyte_rep_comes_back_to_the_driver_every_slice() {
    let src = "local s = string.rep('x', 1e8) return #s .. s:sub(-3)";
    let (slices, most, r) = sliced(src, 10_000);
    assert_eq!(r, "100000000xxx");
    // 1e8 bytes at 32 a unit: 3.1 million units, over 300 slices.
    assert!(slices > 300, "{slices} slices");
    assert!(most <= 10_000 + K, "a slice used {most}");
}

#[test]
fn sliced_reps_build_the_same_strings() {
    let src = "
        local parts = {}
        for _, c in ipairs({{'ab', 50000, ', '}, {'', 10, '-'}, {'xyz', 1}, {'q', 100000},
                            {string.rep('long', 3000), 7, string.rep('=', 5000)}, {'a', 0, 'b'}}) do
            local s = string.rep(c[1], c[2], c[3])
            local h = 0
            for i = 1, #s, 97 do h = (h * 31 + s:byte(i)) % 1000000007 end
            parts[#parts + 1] = #s .. ':' .. h
        end
        return table.concat(parts, ' ')
    ";
    let (fuel, expected) = whole(src);
    for slice in [50, 1000, 10_000] {
        let (slices, most, r) = sliced(src, slice);
        assert_eq!(r, expected, "slice {slice}");
        // Every slice but the last uses its budget (or a little more).
        assert!(
            slices as u64 >= fuel / (slice + K),
            "slice {slice}: {slices} slices"
        );
        assert!(most <= slice + K, "slice {slice}: a slice used {most}");
    }
}

/// `string.pack` makes its output a step at a time: a `cN` field of a
/// hundred megabytes from a short format (it used to be one slice of three
/// million units), and many options, pack in slices as they do whole.
#[test]
fn sliced_packs_build_the_same_strings() {
    let src = "local s = string.pack('c100000000', 'ab') return #s .. s:sub(1, 2) .. s:byte(-1)";
    let (slices, most, r) = sliced(src, 10_000);
    assert_eq!(r, "100000000ab0");
    assert!(slices > 300, "{slices} slices");
    assert!(most <= 10_000 + K, "a slice used {most}");
    let src = "
        local fmt, args = {}, {}
        for i = 1, 60 do
            fmt[#fmt + 1] = ({'<i4', '>j', '!4 h', 's2', 'z', 'c3000', 'x Xi4 i8', 'd', '=I2'})[i % 9 + 1]
            local long = string.rep('s', i * 100)
            args[#args + 1] = ({i, -i, i, long, long, 'c' .. i, i, i / 3, i * 5})[i % 9 + 1]
        end
        local s = string.pack(table.concat(fmt, ' '), table.unpack(args))
        local h = 0
        for i = 1, #s do h = (h * 31 + s:byte(i)) % 1000000007 end
        return #s .. ':' .. h
    ";
    let (_, expected) = whole(src);
    for slice in [50, 1000] {
        let (slices, most, r) = sliced(src, slice);
        assert_eq!(r, expected, "slice {slice}");
        assert!(slices > 3, "slice {slice}: {slices} slices");
        assert!(most <= slice + K, "slice {slice}: a slice used {most}");
    }
}

#[test]
fn gsub_over_a_large_subject_comes_back_to_the_driver_every_slice() {
    let cases = [
        // Text replacements, growing and shrinking the subject.
        "local s = string.rep('ab', 2e6) local r, n = s:gsub('a', '<%0>') return #r .. ' ' .. n",
        "local s = string.rep('abc ', 1e6) local r, n = s:gsub('%s', '') return #r .. ' ' .. n",
        // No match at all: nothing changes, but every byte is scanned.
        "local s = string.rep('abc ', 1e6) local r, n = s:gsub('x', 'y') return #r .. ' ' .. n",
        // One early match, then the rest of the subject copied.
        "local s = string.rep('z', 4e6) local r, n = s:gsub('^z', 'y') return #r .. r:sub(1, 2) .. n",
        // A table, then a function, over many matches.
        "local s = string.rep('k v ', 2e5) local r, n = s:gsub('%a', {k = 'K'}) return #r .. r:sub(1, 8) .. n",
        "local s = string.rep('k v ', 1e5) local r, n = s:gsub('%a', function(c) if c == 'v' then return 'w' end end) return #r .. r:sub(1, 8) .. n",
    ];
    for src in cases {
        let (fuel, expected) = whole(src);
        assert!(fuel > 50_000, "{src}: {fuel} units");
        let (slices, most, r) = sliced(src, 10_000);
        assert_eq!(r, expected, "{src}");
        assert!(
            slices as u64 >= fuel / (10_000 + K),
            "{src}: {slices} slices"
        );
        assert!(most <= 10_000 + K, "{src}: a slice used {most}");
    }
}

/// What each expression pays beyond its baseline, with `S` a megabyte
/// of `x` (32,768 units), `Z` the same with a final zero byte and `T` a
/// list of 100,000 copies of the largest code point.
pub fn paid(cases: &[(&str, &str, u64)]) {
    let setup = "local N = 1 << 20 local S = string.rep('x', N) local Z = S .. '\\0'
                 local T = {} for i = 1, 100000 do T[i] = 0x10FFFF end
                 local U = utf8.char(table.unpack(T)) ";
    for &(expr, baseline, units) in cases {
        let (base, _) = whole(&format!("{setup} local r = {baseline} return 0"));
        let (cost, _) = whole(&format!("{setup} local r = {expr} return 0"));
        let paid = cost - base;
        // A baseline may differ by an instruction or two.
        assert!(
            paid + 2 + units / 1000 >= units,
            "{expr}: paid {paid}, expected {units}"
        );
        assert!(
            paid <= units + units / 50 + 100,
            "{expr}: paid {paid}, expected {units}"
        );
    }
}

#[test]
fn string_functions_charge_for_the_bytes_they_handle() {
    let mb = 32_768;
    paid(&[
        ("string.rep('x', N)", "string.rep('x', 1)", mb),
        ("string.rep('x', N / 2, 'y')", "string.rep('x', 1)", mb - 1),
        ("S:upper()", "('x'):upper()", mb),
        ("S:lower()", "('x'):lower()", mb),
        ("S:reverse()", "('x'):reverse()", mb),
        ("S:sub(2)", "S:sub(N)", mb - 1),
        ("S:find('y')", "S:find('x')", mb),
        ("S:find('y', 1, true)", "S:find('x', 1, true)", mb),
        ("S:find('.y')", "S:find('x')", mb),
        ("S:match('y')", "S:match('x')", mb),
        ("S:gsub('x', 'y')", "('x'):gsub('x', 'y')", 2 * mb),
        // Scanned, and the text kept copied (as PUC Lua copies it).
        ("S:gsub('y', 'z')", "('x'):gsub('y', 'z')", 2 * mb),
        (
            "string.format('%s%s', S, '')",
            "string.format('%s%s', 'x', '')",
            mb,
        ),
        ("string.format('%q', S)", "string.format('%q', 'x')", mb + 1),
        ("S:byte(1, 4096)", "S:byte(1)", 128),
        // 1025 empty matches, each scanning a 3,200-byte replacement.
        (
            "S:sub(1, 1024):gsub('', ('%0'):rep(1600))",
            "S:sub(1, 1024):gsub('', '%0')",
            1025 * 3200 / 32,
        ),
    ]);
}

/// Under a memory limit, a string native checks that its result fits
/// before building it (`Vm::reserve_memory`): "not enough memory",
/// caught by `pcall`, and the VM goes on.
#[test]
fn huge_string_results_under_a_memory_limit_raise_not_enough_memory() {
    let mut vm = vm();
    vm.set_memory_limit(Some(32 << 20));
    let r = vm
        .exec(
            b"local S = string.rep('x', 1 << 20)
              local out = {}
              for _, f in ipairs({
                  function() return string.rep('x', 1e9) end,
                  function() return string.rep(S, 100, ',') end,
                  function() return S:gsub('x', '%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0') end,
                  function() return string.format(string.rep('%s', 40), table.unpack(setmetatable({}, {__index = function() return S end}), 1, 40)) end,
              }) do
                  local ok, e = pcall(f)
                  out[#out + 1] = tostring(ok) .. ':' .. tostring(e)
              end
              out[#out + 1] = #string.rep('y', 1000)
              return table.concat(out, ' ')",
            "=memory",
        )
        .unwrap();
    assert_eq!(
        vm.to_display(r[0]),
        "false:not enough memory false:not enough memory false:not enough memory \
         false:not enough memory 1000"
    );
}

/// `find`, `match` and `gmatch` search in paid steps of matcher work: a
/// long search comes back to the driver every slice and finds what a
/// whole run finds. (A step ends after the match attempt that crosses
/// 4 KiB of work, so one long attempt lengthens it: here attempts are
/// short. The subjects are built by `gsub`, which works in steps too: a
/// concatenation would pay for its bytes in one instruction.)
#[test]
fn long_searches_come_back_to_the_driver_every_slice() {
    let cases = [
        "local s = string.rep('x', 2e6):gsub('$', 'y') return s:find('[y]', 2)",
        "local s = string.rep('ab', 2e5):gsub('$', 'c') return s:find('[bc]c')",
        "local s = string.rep('ab', 2e5):gsub('$', 'key=val') return s:match('(%a)=(%a+)')",
        "local s = string.rep('a', 1000) return tostring(s:find('.-b'))",
        "local s = string.rep('ab ', 1e5):gsub('$', 'z') local n = 0 for w in s:gmatch('z') do n = n + 1 end return n",
        "local s = string.rep('word ', 3e4) local n = 0 for w in s:gmatch('%a+') do n = n + #w end return n",
    ];
    for src in cases {
        let (fuel, expected) = whole(src);
        assert!(fuel > 10_000, "{src}: {fuel} units");
        let (slices, most, r) = sliced(src, 2_000);
        assert_eq!(r, expected, "{src}");
        assert!(
            slices as u64 >= fuel / (2_000 + K),
            "{src}: {slices} slices"
        );
        assert!(most <= 2_000 + K, "{src}: a slice used {most}");
    }
}

/// A single match can take time exponential in its pattern and cannot be
/// suspended half-way; an instruction limit still ends it, at the limit.
#[test]
fn the_instruction_limit_ends_a_runaway_match() {
    for src in [
        "return string.rep('a', 40):find(string.rep('a*', 20) .. 'b')",
        "return string.rep('a', 40):match(string.rep('a-', 20) .. 'b')",
        "return string.rep('a', 40):gsub(string.rep('a?', 20) .. 'b', '')",
        "for w in string.rep('a', 40):gmatch(string.rep('a*', 20) .. 'b') do end",
    ] {
        let mut vm = vm();
        vm.set_instruction_limit(Some(1_000_000));
        let start = std::time::Instant::now();
        let e = vm.exec(src.as_bytes(), "=runaway").unwrap_err();
        let msg = vm.error_to_string(&e);
        assert!(msg.contains("instruction limit exceeded"), "{src}: {msg}");
        assert!(
            start.elapsed().as_secs() < 10,
            "{src}: {:?}",
            start.elapsed()
        );
    }
}
