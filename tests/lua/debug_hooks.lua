-- The debug library, second part: sethook and gethook. Call, tail call, return,
-- line and count events, in Lua 5.4's order, with what getinfo, getlocal and
-- traceback see from inside a hook; hooks per coroutine; errors in hooks and
-- argument errors. Lines are compared relative to each function's first line.

local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok)
  return msg
end

-- Runs f(...) with a hook recording "event[ line]" (line relative to `base`),
-- and returns the record joined by commas.
local function record(mask, count, base, f, ...)
  local t = {}
  debug.sethook(function(e, l)
    t[#t + 1] = l and (e .. " " .. (l - base)) or e
  end, mask, count)
  f(...)
  debug.sethook()
  return table.concat(t, ",")
end

-- line events: every new line, every backward jump, and the caller's line on return
local L0 = debug.getinfo(1, "l").currentline
local function body(n)
  local s = 0
  for i = 1, n do
    s = s + i
  end
  if s > 2 then s = s - 1 else s = s + 1 end
  return s
end
-- the last event is record's own line (where the hook is removed) seen from L0
local rline = debug.getinfo(record, "S").linedefined
local lines = record("l", 0, L0, body, 2)
local expect = "line 2,line 3,line 4,line 3,line 4,line 3,line 6,line 7,"
assert(lines == "line " .. (rline + 5 - L0) .. "," .. expect .. "line " .. (rline + 6 - L0), lines)
-- several statements on one line: one event, and one per iteration of a loop
local L1 = debug.getinfo(1, "l").currentline
local function same() local a = 1; local b = 2; for i = 1, 3 do a = a + i end return a + b end
assert(select(2, record("l", 0, L1, same):gsub("line 1", "")) == 3)

-- call and return events, natives included; the hook's own removal is a call
local function leaf(x) return x * 2 end
local function mid(x) local y = leaf(x) return y + string.len("ab") end
assert(record("c", 0, 0, mid, 1) == "call,call,call,call")
assert(record("r", 0, 0, mid, 1) == "return,return,return,return")
assert(record("cr", 0, 0, mid, 1) == "return,call,call,return,call,return,return,call")

-- tail calls: the callee reports "tail call" and the caller no return
local function tail2(x) return x end
local function tail1(x) return tail2(x) end
assert(record("cr", 0, 0, tail1, 1) == "return,call,tail call,return,call")

-- vararg functions report their call once the varargs are in place
local L2 = debug.getinfo(1, "l").currentline
local function va(...) local a, b = ... return a end
assert(record("crl", 0, L2, va, 1, 2) == "return,line " .. (rline + 5 - L2) .. ",call,line 1,return,line " .. (rline + 6 - L2) .. ",call")

-- count events: every n instructions, the hook's own instructions counting too
local function loop(n) local s = 0 for i = 1, n do s = s + i end return s end
local function count_events(n)
  local k = 0
  debug.sethook(function() k = k + 1 end, "", n)
  loop(10)
  debug.sethook()
  return k
end
assert(count_events(1) == 32 and count_events(2) == 16 and count_events(4) == 8)
assert(count_events(3) == 15 and count_events(5) == 28 and count_events(7) == 9)
-- after a count event the line hook fires for the same instruction
local L3 = debug.getinfo(1, "l").currentline
local function two() local a = 1 local b = 2 return a + b end
local both = record("l", 2, L3, two)
assert(both:find("count,line 1,count,line 1", 1, true), both)

-- what a hook sees: the hooked function at level 2, the hook itself named "?" of kind "hook"
local seen = {}
debug.sethook(function(e, l)
  local f = debug.getinfo(2, "nSl")
  local h = debug.getinfo(1, "n")
  seen[#seen + 1] = e .. ":" .. tostring(f.name) .. ":" .. f.what .. ":" .. h.name .. ":" .. h.namewhat
end, "c")
local _ = math.abs(-1)
debug.sethook()
assert(seen[1] == "call:abs:C:?:hook" and seen[2] == "call:sethook:C:?:hook" and #seen == 2)

-- call and return hooks see the values transferred (getinfo's "r") as locals
local tr = {}
debug.sethook(function(e)
  local i = debug.getinfo(2, "r")
  local vals = {}
  for k = i.ftransfer, i.ftransfer + i.ntransfer - 1 do
    vals[#vals + 1] = tostring(select(2, debug.getlocal(2, k)))
  end
  tr[#tr + 1] = e .. "[" .. i.ftransfer .. "," .. i.ntransfer .. "]" .. table.concat(vals, ",")
end, "cr")
local function add(a, b) return a + b, a - b end
add(10, 3)
debug.sethook()
assert(table.concat(tr, " ") == "return[0,0] call[1,2]10,3 return[3,2]13,7 call[0,0]", table.concat(tr, " "))

-- a line hook may change the hooked function's locals
local function lh()
  local v = 1
  v = v + 1
  return v
end
debug.sethook(function()
  local name, val = debug.getlocal(2, 1)
  if name == "v" and val == 2 then debug.setlocal(2, 1, 100) end
end, "l")
local changed = lh()
debug.sethook()
assert(changed == 100)

-- istailcall and the traceback's tail-call line
local function g3() return debug.getinfo(1, "t").istailcall end
local function g2() return g3() end
assert(g2() == true and debug.getinfo(1, "t").istailcall == false)
local function t3() return debug.traceback("tb") end
local function t2() return t3() end
assert(t2():find("\n\t(...tail calls...)\n", 1, true))
local tb
debug.sethook(function() tb = debug.traceback("in hook", 1) debug.sethook() end, "l")
local _ = 1
assert(tb:find("in hook '?'", 1, true), tb)

-- gethook: the function, mask and count; nothing without a hook
local function hk() end
debug.sethook(hk, "lrc", 5)
local hf, hm, hc = debug.gethook()
debug.sethook()
assert(hf == hk and hm == "crl" and hc == 5)
assert(debug.gethook() == nil and select("#", debug.gethook()) == 1)
debug.sethook(hk, "", 0)
assert(debug.gethook() == nil)
debug.sethook(hk, "", 3)
hf, hm, hc = debug.gethook()
debug.sethook()
assert(hf == hk and hm == "" and hc == 3)

-- hooks are per thread: a coroutine's own hook, set from outside while suspended
local co = coroutine.create(function(n)
  for i = 1, n do coroutine.yield(i) end
  return "done"
end)
coroutine.resume(co, 2)
local ev = {}
debug.sethook(co, function(e, l) ev[#ev + 1] = e end, "cr")
assert(debug.gethook(co) ~= nil and debug.gethook() == nil)
coroutine.resume(co)
coroutine.resume(co)
assert(table.concat(ev, ",") == "return,call,return,return", table.concat(ev, ","))
-- a coroutine created under a hook inherits its mask and count, not its function
debug.sethook(hk, "l", 3)
local inh = coroutine.create(function() end)
debug.sethook()
hf, hm, hc = debug.gethook(inh)
assert(hf == nil and hm == "l" and hc == 3)
-- a coroutine hooking itself, across a yield
local self_hooked = coroutine.wrap(function()
  local t = {}
  debug.sethook(function(e) t[#t + 1] = e end, "r")
  coroutine.yield()
  debug.sethook()
  return table.concat(t, ",")
end)
self_hooked()
assert(self_hooked() == "return,return")

-- errors: raised where the event happened; hooks cannot yield
local msg = errmsg(function()
  debug.sethook(function(e, l) debug.sethook() error("hook failed", 0) end, "l")
  local x = 1
  return x
end)
assert(msg == "hook failed")
local yco = coroutine.create(function()
  debug.sethook(function() coroutine.yield() end, "l")
  local x = 1
  return x
end)
local yok, ymsg = coroutine.resume(yco)
assert(not yok and ymsg == "attempt to yield across a C-call boundary")
-- errors unwinding through hooked frames report no returns for them
assert(record("cr", 0, 0, pcall, error, "x") == "return,call,call,return,call")

-- argument errors
assert(errmsg(debug.sethook, function() end) == "bad argument #2 to 'debug.sethook' (string expected, got no value)")
assert(errmsg(debug.sethook, 1, "l") == "bad argument #1 to 'debug.sethook' (function expected, got number)")
assert(errmsg(debug.sethook, function() end, "l", "x") == "bad argument #3 to 'debug.sethook' (number expected, got string)")
assert(errmsg(debug.sethook, co, function() end) == "bad argument #3 to 'debug.sethook' (string expected, got no value)")
assert(debug.gethook(1) == nil)

-- leaving a generic for is on the line of its `end`; a table's last items are stored at its `}`
local L4 = debug.getinfo(1, "l").currentline
local function loops()
  local s = 0
  for _, v in ipairs({1, 2}) do
    s = s + v
  end
  local t = {
    s, s
  }
  return t
end
local le = record("l", 0, L4, loops)
assert(le:find(",line 2,line 3,line 4,line 3,line 4,line 3,line 5,line 6,line 7,line 8,line 9,", 1, true), le)
-- a native tail-called returns, then its caller, at the tail call's line; no line event for the return
local L5 = debug.getinfo(1, "l").currentline
local function tail_native(x)
  return tostring(x)
end
local tn = {}
debug.sethook(function(e, l)
  local i = debug.getinfo(2, "l")
  tn[#tn + 1] = e .. ":" .. (i.currentline == -1 and "C" or i.currentline - L5)
end, "crl")
tail_native(1)
debug.sethook()
assert(table.concat(tn, ",", 1, 6) == "return:C,line:9,call:2,line:2,call:C,return:C", table.concat(tn, ","))
assert(tn[7] == "return:2", tn[7])
-- to-be-closed variables are closed before the return event
local order = {}
local function with_close()
  local c <close> = setmetatable({}, {__close = function() order[#order + 1] = "close" end})
  return 1
end
debug.sethook(function(e)
  if debug.getinfo(2, "f").func == with_close then order[#order + 1] = e end
end, "cr")
with_close()
debug.sethook()
assert(table.concat(order, ",") == "call,close,return", table.concat(order, ","))
-- finalizers run without hook events, named "__gc"
local fin_name, fin_seen = nil, false
local function fin() fin_name = debug.getinfo(1, "n").name end
setmetatable({}, {__gc = fin})
debug.sethook(function() if debug.getinfo(2, "f").func == fin then fin_seen = true end end, "crl")
collectgarbage()
debug.sethook()
assert(fin_name == "__gc" and not fin_seen)
-- numeric strings take part in arithmetic through the string metatable (hooks see the call)
local smt = getmetatable("")
local sadd = smt.__add
local se = {}
debug.sethook(function(e) se[#se + 1] = debug.getinfo(2, "n").name end, "c")
local _ = "10" + 1
debug.sethook()
assert(se[1] == "add", tostring(se[1]))
smt.__add = nil
assert(errmsg(function() return "10" + 1 end):find("attempt to perform arithmetic on a string value", 1, true))
smt.__add = function() return "replaced" end
assert("10" + 1 == "replaced")
smt.__add = sadd
assert("10" + 1 == 11)

-- A hook that replaces itself: the new hook starts at the next event, not
-- again at the one being reported.
local rlog = {}
debug.sethook(function(e, l)
  rlog[#rlog + 1] = "A"
  debug.sethook(function() rlog[#rlog + 1] = "B" end, "l")
end, "l")
local _ = 1
local _ = 2
debug.sethook()
assert(table.concat(rlog) == "ABB", table.concat(rlog))

-- A hook that removes itself runs once; an error object from a hook
-- reaches the pcall as it is.
local hn = 0
debug.sethook(function() hn = hn + 1; debug.sethook() end, "l")
local _ = 1
local _ = 2
assert(hn == 1)
local hok, herr = pcall(function()
  debug.sethook(function(e, l) debug.sethook(); error({line = l}) end, "l")
  local _ = 1
end)
assert(not hok and type(herr) == "table" and herr.line)

-- A hook's error goes through xpcall's handler, which runs while the hook
-- is unwound.
local xok, xmsg = xpcall(function()
  debug.sethook(function() error("in hook") end, "l")
  local _ = 1
end, function(m) debug.sethook(); return "handled: " .. m end)
assert(not xok and xmsg:find("handled: .*in hook"))

print("ok debug_hooks")
