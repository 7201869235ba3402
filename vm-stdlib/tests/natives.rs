//! The standard library's natives and continuations have unique
//! identities (`NativeFunction::id`, `Continuation::id`), the names a
//! snapshot refers to them by: each library's list (`NATIVES`) holds all
//! of them, opening the library registers it, and every native a Lua
//! program can reach from a fresh VM (globals, the registry, metatables,
//! upvalues, the functions that library functions return) is found again
//! by its identity. Their names (the table fields they are stored under)
//! are not unique and stay what they were.

mod support;

use std::collections::{HashMap, HashSet};

use support::{sandboxed, vm};
use vm_core::{NativeFunction, NativeList, Value, Vm};

/// Every library's list: its identities start with the library's name.
static LISTS: [(&str, &NativeList); 10] = [
    ("base", &vm_stdlib::base::NATIVES),
    ("package", &vm_stdlib::package::NATIVES),
    ("coroutine", &vm_stdlib::coroutine::NATIVES),
    ("table", &vm_stdlib::table::NATIVES),
    ("string", &vm_stdlib::string::NATIVES),
    ("math", &vm_stdlib::math::NATIVES),
    ("utf8", &vm_stdlib::utf8::NATIVES),
    ("io", &vm_stdlib::io::NATIVES),
    ("os", &vm_stdlib::os::NATIVES),
    ("debug", &vm_stdlib::debug::NATIVES),
];

/// The sandbox profile's lists (the libraries not listed register their
/// whole list there too).
static SANDBOX_LISTS: [(&str, &NativeList); 2] = [
    ("base", &vm_stdlib::base::SANDBOX_NATIVES),
    ("os", &vm_stdlib::os::SANDBOX_NATIVES),
];

/// Every identity of `list`.
fn ids(list: &NativeList) -> impl Iterator<Item = &'static str> + '_ {
    let natives = list.natives.iter().map(|f| f.id);
    natives.chain(list.continuations.iter().map(|k| k.id))
}

#[test]
fn every_identity_is_unique_across_natives_and_continuations() {
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut count = 0;
    for (lib, list) in &LISTS {
        for id in ids(list) {
            seen.entry(id).or_default().push(lib);
            count += 1;
        }
    }
    let mut dups: Vec<_> = seen.iter().filter(|(_, libs)| libs.len() > 1).collect();
    dups.sort();
    assert!(dups.is_empty(), "identities used more than once: {dups:?}");
    // (The whole standard library: a list that lost its entries would
    // pass the rest.)
    assert!(count > 180, "{count} identities");
    // Nor do they clash with vm-core's own, registered in every VM.
    let vm = Vm::new();
    for id in seen.keys() {
        assert!(vm.find_native(id).is_none(), "{id} is vm-core's");
        assert!(vm.find_continuation(id).is_none(), "{id} is vm-core's");
    }
}

#[test]
fn identities_are_qualified_by_their_library() {
    for (lib, list) in LISTS.iter().chain(&SANDBOX_LISTS) {
        for id in ids(list) {
            let rest = id.strip_prefix(lib).and_then(|r| r.strip_prefix('.'));
            assert!(rest.is_some_and(|r| !r.is_empty()), "{id} in {lib}");
        }
    }
    // Continuations end in `_k`, natives do not.
    for (_, list) in &LISTS {
        for f in list.natives {
            assert!(!f.id.ends_with("_k"), "{}", f.id);
        }
        for k in list.continuations {
            assert!(k.id.ends_with("_k"), "{}", k.id);
        }
    }
}

#[test]
fn names_are_what_error_messages_and_tables_had() {
    // Shared names stay shared: only identities are unique.
    let find = |id: &str| -> &'static NativeFunction {
        LISTS
            .iter()
            .flat_map(|(_, l)| l.natives.iter())
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    for (id, name) in [
        ("base.load", "load"),
        ("base.load_text", "load"),
        ("io.close", "close"),
        ("io.file:close", "close"),
        ("io.file:__gc", "__gc"),
        ("coroutine.close", "close"),
        ("string.__add", "__add"),
        ("math.type", "type"),
        ("io.type", "type"),
        ("base.type", "type"),
    ] {
        assert_eq!(find(id).name, name, "{id}");
    }
    let mut vm = vm();
    let r = vm
        .exec(
            b"local t = {}
              for _, f in ipairs{
                function() io.close(1) end,
                function() io.stdout.close(1) end,
                function() coroutine.close(1) end,
                function() load(nil) end,
                function() math.type() end,
              } do
                t[#t + 1] = select(2, pcall(f))
              end
              return table.concat(t, '\\n')",
            "=names",
        )
        .unwrap();
    assert_eq!(
        vm.to_display(r[0]),
        "names:3: bad argument #1 to 'close' (FILE* expected, got number)\n\
         names:4: bad argument #1 to 'close' (FILE* expected, got number)\n\
         names:5: bad argument #1 to 'close' (thread expected, got number)\n\
         names:6: bad argument #1 to 'load' (function expected, got nil)\n\
         names:7: bad argument #1 to 'type' (value expected)"
    );
}

#[test]
fn opening_a_library_registers_its_whole_list() {
    let vm = vm();
    for (lib, list) in &LISTS {
        for &f in list.natives {
            let found = vm
                .find_native(f.id)
                .unwrap_or_else(|| panic!("{lib}: {}", f.id));
            assert!(std::ptr::eq(found, f), "{}", f.id);
        }
        for &k in list.continuations {
            let found = vm.find_continuation(k.id);
            let found = found.unwrap_or_else(|| panic!("{lib}: {}", k.id));
            assert!(std::ptr::eq(found, k), "{}", k.id);
        }
    }
    // Opening a library again registers the same statics again: no error.
    let mut vm = vm;
    vm_stdlib::open_all(&mut vm).unwrap();
}

#[test]
fn the_sandbox_registers_only_what_it_offers() {
    let vm = sandboxed();
    for (lib, list) in &SANDBOX_LISTS {
        let (_, full) = LISTS.iter().find(|(l, _)| l == lib).unwrap();
        for &f in list.natives {
            assert!(full.natives.iter().any(|&g| std::ptr::eq(f, g)), "{}", f.id);
            assert!(std::ptr::eq(vm.find_native(f.id).unwrap(), f), "{}", f.id);
        }
        for &k in list.continuations {
            let in_full = full.continuations.iter().any(|&c| std::ptr::eq(k, c));
            assert!(in_full, "{}", k.id);
            assert!(
                std::ptr::eq(vm.find_continuation(k.id).unwrap(), k),
                "{}",
                k.id
            );
        }
    }
    for id in [
        "base.dofile",
        "base.loadfile",
        "base.load",
        "io.open",
        "io.file:write",
        "os.execute",
        "os.remove",
        "os.getenv",
        "package.require",
    ] {
        assert!(vm.find_native(id).is_none(), "{id}");
    }
    for id in ["base.dofile_k", "base.loadfile_k", "io.read_k"] {
        assert!(vm.find_continuation(id).is_none(), "{id}");
    }
    assert!(vm.find_native("base.load_text").is_some());
    assert!(vm.find_native("string.gsub").is_some());
}

/// Every native value reachable from `roots`, with a path to it: through
/// table keys and values, metatables (of the roots too) and upvalues.
fn reachable_natives(vm: &mut Vm, roots: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut seen = HashSet::new();
    let mut natives = Vec::new();
    let mut todo = roots;
    while let Some((path, v)) = todo.pop() {
        let is_object = matches!(
            v,
            Value::Table(_) | Value::Native(_) | Value::LuaFn(_) | Value::UserData(_)
        );
        if is_object && !seen.insert(vm.address(v)) {
            continue;
        }
        if let Some(mt) = vm.metatable(v) {
            todo.push((format!("{path}<metatable>"), Value::Table(mt)));
        }
        match v {
            Value::Table(t) => {
                let mut k = Value::Nil;
                while let Some((key, val)) = vm.next(t, k).unwrap() {
                    let name = vm.to_display(key);
                    todo.push((format!("{path}[key {name}]"), key));
                    todo.push((format!("{path}.{name}"), val));
                    k = key;
                }
            }
            Value::Native(_) | Value::LuaFn(_) => {
                if matches!(v, Value::Native(_)) {
                    natives.push((path.clone(), v));
                }
                let mut n = 1;
                while let Some((_, u)) = vm.get_upvalue(v, n) {
                    todo.push((format!("{path}<upvalue {n}>"), u));
                    n += 1;
                }
            }
            _ => {}
        }
    }
    natives
}

/// The roots of a fresh VM: globals, registry, and a value of each type
/// (for their metatables), plus the natives that library functions make
/// on each call (iterators, wrapped coroutines), returned by `extra`.
fn roots(vm: &mut Vm, extra: &[u8]) -> Vec<(String, Value)> {
    let mut roots = vec![
        ("_G".to_string(), Value::Table(vm.globals_ref())),
        ("registry".to_string(), Value::Table(vm.registry())),
        ("nil".to_string(), Value::Nil),
        ("true".to_string(), Value::Bool(true)),
        ("1".to_string(), Value::Int(1)),
        ("1.5".to_string(), Value::Num(1.5)),
        ("''".to_string(), vm.new_str(b"")),
    ];
    for (i, v) in vm.exec(extra, "=extra").unwrap().into_iter().enumerate() {
        roots.push((format!("result {}", i + 1), v));
    }
    roots
}

/// Checks that every native reachable from `roots` has an identity under
/// which `vm` finds it; returns the identities.
fn check_reachable(vm: &mut Vm, roots: Vec<(String, Value)>) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (path, v) in reachable_natives(vm, roots) {
        let f = vm
            .native_function(v)
            .unwrap_or_else(|| panic!("{path}: a native without identity"));
        let registered = vm
            .find_native(f.id)
            .unwrap_or_else(|| panic!("{path}: {} is not registered", f.id));
        assert!(
            std::ptr::eq(registered, f),
            "{path}: {} names another native",
            f.id
        );
        found.push(f.id);
    }
    found.sort_unstable();
    found.dedup();
    found
}

#[test]
fn every_reachable_native_is_registered_under_its_identity() {
    let mut vm = vm();
    let extra = b"return ipairs({}), string.gmatch('', ''), coroutine.wrap(print),
                  io.stdin:lines(), utf8.codes(''), pairs({})";
    let roots = roots(&mut vm, extra);
    let found = check_reachable(&mut vm, roots);
    for id in [
        // Stored in tables: globals, libraries, metatables, searchers.
        "base.print",
        "base.load",
        "package.require",
        "package.searcher_preload",
        "package.searcher_Lua",
        "package.searcher_C",
        "package.searcher_Croot",
        "string.gsub",
        "string.format",
        "string.pack",
        "string.__add",
        "string.__unm",
        "io.close",
        "io.file:close",
        "io.file:__gc",
        "io.file:__tostring",
        "math.random",
        "math.atan",
        "os.time",
        "debug.traceback",
        "table.sort",
        "utf8.codes",
        "coroutine.close",
        // Upvalues and results of calls.
        "base.ipairs_aux",
        "base.next",
        "utf8.codes_iterator",
        "utf8.codes_iterator_lax",
        "string.gmatch_step",
        "coroutine.wrapped",
        "io.readline",
    ] {
        assert!(found.contains(&id), "{id} was not reached: {found:?}");
    }
    // All but the sandbox's text-only `load` are reached.
    let all: usize = LISTS.iter().map(|(_, l)| l.natives.len()).sum();
    assert_eq!(found.len(), all - 1, "{found:?}");
    assert!(!found.contains(&"base.load_text"));
}

#[test]
fn every_native_reachable_in_the_sandbox_is_registered_there() {
    let mut vm = sandboxed();
    let extra = b"return ipairs({}), string.gmatch('', ''), coroutine.wrap(print),
                  utf8.codes(''), pairs({})";
    let roots = roots(&mut vm, extra);
    let found = check_reachable(&mut vm, roots);
    assert!(found.contains(&"base.load_text"));
    for id in ["base.load", "base.dofile", "base.loadfile", "os.execute"] {
        assert!(!found.contains(&id), "{id}");
    }
}

/// The names of the standard library (globals, library fields, the
/// string metatable's events, file methods) are strings every VM shares
/// (`Vm::is_shared_string`), so opening a library adds no string to a
/// VM's heap.
#[test]
fn every_name_of_the_standard_library_is_a_shared_string() {
    let mut vm = vm();
    let names = vm
        .exec(
            b"local names, seen = {}, {}
              local function walk(t)
                if seen[t] then return end
                seen[t] = true
                for k, v in pairs(t) do
                  if type(k) == 'string' then names[#names + 1] = k end
                  if type(v) == 'table' then walk(v) end
                end
              end
              walk(_G)
              walk(getmetatable(''))
              walk(getmetatable(io.stdout))
              return table.unpack(names)",
            "=names",
        )
        .unwrap();
    assert!(names.len() > 150, "{}", names.len());
    let missing: Vec<String> = names
        .iter()
        .filter(|&&n| !vm.is_shared_string(n))
        .map(|&n| vm.to_display(n))
        .collect();
    assert!(missing.is_empty(), "not shared: {missing:?}");
}
