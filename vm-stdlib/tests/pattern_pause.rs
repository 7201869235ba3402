//! A single match attempt is paused and resumed exactly
//! (`string/pattern.rs`, "Pausing an attempt"): searches whose one
//! attempt backtracks for millions of steps come back to the driver every
//! slice, within one step of matcher work past the budget, and end with
//! what an unsliced run gives; random patterns cut at every step give
//! what an unsliced run (and `lua5.4`) gives. `VM_TEST_SCALE` multiplies
//! the number of random cases (24 by default). Without `lua5.4` on the
//! `PATH` the comparison with it is skipped, with a message.

#[path = "support/progen.rs"]
mod progen;
mod support;

use proptest::prelude::*;
use support::{lua54, slices, vm};

/// Runs `src` whole, then in slices of `slice` units (with a full
/// collection between two when `collect`): both give the same result,
/// which is returned with the sliced run.
fn sliced_like_whole(src: &str, slice: u64, collect: bool) -> (slices::Sliced, slices::Sliced) {
    let whole = slices::run(&mut vm(), src, u64::MAX / 2, 1, false);
    let sliced = slices::run(&mut vm(), src, slice, usize::MAX, collect);
    assert_eq!(sliced.end, whole.end, "{src}");
    (whole, sliced)
}

/// Searches whose first attempt (at position 1) alone backtracks through
/// tens of thousands of steps: `find`, `match`, `gmatch`, `gsub` (with a
/// string and with a function), through lazy, greedy and optional items,
/// captures, back-references, `%b`, `%f`, anchors and long sets. Each
/// returns its results as one string.
const PATHOLOGICAL: &[&str] = &[
    // Lazy, greedy, optional and `+` items, failing or matching late.
    "return tostring(string.find(('a'):rep(40), ('a-'):rep(4) .. 'b'))",
    "return tostring(string.find(('a'):rep(40), ('a+'):rep(4) .. 'c'))",
    "return table.concat({string.find(('a'):rep(16), ('a?'):rep(16) .. ('a'):rep(16))}, ',')",
    // Captures, matched late; back-references; an anchor at each end.
    "return table.concat({string.match(('a'):rep(14), ('(a?)'):rep(14) .. ('a'):rep(14))}, ',')",
    "return table.concat({string.find(('a'):rep(28) .. 'baaac', ('(a-)'):rep(4) .. 'c')}, ',')",
    "return table.concat({string.match(('a'):rep(48), '^(a*)(a*)(a*)(a*)%1%2%3%4$')}, ',')",
    "return table.concat({string.match(('a'):rep(40) .. 'baac', '(a-)(a-)%2%1%1c')}, ',')",
    "return tostring(string.match(('a'):rep(200), '^(a-)(a-)%2%1%1%2b'))",
    // `%b` and `%f` between lazy captures.
    "return tostring(string.find(('()'):rep(40) .. '(', '(.-)%b()(.-)%b()(.-)%b()z'))",
    "return tostring(string.find((' ab'):rep(40), '%f[%a](.-)%f[%A](.-)%f[%a](.-)%f[%A]x'))",
    "return tostring(string.find(('a'):rep(36), '^(a-)(a-)(a-)(a-)%f[b]'))",
    // A repetition of a long set: each byte tested against 200.
    "return tostring(string.find(('a'):rep(2000), '^[' .. ('b'):rep(200) .. 'a]*c'))",
    // An error found late.
    "return table.concat({string.find(('a'):rep(28) .. 'baaabc', ('(a-)'):rep(4) .. 'bc%5')}, ',')",
    // `gsub` with a string and with a function, `gmatch` in a loop and
    // in a coroutine that yields each match.
    "local s, n = (('a'):rep(40) .. 'b'):gsub(('(a-)'):rep(4) .. 'c', '%3%2%1')
     return s .. n",
    "local s, n = (('a'):rep(36) .. 'b' .. ('a'):rep(36)):gsub('(a-)(a-)(a-)%3%2%1b',
       function(x, y, z) return '<' .. #x .. #y .. #z .. '>' end)
     return s .. n",
    "local t = {}
     for a, b in (('a'):rep(22) .. 'baaac'):rep(2):gmatch('(a-)(a-)a-a-c') do
       t[#t + 1] = #a .. ':' .. #b
     end
     return table.concat(t, ',')",
    "local co = coroutine.wrap(function()
       for a in (('a'):rep(30) .. 'bc'):gmatch('(a-)a-a-a-c') do coroutine.yield(#a) end
     end)
     return tostring(co())",
];

/// Every slice of 1,000 units ends within one step of matcher work
/// (4 KiB of steps, 128 units) and the little the matcher does between
/// two pause points past its budget, though each search is one long
/// attempt: it used to run whole in the slice it started in.
#[test]
fn pathological_attempts_come_back_every_slice() {
    let slice = 1_000;
    // One step of matcher work, the steps to the next pause point (here
    // a few hundred bytes at most), and the Lua around the search.
    let k = 4096 / 32 + 40;
    for (i, src) in PATHOLOGICAL.iter().enumerate() {
        let (whole, sliced) = sliced_like_whole(src, slice, i % 3 == 0);
        assert!(whole.most > 3 * slice, "{src}: only {} units", whole.most);
        assert!(
            sliced.slices as u64 >= whole.most / (slice + k),
            "{src}: {} slices for {} units",
            sliced.slices,
            whole.most
        );
        assert!(
            sliced.most <= slice + k,
            "{src}: a slice used {} of {slice}",
            sliced.most
        );
    }
}

/// In slices of one unit each step of every search is a slice of its
/// own: attempts are cut after every step.
#[test]
fn pathological_attempts_cut_at_every_step() {
    for src in PATHOLOGICAL {
        let (whole, sliced) = sliced_like_whole(src, 1, false);
        assert!(sliced.slices as u64 >= whole.most / 200, "{src}");
    }
}

/// Pieces of random patterns that backtrack a lot over subjects of `a`,
/// `b` and brackets (the repetitions of `a` several times, to be drawn
/// more often): repetitions of single bytes, classes and sets, captures,
/// back-references, `%b`, `%f`, anchors, a long set, and a few malformed
/// fragments.
const PIECES: &[&str] = &[
    "a-",
    "a-",
    "a-",
    "a*",
    "a*",
    "a?",
    "a+",
    ".-",
    ".*",
    "[ab]-",
    "[^b]*",
    "(a-)",
    "(a-)",
    "(a*)",
    "(.-)",
    "(a?)",
    "()",
    "%1",
    "%2",
    "%b()",
    "%f[b]",
    "%f[%a]",
    "b",
    "(",
    ")",
    "^",
    "$",
    "[abcdefghijklmnopqrstuvwxyz]-",
];

/// A random case: a subject and a pattern, as Lua literals, the pattern
/// ending with something that rarely matches so that attempts backtrack
/// through all their ways.
fn case() -> impl Strategy<Value = (String, String)> {
    let unit = prop::collection::vec(prop::sample::select(&b"aaaaab()"[..]), 1..5);
    let pieces = prop::collection::vec(prop::sample::select(PIECES), 3..9);
    let tail = prop::sample::select(&["b", "c", "$", "%1", "()b", ")"][..]);
    (unit, 6usize..30, pieces, tail).prop_map(|(unit, times, pieces, tail)| {
        let subject = String::from_utf8(unit.repeat(times)).unwrap();
        (
            format!("{subject:?}"),
            format!("{:?}", pieces.concat() + tail),
        )
    })
}

/// A chunk showing what `find`, `match`, `gmatch` and `gsub` give for
/// each case (errors included) as its one result, under `out` (a Lua
/// expression of what to do with the text: `return` it, or write it).
fn script(cases: &[(String, String)], out: &str) -> String {
    let mut script = String::from(
        "local out = {}
         local function show(...)
           local t = table.pack(...)
           for i = 1, t.n do t[i] = tostring(t[i]) end
           out[#out + 1] = table.concat(t, ' ', 1, t.n)
         end
         local function all(s, p)
           local t = {}
           for a, b in string.gmatch(s, p) do t[#t + 1] = tostring(a) .. '/' .. tostring(b) end
           return table.concat(t, ',')
         end\n",
    );
    for (s, p) in cases {
        script += &format!(
            "show(pcall(string.find, {s}, {p}))
             show(pcall(string.match, {s}, {p}, 2))
             show(pcall(string.gsub, {s}, {p}, '<%0>'))
             show(pcall(all, {s}, {p}))\n"
        );
    }
    script + out + "(table.concat(out, '\\n'))"
}

/// Cases whose unsliced run stays within a budget (random patterns can
/// backtrack for longer than a test may wait): kept, with the output.
fn bounded(cases: Vec<(String, String)>) -> (Vec<(String, String)>, String) {
    let mut kept = vec![];
    for c in cases {
        let r = slices::run(
            &mut vm(),
            &script(std::slice::from_ref(&c), "return"),
            2_000_000,
            1,
            false,
        );
        if r.end.is_ok() {
            kept.push(c);
        }
    }
    let whole = slices::run(&mut vm(), &script(&kept, "return"), u64::MAX / 2, 1, false);
    (kept, whole.end.expect("bounded cases run"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(24), ..ProptestConfig::default() })]

    /// Random backtracking searches cut after every step (slices of one
    /// unit, with collections between some of them) give what an
    /// unsliced run gives, captures and errors included.
    #[test]
    fn random_searches_cut_anywhere_agree(cases in prop::collection::vec(case(), 4)) {
        let (cases, whole) = bounded(cases);
        let src = script(&cases, "return");
        for (slice, collect) in [(1, false), (37, true)] {
            let sliced = slices::run(&mut vm(), &src, slice, usize::MAX, collect);
            prop_assert_eq!(sliced.end.as_deref(), Ok(&whole[..]));
        }
    }
}

/// Random backtracking searches, cut after every step, give what
/// `lua5.4` gives.
#[test]
fn random_searches_cut_anywhere_agree_with_lua() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let generated = (0..progen::cases(40))
        .map(|_| case().new_tree(&mut runner).unwrap().current())
        .collect();
    let (cases, whole) = bounded(generated);
    let sliced = slices::run(&mut vm(), &script(&cases, "return"), 1, usize::MAX, false);
    assert_eq!(sliced.end.as_deref(), Ok(&whole[..]));
    if !lua54::lua_available("random_searches_cut_anywhere_agree_with_lua's comparison") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("pattern_pause_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Named as `slices::run` names its chunk, for the same messages.
    std::fs::write(dir.join("sliced"), script(&cases, "io.write")).unwrap();
    let lua = std::process::Command::new(lua54::LUA)
        .arg("sliced")
        .current_dir(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let lua = lua.expect("lua5.4 starts");
    assert!(
        lua.status.success(),
        "lua5.4 failed ({}): {}",
        lua.status,
        String::from_utf8_lossy(&lua.stderr)
    );
    let theirs = String::from_utf8_lossy(&lua.stdout).into_owned();
    for (i, (a, b)) in whole.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(a, b, "line {} (case {})", i + 1, i / 4);
    }
    assert_eq!(whole.lines().count(), theirs.lines().count());
}
