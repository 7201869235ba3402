//! Lua code that the string library calls (`gsub` replacement functions
//! and `__index` of replacement tables, `format`'s `__tostring`, the
//! arithmetic metamethods' fallback), `require`'s searchers and loaders
//! (a module's main chunk), and the metamethods of `os.time`'s date
//! table, run through the interpreter loop: a driver's budget suspends
//! them like any other Lua code, they may yield, and a sliced run gives
//! the same results as a whole one.

mod support;

use support::{slices, vm};
use vm_core::Vm;

/// Runs `src` in slices of `slice` units, at most `cap` of them, with a
/// full collection between two; returns the slices run, the most fuel
/// one used, and how the run ended (its first result rendered).
fn sliced(src: &str, slice: u64, cap: usize) -> (usize, u64, Result<String, String>) {
    sliced_on(vm(), src, slice, cap)
}

fn sliced_on(
    mut vm: Box<Vm>,
    src: &str,
    slice: u64,
    cap: usize,
) -> (usize, u64, Result<String, String>) {
    slices::run(&mut vm, src, slice, cap, true).parts()
}

/// `src`'s first result run in one go.
fn whole(src: &str) -> String {
    let mut vm = vm();
    let r = vm.exec(src.as_bytes(), "=whole").unwrap();
    r.first().map_or(String::new(), |&v| vm.to_display(v))
}

#[test]
fn endless_string_callbacks_come_back_to_the_driver_every_slice() {
    let cases = [
        "string.gsub('abc', '%w', function(c) while true do end end)",
        "string.gsub('abc', '(%w)', setmetatable({}, {__index = function() while true do end end}))",
        "string.gsub(string.rep('ab ', 1000), '%w+', function(c) if c == 'ab' then return nil end end)
         string.gsub('x', 'x', function() while true do end end)",
        "string.format('%s', setmetatable({}, {__tostring = function() while true do end end}))",
        "string.format('%d %5s', 1, setmetatable({}, {__tostring = function() while true do end end}))",
        "local _ = '1' + setmetatable({}, {__add = function() while true do end end})",
        "local _ = ('abc'):rep(3) .. -setmetatable({}, {__unm = function() while true do end end})",
        "os.time(setmetatable({}, {__index = function() while true do end end}))",
        "os.time(setmetatable({}, {__index = function() return 1 end, __newindex = function() while true do end end}))",
    ];
    for src in cases {
        let (slices, most, end) = sliced(src, 1000, 50);
        assert_eq!(end, Err("still running".to_string()), "{src}");
        assert_eq!(slices, 50, "{src}");
        assert!(most <= 1010, "{src}: a slice used {most}");
    }
}

#[test]
fn the_instruction_limit_stops_endless_string_callbacks() {
    for src in [
        "string.gsub('abc', '%w', function(c) while true do end end)",
        "string.format('%s', setmetatable({}, {__tostring = function() while true do end end}))",
    ] {
        let mut vm = vm();
        vm.set_instruction_limit(Some(100_000));
        let e = vm.exec(src.as_bytes(), "=limit").unwrap_err();
        let msg = vm.error_to_string(&e);
        assert!(msg.contains("instruction limit exceeded"), "{src}: {msg}");
    }
}

/// Callbacks that make garbage, count their calls and see the partial
/// state of the program: every slice size gives the same answer.
#[test]
fn sliced_string_callbacks_give_the_same_results() {
    let src = r#"
        local calls, log = 0, {}
        local text = string.rep("alpha beta gamma delta ", 200)
        local r1, n1 = text:gsub("(%a+) (%a+)", function(a, b)
            calls = calls + 1
            local junk = {}
            for i = 1, 5 do junk[i] = a .. i end
            if #a > 4 then return b:upper() .. "-" .. #junk end
        end)
        local lazy = setmetatable({}, {__index = function(t, k)
            log[#log + 1] = k
            if k == "beta" then return false end
            return k:reverse()
        end})
        local r2, n2 = text:gsub("%a+", lazy, 300)
        local r3, n3 = text:gsub("()(%a)", {[1] = "<", [5] = 7})
        local obj = setmetatable({}, {__tostring = function(o)
            calls = calls + 1
            return "obj" .. calls
        end})
        local f = string.format("%s|%-8s|%d|%s|%q", obj, obj, calls, "s", 1/3)
        local sum = "10" + setmetatable({}, {__add = function(a, b) return #log end})
        return table.concat({#r1, n1, r1:sub(1, 60), #r2, n2, r2:sub(-60), #r3, n3,
                             r3:sub(1, 40), f, calls, #log, sum}, " ")
    "#;
    let expected = whole(src);
    assert!(expected.contains("obj"), "{expected}");
    for slice in [1, 3, 17, 100, 1000, 100_000] {
        let (slices, _, end) = sliced(src, slice, usize::MAX);
        assert_eq!(end.as_deref(), Ok(expected.as_str()), "slice {slice}");
        if slice <= 100 {
            assert!(slices > 50, "slice {slice}: {slices} slices");
        }
    }
}

/// The same under a collection at every safe point: the state a stopped
/// `gsub` or `format` keeps in its frame survives.
#[test]
fn sliced_string_callbacks_survive_gc_stress() {
    let src = r#"
        local n = 0
        local r = string.rep("word ", 300):gsub("%a+", function(w) n = n + 1 return w .. n end)
        local t = setmetatable({}, {__index = function(_, k) local junk = {k, {}} return junk[1]:upper() end})
        local r2 = ("x y z "):rep(50):gsub("%a", t)
        local o = setmetatable({}, {__tostring = function() return ("o"):rep(3) end})
        return #r .. r:sub(-20) .. r2:sub(1, 9) .. string.format("%s%s", o, o)
    "#;
    let expected = whole(src);
    let mut stressed = vm();
    stressed.gc_set_stress(true);
    let (_, _, end) = sliced_on(stressed, src, 7, usize::MAX);
    assert_eq!(end.as_deref(), Ok(expected.as_str()));
}

#[test]
fn gsub_and_format_callbacks_may_yield() {
    let mut vm = vm();
    let r = vm
        .exec(
            br#"
            local co = coroutine.wrap(function()
                local s, n = string.gsub("a1b2", "%a", function(c) return coroutine.yield(c) end)
                local t = setmetatable({}, {__tostring = function() return coroutine.yield("ts") end})
                return s .. n .. string.format("<%s>", t)
            end)
            local got = {co(), co("X"), co(nil), co("str")}
            return table.concat(got, ",")
        "#,
            "=yield",
        )
        .unwrap();
    assert_eq!(vm.str_bytes(r[0]), Some(&b"a,b,ts,X1b22<str>"[..]));
}

#[test]
fn callback_errors_keep_their_messages() {
    let mut vm = vm();
    let r = vm
        .exec(
            br#"
            local function msg(f) local ok, e = pcall(f) assert(not ok) return e end
            return table.concat({
                msg(function() return ("abc"):gsub("b", function() error("boom", 0) end) end),
                msg(function() return ("abc"):gsub("b", function() return {} end) end),
                msg(function() return ("abc"):gsub("b", setmetatable({}, {__index = function() return true end})) end),
                msg(function() return string.format("%s", setmetatable({}, {__tostring = function() return {} end})) end),
                msg(function() return string.format("%d %s", 1, setmetatable({}, {__tostring = function() error("ts", 0) end})) end),
            }, "|")
        "#,
            "=errors",
        )
        .unwrap();
    assert_eq!(
        vm.to_display(r[0]),
        "boom|errors:5: invalid replacement value (a table)|\
         errors:6: invalid replacement value (a boolean)|\
         errors:7: '__tostring' must return a string|ts"
    );
}

/// A module directory with `name.lua` holding `text`, for `package.path`.
fn module_dir(tag: &str, name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vm-preempt-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.lua")), text).unwrap();
    dir
}

#[test]
fn endless_module_chunks_and_searchers_come_back_to_the_driver() {
    let dir = module_dir("endless", "spin", "while true do end");
    let path = format!("{}/?.lua", dir.display());
    let cases = [
        "package.preload.spin = function() while true do end end require('spin')".to_string(),
        format!("package.path = '{path}' require('spin')"),
        "table.insert(package.searchers, 1, function() while true do end end) require('x')"
            .to_string(),
    ];
    for src in &cases {
        let (slices, most, end) = sliced(src, 1000, 50);
        assert_eq!(end, Err("still running".to_string()), "{src}");
        assert_eq!(slices, 50, "{src}");
        assert!(most <= 1010, "{src}: a slice used {most}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_sliced_require_loads_the_same_module() {
    let dir = module_dir(
        "same",
        "counter",
        "local name, file = ...
         local t = {}
         for i = 1, 2000 do t[i] = (i * 7) % 13 end
         table.sort(t)
         return {sum = t[1] + t[#t] + #t, name = name, file = file:match('[^/]*$')}",
    );
    let src = format!(
        "package.path = '{}/?.lua'
         local m, data = require('counter')
         local again = require('counter')
         return m.sum .. m.name .. m.file .. tostring(m == again) .. data:match('[^/]*$')",
        dir.display()
    );
    let expected = whole(&src);
    assert_eq!(expected, "2012countercounter.luatruecounter.lua");
    for slice in [1, 10, 1000] {
        let (_, _, end) = sliced(&src, slice, usize::MAX);
        assert_eq!(end.as_deref(), Ok(expected.as_str()), "slice {slice}");
    }
    std::fs::remove_dir_all(dir).ok();
}
