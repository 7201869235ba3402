//! `table.sort`'s direct path (a list without a metatable, no comparator,
//! raw comparisons) against its logged path: the same element order, the
//! same errors, the same behaviour under a budget.

mod support;

use support::slices::sliced;
use support::vm;
use vm_core::Outcome;

/// Sorts lists three ways: plain (the direct path), through a proxy whose
/// `__index`/`__newindex` go to the list (the logged path), and with a
/// `<` comparator (the logged path); integers and floats that compare
/// equal tell where each element went. `RESULT` is the outcome of every
/// case, each checked to be the same three ways.
const THREE_WAYS: &str = r##"
    local function show(list, ok, err)
      -- (The comparator's errors carry its position.)
      if not ok then return "error: " .. err:gsub("^three:%d+: ", "") end
      local out = {}
      for i = 1, #list do out[i] = math.type(list[i]) and (list[i] .. math.type(list[i])) or tostring(list[i]) end
      return table.concat(out, " ")
    end
    local function copy(l) local c = {} for i = 1, #l do c[i] = l[i] end return c end
    local function three(list)
      local a = copy(list)
      local ra = show(a, pcall(table.sort, a))
      local store = copy(list)
      local proxy = setmetatable({}, {
        __index = function(_, k) return store[k] end,
        __newindex = function(_, k, v) store[k] = v end,
        __len = function() return #store end,
      })
      local rb = show(store, pcall(table.sort, proxy))
      local c = copy(list)
      local rc = show(c, pcall(table.sort, c, function(x, y) return x < y end))
      assert(ra == rb, "plain and proxy differ:\n" .. ra .. "\n" .. rb)
      assert(ra == rc, "plain and comparator differ:\n" .. ra .. "\n" .. rc)
      return ra
    end
    local seed = 7
    local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
    local out = {}
    for _, n in ipairs({2, 3, 4, 5, 10, 99, 100, 101, 500, 3000}) do
      local shapes = {
        function(i) return rnd(n) end,
        function(i) return i end,
        function(i) return n - i end,
        function(i) return 7 end,
        function(i) return i <= n // 2 and i or n - i end,
        function(i) return rnd(5) end,
        function(i) return i % 2 == 0 and i or n + i end,
      }
      for s, shape in ipairs(shapes) do
        local list = {}
        for i = 1, n do
          local v = shape(i)
          -- Half the values as floats: equal, but told apart.
          list[i] = rnd(2) == 0 and v or v + 0.0
        end
        out[#out + 1] = three(list)
      end
      -- Strings.
      local words = {}
      for i = 1, n do words[i] = tostring(rnd(n)) .. "w" end
      out[#out + 1] = three(words)
    end
    -- NaNs make the order inconsistent: the same outcome.
    local nan = 0 / 0
    for _, n in ipairs({3, 5, 20, 200}) do
      for k = 1, 6 do
        local list = {}
        for i = 1, n do list[i] = (rnd(k + 1) == 0) and nan or rnd(n) end
        out[#out + 1] = three(list)
      end
    end
    -- Mixed types fail alike.
    out[#out + 1] = three({3, 1, "x", 2, 5})
    out[#out + 1] = three({"b", "a", 1})
    RESULT = table.concat(out, "\n")
"##;

#[test]
fn the_direct_path_sorts_as_the_logged_path() {
    let mut vm = vm();
    if let Err(e) = vm.exec(THREE_WAYS.as_bytes(), "=three") {
        panic!("{}", vm.error_to_string(&e));
    }
    let r = vm.get_global("RESULT");
    let text = String::from_utf8_lossy(vm.str_bytes(r).unwrap()).into_owned();
    assert!(text.contains("nan"));
    assert!(text.contains("attempt to compare"));
}

/// Elements with `__lt` among numbers: the direct path hands the phases
/// that compare them to the logged path and takes over again; the order
/// and the `__lt` calls are those of the logged path alone.
#[test]
fn lt_elements_among_numbers_sort_as_through_the_log() {
    let src = r##"
        local calls = {}
        local mt = {}
        local function val(x) return type(x) == "table" and x.v or x end
        mt.__lt = function(a, b) calls[#calls + 1] = val(a) .. "<" .. val(b) return val(a) < val(b) end
        local function build()
          local l = {}
          for i = 1, 400 do
            local v = (i * 7919) % 401
            l[i] = (i % 37 == 0) and setmetatable({v = v}, mt) or v
          end
          return l
        end
        local a = build()
        table.sort(a)
        local plain_calls = table.concat(calls, ",")
        calls = {}
        local store = build()
        table.sort(setmetatable({}, {
          __index = function(_, k) return store[k] end,
          __newindex = function(_, k, v) store[k] = v end,
          __len = function() return #store end,
        }))
        assert(table.concat(calls, ",") == plain_calls)
        for i = 1, 400 do assert(type(a[i]) == type(store[i]) and val(a[i]) == val(store[i]), i) end
        for i = 2, 400 do assert(val(a[i - 1]) <= val(a[i])) end
        return #plain_calls > 0
    "##;
    let mut vm = vm();
    match vm.exec(src.as_bytes(), "=mixed") {
        Ok(r) => assert!(matches!(r[0], vm_core::Value::Bool(true))),
        Err(e) => panic!("{}", vm.error_to_string(&e)),
    }
}

/// Sorting in slices of 1, 7 and 1000 units gives the same order as in
/// one go (and as the logged path), each slice within its budget.
#[test]
fn a_sliced_direct_sort_is_the_same_sort() {
    let src = r##"
        local list = {}
        local seed = 3
        for i = 1, 3000 do
          seed = (seed * 1103515245 + 12345) % 2147483648
          local v = seed % 500
          list[i] = seed % 2 == 0 and v or v + 0.0
        end
        local store = {}
        for i = 1, #list do store[i] = list[i] end
        table.sort(list)
        table.sort(setmetatable({}, {
          __index = function(_, k) return store[k] end,
          __newindex = function(_, k, v) store[k] = v end,
          __len = function() return #store end,
        }))
        local out = {}
        for i = 1, #list do
          assert(math.type(list[i]) == math.type(store[i]) and list[i] == store[i], i)
          out[i] = math.type(list[i]) == "integer" and "i" or "f"
        end
        RESULT = table.concat(out)
    "##;
    let whole = {
        let mut vm = vm();
        vm.exec(src.as_bytes(), "=whole").unwrap();
        let r = vm.get_global("RESULT");
        vm.str_bytes(r).unwrap().to_vec()
    };
    for slice in [1, 7, 1000] {
        let mut vm = vm();
        let f = vm.load(src.as_bytes(), "=sliced").unwrap();
        let main = vm.main_thread();
        let mut out = vm.start(f, &[], slice);
        let mut most = vm.fuel_used();
        while let Ok(Outcome::OutOfFuel) = out {
            out = vm.resume(main, &[], slice);
            most = most.max(vm.fuel_used());
        }
        assert!(matches!(out, Ok(Outcome::Return(_))), "{out:?}");
        let r = vm.get_global("RESULT");
        assert_eq!(vm.str_bytes(r).unwrap(), &whole[..], "slice {slice}");
        // A phase of the sort charges up to 15 units at its end.
        assert!(most <= slice + 16, "slice {slice}: {most}");
    }
}

/// A long direct sort is paid for and suspended many times; an endless
/// `__lt` met after the direct path started still comes back to the
/// driver every slice.
#[test]
fn direct_sorts_honour_the_budget() {
    let long = "local t = {} for i = 1, 100000 do t[i] = (i * 7919) % 100003 end
                table.sort(t)
                for i = 2, #t do assert(t[i - 1] <= t[i]) end";
    let (slices, most, end) = sliced(long, 10_000, 100_000);
    assert!(end.is_ok(), "{end:?}");
    // About 2 million comparisons, accesses and writes.
    assert!(slices > 200, "{slices} slices");
    assert!(most <= 10_016, "a slice used {most}");
    let endless = "local t = {} for i = 1, 1000 do t[i] = 1000 - i end
                   t[700] = setmetatable({}, {__lt = function() while true do end end})
                   table.sort(t)";
    let (slices, most, end) = sliced(endless, 1000, 200);
    assert_eq!(end, Err("still running".to_string()));
    assert_eq!(slices, 200);
    assert!(most <= 1016, "a slice used {most}");
}
