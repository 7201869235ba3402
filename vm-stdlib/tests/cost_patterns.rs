//! The pattern matcher pays for the pattern's side of its work as well as
//! the subject's (`string/pattern.rs`, module docs): a long set, a long
//! run of literal bytes or of classes, examined again at every position
//! of a search, costs its length each time (one unit of fuel per 32
//! steps, as bytes scanned do). So under an instruction limit such a
//! search stops at the limit, and in a driven run it comes back to the
//! driver every slice, within one step of matcher work.
//!
//! The hostile cases are the ones a tester found running for minutes
//! under `--instruction-limit 1000000`, at sizes that keep these tests
//! fast: before the pattern side was counted they paid one step per
//! position, whatever the pattern.

mod support;

use support::{slices, vm};
use vm_core::Outcome;

/// Fuel a whole driven run of `src` uses, and its results rendered.
fn whole(src: &str) -> (u64, String) {
    let mut vm = vm();
    let f = vm.load(src.as_bytes(), "=whole").unwrap();
    match vm.start(f, &[], u64::MAX / 2) {
        Ok(Outcome::Return(v)) => {
            let r: Vec<String> = v.iter().map(|&v| vm.to_display(v)).collect();
            (vm.fuel_used(), r.join(" "))
        }
        other => panic!("{src}: {other:?}"),
    }
}

/// A search whose every position examines a long part of the pattern.
struct Hostile {
    /// Makes `P` (the pattern) and `S` (the subject), then searches.
    src: String,
    /// What the search returns.
    found: String,
    /// Pattern steps the search counts at the least (those past the 4
    /// each position pays for): the fuel it must pay is this over 32.
    steps: u64,
}

/// The tester's three cases with `n` positions tried and patterns of
/// about `len` bytes; with `found`, the subject ends where the pattern
/// matches.
fn hostile(n: usize, len: usize, found: bool) -> [Hostile; 3] {
    let (n64, len64) = (n as u64, len as u64);
    // Each position examines `len` bytes of the pattern at least, of
    // which 4 are paid for by the position's step.
    let per_position = len64 - 4;
    let tail = |t: &'static str| if found { t } else { "" };
    let at = |start: usize, end: usize| {
        if found {
            format!("{start} {end}")
        } else {
            "nil".to_string()
        }
    };
    [
        // 1. A long set tried (and failed) at each position, then `c`.
        Hostile {
            src: format!(
                "local P = '[' .. string.rep('b', {len}) .. ']*c'
                 local S = string.rep('a', {n}) .. '{}'
                 return S:find(P)",
                tail("c")
            ),
            found: at(n + 1, n + 1),
            steps: n64 * per_position,
        },
        // 2. A long literal run compared at each position (`$` keeps
        // `find` from searching for it as plain text). Without a match,
        // the last `len` positions compare what is left of the subject.
        Hostile {
            src: format!(
                "local P = string.rep('a', {len}) .. 'b$'
                 local S = string.rep('a', {n} + {len}) .. '{}'
                 return S:find(P)",
                tail("b")
            ),
            found: at(n + 1, n + len + 1),
            steps: n64 * per_position
                + if found {
                    0
                } else {
                    len64 * (len64 - 1) / 2 - 4 * len64
                },
        },
        // 3. A set of classes (`len` bytes of `%w`) none of which matches.
        Hostile {
            src: format!(
                "local P = '[' .. string.rep('%w', {}) .. ']'
                 local S = string.rep('!', {n}) .. '{}'
                 return S:find(P)",
                len / 2,
                tail("x")
            ),
            found: at(n + 1, n + 1),
            steps: n64 * per_position,
        },
    ]
}

/// The fuel `steps` of matcher work pay at the least: one unit per 32,
/// each search step (about 4 KiB of work) rounded down.
fn least_fuel(steps: u64) -> u64 {
    steps / 32 - steps / 4096
}

/// A search pays for the pattern bytes it examines at every position:
/// at least its steps over 32 (and not much more).
#[test]
fn long_sets_and_literal_runs_pay_at_every_position() {
    for h in hostile(1_000, 5_000, false) {
        let (fuel, r) = whole(&h.src);
        assert_eq!(r, h.found, "{}", h.src);
        let least = least_fuel(h.steps);
        // Making the pattern and the subject costs a few hundred units.
        assert!(fuel >= least, "{}: paid {fuel}, expected {least}", h.src);
        assert!(
            fuel <= 2 * least + 2_000,
            "{}: paid {fuel}, expected {least}",
            h.src
        );
    }
}

/// Runs `src` under an instruction limit of `limit` units: it must stop
/// with the limit's error.
fn stops_at_the_limit(src: &str, limit: u64) {
    let mut vm = vm();
    vm.set_instruction_limit(Some(limit));
    match vm.exec(src.as_bytes(), "=limit") {
        Err(e) => {
            let msg = vm.error_to_string(&e);
            assert!(msg.contains("instruction limit exceeded"), "{src}: {msg}");
        }
        Ok(r) => {
            let r: Vec<String> = r.iter().map(|&v| vm.to_display(v)).collect();
            panic!("{src}: finished under the limit with {r:?}");
        }
    }
}

/// Starts `src` with a budget of `budget` units: it must come back to
/// the driver with the budget spent, within `overshoot` units more.
fn comes_back_within(src: &str, budget: u64, overshoot: u64) {
    let mut vm = vm();
    let f = vm.load(src.as_bytes(), "=budget").unwrap();
    match vm.start(f, &[], budget) {
        Ok(Outcome::OutOfFuel) => {}
        other => panic!("{src}: {other:?}"),
    }
    let used = vm.fuel_used();
    assert!(
        (budget..=budget + overshoot).contains(&used),
        "{src}: used {used} of {budget}"
    );
}

/// Under an instruction limit such a search stops at the limit with its
/// error (it used to finish having paid a thousand units).
#[test]
fn the_instruction_limit_stops_long_pattern_searches() {
    // 2,000 positions of 10,000 pattern steps: 625,000 units at least.
    for h in hostile(2_000, 10_000, false) {
        stops_at_the_limit(&h.src, 200_000);
    }
}

/// The tester's searches as found (which ran for minutes, paying one
/// step per position), under `--instruction-limit 1000000`, and in a
/// driven run: the first slice ends within one step of matcher work (at
/// most 4 KiB of steps and one position's attempt, here 200,000 pattern
/// steps) past its budget.
#[test]
fn the_testers_searches_stop_at_the_limit() {
    for src in [
        "local set = '[' .. string.rep('b', 100000) .. ']*c'
         local s = string.rep('a', 100000) return s:find(set)",
        "local s = string.rep('a', 200000) return s:find(string.rep('a', 100000) .. 'b$')",
        "local s = string.rep('!', 100000) return s:find('[' .. string.rep('%w', 50000) .. ']')",
        "local s = string.rep('!', 100000) return s:match('[' .. string.rep('%w', 50000) .. ']+')",
        "local s = string.rep('a', 100000)
         return s:gsub(string.rep('a', 50000) .. 'b', '')",
        "local s = string.rep('a', 100000)
         for w in s:gmatch('[' .. string.rep('%d', 50000) .. ']') do end",
    ] {
        stops_at_the_limit(src, 1_000_000);
        comes_back_within(src, 100_000, (4096 + 200_000) / 32 + 160);
    }
}

/// A repetition of a long set that matches the whole subject: each byte
/// taken is tested against the whole set, and counted as it is, so even
/// one match attempt (which cannot be suspended) stops at the limit.
#[test]
fn the_instruction_limit_stops_a_repetition_of_a_long_set() {
    for src in [
        "return ('a'):rep(100000):find('[' .. ('b'):rep(100000) .. 'a]*c')",
        "return ('a'):rep(100000):find('[^' .. ('b'):rep(100000) .. ']+b')",
        "return ('a'):rep(100000):match('[' .. ('%d'):rep(50000) .. 'a]-b')",
    ] {
        stops_at_the_limit(src, 100_000);
    }
}

/// A match that backtracks exponentially (here about 10^23 ways) ends at
/// the instruction limit too; a smaller one, without a limit, ends with
/// its answer.
#[test]
fn the_instruction_limit_stops_an_exponential_match() {
    stops_at_the_limit(
        "return string.find(('a'):rep(40), ('a*'):rep(40) .. 'b')",
        100_000,
    );
    let (fuel, r) = whole("return string.find(('a'):rep(10), ('a*'):rep(10) .. 'b')");
    assert_eq!(r, "nil");
    // 184,756 ways to split the subject, each a few steps.
    assert!(fuel > 10_000, "paid {fuel}");
}

/// In a driven run, such a search comes back to the driver every slice:
/// a slice overshoots its budget by at most one step of matcher work
/// (4 KiB of steps, plus the position attempt that crosses it, here one
/// pattern's length), and the search finds what a whole run finds.
#[test]
fn long_pattern_searches_in_slices_come_back_every_slice() {
    let (slice, len) = (5_000, 5_000);
    let k = (4096 + len as u64 + 64) / 32 + 160;
    for h in hostile(1_000, len, true) {
        let (fuel, r) = whole(&h.src);
        assert_eq!(r, h.found, "{}", h.src);
        let least = least_fuel(h.steps);
        assert!(fuel >= least, "{}: paid {fuel}, expected {least}", h.src);
        let r = slices::run(&mut vm(), &h.src, slice, usize::MAX, false);
        let start = h.found.split(' ').next().unwrap();
        assert_eq!(r.end.as_deref(), Ok(start), "{}", h.src);
        assert!(
            r.slices as u64 >= least / (slice + k),
            "{}: {} slices",
            h.src,
            r.slices
        );
        assert!(r.most <= slice + k, "{}: a slice used {}", h.src, r.most);
    }
}

/// `find` of plain text (a pattern without specials, or `plain`) with
/// long needles that almost match everywhere: the search is linear in
/// the subject, which is what it pays for, and finds what PUC Lua finds.
#[test]
fn plain_finds_of_long_needles() {
    let src = "local a = string.rep('a', 20000)
        local S = a .. 'b' .. a
        local n = string.rep('a', 10000)
        local function at(i, j) return tostring(i) .. ':' .. tostring(j) end
        local r = {at(S:find(n .. 'b')), at(S:find(n .. 'c')), at(S:find('b' .. n .. 'b')),
                   at(S:find(n .. 'b' .. n, 1, true)), at(S:find(n .. '.', 1, true)),
                   at(S:find(('ab'):rep(20), 1, true)),
                   at((S .. ('ab'):rep(20)):find(('ab'):rep(20), 1, true)),
                   at(S:find('b' .. n, 1, true)), at(S:find(a .. 'b' .. a, 1, true)),
                   at(S:find(a .. 'b' .. a .. 'a', 1, true))}
        return table.concat(r, ' ')";
    let (_, r) = whole(src);
    assert_eq!(
        r,
        "10001:20001 nil:nil nil:nil 10001:30001 nil:nil nil:nil 40002:40041 \
         20001:30001 1:40001 nil:nil"
    );
}

/// Captures are pattern steps too: 32 nested empty captures tried at every
/// position of a long subject stop at the limit (a hostile pass: they ran
/// 16 s under a limit of a million).
#[test]
fn nested_captures_pay_at_every_position() {
    for src in [
        "local s, p = ('a'):rep(1e5), ('('):rep(32) .. (')'):rep(32) .. 'b'
         while true do s:find(p) end",
        "local s, p = ('a'):rep(1e5), ('()'):rep(32) .. 'b'
         while true do s:gsub(p, '') end",
    ] {
        stops_at_the_limit(src, 1_000_000);
    }
    // One search: 100,000 attempts, each opening and closing 32 captures
    // (about 64 pattern steps past the 4 each attempt pays for).
    let (fuel, _) = whole(
        "local s, p = ('a'):rep(1e5), ('('):rep(32) .. (')'):rep(32) .. 'b'
         return s:find(p)",
    );
    assert!(fuel >= 100_000 * 60 / 32, "{fuel}");
}

/// Backtracking pays for its tries: each subject step (a lazy item's try,
/// a byte a repetition takes) weighs 8 bytes scanned, 1/4 unit. Found by
/// a hostile pass: at one byte a step, `(".-b")` over a run of `a`s ran
/// 250-500 ns per unit of fuel, instructions about 10.
#[test]
fn backtracking_pays_for_its_tries() {
    let n: u64 = 2000;
    // At each of the n + 1 positions, a try per byte to the end.
    let tries = n * (n + 1) / 2;
    let (fuel, r) = whole(&format!("return (('a'):rep({n})):find('.-b')"));
    assert_eq!(r, "nil");
    assert!(fuel >= tries / 4, "paid {fuel} for {tries} tries");
    assert!(fuel <= tries / 2, "paid {fuel} for {tries} tries");
    // A greedy repetition that backtracks pays for the bytes it takes
    // each time: `a*a*a*b` retakes the run's tails again and again.
    let (fuel, r) = whole("return (('a'):rep(200)):find('a*a*a*b')");
    assert_eq!(r, "nil");
    assert!(fuel > 200 * 200 * 200 / 6 / 4 / 2, "paid {fuel}");
}
