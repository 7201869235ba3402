//! The reference implementation for the differential tests
//! (`support::lua54`, in vm-stdlib's tests too): whether `lua5.4` and
//! `luac5.4` are on the `PATH`, and many small sources through one `lua5.4`
//! process.
//!
//! A test that needs one of them starts with
//! `if !lua54::lua_available("name") { return; }`: when the binary is
//! missing it says so on standard error (`cargo test -- --nocapture` shows
//! it) and passes without comparing. When the binary is there but fails,
//! the test fails.

// Each test uses only some of these.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The reference interpreter (Debian package `lua5.4`).
pub(crate) const LUA: &str = "lua5.4";

/// The reference compiler, shipped by the same Debian package.
pub(crate) const LUAC: &str = "luac5.4";

/// Whether `lua5.4` is on the `PATH`; when not, prints that `test` is
/// skipped and how to install it.
pub(crate) fn lua_available(test: &str) -> bool {
    on_path(LUA, test)
}

/// Whether `luac5.4` is on the `PATH`; when not, prints that `test` is
/// skipped and how to install it.
pub(crate) fn luac_available(test: &str) -> bool {
    on_path(LUAC, test)
}

/// Whether an executable `program` is in a directory of the `PATH`, as
/// `Command::new(program)` looks for it.
fn on_path(program: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(program)))
    });
    if !found {
        eprintln!(
            "SKIPPED {test}: `{program}` is not on the PATH. Install it with \
             `sudo apt-get install lua5.4` (Debian and Ubuntu; the package has \
             both lua5.4 and luac5.4), as `.ci/run` does."
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

/// What `lua5.4` makes of each of `sources`, in order: `each` is the body
/// of a Lua function of `src` (the source, a string) that returns a
/// string. Sources and results travel length-prefixed, so they may hold
/// any bytes.
///
/// # Panics
/// When `lua5.4` cannot be started or fails: callers check
/// [`lua_available`] first.
pub(crate) fn each_source<S: AsRef<[u8]>>(each: &str, sources: &[S]) -> Vec<String> {
    let driver = format!(
        r#"local function each(src) {each} end
local input = io.read("a")
local pos, out = 1, {{}}
while pos <= #input do
  local nl = input:find("\n", pos, true)
  local len = tonumber(input:sub(pos, nl - 1))
  local src = input:sub(nl + 1, nl + len)
  pos = nl + len + 1
  local res = each(src)
  out[#out + 1] = #res .. "\n" .. res
end
io.write(table.concat(out))"#
    );
    let mut input = Vec::new();
    for s in sources {
        let s = s.as_ref();
        input.extend_from_slice(format!("{}\n", s.len()).as_bytes());
        input.extend_from_slice(s);
    }
    let mut child = Command::new(LUA)
        .args(["-e", &driver])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("lua5.4 starts");
    let mut stdin = child.stdin.take().expect("a pipe");
    stdin.write_all(&input).expect("lua5.4 reads");
    drop(stdin);
    let output = child.wait_with_output().expect("lua5.4 ends");
    assert!(output.status.success(), "lua5.4 failed");
    let mut results = Vec::new();
    let mut rest = &output.stdout[..];
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let len: usize = std::str::from_utf8(&rest[..nl])
            .ok()
            .and_then(|s| s.parse().ok())
            .expect("a length");
        results.push(String::from_utf8_lossy(&rest[nl + 1..nl + 1 + len]).into_owned());
        rest = &rest[nl + 1 + len..];
    }
    assert_eq!(results.len(), sources.len(), "one result per source");
    results
}
