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

/// Checks the structural invariants of a prototype and its children with
/// the bytecode verifier `load` runs (operands in range, jump targets in
/// the code, the code generator's shape), and that children share their
/// parent's source. Panics with the listing if one fails.
pub(super) fn check_proto(proto: &Proto) {
    if let Err(e) = crate::verify::verify(proto) {
        panic!("{e}\n{}", listing(proto).join("\n"));
    }
    check_sources(proto);
}

fn check_sources(proto: &Proto) {
    for child in &proto.protos {
        assert!(Arc::ptr_eq(&child.source, &proto.source) || child.source == proto.source);
        check_sources(child);
    }
}
