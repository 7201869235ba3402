//! Tests from source text through the parser: line information as the
//! parser reports it, and error messages exactly as `lua5.4` prints them.

use super::*;
use crate::compiler::parse;

fn compile_src(src: &str) -> Result<Proto, String> {
    let chunk = parse(src.as_bytes(), "test").map_err(|e| e.0)?;
    compile(&chunk).map(|(p, _)| p).map_err(|e| e.0)
}

#[test]
fn line_information_follows_luac() {
    let src = "local t = {}
for i = 1, 3 do
  t[i] = function()
    return i
  end
end
local s = 0
for _, f in ipairs(t) do
  s = s + f()
end
return s
";
    let proto = compile_src(src).expect("compiles");
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         NEWTABLE 0 0 0
         LOADI 1 1
         LOADI 2 3
         LOADI 3 1
         FORPREP 1 4
         CLOSURE 5 0
         SETTABLE 0 4 5 0
         CLOSE 4
         FORLOOP 1 4
         LOADI 1 0
         GETTABUP 2 0 0
         MOVE 3 0
         CALL 2 2 5
         TFORPREP 2 3
         MOVE 8 7
         CALL 8 1 2
         ADD 1 1 8
         TFORCALL 2 2
         TFORLOOP 2 5
         CLOSE 2
         RETURN 1 2
         RETURN 2 1",
    );
    // As luac, the `CLOSE` leaving the second loop on the line of its
    // `end` (10).
    assert_eq!(
        proto.lines,
        [1, 1, 2, 2, 2, 2, 5, 5, 5, 2, 7, 8, 8, 8, 8, 9, 9, 9, 8, 8, 10, 11, 11]
    );
    let f = &proto.protos[0];
    assert_eq!((f.line_defined, f.last_line_defined), (3, 5));
    assert_code(&listing(f), "GETUPVAL 0 0\nRETURN1 0\nRETURN0");
    assert_eq!(f.lines, [4, 4, 5]);
}

#[test]
fn errors_match_lua() {
    // Each case: source, message printed by `lua5.4` (chunk name `test`).
    let cases = [
        (
            "goto x",
            "test:1: no visible label 'x' for <goto> at line 1",
        ),
        (
            "do\n goto x\nend\n\nlocal y",
            "test:5: no visible label 'x' for <goto> at line 2",
        ),
        (
            "::a::\n::a::\nx=1",
            "test:3: label 'a' already defined on line 2",
        ),
        (
            "goto l1\nlocal aa\n::l1::\nprint(3)",
            "test:4: <goto l1> at line 1 jumps into the scope of local 'aa'",
        ),
        ("break", "test:1: break outside loop at line 1"),
        (
            "local x <const> = 1\nx = 2",
            "test:2: attempt to assign to const variable 'x'",
        ),
        (
            "local a <close> = {}\nfunction g() a = 1 end",
            "test:2: attempt to assign to const variable 'a'",
        ),
        (
            "local x <close>, y <close> = 1",
            "test:1: multiple to-be-closed variables in local list",
        ),
        (
            "::a:: ::b:: ::a::",
            "test:1: label 'a' already defined on line 1",
        ),
        (
            "repeat goto x; local a ::x:: until a",
            "test:1: <goto x> at line 1 jumps into the scope of local 'a'",
        ),
        (
            "local f <const> = nil\nfunction f() end",
            "test:2: attempt to assign to const variable 'f'",
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(compile_src(src).err().as_deref(), Some(expected), "{src}");
    }
}

#[test]
fn valid_gotos() {
    // A `continue` label at the end of a loop body, a backward goto that
    // closes, and nested loops left by `goto`.
    let src = "
for i = 1, 3 do
  if i == 2 then goto continue end
  local x = i
  f(function() return x end)
  ::continue::
end
do
  local n = 0
  ::again::
  n = n + 1
  local y = n
  g(function() return y end)
  if n < 3 then goto again end
end
for i = 1, 2 do
  for j = 1, 2 do
    if j == i then goto out end
  end
end
::out::
";
    let proto = compile_src(src).expect("compiles");
    // luac5.4's listing without its two MMBINI.
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         LOADI 0 1
         LOADI 1 3
         LOADI 2 1
         FORPREP 0 9
         EQI 3 2 0 0
         JMP 1
         JMP 4
         MOVE 4 3
         GETTABUP 5 0 0
         CLOSURE 6 0
         CALL 5 2 1
         CLOSE 4
         FORLOOP 0 9
         LOADI 0 0
         ADDI 0 0 1
         MOVE 1 0
         GETTABUP 2 0 1
         CLOSURE 3 1
         CALL 2 2 1
         LTI 0 3 0 0
         JMP 2
         CLOSE 1
         JMP -9
         CLOSE 0
         LOADI 0 1
         LOADI 1 2
         LOADI 2 1
         FORPREP 0 9
         LOADI 4 1
         LOADI 5 2
         LOADI 6 1
         FORPREP 4 4
         EQ 7 3 0
         JMP 1
         JMP 2
         FORLOOP 4 4
         FORLOOP 0 9
         RETURN 0 1",
    );
}
