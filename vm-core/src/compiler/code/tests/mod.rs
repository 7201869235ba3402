//! Tests of the code generator: exact listings of representative snippets
//! (shapes checked against `luac5.4 -l`), every error message, and
//! property tests on random trees.
//!
//! Trees are built with the small constructors of `syntax`; `listing`
//! renders instructions as `NAME operands...` (booleans as 0/1).

mod errors;
mod exprs;
mod props;
mod source;
mod stats;
mod syntax;

use std::collections::HashMap;
use std::sync::Arc;

use slotmap::SlotMap;

use crate::compiler::ast::Chunk;
use crate::compiler::{Interner, SyntaxError};
use crate::func::Proto;
use crate::opcodes::Op;
use crate::value::{StrRef, Value};

/// A deduplicating interner over a slot map, standing in for the heap.
#[derive(Default)]
pub(super) struct TestInterner {
    strings: SlotMap<StrRef, Vec<u8>>,
    index: HashMap<Vec<u8>, StrRef>,
}

impl Interner for TestInterner {
    fn intern(&mut self, bytes: &[u8]) -> StrRef {
        if let Some(&s) = self.index.get(bytes) {
            return s;
        }
        let s = self.strings.insert(bytes.to_vec());
        self.index.insert(bytes.to_vec(), s);
        s
    }
}

impl TestInterner {
    fn text(&self, s: StrRef) -> String {
        self.strings.get(s).map_or_else(
            || "?".to_string(),
            |b| String::from_utf8_lossy(b).into_owned(),
        )
    }
}

/// Compiles a chunk named `test`.
pub(super) fn compile(chunk: &Chunk) -> Result<(Proto, TestInterner), SyntaxError> {
    let mut interner = TestInterner::default();
    let proto = super::generate(chunk, Arc::from("=test"), "test", &mut interner)?;
    check_proto(&proto);
    Ok((proto, interner))
}

/// Compiles a chunk that must compile.
pub(super) fn compile_ok(chunk: &Chunk) -> (Proto, TestInterner) {
    match compile(chunk) {
        Ok(done) => done,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The error message of a chunk that must not compile.
pub(super) fn compile_err(chunk: &Chunk) -> String {
    match compile(chunk) {
        Ok((proto, _)) => panic!(
            "compiled, expected an error:\n{}",
            listing(&proto).join("\n")
        ),
        Err(e) => e.0,
    }
}

/// One line per instruction: `NAME operands...`.
pub(super) fn listing(proto: &Proto) -> Vec<String> {
    proto
        .code
        .iter()
        .map(|op| {
            let mut line = op.name().to_string();
            for operand in op.operands() {
                line.push(' ');
                line.push_str(&operand.to_string());
            }
            line
        })
        .collect()
}

/// The listing of the main function of `chunk`.
pub(super) fn main_listing(chunk: &Chunk) -> Vec<String> {
    listing(&compile_ok(chunk).0)
}

/// Constants rendered as Lua literals.
pub(super) fn constants(proto: &Proto, interner: &TestInterner) -> Vec<String> {
    proto
        .consts
        .iter()
        .map(|v| match *v {
            Value::Nil => "nil".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Num(f) => format!("{f:?}"),
            Value::Str(s) => format!("{:?}", interner.text(s)),
            other => format!("<{}>", other.type_name()),
        })
        .collect()
}

/// Asserts that `actual` is the listing `expected` (one instruction per
/// line, surrounding whitespace ignored).
#[track_caller]
pub(super) fn assert_code(actual: &[String], expected: &str) {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        actual,
        expected,
        "\nactual:\n{}\nexpected:\n{}\n",
        actual.join("\n"),
        expected.join("\n")
    );
}

/// Checks the structural invariants of a prototype and its children:
/// one line per instruction, register operands below `max_stack`, jump
/// targets inside the code, constant/prototype/upvalue indices in range,
/// the main-function shape. Panics with a description if one fails.
pub(super) fn check_proto(proto: &Proto) {
    assert_eq!(
        proto.lines.len(),
        proto.code.len(),
        "one line per instruction"
    );
    assert!(!proto.code.is_empty(), "a function has at least a return");
    assert!(
        matches!(
            proto.code.last(),
            Some(Op::Return { .. } | Op::Return0 {} | Op::Return1 { .. })
        ),
        "a function ends with a return"
    );
    if proto.is_vararg {
        assert_eq!(
            proto.code[0],
            Op::VarArgPrep {
                a: proto.num_params
            }
        );
    }
    for (pc, op) in proto.code.iter().enumerate() {
        check_op(proto, pc, op);
    }
    for var in &proto.locvars {
        assert!(
            var.start_pc <= var.end_pc,
            "local {} has a negative range",
            var.name
        );
        assert!(var.end_pc as usize <= proto.code.len());
    }
    for child in &proto.protos {
        assert!(Arc::ptr_eq(&child.source, &proto.source) || child.source == proto.source);
        check_proto(child);
    }
}

fn check_op(proto: &Proto, pc: usize, op: &Op) {
    let ctx = || {
        format!(
            "instruction {pc} ({op:?}) of\n{}",
            listing(proto).join("\n")
        )
    };
    let max = usize::from(proto.max_stack);
    let reg = |r: u8| {
        assert!(
            usize::from(r) < max,
            "register {r} >= max_stack {max}: {}",
            ctx()
        )
    };
    let regs = |first: u8, count: usize| {
        if count > 0 {
            reg(first);
            assert!(
                usize::from(first) + count <= max,
                "registers {first}+{count} > {max}: {}",
                ctx()
            );
        }
    };
    let konst = |k: u32| {
        assert!(
            (k as usize) < proto.consts.len(),
            "constant {k} out of range: {}",
            ctx()
        )
    };
    let string_k = |k: u32| {
        konst(k);
        assert!(
            matches!(proto.consts[k as usize], Value::Str(_)),
            "constant {k} not a string: {}",
            ctx()
        );
    };
    let upval = |u: u8| {
        assert!(
            usize::from(u) < proto.upvalues.len(),
            "upvalue {u} out of range: {}",
            ctx()
        )
    };
    let target = |t: i64| {
        assert!(
            0 <= t && (t as usize) < proto.code.len(),
            "jump target {t} out of code: {}",
            ctx()
        )
    };
    let rk = |c: u8, k: bool| if k { konst(u32::from(c)) } else { reg(c) };
    let next = pc as i64 + 1;
    match *op {
        Op::Move { a, b } => {
            reg(a);
            reg(b);
        }
        Op::LoadI { a, .. } | Op::LoadF { a, .. } | Op::LoadFalse { a } | Op::LoadTrue { a } => {
            reg(a)
        }
        Op::LFalseSkip { a } => {
            reg(a);
            target(next + 1);
        }
        Op::LoadK { a, bx } => {
            reg(a);
            konst(bx);
        }
        Op::LoadNil { a, b } => regs(a, usize::from(b) + 1),
        Op::GetUpval { a, b } | Op::SetUpval { a, b } => {
            reg(a);
            upval(b);
        }
        Op::GetTabUp { a, b, c } => {
            reg(a);
            upval(b);
            string_k(c);
        }
        Op::GetTable { a, b, c } => {
            reg(a);
            reg(b);
            reg(c);
        }
        Op::GetI { a, b, .. } => {
            reg(a);
            reg(b);
        }
        Op::GetField { a, b, c } => {
            reg(a);
            reg(b);
            string_k(c);
        }
        Op::SetTabUp { a, b, c, k } => {
            upval(a);
            string_k(b);
            rk(c, k);
        }
        Op::SetTable { a, b, c, k } => {
            reg(a);
            reg(b);
            rk(c, k);
        }
        Op::SetI { a, c, k, .. } => {
            reg(a);
            rk(c, k);
        }
        Op::SetField { a, b, c, k } => {
            reg(a);
            string_k(b);
            rk(c, k);
        }
        Op::NewTable { a, .. } => reg(a),
        Op::SelfOp { a, b, c } => {
            regs(a, 2);
            reg(b);
            string_k(c);
        }
        Op::AddI { a, b, .. }
        | Op::SubI { a, b, .. }
        | Op::ShrI { a, b, .. }
        | Op::ShlI { a, b, .. } => {
            reg(a);
            reg(b);
        }
        Op::AddK { a, b, c }
        | Op::AddKL { a, b, c }
        | Op::MulKL { a, b, c }
        | Op::SubK { a, b, c }
        | Op::MulK { a, b, c }
        | Op::ModK { a, b, c }
        | Op::PowK { a, b, c }
        | Op::DivK { a, b, c }
        | Op::IDivK { a, b, c }
        | Op::BAndK { a, b, c }
        | Op::BOrK { a, b, c }
        | Op::BXorK { a, b, c } => {
            reg(a);
            reg(b);
            konst(c);
            assert!(
                matches!(proto.consts[c as usize], Value::Int(_) | Value::Num(_)),
                "{}",
                ctx()
            );
        }
        Op::Add { a, b, c }
        | Op::Sub { a, b, c }
        | Op::Mul { a, b, c }
        | Op::Mod { a, b, c }
        | Op::Pow { a, b, c }
        | Op::Div { a, b, c }
        | Op::IDiv { a, b, c }
        | Op::BAnd { a, b, c }
        | Op::BOr { a, b, c }
        | Op::BXor { a, b, c }
        | Op::Shl { a, b, c }
        | Op::Shr { a, b, c } => {
            reg(a);
            reg(b);
            reg(c);
        }
        Op::Unm { a, b } | Op::BNot { a, b } | Op::Not { a, b } | Op::Len { a, b } => {
            reg(a);
            reg(b);
        }
        Op::Concat { a, b } => {
            assert!(b >= 2, "{}", ctx());
            regs(a, usize::from(b));
        }
        Op::Close { a } | Op::Tbc { a } => reg(a),
        Op::Jmp { sj } => target(next + i64::from(sj)),
        Op::Eq { a, b, .. } | Op::Lt { a, b, .. } | Op::Le { a, b, .. } => {
            reg(a);
            reg(b);
            assert!(
                matches!(proto.code.get(pc + 1), Some(Op::Jmp { .. })),
                "{}",
                ctx()
            );
        }
        Op::EqK { a, b, .. } => {
            reg(a);
            konst(b);
            assert!(
                matches!(proto.code.get(pc + 1), Some(Op::Jmp { .. })),
                "{}",
                ctx()
            );
        }
        Op::EqI { a, .. }
        | Op::LtI { a, .. }
        | Op::LeI { a, .. }
        | Op::GtI { a, .. }
        | Op::GeI { a, .. }
        | Op::Test { a, .. } => {
            reg(a);
            assert!(
                matches!(proto.code.get(pc + 1), Some(Op::Jmp { .. })),
                "{}",
                ctx()
            );
        }
        Op::TestSet { a, b, .. } => {
            reg(a);
            reg(b);
            assert!(
                matches!(proto.code.get(pc + 1), Some(Op::Jmp { .. })),
                "{}",
                ctx()
            );
        }
        Op::Call { a, b, c } => {
            regs(a, usize::from(b.max(1)));
            if c > 1 {
                regs(a, usize::from(c) - 1);
            }
        }
        Op::TailCall { a, b } => regs(a, usize::from(b.max(1))),
        Op::Return { a, b } => {
            if b > 1 {
                regs(a, usize::from(b) - 1);
            } else {
                assert!(usize::from(a) <= max, "{}", ctx());
            }
        }
        Op::Return0 {} => {}
        Op::Return1 { a } => reg(a),
        Op::ForPrep { a, bx } => {
            regs(a, 4);
            let end = next + i64::from(bx);
            target(end - 1);
            assert!(
                matches!(proto.code[(end - 1) as usize], Op::ForLoop { a: la, bx: lbx } if la == a && lbx == bx),
                "{}",
                ctx()
            );
        }
        Op::ForLoop { a, bx } => {
            regs(a, 4);
            target(next - i64::from(bx));
        }
        Op::TForPrep { a, bx } => {
            regs(a, 4);
            let call = next + i64::from(bx);
            target(call);
            assert!(
                matches!(proto.code[call as usize], Op::TForCall { a: ca, .. } if ca == a),
                "{}",
                ctx()
            );
        }
        Op::TForCall { a, c } => {
            // The iterator is called in `R[a+4..a+6]`.
            regs(a, 4 + usize::from(c).max(3));
            assert!(
                matches!(proto.code.get(pc + 1), Some(Op::TForLoop { a: la, .. }) if *la == a),
                "{}",
                ctx()
            );
        }
        Op::TForLoop { a, bx } => {
            regs(a, 5);
            target(next - i64::from(bx));
        }
        Op::SetList { a, b, .. } => regs(a, usize::from(b) + 1),
        Op::Closure { a, bx } => {
            reg(a);
            assert!((bx as usize) < proto.protos.len(), "{}", ctx());
        }
        Op::VarArg { a, c } => {
            assert!(proto.is_vararg, "{}", ctx());
            if c > 1 {
                regs(a, usize::from(c) - 1);
            } else {
                assert!(usize::from(a) <= max, "{}", ctx());
            }
        }
        Op::VarArgPrep { a } => {
            assert_eq!(pc, 0, "{}", ctx());
            assert_eq!(a, proto.num_params, "{}", ctx());
        }
    }
}
