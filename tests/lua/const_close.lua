-- Local attributes: <const> variables, and <close> variables whose __close
-- metamethods run in reverse order when the scope is left by falling off its end,
-- break, return, goto or an error, with errors inside __close propagating.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- <const>: a read-only local, compile-time constant or not.
local K <const> = 10
local NAME <const> = "name"
local computed <const> = K * 2 + #NAME
assert(K == 10 and computed == 24)
local function uses_const() return K + 1 end
assert(uses_const() == 11)
local record <const> = {}
record[NAME] = "mutable contents"
assert(record.name == "mutable contents")
local nothing <const> = nil
assert(nothing == nil)
local t = { [K] = "ten", [NAME] = "by const key" }
assert(t[10] == "ten" and t.name == "by const key")
for i = 1, 2 do
  local per_iteration <const> = i * K
  assert(per_iteration == i * 10)
end

-- A helper that logs every __close call into 'log'.
local log
local function closer(name, fail)
  return setmetatable({ name = name }, { __close = function(self, err)
    log[#log + 1] = name .. ":" .. tostring(err)
    if fail then error(fail, 0) end
  end })
end
local function logged()
  local s = ""
  for i = 1, #log do s = s .. (i > 1 and " " or "") .. log[i] end
  return s
end

-- Normal exit from a block: reverse order of declaration, second argument nil.
log = {}
do
  local a <close> = closer("a")
  local b <close> = closer("b")
  assert(#log == 0)
end
assert(logged() == "b:nil a:nil")

-- The __close metamethod receives the variable's value itself.
local seen
do
  local v <close> = setmetatable({}, { __close = function(o) seen = o end })
  seen = "before"
  assert(seen == "before")
  local _ = v
end
assert(type(seen) == "table")

-- nil and false are accepted and ignored.
do
  local n <close> = nil
  local f <close> = false
end
assert(errmsg(function() local x <close> = {} end) == "const_close.lua:68: variable 'x' got a non-closable value")
assert(errmsg(function() local y <close> = 42 end) == "const_close.lua:69: variable 'y' got a non-closable value")

-- Leaving by return: values are computed first, then the variables are closed.
log = {}
local function ret()
  local a <close> = closer("a")
  local b <close> = closer("b")
  log[#log + 1] = "body"
  return #log, "result"
end
local n1, r1 = ret()
assert(n1 == 1 and r1 == "result")
assert(logged() == "body b:nil a:nil")

-- __close's own results are discarded.
local function ret2()
  local x <close> = setmetatable({}, { __close = function() return "ignored" end })
  return "kept"
end
assert(ret2() == "kept" and select("#", ret2()) == 1)

-- A 'return f()' with pending to-be-closed variables closes them after f returns.
log = {}
local function callee() log[#log + 1] = "callee"; return "c1", "c2" end
local function caller()
  local x <close> = closer("x")
  return callee()
end
local c1, c2 = caller()
assert(c1 == "c1" and c2 == "c2" and logged() == "callee x:nil")

-- Leaving by break: only the variables of the loop body, once per iteration.
log = {}
for i = 1, 10 do
  local it <close> = closer("i" .. i)
  if i == 3 then break end
end
assert(logged() == "i1:nil i2:nil i3:nil")
log = {}
local w = 0
while true do
  w = w + 1
  local a <close> = closer("w" .. w)
  do
    local b <close> = closer("inner" .. w)
    if w == 2 then break end
  end
end
assert(logged() == "inner1:nil w1:nil inner2:nil w2:nil")

-- Leaving by goto, forwards out of a block and backwards in a loop.
log = {}
do
  local g <close> = closer("g")
  goto out
end
::out::
assert(logged() == "g:nil")
log = {}
do
  local k = 0
  ::again::
  do
    k = k + 1
    local r <close> = closer("r" .. k)
    if k < 3 then goto again end
  end
end
assert(logged() == "r1:nil r2:nil r3:nil")

-- Leaving by an error: every variable is closed and receives the error object.
log = {}
local ok, e = pcall(function()
  local a <close> = closer("a")
  local b <close> = closer("b")
  error("boom", 0)
end)
assert(not ok and e == "boom")
assert(logged() == "b:boom a:boom")
-- ... including error objects that are not strings.
local eobj = {}
local got
ok, e = pcall(function()
  local x <close> = setmetatable({}, { __close = function(_, err) got = err end })
  error(eobj)
end)
assert(not ok and e == eobj and got == eobj)
-- ... and runtime errors with their position.
ok, e = pcall(function()
  local x <close> = setmetatable({}, { __close = function(_, err) got = err end })
  local z = nil
  return z.field
end)
assert(not ok and e == "const_close.lua:160: attempt to index a nil value (local 'z')")
assert(got == e)

-- An error inside __close replaces the error being propagated; the remaining
-- variables are still closed and see the new error.
log = {}
ok, e = pcall(function()
  local a <close> = closer("a")
  local b <close> = closer("b", "eb")
  local c <close> = closer("c", "ec")
  error("body", 0)
end)
assert(not ok and e == "eb")
assert(logged() == "c:body b:ec a:eb")
-- An error in __close on a normal exit becomes the error of the block.
log = {}
ok, e = pcall(function()
  local a <close> = closer("a")
  local b <close> = closer("b", "only")
  return "unreached"
end)
assert(not ok and e == "only")
assert(logged() == "b:nil a:only")
-- A runtime error inside __close has its own position.
ok, e = pcall(function()
  local x <close> = setmetatable({}, { __close = function() local q; return q.x end })
end)
assert(not ok and e == "const_close.lua:187: attempt to index a nil value (local 'q')")

-- Nested functions each close their own variables, innermost first.
log = {}
local function inner()
  local i <close> = closer("inner")
  error("deep", 0)
end
local function outer()
  local o <close> = closer("outer")
  inner()
end
ok, e = pcall(outer)
assert(not ok and e == "deep" and logged() == "inner:deep outer:deep")

-- Variables declared after the exit point are not closed.
log = {}
local function early(stop)
  local a <close> = closer("a")
  if stop then return "early" end
  local b <close> = closer("b")
  return "late"
end
assert(early(true) == "early" and logged() == "a:nil")
log = {}
assert(early(false) == "late" and logged() == "b:nil a:nil")

-- The same object may be closed several times if declared several times.
local count = 0
local shared = setmetatable({}, { __close = function() count = count + 1 end })
for _ = 1, 3 do
  local s <close> = shared
end
assert(count == 3)

print("ok const_close")
