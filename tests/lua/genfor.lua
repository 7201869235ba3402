-- The generic for loop: pairs, ipairs and next, stateful and stateless custom
-- iterators, several loop variables, modification during traversal, and the
-- fourth (closing) value with __close.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- pairs visits every key exactly once (in an unspecified order).
local t = { 10, 20, 30, x = "a", y = "b", [2.5] = "f", [true] = "t" }
local count, isum, keys = 0, 0, {}
for k, v in pairs(t) do
  count = count + 1
  assert(keys[k] == nil)
  keys[k] = v
  if type(k) == "number" and k == k // 1 then isum = isum + v end
end
assert(count == 7 and isum == 60)
assert(keys.x == "a" and keys.y == "b" and keys[2.5] == "f" and keys[true] == "t")
for _ in pairs({}) do error("empty table has no pairs") end

-- pairs returns next, the table and nil.
local f, s, init = pairs(t)
assert(f == next and s == t and init == nil)

-- next directly.
assert(next({}) == nil)
local single = { only = 1 }
assert(next(single) == "only" and select(2, next(single)) == 1)
assert(next(single, "only") == nil)
local manual = 0
local k, v = next(t)
while k ~= nil do
  manual = manual + 1
  k, v = next(t, k)
end
assert(manual == 7)

-- ipairs goes from 1 up to the first nil.
local seq = { "a", "b", "c", nil, "e" }
local last, n = 0, 0
for i, val in ipairs(seq) do
  assert(i == last + 1 and val == seq[i])
  last, n = i, n + 1
end
assert(n == 3)
for _ in ipairs({}) do error("unreachable") end
for _ in ipairs({ nil, 2 }) do error("unreachable") end
local f2, s2, i2 = ipairs(seq)
assert(type(f2) == "function" and s2 == seq and i2 == 0)
-- ipairs respects __index.
local proxy = setmetatable({}, { __index = function(_, i) if i <= 4 then return i * i end end })
local squares = 0
for i, sq in ipairs(proxy) do squares = squares + sq end
assert(squares == 1 + 4 + 9 + 16)

-- A stateful iterator (a closure).
local function range(n)
  local i = 0
  return function()
    i = i + 1
    if i <= n then return i end
  end
end
local total = 0
for i in range(5) do total = total + i end
assert(total == 15)

-- A stateless iterator: state and control variable passed back on each call.
local function iter(limit, ctl)
  if ctl < limit then return ctl + 1, (ctl + 1) * 2 end
end
local acc = ""
for i, dbl in iter, 4, 0 do acc = acc .. i .. ":" .. dbl .. " " end
assert(acc == "1:2 2:4 3:6 4:8 ")

-- The iterator receives exactly (state, control) each time.
local calls = {}
local function spy(st, ctl)
  calls[#calls + 1] = { st, ctl }
  if ctl < 3 then return ctl + 1 end
end
for _ in spy, "S", 0 do end
assert(#calls == 4 and calls[1][1] == "S" and calls[1][2] == 0 and calls[4][2] == 3)

-- Extra loop variables are nil; extra results are dropped.
for a, b, c, d in function(_, c0) if not c0 then return 1, 2 end end do
  assert(a == 1 and b == 2 and c == nil and d == nil)
end
local function triple(_, c0)
  if c0 == nil then return "k", "v", "extra" end
end
for key in triple do assert(key == "k") end

-- Loop variables are fresh locals per iteration.
local fns = {}
for i, val in ipairs({ "x", "y" }) do fns[i] = function() return val end end
assert(fns[1]() == "x" and fns[2]() == "y")

-- A callable table works as an iterator.
local countdown = setmetatable({}, { __call = function(self, st, ctl)
  if ctl > 1 then return ctl - 1 end
end })
local seen = ""
for i in countdown, nil, 4 do seen = seen .. i end
assert(seen == "321")

-- Assigning to existing fields (including nil) during traversal is allowed.
local m = {}
for i = 1, 20 do m["k" .. i] = i end
local visited = 0
for key, val in pairs(m) do
  visited = visited + 1
  m[key] = nil
end
assert(visited == 20 and next(m) == nil)
local upd = { a = 1, b = 2, c = 3 }
for key, val in pairs(upd) do upd[key] = val * 10 end
assert(upd.a == 10 and upd.b == 20 and upd.c == 30)

-- Bad iterators.
assert(errmsg(function() for x in {} do end end) == "genfor.lua:124: attempt to call a table value (for iterator 'for iterator')")
assert(errmsg(function() for x in nil do end end) == "genfor.lua:125: attempt to call a nil value (for iterator 'for iterator')")
assert(errmsg(function() for k in pairs(nil) do end end) == "genfor.lua:126: bad argument #1 to 'for iterator' (table expected, got nil)")
assert(errmsg(function() for x in next, {}, nil, 42 do end end) == "genfor.lua:127: variable '(for state)' got a non-closable value")
assert(errmsg(next) == "bad argument #1 to 'next' (table expected, got no value)")
assert(errmsg(ipairs) == "bad argument #1 to 'ipairs' (value expected)")

-- The fourth value is closed when the loop ends, however it ends.
local log = {}
local function closing(name)
  return setmetatable({}, { __close = function(_, err) log[#log + 1] = name .. ":" .. tostring(err) end })
end
local function upto(n)
  return function(_, i) if i < n then return i + 1 end end, nil, 0, closing("c" .. n)
end
local got = 0
for i in upto(3) do got = got + i end
assert(got == 6 and #log == 1 and log[1] == "c3:nil")
log = {}
for i in upto(10) do if i == 2 then break end end
assert(#log == 1 and log[1] == "c10:nil")
log = {}
local function find(n)
  for i in upto(100) do
    if i == n then return i * 2 end
  end
end
assert(find(7) == 14 and #log == 1 and log[1] == "c100:nil")
log = {}
local ok, e = pcall(function()
  for i in upto(5) do
    if i == 3 then error("stop", 0) end
  end
end)
assert(not ok and e == "stop" and #log == 1 and log[1] == "c5:stop")
log = {}
for i in upto(2) do
  for j in upto(3) do
    if j == 2 then break end
  end
end
assert(#log == 3 and log[1] == "c3:nil" and log[2] == "c3:nil" and log[3] == "c2:nil")
-- nil and false are allowed as the closing value.
local plain = 0
for i in next, { 1, 2 }, nil, nil do plain = plain + 1 end
for i in next, { 1, 2 }, nil, false do plain = plain + 1 end
assert(plain == 4)

print("ok genfor")
