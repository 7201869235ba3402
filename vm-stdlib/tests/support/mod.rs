//! What vm-stdlib's integration tests share (`mod support;` in each test
//! file that needs it): a VM with every library or with the sandbox
//! profile, a chunk's results as text, and the submodules `slices` (a chunk driven in slices of a
//! budget) and `lua54` (the reference `lua5.4`, vm-core's
//! `tests/support/lua54.rs`, which the differential tests of both crates
//! share).
//!
//! The random program generator, `progen.rs`, is not a submodule: the
//! property tests that use it include it on their own (`#[path]`), so that
//! no other test binary compiles its 2,700 lines.

// Each test binary uses only some of these.
#![allow(dead_code)]

#[path = "../../../vm-core/tests/support/lua54.rs"]
pub(crate) mod lua54;
pub(crate) mod slices;

use vm_core::Vm;

/// A VM with every library (`vm_stdlib::open_all`).
pub(crate) fn vm() -> Box<Vm> {
    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm).unwrap();
    vm
}

/// A VM with the sandbox profile (`vm_stdlib::open_sandboxed`).
pub(crate) fn sandboxed() -> Box<Vm> {
    let mut vm = Vm::new();
    vm_stdlib::open_sandboxed(&mut vm).unwrap();
    vm
}

/// `src`'s results, run on a new [`vm`] as the chunk `=t`, rendered as
/// `tostring` does and joined with commas; panics with the source and the
/// error if it fails.
pub(crate) fn eval(src: &str) -> String {
    let mut vm = vm();
    let r = vm
        .exec(src.as_bytes(), "=t")
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    r.iter()
        .map(|v| vm.to_display(*v))
        .collect::<Vec<_>>()
        .join(",")
}
