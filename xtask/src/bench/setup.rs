//! What a benchmark run needs before it starts: the two interpreters, the list of
//! benchmarks, and a description of the machine.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exec;

/// The reference interpreter's command name (Debian package `lua5.4`).
pub(crate) const LUA: &str = "lua5.4";

/// Environment variable that names the binary to benchmark instead of building `vm`.
pub(crate) const VM_OVERRIDE: &str = "VM_BENCH_VM";

/// One Lua program under `bench/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Benchmark {
    /// The file name without `.lua`.
    pub(crate) name: String,
    /// The path of the script.
    pub(crate) path: PathBuf,
}

/// The path of `lua5.4`, installing it with apt-get when running as root.
///
/// # Errors
/// When `lua5.4` is missing and cannot be installed here, the message is exactly the
/// command to install it; also when the installation fails.
pub(crate) fn ensure_lua() -> Result<PathBuf, String> {
    if let Some(path) = find_on_path(LUA) {
        return Ok(path);
    }
    if !(is_root() && find_on_path("apt-get").is_some()) {
        return Err(format!("sudo apt-get install {LUA}"));
    }
    eprintln!("bench: {LUA} is not on PATH; installing it with apt-get");
    let apt_get = |args: &[&str]| {
        let shown = format!("apt-get {}", args.join(" "));
        exec::run_status(Command::new("apt-get").args(args), &shown)
    };
    let install = ["install", "-y", LUA];
    if apt_get(&install).is_err() {
        // A fresh machine may have no package lists yet.
        apt_get(&["update"])?;
        apt_get(&install)?;
    }
    find_on_path(LUA).ok_or_else(|| format!("error: {LUA} is still not on PATH after apt-get"))
}

/// The binary to benchmark: `$VM_BENCH_VM` if set, otherwise `vm` freshly built in
/// release mode.
///
/// # Errors
/// If the override names no executable, or the build fails.
pub(crate) fn vm_binary(root: &Path) -> Result<PathBuf, String> {
    if let Some(chosen) = std::env::var_os(VM_OVERRIDE) {
        let chosen = PathBuf::from(chosen);
        // A bare name such as `lua5.4` is looked up on PATH, like a shell would.
        let resolved = if chosen.components().count() == 1 {
            find_on_path(chosen.as_os_str())
        } else {
            Some(chosen.clone()).filter(|path| is_executable(path))
        };
        return resolved.ok_or_else(|| {
            format!(
                "error: {VM_OVERRIDE}={} is not an executable file",
                chosen.display()
            )
        });
    }
    let build = ["build", "--release", "-p", "vm-cli"];
    exec::run_status(
        &mut exec::cargo(&build),
        &format!("cargo {}", build.join(" ")),
    )?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    let vm = target_dir.join("release").join("vm");
    if is_executable(&vm) {
        Ok(vm)
    } else {
        Err(format!("error: the build produced no {}", vm.display()))
    }
}

/// The `*.lua` files of `dir` whose name contains `filter`, sorted by name.
///
/// # Errors
/// If `dir` cannot be read, or nothing matches.
pub(crate) fn discover(dir: &Path, filter: Option<&str>) -> Result<Vec<Benchmark>, String> {
    let entries =
        fs::read_dir(dir).map_err(|err| format!("error: cannot read {}: {err}", dir.display()))?;
    let mut benchmarks = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|err| format!("error: cannot read {}: {err}", dir.display()))?
            .path();
        let name = match (path.extension(), path.file_stem()) {
            (Some(ext), Some(stem)) if ext == "lua" && path.is_file() => {
                stem.to_string_lossy().into_owned()
            }
            _ => continue,
        };
        if filter.is_none_or(|wanted| name.contains(wanted)) {
            benchmarks.push(Benchmark { name, path });
        }
    }
    benchmarks.sort_by(|a, b| a.name.cmp(&b.name));
    if benchmarks.is_empty() {
        let which = filter.map_or(String::new(), |f| format!(" matching `{f}`"));
        return Err(format!("error: no benchmark{which} in {}", dir.display()));
    }
    Ok(benchmarks)
}

/// The first executable file called `name` in the directories of `$PATH`.
pub(crate) fn find_on_path(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name.as_ref()))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a regular file with an execute bit set.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs as root: `/proc/self` belongs to the effective user.
fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// How many CPUs this process may use (what `nproc` prints).
pub(crate) fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The CPU model from `/proc/cpuinfo`, when there is one.
pub(crate) fn cpu_model() -> Option<String> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

/// The version of `lua`, such as `Lua 5.4.4`, from `lua -v`.
pub(crate) fn lua_version(lua: &Path) -> Option<String> {
    let output = Command::new(lua).arg("-v").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    (words.len() == 2).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty directory under the target dir's temp space.
    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    }

    #[test]
    fn discover_lists_lua_files_sorted_and_filtered() {
        let dir = scratch_dir("discover");
        for file in ["sort.lua", "fib.lua", "fib_big.lua", "notes.md", "lua"] {
            fs::write(dir.join(file), "print(1)\n").expect("write file");
        }
        fs::create_dir(dir.join("dir.lua")).expect("create dir");
        let names = |filter| -> Vec<String> {
            discover(&dir, filter)
                .expect("benchmarks found")
                .into_iter()
                .map(|b| b.name)
                .collect()
        };
        assert_eq!(names(None), ["fib", "fib_big", "sort"]);
        assert_eq!(names(Some("fib")), ["fib", "fib_big"]);
        let err = discover(&dir, Some("nbody")).expect_err("nothing matches");
        assert!(err.contains("no benchmark matching `nbody`"), "{err}");
        assert!(discover(&dir.join("missing"), None).is_err());
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn executables_are_found_on_path() {
        let sh = find_on_path("sh").expect("sh is on PATH");
        assert!(sh.ends_with("sh") && is_executable(&sh));
        assert_eq!(find_on_path("xtask-no-such-program"), None);
    }

    #[test]
    fn the_suite_is_there() {
        let benchmarks = discover(&exec::workspace_root().join("bench"), None).unwrap();
        assert!(benchmarks.len() >= 10, "{benchmarks:?}");
    }
}
