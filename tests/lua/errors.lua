-- Errors: error with levels and with non-string values, pcall and xpcall results,
-- message handlers, nested protected calls, assert, runtime error messages that
-- name the variable involved, and argument errors of base functions.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- pcall returns true and every result, or false and the error value.
local function multi(a, b) return a, b, "third" end
local ok, r1, r2, r3 = pcall(multi, 1, 2)
assert(ok == true and r1 == 1 and r2 == 2 and r3 == "third")
assert(select("#", pcall(multi)) == 4)
assert(select("#", pcall(function() end)) == 1)
ok, r1 = pcall(error, "plain")
assert(ok == false and r1 == "plain")

-- error levels: 1 (default) is the function calling error, 2 its caller, 0 none.
local function lvl1() error("at one") end
local function lvl1b() error("explicit one", 1) end
local function lvl2() error("at two", 2) end
local function calls_lvl2()
  lvl2()
end
local function lvl3() error("at three", 3) end
local function mid3() lvl3() end
local function calls_mid3()
  mid3()
end
local function lvl0() error("no position", 0) end
assert(errmsg(lvl1) == "errors.lua:21: at one")
assert(errmsg(lvl1b) == "errors.lua:22: explicit one")
assert(errmsg(calls_lvl2) == "errors.lua:25: at two")
assert(errmsg(calls_mid3) == "errors.lua:30: at three")
assert(errmsg(lvl0) == "no position")
-- Level 2 pointing at a native caller (pcall) adds no position.
assert(errmsg(lvl2) == "at two")
-- An argument checker reports the error at its caller's line.
local function check_positive(n)
  if type(n) ~= "number" or n <= 0 then error("expected a positive number", 2) end
  return n
end
local function user()
  local v = check_positive(-1)
  return v
end
assert(errmsg(user) == "errors.lua:46: expected a positive number")

-- Error values that are not strings pass through unchanged, without position.
local eobj = { code = 1 }
ok, r1 = pcall(error, eobj)
assert(not ok and r1 == eobj and r1.code == 1)
assert(errmsg(function() error(eobj) end) == eobj)
assert(errmsg(function() error(42) end) == 42)
assert(errmsg(function() error(42, 2) end) == 42)
assert(errmsg(function() error(true) end) == true)
ok, r1 = pcall(function() error(nil) end)
assert(ok == false and r1 == nil)
ok, r1 = pcall(error)
assert(ok == false and r1 == nil)
local printable = setmetatable({}, { __tostring = function() return "printable" end })
assert(errmsg(function() error(printable) end) == printable)

-- Nested pcall: the inner one catches; an error object crosses several levels intact.
local inner_ok, inner_err
local outer_ok, outer_res = pcall(function()
  inner_ok, inner_err = pcall(error, "inner", 0)
  return "outer done"
end)
assert(outer_ok and outer_res == "outer done" and not inner_ok and inner_err == "inner")
local function level_c() error(eobj) end
local function level_b() level_c() end
local function level_a() level_b() end
assert(errmsg(level_a) == eobj)
-- Rethrowing keeps the message when level 0 is used.
local function rethrow()
  local ok2, e = pcall(lvl1)
  error(e, 0)
end
assert(errmsg(rethrow) == "errors.lua:21: at one")
-- Deeply nested protected calls.
local function nest(n)
  if n == 0 then error("bottom", 0) end
  local ok3, e = pcall(nest, n - 1)
  assert(not ok3)
  error(e .. "<" .. n, 0)
end
assert(errmsg(nest, 3) == "bottom<1<2<3")

-- xpcall: the handler receives the original error; its result is returned.
ok, r1 = xpcall(function() error("a") end, function(m) return "handled: " .. m end)
assert(ok == false and r1 == "handled: errors.lua:93: a")
local seen
ok, r1 = xpcall(function() error(eobj) end, function(m) seen = m; return "wrapped" end)
assert(not ok and seen == eobj and r1 == "wrapped")
ok, r1 = xpcall(function() local x = nil; return x.y end, function(m) return m end)
assert(not ok and r1 == "errors.lua:98: attempt to index a nil value (local 'x')")
-- On success, xpcall returns true and the results, passing extra arguments.
ok, r1, r2 = xpcall(function(a, b) return b, a end, print, "A", "B")
assert(ok and r1 == "B" and r2 == "A")
-- Calling a non-function is an error the handler sees too.
ok, r1 = xpcall(42, function(m) return "H:" .. m end)
assert(not ok and r1 == "H:attempt to call a number value")
ok, r1 = pcall(42)
assert(not ok and r1 == "attempt to call a number value")
-- An error inside the handler.
ok, r1 = xpcall(function() error("first") end, function(m) error("again") end)
assert(not ok and r1 == "error in error handling")
-- The handler runs for errors from nested calls as well.
local depth_seen
ok, r1 = xpcall(level_a, function(m) depth_seen = m; return "caught" end)
assert(not ok and r1 == "caught" and depth_seen == eobj)
-- Nested xpcall with different handlers.
ok, r1 = xpcall(function()
  local ok4, e = xpcall(function() error("deep", 0) end, function(m) return "inner(" .. m .. ")" end)
  error(e, 0)
end, function(m) return "outer(" .. m .. ")" end)
assert(r1 == "outer(inner(deep))")
assert(errmsg(xpcall) == "bad argument #2 to 'xpcall' (function expected, got no value)")

-- assert: returns its arguments or raises its message (with position if a string).
assert(select("#", assert(1, 2, 3)) == 3)
assert(errmsg(function() assert(false) end) == "errors.lua:125: assertion failed!")
assert(errmsg(function() assert(nil, "custom") end) == "errors.lua:126: custom")
assert(errmsg(function() assert(false, eobj) end) == eobj)
assert(errmsg(assert, false) == "assertion failed!")
assert(errmsg(assert) == "bad argument #1 to 'assert' (value expected)")

-- Runtime errors name the variable involved.
local t = { y = 1, sub = {} }
local u
g_table = {}
assert(errmsg(function() local t = nil; return t.x end) == "errors.lua:135: attempt to index a nil value (local 't')")
assert(errmsg(function() return undefined_global.x end) == "errors.lua:136: attempt to index a nil value (global 'undefined_global')")
assert(errmsg(function() return t.missing.x end) == "errors.lua:137: attempt to index a nil value (field 'missing')")
assert(errmsg(function() return u.x end) == "errors.lua:138: attempt to index a nil value (upvalue 'u')")
assert(errmsg(function() return t.y.z end) == "errors.lua:139: attempt to index a number value (field 'y')")
assert(errmsg(function() t.missing.x = 1 end) == "errors.lua:140: attempt to index a nil value (field 'missing')")
assert(errmsg(function() local b = true; return b.x end) == "errors.lua:141: attempt to index a boolean value (local 'b')")
assert(errmsg(function() g_table.a.b = 1 end) == "errors.lua:142: attempt to index a nil value (field 'a')")
assert(errmsg(function() undefined_fn() end) == "errors.lua:143: attempt to call a nil value (global 'undefined_fn')")
assert(errmsg(function() local f; f() end) == "errors.lua:144: attempt to call a nil value (local 'f')")
assert(errmsg(function() t.nofield() end) == "errors.lua:145: attempt to call a nil value (field 'nofield')")
assert(errmsg(function() t:m() end) == "errors.lua:146: attempt to call a nil value (method 'm')")
assert(errmsg(function() t.sub:method() end) == "errors.lua:147: attempt to call a nil value (method 'method')")
assert(errmsg(function() u() end) == "errors.lua:148: attempt to call a nil value (upvalue 'u')")
assert(errmsg(function() t.y() end) == "errors.lua:149: attempt to call a number value (field 'y')")
assert(errmsg(function() local tt = {}; tt() end) == "errors.lua:150: attempt to call a table value (local 'tt')")
assert(errmsg(function() ({})() end) == "errors.lua:151: attempt to call a table value")
assert(errmsg(function() return t.x + 1 end) == "errors.lua:152: attempt to perform arithmetic on a nil value (field 'x')")
assert(errmsg(function() return t + 1 end) == "errors.lua:153: attempt to perform arithmetic on a table value (upvalue 't')")
assert(errmsg(function() local tt = {}; return tt * 2 end) == "errors.lua:154: attempt to perform arithmetic on a table value (local 'tt')")
assert(errmsg(function() return 1 - undefined_global end) == "errors.lua:155: attempt to perform arithmetic on a nil value (global 'undefined_global')")
assert(errmsg(function() return -{} end) == "errors.lua:156: attempt to perform arithmetic on a table value")
assert(errmsg(function() local n; return #n end) == "errors.lua:157: attempt to get length of a nil value (local 'n')")
assert(errmsg(function() return #t.y end) == "errors.lua:158: attempt to get length of a number value (field 'y')")
assert(errmsg(function() return t < 1 end) == "errors.lua:159: attempt to compare table with number")
assert(errmsg(function() return "x" .. t end) == "errors.lua:160: attempt to concatenate a table value (upvalue 't')")
g_table = nil

-- Errors raised inside metamethods keep their own position.
local bad_index = setmetatable({}, { __index = function(_, k) error("no field " .. k) end })
assert(errmsg(function() return bad_index.foo end) == "errors.lua:164: no field foo")
local bad_index2 = setmetatable({}, { __index = function(_, k) error("no field " .. k, 2) end })
assert(errmsg(function() return bad_index2.foo end) == "errors.lua:167: no field foo")

-- Argument errors of base functions (with the caller's position when called from Lua).
assert(errmsg(function() setmetatable(nil, {}) end) == "errors.lua:170: bad argument #1 to 'setmetatable' (table expected, got nil)")
assert(errmsg(setmetatable, nil) == "bad argument #1 to 'setmetatable' (table expected, got nil)")
assert(errmsg(setmetatable, {}) == "bad argument #2 to 'setmetatable' (nil or table expected, got no value)")
assert(errmsg(tostring) == "bad argument #1 to 'tostring' (value expected)")
assert(errmsg(type) == "bad argument #1 to 'type' (value expected)")
assert(errmsg(rawget, {}) == "bad argument #2 to 'rawget' (value expected)")
assert(errmsg(rawset, 1, 2, 3) == "bad argument #1 to 'rawset' (table expected, got number)")
assert(errmsg(pcall) == "bad argument #1 to 'pcall' (value expected)")
assert(errmsg(function() next({}, nil, 1); return next(1) end) == "errors.lua:178: bad argument #1 to 'next' (table expected, got number)")
assert(errmsg(function() return select("x") end) == "errors.lua:179: bad argument #1 to 'select' (number expected, got string)")

-- The VM is in a normal state after all of these.
assert(pcall(function() return 1 end))
assert(select(2, pcall(multi, "fine")) == "fine")

print("ok errors")
