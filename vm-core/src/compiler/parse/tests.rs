//! Unit tests of the parser (`parse.rs`): precedence and expression
//! shapes, statements, line numbers, syntax errors worded as Lua words
//! them, and nesting limits (deep nesting on a small stack included).

use super::*;
use crate::compiler::parse;

fn parse_ok(src: &str) -> Chunk {
    parse(src.as_bytes(), "src").unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn parse_err(src: &str) -> String {
    match parse(src.as_bytes(), "src") {
        Ok(chunk) => panic!("{src:?} parsed: {chunk:?}"),
        Err(e) => e.0,
    }
}

/// The expression `src`, parsed as `return src`.
fn expr(src: &str) -> Expr {
    let chunk = parse_ok(&format!("return {src}"));
    let mut exprs = chunk.block.ret.expect("a return").exprs;
    assert_eq!(exprs.len(), 1, "{src}");
    exprs.remove(0)
}

/// The statements of `src`.
fn stats(src: &str) -> Vec<StatKind> {
    parse_ok(src)
        .block
        .stats
        .into_iter()
        .map(|s| s.kind)
        .collect()
}

/// A compact prefix notation of an expression, for shape assertions.
fn sexp(e: &Expr) -> String {
    let list = |items: &[Expr]| {
        items
            .iter()
            .map(|e| format!(" {}", sexp(e)))
            .collect::<String>()
    };
    match &e.kind {
        ExprKind::Nil => "nil".into(),
        ExprKind::True => "true".into(),
        ExprKind::False => "false".into(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => format!("{f:?}"),
        ExprKind::Str(s) => format!("'{}'", String::from_utf8_lossy(s)),
        ExprKind::Vararg => "...".into(),
        ExprKind::Function(f) => {
            let dots = if f.is_vararg { " ..." } else { "" };
            format!(
                "(fn{}{dots})",
                f.params.iter().map(|p| format!(" {p}")).collect::<String>()
            )
        }
        ExprKind::Table(fields, _) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| match f {
                    Field::Positional(v) => sexp(v),
                    Field::Named(n, v) => format!("{n}={}", sexp(v)),
                    Field::Keyed(k, v) => format!("[{}]={}", sexp(k), sexp(v)),
                })
                .collect();
            format!("{{{}}}", fields.join(" "))
        }
        ExprKind::Binary(op, l, r) => format!("({op:?} {} {})", sexp(l), sexp(r)),
        ExprKind::Unary(op, x) => format!("({op:?} {})", sexp(x)),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Index(o, k) => format!("(idx {} {})", sexp(o), sexp(k)),
        ExprKind::Call(f, args) => format!("(call {}{})", sexp(f), list(args)),
        ExprKind::Method(o, m, args) => format!("(method {} {m}{})", sexp(o), list(args)),
        ExprKind::Paren(x) => format!("(paren {})", sexp(x)),
    }
}

fn shape(src: &str) -> String {
    sexp(&expr(src))
}

#[test]
fn binary_operators_follow_lua_precedence() {
    let cases = [
        ("1 + 2 * 3", "(Add 1 (Mul 2 3))"),
        ("1 * 2 + 3", "(Add (Mul 1 2) 3)"),
        ("1 - 2 - 3", "(Sub (Sub 1 2) 3)"),
        ("1 / 2 // 3 % 4", "(Mod (IDiv (Div 1 2) 3) 4)"),
        ("a .. b .. c", "(Concat a (Concat b c))"),
        ("2 ^ 3 ^ 2", "(Pow 2 (Pow 3 2))"),
        ("a or b and c", "(Or a (And b c))"),
        ("a and b or c and d", "(Or (And a b) (And c d))"),
        ("1 < 2 == true", "(Eq (Lt 1 2) true)"),
        ("a ~= b <= c >= d > e", "(Gt (Ge (Le (Ne a b) c) d) e)"),
        ("a .. b == c", "(Eq (Concat a b) c)"),
        ("1 + 2 .. 3", "(Concat (Add 1 2) 3)"),
        (
            "a | b ~ c & d << 1 .. x + 1",
            "(BOr a (BXor b (BAnd c (Shl d (Concat 1 (Add x 1))))))",
        ),
        ("a >> 1 << 2", "(Shl (Shr a 1) 2)"),
        ("a == b and c or d", "(Or (And (Eq a b) c) d)"),
        ("(1 + 2) * 3", "(Mul (paren (Add 1 2)) 3)"),
    ];
    for (src, expected) in cases {
        assert_eq!(shape(src), expected, "{src}");
    }
}

#[test]
fn unary_operators_bind_tighter_than_all_but_power() {
    let cases = [
        ("-x ^ 2", "(Neg (Pow x 2))"),
        ("2 ^ -3", "(Pow 2 (Neg 3))"),
        ("-2 ^ -3 ^ 2", "(Neg (Pow 2 (Neg (Pow 3 2))))"),
        ("not a == b", "(Eq (Not a) b)"),
        ("#t + 1", "(Add (Len t) 1)"),
        ("- - x", "(Neg (Neg x))"),
        ("~x ~ y", "(BXor (BNot x) y)"),
        ("not not x", "(Not (Not x))"),
        ("-a.b", "(Neg (idx a 'b'))"),
        ("#f()", "(Len (call f))"),
        ("1 - -1", "(Sub 1 (Neg 1))"),
    ];
    for (src, expected) in cases {
        assert_eq!(shape(src), expected, "{src}");
    }
}

#[test]
fn simple_and_suffixed_expressions() {
    let cases = [
        ("nil, true, false", ""),
        ("a.b.c", "(idx (idx a 'b') 'c')"),
        ("a[1][k]", "(idx (idx a 1) k)"),
        ("a:b(1)(2)", "(call (method a b 1) 2)"),
        ("f'x'", "(call f 'x')"),
        ("f[[x]]", "(call f 'x')"),
        ("f{1}", "(call f {1})"),
        ("f{}'s'", "(call (call f {}) 's')"),
        ("o:m{}", "(method o m {})"),
        ("o:m'x'", "(method o m 'x')"),
        ("(f())", "(paren (call f))"),
        ("((x))", "(paren (paren x))"),
        ("(f).x", "(idx (paren f) 'x')"),
        ("{1, x = 2, [3] = 4; 5,}", "{1 x=2 [3]=4 5}"),
        ("{x == 1, y}", "{(Eq x 1) y}"),
        ("{f(), ...}", "{(call f) ...}"),
        ("function(a, ...) end", "(fn a ...)"),
        ("function() end", "(fn)"),
        ("function(...) end", "(fn ...)"),
        ("0x10, 1.5, 'a\\tb'", ""),
    ];
    for (src, expected) in cases {
        if expected.is_empty() {
            parse_ok(&format!("return {src}"));
        } else {
            assert_eq!(shape(src), expected, "{src}");
        }
    }
    assert_eq!(parse_err("return {;}"), "src:1: unexpected symbol near ';'");
    assert_eq!(shape("1e2"), "100.0");
    assert_eq!(shape("'\\65\\z  \n b'"), "'Ab'");
}

#[test]
fn a_call_may_start_on_the_next_line() {
    let kinds = stats("f\n(a)\ng\n{}\nh\n'x'");
    assert_eq!(kinds.len(), 3);
    assert!(kinds.iter().all(|k| matches!(k, StatKind::Call(_))));
    // `local x = f` then `(g)()` is one statement: `local x = f(g)()`.
    let kinds = stats("local x = f\n(g)()");
    assert_eq!(kinds.len(), 1);
}

#[test]
fn statements() {
    let kinds = stats(
        "local a, b <const>, c <close> = 1, 2 \
         a, t.x, t[1] = 1, 2, 3 \
         f(1) o:m() \
         do end \
         while a do break end \
         repeat local r until r \
         if a then elseif b then else end \
         for i = 1, 2 do end for i = 1, 2, 3 do end \
         for k, v in pairs(t) do end \
         function a.b.c:m(x) end function f(...) end \
         local function g() end \
         goto l ::l:: ; ;",
    );
    let expected_names = vec![
        ("a".to_owned(), Attrib::None),
        ("b".to_owned(), Attrib::Const),
        ("c".to_owned(), Attrib::Close),
    ];
    assert!(
        matches!(&kinds[0], StatKind::Local { names, exprs } if *names == expected_names && exprs.len() == 2)
    );
    assert!(
        matches!(&kinds[1], StatKind::Assign { targets, exprs } if targets.len() == 3 && exprs.len() == 3)
    );
    assert!(matches!(
        &kinds[2],
        StatKind::Call(Expr {
            kind: ExprKind::Call(..),
            ..
        })
    ));
    assert!(matches!(
        &kinds[3],
        StatKind::Call(Expr {
            kind: ExprKind::Method(..),
            ..
        })
    ));
    assert!(matches!(&kinds[4], StatKind::Do(b) if b.stats.is_empty()));
    assert!(
        matches!(&kinds[5], StatKind::While { body, .. } if body.stats[0].kind == StatKind::Break)
    );
    assert!(
        matches!(&kinds[6], StatKind::Repeat { body, cond } if body.stats.len() == 1 && sexp(cond) == "r")
    );
    assert!(matches!(&kinds[7], StatKind::If { arms, else_block: Some(_) } if arms.len() == 2));
    assert!(matches!(&kinds[8], StatKind::NumFor { var, step: None, .. } if var == "i"));
    assert!(matches!(&kinds[9], StatKind::NumFor { step: Some(_), .. }));
    assert!(
        matches!(&kinds[10], StatKind::GenFor { names, exprs, .. } if *names == ["k", "v"] && exprs.len() == 1)
    );
    let StatKind::Function { path, method, func } = &kinds[11] else {
        panic!("{:?}", kinds[11]);
    };
    assert_eq!(path, &["a", "b", "c"]);
    assert_eq!(method.as_deref(), Some("m"));
    assert_eq!(func.params, ["self", "x"]);
    assert!(!func.is_vararg);
    assert!(
        matches!(&kinds[12], StatKind::Function { method: None, func, .. } if func.is_vararg && func.params.is_empty())
    );
    assert!(matches!(&kinds[13], StatKind::LocalFunction { name, .. } if name == "g"));
    assert_eq!(kinds[14], StatKind::Goto("l".into()));
    assert_eq!(kinds[15], StatKind::Label("l".into()));
    assert_eq!(kinds.len(), 16, "empty statements leave no trace");
}

#[test]
fn returns_end_blocks() {
    let chunk = parse_ok("do return end while x do return 1, 2; end return;");
    assert_eq!(chunk.block.ret.as_ref().map(|r| r.exprs.len()), Some(0));
    let StatKind::While { body, .. } = &chunk.block.stats[1].kind else {
        panic!()
    };
    assert_eq!(body.ret.as_ref().map(|r| r.exprs.len()), Some(2));
    let chunk = parse_ok("repeat return until x");
    assert!(
        matches!(&chunk.block.stats[0].kind, StatKind::Repeat { body, .. } if body.ret.is_some())
    );
    assert_eq!(
        parse_err("return 1 x = 2"),
        "src:1: <eof> expected near 'x'"
    );
}

#[test]
fn consecutive_labels_keep_their_order() {
    let kinds = stats("::a:: ;; ::b:: ; ::c:: x = 1");
    let labels: Vec<_> = kinds
        .iter()
        .filter_map(|k| match k {
            StatKind::Label(l) => Some(l.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(labels, ["a", "b", "c"]);
    assert!(matches!(kinds[3], StatKind::Assign { .. }));
}

#[test]
fn checks_left_to_the_code_generator_parse() {
    // PUC Lua rejects these while generating code, not while parsing.
    for src in [
        "local x <const> = 1; x = 2",
        "break",
        "goto nowhere",
        "::a:: ::a::",
        "do goto l end local x ::l:: print(x)",
    ] {
        parse_ok(src);
    }
}

#[test]
fn line_numbers() {
    let chunk = parse_ok(
        "local a =\n  1 +\n  2\nf(\n x,\n y)\nfunction g()\n\nend\nt\n.k = {\n}\nreturn\n a\n\n",
    );
    let lines: Vec<u32> = chunk.block.stats.iter().map(|s| s.line).collect();
    assert_eq!(lines, [1, 4, 7, 10]);
    let StatKind::Local { exprs, .. } = &chunk.block.stats[0].kind else {
        panic!()
    };
    // A binary expression has its operator's line.
    assert_eq!(exprs[0].line, 2);
    let ExprKind::Binary(_, lhs, rhs) = &exprs[0].kind else {
        panic!()
    };
    assert_eq!((lhs.line, rhs.line), (2, 3));
    let StatKind::Call(call) = &chunk.block.stats[1].kind else {
        panic!()
    };
    // A call has the line where the called expression starts.
    assert_eq!(call.line, 4);
    let StatKind::Function { func, .. } = &chunk.block.stats[2].kind else {
        panic!()
    };
    assert_eq!((func.line, func.end_line), (7, 9));
    let StatKind::Assign { targets, exprs } = &chunk.block.stats[3].kind else {
        panic!()
    };
    // Indexing has the line of its `.` or `[`; a table its `{`.
    assert_eq!(targets[0].line, 11);
    assert_eq!(exprs[0].line, 11);
    let ret = chunk.block.ret.as_ref().unwrap();
    assert_eq!((ret.line, ret.exprs[0].line), (13, 14));
    assert_eq!(chunk.end_line, 16);
    let body = match &expr("function()\nend").kind {
        ExprKind::Function(f) => (f.line, f.end_line),
        _ => panic!(),
    };
    assert_eq!(body, (1, 2));
}

#[test]
fn a_shebang_line_is_no_syntax() {
    // Files skip it before parsing (`luaL_loadfilex`); strings do not.
    assert_eq!(
        parse_err("#!lua\nx = 1"),
        "src:1: unexpected symbol near '#'"
    );
    assert_eq!(parse_err(" #!lua"), "src:1: unexpected symbol near '#'");
}

#[test]
fn syntax_errors_match_lua() {
    // Expected messages are PUC Lua 5.4's, from `load(src, "=src")`.
    let cases: &[(&str, &str)] = &[
        ("x = 1 +", "src:1: unexpected symbol near <eof>"),
        ("x = = 1", "src:1: unexpected symbol near '='"),
        ("x", "src:1: syntax error near <eof>"),
        ("x y", "src:1: syntax error near 'y'"),
        ("f() = 1", "src:1: syntax error near '='"),
        ("(f) = 1", "src:1: syntax error near '='"),
        ("(a) = 1", "src:1: syntax error near '='"),
        ("a.b:c() = 1", "src:1: syntax error near '='"),
        ("a, f() = 1", "src:1: syntax error near '='"),
        ("a, b x", "src:1: '=' expected near 'x'"),
        ("a, (b) = 1", "src:1: syntax error near '='"),
        ("(f())", "src:1: syntax error near <eof>"),
        ("x = (1", "src:1: ')' expected near <eof>"),
        (
            "x = (1\n\n",
            "src:3: ')' expected (to close '(' at line 1) near <eof>",
        ),
        (
            "f(1,\n2",
            "src:2: ')' expected (to close '(' at line 1) near <eof>",
        ),
        ("f(1", "src:1: ')' expected near <eof>"),
        ("t = {1, 2", "src:1: '}' expected near <eof>"),
        (
            "t = {\n1,\n2",
            "src:3: '}' expected (to close '{' at line 1) near <eof>",
        ),
        ("t = {x = }", "src:1: unexpected symbol near '}'"),
        ("t = {[1] 2}", "src:1: '=' expected near '2'"),
        ("t = {[1 = 2}", "src:1: ']' expected near '='"),
        ("x = a[1", "src:1: ']' expected near <eof>"),
        ("x = a.1", "src:1: unexpected symbol near '.1'"),
        ("x = a:b", "src:1: function arguments expected near <eof>"),
        ("x = a:b.c", "src:1: function arguments expected near '.'"),
        ("a:1()", "src:1: <name> expected near '1'"),
        ("local", "src:1: <name> expected near <eof>"),
        ("local 1", "src:1: <name> expected near '1'"),
        ("local x <", "src:1: <name> expected near <eof>"),
        ("local x <const", "src:1: '>' expected near <eof>"),
        ("local x <foo> = 1", "src:1: unknown attribute 'foo'"),
        (
            "local x <close>, y <close> = 1",
            "src:1: multiple to-be-closed variables in local list",
        ),
        (
            "local x <const>, y <close>, z <close>",
            "src:1: multiple to-be-closed variables in local list",
        ),
        ("local function", "src:1: <name> expected near <eof>"),
        ("local function f", "src:1: '(' expected near <eof>"),
        (
            "local function f(",
            "src:1: <name> or '...' expected near <eof>",
        ),
        ("local function f()", "src:1: 'end' expected near <eof>"),
        ("function", "src:1: <name> expected near <eof>"),
        ("function f", "src:1: '(' expected near <eof>"),
        ("function f.", "src:1: <name> expected near <eof>"),
        ("function f:", "src:1: <name> expected near <eof>"),
        ("function f:g.h() end", "src:1: '(' expected near '.'"),
        (
            "function f(a,) end",
            "src:1: <name> or '...' expected near ')'",
        ),
        ("function f(a b) end", "src:1: ')' expected near 'b'"),
        ("function f(..., a) end", "src:1: ')' expected near ','"),
        (
            "function f() return return end",
            "src:1: unexpected symbol near 'return'",
        ),
        ("if", "src:1: unexpected symbol near <eof>"),
        ("if x", "src:1: 'then' expected near <eof>"),
        ("if x then", "src:1: 'end' expected near <eof>"),
        (
            "if x then else else end",
            "src:1: 'end' expected near 'else'",
        ),
        (
            "if x then elseif end",
            "src:1: unexpected symbol near 'end'",
        ),
        (
            "if x then\n\nelse\n",
            "src:4: 'end' expected (to close 'if' at line 1) near <eof>",
        ),
        ("if x then end end", "src:1: <eof> expected near 'end'"),
        ("while", "src:1: unexpected symbol near <eof>"),
        ("while x", "src:1: 'do' expected near <eof>"),
        ("while x do", "src:1: 'end' expected near <eof>"),
        (
            "while x do\n\n",
            "src:3: 'end' expected (to close 'while' at line 1) near <eof>",
        ),
        ("while x then end", "src:1: 'do' expected near 'then'"),
        ("for", "src:1: <name> expected near <eof>"),
        ("for 1", "src:1: <name> expected near '1'"),
        ("for i", "src:1: '=' or 'in' expected near <eof>"),
        ("for i =", "src:1: unexpected symbol near <eof>"),
        ("for i = 1", "src:1: ',' expected near <eof>"),
        ("for i = 1, 2", "src:1: 'do' expected near <eof>"),
        ("for i = 1, 2 then", "src:1: 'do' expected near 'then'"),
        ("for i = 1, 2, 3, 4 do end", "src:1: 'do' expected near ','"),
        ("for a, b", "src:1: 'in' expected near <eof>"),
        ("for a, 1 in x do end", "src:1: <name> expected near '1'"),
        ("for a, b in do end", "src:1: unexpected symbol near 'do'"),
        (
            "for a in x\ndo\n",
            "src:3: 'end' expected (to close 'for' at line 1) near <eof>",
        ),
        (
            "for a.b = 1, 2 do end",
            "src:1: '=' or 'in' expected near '.'",
        ),
        ("repeat", "src:1: 'until' expected near <eof>"),
        ("repeat x = 1", "src:1: 'until' expected near <eof>"),
        ("repeat until", "src:1: unexpected symbol near <eof>"),
        ("repeat\n\nuntil", "src:3: unexpected symbol near <eof>"),
        ("do", "src:1: 'end' expected near <eof>"),
        (
            "do\n\n",
            "src:3: 'end' expected (to close 'do' at line 1) near <eof>",
        ),
        ("do end end", "src:1: <eof> expected near 'end'"),
        ("goto", "src:1: <name> expected near <eof>"),
        ("goto 1", "src:1: <name> expected near '1'"),
        ("::", "src:1: <name> expected near <eof>"),
        ("::a", "src:1: '::' expected near <eof>"),
        ("::a:", "src:1: '::' expected near ':'"),
        ("::1::", "src:1: <name> expected near '1'"),
        ("break x", "src:1: syntax error near <eof>"),
        ("return 1 x", "src:1: <eof> expected near 'x'"),
        ("return return", "src:1: unexpected symbol near 'return'"),
        ("return 1,", "src:1: unexpected symbol near <eof>"),
        ("return;;", "src:1: <eof> expected near ';'"),
        ("x = 1 end", "src:1: <eof> expected near 'end'"),
        ("x = 1 until", "src:1: <eof> expected near 'until'"),
        ("x = 1 else", "src:1: <eof> expected near 'else'"),
        ("x = 1 elseif", "src:1: <eof> expected near 'elseif'"),
        ("x = ...", "OK"),
        (
            "function f() return ... end",
            "src:1: cannot use '...' outside a vararg function near '...'",
        ),
        (
            "function f(...) return function() return ... end end",
            "src:1: cannot use '...' outside a vararg function near '...'",
        ),
        (
            "function f(a) local x = ... end",
            "src:1: cannot use '...' outside a vararg function near '...'",
        ),
        ("x = function(...) end", "OK"),
        ("local function f(...) return ... end", "OK"),
        ("x = not", "src:1: unexpected symbol near <eof>"),
        ("x = #", "src:1: unexpected symbol near <eof>"),
        ("x = -", "src:1: unexpected symbol near <eof>"),
        ("x = ~", "src:1: unexpected symbol near <eof>"),
        ("x = 1 ~", "src:1: unexpected symbol near <eof>"),
        ("x = a..", "src:1: unexpected symbol near <eof>"),
        ("x = {...}", "OK"),
        ("x = @", "src:1: unexpected symbol near '@'"),
        ("x = $", "src:1: unexpected symbol near '$'"),
        ("x = ?", "src:1: unexpected symbol near '?'"),
        ("x = `", "src:1: unexpected symbol near '`'"),
        ("x = !", "src:1: unexpected symbol near '!'"),
        ("x = \\", "src:1: unexpected symbol near '\\'"),
        ("f(\n)", "OK"),
        ("f\n(a)", "OK"),
        ("x = f\n'str' .. g", "OK"),
        ("f{}", "OK"),
        ("f'x'", "OK"),
        ("f[[x]]", "OK"),
        ("a.b.c = 1", "OK"),
        ("a[b][c] = 1", "OK"),
        ("x = 1 2", "src:1: unexpected symbol near '2'"),
        ("x = 'a' 'b'", "src:1: unexpected symbol near ''b''"),
        ("x = 1.5 2.5", "src:1: unexpected symbol near '2.5'"),
        ("x = a b", "src:1: syntax error near <eof>"),
        ("x = true false", "src:1: unexpected symbol near 'false'"),
        ("x = nil nil", "src:1: unexpected symbol near 'nil'"),
        ("x = {} {}", "src:1: unexpected symbol near '{'"),
        ("x = function", "src:1: '(' expected near <eof>"),
        (
            "x = function(",
            "src:1: <name> or '...' expected near <eof>",
        ),
        ("x = function()", "src:1: 'end' expected near <eof>"),
        ("x = function() end end", "src:1: <eof> expected near 'end'"),
        ("f(a,)", "src:1: unexpected symbol near ')'"),
        ("f(a b)", "src:1: ')' expected near 'b'"),
        ("f(,)", "src:1: unexpected symbol near ','"),
        ("a.b.c", "src:1: syntax error near <eof>"),
        ("a[1]", "src:1: syntax error near <eof>"),
        ("a:b()", "OK"),
        ("a:b'x'", "OK"),
        ("a:b{}", "OK"),
        ("::a:: ::b:: ::c", "src:1: '::' expected near <eof>"),
        ("x = 1;;;", "OK"),
        (";;;", "OK"),
        ("x = 0x1p", "src:1: malformed number near '0x1p'"),
        ("x = 1e+", "src:1: malformed number near '1e+'"),
        ("x = 08", "OK"),
        ("x = 0x1.8p1", "OK"),
        ("x = 1//2", "OK"),
        ("x = 1 // // 2", "src:1: unexpected symbol near '//'"),
        ("\n\n  x = 'abc\n", "src:3: unfinished string near ''abc'"),
        (
            "x = [==[\n\n",
            "src:3: unfinished long string (starting at line 1) near <eof>",
        ),
        (
            "--[==[\n\n",
            "src:3: unfinished long comment (starting at line 1) near <eof>",
        ),
        ("--[==[ ]] ]==] x = ", "src:1: unexpected symbol near <eof>"),
    ];
    for (src, expected) in cases {
        match parse(src.as_bytes(), "src") {
            Ok(_) => assert_eq!(*expected, "OK", "{src:?}"),
            Err(e) => assert_eq!(e.0, *expected, "{src:?}"),
        }
    }
}

#[test]
fn stray_bytes() {
    assert_eq!(
        parse_err("x = \x01"),
        "src:1: unexpected symbol near '<\\1>'"
    );
    assert_eq!(
        parse(b"x = \x80", "src").unwrap_err().0,
        "src:1: unexpected symbol near '<\\128>'"
    );
    // PUC Lua's token 0 is "false", so the message has no "near" part.
    assert_eq!(parse_err("x = 1 \0 y"), "src:1: unexpected symbol");
    // A string or name quoted in a message is cut at a NUL byte.
    assert_eq!(
        parse_err("x = 1 'a\\0b'"),
        "src:1: unexpected symbol near ''a'"
    );
}

/// `depth` copies of `open`, a core, then `depth` copies of `close`.
fn nested(open: &str, core: &str, close: &str, depth: usize) -> String {
    format!("{}{core}{}", open.repeat(depth), close.repeat(depth))
}

/// Constructs that nest, as (prefix, open, core, close, syntax levels
/// per nesting).
const NESTINGS: &[(&str, &str, &str, &str, usize)] = &[
    ("x = ", "(", "1", ")", 1),
    ("x = ", "{", "", "}", 1),
    ("x = ", "{", "1", "}", 1),
    ("", "do ", "", " end", 1),
    ("", "while x do ", "", " end", 1),
    ("", "if x then else ", "", " end", 1),
    ("", "function f() ", "", " end", 1),
    ("x = ", "function() return ", "1", " end", 2),
    ("x = ", "- ", "1", "", 1),
    ("x = ", "not ", "1", "", 1),
    ("x = ", "a .. ", "1", "", 1),
    ("x = ", "2 ^ ", "1", "", 1),
    ("x = ", "f(", "1", ")", 1),
    ("x = ", "a[", "1", "]", 1),
    ("a", ", a", " = 1", "", 1),
    ("", "::l:: ", "", "", 1),
    ("x = ", "f{", "", "}", 1),
    ("x = ", "a:b{", "", "}", 1),
    ("x = ", "{[", "1", "] = 1}", 1),
    ("x = ", "{x = ", "1", "}", 1),
    ("x = ", "a.b(", "1", ")", 1),
    ("x = ", "f(1, ", "1", ")", 1),
    ("", "local x = function() ", "", " end", 2),
    ("", "for i = 1, 2 do ", "", " end", 1),
    ("", "for k, v in next, t do ", "", " end", 1),
    ("", "repeat ", "", " until x", 1),
    ("", "if x then ", "", " end", 1),
];

/// Chains, as (prefix, link, suffix): no nesting, however many links.
const CHAINS: &[(&str, &str, &str)] = &[
    ("x = a", " + a", ""),
    ("x = a", " - a * a // a", ""),
    ("x = a", " or a", ""),
    ("x = a", " and a", ""),
    ("x = a", " == a", ""),
    ("x = a", " < a and a", ""),
    ("x = a", " or a and a == a", ""),
    ("x = (a)", " + (a)", ""),
    ("x = a", " | a ~ a & a << a", ""),
    ("x = a", " + -a", ""),
    ("x = a", " .. a == a", ""),
    ("x = a", ".b", ""),
    ("x = a", "[1]", ""),
    ("x = a", "[a + a]", ""),
    ("x = f", "()", ""),
    ("x = f", "(a, a)", ""),
    ("x = a", ":b()", ""),
    ("f", "'s'", ""),
    ("f", "{}", ""),
    ("a", ".b", " = 1"),
    ("a", "[k]", " = 1"),
    ("x = a", ".b(1)[2]:c'd'{} + a", ""),
];

/// The deepest nesting of each construct that parses.
fn deepest_ok(levels: usize) -> usize {
    (MAX_SYNTAX_DEPTH - 3) / levels
}

#[test]
fn deep_nesting_is_an_error_like_lua() {
    for &(prefix, open, core, close, levels) in NESTINGS {
        let src = format!("{prefix}{}", nested(open, core, close, deepest_ok(levels)));
        assert!(parse(src.as_bytes(), "src").is_ok(), "{prefix}{open}...");
        // PUC Lua's test suite requires 500 levels to fail.
        let src = format!("{prefix}{}", nested(open, core, close, 500));
        assert_eq!(parse_err(&src), "C stack overflow", "{prefix}{open}...");
    }
}

#[test]
fn nesting_limit_is_max_syntax_depth() {
    // `x = (...)`: one level for the statement, one for the outer
    // expression, one per parenthesis.
    let ok = format!("x = {}", nested("(", "1", ")", MAX_SYNTAX_DEPTH - 2));
    parse_ok(&ok);
    let too_deep = format!("x = {}", nested("(", "1", ")", MAX_SYNTAX_DEPTH - 1));
    assert_eq!(parse_err(&too_deep), "C stack overflow");
}

/// How many links the chain ending at `e` has (its left spine).
fn links(e: &Expr) -> usize {
    std::iter::successors(e.first_operand(), |e| e.first_operand()).count()
}

/// The expression that `src`, one statement, computes or assigns.
fn stat_expr(chunk: &Chunk) -> &Expr {
    match &chunk.block.stats[0].kind {
        StatKind::Assign { targets, exprs } => match exprs[0].kind {
            ExprKind::Int(_) => &targets[0],
            _ => &exprs[0],
        },
        StatKind::Call(call) => call,
        other => panic!("{other:?}"),
    }
}

#[test]
fn chains_cost_no_levels() {
    for &(prefix, link, suffix) in CHAINS {
        // 500 levels of nesting fail; 500 links do not.
        let src = format!("{prefix}{}{suffix}", link.repeat(500));
        let chunk = parse_ok(&src);
        assert!(links(stat_expr(&chunk)) >= 500, "{src}");
        // Nor in nesting: inside parentheses, as deep as two links can
        // be (the second one may nest deeper, as a right operand), 300
        // links parse too, and one level more fails.
        let parens = |depth, links: usize| {
            let core = format!("(a{})", link.repeat(links));
            format!("x = {}", nested("(", &core, ")", depth))
        };
        let deepest = (0..MAX_SYNTAX_DEPTH)
            .rev()
            .find(|&depth| parse(parens(depth, 2).as_bytes(), "src").is_ok())
            .expect("some depth parses");
        assert!(deepest > MAX_SYNTAX_DEPTH - 10, "{link}: {deepest}");
        parse_ok(&parens(deepest, 300));
        assert_eq!(parse_err(&parens(deepest + 1, 2)), "C stack overflow");
        assert_eq!(parse_err(&parens(deepest + 1, 300)), "C stack overflow");
    }
}

/// 100,000 levels of nesting fail cleanly even on a 256 KiB stack.
#[test]
fn very_deep_nesting_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            for &(prefix, open, core, close, levels) in NESTINGS {
                let src = format!("{prefix}{}", nested(open, core, close, 100_000));
                let result = parse(src.as_bytes(), "src");
                assert_eq!(
                    result.unwrap_err().0,
                    "C stack overflow",
                    "{prefix}{open}..."
                );
                // The deepest accepted input fits too.
                let src = format!("{prefix}{}", nested(open, core, close, deepest_ok(levels)));
                assert!(parse(src.as_bytes(), "src").is_ok(), "{prefix}{open}...");
            }
            // And chains of any length, which are parsed, and dropped,
            // without recursing on their length.
            for &(prefix, link, suffix) in CHAINS {
                let src = format!("{prefix}{}{suffix}", link.repeat(100_000));
                let chunk = parse(src.as_bytes(), "src").map_err(|e| e.0);
                let chunk = chunk.unwrap_or_else(|e| panic!("{prefix}{link}...: {e}"));
                assert!(links(stat_expr(&chunk)) >= 100_000, "{prefix}{link}...");
            }
        })
        .unwrap();
    handle.join().unwrap();
}
