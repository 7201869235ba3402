//! Listings of statements, checked against `luac5.4 -l` like `exprs`, and
//! the debug information of prototypes.

use super::syntax::*;
use super::*;
use crate::compiler::ast::{Attrib, BinOp::*, Block, Chunk, Return};

#[test]
fn locals_and_multiple_assignment() {
    // local a, b, c
    // local d; local e
    // a, b = b, a
    // local t, i = {}, 1
    // t[i], i = i, 2
    // t.x, t = 1, 2
    // x, y = y, x
    // a, b, c = f()
    // a, b = 1, 2, 3
    // a.b, c = 1
    let chunk = chunk(vec![
        local(&["a", "b", "c"], vec![]),
        local(&["d"], vec![]),
        local(&["e"], vec![]),
        assign(vec![name("a"), name("b")], vec![name("b"), name("a")]),
        local(&["t", "i"], vec![table(vec![]), int(1)]),
        assign(
            vec![index(name("t"), name("i")), name("i")],
            vec![name("i"), int(2)],
        ),
        assign(vec![field(name("t"), "x"), name("t")], vec![int(1), int(2)]),
        assign(vec![name("x"), name("y")], vec![name("y"), name("x")]),
        assign(
            vec![name("a"), name("b"), name("c")],
            vec![call(name("f"), vec![])],
        ),
        assign(vec![name("a"), name("b")], vec![int(1), int(2), int(3)]),
        assign(vec![field(name("a"), "b"), name("c")], vec![int(1)]),
    ]);
    let (proto, interner) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         LOADNIL 0 4
         MOVE 5 1
         MOVE 1 0
         MOVE 0 5
         NEWTABLE 5 0 0
         LOADI 6 1
         MOVE 7 6
         MOVE 8 6
         LOADI 6 2
         SETTABLE 5 7 8 0
         MOVE 7 5
         LOADI 8 1
         LOADI 5 2
         SETFIELD 7 0 8 0
         GETTABUP 7 0 1
         GETTABUP 8 0 0
         SETTABUP 0 1 8 0
         SETTABUP 0 0 7 0
         GETTABUP 7 0 2
         CALL 7 1 4
         MOVE 2 9
         MOVE 1 8
         MOVE 0 7
         LOADI 7 1
         LOADI 8 2
         LOADI 9 3
         MOVE 1 8
         MOVE 0 7
         LOADI 7 1
         LOADNIL 8 0
         MOVE 2 8
         SETFIELD 0 3 7 0
         RETURN 7 1",
    );
    assert_eq!(
        constants(&proto, &interner),
        ["\"x\"", "\"y\"", "\"f\"", "\"b\""]
    );
    assert_eq!(proto.max_stack, 10);
}

/// `function () return name end`
fn getter(n: &str) -> crate::compiler::ast::Expr {
    func(&[], false, block_ret(vec![], vec![name(n)]))
}

#[test]
fn conditionals_and_loops() {
    // local a, b = ...
    // if a then b = 1 elseif b then b = 2 else b = 3 end
    // if a and b then b = nil end
    // while a do
    //   if b then break end
    //   a = f(a)
    // end
    // repeat local c = g() until c
    // repeat local d = g(); h(function() return d end) until d
    // while true do local e = 1; if e then break end; h(function() return e end) end
    let chunk = chunk(vec![
        local(&["a", "b"], vec![vararg()]),
        if_(
            vec![
                (
                    name("a"),
                    block(vec![assign(vec![name("b")], vec![int(1)])]),
                ),
                (
                    name("b"),
                    block(vec![assign(vec![name("b")], vec![int(2)])]),
                ),
            ],
            Some(block(vec![assign(vec![name("b")], vec![int(3)])])),
        ),
        if_(
            vec![(
                bin(And, name("a"), name("b")),
                block(vec![assign(vec![name("b")], vec![nil()])]),
            )],
            None,
        ),
        while_(
            name("a"),
            block(vec![
                if_(vec![(name("b"), block(vec![brk()]))], None),
                assign(vec![name("a")], vec![call(name("f"), vec![name("a")])]),
            ]),
        ),
        repeat(
            block(vec![local(&["c"], vec![call(name("g"), vec![])])]),
            name("c"),
        ),
        repeat(
            block(vec![
                local(&["d"], vec![call(name("g"), vec![])]),
                call_stat(call(name("h"), vec![getter("d")])),
            ]),
            name("d"),
        ),
        while_(
            tru(),
            block(vec![
                local(&["e"], vec![int(1)]),
                if_(vec![(name("e"), block(vec![brk()]))], None),
                call_stat(call(name("h"), vec![getter("e")])),
            ]),
        ),
    ]);
    let (proto, _) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         VARARG 0 3
         TEST 0 0
         JMP 2
         LOADI 1 1
         JMP 5
         TEST 1 0
         JMP 2
         LOADI 1 2
         JMP 1
         LOADI 1 3
         TEST 0 0
         JMP 3
         TEST 1 0
         JMP 1
         LOADNIL 1 0
         TEST 0 0
         JMP 7
         TEST 1 1
         JMP 5
         GETTABUP 2 0 0
         MOVE 3 0
         CALL 2 2 2
         MOVE 0 2
         JMP -9
         GETTABUP 2 0 1
         CALL 2 1 2
         TEST 2 0
         JMP -4
         GETTABUP 2 0 1
         CALL 2 1 2
         GETTABUP 3 0 2
         CLOSURE 4 0
         CALL 3 2 1
         TEST 2 0
         JMP 2
         CLOSE 2
         JMP 2
         CLOSE 2
         JMP -11
         LOADI 2 1
         TEST 2 1
         JMP 5
         GETTABUP 3 0 2
         CLOSURE 4 1
         CALL 3 2 1
         CLOSE 2
         JMP -8
         CLOSE 2
         RETURN 2 1",
    );
    for child in &proto.protos {
        assert_code(&listing(child), "GETUPVAL 0 0\nRETURN1 0\nRETURN0");
        assert_eq!(child.upvalues[0].index, 2);
        assert!(child.upvalues[0].in_stack);
    }
}

#[test]
fn for_loops_to_be_closed_and_returns() {
    // for i = 1, 10 do f(i) end
    // for i = n, 1, -1 do local x = i; f(function() return x end) end
    // for k, v in pairs(t) do if v then break end end
    // for a in f, s, c, z, w do end
    // do local x <close> = f(); local y <close> = g() end
    // local function r(n, ...) if n then return r(n - 1) end return (r(n)) end
    // local q <close> = f()
    // return f(q)
    let r = body(
        &["n"],
        true,
        block_ret(
            vec![if_(
                vec![(
                    name("n"),
                    block_ret(
                        vec![],
                        vec![call(name("r"), vec![bin(Sub, name("n"), int(1))])],
                    ),
                )],
                None,
            )],
            vec![paren(call(name("r"), vec![name("n")]))],
        ),
        6,
        6,
    );
    let chunk = chunk_ret(
        vec![
            num_for(
                "i",
                int(1),
                int(10),
                None,
                block(vec![call_stat(call(name("f"), vec![name("i")]))]),
            ),
            num_for(
                "i",
                name("n"),
                int(1),
                Some(int(-1)),
                block(vec![
                    local(&["x"], vec![name("i")]),
                    call_stat(call(name("f"), vec![getter("x")])),
                ]),
            ),
            gen_for(
                &["k", "v"],
                vec![call(name("pairs"), vec![name("t")])],
                block(vec![if_(vec![(name("v"), block(vec![brk()]))], None)]),
            ),
            gen_for(
                &["a"],
                vec![name("f"), name("s"), name("c"), name("z"), name("w")],
                block(vec![]),
            ),
            do_(block(vec![
                local_attr(&[("x", Attrib::Close)], vec![call(name("f"), vec![])]),
                local_attr(&[("y", Attrib::Close)], vec![call(name("g"), vec![])]),
            ])),
            local_function("r", r),
            local_attr(&[("q", Attrib::Close)], vec![call(name("f"), vec![])]),
        ],
        vec![call(name("f"), vec![name("q")])],
    );
    let (proto, interner) = compile_ok(&chunk);
    // FORPREP's offset is one more than luac's: it lands past the FORLOOP.
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         LOADI 0 1
         LOADI 1 10
         LOADI 2 1
         FORPREP 0 4
         GETTABUP 4 0 0
         MOVE 5 3
         CALL 4 2 1
         FORLOOP 0 4
         GETTABUP 0 0 1
         LOADI 1 1
         LOADI 2 -1
         FORPREP 0 6
         MOVE 4 3
         GETTABUP 5 0 0
         CLOSURE 6 0
         CALL 5 2 1
         CLOSE 4
         FORLOOP 0 6
         GETTABUP 0 0 2
         GETTABUP 1 0 3
         CALL 0 2 5
         TFORPREP 0 2
         TEST 5 1
         JMP 2
         TFORCALL 0 2
         TFORLOOP 0 4
         CLOSE 0
         GETTABUP 0 0 0
         GETTABUP 1 0 4
         GETTABUP 2 0 5
         GETTABUP 3 0 6
         GETTABUP 4 0 7
         TFORPREP 0 0
         TFORCALL 0 1
         TFORLOOP 0 2
         CLOSE 0
         GETTABUP 0 0 0
         CALL 0 1 2
         TBC 0
         GETTABUP 1 0 8
         CALL 1 1 2
         TBC 1
         CLOSE 0
         CLOSURE 0 1
         GETTABUP 1 0 0
         CALL 1 1 2
         TBC 1
         GETTABUP 2 0 0
         MOVE 3 1
         CALL 2 2 0
         RETURN 2 0
         RETURN 2 1",
    );
    assert_eq!(
        constants(&proto, &interner),
        [
            "\"f\"",
            "\"n\"",
            "\"pairs\"",
            "\"t\"",
            "\"s\"",
            "\"c\"",
            "\"z\"",
            "\"w\"",
            "\"g\""
        ]
    );
    assert_eq!(proto.max_stack, 7);
    // `luac -l -l` prints these pcs plus one. As in Lua 5.4.6 (5.4.4
    // differs), a block's locals end before the `CLOSE` that leaves it.
    let locals: Vec<(&str, u32, u32)> = proto
        .locvars
        .iter()
        .map(|v| (v.name.as_str(), v.start_pc, v.end_pc))
        .collect();
    let fs = "(for state)";
    assert_eq!(
        locals,
        [
            (fs, 4, 9),
            (fs, 4, 9),
            (fs, 4, 9),
            ("i", 5, 8),
            (fs, 12, 19),
            (fs, 12, 19),
            (fs, 12, 19),
            ("i", 13, 18),
            ("x", 14, 17),
            (fs, 22, 27),
            (fs, 22, 27),
            (fs, 22, 27),
            (fs, 22, 27),
            ("k", 23, 25),
            ("v", 23, 25),
            (fs, 33, 36),
            (fs, 33, 36),
            (fs, 33, 36),
            (fs, 33, 36),
            ("a", 34, 34),
            ("x", 39, 43),
            ("y", 42, 43),
            ("r", 45, 53),
            ("q", 47, 53),
        ]
    );
    assert_code(
        &listing(&proto.protos[1]),
        "VARARGPREP 1
         TEST 0 0
         JMP 4
         GETUPVAL 1 0
         ADDI 2 0 -1
         TAILCALL 1 2
         RETURN 1 0
         GETUPVAL 1 0
         MOVE 2 0
         CALL 1 2 2
         RETURN 1 2
         RETURN 1 1",
    );
}

#[test]
fn break_out_of_generic_for_closes_the_closing_value() {
    // for k, v in pairs(t) do local x; f(function() return x end); if v then break end end
    // luac 5.4.4 emits `CLOSE 4` at the break target, leaving the closing
    // value (register 3) open; Lua 5.4.6 and we close from register 0.
    let chunk = chunk(vec![gen_for(
        &["k", "v"],
        vec![call(name("pairs"), vec![name("t")])],
        block(vec![
            local(&["x"], vec![]),
            call_stat(call(name("f"), vec![getter("x")])),
            if_(vec![(name("v"), block(vec![brk()]))], None),
        ]),
    )]);
    assert_code(
        &main_listing(&chunk),
        "VARARGPREP 0
         GETTABUP 0 0 0
         GETTABUP 1 0 1
         CALL 0 2 5
         TFORPREP 0 7
         LOADNIL 6 0
         GETTABUP 7 0 2
         CLOSURE 8 0
         CALL 7 2 1
         TEST 5 1
         JMP 3
         CLOSE 6
         TFORCALL 0 2
         TFORLOOP 0 9
         CLOSE 0
         RETURN 0 1",
    );
}

#[test]
fn gotos_labels_functions_and_lines() {
    //  1 local i = 1
    //  2 ::top::
    //  3 local x = i
    //  4 if x then goto done end
    //  5 i = i + 1
    //  6 goto top
    //  7 ::done::
    //  8 for j = 1, 3 do
    //  9   if j then goto continue end
    // 10   local y = j
    // 11   f(function() return y end)
    // 12   ::continue::
    // 13 end
    // 14 do goto l; local z; ::l:: end
    // 15 function t.a.b:m(p) return self, p end
    // 16 function g() end
    // 17 local o = {}
    // 18 function o.f(...) return ... end
    let y_getter = e(crate::compiler::ast::ExprKind::Function(Box::new(body(
        &[],
        false,
        Block {
            stats: vec![],
            ret: Some(Return {
                exprs: vec![at(11, name("y"))],
                line: 11,
            }),
        },
        11,
        11,
    ))));
    let m = body(
        &["self", "p"],
        false,
        Block {
            stats: vec![],
            ret: Some(Return {
                exprs: vec![at(15, name("self")), at(15, name("p"))],
                line: 15,
            }),
        },
        15,
        15,
    );
    let f = body(
        &[],
        true,
        Block {
            stats: vec![],
            ret: Some(Return {
                exprs: vec![at(18, vararg())],
                line: 18,
            }),
        },
        18,
        18,
    );
    let chunk = Chunk {
        block: block(vec![
            on(1, local(&["i"], vec![int(1)])),
            on(2, label("top")),
            on(3, local(&["x"], vec![name("i")])),
            on(
                4,
                if_(vec![(name("x"), block(vec![on(4, goto("done"))]))], None),
            ),
            on(
                5,
                assign(vec![name("i")], vec![bin(Add, name("i"), int(1))]),
            ),
            on(6, goto("top")),
            on(7, label("done")),
            on(
                8,
                num_for(
                    "j",
                    int(1),
                    int(3),
                    None,
                    block(vec![
                        on(
                            9,
                            if_(
                                vec![(name("j"), block(vec![on(9, goto("continue"))]))],
                                None,
                            ),
                        ),
                        on(10, local(&["y"], vec![name("j")])),
                        on(11, call_stat(call(name("f"), vec![y_getter]))),
                        on(12, label("continue")),
                    ]),
                ),
            ),
            on(
                14,
                do_(block(vec![
                    on(14, goto("l")),
                    on(14, local(&["z"], vec![])),
                    on(14, label("l")),
                ])),
            ),
            on(15, function(&["t", "a", "b"], Some("m"), m)),
            on(
                16,
                function(&["g"], None, body(&[], false, block(vec![]), 16, 16)),
            ),
            on(17, local(&["o"], vec![table(vec![])])),
            on(18, function(&["o", "f"], None, f)),
        ]),
        end_line: 19,
    };
    let (proto, interner) = compile_ok(&chunk);
    assert_code(
        &listing(&proto),
        "VARARGPREP 0
         LOADI 0 1
         MOVE 1 0
         TEST 1 0
         JMP 1
         JMP 3
         ADDI 0 0 1
         CLOSE 1
         JMP -7
         LOADI 2 1
         LOADI 3 3
         LOADI 4 1
         FORPREP 2 9
         TEST 5 0
         JMP 1
         JMP 4
         MOVE 6 5
         GETTABUP 7 0 0
         CLOSURE 8 0
         CALL 7 2 1
         CLOSE 6
         FORLOOP 2 9
         JMP 1
         LOADNIL 2 0
         GETTABUP 2 0 1
         GETFIELD 2 2 2
         GETFIELD 2 2 3
         CLOSURE 3 1
         SETFIELD 2 4 3 0
         CLOSURE 2 2
         SETTABUP 0 5 2 0
         NEWTABLE 2 0 0
         CLOSURE 3 3
         SETFIELD 2 0 3 0
         RETURN 3 1",
    );
    assert_eq!(
        proto.lines,
        [
            1, 1, 3, 4, 4, 4, 5, 6, 6, 8, 8, 8, 8, 9, 9, 9, 10, 11, 11, 11, 12, 8, 14, 14, 15, 15,
            15, 15, 15, 16, 16, 17, 18, 18, 18
        ]
    );
    assert_eq!(
        constants(&proto, &interner),
        ["\"f\"", "\"t\"", "\"a\"", "\"b\"", "\"m\"", "\"g\""]
    );
    let names: Vec<&str> = proto.locvars.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "i",
            "x",
            "(for state)",
            "(for state)",
            "(for state)",
            "j",
            "y",
            "z",
            "o"
        ]
    );
    let [getter, m, g, f] = &proto.protos[..] else {
        panic!("four functions expected")
    };
    assert_code(&listing(getter), "GETUPVAL 0 0\nRETURN1 0\nRETURN0");
    assert_code(&listing(m), "MOVE 2 0\nMOVE 3 1\nRETURN 2 3\nRETURN0");
    assert_eq!((m.num_params, m.is_vararg, m.max_stack), (2, false, 4));
    assert_code(&listing(g), "RETURN0");
    assert_code(
        &listing(f),
        "VARARGPREP 0\nVARARG 0 0\nRETURN 0 0\nRETURN 0 1",
    );
    assert_eq!(
        (f.line_defined, f.last_line_defined, f.num_params),
        (18, 18, 0)
    );
    assert_eq!(
        proto.upvalues,
        [crate::func::UpvalDesc {
            name: "_ENV".into(),
            in_stack: true,
            index: 0
        }]
    );
    assert_eq!(
        (proto.line_defined, proto.last_line_defined, proto.is_vararg),
        (0, 0, true)
    );
    for child in &proto.protos {
        assert!(
            Arc::ptr_eq(&child.source, &proto.source),
            "one shared source"
        );
    }
}
