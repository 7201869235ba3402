//! Deep nesting of pcall, metamethods and calls through natives runs on a
//! small Rust stack: none of it recurses in Rust.

mod support;

use support::vm;
use vm_core::Value;

fn on_small_stack(src: &'static str, want: i64) {
    on_stack(256 * 1024, src, want);
}

fn on_stack(size: usize, src: &'static str, want: i64) {
    std::thread::Builder::new()
        .stack_size(size)
        .spawn(move || {
            let mut vm = vm();
            let r = vm
                .exec(src.as_bytes(), "=deep")
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(r.first(), Some(Value::Int(n)) if *n == want),
                "{src}: {r:?}"
            );
            vm.check_invariants().unwrap();
        })
        .expect("spawn")
        .join()
        .expect("no panic or overflow");
}

#[test]
fn nested_pcalls() {
    on_small_stack(
        "local function f(n) if n == 0 then return 0 end
           local ok, v = pcall(f, n - 1) return v + 1 end
         return f(190)",
        190,
    );
}

/// Calls made by natives nest about 200 deep, as C calls do in PUC Lua,
/// whatever the Rust stack: past that, "C stack overflow".
#[test]
fn nested_pcalls_past_the_limit_are_a_c_stack_overflow() {
    on_small_stack(
        "local function f(n) if n == 0 then return 0 end
           local ok, v = pcall(f, n - 1)
           if not ok then error(v, 0) end
           return v + 1 end
         local ok, e = pcall(f, 20000)
         return (not ok and e == 'C stack overflow') and 1 or 0",
        1,
    );
}

#[test]
fn nested_xpcalls_with_errors_at_the_bottom() {
    on_small_stack(
        "local function f(n) if n == 0 then error('bottom') end
           local ok, v = xpcall(f, function(m) return 0 end, n - 1)
           if ok then return v + 1 else return 1 end end
         return f(190)",
        190,
    );
}

#[test]
fn index_metamethods_calling_themselves() {
    on_small_stack(
        "local t = setmetatable({}, {__index = function(t, k)
           if k == 0 then return 0 end return t[k - 1] + 1 end})
         return t[30000]",
        30000,
    );
}

#[test]
fn arithmetic_and_comparison_metamethods() {
    on_small_stack(
        "local mt = {}
         mt.__add = function(a, b) if b == 0 then return 0 end return (a + (b - 1)) + 1 end
         mt.__lt = function(a, b) return b > 0 and (a < b - 1) end
         local o = setmetatable({}, mt)
         assert(not (o < 20000))
         return o + 20000",
        20000,
    );
}

#[test]
fn call_metamethods_and_generic_for() {
    on_small_stack(
        "local callable = setmetatable({}, {__call = function(self, n)
           if n == 0 then return 0 end return self(n - 1) + 1 end})
         local function iter(s, i) if i < 15000 then return i + 1 end end
         local n = 0
         for i in iter, nil, 0 do n = n + 1 end
         return callable(15000) + n - 15000",
        15000,
    );
}

#[test]
fn recursive_native_api_is_bounded() {
    // tostring calls __tostring through the recursive API; nesting it
    // without end is the Lua error "C stack overflow", not a crash, on a
    // thread with Rust's default stack size.
    on_stack(
        2 * 1024 * 1024,
        "local mt = {} mt.__tostring = function(o) return tostring(o) end
         local ok, e = pcall(tostring, setmetatable({}, mt))
         assert(not ok and e == 'C stack overflow', e)
         return 1",
        1,
    );
}

#[test]
fn a_chain_of_ten_thousand_coroutines_each_resuming_the_next() {
    on_small_stack(
        "local co = coroutine.create(function() return 0 end)
         for i = 1, 10000 do
           local inner = co
           co = coroutine.create(function()
             local ok, v = coroutine.resume(inner)
             assert(ok, v)
             return v + 1
           end)
         end
         local ok, v = coroutine.resume(co)
         return v",
        10000,
    );
}

#[test]
fn yields_pass_through_ten_thousand_wrapped_coroutines() {
    // Every level yields what the level below yielded, then returns.
    on_small_stack(
        "local gen = coroutine.wrap(function() coroutine.yield(1) coroutine.yield(2) return 3 end)
         for i = 1, 10000 do
           local inner = gen
           gen = coroutine.wrap(function()
             coroutine.yield(inner()) coroutine.yield(inner()) return inner()
           end)
         end
         return gen() + gen() * 10 + gen() * 100",
        321,
    );
}

#[test]
fn yield_from_inside_ten_thousand_metamethods_and_pcalls() {
    // Metamethods called from Lua are Lua calls (unbounded by count); the
    // pcalls, natives calling Lua, stay under the nesting limit.
    on_small_stack(
        "local mt = {}
         mt.__index = function(t, n)
           if n == 0 then return coroutine.yield('bottom') end
           if n % 100 == 0 then
             local ok, v = pcall(function() return t[n - 1] end)
             return v + 1
           end
           return t[n - 1] + 1
         end
         local co = coroutine.wrap(function() return setmetatable({}, mt)[10000] end)
         assert(co() == 'bottom')
         return co(5)",
        10005,
    );
}

#[test]
fn errors_unwind_ten_thousand_wrapped_coroutines() {
    on_small_stack(
        "local f = coroutine.wrap(function() error({ depth = 0 }) end)
         for i = 1, 10000 do
           local inner = f
           f = coroutine.wrap(function() return inner() end)
         end
         local ok, e = pcall(f)
         assert(not ok and e.depth == 0)
         return 1",
        1,
    );
}

#[test]
fn a_runaway_chain_of_resumes_is_a_c_stack_overflow() {
    // Each coroutine resumes a new one: bounded (MAX_RESUME_DEPTH), with
    // PUC Lua's message, instead of growing until memory runs out. Through
    // `wrap`, every level prefixes its position to the message.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut vm = vm();
            let r = vm
                .exec(
                    b"local levels = 0
                      local function f()
                        levels = levels + 1
                        local ok, e = coroutine.resume(coroutine.create(f))
                        return e
                      end
                      local depth = 0
                      local function g()
                        depth = depth + 1
                        return coroutine.wrap(g)()
                      end
                      local ok, e = pcall(g)
                      local bottom = f()
                      return depth, e, levels, bottom",
                    "=deep",
                )
                .unwrap_or_else(|e| panic!("{e}"));
            // The main thread's call plus 20,000 coroutines, the last of
            // which cannot resume another.
            assert!(matches!(r[0], Value::Int(20_001)), "{:?}", r[0]);
            let wrapped = vm.to_display(r[1]);
            assert!(
                wrapped.starts_with("deep:10: deep:10: "),
                "{}",
                &wrapped[..40]
            );
            assert!(wrapped.ends_with("deep:10: C stack overflow"));
            assert!(matches!(r[2], Value::Int(20_001)), "{:?}", r[2]);
            assert_eq!(vm.to_display(r[3]), "C stack overflow");
            vm.check_invariants().unwrap();
        })
        .expect("spawn")
        .join()
        .expect("no panic or overflow");
}
