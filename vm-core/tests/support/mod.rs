//! What vm-core's integration tests share (`mod support;` in each test
//! file that needs it): a VM with the standard library, running a chunk
//! that must succeed, and the submodules `lua54` (the reference `lua5.4`
//! and `luac5.4` for the differential tests) and `scale` (property-test
//! sizes from `VM_TEST_SCALE`).
//!
//! The random program generator is not here: it is vm-stdlib's
//! `tests/support/progen.rs`, which `bytecode_fuzz.rs` includes on its own
//! (`#[path]`), so that no other test binary compiles its 2,700 lines.

// Each test binary uses only some of these.
#![allow(dead_code)]

pub(crate) mod lua54;
pub(crate) mod scale;

use vm_core::{Value, Vm};

/// A VM with the standard library (`pcall`, `string`, ... for the
/// scripts; vm-core's own tests need no more than that).
pub(crate) fn vm() -> Box<Vm> {
    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm).unwrap();
    vm
}

/// `src`'s results, run on `vm` as the chunk `=test`; panics with the
/// source and the error if it fails.
pub(crate) fn run(vm: &mut Vm, src: &str) -> Vec<Value> {
    match vm.exec(src.as_bytes(), "=test") {
        Ok(v) => v,
        Err(e) => panic!("{src}\n{e}"),
    }
}

/// The first of `v`, which must be an integer.
pub(crate) fn int(v: &[Value]) -> i64 {
    match v.first() {
        Some(Value::Int(i)) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}
