-- Where Lua 5.4 refuses to yield and how errors cross coroutine boundaries:
-- yields across C calls (tostring, print, ipairs, the xpcall message handler,
-- __close run by coroutine.close), yields from the main thread, errors in a
-- coroutine body reported by resume and by wrap (with positions, non-string
-- values kept), errors after a yield, closing a failed coroutine, and the
-- library's bad-argument messages.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local C_BOUNDARY = "attempt to yield across a C-call boundary"
local yields_in_tostring = setmetatable({}, { __tostring = function()
  coroutine.yield("from __tostring")
  return "never"
end })

-- tostring and print call __tostring from C code that cannot be resumed in
-- PUC Lua; this VM runs it through the interpreter loop, where it may yield
-- (an extension). Both behaviours are checked, so the script runs under both
-- interpreters.
local co = coroutine.create(function() return tostring(yields_in_tostring) end)
local ok, e = coroutine.resume(co)
local EXTENDED = ok
if EXTENDED then
  assert(e == "from __tostring" and coroutine.status(co) == "suspended")
  assert(select(2, coroutine.resume(co)) == "never")
  co = coroutine.create(function() print(yields_in_tostring) return "printed" end)
  assert(select(2, coroutine.resume(co)) == "from __tostring")
  assert(select(2, coroutine.resume(co)) == "printed")
else
  assert(ok == false and e == C_BOUNDARY)
  assert(coroutine.status(co) == "dead")
  co = coroutine.create(function() print(yields_in_tostring) end)
  ok, e = coroutine.resume(co)
  assert(ok == false and e == C_BOUNDARY)
  -- The error can be caught inside the coroutine, which goes on.
  co = coroutine.create(function()
    local ok2, e2 = pcall(tostring, yields_in_tostring)
    coroutine.yield(ok2, e2)
    return "still alive"
  end)
  local _, cok, cerr = coroutine.resume(co)
  assert(cok == false and cerr == C_BOUNDARY)
  assert(select(2, coroutine.resume(co)) == "still alive")
  -- Through wrap the message gets the wrap call's position.
  local wt = coroutine.wrap(function() return tostring(yields_in_tostring) end)
  assert(errmsg(function() wt() end):find(C_BOUNDARY, 1, true))
end
-- ipairs reads through __index from C as well (this VM: through the loop, so it may yield).
local lazy = setmetatable({}, { __index = function(_, i)
  if i <= 3 then return coroutine.yield(i) end
end })
co = coroutine.create(function() local s = 0 for _, v in ipairs(lazy) do s = s + v end return s end)
ok, e = coroutine.resume(co)
assert(ok and e == 1 and select(2, coroutine.resume(co, 10)) == 2 and select(2, coroutine.resume(co, 20)) == 3 and select(2, coroutine.resume(co, 30)) == 60 or not ok and e == C_BOUNDARY)
-- ...while indexing from Lua code can yield.
co = coroutine.create(function() return lazy[2] end)
assert(select(2, coroutine.resume(co)) == 2 and select(2, coroutine.resume(co, "v")) == "v")

-- The xpcall message handler cannot yield: its failure becomes
-- "error in error handling", and isyieldable is false inside it.
co = coroutine.create(function()
  return xpcall(function() error("original") end, function(m) return coroutine.yield(m) end)
end)
local _, xok, xerr = coroutine.resume(co)
assert(xok == false and xerr == "error in error handling")
assert(coroutine.status(co) == "dead")
co = coroutine.create(function()
  return coroutine.isyieldable(), xpcall(error, function() return coroutine.isyieldable() end)
end)
local _, outside_handler, xok2, inside_handler = coroutine.resume(co)
assert(outside_handler == true and xok2 == false and inside_handler == false)

-- A __close that yields while coroutine.close runs it: close reports the error.
co = coroutine.create(function()
  local c <close> = setmetatable({}, { __close = function() coroutine.yield("closing") end })
  coroutine.yield("suspended")
end)
assert(select(2, coroutine.resume(co)) == "suspended")
ok, e = coroutine.close(co)
assert(ok == false and e == C_BOUNDARY)
assert(coroutine.status(co) == "dead")

-- Yielding from the main thread, directly, in a function or in a metamethod.
assert(errmsg(coroutine.yield) == "attempt to yield from outside a coroutine")
assert(errmsg(function() coroutine.yield(1, 2) end) == "attempt to yield from outside a coroutine")
local yields_in_index = setmetatable({}, { __index = function() return coroutine.yield() end })
assert(errmsg(function() return yields_in_index.x end) == "attempt to yield from outside a coroutine")
-- The main thread goes on normally afterwards.
assert(coroutine.isyieldable() == false and select(2, coroutine.running()) == true)

-- Errors in the coroutine body: resume returns false and the message with
-- its position; the coroutine is dead.
co = coroutine.create(function(a) error("body failed with " .. a) end)
ok, e = coroutine.resume(co, "arg")
assert(ok == false and e == "yield_errors.lua:97: body failed with arg")
assert(coroutine.status(co) == "dead")
co = coroutine.create(function() local x; return x + 1 end)
ok, e = coroutine.resume(co)
assert(ok == false and e == "yield_errors.lua:101: attempt to perform arithmetic on a nil value (local 'x')")
co = coroutine.create(function() return undefined_global.field end)
ok, e = coroutine.resume(co)
assert(ok == false and e == "yield_errors.lua:104: attempt to index a nil value (global 'undefined_global')")
-- error levels: level 2 names the coroutine's own caller inside it; from the
-- body itself level 2 is resume, a C function, so there is no position.
local function check(v) if not v then error("check failed", 2) end end
co = coroutine.create(function()
  check(false)
end)
ok, e = coroutine.resume(co)
assert(ok == false and e == "yield_errors.lua:111: check failed")
ok, e = coroutine.resume(coroutine.create(function() error("no caller", 2) end))
assert(ok == false and e == "no caller")
-- Errors after a yield.
co = coroutine.create(function()
  local v = coroutine.yield("first")
  if v == "go" then error("after yield: " .. v) end
  return "not reached"
end)
assert(select(2, coroutine.resume(co)) == "first")
assert(coroutine.status(co) == "suspended")
ok, e = coroutine.resume(co, "go")
assert(ok == false and e == "yield_errors.lua:120: after yield: go")
assert(coroutine.status(co) == "dead")
ok, e = coroutine.resume(co)
assert(ok == false and e == "cannot resume dead coroutine")
-- An error in a nested coroutine stays in it; the outer one decides.
co = coroutine.create(function()
  local inner = coroutine.create(function() error("inner fail") end)
  local iok, ierr = coroutine.resume(inner)
  coroutine.yield(iok, ierr, coroutine.status(inner))
  error(ierr, 0)
end)
local _, iok, ierr, istatus = coroutine.resume(co)
assert(iok == false and ierr == "yield_errors.lua:132: inner fail" and istatus == "dead")
ok, e = coroutine.resume(co)
assert(ok == false and e == "yield_errors.lua:132: inner fail")
-- A stack overflow inside a coroutine kills only that coroutine.
co = coroutine.create(function()
  local function deep() return 1 + deep() end
  return deep()
end)
ok, e = coroutine.resume(co)
assert(ok == false and e == "yield_errors.lua:143: stack overflow")
assert(select(2, coroutine.resume(coroutine.create(function(a) return a * 2 end), 21)) == 42)

-- Non-string error values come through resume and wrap unchanged.
local eobj = { code = 7 }
co = coroutine.create(function() error(eobj) end)
ok, e = coroutine.resume(co)
assert(ok == false and e == eobj and e.code == 7)
co = coroutine.create(function() coroutine.yield() error(eobj, 2) end)
coroutine.resume(co)
ok, e = coroutine.resume(co)
assert(ok == false and rawequal(e, eobj))
assert(errmsg(function() coroutine.wrap(function() error(eobj) end)() end) == eobj)
assert(errmsg(function() coroutine.wrap(function() error(42) end)() end) == 42)
ok, e = pcall(function() coroutine.wrap(function() error() end)() end)
assert(ok == false and e == nil)
local printable = setmetatable({}, { __tostring = function() return "printable" end })
assert(errmsg(function() coroutine.wrap(function() error(printable) end)() end) == printable)

-- Errors through wrap: each wrap call adds its position to a string message.
local wdead = coroutine.wrap(function() return 1 end)
wdead()
assert(errmsg(function() wdead() end) == "yield_errors.lua:169: cannot resume dead coroutine")
assert(errmsg(wdead) == "cannot resume dead coroutine")
local nested = coroutine.wrap(function()
  local inner = coroutine.wrap(function() error("deep") end)
  inner()
end)
assert(errmsg(function() nested() end)
  == "yield_errors.lua:175: yield_errors.lua:173: yield_errors.lua:172: deep")
local later = coroutine.wrap(function() coroutine.yield("one") error("two") end)
assert(later() == "one")
assert(errmsg(function() later() end) == "yield_errors.lua:179: yield_errors.lua:177: two")
assert(errmsg(function() later() end) == "yield_errors.lua:180: cannot resume dead coroutine")

-- A coroutine that errors, then closed: close gives the error once, then true;
-- its pending <close> variables run at close time and see the error.
local seen
co = coroutine.create(function()
  local guard <close> = setmetatable({}, { __close = function(_, err) seen = err end })
  coroutine.yield()
  error("failed inside")
end)
coroutine.resume(co)
ok, e = coroutine.resume(co)
assert(ok == false and e == "yield_errors.lua:188: failed inside" and seen == nil)
ok, e = coroutine.close(co)
assert(ok == false and e == "yield_errors.lua:188: failed inside")
assert(seen == "yield_errors.lua:188: failed inside")
assert(coroutine.close(co) == true and coroutine.status(co) == "dead")
ok, e = coroutine.resume(co)
assert(ok == false and e == "cannot resume dead coroutine")
-- A table error through close.
co = coroutine.create(function() error(eobj) end)
coroutine.resume(co)
ok, e = coroutine.close(co)
assert(ok == false and e == eobj)

-- Bad arguments: with the caller's position from Lua code, and the qualified
-- name when called directly by pcall.
assert(errmsg(function() coroutine.resume({}) end) == "yield_errors.lua:207: bad argument #1 to 'resume' (thread expected, got table)")
assert(errmsg(function() coroutine.resume() end) == "yield_errors.lua:208: bad argument #1 to 'resume' (thread expected, got no value)")
assert(errmsg(function() coroutine.resume(print) end) == "yield_errors.lua:209: bad argument #1 to 'resume' (thread expected, got function)")
assert(errmsg(coroutine.resume, {}) == "bad argument #1 to 'coroutine.resume' (thread expected, got table)")
assert(errmsg(function() coroutine.status(nil) end) == "yield_errors.lua:211: bad argument #1 to 'status' (thread expected, got nil)")
assert(errmsg(coroutine.status) == "bad argument #1 to 'coroutine.status' (thread expected, got no value)")
assert(errmsg(function() coroutine.wrap(nil) end) == "yield_errors.lua:213: bad argument #1 to 'wrap' (function expected, got nil)")
assert(errmsg(coroutine.wrap, 1) == "bad argument #1 to 'coroutine.wrap' (function expected, got number)")
assert(errmsg(function() coroutine.create(1) end) == "yield_errors.lua:215: bad argument #1 to 'create' (function expected, got number)")
assert(errmsg(function() coroutine.create("f") end) == "yield_errors.lua:216: bad argument #1 to 'create' (function expected, got string)")
assert(errmsg(function() coroutine.close(true) end) == "yield_errors.lua:217: bad argument #1 to 'close' (thread expected, got boolean)")
assert(errmsg(coroutine.close, {}) == "bad argument #1 to 'coroutine.close' (thread expected, got table)")
-- Through a local alias the local's name is used.
local resume = coroutine.resume
assert(errmsg(function() resume(1) end) == "yield_errors.lua:221: bad argument #1 to 'resume' (thread expected, got number)")
local st = coroutine.status
assert(errmsg(function() st(1) end) == "yield_errors.lua:223: bad argument #1 to 'st' (thread expected, got number)")

print("ok yield_errors")
