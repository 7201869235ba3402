//! Differential test of the parser against PUC Lua 5.4 (`lparser.c`,
//! `llex.c`): the same sources go through `vm_core::tools::parse` and
//! through `load` in a `lua5.4` process, and every syntax error message must
//! be identical.
//!
//! It needs `lua5.4` on the `PATH` (`.ci/run` installs it) and is skipped,
//! with a message, without it. The cases
//! are a corpus of snippets plus deterministic byte mutations of them
//! (`VM_TEST_SCALE` multiplies their number).

mod support;

use support::{lua54, scale};
use vm_core::tools::parse;

/// The body of a Lua function of `src`: `OK` or the syntax error.
const LUA_EACH: &str = r#"
  local f, err = load(src, "=src")
  return f and "OK" or err
"#;

/// Snippets covering every construct, plus inputs that fail in the lexer.
const CORPUS: &[&str] = &[
    "local a, b <const>, c <close> = 1, 2.5, 'x'\nreturn a",
    "x = 0x10 + 1e3 - .5 * 3 // 2 % 1 ^ -2 .. 'a' .. \"b\"",
    "if a then b() elseif c then d = 1 else return end",
    "while x < 10 do x = x + 1 if x == 5 then break end end",
    "repeat local y = f(x) until y >= 3 or not z",
    "for i = 1, 10, 2 do t[i] = i end for k, v in pairs(t) do print(k, v) end",
    "function a.b.c:m(x, ...) return self, ... end",
    "local function f(a, b) return a and b or nil end",
    "goto done ::done:: do ::inner:: end",
    "t = {1, 2; x = 3, ['y'] = 4, [5] = {}, f(), ...}",
    "s = [[\nlong\nstring]] .. [==[ with ]] inside ]==]",
    "--[[ long\ncomment ]] x = 1 -- short comment\ny = 2",
    "a.b[c]:d(e)(f){g}'h'\"i\"[[j]]",
    "x = ~a | b & c ~ d << 1 >> 2",
    "x = #t == 3 ~= false <= true > nil",
    "print(\"esc \\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\'\\z   \n  \\x41\\65\\u{48}\\u{7FFFFFFF}\")",
    "local s = 'unfinished",
    "x = \"bad \\q escape\"",
    "x = 3x + 0x + 1e",
    "f(\n  a,\n  b\n)",
    "local t <close> = setmetatable({}, mt)",
    "x = function(...) local a, b = ... return {...} end",
    "a, b.c, d[1] = 1, 2, 3",
    "x = - - - 1 x = not not true",
    "x = 2^-3^2 y = -x^2",
    "::a:: ::b:: ; ; goto a",
    "return f(x), (g(y))",
    "local a <const> = 10; local b = a * 2",
    "x = '\\300' y = '\\xZZ' z = '\\u{110000000}'",
    "x = [==[ unfinished",
    "function f() return end function g() end",
];

/// Byte strings that mutations insert: punctuation, keywords and the
/// starts of longer tokens.
const INSERTS: &[&[u8]] = &[
    b"(",
    b")",
    b"{",
    b"}",
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"[=[",
    b"=",
    b"==",
    b",",
    b";",
    b":",
    b"::",
    b".",
    b"..",
    b"...",
    b"'",
    b"\"",
    b"\\",
    b"\n",
    b"\r",
    b" ",
    b"--",
    b"-",
    b"~",
    b"end",
    b"do",
    b"then",
    b"local",
    b"function",
    b"return",
    b"if",
    b"for",
    b"in",
    b"goto",
    b"break",
    b"<close>",
    b"<const>",
    b"<",
    b">",
    b"0x",
    b"1e",
    b"9",
    b"x",
    b"\\z",
    b"\\u{",
    b"\\x",
    b"\0",
    b"\x80",
    b"@",
    b"$",
    b"#",
];

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut out = src.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if at < out.len() => {
                out.remove(at);
            }
            1 if at < out.len() => out[at] = rng.next() as u8,
            _ => {
                let insert = INSERTS[rng.below(INSERTS.len())];
                out.splice(at..at, insert.iter().copied());
            }
        }
    }
    out
}

/// A random sequence of tokens (and token starts), which reaches parser
/// states that byte mutations of valid code rarely do.
fn token_soup(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(12) {
        out.extend_from_slice(INSERTS[rng.below(INSERTS.len())]);
        if rng.below(2) == 0 {
            out.push(b' ');
        }
    }
    out
}

/// Errors PUC Lua reports from its code generator, which our parser leaves
/// to `compiler::code`.
fn is_codegen_error(msg: &str) -> bool {
    [
        "break outside loop",
        "no visible label",
        "jumps into the scope",
        "already defined",
        "attempt to assign to const",
        "too many",
        "needs too many registers",
        "control structure too long",
    ]
    .iter()
    .any(|pattern| msg.contains(pattern))
}

#[test]
fn syntax_errors_match_lua54() {
    if !lua54::lua_available("syntax_errors_match_lua54") {
        return;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases: Vec<Vec<u8>> = CORPUS.iter().map(|s| s.as_bytes().to_vec()).collect();
    for _ in 0..scale::cases(2000) {
        let base = CORPUS[rng.below(CORPUS.len())].as_bytes();
        cases.push(mutate(&mut rng, base));
    }
    for _ in 0..scale::cases(1000) {
        cases.push(token_soup(&mut rng));
    }
    let expected = lua54::each_source(LUA_EACH, &cases);
    let mut mismatches = Vec::new();
    let errors = expected.iter().filter(|r| *r != "OK").count();
    println!("{} cases, {errors} syntax errors in lua5.4", cases.len());
    for (case, lua) in cases.iter().zip(&expected) {
        let ours = match parse(case, "src") {
            Ok(_) => "OK".to_owned(),
            Err(e) => e.0,
        };
        // A first byte ESC marks a precompiled chunk, which `load` handles
        // before any parsing.
        let binary = case.first() == Some(&0x1b);
        if ours != *lua && !is_codegen_error(lua) && !binary {
            mismatches.push(format!(
                "source: {:?}\n  lua5.4: {lua}\n  ours:   {ours}",
                String::from_utf8_lossy(case)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
