//! Differential test of random programs (`support/progen.rs`): every
//! generated program, with and without coroutines, returns under the VM
//! exactly what `lua5.4` returns for it.
//!
//! Without `lua5.4` on the `PATH` the comparisons are skipped (with a
//! message) and only the VM side is checked; with it, a failure of
//! `lua5.4` fails the test. `VM_TEST_SCALE` multiplies the
//! number of cases (64 by default).

#[path = "support/progen.rs"]
mod progen;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use proptest::prelude::*;
use support::{lua54, vm};
use vm_core::Value;

/// The chunk name both interpreters use, so error positions agree.
const CHUNK: &str = "=prog";

/// Whether to compare with `lua5.4`, looked up (and the skip reported)
/// once for all cases.
fn lua_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| lua54::lua_available("progen_check's comparisons with lua5.4"))
}

/// Runs `src` under `lua5.4` as the chunk `=prog` and returns what the
/// chunk returns (written with `io.write`).
fn run_lua(src: &str) -> Result<Vec<u8>, String> {
    let driver = format!("io.write(assert(load(io.read('a'), '{CHUNK}'))())");
    let mut child = Command::new(lua54::LUA)
        .args(["-e", &driver])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start lua5.4: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(src.as_bytes())
        .map_err(|e| format!("cannot write to lua5.4: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("lua5.4 failed: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "lua5.4 {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `src` under the VM with the standard library and returns the
/// string the chunk returns.
fn run_vm(src: &str) -> Result<Vec<u8>, String> {
    let mut vm = vm();
    let results = vm
        .exec(src.as_bytes(), CHUNK)
        .map_err(|e| format!("VM error: {e}"))?;
    match results.first() {
        Some(&v @ Value::Str(_)) => Ok(vm.str_bytes(v).expect("a string").to_vec()),
        other => Err(format!("VM returned {other:?} instead of a string")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: progen::cases(64), ..ProptestConfig::default() })]

    #[test]
    fn programs_agree_with_lua(src in progen::program()) {
        agree(&src)?;
    }

    #[test]
    fn coroutine_programs_agree_with_lua(src in progen::program_with_coroutines()) {
        agree(&src)?;
    }
}

fn agree(src: &str) -> Result<(), TestCaseError> {
    let ours = run_vm(src);
    prop_assert!(ours.is_ok(), "{src}\n{}", ours.unwrap_err());
    if lua_available() {
        let theirs = run_lua(src);
        prop_assert!(
            theirs.is_ok(),
            "generated program fails under lua5.4:\n{src}\n{}",
            theirs.unwrap_err()
        );
        let (ours, theirs) = (ours.unwrap(), theirs.unwrap());
        prop_assert!(
            ours == theirs,
            "{src}\nVM:     {}\nlua5.4: {}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
    Ok(())
}

/// The same tape always gives the same program, and an empty tape a
/// minimal one.
#[test]
fn generation_is_deterministic() {
    let tape: Vec<u32> = (0..500u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    assert_eq!(progen::generate(&tape, true), progen::generate(&tape, true));
    let empty = progen::generate(&[], false);
    assert!(empty.ends_with("return res\n"), "{empty}");
}
