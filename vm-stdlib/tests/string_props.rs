//! Property tests of the string library's searches: `string.find` of a
//! literal, plain (`find(s, lit, init, true)`) or as a pattern with every
//! non-alphanumeric byte escaped by `%`, agrees with a byte search written
//! here; `gsub` with such a pattern counts the non-overlapping
//! occurrences; random patterns over the pattern alphabet never panic and
//! fail only with Lua's pattern errors. A differential test compares
//! random patterns with `lua5.4`; without `lua5.4` on the `PATH` it only
//! runs them under the VM and says that the comparison is skipped.

#[path = "support/progen.rs"]
mod progen;
mod support;

use proptest::prelude::*;
use support::{lua54, vm};
use vm_core::{Value, Vm};

/// A VM with the standard library and a handle on one `string` function.
fn vm_with(name: &str) -> (Box<Vm>, Value) {
    let mut vm = vm();
    let Value::Table(string) = vm.get_global("string") else {
        panic!("no string table")
    };
    let f = vm.raw_get_str(string, name);
    (vm, f)
}

/// The model of `string.find(s, lit, init, true)`: 1-based start and end,
/// with `init` adjusted as `posrelatI` does.
fn model_find(s: &[u8], lit: &[u8], init: i64) -> Option<(i64, i64)> {
    let len = s.len() as i64;
    let init = if init > 0 {
        init
    } else if init == 0 || init < -len {
        1
    } else {
        len + init + 1
    };
    if init > len + 1 {
        return None;
    }
    let from = (init - 1) as usize;
    (from..=s.len())
        .find(|&i| s[i..].starts_with(lit))
        .map(|i| (i as i64 + 1, (i + lit.len()) as i64))
}

/// Non-overlapping occurrences of a non-empty `lit` in `s`, left to right.
fn model_count(s: &[u8], lit: &[u8]) -> i64 {
    let (mut i, mut n) = (0, 0);
    while i + lit.len() <= s.len() {
        if s[i..].starts_with(lit) {
            n += 1;
            i += lit.len();
        } else {
            i += 1;
        }
    }
    n
}

/// `lit` as a pattern matching itself: every byte that is not a letter
/// or digit escaped with `%` (`%x` for such an `x` is the byte itself).
fn escaped(lit: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    for &b in lit {
        if !b.is_ascii_alphanumeric() {
            p.push(b'%');
        }
        p.push(b);
    }
    p
}

/// Bytes that often matter to patterns, plus a few ordinary ones, so
/// that random strings contain specials and repeat themselves.
const ALPHABET: &[u8] = b"ab%^$*+?.()[]-0\x00\xff";

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..max)
}

/// A subject and a literal, the literal often taken from the subject.
fn subject_and_literal() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        bytes(40),
        bytes(4),
        any::<prop::sample::Index>(),
        0usize..5,
        any::<bool>(),
    )
        .prop_map(|(s, other, at, len, inside)| {
            if inside && !s.is_empty() {
                let start = at.index(s.len());
                let end = (start + len).min(s.len());
                let lit = s[start..end].to_vec();
                (s, lit)
            } else {
                (s, other)
            }
        })
}

/// The two results of a successful `find`, or `None` for its fail.
fn positions(r: &[Value]) -> Option<(i64, i64)> {
    match r {
        [Value::Int(a), Value::Int(b), ..] => Some((*a, *b)),
        [Value::Nil] => None,
        other => panic!("unexpected find results {other:?}"),
    }
}

/// Pieces that random patterns are made of: items, classes, sets,
/// quantifiers, anchors, captures, back-references, `%b`, `%f`, and
/// fragments of all of them (to produce malformed patterns too).
const PIECES: &[&str] = &[
    "a", "b", ".", "%a", "%d", "%W", "%%", "%", "[ab]", "[^a]", "[a-", "[%]", "[]]", "*", "+", "-",
    "?", "^", "$", "(", ")", "()", "%1", "%2", "%0", "%bab", "%b", "%f[a]", "%f", "%z", "[%a-]",
];

fn pattern() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(PIECES), 0..8)
        .prop_map(|ps| ps.concat().into_bytes())
}

/// The messages a pattern may fail with (after the position prefix).
const PATTERN_ERRORS: &[&str] = &[
    "malformed pattern (ends with '%')",
    "malformed pattern (missing ']')",
    "malformed pattern (missing arguments to '%b')",
    "missing '[' after '%f' in pattern",
    "invalid capture index %",
    "invalid pattern capture",
    "unfinished capture",
    "too many captures",
    "pattern too complex",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(256), ..ProptestConfig::default() })]

    #[test]
    fn plain_find_is_a_byte_search((s, lit) in subject_and_literal(), init in -45i64..45) {
        let (mut vm, find) = vm_with("find");
        let (sv, lv) = (vm.new_str(&s), vm.new_str(&lit));
        let r = vm.call(find, &[sv, lv, Value::Int(init), Value::Bool(true)]).unwrap();
        prop_assert_eq!(positions(&r), model_find(&s, &lit, init));
    }

    #[test]
    fn escaped_pattern_finds_the_literal((s, lit) in subject_and_literal(), init in -45i64..45) {
        let (mut vm, find) = vm_with("find");
        let (sv, pv) = (vm.new_str(&s), vm.new_str(&escaped(&lit)));
        let r = vm.call(find, &[sv, pv, Value::Int(init)]).unwrap();
        prop_assert_eq!(positions(&r), model_find(&s, &lit, init));
    }

    #[test]
    fn gsub_counts_occurrences((s, lit) in subject_and_literal()) {
        prop_assume!(!lit.is_empty());
        let (mut vm, gsub) = vm_with("gsub");
        let (sv, pv, rv) = (vm.new_str(&s), vm.new_str(&escaped(&lit)), vm.new_str(b"%0"));
        let r = vm.call(gsub, &[sv, pv, rv]).unwrap();
        prop_assert_eq!(vm.str_bytes(r[0]), Some(&s[..]));
        prop_assert!(matches!(r[1], Value::Int(n) if n == model_count(&s, &lit)));
    }

    #[test]
    fn random_patterns_fail_only_with_pattern_errors(s in bytes(12), p in pattern()) {
        let (mut vm, gsub) = vm_with("gsub");
        let (sv, pv, rv) = (vm.new_str(&s), vm.new_str(&p), vm.new_str(b"<%0>"));
        if let Err(e) = vm.call(gsub, &[sv, pv, rv]) {
            let msg = vm.error_to_string(&e);
            prop_assert!(
                PATTERN_ERRORS.iter().any(|m| msg.starts_with(m)),
                "unexpected error {:?} for pattern {:?}", msg, String::from_utf8_lossy(&p)
            );
        }
    }
}

/// A Lua string literal for any bytes.
fn lua_literal(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        s += &format!("\\{c:03}");
    }
    s + "\""
}

/// Random patterns against random subjects through `find`, `match`,
/// `gmatch` and `gsub` give what `lua5.4` gives, errors included.
#[test]
fn random_patterns_agree_with_lua() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    // Only the base and string libraries: the results go to `out`.
    let mut script = String::from(
        "local out = ''\n\
         local function show(...) \
         for i = 1, select('#', ...) do out = out .. ' ' .. tostring((select(i, ...))) end \
         out = out .. '\\n' end\n\
         local function all(it) local t = '' \
         for a, b in it do t = t .. ',' .. tostring(a) .. '/' .. tostring(b) end return t end\n",
    );
    for _ in 0..progen::cases(2000) {
        let s = bytes(12).new_tree(&mut runner).unwrap().current();
        let p = pattern().new_tree(&mut runner).unwrap().current();
        let (s, p) = (lua_literal(&s), lua_literal(&p));
        script += &format!(
            "show(pcall(string.find, {s}, {p}))\n\
             show(pcall(string.match, {s}, {p}, 2))\n\
             show(pcall(string.gsub, {s}, {p}, '<%0>'))\n\
             show(pcall(function() return all(string.gmatch({s}, {p})) end))\n"
        );
    }
    let (mut vm, _) = vm_with("find");
    let ours = vm.exec(format!("{script}return out").as_bytes(), "@patterns.lua");
    let ours = vm.str_bytes(ours.unwrap()[0]).unwrap().to_vec();
    if !lua54::lua_available("random_patterns_agree_with_lua's comparison") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("string_props_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("patterns.lua"), format!("{script}io.write(out)")).unwrap();
    let lua = std::process::Command::new(lua54::LUA)
        .arg("patterns.lua")
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
    let theirs = lua.stdout;
    let lines = |b: &[u8]| -> Vec<String> {
        b.split(|&c| c == b'\n')
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    };
    let (ours, theirs) = (lines(&ours), lines(&theirs));
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "line {}", i + 1);
    }
    assert_eq!(ours.len(), theirs.len());
}
