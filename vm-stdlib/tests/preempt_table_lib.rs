//! The table library under a budget (issue 12, points 1 and 2): the Lua
//! code `concat`, `insert`, `remove`, `move` and `unpack` reach through
//! `__index`, `__newindex`, `__len` and `__eq` runs under the driver's
//! budget and may yield, and their own work is paid for and suspended.

mod support;

use support::slices::{self, Sliced};
use support::vm;
use vm_core::{Outcome, Value};

/// Runs `src` in slices of `slice` units, at most `cap` of them.
fn sliced(src: &str, slice: u64, cap: usize) -> Sliced {
    slices::run(&mut vm(), src, slice, cap, false)
}

/// Prefixed to the cases: `loop`, a metamethod that never returns.
const LOOP: &str = "local function loop() while true do end end\n";

/// Endless metamethods, one for every place a table function calls Lua.
const ENDLESS: &[(&str, &str)] = &[
    (
        "concat __index",
        "table.concat(setmetatable({}, {__index = loop, __len = function() return 2 end}))",
    ),
    (
        "concat __len",
        "table.concat(setmetatable({}, {__len = loop}))",
    ),
    (
        "insert __len",
        "table.insert(setmetatable({}, {__len = loop}), 1)",
    ),
    (
        "insert __index",
        "table.insert(setmetatable({}, {__len = function() return 3 end, __index = loop}), 1, 'x')",
    ),
    (
        "insert __newindex",
        "table.insert(setmetatable({}, {__newindex = loop}), 'x')",
    ),
    (
        "remove __len",
        "table.remove(setmetatable({}, {__len = loop}))",
    ),
    (
        "remove __index",
        "table.remove(setmetatable({}, {__len = function() return 2 end, __index = loop}), 1)",
    ),
    (
        "remove __newindex",
        "table.remove(setmetatable({}, {__len = function() return 2 end, __newindex = loop}), 1)",
    ),
    (
        "move __index",
        "table.move(setmetatable({}, {__index = loop}), 1, 3, 1, {})",
    ),
    (
        "move __newindex",
        "table.move({1, 2, 3}, 1, 3, 1, setmetatable({}, {__newindex = loop}))",
    ),
    (
        "move __eq",
        "local mt = {__eq = loop} table.move(setmetatable({}, mt), 1, 3, 2, setmetatable({}, mt))",
    ),
    (
        "unpack __len",
        "table.unpack(setmetatable({}, {__len = loop}))",
    ),
    (
        "unpack __index",
        "table.unpack(setmetatable({}, {__index = loop}), 1, 3)",
    ),
];

/// Every slice of an endless metamethod comes back to the driver within
/// its budget plus a small overshoot.
#[test]
fn endless_metamethods_come_back_to_the_driver_every_slice() {
    for (what, src) in ENDLESS {
        let src = format!("{LOOP}{src}");
        for slice in [100, 1000] {
            let r = sliced(&src, slice, 30);
            assert_eq!(r.end, Err("still running".to_string()), "{what}");
            assert_eq!(r.slices, 30, "{what}");
            assert!(r.most <= slice + 10, "{what}: a slice used {}", r.most);
        }
    }
}

/// Under an instruction limit the same loops end with its error, and the
/// VM goes on.
#[test]
fn the_instruction_limit_stops_endless_metamethods() {
    for (what, src) in ENDLESS {
        let mut vm = vm();
        vm.set_instruction_limit(Some(50_000));
        let src = format!("{LOOP}{src}");
        let err = vm.exec(src.as_bytes(), "=limit").unwrap_err();
        let msg = vm.error_to_string(&err);
        assert!(msg.contains("instruction limit exceeded"), "{what}: {msg}");
        vm.set_instruction_limit(None);
        assert!(vm.exec(b"return 1", "=again").is_ok(), "{what}");
    }
}

/// Metamethods reached from every table function may yield: the function
/// goes on when the coroutine is resumed (PUC Lua: "attempt to yield
/// across a C-call boundary").
#[test]
fn metamethods_of_table_functions_may_yield() {
    let src = r##"
        -- Runs f in a coroutine, resuming it with the count of yields so far
        -- until it returns; the yields and the results.
        local function run(f)
          local co = coroutine.create(f)
          local yields, r = 0, table.pack(coroutine.resume(co))
          while coroutine.status(co) == "suspended" do
            assert(r[1] and r[2] == "y", tostring(r[2]))
            yields = yields + 1
            r = table.pack(coroutine.resume(co, yields))
          end
          assert(r[1], r[2])
          return yields, table.unpack(r, 2, r.n)
        end
        local function y() return coroutine.yield("y") end
        -- A proxy over `store` whose every access and length yields first.
        local function proxy(store)
          return setmetatable({}, {
            __index = function(_, k) y() return store[k] end,
            __newindex = function(_, k, v) y() store[k] = v end,
            __len = function() y() return #store end,
          })
        end

        local n, s = run(function() return table.concat(proxy({"a", "b", "c"}), "-") end)
        assert(n == 4 and s == "a-b-c", n)

        local store = {"a", "b"}
        n = run(function() table.insert(proxy(store), 1, "z") end)
        assert(n == 1 + 2 * 2 + 1 and table.concat(store) == "zab", n)
        n = run(function() table.insert(proxy(store), "e") end)
        assert(n == 2 and table.concat(store) == "zabe", n)

        local removed
        n, removed = run(function() return table.remove(proxy(store), 1) end)
        assert(n == 1 + 1 + 3 * 2 + 1 and removed == "z" and table.concat(store) == "abe", n)

        local dst = {}
        n = run(function() table.move(proxy(store), 1, 3, 2, proxy(dst)) end)
        assert(n == 6 and dst[2] == "a" and dst[4] == "e", n)
        local eqs = 0
        local mt = {__eq = function() eqs = eqs + 1 y() return true end,
                    __index = function(_, k) return k * 10 end,
                    __newindex = function(t, k, v) y() rawset(t, k, v) end}
        local a2 = setmetatable({}, mt)
        n = run(function() table.move(setmetatable({}, mt), 1, 3, 2, a2) end)
        -- __eq said equal: copied downwards, as within one table.
        assert(n == 4 and eqs == 1 and a2[2] == 10 and a2[4] == 30, n)

        local r = table.pack(run(function() return table.unpack(proxy({1, 2, 3})) end))
        assert(r[1] == 4 and r.n == 4 and r[2] == 1 and r[4] == 3, r[1])
        -- The value a yield receives is the one used.
        local lazy = setmetatable({}, {__index = function(_, k) return y() * 100 + k end})
        r = table.pack(run(function() return table.unpack(lazy, 1, 3) end))
        assert(r[1] == 3 and r[2] == 101 and r[3] == 202 and r[4] == 303)
        return true
    "##;
    let mut vm = vm();
    let r = vm.exec(src.as_bytes(), "=yields");
    match r {
        Ok(v) => assert!(matches!(v[0], Value::Bool(true))),
        Err(e) => panic!("{}", vm.error_to_string(&e)),
    }
}

/// A script using every table function on proxies (logging each access)
/// and on plain tables, long enough to be suspended in their middle.
const WORKLOAD: &str = r##"
    local log = {}
    local function proxy(store)
      return setmetatable({}, {
        __index = function(_, k) log[#log + 1] = "r" .. k return store[k] end,
        __newindex = function(_, k, v) log[#log + 1] = "w" .. k store[k] = v end,
        __len = function() log[#log + 1] = "#" return #store end,
      })
    end
    local store = {}
    for i = 1, 200 do store[i] = i * 3 % 17 end
    local p = proxy(store)
    local out = {}
    out[#out + 1] = table.concat(p, ",", 3, 150)
    table.insert(p, 5, 99)
    table.insert(p, 42)
    out[#out + 1] = tostring(table.remove(p, 7))
    out[#out + 1] = tostring(table.remove(p))
    table.move(p, 10, 120, 30)
    table.move(p, 40, 160, 20)
    local dst = {}
    table.move(p, 1, 50, 3, proxy(dst))
    out[#out + 1] = select("#", table.unpack(p, 5, 180))
    out[#out + 1] = (select(100, table.unpack(p)))
    local plain = {}
    for i = 1, 5000 do plain[i] = i % 97 end
    out[#out + 1] = #table.concat(plain, "; ")
    table.insert(plain, 1, "first")
    table.insert(plain, 2500, "middle")
    out[#out + 1] = table.remove(plain, 1) .. table.remove(plain, 2499) .. #plain
    table.move(plain, 1, 4000, 500)
    table.move(plain, 100, 4500, 1)
    local copy = table.move(plain, 1, #plain, 1, {})
    out[#out + 1] = table.concat(copy, "", 1, 300)
    out[#out + 1] = select("#", table.unpack(plain)) + select(777, table.unpack(plain))
    out[#out + 1] = table.concat(store, " ")
    out[#out + 1] = table.concat(dst, " ", 3, 52)
    RESULT = table.concat(out, "|") .. "\n" .. table.concat(log, " ")
"##;

/// The workload gives the same results and the same metamethod calls in
/// slices of any size as in one go, with collections between slices.
#[test]
fn sliced_table_functions_give_the_same_results() {
    let whole = {
        let mut vm = vm();
        vm.exec(WORKLOAD.as_bytes(), "=whole").unwrap();
        let r = vm.get_global("RESULT");
        vm.str_bytes(r).unwrap().to_vec()
    };
    assert!(whole.len() > 5_000);
    for slice in [1, 7, 1000] {
        let mut vm = vm();
        let f = vm.load(WORKLOAD.as_bytes(), "=sliced").unwrap();
        let main = vm.main_thread();
        let mut out = vm.start(f, &[], slice);
        let mut slices = 1;
        while let Ok(Outcome::OutOfFuel) = out {
            if slices % 64 == 0 {
                vm.full_gc();
            }
            out = vm.resume(main, &[], slice);
            slices += 1;
        }
        assert!(matches!(out, Ok(Outcome::Return(_))), "{out:?}");
        let r = vm.get_global("RESULT");
        assert_eq!(vm.str_bytes(r).unwrap(), &whole[..], "slice {slice}");
    }
}

/// Long calls on plain tables pay for their work and are suspended many
/// times, each slice within its budget plus a few units.
#[test]
fn long_table_functions_are_paid_for_and_suspended() {
    let cases = [
        (
            "concat",
            "local s = table.concat(t, ',') assert(#s > 6000000)",
        ),
        (
            "move",
            "local d = table.move(t, 1, #t, 1, {}) assert(d[#t] == #t)",
        ),
        (
            "move within",
            "table.move(t, 1, #t - 1, 2) assert(t[2] == 1)",
        ),
        (
            "unpack",
            "assert(select('#', table.unpack(t, 1, 500000)) == 500000)",
        ),
        (
            "insert",
            "table.insert(t, 1, 0) assert(t[1] == 0 and #t == N + 1)",
        ),
        ("remove", "assert(table.remove(t, 1) == 1 and #t == N - 1)"),
    ];
    let fill = "N = 1000000 t = {} for i = 1, N do t[i] = i end\n";
    let filled = sliced(fill, 10_000, 100_000);
    assert!(filled.end.is_ok(), "{:?}", filled.end);
    for (what, src) in cases {
        let r = sliced(&format!("{fill}{src}"), 10_000, 100_000);
        assert!(r.end.is_ok(), "{what}: {:?}", r.end);
        // A million elements cost at least a million units, in slices of
        // ten thousand.
        assert!(
            r.slices >= filled.slices + 45,
            "{what}: {} slices",
            r.slices
        );
        assert!(r.most <= 10_010, "{what}: a slice used {}", r.most);
    }
}
