//! The base library under a budget (issue 12, points 1 and 2): `ipairs`'s
//! `__index` and `load`'s reader run through the interpreter loop, under
//! the driver's budget, and may yield; compiling pays for its size.

mod support;

use support::slices::sliced;
use support::vm;
use vm_core::{Outcome, Value};

/// Endless Lua code in every place the base library calls it from.
const ENDLESS: &[(&str, &str)] = &[
    (
        "ipairs __index",
        "for _ in ipairs(setmetatable({}, {__index = function() while true do end end})) do end",
    ),
    ("load reader", "load(function() while true do end end)"),
    (
        "load reader, endless pieces",
        "load(function() return '-- a comment\\n' end)",
    ),
    (
        "load reader, endless after pieces",
        "local n = 0 load(function() n = n + 1 if n < 5 then return 'x = 1 ' end while true do end end)",
    ),
];

#[test]
fn endless_callbacks_come_back_to_the_driver_every_slice() {
    for (what, src) in ENDLESS {
        for slice in [100, 1000] {
            let (slices, most, end) = sliced(src, slice, 30);
            assert_eq!(end, Err("still running".to_string()), "{what}");
            assert_eq!(slices, 30, "{what}");
            assert!(most <= slice + 10, "{what}: a slice used {most}");
        }
    }
}

#[test]
fn the_instruction_limit_stops_endless_callbacks() {
    for (what, src) in ENDLESS {
        let mut vm = vm();
        vm.set_instruction_limit(Some(50_000));
        let err = vm.exec(src.as_bytes(), "=limit").unwrap_err();
        let msg = vm.error_to_string(&err);
        assert!(msg.contains("instruction limit exceeded"), "{what}: {msg}");
        vm.set_instruction_limit(None);
        assert!(vm.exec(b"return 1", "=again").is_ok(), "{what}");
    }
}

/// `ipairs`'s `__index` and `load`'s reader may yield; the iteration and
/// the load go on with the values the coroutine is resumed with.
#[test]
fn ipairs_index_and_load_readers_may_yield() {
    let src = r#"
        local lazy = setmetatable({}, {__index = function(_, i)
          if i <= 4 then return coroutine.yield(i) end
        end})
        local co = coroutine.wrap(function()
          local seen = {}
          for i, v in ipairs(lazy) do seen[#seen + 1] = i .. "=" .. v end
          return table.concat(seen, " ")
        end)
        assert(co() == 1 and co("a") == 2 and co("b") == 3 and co("c") == 4)
        assert(co("d") == "1=a 2=b 3=c 4=d")

        local pieces = {"local a, b = ...\n", "return a ", "* b", " + 1"}
        co = coroutine.wrap(function()
          local k = 0
          local f = assert(load(function()
            k = k + 1
            return coroutine.yield(pieces[k])
          end, "=pieces"))
          return f(6, 7)
        end)
        local got, r = {}, co()
        while r ~= 43 do got[#got + 1] = r r = co(r) end
        assert(table.concat(got) == table.concat(pieces))

        -- A reader that fails after yielding: load returns nil and the error.
        co = coroutine.wrap(function()
          local n = 0
          return load(function()
            n = n + 1
            if n == 1 then return coroutine.yield("return 1") end
            error("reader broke", 0)
          end)
        end)
        assert(co() == "return 1")
        local f, err = co("return 1")
        assert(f == nil and err == "reader broke")
        return true
    "#;
    let mut vm = vm();
    match vm.exec(src.as_bytes(), "=yields") {
        Ok(v) => assert!(matches!(v[0], Value::Bool(true))),
        Err(e) => panic!("{}", vm.error_to_string(&e)),
    }
}

/// `ipairs` over a proxy and `load` through a reader give the same results
/// in slices of any size as in one go.
#[test]
fn sliced_ipairs_and_load_give_the_same_results() {
    let src = r#"
        local log = {}
        local store = {}
        for i = 1, 300 do store[i] = (i * 37) % 101 end
        local proxy = setmetatable({}, {__index = function(_, i)
          log[#log + 1] = i
          return store[i]
        end})
        local sum = 0
        for i, v in ipairs(proxy) do sum = sum + i * v end
        for i, v in ipairs(store) do sum = sum + v end
        local parts = {"local t = {}\n"}
        for i = 1, 200 do parts[#parts + 1] = "t[" .. i .. "] = " .. i * i .. "\n" end
        parts[#parts + 1] = "return t"
        local k = 0
        local t = assert(load(function() k = k + 1 return parts[k] end))()
        local f, err = load(function() return {} end)
        RESULT = sum .. " " .. #log .. " " .. t[200] .. " " .. k .. " " .. tostring(f) .. " " .. err
    "#;
    let whole = {
        let mut vm = vm();
        vm.exec(src.as_bytes(), "=whole").unwrap();
        let r = vm.get_global("RESULT");
        vm.str_bytes(r).unwrap().to_vec()
    };
    for slice in [1, 7, 1000] {
        let mut vm = vm();
        let f = vm.load(src.as_bytes(), "=whole").unwrap();
        let main = vm.main_thread();
        let mut out = vm.start(f, &[], slice);
        while let Ok(Outcome::OutOfFuel) = out {
            out = vm.resume(main, &[], slice);
        }
        assert!(matches!(out, Ok(Outcome::Return(_))), "{out:?}");
        let r = vm.get_global("RESULT");
        assert_eq!(vm.str_bytes(r).unwrap(), &whole[..], "slice {slice}");
    }
}

/// Compiling pays one unit for every byte of the chunk.
#[test]
fn load_pays_for_the_chunk_it_compiles() {
    let mut vm = vm();
    vm.exec(b"BIG = string.rep('x = 1\\n', 200000)", "=big")
        .unwrap();
    // 1.2 MB: 1,200,000 units.
    vm.set_instruction_limit(Some(1_150_000));
    let err = vm.exec(b"return load(BIG)", "=load").unwrap_err();
    assert!(vm
        .error_to_string(&err)
        .contains("instruction limit exceeded"));
    vm.set_instruction_limit(Some(1_250_000));
    let r = vm.exec(b"return load(BIG) ~= nil", "=load").unwrap();
    assert!(matches!(r[0], Value::Bool(true)));
}
