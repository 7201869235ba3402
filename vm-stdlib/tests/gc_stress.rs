//! The Lua corpus (`tests/lua/`) with a full collection at every safe point
//! (`Vm::gc_set_stress`). The interpreter reads handles from registers,
//! upvalue cells and frames without the arena's checks (`raw::live`),
//! trusting the collector to keep them live; debug builds assert each such
//! read, and this is where a collection meets them most often.

mod support;

use std::path::PathBuf;

use support::vm;

/// The corpus but `gc.lua`, which checks the collector's pacing (memory
/// stays bounded under the normal debt rule, which stress mode replaces)
/// and allocates 300,000 tables in a loop: 300,000 full collections here.
fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/lua");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/lua exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .filter(|p| !p.ends_with("gc.lua"))
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn the_corpus_runs_with_a_collection_at_every_safe_point() {
    let scripts = corpus();
    assert!(scripts.len() >= 20, "only {} scripts", scripts.len());
    // Scripts open their data files by paths relative to their folder, as
    // `cd tests/lua && lua5.4 <file>` does. No other test in this binary
    // depends on the working directory.
    let dir = scripts[0].parent().expect("a folder");
    std::env::set_current_dir(dir).expect("enter tests/lua");
    let mut failures = Vec::new();
    for path in &scripts {
        let name = path.file_name().expect("name").to_string_lossy();
        let text = std::fs::read(path).expect("read script");
        let mut vm = vm();
        vm.gc_set_stress(true);
        if let Err(e) = vm.exec(&text, &format!("@{name}")) {
            failures.push(format!("{name}: {}", vm.error_to_string(&e)));
        }
        if let Err(broken) = vm.check_invariants() {
            failures.push(format!("{name}: {broken}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// True when a weak value lost its last strong reference has vanished by
/// the next safe point.
const WEAK_VALUE_GONE: &[u8] = br#"
    local cache = setmetatable({}, { __mode = "v" })
    cache[1] = {}
    local t = {} -- an allocation: a safe point
    return cache[1] == nil
"#;

#[test]
fn stress_mode_collects_at_every_safe_point() {
    // Weak values vanish at the first safe point after their last strong
    // reference goes, not at the next collection the debt would trigger.
    let mut vm = vm();
    vm.gc_set_stress(true);
    let r = vm.exec(WEAK_VALUE_GONE, "=stress").expect("runs");
    assert!(matches!(r[..], [vm_core::Value::Bool(true)]), "{r:?}");
    let mut vm = support::vm();
    let r = vm.exec(WEAK_VALUE_GONE, "=normal").expect("runs");
    assert!(matches!(r[..], [vm_core::Value::Bool(false)]), "{r:?}");
}

#[test]
fn leaving_stress_mode_restores_the_normal_pace() {
    let mut vm = vm();
    vm.gc_set_stress(true);
    vm.gc_set_stress(false);
    let r = vm.exec(WEAK_VALUE_GONE, "=off").expect("runs");
    assert!(matches!(r[..], [vm_core::Value::Bool(false)]), "{r:?}");
}
