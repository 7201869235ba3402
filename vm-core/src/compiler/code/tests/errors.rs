//! Every error the code generator reports, with the texts of `lua5.4`
//! (without the "near 'token'" part, which needs the token stream).

use super::syntax::*;
use super::*;
use crate::compiler::ast::{Attrib, BinOp, ExprKind, StatKind};

fn chunk_ending(stats: Vec<crate::compiler::ast::Stat>, end_line: u32) -> Chunk {
    Chunk {
        block: block(stats),
        end_line,
    }
}

#[test]
fn undefined_goto_is_reported_at_the_end_of_the_function() {
    // goto x
    assert_eq!(
        compile_err(&chunk(vec![goto("x")])),
        "test:1: no visible label 'x' for <goto> at line 1"
    );
    // do
    //  goto x
    // end
    //
    // local y
    let c = chunk_ending(
        vec![
            on(1, do_(block(vec![on(2, goto("x"))]))),
            on(5, local(&["y"], vec![])),
        ],
        5,
    );
    assert_eq!(
        compile_err(&c),
        "test:5: no visible label 'x' for <goto> at line 2"
    );
}

#[test]
fn labels_are_visible_in_nested_blocks_only_forward() {
    // do ::l1:: end goto l1
    let c = chunk(vec![do_(block(vec![label("l1")])), goto("l1")]);
    assert_eq!(
        compile_err(&c),
        "test:1: no visible label 'l1' for <goto> at line 1"
    );
    // goto l1; do ::l1:: end
    let c = chunk(vec![goto("l1"), do_(block(vec![label("l1")]))]);
    assert_eq!(
        compile_err(&c),
        "test:1: no visible label 'l1' for <goto> at line 1"
    );
}

#[test]
fn repeated_labels() {
    // ::a::
    // ::a::
    // x = 1
    // PUC Lua creates the second label first, so it reports line 2.
    let c = chunk(vec![
        on(1, label("a")),
        on(2, label("a")),
        on(3, assign(vec![name("x")], vec![int(1)])),
    ]);
    assert_eq!(
        compile_err(&c),
        "test:3: label 'a' already defined on line 2"
    );
    // ::l1:: do ::l1:: end
    let c = chunk(vec![label("l1"), do_(block(vec![label("l1")]))]);
    assert_eq!(
        compile_err(&c),
        "test:1: label 'l1' already defined on line 1"
    );
    // A label of a closed block is gone: do ::l1:: end ::l1::
    let c = chunk(vec![do_(block(vec![label("l1")])), label("l1")]);
    assert!(compile(&c).is_ok());
}

#[test]
fn goto_into_the_scope_of_a_local() {
    // goto l1
    // local aa
    // ::l1::
    // print(3)
    let c = chunk(vec![
        on(1, goto("l1")),
        on(2, local(&["aa"], vec![])),
        on(3, label("l1")),
        on(4, call_stat(call(name("print"), vec![int(3)]))),
    ]);
    assert_eq!(
        compile_err(&c),
        "test:4: <goto l1> at line 1 jumps into the scope of local 'aa'"
    );
    // goto l1; local aa ::l1:: ::l2:: print(3)
    let c = chunk(vec![
        goto("l1"),
        local(&["aa"], vec![]),
        label("l1"),
        label("l2"),
        call_stat(call(name("print"), vec![int(3)])),
    ]);
    assert_eq!(
        compile_err(&c),
        "test:1: <goto l1> at line 1 jumps into the scope of local 'aa'"
    );
    // repeat goto x; local a ::x:: until a   (the condition sees `a`)
    let c = chunk(vec![repeat(
        block(vec![goto("x"), local(&["a"], vec![]), label("x")]),
        name("a"),
    )]);
    assert_eq!(
        compile_err(&c),
        "test:1: <goto x> at line 1 jumps into the scope of local 'a'"
    );
    // A label at the end of its block is outside the scope of its locals:
    // do goto l; local z; ::l:: ::m:: end
    let c = chunk(vec![do_(block(vec![
        goto("l"),
        local(&["z"], vec![]),
        label("l"),
        label("m"),
    ]))]);
    assert!(compile(&c).is_ok());
}

#[test]
fn break_outside_a_loop() {
    assert_eq!(
        compile_err(&chunk(vec![brk()])),
        "test:1: break outside loop at line 1"
    );
    // local function f()
    //  break
    // end
    // (PUC Lua reports the line of the token after `end`; we report `end`'s.)
    let f = body(&[], false, block(vec![on(2, brk())]), 1, 3);
    let c = chunk_ending(vec![local_function("f", f)], 5);
    assert_eq!(compile_err(&c), "test:3: break outside loop at line 2");
    // `break` inside a function inside a loop is outside any loop.
    let f = func(&[], false, block(vec![brk()]));
    let c = chunk(vec![while_(tru(), block(vec![local(&["f"], vec![f])]))]);
    assert_eq!(compile_err(&c), "test:1: break outside loop at line 1");
}

#[test]
fn assignment_to_const_variables() {
    let err = "attempt to assign to const variable";
    // local x <const> = 1
    // x = 2
    let c = chunk(vec![
        on(1, local_attr(&[("x", Attrib::Const)], vec![int(1)])),
        on(2, assign(vec![name("x")], vec![int(2)])),
    ]);
    assert_eq!(compile_err(&c), format!("test:2: {err} 'x'"));
    // local a <const> = {}  /  local a <close> = {}
    // function g() a = 1 end
    for attrib in [Attrib::Const, Attrib::Close] {
        let g = body(
            &[],
            false,
            block(vec![on(2, assign(vec![name("a")], vec![int(1)]))]),
            2,
            2,
        );
        let c = chunk(vec![
            on(1, local_attr(&[("a", attrib)], vec![table(vec![])])),
            on(2, function(&["g"], None, g)),
        ]);
        assert_eq!(compile_err(&c), format!("test:2: {err} 'a'"));
    }
    // Through two function levels: the upvalue of the upvalue is read-only.
    let inner = func(
        &[],
        false,
        block(vec![assign(vec![name("a")], vec![int(1)])]),
    );
    let outer = func(&[], false, block(vec![local(&["g"], vec![inner])]));
    let c = chunk(vec![
        local_attr(&[("a", Attrib::Const)], vec![call(name("f"), vec![])]),
        local(&["h"], vec![outer]),
    ]);
    assert_eq!(compile_err(&c), format!("test:1: {err} 'a'"));
    // local f <const> = nil
    // function f() end
    let c = chunk(vec![
        on(1, local_attr(&[("f", Attrib::Const)], vec![nil()])),
        on(
            2,
            function(&["f"], None, body(&[], false, block(vec![]), 2, 2)),
        ),
    ]);
    assert_eq!(compile_err(&c), format!("test:2: {err} 'f'"));
    // Fields of a constant table are not constant: local t <const> = {}; t.x = 1
    let c = chunk(vec![
        local_attr(&[("t", Attrib::Const)], vec![table(vec![])]),
        assign(vec![field(name("t"), "x")], vec![int(1)]),
    ]);
    assert!(compile(&c).is_ok());
}

#[test]
fn multiple_to_be_closed_variables() {
    let c = chunk(vec![local_attr(
        &[("x", Attrib::Close), ("y", Attrib::Close)],
        vec![int(1)],
    )]);
    assert_eq!(
        compile_err(&c),
        "test:1: multiple to-be-closed variables in local list"
    );
}

#[test]
fn vararg_outside_a_vararg_function() {
    // function f() return ... end
    let f = body(&[], false, block_ret(vec![], vec![vararg()]), 1, 1);
    let c = chunk(vec![function(&["f"], None, f)]);
    assert_eq!(
        compile_err(&c),
        "test:1: cannot use '...' outside a vararg function near '...'"
    );
}

#[test]
fn too_many_local_variables() {
    let names: Vec<String> = (0..201).map(|i| format!("a{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        compile_err(&chunk(vec![local(&names, vec![])])),
        "test:1: too many local variables (limit is 200) in main function"
    );
    assert!(compile(&chunk(vec![local(&names[..200], vec![])])).is_ok());
    let f = body(&names, false, block(vec![]), 7, 8);
    assert_eq!(
        compile_err(&chunk(vec![function(&["f"], None, f)])),
        "test:7: too many local variables (limit is 200) in function at line 7"
    );
}

#[test]
fn too_many_upvalues() {
    // local a0, ..., a149
    // local function g()
    //   local b0, ..., b149
    //   return function() local z; z = a0; ...; z = b149 end   -- line 4
    // end
    let a: Vec<String> = (0..150).map(|i| format!("a{i}")).collect();
    let b: Vec<String> = (0..150).map(|i| format!("b{i}")).collect();
    let strs = |v: &[String]| v.iter().map(|s| s.as_str().to_string()).collect::<Vec<_>>();
    let mut inner = vec![local(&["z"], vec![])];
    for (i, n) in a.iter().chain(&b).enumerate() {
        inner.push(on(5 + i as u32, assign(vec![name("z")], vec![name(n)])));
    }
    let inner = e(ExprKind::Function(Box::new(body(
        &[],
        false,
        block(inner),
        4,
        400,
    ))));
    let g_body = block_ret(
        vec![s(StatKind::Local {
            names: strs(&b).into_iter().map(|n| (n, Attrib::None)).collect(),
            exprs: vec![],
        })],
        vec![inner],
    );
    let c = chunk(vec![
        s(StatKind::Local {
            names: strs(&a).into_iter().map(|n| (n, Attrib::None)).collect(),
            exprs: vec![],
        }),
        local_function("g", body(&[], false, g_body, 2, 401)),
    ]);
    // The 256th upvalue is `b105`, assigned on line 5 + 255.
    assert_eq!(
        compile_err(&c),
        "test:260: too many upvalues (limit is 255) in function at line 4"
    );
}

#[test]
fn too_many_registers() {
    // f(0, 1, ..., 299)
    let args = (0..300).map(int).collect();
    assert_eq!(
        compile_err(&chunk(vec![call_stat(call(name("f"), args))])),
        "test:1: function or expression needs too many registers"
    );
    // A long right-leaning concatenation needs a register per operand.
    let mut e = name("x");
    for _ in 0..300 {
        e = bin(BinOp::Concat, name("x"), e);
    }
    assert_eq!(
        compile_err(&chunk(vec![local(&["y"], vec![e])])),
        "test:1: function or expression needs too many registers"
    );
    // So does assigning to many targets at once.
    let targets = (0..300).map(|i| name(&format!("g{i}"))).collect();
    assert_eq!(
        compile_err(&chunk(vec![assign(targets, vec![call(name("f"), vec![])])])),
        "test:1: function or expression needs too many registers"
    );
}

#[test]
fn trees_the_parser_never_builds_are_errors() {
    // A call statement that is not a call, and an assignment to a value.
    assert_eq!(
        compile_err(&chunk(vec![call_stat(name("x"))])),
        "test:1: syntax error"
    );
    assert_eq!(
        compile_err(&chunk(vec![assign(
            vec![call(name("f"), vec![])],
            vec![int(1)]
        )])),
        "test:1: syntax error"
    );
    assert_eq!(
        compile_err(&chunk(vec![assign(vec![paren(name("x"))], vec![int(1)])])),
        "test:1: syntax error"
    );
    assert_eq!(
        compile_err(&chunk(vec![function(
            &[],
            None,
            body(&[], false, block(vec![]), 1, 1)
        )])),
        "test:1: syntax error"
    );
}
