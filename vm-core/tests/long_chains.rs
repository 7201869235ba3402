//! Chains against nesting, through `Vm::load` and `Vm::call`: chains of
//! binary operators and of suffixes (`x + x + ...`, `t.x[1]:m()'s'{}...`)
//! have no length limit and do not deepen the Rust stack, while real
//! nesting (parentheses, blocks, unary operators, `..`, `^`, ...) stops
//! at about 200 levels with PUC Lua's "C stack overflow".
//!
//! The differential test needs `lua5.4` on the `PATH` (`.ci/run` installs
//! it), as `parser_lua_diff.rs` does, and is skipped, with a message,
//! without it.

mod support;

use support::lua54;
use vm_core::Vm;

/// Sets up the values that the chains go through: `t.x`, `t[1]`, `t:m()`,
/// `t.f'a'` and `t.f{}` are `t` again, `f()` is `f`, `t.n` is 1.
const PRELUDE: &str = "local x, y, t = 1, false, {n = 1} \
    t.x = t t[1] = t function t:m() return self end function t.f() return t end \
    local function f() return f end ";

/// `head`, then `link` `n` times, then `tail`.
fn chain(head: &str, link: &str, n: usize, tail: &str) -> String {
    format!("{PRELUDE}{head}{}{tail}", link.repeat(n))
}

/// Loads and runs `src`: "OK" and its results, separated by tabs; the
/// first line of a load error; or "error: " and a runtime error.
fn run_ours(src: &str) -> String {
    let mut vm = Vm::new();
    let f = match vm.load(src.as_bytes(), "=src") {
        Ok(f) => f,
        Err(e) => {
            let msg = vm.error_to_string(&e);
            return msg.lines().next().unwrap_or_default().to_owned();
        }
    };
    match vm.call(f, &[]) {
        Ok(results) => {
            let shown: Vec<String> = results.iter().map(|&v| vm.to_display(v)).collect();
            format!("OK\t{}", shown.join("\t"))
        }
        Err(e) => format!("error: {}", vm.error_to_string(&e)),
    }
}

#[test]
fn chains_of_100_000_links_run_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let n = 100_000;
            let cases = [
                (chain("return x", " + x", n, ""), format!("OK\t{}", n + 1)),
                (chain("return x", " and x", n, ""), "OK\t1".to_owned()),
                (chain("return y", " or y", n, " or 5"), "OK\t5".to_owned()),
                // Every kind of suffix, 100,000 in all.
                (
                    chain("return t", ".x[1]:m().f'a'.f{}", n / 7, ".n"),
                    "OK\t1".to_owned(),
                ),
                (chain("return f", "()", n, " == f"), "OK\ttrue".to_owned()),
                (chain("t", ".x", n, ".n = 2 return t.n"), "OK\t2".to_owned()),
                // Binary operators on chains of suffixes, with a
                // comparison and `and`/`or` in parentheses: each link
                // adds 1.
                (
                    chain(
                        "return t.n",
                        " + t.x[1]:m().n * t.f'a'.f{}.n - t[1].n // 1 + (t.n == x and 1 or 0)",
                        n / 4,
                        "",
                    ),
                    format!("OK\t{}", n / 4 + 1),
                ),
            ];
            for (src, expected) in cases {
                assert_eq!(
                    run_ours(&src),
                    expected,
                    "{}...",
                    &src[PRELUDE.len()..][..60]
                );
            }
        })
        .expect("spawn");
    handle.join().expect("no stack overflow");
}

/// The body of a Lua function of `src` giving `run_ours`'s result.
const LUA_EACH: &str = r#"
  local f, err = load(src, "=src")
  if not f then return (err:match("[^\n]*")) end
  local r = table.pack(pcall(f))
  if not r[1] then return "error: " .. tostring(r[2]) end
  r[1] = "OK"
  for i = 2, r.n do r[i] = tostring(r[i]) end
  return table.concat(r, "\t", 1, r.n)
"#;

/// Chains, as (head, link, tail) around the prelude's values.
const CHAINS: &[(&str, &str, &str)] = &[
    ("return x", " + x", ""),
    ("return x", " - x * x // x", ""),
    ("return x", " * x + x", ""),
    ("return (x)", " + (x)", ""),
    ("return x", " | x ~ x & x << x >> x", ""),
    ("return x", " and x", ""),
    ("return y", " or y", ""),
    ("return x", " or y", ""),
    ("return y", " and x or y", ""),
    ("return x", " == x", ""),
    ("return x", " ~= x", ""),
    ("return x < x", " and x < x", ""),
    ("return x", " < 2 == true and x or y", ""),
    ("return x", " .. x == x", ""),
    ("return x", " + -x", ""),
    ("return t", ".x", ".n"),
    ("return t", "[1]", ".n"),
    ("return t", "[x]", ".n"),
    ("return t", ":m()", ".n"),
    ("return t", ".f'a'", ".n"),
    ("return t", ".f{}", ".n"),
    ("return f", "()", " == f"),
    ("return f", "(x, y)", " == f"),
    ("t", ".x", ".v = 7 return t.v"),
    ("t", "[1]", "[2] = 7 return t[2]"),
    (
        "return t.n",
        " + t.x[1]:m().n * t.f'a'.f{}.n - t[1].n // 1",
        "",
    ),
    ("return t.x.n", " == t[1]:m().n and t.f().n or t.n", ""),
];

/// Nested constructs, as (head, open, core, close, tail).
const NESTINGS: &[(&str, &str, &str, &str, &str)] = &[
    ("return ", "(", "x", ")", ""),
    ("return ", "- ", "x", "", ""),
    ("return ", "not ", "x", "", ""),
    ("return ", "~ ", "x", "", ""),
    ("return ", "x ^ ", "x", "", ""),
    ("return ", "x .. ", "x", "", ""),
    ("return #", "{", "", "}", ""),
    ("return ", "f(", "", ")", " == f"),
    ("return ", "t.x[", "1", "]", " == nil"),
    ("local v ", "do ", "v = 1", " end", " return v"),
    ("local v ", "if x then ", "v = 1", " end", " return v"),
    (
        "local v ",
        "while x do ",
        "v = 1",
        " break end",
        " return v",
    ),
    ("local v ", "repeat ", "v = 1", " until x", " return v"),
];

#[test]
fn chains_and_nesting_match_lua54() {
    if !lua54::lua_available("chains_and_nesting_match_lua54") {
        return;
    }
    let mut cases = Vec::new();
    for &(head, link, tail) in CHAINS {
        for n in [1, 200, 2000] {
            cases.push(chain(head, link, n, tail));
        }
        // Deep inside parentheses too.
        let inner = format!("{}{}", head.trim_start_matches("return "), link.repeat(300));
        if head.starts_with("return ") && tail.is_empty() {
            let nested = format!("return {}{inner}{}", "(".repeat(100), ")".repeat(100));
            cases.push(format!("{PRELUDE}{nested}"));
        }
    }
    for &(head, open, core, close, tail) in NESTINGS {
        // PUC Lua stops at about 195 levels, this VM at about 198: far
        // from the limit, the two agree.
        for depth in [1, 150, 300] {
            let nested = format!("{}{core}{}", open.repeat(depth), close.repeat(depth));
            cases.push(format!("{PRELUDE}{head}{nested}{tail}"));
        }
    }
    let expected = lua54::each_source(LUA_EACH, &cases);
    let overflows = expected.iter().filter(|r| *r == "C stack overflow").count();
    assert_eq!(overflows, NESTINGS.len(), "only nesting overflows");
    let mut mismatches = Vec::new();
    for (case, lua) in cases.iter().zip(&expected) {
        let ours = run_ours(case);
        if ours != *lua {
            let src = &case[PRELUDE.len()..];
            mismatches.push(format!(
                "source: {}...\n  lua5.4: {lua}\n  ours:   {ours}",
                &src[..src.len().min(80)]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
