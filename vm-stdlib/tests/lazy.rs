//! Libraries made on first use (`open_all_lazily`, `open_sandboxed_lazily`)
//! behave as the same libraries installed at once (`open_all`,
//! `open_sandboxed`): each program here, and each random sequence of
//! reads, writes, traversals and `require`s of the globals, gives the same
//! results in both.

use proptest::prelude::*;
use vm_core::{Value, Vm};

/// `src`'s results (or its error) on a VM opened by `open`, as text.
fn run(open: fn(&mut Vm) -> vm_core::LuaResult<()>, src: &str) -> String {
    let mut vm = Vm::new();
    open(&mut vm).unwrap();
    match vm.exec(src.as_bytes(), "=t") {
        Ok(r) => r
            .iter()
            .map(|v| {
                // Functions and tables by type: their addresses differ.
                if matches!(v, vm_core::Value::Str(_) | vm_core::Value::Int(_))
                    || v.is_nil()
                    || matches!(v, vm_core::Value::Bool(_))
                {
                    vm.to_display(*v)
                } else {
                    v.type_name().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("error: {}", vm.error_to_string(&e)),
    }
}

/// `src` gives the same in both, and that is `want` (if given).
fn same(src: &str, want: Option<&str>) {
    let eager = run(vm_stdlib::open_all, src);
    let lazy = run(vm_stdlib::open_all_lazily, src);
    assert_eq!(lazy, eager, "lazily: {src}");
    if let Some(want) = want {
        assert_eq!(eager, want, "{src}");
    }
    let eager = run(vm_stdlib::open_sandboxed, src);
    let lazy = run(vm_stdlib::open_sandboxed_lazily, src);
    assert_eq!(lazy, eager, "sandboxed lazily: {src}");
}

#[test]
fn every_way_of_reaching_a_global_makes_it_first() {
    for (src, want) in [
        ("return type(print), type(string.upper), math.pi > 3", Some("function,function,true")),
        ("return rawget(_G, 'print') ~= nil, rawget(_G, 'table') ~= nil", Some("true,true")),
        ("local n = 0 for k in pairs(_G) do n = n + 1 end return n", None),
        ("local n = 0 for k in next, _G do n = n + 1 end return n", None),
        ("local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return table.concat(t, ' ')", None),
        ("return getmetatable(_G), getmetatable(package and package.loaded or {})", Some("nil,nil")),
        ("return getmetatable('').__index == string, ('x'):upper(), ('%d'):format(7)", Some("true,X,7")),
        ("return '10' + 1, '3' * '4', -'2'", Some("11,12,-2")),
        ("return package.loaded.string == string, package.loaded._G == _G", None),
        ("return require('string') == string, require('table').concat({1, 2})", None),
        ("local env = setmetatable({}, {__index = _G}) return type(env.print), type(env.os)", Some("function,table")),
        ("return (string.gsub('print', '%a+', _G))", None),
        ("return #_G, rawlen(_G)", Some("0,0")),
        ("return load('return math.huge')() == math.huge", Some("true")),
        ("return coroutine.wrap(function() return string.rep('a', 3) end)()", Some("aaa")),
        ("collectgarbage() collectgarbage() return type(string), ('y'):rep(2)", Some("table,yy")),
        ("return select('#', pairs({})), type(ipairs({}))", Some("3,function")),
        ("return debug and debug.getmetatable(_G)", None),
        ("return next({}), type(next(_G))", None),
        // Functions named in errors by their globals, made or not.
        ("local f = pairs({}) return select(2, pcall(f, 1))", None),
        ("local f = ipairs({}) return select(2, pcall(f))", None),
        ("return select(2, pcall(string.rep))", None),
    ] {
        same(src, want);
    }
}

#[test]
fn what_a_program_changes_before_use_stays_changed() {
    for (src, want) in [
        ("print = nil return print", Some("nil")),
        ("print = nil print('x')", None),
        (
            "rawset(_G, 'print', nil) return print, rawget(_G, 'print')",
            Some("nil,nil"),
        ),
        (
            "string = nil return string, require('string').upper('x'), ('y'):upper()",
            None,
        ),
        ("os = 5 return os, type(require('os'))", None),
        ("package = nil return package, type(require)", None),
        ("require = nil return require, type(package.loaded)", None),
        ("math = 'mine' return math, package.loaded.math", None),
        (
            "package.loaded.table = nil return type(table), package.loaded.table",
            None,
        ),
        (
            "_G.type = function() return 'mine' end return type(1)",
            Some("mine"),
        ),
        (
            "pairs = nil return pcall(function() for k in pairs({}) do end end)",
            None,
        ),
        (
            "local g = _G _ENV = {} g.print = nil return g.print",
            Some("nil"),
        ),
    ] {
        same(src, want);
    }
}

#[test]
fn metatables_of_the_globals_and_of_strings() {
    for (src, want) in [
        ("setmetatable(_G, {__index = function(t, k) return k end}) return type(string), foo", Some("table,foo")),
        ("setmetatable(_G, nil) return getmetatable(_G), type(print)", Some("nil,function")),
        ("setmetatable(_G, {__newindex = function(t, k, v) rawset(t, k, v .. '!') end}) x = 'a' return x, type(io or os)", None),
        ("debug.setmetatable('', nil) return pcall(function() return ('x'):upper() end)", None),
        ("debug.setmetatable('', {__index = {upper = function() return 'mine' end}}) return ('x'):upper(), string.upper('x')", Some("mine,X")),
        ("local mt = getmetatable('') mt.__index = {len = function() return 99 end} return ('abc'):len(), string.len('abc')", Some("99,3")),
        ("local mt = getmetatable('') local n = 0 for k in pairs(mt) do n = n + 1 end return n", None),
        ("return rawget(getmetatable(''), '__index') == string", Some("true")),
        ("getmetatable('').__add = nil return pcall(function() return '1' + 1 end)", None),
        // The one made lazily is filled even while the program has set
        // another: it may put it back.
        ("local mt = debug.getmetatable('') debug.setmetatable('', nil) local u = string.upper('a') debug.setmetatable('', mt) return u, ('x'):upper(), '1' + 1", Some("A,X,2")),
        ("local mt = getmetatable('') debug.setmetatable('', {__index = {hello = function() return 'hi' end}}) local h = ('x'):hello() debug.setmetatable('', mt) return h, ('x'):upper()", Some("hi,X")),
    ] {
        same(src, want);
    }
}

/// What an embedder installs after opening the libraries lazily stays, as
/// it would over libraries opened at once.
#[test]
fn an_embedders_globals_win_over_lazy_ones() {
    static MINE: vm_core::NativeFunction = vm_core::NativeFunction::new("print", |vm, _| {
        let s = vm.new_str(b"mine");
        vm.push(s);
        Ok(vm_core::Step::Return(1))
    });
    for open in [vm_stdlib::open_all, vm_stdlib::open_all_lazily] {
        let mut vm = Vm::new();
        open(&mut vm).unwrap();
        let mine = vm.new_native(&MINE);
        vm.install_global("print", mine).unwrap();
        let r = vm
            .exec(b"for k in pairs(_G) do end return print()", "=t")
            .unwrap();
        assert_eq!(vm.to_display(r[0]), "mine");
        let r = vm.exec(b"print = nil return print", "=t").unwrap();
        assert!(r[0].is_nil());
        // A library opened at once over a lazy one, then removed.
        vm_stdlib::debug::open_debug(&mut vm).unwrap();
        let r = vm
            .exec(b"debug = nil for k in pairs(_G) do end return debug", "=t")
            .unwrap();
        assert!(r[0].is_nil());
        // An embedder's own `string` library; strings keep the standard
        // methods, as when it replaces one opened at once.
        let own = vm.new_table();
        vm.register_library("string", own).unwrap();
        let r = vm
            .exec(
                b"return string.upper, require('string').upper, ('x'):upper()",
                "=t",
            )
            .unwrap();
        assert!(r[0].is_nil() && r[1].is_nil(), "{:?}", r);
        assert_eq!(vm.to_display(r[2]), "X");
    }
    // Opened lazily twice: one global, which the program's change keeps.
    let mut vm = Vm::new();
    vm_stdlib::open_all_lazily(&mut vm).unwrap();
    vm_stdlib::open_all_lazily(&mut vm).unwrap();
    let r = vm
        .exec(
            b"local p = print print = 5 for k in pairs(_G) do end return print",
            "=t",
        )
        .unwrap();
    assert_eq!(vm.to_display(r[0]), "5");
}

/// Opening one profile over another gives what eager openings give: the
/// later entry under a name wins (the sandbox's `load` and `os` over the
/// whole library's), globals and string metatables set before an opening
/// are replaced by it at once.
#[test]
fn a_later_opening_replaces_what_was_there_as_at_once() {
    type Open = fn(&mut Vm) -> vm_core::LuaResult<()>;
    let orders: [(&str, [Open; 2], [Open; 2]); 2] = [
        (
            "all then sandbox",
            [vm_stdlib::open_all, vm_stdlib::open_sandboxed],
            [vm_stdlib::open_all_lazily, vm_stdlib::open_sandboxed_lazily],
        ),
        (
            "sandbox then all",
            [vm_stdlib::open_sandboxed, vm_stdlib::open_all],
            [vm_stdlib::open_sandboxed_lazily, vm_stdlib::open_all_lazily],
        ),
    ];
    let src = "return os.execute ~= nil, type(dofile), \
               pcall(load, string.dump(function() end)), \
               (function() local r = require; local p = package; return r == require end)()";
    for (name, eager, lazy) in orders {
        let results: Vec<String> = [eager, lazy]
            .iter()
            .map(|opens| {
                let mut vm = Vm::new();
                for open in opens {
                    open(&mut vm).unwrap();
                }
                let r = vm.exec(src.as_bytes(), "=t").unwrap();
                r.iter()
                    .map(|&v| vm.to_display(v))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        assert_eq!(results[1], results[0], "{name}");
    }
    // The sandbox over everything: no os.execute, text chunks only.
    let mut vm = Vm::new();
    vm_stdlib::open_all_lazily(&mut vm).unwrap();
    vm_stdlib::open_sandboxed_lazily(&mut vm).unwrap();
    let r = vm
        .exec(
            b"return os.execute, select(2, load(string.dump(function() end)))",
            "=t",
        )
        .unwrap();
    assert!(r[0].is_nil());
    assert!(vm.to_display(r[1]).contains("mode is 't'"));

    // An embedder's `require` and string metatable, set before opening.
    for open in [vm_stdlib::open_all, vm_stdlib::open_all_lazily] {
        let mut vm = Vm::new();
        vm.exec(b"require = 1", "=t").unwrap();
        let mt = vm.new_table();
        let x = vm_core::Value::Str(vm.intern("x"));
        vm.set_metatable(x, Some(mt)).unwrap();
        open(&mut vm).unwrap();
        let r = vm
            .exec(
                b"local r = require local p = package \
                  return r == require, type(r), getmetatable('').__index == string",
                "=t",
            )
            .unwrap();
        let r: Vec<String> = r.iter().map(|&v| vm.to_display(v)).collect();
        assert_eq!(r, ["true", "function", "true"]);
    }
}

/// Lazy lists an embedder builds: two entries under one name (the later
/// wins, and a global never changes by itself), a list and its prefix
/// (each owes its own entries), an empty list (the globals stay plain).
#[test]
fn an_embedders_lazy_lists_owe_what_they_hold() {
    use vm_core::{Lazy, NativeFunction, Step};
    static FIRST: NativeFunction = NativeFunction::new("spawn", |vm, _| {
        let s = vm.new_str(b"first");
        vm.push(s);
        Ok(Step::Return(1))
    })
    .with_id("lazy_test.first");
    static SECOND: NativeFunction = NativeFunction::new("spawn", |vm, _| {
        let s = vm.new_str(b"second");
        vm.push(s);
        Ok(Step::Return(1))
    })
    .with_id("lazy_test.second");
    static SEND: NativeFunction = NativeFunction::new("send", |vm, _| {
        let s = vm.new_str(b"send");
        vm.push(s);
        Ok(Step::Return(1))
    })
    .with_id("lazy_test.send");
    static TWICE: [Lazy; 2] = [Lazy::Function(&FIRST), Lazy::Function(&SECOND)];
    static LIST: [Lazy; 2] = [Lazy::Function(&FIRST), Lazy::Function(&SEND)];
    static EMPTY: [Lazy; 0] = [];
    let show = |vm: &mut Vm, src: &str| -> String {
        let r = vm.exec(src.as_bytes(), "=t").unwrap();
        r.iter()
            .map(|&v| vm.to_display(v))
            .collect::<Vec<_>>()
            .join(",")
    };

    let mut vm = Vm::new();
    vm_stdlib::open_all(&mut vm).unwrap();
    vm.open_lazily(&TWICE).unwrap();
    let src = "local a = spawn() for k in pairs(_G) do end return a, spawn()";
    assert_eq!(show(&mut vm, src), "second,second");

    // The prefix first, in one VM; then the whole list in another.
    let mut a = Vm::new();
    vm_stdlib::base::open_base(&mut a).unwrap();
    a.open_lazily(&LIST[..1]).unwrap();
    assert_eq!(show(&mut a, "return spawn(), send"), "first,nil");
    let mut b = Vm::new();
    vm_stdlib::base::open_base(&mut b).unwrap();
    b.open_lazily(&LIST).unwrap();
    assert_eq!(show(&mut b, "return spawn(), send()"), "first,send");
    let src = "for k in pairs(_G) do end return send";
    assert_eq!(show(&mut a, src), "nil");

    let mut vm = Vm::new();
    vm.open_lazily(&EMPTY).unwrap();
    assert!(vm.is_plain_table(vm_core::Value::Table(vm.globals_ref())));
}

/// A library made lazily under a memory limit is made as the libraries
/// opened at once were: before the program ran, not refused by the limit.
/// A program that fills its memory then touches one sees what it sees
/// with the libraries opened at once.
#[test]
fn a_library_is_made_whole_under_a_memory_limit() {
    for touch in [
        "('x'):len()",
        "io.write('')",
        "next(_G)",
        "math.floor(1.5)",
        "('x'):upper()",
    ] {
        let src = format!(
            "local hold, n = {{}}, 0
             local grow = function() n = n + 1 hold[n] = {{}} end
             local pcall = pcall
             while pcall(grow) do end
             local ok = pcall(function() return {touch} end)
             hold = nil collectgarbage()
             return ok, ('x'):upper(), getmetatable('').__index == string,
               package.loaded.io == io, package.loaded.string == string"
        );
        let mut shown = Vec::new();
        for open in [vm_stdlib::open_all, vm_stdlib::open_all_lazily] {
            let mut vm = Vm::new();
            open(&mut vm).unwrap();
            vm.set_memory_limit(Some(vm.memory_used() + 64 * 1024));
            let r = vm
                .exec(src.as_bytes(), "=t")
                .unwrap_or_else(|e| panic!("{touch}: {}", vm.error_to_string(&e)));
            shown.push(r.iter().map(|&v| vm.to_display(v)).collect::<Vec<_>>());
        }
        assert_eq!(shown[1], shown[0], "{touch}");
        assert_eq!(shown[0][1..], ["X", "true", "true", "true"], "{touch}");
    }
}

/// Tables owed lazy globals travel whole (`agent.send`): the copy holds
/// what it holds when the libraries are opened at once.
#[test]
fn packing_a_table_owed_globals_makes_it_first() {
    for open in [vm_stdlib::open_all, vm_stdlib::open_all_lazily] {
        let mut vm = Vm::new();
        open(&mut vm).unwrap();
        let mt = vm.exec(b"return debug.getmetatable('')", "=t").unwrap()[0];
        let packet = vm.pack(&[mt]).unwrap();
        let mut other = Vm::new();
        vm_stdlib::open_all(&mut other).unwrap();
        let copy = other.unpack(&packet).unwrap()[0];
        let mut n = 0;
        let mut k = vm_core::Value::Nil;
        let vm_core::Value::Table(t) = copy else {
            panic!()
        };
        while let Some((key, _)) = other.next(t, k).unwrap() {
            n += 1;
            k = key;
        }
        assert_eq!(n, 9, "the metatable of strings: __index and eight events");
        let loaded = vm.exec(b"return package.loaded", "=t").unwrap()[0];
        let e = vm.pack(&[loaded]).unwrap_err();
        assert!(
            vm.error_to_string(&e).contains("userdata"),
            "io's files cannot travel"
        );
    }
}

/// One step of a random program on the globals.
fn step() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "print",
        "string",
        "require",
        "package",
        "os",
        "pairs",
        "next",
        "math",
        "x",
        "type",
        "coroutine",
        "io",
    ]);
    (0..9usize, name).prop_map(|(op, n)| match op {
        0 => format!("out[#out+1] = type({n})"),
        1 => format!("{n} = 1"),
        2 => format!("{n} = nil"),
        3 => format!("out[#out+1] = type(rawget(_G, '{n}'))"),
        4 => format!("rawset(_G, '{n}', nil)"),
        5 => format!("out[#out+1] = type(package and package.loaded['{n}'])"),
        6 => format!("out[#out+1] = tostring(pcall(require or error, '{n}'))"),
        7 => "local n = 0 for k in next, _G do n = n + 1 end out[#out+1] = n".to_string(),
        _ => "out[#out+1] = tostring(pcall(function() return ('s'):upper() end))".to_string(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_uses_of_the_globals_agree_with_eager_libraries(steps in prop::collection::vec(step(), 1..12)) {
        // Saved first: the steps may remove any of these.
        let src = format!(
            "local out, type, tostring, pcall, error, rawget, rawset, next, concat = {{}}, type, tostring, pcall, error, rawget, rawset, next, table.concat\n{}\nreturn concat(out, ' ')",
            steps.join("\n")
        );
        let eager = run(vm_stdlib::open_all, &src);
        let lazy = run(vm_stdlib::open_all_lazily, &src);
        prop_assert_eq!(lazy, eager, "{}", src);
    }
}

/// Lazily opened, a VM registers its profile's natives at once (one
/// group), so that values naming them can arrive before the library is
/// made; the sandbox's group holds nothing that reaches files.
#[test]
fn a_lazy_profile_registers_its_natives_and_no_others() {
    let mut all = Vm::new();
    vm_stdlib::open_all_lazily(&mut all).unwrap();
    let mut sandbox = Vm::new();
    vm_stdlib::open_sandboxed_lazily(&mut sandbox).unwrap();
    for id in [
        "string.gsub",
        "table.sort",
        "math.floor",
        "base.print",
        "os.time",
    ] {
        assert!(all.find_native(id).is_some(), "{id}");
        assert!(sandbox.find_native(id).is_some(), "{id}");
    }
    for id in [
        "io.open",
        "os.execute",
        "base.dofile",
        "debug.sethook",
        "package.loadlib",
    ] {
        assert!(all.find_native(id).is_some(), "{id}");
        assert!(sandbox.find_native(id).is_none(), "sandboxed: {id}");
    }
}

/// A native received from another VM before its library was made there
/// gets its library first (its state: `io`'s default output, the file
/// metatable) and its name in errors.
#[test]
fn a_received_native_finds_its_library() {
    let mut a = Vm::new();
    vm_stdlib::open_all_lazily(&mut a).unwrap();
    let fs = a
        .exec(b"return io.output, io.type, string.rep, math.random", "=t")
        .unwrap();
    let packet = a.pack(&fs).unwrap();
    let mut b = Vm::new();
    vm_stdlib::open_all_lazily(&mut b).unwrap();
    let fs = b.unpack(&packet).unwrap();
    let f = b
        .load(
            b"local output, type, rep, random = ...
              return type(output()), select(2, pcall(rep, 'a', 'b')), math.type(random(3))",
            "=t",
        )
        .unwrap();
    let r = b.call_value(f, &fs).unwrap();
    let shown: Vec<String> = r.iter().map(|&v| b.to_display(v)).collect();
    assert_eq!(shown[0], "file");
    assert!(shown[1].contains("'string.rep'"), "{}", shown[1]);
    assert_eq!(shown[2], "integer");
}

/// A function of `n` constants made by `konst(i)`, packed by a VM with
/// the standard library.
fn packed_function(n: usize, konst: impl Fn(usize) -> String) -> vm_core::Packet {
    let mut a = Vm::new();
    vm_stdlib::open_all_lazily(&mut a).unwrap();
    let src: String = std::iter::once("return function() return {".to_string())
        .chain((1..=n).map(|i| format!("{},", konst(i))))
        .chain(std::iter::once("} end".to_string()))
        .collect();
    let f = a.exec(src.as_bytes(), "=big").unwrap();
    a.pack(&f).unwrap()
}

/// A VM with the standard library and a 4 MB memory limit.
fn receiver() -> Box<Vm> {
    let mut b = Vm::new();
    vm_stdlib::open_all_lazily(&mut b).unwrap();
    b.set_memory_limit(Some(4 << 20));
    b
}

/// The functions a VM receives count in its heap as those it loads do:
/// the constants a copy makes its own (strings of the sender's heap).
#[test]
fn received_functions_count_in_the_receivers_heap() {
    let packet = packed_function(3000, |i| format!("'k{i}'"));
    let mut b = receiver();
    let before = b.memory_used();
    let mut kept = Vec::new();
    let failed = (0..1000).find_map(|_| match b.unpack(&packet) {
        Ok(v) => {
            kept.push(b.root(v[0]));
            None
        }
        Err(e) => Some(b.error_to_string(&e)),
    });
    assert!(b.memory_used() > before + 3000 * 16, "counted");
    let failed = failed.expect("a 4 MB limit holds fewer than 1,000 copies");
    assert!(failed.contains("not enough memory"), "{failed}");
}

/// A function whose constants name nothing of its sender's heap (numbers,
/// the standard library's names) is shared, not copied: a thousand copies
/// fit where a thousand copies of its constants would not, and each works.
#[test]
fn received_functions_share_what_no_heap_owns() {
    let packet = packed_function(3000, |i| format!("{i}.5"));
    let mut b = receiver();
    let mut kept = Vec::new();
    for _ in 0..1000 {
        let v = b.unpack(&packet).expect("a shared copy fits");
        kept.push(b.root(v[0]).unwrap());
    }
    b.full_gc();
    assert!(b.memory_used() < 4 << 20);
    let last = b.rooted(*kept.last().unwrap());
    let r = b.call_value(last, &[]).unwrap();
    let Value::Table(t) = r[0] else {
        panic!("a table")
    };
    assert!(matches!(b.raw_get(t, Value::Int(3000)), Value::Num(x) if x == 3000.5));
}
