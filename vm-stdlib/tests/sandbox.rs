//! The sandbox profile (`vm_stdlib::open_sandboxed`): a script cannot reach
//! files, processes, the environment or binary chunks, and keeps the rest
//! of the standard library.

mod support;

use support::sandboxed;

/// Runs `src` in a fresh sandbox and returns what it returns, each value
/// shown as `tostring` would, or the error message.
fn run(src: &str) -> String {
    let mut vm = sandboxed();
    match vm.exec(src.as_bytes(), "=sandbox") {
        Ok(vals) => vals
            .iter()
            .map(|&v| vm.to_display(v))
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => vm.error_to_string(&e),
    }
}

#[test]
fn nothing_outside_the_vm_is_reachable() {
    for name in [
        "io",
        "dofile",
        "loadfile",
        "require",
        "package",
        "debug",
        "os.execute",
        "os.exit",
        "os.getenv",
        "os.remove",
        "os.rename",
        "os.tmpname",
        "os.setlocale",
    ] {
        assert_eq!(run(&format!("return {name} == nil")), "true", "{name}");
    }
    // Not through the loaded-modules table either.
    assert_eq!(
        run("local n = 0 for k in pairs(os) do n = n + 1 end return n"),
        "4"
    );
}

#[test]
fn binary_chunks_are_refused() {
    let refused = "attempt to load a binary chunk (mode is 't')";
    assert_eq!(
        run("return select(2, load(string.dump(function() return 1 end)))"),
        refused
    );
    // Asking for binary mode does not help.
    assert_eq!(
        run("return select(2, load(string.dump(function() return 1 end), 'x', 'b'))"),
        refused
    );
    assert_eq!(run("return load('return 1 + 1')()"), "2");
}

#[test]
fn the_safe_libraries_work() {
    assert_eq!(
        run(
            "return ('%d-%s'):format(3, ('ab'):rep(2)), table.concat({1, 2}, ','), \
             math.max(3, 7), utf8.char(72, 105), coroutine.wrap(function() return 'co' end)()"
        ),
        "3-abab 1,2 7 Hi co"
    );
    assert_eq!(
        run("return os.date('!%Y-%m-%d', 0), os.difftime(10, 4), os.time() > 0, os.clock() >= 0"),
        "1970-01-01 6.0 true true"
    );
    assert_eq!(run("return pcall(error, 'x')"), "false x");
}
