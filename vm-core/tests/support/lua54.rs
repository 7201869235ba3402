//! Many small sources through one `lua5.4` process, for the differential
//! tests (`#[path = "support/lua54.rs"] mod lua54;`).

use std::io::Write as _;
use std::process::{Command, Stdio};

/// What `lua5.4` makes of each of `sources`, in order: `each` is the body
/// of a Lua function of `src` (the source, a string) that returns a
/// string. Sources and results travel length-prefixed, so they may hold
/// any bytes.
///
/// # Panics
/// When `lua5.4` is not on the `PATH` (`.ci/run` installs it) or fails.
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
    let mut child = Command::new("lua5.4")
        .args(["-e", &driver])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("lua5.4 runs (.ci/run installs it)");
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
