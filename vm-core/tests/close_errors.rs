//! An error leaving the VM is kept alive while the `__close` handlers of the
//! abandoned frames run, even when a handler drops it and collects.

mod support;

use support::vm;

const DROPS_AND_COLLECTS: &str = r#"
    local x <close> = setmetatable({}, {__close = function(o, e) e = nil; collectgarbage() end})
    error("boom" .. tostring(1))
"#;

#[test]
fn an_error_escaping_exec_survives_a_collecting_close_handler() {
    let mut vm = vm();
    let e = vm.exec(DROPS_AND_COLLECTS.as_bytes(), "=t").unwrap_err();
    assert_eq!(vm.error_to_string(&e), "t:3: boom1");
    vm.check_invariants().unwrap();
}

#[test]
fn an_error_escaping_a_driven_run_survives_a_collecting_close_handler() {
    let mut vm = vm();
    let f = vm.load(DROPS_AND_COLLECTS.as_bytes(), "=t").unwrap();
    let e = vm.start(f, &[], u64::MAX).unwrap_err();
    assert_eq!(vm.error_to_string(&e), "t:3: boom1");
    vm.check_invariants().unwrap();
}
