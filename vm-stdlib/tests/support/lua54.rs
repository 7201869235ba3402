//! Whether the reference `lua5.4` is on the `PATH`, for the differential
//! tests (`#[path = "support/lua54.rs"] mod lua54;`).
//!
//! A test that needs it starts with
//! `if !lua54::lua_available("name") { return; }`: when `lua5.4` is missing
//! it says so on standard error (`cargo test -- --nocapture` shows it) and
//! passes without comparing. When `lua5.4` is there but fails, the test
//! fails.

use std::path::Path;

/// The reference interpreter (Debian package `lua5.4`).
pub(crate) const LUA: &str = "lua5.4";

/// Whether `lua5.4` is on the `PATH`; when not, prints that `test` is
/// skipped and how to install it.
pub(crate) fn lua_available(test: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(LUA)))
    });
    if !found {
        eprintln!(
            "SKIPPED {test}: `{LUA}` is not on the PATH. Install it with \
             `sudo apt-get install lua5.4` (Debian and Ubuntu), as `.ci/run` does."
        );
    }
    found
}

/// Whether `path` is an executable file, as `Command::new` looks for one.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}
