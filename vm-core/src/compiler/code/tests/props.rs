//! Property tests: random trees never make `generate` panic, and whatever
//! compiles satisfies the structural invariants of `check_proto`
//! (registers below `max_stack`, jumps inside the code, one line per
//! instruction, ...). Case counts scale with `VM_TEST_SCALE`.

use proptest::prelude::*;

use super::syntax::*;
use super::*;
use crate::compiler::ast::{
    Attrib, BinOp, Block, Chunk, Expr, ExprKind, Field, Stat, StatKind, UnOp,
};

/// Case count for this run: `base` times `VM_TEST_SCALE` (default 1).
fn cases(base: u32) -> u32 {
    let scale = std::env::var("VM_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

const NAMES: &[&str] = &["a", "b", "c", "x", "f", "_ENV", "self"];
const LABELS: &[&str] = &["l1", "l2", "continue"];

fn arb_name() -> impl Strategy<Value = String> {
    proptest::sample::select(NAMES).prop_map(str::to_string)
}

fn arb_binop() -> impl Strategy<Value = BinOp> {
    use BinOp::*;
    proptest::sample::select(vec![
        Add, Sub, Mul, Div, IDiv, Mod, Pow, Concat, Eq, Ne, Lt, Le, Gt, Ge, And, Or, BAnd, BOr,
        BXor, Shl, Shr,
    ])
}

fn arb_unop() -> impl Strategy<Value = UnOp> {
    proptest::sample::select(vec![UnOp::Neg, UnOp::Not, UnOp::Len, UnOp::BNot])
}

fn arb_leaf() -> BoxedStrategy<Expr> {
    prop_oneof![
        Just(nil()),
        Just(tru()),
        Just(fal()),
        (-300i64..300).prop_map(int),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(65536),
            Just(65537),
            Just(-65536)
        ]
        .prop_map(int),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(0.5),
            Just(2.0),
            Just(1e300),
            Just(f64::NAN)
        ]
        .prop_map(flt),
        "[a-c]{0,3}".prop_map(|s| str(&s)),
        Just(vararg()),
        arb_name().prop_map(|n| name(&n)),
    ]
    .boxed()
}

fn arb_expr(depth: u32) -> BoxedStrategy<Expr> {
    if depth == 0 {
        return arb_leaf();
    }
    let sub = || arb_expr(depth - 1);
    prop_oneof![
        3 => arb_leaf(),
        3 => (arb_binop(), sub(), sub()).prop_map(|(op, a, b)| bin(op, a, b)),
        1 => (arb_unop(), sub()).prop_map(|(op, a)| un(op, a)),
        1 => (sub(), sub()).prop_map(|(t, k)| index(t, k)),
        1 => (sub(), arb_name()).prop_map(|(t, f)| field(t, &f)),
        1 => (sub(), prop::collection::vec(sub(), 0..4)).prop_map(|(f, args)| call(f, args)),
        1 => (sub(), arb_name(), prop::collection::vec(sub(), 0..3))
            .prop_map(|(o, m, args)| method(o, &m, args)),
        1 => sub().prop_map(paren),
        1 => prop::collection::vec(arb_field(depth - 1), 0..5).prop_map(table),
        1 => (prop::collection::vec(arb_name(), 0..3), prop::bool::weighted(0.8), arb_block(depth - 1))
            .prop_map(|(params, va, b)| {
                let params: Vec<&str> = params.iter().map(String::as_str).collect();
                func(&params, va, b)
            }),
    ]
    .boxed()
}

fn arb_field(depth: u32) -> BoxedStrategy<Field> {
    prop_oneof![
        arb_expr(depth).prop_map(pos),
        (arb_name(), arb_expr(depth)).prop_map(|(n, v)| named(&n, v)),
        (arb_expr(depth), arb_expr(depth)).prop_map(|(k, v)| keyed(k, v)),
    ]
    .boxed()
}

/// An assignable expression.
fn arb_target(depth: u32) -> BoxedStrategy<Expr> {
    prop_oneof![
        arb_name().prop_map(|n| name(&n)),
        (arb_expr(depth), arb_expr(depth)).prop_map(|(t, k)| index(t, k)),
    ]
    .boxed()
}

fn arb_attrib() -> impl Strategy<Value = Attrib> {
    prop_oneof![8 => Just(Attrib::None), 2 => Just(Attrib::Const), 1 => Just(Attrib::Close)]
}

fn arb_stat(depth: u32) -> BoxedStrategy<Stat> {
    let e = || arb_expr(depth.saturating_sub(1));
    let exprs = move |n: usize| prop::collection::vec(arb_expr(depth.saturating_sub(1)), 0..n);
    let simple = prop_oneof![
        4 => (prop::collection::vec((arb_name(), arb_attrib()), 1..4), exprs(4)).prop_map(|(names, exprs)| {
            s(StatKind::Local { names, exprs })
        }),
        4 => (prop::collection::vec(arb_target(depth.saturating_sub(1)), 1..4), exprs(4))
            .prop_map(|(targets, exprs)| assign(targets, exprs)),
        3 => (e(), exprs(3)).prop_map(|(f, args)| call_stat(call(f, args))),
        1 => Just(brk()),
        1 => proptest::sample::select(LABELS).prop_map(goto),
        1 => proptest::sample::select(LABELS).prop_map(label),
    ];
    if depth == 0 {
        return simple.boxed();
    }
    let b = || arb_block(depth - 1);
    prop_oneof![
        4 => simple,
        1 => b().prop_map(do_),
        1 => (e(), b()).prop_map(|(c, body)| while_(c, body)),
        1 => (b(), e()).prop_map(|(body, c)| repeat(body, c)),
        1 => (prop::collection::vec((e(), b()), 1..3), proptest::option::of(b()))
            .prop_map(|(arms, els)| if_(arms, els)),
        1 => (arb_name(), e(), e(), proptest::option::of(e()), b())
            .prop_map(|(v, a, l, st, body)| num_for(&v, a, l, st, body)),
        1 => (prop::collection::vec(arb_name(), 1..3), exprs(4), b()).prop_map(|(names, es, body)| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            gen_for(&names, es, body)
        }),
        1 => (arb_name(), prop::bool::weighted(0.8), b()).prop_map(|(n, va, body)| {
            local_function(&n, super::syntax::body(&["p"], va, body, 1, 1))
        }),
        1 => (prop::collection::vec(arb_name(), 1..3), proptest::option::of(arb_name()), b())
            .prop_map(|(path, m, body)| {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                function(&path, m.as_deref(), super::syntax::body(&[], true, body, 1, 1))
            }),
    ]
    .boxed()
}

fn arb_block(depth: u32) -> BoxedStrategy<Block> {
    (
        prop::collection::vec(arb_stat(depth), 0..5),
        proptest::option::of(prop::collection::vec(
            arb_expr(depth.saturating_sub(1)),
            0..3,
        )),
    )
        .prop_map(|(stats, ret)| match ret {
            Some(exprs) => block_ret(stats, exprs),
            None => block(stats),
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// Random expressions assigned to locals and globals.
    #[test]
    fn random_expressions_compile_to_valid_code(exprs in prop::collection::vec(arb_expr(4), 1..4)) {
        let mut stats = vec![local(&["a", "b"], vec![vararg()])];
        stats.push(local(&["x"], exprs.clone()));
        stats.push(assign(vec![name("g"), index(name("a"), name("b"))], exprs.clone()));
        stats.push(if_(vec![(exprs[0].clone(), block(vec![]))], None));
        // `compile` checks the invariants of whatever compiles.
        let _ = compile(&chunk_ret(stats, exprs));
    }

    /// Random programs.
    #[test]
    fn random_programs_compile_to_valid_code(b in arb_block(3)) {
        // Inside a loop, with the labels defined after it, so that more
        // programs compile.
        let mut stats = vec![while_(name("x"), b)];
        stats.extend(LABELS.iter().map(|l| label(l)));
        let _ = compile(&chunk(stats));
    }
}

/// Runs `f` on a thread with a stack of `kib` KiB.
fn with_stack<T: Send>(kib: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(kib * 1024)
            .spawn_scoped(scope, f)
            .expect("spawn a test thread")
            .join()
            .expect("no stack overflow")
    })
}

#[test]
fn long_left_leaning_chains_do_not_deepen_the_stack() {
    // Built, compiled and dropped on a small stack: none of it recurses on
    // the chains' length.
    let n = 100_000;
    let code_len = with_stack(256, move || {
        // a + a + ..., a or a or ..., a and a and ..., a == a == ...,
        // t.k.k.k..., f()()()..., and a tree the parser does not build
        // (it would need parentheses): suffixes on binary operators on
        // suffixes, `((a.k < a) or a):m().k < a ...`, one spine all along.
        let mut sum = name("a");
        let mut or = name("a");
        let mut and = name("a");
        let mut eq = name("a");
        let mut fields = name("t");
        let mut calls = name("f");
        let mut mixed = name("a");
        for i in 0..n {
            sum = bin(BinOp::Add, sum, name("a"));
            or = bin(BinOp::Or, or, name("a"));
            and = bin(BinOp::And, and, name("a"));
            eq = bin(BinOp::Eq, eq, name("a"));
            fields = field(fields, "k");
            calls = call(calls, vec![]);
            mixed = match i % 4 {
                0 => field(mixed, "k"),
                1 => bin(BinOp::Lt, mixed, name("a")),
                2 => bin(BinOp::Or, mixed, name("a")),
                _ => method(mixed, "m", vec![]),
            };
        }
        let chunk = chunk(vec![
            local(&["a"], vec![int(1)]),
            local(&["s"], vec![sum]),
            local(&["o"], vec![or]),
            local(&["n"], vec![and]),
            local(&["e"], vec![eq]),
            local(&["t"], vec![fields]),
            call_stat(calls),
            local(&["m"], vec![mixed]),
        ]);
        compile(&chunk).map(|(p, _)| p.code.len())
    });
    assert!(code_len.expect("compiles") > 7 * n);
}

#[test]
fn long_statement_lists_and_wide_tables() {
    let stats = (0..10_000)
        .map(|i| assign(vec![name(&format!("g{}", i % 300))], vec![int(i)]))
        .collect();
    let (proto, _) = compile_ok(&chunk(stats));
    // One `SETTABUP` each, plus a `LOADI` once the constants outgrow `RK`.
    assert!((10_002..=20_002).contains(&proto.code.len()));
    let items = (0..10_000).map(|i| pos(int(i))).collect();
    let (proto, _) = compile_ok(&chunk(vec![local(&["t"], vec![table(items)])]));
    assert_eq!(
        proto.code[1],
        Op::NewTable {
            a: 0,
            hash: 0,
            array: 10_000
        }
    );
    let setlists = proto
        .code
        .iter()
        .filter(|op| matches!(op, Op::SetList { .. }))
        .count();
    assert_eq!(setlists, 200);
}

#[test]
fn many_constants_beyond_the_rk_range() {
    // More than 256 constants: stores fall back to registers, loads and
    // field keys use the wide constant indices.
    let stats = (0..400)
        .map(|i| {
            assign(
                vec![field(name("t"), &format!("k{i}"))],
                vec![str(&format!("v{i}"))],
            )
        })
        .collect();
    let (proto, _) = compile_ok(&chunk(stats));
    assert!(proto.consts.len() > 800);
    assert!(proto
        .code
        .iter()
        .any(|op| matches!(op, Op::SetField { k: false, b, .. } if *b > 255)));
    assert!(proto
        .code
        .iter()
        .any(|op| matches!(op, Op::LoadK { bx, .. } if *bx > 255)));
}

#[test]
fn strings_are_interned_once() {
    let mut interner = TestInterner::default();
    let chunk = chunk(vec![
        assign(vec![name("x")], vec![str("x")]),
        assign(vec![field(name("t"), "x")], vec![str("x")]),
    ]);
    let proto =
        crate::compiler::generate(&chunk, Arc::from("=t"), "t", &mut interner).expect("compiles");
    assert_eq!(proto.consts.len(), 2, "\"x\" once, \"t\" once");
    assert_eq!(interner.strings.len(), 2);
}

#[test]
fn float_edge_constants() {
    // -0.0 (a tree the parser never builds) must not become `LOADF 0`;
    // NaN is a constant of its own; 1 and 1.0 are different constants.
    let chunk = chunk(vec![
        local(&["a"], vec![flt(-0.0)]),
        local(&["b"], vec![flt(f64::NAN)]),
        local(&["c"], vec![flt(1.0)]),
        local(&["d"], vec![int(1)]),
        assign(vec![field(name("t"), "x")], vec![flt(1.0)]),
        assign(vec![field(name("t"), "y")], vec![int(1)]),
    ]);
    let (proto, interner) = compile_ok(&chunk);
    assert_eq!(
        &listing(&proto)[1..5],
        ["LOADK 0 0", "LOADK 1 1", "LOADF 2 1", "LOADI 3 1"]
    );
    let consts = constants(&proto, &interner);
    assert_eq!(consts[0], "-0.0");
    assert_eq!(consts[1], "NaN");
    assert!(consts.contains(&"1.0".to_string()) && consts.contains(&"1".to_string()));
    let _ = ExprKind::Nil;
}

/// Trees nested `MAX_SYNTAX_DEPTH` deep in each way the parser allows.
fn deep_trees() -> Vec<(&'static str, Chunk)> {
    use crate::compiler::MAX_SYNTAX_DEPTH as N;
    let mut trees = Vec::new();
    let nest = |f: &dyn Fn(Expr) -> Expr| (0..N).fold(name("x"), |e, _| f(e));
    trees.push(("parens", nest(&|e| paren(e))));
    trees.push(("calls", nest(&|e| call(name("f"), vec![e]))));
    trees.push(("tables", nest(&|e| table(vec![pos(e)]))));
    trees.push(("negations", nest(&|e| un(UnOp::Neg, e))));
    trees.push(("nots", nest(&|e| un(UnOp::Not, e))));
    trees.push(("powers", nest(&|e| bin(BinOp::Pow, name("x"), e))));
    trees.push(("ands", nest(&|e| bin(BinOp::And, name("x"), paren(e)))));
    trees.push((
        "functions",
        nest(&|e| func(&[], false, block_ret(vec![], vec![e]))),
    ));
    let mut chunks: Vec<(&'static str, Chunk)> = trees
        .into_iter()
        .map(|(what, e)| (what, chunk(vec![local(&["x"], vec![e])])))
        .collect();
    let nest_block = |f: &dyn Fn(Block) -> Stat| {
        (0..N).fold(
            block(vec![call_stat(call(name("f"), vec![name("x")]))]),
            |b, _| block(vec![f(b)]),
        )
    };
    chunks.push((
        "blocks",
        Chunk {
            block: nest_block(&do_),
            end_line: 1,
        },
    ));
    chunks.push((
        "ifs",
        Chunk {
            block: nest_block(&|b| if_(vec![(name("x"), b)], Some(block(vec![])))),
            end_line: 1,
        },
    ));
    chunks.push((
        "whiles",
        Chunk {
            block: nest_block(&|b| while_(name("x"), b)),
            end_line: 1,
        },
    ));
    chunks.push((
        "fors",
        Chunk {
            block: nest_block(&|b| gen_for(&["k"], vec![name("x")], b)),
            end_line: 1,
        },
    ));
    chunks
}

#[test]
fn deep_nesting_fits_a_default_thread_stack() {
    // Recursion follows nesting, which the parser bounds; at that bound a
    // default-sized thread (2 MiB) is enough even without optimisations
    // (about 400 KiB are used with the test profile's).
    for (what, chunk) in deep_trees() {
        let result = with_stack(2048, || compile(&chunk).map(|_| ()).map_err(|e| e.0));
        // Nested loops run out of registers or locals; that is an error,
        // not a crash.
        if let Err(e) = result {
            assert!(e.contains("too many"), "{what}: {e}");
        }
    }
}
