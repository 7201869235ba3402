//! Binary chunks (`Vm::dump`, `Vm::load` of its output): a dumped function
//! loads back and behaves as the original; stripping keeps behaviour; any
//! corruption of a chunk (flipped bytes, truncation) is an error or a
//! chunk that passes the verifier, never a panic.

mod support;

use proptest::prelude::*;
use support::vm;
use vm_core::{Value, Vm};

/// Programs covering every kind of constant, nested closures with
/// upvalues, varargs, loops, metamethods and method calls.
const PROGRAMS: &[&str] = &[
    "return 1 + 2 * 3, 2^0.5, 7 // 2, 'str' .. 1, nil, true, false, -0.0, 1e300, math and 1",
    "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
     return fib(15)",
    "local t = {} for i = 1, 10 do t[i] = function() return i * i end end
     local s = 0 for _, f in ipairs(t) do s = s + f() end return s",
    "local function f(...) return select('#', ...), ... end return f(1, nil, 3)",
    "local acc = setmetatable({n = 0}, {__add = function(a, b) a.n = a.n + b return a end})
     for i = 1, 5 do acc = acc + i end return acc.n",
    "local obj = {v = 3} function obj:get(k) return self.v * k end return obj:get(14)",
    "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
     return co(1), co(20)",
    "local s = 0 for k, v in pairs({a = 1, b = 2, c = 3}) do s = s + v end
     goto skip s = 0 ::skip:: return s",
];

fn show(vm: &Vm, vals: &[Value]) -> String {
    vals.iter()
        .map(|&v| vm.to_display(v))
        .collect::<Vec<_>>()
        .join(",")
}

fn dumped(vm: &mut Vm, src: &str, strip: bool) -> Vec<u8> {
    let f = vm.load(src.as_bytes(), "=prog").expect("compiles");
    vm.dump(f, strip).expect("a Lua function dumps")
}

#[test]
fn dumped_functions_behave_as_the_originals() {
    for src in PROGRAMS {
        for strip in [false, true] {
            let mut vm = vm();
            let f = vm.load(src.as_bytes(), "=prog").unwrap();
            let want = vm.call(f, &[]).unwrap();
            let want = show(&vm, &want);
            let bin = dumped(&mut vm, src, strip);
            assert!(bin.starts_with(b"\x1bLua"));
            let g = vm.load(&bin, "=bin").unwrap();
            let got = vm.call(g, &[]).unwrap();
            assert_eq!(show(&vm, &got), want, "{src} (strip {strip})");
            // The same bytes again: a dump is deterministic.
            assert_eq!(vm.dump(g, strip).unwrap(), bin, "{src}");
        }
    }
}

#[test]
fn stripping_drops_names_and_lines() {
    let mut vm = vm();
    let src = "local function f(x) local y = x.field return y end return f";
    let f = vm.load(src.as_bytes(), "@prog.lua").unwrap();
    let inner = vm.call(f, &[]).unwrap()[0];
    for (strip, want) in [
        (
            false,
            "prog.lua:1: attempt to index a number value (local 'x')",
        ),
        // As lua5.4: no source, line -1, no variable names.
        (true, "?:-1: attempt to index a number value"),
    ] {
        let bin = vm.dump(inner, strip).unwrap();
        let g = vm.load_chunk(&bin, "=ignored", "b", None).unwrap();
        let e = vm.call(g, &[Value::Int(1)]).unwrap_err();
        assert_eq!(vm.error_to_string(&e), want);
    }
}

#[test]
fn a_loaded_function_gets_env_first_and_nil_upvalues() {
    let mut vm = vm();
    let src = "local a, b = 1, 2 return function() return a, b end";
    let f = vm.load(src.as_bytes(), "=u").unwrap();
    let inner = vm.call(f, &[]).unwrap()[0];
    let bin = vm.dump(inner, false).unwrap();
    // `inner`'s first upvalue is `a`: loading makes it the environment.
    let env = vm.new_table();
    let g = vm
        .load_chunk(&bin, "=b", "bt", Some(Value::Table(env)))
        .unwrap();
    let r = match vm.call(g, &[]) {
        Ok(r) => r,
        Err(e) => panic!("{}", vm.error_to_string(&e)),
    };
    assert!(matches!(r[0], Value::Table(_)) && r[1].is_nil());
}

#[test]
fn modes_are_enforced() {
    let mut vm = vm();
    let bin = dumped(&mut vm, "return 1", false);
    let e = vm.load_chunk(&bin, "=b", "t", None).unwrap_err();
    assert_eq!(
        vm.error_to_string(&e),
        "attempt to load a binary chunk (mode is 't')"
    );
    let e = vm.load_chunk(b"return 1", "=t", "b", None).unwrap_err();
    assert_eq!(
        vm.error_to_string(&e),
        "attempt to load a text chunk (mode is 'b')"
    );
}

#[test]
fn malformed_chunks_are_errors() {
    let mut vm = vm();
    let bin = dumped(&mut vm, PROGRAMS[1], false);
    let cases: [(Vec<u8>, &str); 3] = [
        (bin[..bin.len() - 1].to_vec(), "truncated chunk"),
        (b"\x1bLua\x53".to_vec(), "version mismatch"),
        (b"\x1bLux".to_vec(), "not a binary chunk"),
    ];
    for (bytes, why) in cases {
        let e = vm.load(&bytes, "=bad").unwrap_err();
        assert_eq!(
            vm.error_to_string(&e),
            format!("bad: bad binary format ({why})")
        );
    }
}

/// Bytes after a binary chunk's main function are ignored, as lua5.4
/// (`luaU_undump`) ignores them.
#[test]
fn bytes_after_a_chunk_are_ignored() {
    let mut vm = vm();
    let bin = dumped(&mut vm, PROGRAMS[1], false);
    let f = vm.load(&[&bin[..], b"extra"].concat(), "=t").unwrap();
    let whole = vm.load(&bin, "=t").unwrap();
    let (a, b) = (vm.call(f, &[]).unwrap(), vm.call(whole, &[]).unwrap());
    assert_eq!(show(&vm, &a), show(&vm, &b));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Flipped bytes and truncations: loading answers `Ok` (a chunk the
    /// verifier accepts) or `Err`, and never panics.
    #[test]
    fn corrupted_chunks_never_panic(
        prog in 0..PROGRAMS.len(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut vm = vm();
        let mut bin = dumped(&mut vm, PROGRAMS[prog], false);
        for (at, byte) in flips {
            let i = at.index(bin.len());
            bin[i] ^= byte | 1;
        }
        if truncate {
            bin.truncate(cut.index(bin.len()));
        }
        let _ = vm.load(&bin, "=fuzz");
        prop_assert!(vm.check_invariants().is_ok());
    }
}
