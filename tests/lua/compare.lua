-- Relational operators: numbers of both subtypes compared exactly (no loss of
-- precision between integers and floats), strings compared bytewise, equality
-- across types, and the errors for comparing values of incompatible types.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local maxint = 9223372036854775807
local minint = -9223372036854775807 - 1
local inf, nan = 1 / 0, 0 / 0

-- Plain numbers.
assert(1 < 2 and 1 <= 1 and 2 > 1 and 1 >= 1)
assert(not (2 < 1) and not (2 <= 1))
assert(1 == 1.0 and 1 ~= 2 and -0.0 == 0)
assert(3 < 3.5 and 3 > 2.5 and -3 < -2.5 and -3 > -3.5)
assert(1.5 < 2 and 1.5 > 1)

-- Integers and floats compare by mathematical value, without conversion loss.
assert(2 ^ 53 == 9007199254740992)
assert(9007199254740993 > 2 ^ 53)
assert(9007199254740993 ~= 2 ^ 53)
assert(2 ^ 53 < 9007199254740993)
assert(2 ^ 53 <= 9007199254740993 and not (2 ^ 53 >= 9007199254740993))
assert(9007199254740993 + 0.0 == 2 ^ 53)
assert(maxint < 2 ^ 63)
assert(maxint ~= 2 ^ 63)
assert(maxint + 0.0 == 2 ^ 63)
assert(2 ^ 63 > maxint and 2 ^ 63 >= maxint)
assert(maxint - 1 < 2 ^ 63)
assert(minint == -2 ^ 63)
assert(minint <= -2 ^ 63 and minint >= -2 ^ 63)
assert(minint > -inf and maxint < inf)
assert(maxint > 9.2233720368547e18)
assert(-maxint > -2 ^ 63)

-- NaN is neither smaller, larger nor equal to anything.
assert(not (nan < 1) and not (nan > 1) and not (nan <= 1) and not (nan >= 1))
assert(not (nan == nan) and nan ~= nan)
assert(not (nan < inf) and not (-inf < nan))
assert(not (maxint < nan) and not (maxint >= nan))

-- Strings compare byte by byte, a prefix being smaller.
assert("a" < "b" and "a" <= "b" and "b" > "a")
assert("a" < "ab" and "" < "a" and not ("a" < ""))
assert("Z" < "a")
assert("abc" < "abd" and "abd" > "abc")
assert("10" < "9")
assert("" == "" and "a" <= "a" and "a" >= "a")
assert("a\0b" > "a" and "a\0a" < "a\0b")
assert("\xff" > "a")
local s1, s2 = "hello", "hel" .. "lo"
assert(s1 == s2 and s1 <= s2 and not (s1 < s2))

-- Equality never raises an error and never converts.
assert(1 ~= "1" and "1" ~= 1)
assert(nil ~= false and false ~= 0 and 0 ~= "")
local t, u = {}, {}
assert(t == t and t ~= u)
local f = function() end
assert(f == f and f ~= print)
assert(print == print)
assert(true == true and true ~= false)
assert(nil == nil)

-- Ordering values of different types (or of types without an order) is an error.
local n
assert(errmsg(function() return 1 < n end) == "compare.lua:71: attempt to compare number with nil")
assert(errmsg(function() return n < 1 end) == "compare.lua:72: attempt to compare nil with number")
assert(errmsg(function() return 1 > n end) == "compare.lua:73: attempt to compare nil with number")
assert(errmsg(function() return 1 <= n end) == "compare.lua:74: attempt to compare number with nil")
assert(errmsg(function() return t < u end) == "compare.lua:75: attempt to compare two table values")
assert(errmsg(function() return t >= u end) == "compare.lua:76: attempt to compare two table values")
assert(errmsg(function() return "10" < 5 end) == "compare.lua:77: attempt to compare string with number")
assert(errmsg(function() return 5 <= "10" end) == "compare.lua:78: attempt to compare number with string")
assert(errmsg(function() return true < false end) == "compare.lua:79: attempt to compare two boolean values")
assert(errmsg(function() return f < f end) == "compare.lua:80: attempt to compare two function values")
assert(errmsg(function() return {} < 1 end) == "compare.lua:81: attempt to compare table with number")
assert(errmsg(function() return nil > nil end) == "compare.lua:82: attempt to compare two nil values")

-- Comparisons produce booleans that can be stored and compared themselves.
local r = 1 < 2
assert(r == true and type(r) == "boolean")
local results = {}
for i = 1, 5 do results[i] = i <= 3 end
assert(results[3] == true and results[4] == false)
assert((1 < 2) == (2 > 1))
assert((1 == 1) ~= (1 == 2))

print("ok compare")
