//! Listings of expressions. Each expected listing was checked against
//! `luac5.4 -l` for the same source (given in the comment), adapted to
//! our instruction set: no `MMBIN*`/`EXTRAARG`, no operand swaps a
//! metamethod could observe, `RETURN` without flags.

use super::syntax::*;
use super::*;
use crate::compiler::ast::{BinOp::*, Expr, UnOp};

/// `local a, b = ...` followed by `x = <e>` for each expression.
fn assign_each(exprs: Vec<Expr>) -> Chunk {
    let mut stats = vec![local(&["a", "b"], vec![vararg()]), local(&["x"], vec![])];
    for e in exprs {
        stats.push(assign(vec![name("x")], vec![e]));
    }
    chunk(stats)
}

#[test]
fn arithmetic_forms_and_folding() {
    // local a, b = ...; local x
    // x = a + b * 2 - 1; x = -a; x = not a; x = #a; x = ~a
    // x = 2^10; x = 7 // 2; x = 7 % 0; x = 1/0; x = 3 & 1.0; x = 3 | 1.5
    // x = -0.0; x = 0.0; x = - -3
    let chunk = assign_each(vec![
        bin(
            Sub,
            bin(Add, name("a"), bin(Mul, name("b"), int(2))),
            int(1),
        ),
        un(UnOp::Neg, name("a")),
        un(UnOp::Not, name("a")),
        un(UnOp::Len, name("a")),
        un(UnOp::BNot, name("a")),
        bin(Pow, int(2), int(10)),
        bin(IDiv, int(7), int(2)),
        bin(Mod, int(7), int(0)),
        bin(Div, int(1), int(0)),
        bin(BAnd, int(3), flt(1.0)),
        bin(BOr, int(3), flt(1.5)),
        un(UnOp::Neg, flt(0.0)),
        flt(0.0),
        un(UnOp::Neg, un(UnOp::Neg, int(3))),
    ]);
    let (proto, interner) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         VARARG 0 3
         LOADNIL 2 0
         MULK 3 1 0
         ADD 3 0 3
         ADDI 2 3 -1
         UNM 2 0
         NOT 2 0
         LEN 2 0
         BNOT 2 0
         LOADF 2 1024
         LOADI 2 3
         LOADI 3 7
         MODK 2 3 1
         LOADI 3 1
         DIVK 2 3 1
         LOADI 2 1
         LOADK 3 2
         LOADI 4 3
         BOR 2 4 3
         LOADF 3 0
         UNM 2 3
         LOADF 2 0
         LOADI 2 3
         RETURN 3 1",
    );
    assert_eq!(constants(&proto, &interner), ["2", "0", "1.5"]);
}

#[test]
fn constant_operands_keep_their_order() {
    // x = 1 + a; x = 2 * a; x = a + 1; x = a + 300; x = a * 2.5; x = a & 3
    // x = 3 & a; x = a << 1; x = 1 << a; x = a >> 1; x = a >> 300
    // x = a - 1; x = a - -1; x = a .. b .. "c"; x = a .. (b .. a)
    // luac swaps `1 + a`, `2 * a`, `3 & a` and codes `a << 1` with the
    // wrong operator plus an MMBIN fix-up; without MMBIN the constant goes
    // to a register. `a - 1` is `ADDI a -1` as in luac (listed as ADDI,
    // `SubI` keeps `__sub` for the metamethod).
    let chunk = assign_each(vec![
        bin(Add, int(1), name("a")),
        bin(Mul, int(2), name("a")),
        bin(Add, name("a"), int(1)),
        bin(Add, name("a"), int(300)),
        bin(Mul, name("a"), flt(2.5)),
        bin(BAnd, name("a"), int(3)),
        bin(BAnd, int(3), name("a")),
        bin(Shl, name("a"), int(1)),
        bin(Shl, int(1), name("a")),
        bin(Shr, name("a"), int(1)),
        bin(Shr, name("a"), int(300)),
        bin(Sub, name("a"), int(1)),
        bin(Sub, name("a"), un(UnOp::Neg, int(1))),
        bin(Concat, name("a"), bin(Concat, name("b"), str("c"))),
        bin(Concat, name("a"), paren(bin(Concat, name("b"), name("a")))),
    ]);
    let (proto, interner) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         VARARG 0 3
         LOADNIL 2 0
         ADDKL 2 0 0
         MULKL 2 0 1
         ADDI 2 0 1
         ADDK 2 0 2
         MULK 2 0 3
         BANDK 2 0 4
         LOADI 3 3
         BAND 2 3 0
         LOADI 3 1
         SHL 2 0 3
         SHLI 2 0 1
         SHRI 2 0 1
         LOADI 3 300
         SHR 2 0 3
         ADDI 2 0 -1
         ADDI 2 0 1
         MOVE 3 0
         MOVE 4 1
         LOADK 5 5
         CONCAT 3 3
         MOVE 2 3
         MOVE 3 0
         MOVE 4 1
         MOVE 5 0
         CONCAT 3 3
         MOVE 2 3
         RETURN 3 1",
    );
    assert_eq!(
        constants(&proto, &interner),
        ["1", "2", "300", "2.5", "3", "\"c\""]
    );
}

#[test]
fn comparisons_and_logic() {
    // local a, b, c = ...; local x
    // x = a < 1; x = 1 < a; x = a > 1; x = a >= 1.0; x = a == 1
    // x = a == "x"; x = a == nil; x = a ~= b; x = a < b; x = a > b
    // x = a <= 1000; x = 1.5 == a; x = a and b; x = a or b
    // x = a and b or c; x = (a < b) and c; x = not (a == b); x = not not a
    let mut stats = vec![
        local(&["a", "b", "c"], vec![vararg()]),
        local(&["x"], vec![]),
    ];
    let exprs = vec![
        bin(Lt, name("a"), int(1)),
        bin(Lt, int(1), name("a")),
        bin(Gt, name("a"), int(1)),
        bin(Ge, name("a"), flt(1.0)),
        bin(Eq, name("a"), int(1)),
        bin(Eq, name("a"), str("x")),
        bin(Eq, name("a"), nil()),
        bin(Ne, name("a"), name("b")),
        bin(Lt, name("a"), name("b")),
        bin(Gt, name("a"), name("b")),
        bin(Le, name("a"), int(1000)),
        bin(Eq, flt(1.5), name("a")),
        bin(And, name("a"), name("b")),
        bin(Or, name("a"), name("b")),
        bin(Or, bin(And, name("a"), name("b")), name("c")),
        bin(And, paren(bin(Lt, name("a"), name("b"))), name("c")),
        un(UnOp::Not, paren(bin(Eq, name("a"), name("b")))),
        un(UnOp::Not, un(UnOp::Not, name("a"))),
    ];
    for e in exprs {
        stats.push(assign(vec![name("x")], vec![e]));
    }
    let (proto, interner) = compile_ok(&chunk(stats));
    let bool_of = |test: &str| format!("{test}\nJMP 1\nLFALSESKIP 3\nLOADTRUE 3\n");
    let mut expected = "VARARGPREP 0\nVARARG 0 4\nLOADNIL 3 0\n".to_string();
    for test in [
        "LTI 0 1 1 0",
        "GTI 0 1 1 0",
        "GTI 0 1 1 0",
        "GEI 0 1 1 1",
        "EQI 0 1 1 0",
        "EQK 0 0 1",
        "EQK 0 1 1",
        "EQ 0 1 0",
        "LT 0 1 1",
        "LT 1 0 1",
        "LOADI 4 1000\nLE 0 4 1",
        "EQK 0 2 1",
    ] {
        expected.push_str(&bool_of(test));
    }
    expected.push_str(
        "TESTSET 3 0 0
         JMP 1
         MOVE 3 1
         TESTSET 3 0 1
         JMP 1
         MOVE 3 1
         TEST 0 0
         JMP 2
         TESTSET 3 1 1
         JMP 1
         MOVE 3 2
         LT 0 1 0
         JMP 2
         MOVE 3 2
         JMP 2
         LFALSESKIP 3
         LOADTRUE 3
         EQ 0 1 0
         JMP 1
         LFALSESKIP 3
         LOADTRUE 3
         NOT 4 0
         NOT 3 4
         RETURN 4 1",
    );
    assert_code(&listing(&proto), &expected);
    assert_eq!(constants(&proto, &interner), ["\"x\"", "nil", "1.5"]);
}

#[test]
fn calls_fields_and_multiple_results() {
    // local t = {}
    // f(t.x, t[1], t[300], t["y"], g())
    // local a, b, c = f()
    // local d = f(), g()
    // t.x = (f())
    // o:m(1, ...)
    // f "s"
    // f {1}
    // t[a] = nil
    // x = y
    // t.x.y = t[t]
    // return f(...)
    let chunk = chunk_ret(
        vec![
            local(&["t"], vec![table(vec![])]),
            call_stat(call(
                name("f"),
                vec![
                    field(name("t"), "x"),
                    index(name("t"), int(1)),
                    index(name("t"), int(300)),
                    index(name("t"), str("y")),
                    call(name("g"), vec![]),
                ],
            )),
            local(&["a", "b", "c"], vec![call(name("f"), vec![])]),
            local(
                &["d"],
                vec![call(name("f"), vec![]), call(name("g"), vec![])],
            ),
            assign(
                vec![field(name("t"), "x")],
                vec![paren(call(name("f"), vec![]))],
            ),
            call_stat(method(name("o"), "m", vec![int(1), vararg()])),
            call_stat(call(name("f"), vec![str("s")])),
            call_stat(call(name("f"), vec![table(vec![pos(int(1))])])),
            assign(vec![index(name("t"), name("a"))], vec![nil()]),
            assign(vec![name("x")], vec![name("y")]),
            assign(
                vec![field(field(name("t"), "x"), "y")],
                vec![index(name("t"), name("t"))],
            ),
        ],
        vec![call(name("f"), vec![vararg()])],
    );
    let (proto, interner) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         NEWTABLE 0 0 0
         GETTABUP 1 0 0
         GETFIELD 2 0 1
         GETI 3 0 1
         LOADI 4 300
         GETTABLE 4 0 4
         GETFIELD 5 0 2
         GETTABUP 6 0 3
         CALL 6 1 0
         CALL 1 0 1
         GETTABUP 1 0 0
         CALL 1 1 4
         GETTABUP 4 0 0
         CALL 4 1 2
         GETTABUP 5 0 3
         CALL 5 1 1
         GETTABUP 5 0 0
         CALL 5 1 2
         SETFIELD 0 1 5 0
         GETTABUP 5 0 4
         SELF 5 5 5
         LOADI 7 1
         VARARG 8 0
         CALL 5 0 1
         GETTABUP 5 0 0
         LOADK 6 6
         CALL 5 2 1
         GETTABUP 5 0 0
         NEWTABLE 6 0 1
         LOADI 7 1
         SETLIST 6 1 0
         CALL 5 2 1
         SETTABLE 0 1 7 1
         GETTABUP 5 0 2
         SETTABUP 0 1 5 0
         GETFIELD 5 0 1
         GETTABLE 6 0 0
         SETFIELD 5 2 6 0
         GETTABUP 5 0 0
         VARARG 6 0
         TAILCALL 5 0
         RETURN 5 0
         RETURN 5 1",
    );
    assert_eq!(
        constants(&proto, &interner),
        ["\"f\"", "\"x\"", "\"y\"", "\"g\"", "\"o\"", "\"m\"", "\"s\"", "nil"]
    );
    assert_eq!(proto.max_stack, 9);
}

#[test]
fn table_constructors() {
    // local t = {1, 2, x = 1, ["y"] = 2, [3] = 4, [t] = 5, 6, f()}
    // local u = {f(), nil}
    // local v = {...}
    let chunk = chunk(vec![
        local(
            &["t"],
            vec![table(vec![
                pos(int(1)),
                pos(int(2)),
                named("x", int(1)),
                keyed(str("y"), int(2)),
                keyed(int(3), int(4)),
                keyed(name("t"), int(5)),
                pos(int(6)),
                pos(call(name("f"), vec![])),
            ])],
        ),
        local(
            &["u"],
            vec![table(vec![pos(call(name("f"), vec![])), pos(nil())])],
        ),
        local(&["v"], vec![table(vec![pos(vararg())])]),
    ]);
    let (proto, interner) = compile_ok(&chunk);
    // The size hints count items, not PUC's log2 encoding.
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         NEWTABLE 0 4 3
         LOADI 1 1
         LOADI 2 2
         SETFIELD 0 0 1 1
         SETFIELD 0 2 3 1
         SETI 0 3 4 1
         GETTABUP 3 0 5
         SETTABLE 0 3 6 1
         LOADI 3 6
         GETTABUP 4 0 7
         CALL 4 1 0
         SETLIST 0 0 0
         NEWTABLE 1 0 2
         GETTABUP 2 0 7
         CALL 2 1 2
         LOADNIL 3 0
         SETLIST 1 2 0
         NEWTABLE 2 0 0
         VARARG 3 0
         SETLIST 2 0 0
         RETURN 3 1",
    );
    assert_eq!(
        constants(&proto, &interner),
        ["\"x\"", "1", "\"y\"", "2", "4", "\"t\"", "5", "\"f\""]
    );
}

#[test]
fn setlist_flushes_every_fifty_items() {
    // local w = {1, ..., 51}; local z = {1, ..., 50, f()}
    let items = |n: i64| (1..=n).map(|i| pos(int(i))).collect::<Vec<_>>();
    let mut with_call = items(50);
    with_call.push(pos(call(name("f"), vec![])));
    let chunk = chunk(vec![
        local(&["w"], vec![table(items(51))]),
        local(&["z"], vec![table(with_call)]),
    ]);
    let code = main_listing(&chunk);
    let interesting: Vec<String> = code
        .into_iter()
        .filter(|l| !l.starts_with("LOADI"))
        .collect();
    assert_code(
        &interesting,
        "VARARGPREP 0
         NEWTABLE 0 0 51
         SETLIST 0 50 0
         SETLIST 0 1 50
         NEWTABLE 1 0 50
         SETLIST 1 50 0
         GETTABUP 2 0 0
         CALL 2 1 0
         SETLIST 1 0 50
         RETURN 2 1",
    );
}

#[test]
fn compile_time_constants_and_env() {
    // local k <const> = 10
    // local s <const> = "str"
    // local n <const> = k * 2 + 0.5
    // local t = {}
    // t[s] = k + 1
    // t[k] = n
    // local c <const> = t
    // local function f(a, ...)      -- lines 8..13
    //   local _ENV = a
    //   x = y
    //   c.z = k
    //   return t.w, ...
    // end
    // local b <const>, d <const> = 1, 2
    // return b + d
    use crate::compiler::ast::Attrib::Const;
    let f = body(
        &["a"],
        true,
        block_ret(
            vec![
                local(&["_ENV"], vec![name("a")]),
                assign(vec![name("x")], vec![name("y")]),
                assign(vec![field(name("c"), "z")], vec![name("k")]),
            ],
            vec![field(name("t"), "w"), vararg()],
        ),
        8,
        13,
    );
    let chunk = chunk_ret(
        vec![
            local_attr(&[("k", Const)], vec![int(10)]),
            local_attr(&[("s", Const)], vec![str("str")]),
            local_attr(
                &[("n", Const)],
                vec![bin(Add, bin(Mul, name("k"), int(2)), flt(0.5))],
            ),
            local(&["t"], vec![table(vec![])]),
            assign(
                vec![index(name("t"), name("s"))],
                vec![bin(Add, name("k"), int(1))],
            ),
            assign(vec![index(name("t"), name("k"))], vec![name("n")]),
            local_attr(&[("c", Const)], vec![name("t")]),
            local_function("f", f),
            local_attr(&[("b", Const), ("d", Const)], vec![int(1), int(2)]),
        ],
        vec![bin(Add, name("b"), name("d"))],
    );
    let (proto, interner) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         NEWTABLE 0 0 0
         SETFIELD 0 0 1 1
         LOADK 1 2
         SETI 0 10 1 0
         MOVE 1 0
         CLOSURE 2 0
         LOADI 3 1
         ADDI 4 3 2
         RETURN 4 2
         RETURN 4 1",
    );
    assert_eq!(constants(&proto, &interner), ["\"str\"", "11", "20.5"]);
    let names: Vec<&str> = proto.locvars.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["t", "c", "f", "b"],
        "compile-time constants have no register"
    );
    let f = &proto.protos[0];
    assert_code(
        &listing(f),
        "VARARGPREP 1
         MOVE 1 0
         GETFIELD 2 1 1
         SETFIELD 1 0 2 0
         LOADI 2 10
         SETTABUP 0 2 2 0
         GETTABUP 2 1 3
         VARARG 3 0
         RETURN 2 0
         RETURN 2 1",
    );
    assert_eq!(
        constants(f, &interner),
        ["\"x\"", "\"y\"", "\"z\"", "\"w\""]
    );
    let upvalues: Vec<(&str, bool, u8)> = f
        .upvalues
        .iter()
        .map(|u| (u.name.as_str(), u.in_stack, u.index))
        .collect();
    assert_eq!(upvalues, [("c", true, 1), ("t", true, 0)]);
    assert_eq!(
        (
            f.line_defined,
            f.last_line_defined,
            f.num_params,
            f.is_vararg
        ),
        (8, 13, 1, true)
    );
    assert_eq!(f.max_stack, 4);
}
