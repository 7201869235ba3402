-- The numeric for loop: integer and float loops, positive and negative steps,
-- limits near the integer range's ends without overflow, float limits for integer
-- loops, the control variable being a copy, and the errors for bad operands.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local function isfloat(x) return tostring(x + 0.0) == tostring(x) end

local maxint = 9223372036854775807
local minint = -9223372036854775807 - 1

-- Collects the values a loop produces, as a string.
local function values(init, limit, step)
  local s, n = "", 0
  for i = init, limit, step or 1 do
    s = s .. (n > 0 and "," or "") .. tostring(i)
    n = n + 1
    if n > 20 then break end
  end
  return s, n
end

-- Integer loops.
assert(values(1, 5) == "1,2,3,4,5")
assert(values(1, 10, 3) == "1,4,7,10")
assert(values(1, 9, 3) == "1,4,7")
assert(values(5, 1, -1) == "5,4,3,2,1")
assert(values(10, 1, -4) == "10,6,2")
assert(select(2, values(1, 0)) == 0)
assert(select(2, values(0, 1, -1)) == 0)
assert(values(3, 3) == "3")
local sum = 0
for i = 1, 100 do sum = sum + i end
assert(sum == 5050)
sum = 0
for i = 100, 1, -1 do sum = sum + i end
assert(sum == 5050)

-- Bounds are evaluated once, before the loop starts.
local limit = 3
local iterations = 0
for i = 1, limit do
  limit = 10
  iterations = iterations + 1
end
assert(iterations == 3)
local evals = 0
local function three() evals = evals + 1; return 3 end
for i = 1, three() do end
assert(evals == 1)

-- The control variable is a local copy: changing it does not affect the loop.
local seen = ""
for i = 1, 3 do
  seen = seen .. i
  i = i * 10
  assert(i >= 10)
end
assert(seen == "123")
-- ... and each iteration has a fresh one for closures to capture.
local fns = {}
for i = 1, 3 do fns[i] = function() return i end end
assert(fns[1]() == 1 and fns[2]() == 2 and fns[3]() == 3)

-- Limits at the ends of the integer range do not overflow.
assert(select(2, values(maxint - 2, maxint)) == 3)
assert(values(maxint - 2, maxint) == "9223372036854775805,9223372036854775806,9223372036854775807")
assert(select(2, values(minint + 2, minint, -1)) == 3)
assert(select(2, values(maxint, maxint)) == 1)
assert(select(2, values(minint, minint + 2)) == 3)
assert(values(1, maxint, maxint // 2) == "1,4611686018427387904,9223372036854775807")
assert(values(-1, minint, minint) == "-1")
assert(select(2, values(maxint - 1, maxint, 10)) == 1)

-- A float limit for an integer loop is clipped to the integers; the loop stays integer.
assert(values(1, 3.5) == "1,2,3")
assert(select(2, values(1, 0.5)) == 0)
assert(values(3, 0.5, -1) == "3,2,1")
assert(select(2, values(maxint - 1, 1e100)) == 2)
assert(select(2, values(1, -1e100)) == 0)
assert(select(2, values(3, -1e100, -1)) == 21)
assert(select(2, values(1, 1 / 0)) == 21)
for i = 1, 2.5 do assert(not isfloat(i)) end

-- A float initial value or step makes a float loop.
assert(values(1.0, 3) == "1.0,2.0,3.0")
assert(values(1, 2, 1.0) == "1.0,2.0")
assert(values(0, 1, 0.25) == "0.0,0.25,0.5,0.75,1.0")
assert(values(1.0, 3.0, 0.5) == "1.0,1.5,2.0,2.5,3.0")
assert(values(1, 0, -0.5) == "1.0,0.5,0.0")
assert(values(-2 ^ 53, -2 ^ 53 + 2) == "-9.007199254741e+15,-9.007199254741e+15,-9.007199254741e+15")
for i = 0.5, 2 do assert(isfloat(i)) end
local nan = 0 / 0
assert(select(2, values(1, nan)) == 0)

-- Bad operands.
assert(errmsg(function() for i = 1, 10, 0 do end end) == "numfor.lua:101: 'for' step is zero")
assert(errmsg(function() for i = 1.0, 10, 0 do end end) == "numfor.lua:102: 'for' step is zero")
assert(errmsg(function() for i = 1, 10, 0.0 do end end) == "numfor.lua:103: 'for' step is zero")
assert(errmsg(function() for i = {}, 2 do end end) == "numfor.lua:104: bad 'for' initial value (number expected, got table)")
assert(errmsg(function() for i = nil, 2 do end end) == "numfor.lua:105: bad 'for' initial value (number expected, got nil)")
assert(errmsg(function() for i = 1, {} do end end) == "numfor.lua:106: bad 'for' limit (number expected, got table)")
assert(errmsg(function() for i = 1, 2, false do end end) == "numfor.lua:107: bad 'for' step (number expected, got boolean)")
local undefined
assert(errmsg(function() for i = 1, undefined do end end) == "numfor.lua:109: bad 'for' limit (number expected, got nil)")

-- Nested loops and loops driven by outer variables.
local cells = 0
for r = 1, 4 do
  for c = r, 4 do cells = cells + 1 end
end
assert(cells == 10)
local tri = 0
for i = 1, 10 do
  for j = 1, i do tri = tri + 1 end
end
assert(tri == 55)

-- break and return from inside a numeric loop.
local function first_multiple(of, from)
  for i = from, 1000 do
    if i % of == 0 then return i end
  end
end
assert(first_multiple(7, 50) == 56)
local last
for i = 1, 1000 do
  last = i
  if i * i > 50 then break end
end
assert(last == 8)

print("ok numfor")
