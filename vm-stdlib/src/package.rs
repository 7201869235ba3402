//! The package library (`loadlib.c`): `require` and the `package` table
//! (`path`, `cpath`, `config`, `loaded`, `preload`, `searchers`,
//! `searchpath`, `loadlib`).
//!
//! Modules written in Lua are found through `package.path` (`?` templates,
//! `LUA_PATH_5_4` or `LUA_PATH` with `;;` standing for the default). This
//! VM cannot load native (C) modules: the C searchers still walk
//! `package.cpath`, so a missing module's message lists every path tried
//! as PUC's does, and a native module that exists is refused with a clear
//! error.
//!
//! `require` calls the searchers and the loader with `Vm::callk`, its
//! state in its frame: a module's main chunk runs through the interpreter
//! loop, under the budget, and may yield (PUC Lua: "attempt to yield
//! across a C-call boundary"). Searching pays for the bytes of the paths
//! it builds and the file it loads (the string library's cost model,
//! `string/cost.rs`).

use vm_core::TableRef;
use vm_core::{Args, LuaError, LuaResult, Status, Step, Value, Vm};

use crate::resumable::{int_at, set_int};
use crate::string::cost::charge_bytes;

natives! {
    natives {
        REQUIRE = "package.require" as "require" => require;
        SEARCHPATH = "package.searchpath" as "searchpath" => searchpath;
        LOADLIB = "package.loadlib" as "loadlib" => loadlib;
        SEARCHER_PRELOAD = "package.searcher_preload" as "searcher_preload" => searcher_preload;
        SEARCHER_LUA = "package.searcher_Lua" as "searcher_Lua" => searcher_lua;
        SEARCHER_C = "package.searcher_C" as "searcher_C" => searcher_c;
        SEARCHER_CROOT = "package.searcher_Croot" as "searcher_Croot" => searcher_croot;
    }
    continuations {
        REQUIRE_K = "package.require_k" => require_k;
        SEARCHER_LUA_K = "package.searcher_lua_k" => searcher_lua_k;
    }
}

/// `LUA_PATH_DEFAULT` of PUC's `luaconf.h` on POSIX systems.
const PATH_DEFAULT: &str = "/usr/local/share/lua/5.4/?.lua;/usr/local/share/lua/5.4/?/init.lua;\
/usr/local/lib/lua/5.4/?.lua;/usr/local/lib/lua/5.4/?/init.lua;./?.lua;./?/init.lua";
/// `LUA_CPATH_DEFAULT`.
const CPATH_DEFAULT: &str = "/usr/local/lib/lua/5.4/?.so;/usr/local/lib/lua/5.4/loadall.so;./?.so";
/// Directory separator, path separator, template mark, executable-directory
/// mark, ignore mark (`LUA_DIRSEP` ... `LUA_IGMARK`).
const CONFIG: &str = "/\n;\n?\n!\n-\n";

/// Installs `require` and the `package` table.
pub fn open_package(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let t = vm.new_table();
    vm.register(t, &[&SEARCHPATH, &LOADLIB])?;
    let path = env_path(&["LUA_PATH_5_4", "LUA_PATH"], PATH_DEFAULT);
    let s = vm.new_str(path.as_bytes());
    vm.raw_set_str(t, "path", s)?;
    let cpath = env_path(&["LUA_CPATH_5_4", "LUA_CPATH"], CPATH_DEFAULT);
    let s = vm.new_str(cpath.as_bytes());
    vm.raw_set_str(t, "cpath", s)?;
    let s = vm.new_str(CONFIG.as_bytes());
    vm.raw_set_str(t, "config", s)?;
    let loaded = vm.loaded_table();
    vm.raw_set_str(t, "loaded", Value::Table(loaded))?;
    let preload = vm.new_table();
    vm.raw_set_str(t, "preload", Value::Table(preload))?;
    // The searchers find `package` as their upvalue, as in `createsearcherstable`.
    let searchers = vm.new_table();
    for (i, f) in [
        &SEARCHER_PRELOAD,
        &SEARCHER_LUA,
        &SEARCHER_C,
        &SEARCHER_CROOT,
    ]
    .into_iter()
    .enumerate()
    {
        let s = vm.new_native_closure(f, vec![Value::Table(t)])?;
        vm.raw_set(searchers, Value::Int(i as i64 + 1), s)?;
    }
    vm.raw_set_str(t, "searchers", Value::Table(searchers))?;
    vm.register_library("package", t)?;
    let require = vm.new_native_closure(&REQUIRE, vec![Value::Table(t)])?;
    vm.install_global("require", require)?;
    Ok(())
}

/// A path from the first set environment variable, with `;;` replaced by
/// the default (`setpath`), or the default.
fn env_path(vars: &[&str], default: &str) -> String {
    let Some(v) = vars.iter().find_map(|v| std::env::var(v).ok()) else {
        return default.to_string();
    };
    match v.find(";;") {
        None => v,
        Some(i) => {
            let (pre, post) = (&v[..i], &v[i + 2..]);
            let mut out = String::from(pre);
            if !pre.is_empty() {
                out.push(';');
            }
            out.push_str(default);
            if !post.is_empty() {
                out.push(';');
                out.push_str(post);
            }
            out
        }
    }
}

/// The `package` table the functions were created with.
/// `debug.setupvalue` can replace it: then indexing it fails, as PUC's
/// `lua_getfield` on the upvalue does.
fn package_table(vm: &mut Vm, args: Args) -> LuaResult<TableRef> {
    match vm.upvalue(args, 1) {
        Value::Table(t) => Ok(t),
        other => {
            // Raised inside this native: no position, as in PUC Lua.
            let tn = vm.type_name_of(other);
            let msg = vm.new_str(format!("attempt to index a {tn} value").as_bytes());
            Err(LuaError::new(msg))
        }
    }
}

/// Bytes of a string value (empty for anything else).
fn bytes(vm: &Vm, v: Value) -> Vec<u8> {
    vm.str_bytes(v).unwrap_or_default().to_vec()
}

// `require`'s frame once it looks for a loader: the name, the number of
// the searcher being called, the "not found" messages so far (a userdata
// holding a `Vec<u8>`), then the call requested. While the loader runs,
// the loader data takes the call's place and the call sits above it.
const REQ_SEARCHER: usize = 1;
const REQ_MESSAGES: usize = 2;
const REQ_CALL: usize = 3;

// Contexts of `require_k`.
const SEARCHED: i64 = 0;
const LOADED: i64 = 1;

/// `require(name)` (`ll_require`): `package.loaded[name]`, or the result
/// of the first loader a searcher finds, stored there; returns it and the
/// loader data. The searchers and the loader are called with `Vm::callk`.
fn require(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = vm.check_string(args, 1)?;
    let loaded = vm.loaded_table();
    let have = vm.raw_get(loaded, name);
    if have.truthy() {
        vm.push(have);
        return Ok(Step::Return(1));
    }
    // `lua_settop(L, 1)` with the name as a string, then the state.
    while vm.frame_top(args) < 1 {
        vm.push(Value::Nil);
    }
    vm.frame_truncate(args, 1);
    vm.set_arg(args, 1, name);
    vm.push(Value::Int(0));
    let messages = vm.new_userdata(Box::new(Vec::<u8>::new()));
    vm.push(messages);
    next_searcher(vm, args)
}

fn require_k(vm: &mut Vm, args: Args, _status: Status, ctx: i64) -> LuaResult<Step> {
    let (first, second) = (
        vm.frame_get(args, REQ_CALL),
        vm.frame_get(args, REQ_CALL + 1),
    );
    vm.frame_truncate(args, REQ_CALL);
    if ctx == LOADED {
        // `first` is the loader data, `second` the loader's result.
        return module_loaded(vm, args, first, second);
    }
    match first {
        Value::LuaFn(_) | Value::Native(_) => {
            // A loader: call it with the name and the loader data.
            vm.push(second);
            vm.push(first);
            vm.push(vm.frame_get(args, 0));
            vm.push(second);
            return Ok(vm.callk(2, &REQUIRE_K, LOADED));
        }
        Value::Str(_) | Value::Int(_) | Value::Num(_) => {
            let text = vm.to_display(first);
            let text = match first {
                Value::Str(_) => bytes(vm, first),
                _ => text.into_bytes(),
            };
            // The messages gather in a buffer the heap counts.
            let messages = vm.frame_get(args, REQ_MESSAGES);
            let mut m = vm
                .userdata_mut::<Vec<u8>>(messages)
                .map(std::mem::take)
                .unwrap_or_default();
            crate::string::cost::charge_bytes(vm, text.len())?;
            crate::auxlib::reserve_bytes(vm, &mut m, text.len())?;
            m.extend_from_slice(&text);
            crate::auxlib::put_buffer(vm, messages, m);
        }
        _ => {}
    }
    next_searcher(vm, args)
}

/// Calls the next searcher of `package.searchers` with the name, or
/// raises "module not found" when there is none (`findloader`).
fn next_searcher(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let package = package_table(vm, args)?;
    let Value::Table(searchers) = vm.raw_get_str(package, "searchers") else {
        return Err(vm.error("'package.searchers' must be a table"));
    };
    let i = int_at(vm, args, REQ_SEARCHER) + 1;
    set_int(vm, args, REQ_SEARCHER, i);
    let name = vm.frame_get(args, 0);
    let searcher = vm.raw_get(searchers, Value::Int(i));
    if searcher.is_nil() {
        let messages = vm.frame_get(args, REQ_MESSAGES);
        let notfound = vm.userdata_ref::<Vec<u8>>(messages).cloned();
        let msg = [
            &b"module '"[..],
            &bytes(vm, name),
            b"' not found:",
            &notfound.unwrap_or_default(),
        ]
        .concat();
        return Err(vm.error_bytes(&msg));
    }
    vm.push(searcher);
    vm.push(name);
    Ok(vm.callk(1, &REQUIRE_K, SEARCHED))
}

/// Stores what the loader returned and returns the module and the loader
/// data.
fn module_loaded(vm: &mut Vm, args: Args, data: Value, result: Value) -> LuaResult<Step> {
    let name = vm.frame_get(args, 0);
    let loaded = vm.loaded_table();
    if !result.is_nil() {
        vm.raw_set(loaded, name, result)?;
    }
    let mut module = vm.raw_get(loaded, name);
    if module.is_nil() {
        module = Value::Bool(true);
        vm.raw_set(loaded, name, module)?;
    }
    vm.push(module);
    vm.push(data);
    Ok(Step::Return(2))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `package.preload[name]`, or why not.
fn searcher_preload(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = vm.check_string(args, 1)?;
    let package = package_table(vm, args)?;
    let Value::Table(preload) = vm.raw_get_str(package, "preload") else {
        return Err(vm.error("'package.preload' must be a table"));
    };
    let f = vm.raw_get(preload, name);
    if f.is_nil() {
        let msg = format!(
            "\n\tno field package.preload['{}']",
            lossy(&bytes(vm, name))
        );
        let s = vm.new_str(msg.as_bytes());
        vm.push(s);
        return Ok(Step::Return(1));
    }
    vm.push(f);
    let s = vm.new_str(b":preload:");
    vm.push(s);
    Ok(Step::Return(2))
}

/// The file `name` maps to in `path` (`searchpath`): the first template,
/// with `sep` in the name replaced by `rep` and `?` by the result, that
/// names a readable file; otherwise the "no file" list.
///
/// A long name times many templates makes names and a list of gigabytes:
/// the bytes scanned and built are paid for (a unit per 32, and one per
/// file probed) as the search goes, each name before it is built, and
/// each buffer is checked against the memory limit and allocated
/// fallibly.
fn search_path(
    vm: &mut Vm,
    name: &[u8],
    path: &[u8],
    sep: &[u8],
    rep: &[u8],
) -> LuaResult<Result<Vec<u8>, Vec<u8>>> {
    let mut owed = Owed(0);
    let name = if sep.is_empty() {
        name.to_vec()
    } else {
        // The separator's table, the name's scan, the new name.
        owed.add(vm, sep.len().saturating_add(name.len()))?;
        let sep = Matches::new(vm, sep)?;
        let len = replaced_len(name, &sep, rep);
        owed.add(vm, len)?;
        replace(vm, name, &sep, rep, len)?
    };
    let mark = Matches::new(vm, b"?")?;
    let mut tried = Vec::new();
    // Empty templates too: PUC lists them as "no file ''".
    for template in path.split(|&c| c == b';') {
        let len = replaced_len(template, &mark, &name);
        owed.add(vm, template.len().saturating_add(len))?;
        let file = replace(vm, template, &mark, &name, len)?;
        vm.charge(1)?;
        if std::fs::File::open(bytes_to_path(&file)).is_ok() {
            owed.settle(vm)?;
            return Ok(Ok(file));
        }
        owed.add(vm, file.len() + 12)?;
        crate::auxlib::reserve_bytes(vm, &mut tried, file.len() + 12)?;
        tried.extend_from_slice(b"\n\tno file '");
        tried.extend_from_slice(&file);
        tried.push(b'\'');
    }
    owed.settle(vm)?;
    Ok(Err(tried))
}

/// Bytes a search scanned or built and has not paid for yet: paid in
/// batches, since the pieces are often shorter than a unit's 32 bytes.
struct Owed(usize);

impl Owed {
    fn add(&mut self, vm: &mut Vm, bytes: usize) -> LuaResult<()> {
        self.0 = self.0.saturating_add(bytes);
        if self.0 >= 1 << 15 {
            self.settle(vm)?;
        }
        Ok(())
    }

    fn settle(&mut self, vm: &mut Vm) -> LuaResult<()> {
        charge_bytes(vm, std::mem::take(&mut self.0))
    }
}

#[cfg(unix)]
fn bytes_to_path(b: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(b).into()
}

#[cfg(not(unix))]
fn bytes_to_path(b: &[u8]) -> std::path::PathBuf {
    String::from_utf8_lossy(b).into_owned().into()
}

/// `s` with every occurrence of `from`'s pattern replaced by `to`, `len`
/// bytes long (`replaced_len`), its room checked first.
fn replace(vm: &mut Vm, s: &[u8], from: &Matches, to: &[u8], len: usize) -> LuaResult<Vec<u8>> {
    let mut out = Vec::new();
    crate::auxlib::reserve_bytes(vm, &mut out, len)?;
    let mut copied = 0;
    from.each(s, |at| {
        out.extend_from_slice(&s[copied..at]);
        out.extend_from_slice(to);
        copied = at + from.pat.len();
    });
    out.extend_from_slice(&s[copied..]);
    Ok(out)
}

/// The length of `replace(s, from, to)`.
fn replaced_len(s: &[u8], from: &Matches, to: &[u8]) -> usize {
    let mut n = 0usize;
    from.each(s, |_| n += 1);
    (s.len() - n * from.pat.len()).saturating_add(n.saturating_mul(to.len()))
}

/// A search for the non-overlapping occurrences of a pattern, left to
/// right as `luaL_gsub` finds them with `strstr`, in time linear in the
/// subject and the pattern whatever they hold (Knuth-Morris-Pratt): a
/// separator of half a megabyte is no quadratic scan of a long name.
struct Matches<'p> {
    pat: &'p [u8],
    /// `fail[i]`: the length of the longest proper border of `pat[..=i]`.
    fail: Vec<usize>,
}

impl<'p> Matches<'p> {
    fn new(vm: &mut Vm, pat: &'p [u8]) -> LuaResult<Self> {
        debug_assert!(!pat.is_empty());
        // A long separator's table is large: checked and allocated
        // fallibly (its building is paid with the search, `search_path`).
        let bytes = pat.len().saturating_mul(std::mem::size_of::<usize>());
        vm.reserve_memory(bytes)?;
        let mut fail = Vec::new();
        if fail.try_reserve_exact(pat.len()).is_err() {
            return Err(vm.memory_error());
        }
        fail.resize(pat.len(), 0);
        let mut k = 0;
        for i in 1..pat.len() {
            while k > 0 && pat[i] != pat[k] {
                k = fail[k - 1];
            }
            if pat[i] == pat[k] {
                k += 1;
            }
            fail[i] = k;
        }
        Ok(Matches { pat, fail })
    }

    /// Calls `found` with the start of each occurrence in `s`.
    fn each(&self, s: &[u8], mut found: impl FnMut(usize)) {
        let mut k = 0;
        for (i, &c) in s.iter().enumerate() {
            while k > 0 && c != self.pat[k] {
                k = self.fail[k - 1];
            }
            if c == self.pat[k] {
                k += 1;
            }
            if k == self.pat.len() {
                found(i + 1 - k);
                // Non-overlapping: the search starts afresh after a match.
                k = 0;
            }
        }
    }
}

/// `package.searchpath(name, path [, sep [, rep]])`.
fn searchpath(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    // PUC's compiled `ll_searchpath` evaluates its arguments last to first.
    let path = vm.check_string(args, 2)?;
    let name = vm.check_string(args, 1)?;
    let sep = match vm.opt_string(args, 3)? {
        Some(s) => bytes(vm, s),
        None => b".".to_vec(),
    };
    let rep = match vm.opt_string(args, 4)? {
        Some(s) => bytes(vm, s),
        None => b"/".to_vec(),
    };
    let (name, path) = (bytes(vm, name), bytes(vm, path));
    match search_path(vm, &name, &path, &sep, &rep)? {
        Ok(file) => {
            let s = vm.new_str(&file);
            vm.push(s);
            Ok(Step::Return(1))
        }
        Err(tried) => {
            vm.push(Value::Nil);
            // The list without its leading "\n\t" (`searchpath`'s result).
            let s = vm.new_str(tried.get(2..).unwrap_or_default());
            vm.push(s);
            Ok(Step::Return(2))
        }
    }
}

/// Searches `package[field]` for `name` (`findfile`).
fn find_file(
    vm: &mut Vm,
    args: Args,
    name: &[u8],
    field: &str,
) -> LuaResult<Result<Vec<u8>, Vec<u8>>> {
    let package = package_table(vm, args)?;
    let path = vm.raw_get_str(package, field);
    if !matches!(path, Value::Str(_)) {
        return Err(vm.error(&format!("'package.{field}' must be a string")));
    }
    let path = bytes(vm, path);
    search_path(vm, name, &path, b".", b"/")
}

/// Lua modules through `package.path`: the chunk of the file found, with
/// the file name as loader data.
fn searcher_lua(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = vm.check_string(args, 1)?;
    let name_bytes = bytes(vm, name);
    let file = match find_file(vm, args, &name_bytes, "path")? {
        Ok(file) => file,
        Err(tried) => {
            let s = vm.new_str(&tried);
            vm.push(s);
            return Ok(Step::Return(1));
        }
    };
    let file_str = lossy(&file);
    // The file's name (the second result) above the arguments, then the
    // file being read (`chunkfile`).
    vm.frame_truncate(args, args.len());
    let shown = vm.new_str(&file);
    vm.push(shown);
    if let Err(e) = crate::chunkfile::start(vm, Some(&file_str), "bt") {
        return Err(load_error(vm, &name_bytes, &file_str, &e));
    }
    searcher_lua_k(vm, args, Status::Ok, 0)
}

/// Goes on reading the module's file; returns its function and name.
fn searcher_lua_k(vm: &mut Vm, args: Args, _status: Status, _ctx: i64) -> LuaResult<Step> {
    use crate::chunkfile::Loaded;
    let file = vm.frame_get(args, args.len());
    match crate::chunkfile::steps(vm, args, args.len() + 1, None, &SEARCHER_LUA_K, 0)? {
        Loaded::Paused(step) => Ok(step),
        Loaded::Done(Ok(f)) => {
            vm.push(f);
            vm.push(file);
            Ok(Step::Return(2))
        }
        Loaded::Done(Err(e)) => {
            let name = vm.check_string(args, 1)?;
            let name = bytes(vm, name);
            let file = lossy(vm.str_bytes(file).unwrap_or_default());
            Err(load_error(vm, &name, &file, &e))
        }
    }
}

/// "error loading module 'NAME' from file 'FILE':\n\tWHY".
fn load_error(vm: &mut Vm, name: &[u8], file: &str, e: &LuaError) -> LuaError {
    let why = vm.error_to_string(e);
    let msg = format!(
        "error loading module '{}' from file '{file}':\n\t{why}",
        lossy(name)
    );
    vm.error(&msg)
}

/// Native modules through `package.cpath`: listed when missing, refused
/// when present (this VM loads no machine code).
fn searcher_c(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = vm.check_string(args, 1)?;
    let name_bytes = bytes(vm, name);
    c_search(vm, args, &name_bytes, &name_bytes)
}

/// `a.b.c` as the native module `a` (`searcher_Croot`).
fn searcher_croot(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = vm.check_string(args, 1)?;
    let name_bytes = bytes(vm, name);
    let Some(dot) = name_bytes.iter().position(|&c| c == b'.') else {
        return Ok(Step::Return(0));
    };
    c_search(vm, args, &name_bytes[..dot], &name_bytes)
}

fn c_search(vm: &mut Vm, args: Args, file_name: &[u8], module: &[u8]) -> LuaResult<Step> {
    match find_file(vm, args, file_name, "cpath")? {
        Err(tried) => {
            let s = vm.new_str(&tried);
            vm.push(s);
            Ok(Step::Return(1))
        }
        Ok(file) => {
            let msg = format!(
                "error loading module '{}' from file '{}':\n\tnative (C) modules are not supported by this VM",
                lossy(module),
                lossy(&file)
            );
            Err(vm.error(&msg))
        }
    }
}

/// `package.loadlib(path, funcname)`: always fails as PUC does where
/// dynamic libraries are not supported (`nil, message, "absent"`).
fn loadlib(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    vm.check_string(args, 1)?;
    vm.check_string(args, 2)?;
    vm.push(Value::Nil);
    let s = vm.new_str(b"dynamic libraries not enabled; check your Lua installation");
    vm.push(s);
    let s = vm.new_str(b"absent");
    vm.push(s);
    Ok(Step::Return(3))
}

#[cfg(test)]
mod tests {
    use super::{env_path, replace, replaced_len, search_path, Matches};
    use vm_core::Vm;

    #[test]
    fn templates_and_replacements() {
        let mut vm = Vm::new();
        let mut rep = |s: &[u8], from: &[u8], to: &[u8]| {
            let from = Matches::new(&mut vm, from).unwrap();
            let len = replaced_len(s, &from, to);
            let r = replace(&mut vm, s, &from, to, len).unwrap();
            assert_eq!(r.len(), len);
            r
        };
        assert_eq!(rep(b"a.b.c", b".", b"/"), b"a/b/c");
        assert_eq!(rep(b"./?.lua;?/x", b"?", b"m"), b"./m.lua;m/x");
        assert_eq!(rep(b"a::b:", b"::", b"."), b"a.b:");
        // Non-overlapping, left to right, as `strstr` from each match on.
        assert_eq!(rep(b"aaaa", b"aa", b"b"), b"bb");
        assert_eq!(rep(b"aaa", b"aa", b"b"), b"ba");
        assert_eq!(rep(b"abababc", b"abc", b"!"), b"abab!");
        assert_eq!(rep(b"xyz", b"longer than it", b"!"), b"xyz");
        let err = search_path(
            &mut vm,
            b"no.such",
            b"/nonexistent/?.lua;;/x/?/init.lua",
            b".",
            b"/",
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(
            err,
            &b"\n\tno file '/nonexistent/no/such.lua'\n\tno file ''\n\tno file '/x/no/such/init.lua'"[..]
        );
        assert_eq!(env_path(&["VM_TEST_SURELY_UNSET_VAR"], "d"), "d");
    }
}
