-- Logical operators: truthiness (only nil and false are false), the values that
-- 'and' and 'or' return, short-circuit evaluation, and 'not'.

local calls = 0
local function touch(v)
  calls = calls + 1
  return v
end
local function boom() error("must not be evaluated") end

-- Truthiness.
assert(not nil == true)
assert(not false == true)
assert(not 0 == false)
assert(not "" == false)
assert(not {} == false)
assert(not not nil == false and not not 1 == true)
local truthy = 0
if 0 then truthy = truthy + 1 end
if "" then truthy = truthy + 1 end
if nil then truthy = truthy + 100 end
if false then truthy = truthy + 100 end
assert(truthy == 2)

-- 'and' returns its first operand if it is false/nil, else its second.
assert((nil and 1) == nil)
assert((false and 1) == false)
assert((1 and 2) == 2)
assert((0 and "x") == "x")
assert((1 and nil) == nil)
assert((1 and false) == false)
-- 'or' returns its first operand if it is true, else its second.
assert((nil or 2) == 2)
assert((false or nil) == nil)
assert((nil or false) == false)
assert((1 or 2) == 1)
assert((false or "d") == "d")

-- Short circuit: the second operand is evaluated only when needed.
assert((false and boom()) == false)
assert((nil and boom()) == nil)
assert((1 or boom()) == 1)
assert(("s" or boom()) == "s")
calls = 0
local r = touch(false) and touch(1)
assert(r == false and calls == 1)
calls = 0
r = touch(1) or touch(2)
assert(r == 1 and calls == 1)
calls = 0
r = touch(nil) or touch(nil) or touch(3) or touch(4)
assert(r == 3 and calls == 3)
calls = 0
r = touch(1) and touch(2) and touch(false) and touch(4)
assert(r == false and calls == 3)

-- Precedence: 'not' is unary (binds tightest), 'and' binds tighter than 'or'.
local a, b = 1, 2
assert((not a == b) == false)
assert((nil or 1 and 2) == 2)
assert((1 or nil and boom()) == 1)
assert((false and 1 or 3) == 3)
assert(1 < 2 == true)
assert(not (1 > 2) and not nil and 1)

-- The conditional idiom and its pitfall with a false middle value.
local function pick(c, x, y) return c and x or y end
assert(pick(true, "x", "y") == "x")
assert(pick(false, "x", "y") == "y")
assert(pick(true, false, "y") == "y")

-- Default values.
local function greet(name)
  name = name or "world"
  return "hello " .. name
end
assert(greet() == "hello world" and greet("lua") == "hello lua")

-- Multiple results are truncated to one inside an expression.
local function two() return nil, 2 end
local function none() end
assert((two() or 5) == 5)
assert((none() or 7) == 7)
assert((none() and boom()) == nil)

-- Conditions combining comparisons, as compiled to jumps.
local function classify(n)
  if n > 0 and n < 10 then return "small"
  elseif n >= 10 and not (n >= 100) then return "medium"
  elseif not (n <= 0) or n == -1 then return "large or -1"
  else return "other" end
end
assert(classify(5) == "small")
assert(classify(50) == "medium")
assert(classify(500) == "large or -1")
assert(classify(-1) == "large or -1")
assert(classify(-5) == "other")
assert(classify(0) == "other")

-- Results of logical operators stored in tables and passed as arguments.
local t = { nil and 1, false or "f", 1 and 2, not 1 }
assert(t[1] == nil and t[2] == "f" and t[3] == 2 and t[4] == false)
local function id(...) return ... end
assert(id(nil or 5) == 5 and id(1 and nil) == nil)

-- A while loop driven by 'and'.
local i, steps = 0, 0
while i < 10 and steps < 3 do
  i = i + 1
  steps = steps + 1
end
assert(i == 3 and steps == 3)

-- 'not' always yields a boolean.
assert(type(not 1) == "boolean" and type(not nil) == "boolean")
local x = nil
assert(not x and true)

print("ok logic")
