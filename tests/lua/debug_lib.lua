-- The debug library, first part: getinfo (functions, levels, threads, every option),
-- traceback (messages, levels, threads, non-string messages), getmetatable and
-- setmetatable of any type, getregistry, getupvalue/setupvalue, getuservalue and
-- setuservalue, and the argument errors.

local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok)
  return msg
end
-- Tracebacks end with the host's own frames (`lua.c`'s, or none when the
-- chunk is run by an embedder), so only their beginnings are compared.
local function starts(s, prefix) return s:sub(1, #prefix) == prefix end

-- getinfo of a running function (level 1) and of a function value
local function f(a, b, ...)
  local info = debug.getinfo(1)
  return info
end
local i = f(1, 2)
assert(i.short_src == "debug_lib.lua" and i.source == "@debug_lib.lua" and i.what == "Lua")
assert(i.linedefined == 16 and i.lastlinedefined == 19 and i.currentline == 17)
assert(i.nups == 1 and i.nparams == 2 and i.isvararg == true)
assert(i.name == "f" and i.namewhat == "local" and i.func == f and i.istailcall == false)
assert(i.ftransfer == 0 and i.ntransfer == 0)
local lines = {}
for l in pairs(debug.getinfo(f, "L").activelines) do lines[#lines + 1] = l end
table.sort(lines)
assert(table.concat(lines, ",") == "17,18,19")
local fi = debug.getinfo(f)
assert(fi.currentline == -1 and fi.name == nil and fi.namewhat == "" and fi.func == f)
local only = debug.getinfo(f, "S")
assert(only.what == "Lua" and only.currentline == nil and only.func == nil and only.nups == nil)

-- natives and the main chunk
local m = debug.getinfo(print)
assert(m.short_src == "[C]" and m.what == "C" and m.source == "=[C]")
assert(m.linedefined == -1 and m.lastlinedefined == -1 and m.currentline == -1)
assert(m.nups == 0 and m.nparams == 0 and m.isvararg == true and m.activelines == nil)
local main = debug.getinfo(1, "S")
assert(main.what == "main" and main.linedefined == 0)
assert(debug.getinfo(0, "n").name == "getinfo")

-- levels and names
assert(debug.getinfo(100) == nil and debug.getinfo(-1) == nil)
local function g() return debug.getinfo(2, "n") end
local function h() local r = g() return r end
local r = h()
assert(r.name == "h" and r.namewhat == "local")
local t = {}
function t.method() return debug.getinfo(1, "n") end
r = t.method()
assert(r.name == "method" and r.namewhat == "field")
function t:m2() return debug.getinfo(1, "n") end
r = t:m2()
assert(r.name == "m2" and r.namewhat == "method")

-- option errors
assert(errmsg(debug.getinfo, {}) == "bad argument #1 to 'debug.getinfo' (number expected, got table)")
assert(errmsg(debug.getinfo, 1, ">S") == "bad argument #2 to 'debug.getinfo' (invalid option '>')")
assert(errmsg(debug.getinfo, 1, "x") == "bad argument #2 to 'debug.getinfo' (invalid option)")

-- traceback
assert(starts(debug.traceback("msg"), "msg\nstack traceback:\n\tdebug_lib.lua:64: in main chunk"))
assert(starts(debug.traceback("msg", 2), "msg\nstack traceback:") and not debug.traceback("msg", 2):find("main chunk"))
assert(starts(debug.traceback(nil), "stack traceback:\n\tdebug_lib.lua:66: in main chunk"))
assert(starts(debug.traceback(12), "12\nstack traceback:\n\tdebug_lib.lua:67: in main chunk"))
local tab = {}
assert(debug.traceback(tab) == tab)
local function inner() return debug.traceback("in", 1) end
assert(starts(inner(), "in\nstack traceback:\n\tdebug_lib.lua:70: in local 'inner'\n\tdebug_lib.lua:71: in main chunk"))

-- threads
local co = coroutine.create(function(x)
  local y = coroutine.yield(x)
  return y
end)
coroutine.resume(co, 1)
assert(debug.traceback(co) == "stack traceback:\n\t[C]: in function 'coroutine.yield'\n\tdebug_lib.lua:75: in function <debug_lib.lua:74>")
assert(debug.traceback(co, "hi", 1) == "hi\nstack traceback:\n\tdebug_lib.lua:75: in function <debug_lib.lua:74>")
local ci = debug.getinfo(co, 1, "Sl")
assert(ci.currentline == 75 and ci.what == "Lua")
assert(debug.getinfo(co, 0, "n").name == "yield" and debug.getinfo(co, 0, "S").what == "C")
assert(debug.getinfo(co, 5) == nil)

-- upvalues
local up1, up2 = 10, 20
local function uf() return up1 + up2 end
local n1, v1 = debug.getupvalue(uf, 1)
assert(n1 == "up1" and v1 == 10)
assert(select(2, debug.getupvalue(uf, 2)) == 20)
assert(select("#", debug.getupvalue(uf, 3)) == 0 and select("#", debug.getupvalue(uf, 0)) == 0)
assert(debug.setupvalue(uf, 2, 5) == "up2" and uf() == 15 and up2 == 5)
assert(select("#", debug.setupvalue(uf, 9, 5)) == 0)
local gm = string.gmatch("a", "a")
assert(debug.getupvalue(gm, 1) == "")
assert(errmsg(debug.getupvalue, 1, 1) == "bad argument #1 to 'debug.getupvalue' (function expected, got number)")
assert(errmsg(debug.setupvalue, uf, 1) == "bad argument #3 to 'debug.setupvalue' (value expected)")
local closed = (function() local c = 1 return function() c = c + 1 return c end end)()
assert(debug.setupvalue(closed, 1, 41) == "c" and closed() == 42)

-- metatables of any type
assert(debug.getmetatable("").__index == string)
assert(debug.setmetatable(10, {__index = {twice = function(x) return x * 2 end}}) == 10)
assert((5):twice() == 10 and (2.5):twice() == 5.0)
debug.setmetatable(10, nil)
assert(debug.getmetatable(1) == nil)
local protected = setmetatable({}, {__metatable = "locked"})
assert(getmetatable(protected) == "locked" and type(debug.getmetatable(protected)) == "table")
assert(errmsg(debug.setmetatable, 1, 2) == "bad argument #2 to 'debug.setmetatable' (nil or table expected, got number)")
assert(errmsg(debug.getmetatable) == "bad argument #1 to 'debug.getmetatable' (value expected)")

-- the registry and user values
assert(type(debug.getregistry()) == "table" and debug.getregistry()._LOADED == package.loaded)
assert(debug.getuservalue(1) == nil and select("#", debug.getuservalue(1)) == 1)
assert(errmsg(debug.setuservalue, {}, 1) == "bad argument #1 to 'debug.setuservalue' (userdata expected, got table)")

-- locals: active ones, loop state, varargs, setting them, levels below, parameters
local function loc(a, b, ...)
  local x = a + b
  do local inner = 5 end
  local names = {}
  for k = 1, 10 do
    local n, v = debug.getlocal(1, k)
    if not n then break end
    names[#names + 1] = n .. "=" .. (type(v) == "table" and "t" or tostring(v))
  end
  assert(table.concat(names, " ") == "a=1 b=2 x=3 names=t (for state)=5 (for state)=4 (for state)=1 k=8")
  local n1 = debug.getlocal(1, -1)
  local n2, v2 = debug.getlocal(1, -2)
  assert(n1 == "(vararg)" and n2 == "(vararg)" and v2 == "vb" and debug.getlocal(1, -3) == nil)
  assert(debug.setlocal(1, 3, 99) == "x" and x == 99)
  assert(debug.setlocal(1, -1, "v1") == "(vararg)" and select(1, ...) == "v1")
  assert(debug.setlocal(1, 50, 1) == nil)
  local caller, cv = debug.getlocal(2, 1)
  assert(caller == "errmsg" and type(cv) == "function")
  return x
end
assert(loc(1, 2, "va", "vb") == 99)
assert(debug.getlocal(loc, 1) == "a" and debug.getlocal(loc, 2) == "b")
assert(debug.getlocal(loc, 3) == nil and debug.getlocal(print, 1) == nil)
assert(select("#", debug.getlocal(1, 1000)) == 1)
assert(errmsg(debug.getlocal, 50, 1) == "bad argument #1 to 'debug.getlocal' (level out of range)")
assert(errmsg(debug.setlocal, 50, 1, 1) == "bad argument #1 to 'debug.setlocal' (level out of range)")
assert(errmsg(debug.getlocal, 1) == "bad argument #2 to 'debug.getlocal' (number expected, got no value)")
assert(errmsg(debug.setlocal, 1, 1) == "bad argument #3 to 'debug.setlocal' (value expected)")
local lco = coroutine.create(function(p1) local q = p1 * 2 coroutine.yield() return q end)
coroutine.resume(lco, 21)
local pn, pv = debug.getlocal(lco, 1, 1)
local qn, qv = debug.getlocal(lco, 1, 2)
assert(pn == "p1" and pv == 21 and qn == "q" and qv == 42 and debug.getlocal(lco, 1, 3) == nil)
assert(debug.setlocal(lco, 1, 2, 7) == "q" and select(2, coroutine.resume(lco)) == 7)
assert(errmsg(debug.getlocal, lco, 1, 1) == "bad argument #2 to 'debug.getlocal' (level out of range)")

-- upvalue identities and joins (identities are numbers here, light userdata in PUC)
local ua, ub = 1, 2
local function fa() return ua end
local function fb() return ub end
local function fa2() return ua end
assert(debug.upvalueid(fa, 1) == debug.upvalueid(fa2, 1))
assert(debug.upvalueid(fa, 1) ~= debug.upvalueid(fb, 1))
assert(debug.upvalueid(fa, 5) == nil)
debug.upvaluejoin(fa, 1, fb, 1)
assert(fa() == 2 and fa2() == 1 and debug.upvalueid(fa, 1) == debug.upvalueid(fb, 1))
ub = 3
assert(fa() == 3)
assert(errmsg(debug.upvaluejoin, fa, 1, print, 1) == "bad argument #4 to 'debug.upvaluejoin' (invalid upvalue index)")
assert(errmsg(debug.upvaluejoin, fa, 3, fb, 1) == "bad argument #2 to 'debug.upvaluejoin' (invalid upvalue index)")
assert(errmsg(debug.upvaluejoin, string.gmatch("a", "a"), 1, fa, 1) == "bad argument #1 to 'debug.upvaluejoin' (Lua function expected)")
assert(errmsg(debug.upvalueid, {}, 1) == "bad argument #1 to 'debug.upvalueid' (function expected, got table)")

-- a negative level names no frame
assert(debug.traceback("neg", -1) == "neg\nstack traceback:")

-- a level may be a numeric string, as luaL_checkinteger reads it
assert(debug.getinfo("1", "l").currentline == debug.getinfo(1, "l").currentline)
assert(debug.getinfo("0x7fffffffffffffff") == nil)

-- traceback's message is converted as lua_tostring does: no __tostring for
-- strings or numbers.
do
  local smt = getmetatable("")
  local old_num = debug.getmetatable(0)
  debug.setmetatable(0, {__tostring = function() return "NUM" end})
  smt.__tostring = function() return "STR" end
  local a, b, c = debug.traceback(5), debug.traceback("x"), debug.traceback(2.5)
  smt.__tostring = nil
  debug.setmetatable(0, old_num)
  assert(a:match("^[^\n]*") == "5" and b:match("^[^\n]*") == "x" and c:match("^[^\n]*") == "2.5")
end

print("ok debug_lib")
