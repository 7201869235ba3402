-- Arithmetic on integers and floats exactly as Lua 5.4 defines it: subtypes of
-- results, floor division and modulo with negative operands, division by zero,
-- wrap-around of integer overflow, and how floats print.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- A float prints the same after adding 0.0; an integer does not ("3" vs "3.0").
local function isfloat(x) return tostring(x + 0.0) == tostring(x) end

local maxint = 9223372036854775807
local minint = -9223372036854775807 - 1
local inf, nan = 1 / 0, 0 / 0

-- Integer operands give integers; any float operand gives a float.
assert(7 + 3 == 10 and not isfloat(7 + 3))
assert(7 - 3 == 4 and not isfloat(7 - 3))
assert(7 * 3 == 21 and not isfloat(7 * 3))
assert(1 + 1.0 == 2 and isfloat(1 + 1.0))
assert(2 * 0.5 == 1 and isfloat(2 * 0.5))
assert(10 - 2.5 == 7.5)

-- '/' and '^' always produce floats.
assert(6 / 2 == 3 and isfloat(6 / 2))
assert(7 / 2 == 3.5)
assert(2 ^ 2 == 4 and isfloat(2 ^ 2))
assert(2 ^ -1 == 0.5)
assert(2 ^ 0.5 > 1.414 and 2 ^ 0.5 < 1.415)
assert(1 / 0 == inf and -1 / 0 == -inf and inf > maxint)
assert(nan ~= nan)

-- Floor division rounds towards minus infinity.
assert(7 // 2 == 3 and not isfloat(7 // 2))
assert(-7 // 2 == -4)
assert(7 // -2 == -4)
assert(-7 // -2 == 3)
assert(-6 // 4 == -2 and 6 // -4 == -2)
assert(7.0 // 2 == 3 and isfloat(7.0 // 2))
assert(7 // 2.0 == 3.0 and isfloat(7 // 2.0))
assert(-7.5 // 2 == -4.0)
assert(8 // 0.5 == 16.0)

-- Modulo takes the sign of the divisor: a == (a // b) * b + a % b.
assert(7 % 3 == 1)
assert(-7 % 3 == 2)
assert(7 % -3 == -2)
assert(-7 % -3 == -1)
for _, a in ipairs({ 7, -7, 13, -13, 0 }) do
  for _, b in ipairs({ 3, -3, 5, -5 }) do
    assert(a == (a // b) * b + a % b)
  end
end
assert(5.5 % 2 == 1.5)
assert(-5.5 % 2 == 0.5)
assert(5.5 % -2 == -0.5)
assert(3.0 % 2 == 1.0 and isfloat(3.0 % 2))
assert(1 % inf == 1 and -1 % inf == inf and 1 % -inf == -inf)

-- Integer division and modulo by zero are errors; with floats they give inf/nan.
local zero = 0
assert(errmsg(function() return 1 // zero end) == "arith.lua:64: attempt to divide by zero")
assert(errmsg(function() return 1 % zero end) == "arith.lua:65: attempt to perform 'n%0'")
assert(1 // 0.0 == inf and -1 // 0.0 == -inf)
assert(1.0 // zero == inf)
local q = 0.0 // 0.0
assert(q ~= q)
local r = 3 % 0.0
assert(r ~= r)
local r2 = 3.5 % zero
assert(r2 ~= r2)
assert(1 / zero == inf and -1 / zero == -inf)

-- Integer overflow wraps around (two's complement).
assert(maxint + 1 == minint)
assert(minint - 1 == maxint)
assert(maxint * 2 == -2)
assert(-minint == minint)
assert(minint // -1 == minint)
assert(minint % -1 == 0)
assert(maxint + 1.0 == 2 ^ 63)
-- Float overflow goes to infinity.
assert(1e308 * 10 == inf)
assert(-1e308 * 10 == -inf)

-- Unary minus and negative zero.
assert(-(-3) == 3)
assert(- -3 == 3)
assert(0.0 == -0.0)
assert(tostring(-0.0) == "-0.0")
assert(tostring(0.0) == "0.0")
assert(tostring(-0) == "0")
assert(1 / -0.0 == -inf)

-- Precedence and associativity.
assert(2 ^ 3 ^ 2 == 512)
assert(-2 ^ 2 == -4)
assert(2 * 3 + 4 == 10 and 2 + 3 * 4 == 14 and (2 + 3) * 4 == 20)
assert(7 // 2 * 2 == 6)
assert(10 - 4 - 3 == 3)
assert(2 ^ -2 == 0.25)
assert(-3 % 5 == 2 and (-3) % 5 == 2 and -(3 % 5) == -3)

-- NaN is unordered.
assert(not (nan < 1) and not (nan >= 1) and not (nan == nan))
assert(not (nan < nan) and not (nan <= nan))

-- Integers print as integers.
assert(tostring(10) == "10")
assert(tostring(-42) == "-42")
assert(tostring(maxint) == "9223372036854775807")
assert(tostring(minint) == "-9223372036854775808")
assert(tostring(100000000000000) == "100000000000000")

-- Floats print with "%.14g", keeping a ".0" when they look like integers.
assert(tostring(1e15) == "1e+15")
assert(tostring(1e16) == "1e+16")
assert(tostring(-1e15) == "-1e+15")
assert(tostring(1e14) == "1e+14")
assert(tostring(1e100) == "1e+100")
assert(tostring(0.1) == "0.1")
assert(tostring(0.1 + 0.2) == "0.3")
assert(tostring(1 / 3) == "0.33333333333333")
assert(tostring(-1.5) == "-1.5")
assert(tostring(1e-5) == "1e-05")
assert(tostring(100.0) == "100.0")
assert(tostring(2 ^ 24) == "16777216.0")
assert(tostring(123456789012.0) == "123456789012.0")
assert(tostring(12345678901234.0) == "12345678901234.0")
assert(tostring(123456789012345.0) == "1.2345678901234e+14")
assert(tostring(2 ^ 53) == "9.007199254741e+15")
assert(tostring(2 ^ 63) == "9.2233720368548e+18")
assert(tostring(3.14159265358979) == "3.1415926535898")
assert(tostring(1 / 0) == "inf")
assert(tostring(-1 / 0) == "-inf")
assert(tostring(5e-324) == "4.9406564584125e-324")
assert(tostring(1.7976931348623157e308) == "1.7976931348623e+308")

-- Arithmetic on non-numbers is an error naming the operand.
local t = {}
assert(errmsg(function() return t + 1 end) == "arith.lua:143: attempt to perform arithmetic on a table value (upvalue 't')")
assert(errmsg(function() local b = true; return 1 - b end) == "arith.lua:144: attempt to perform arithmetic on a boolean value (local 'b')")
assert(errmsg(function() return -t end) == "arith.lua:145: attempt to perform arithmetic on a table value (upvalue 't')")
assert(errmsg(function() return 2 ^ {} end) == "arith.lua:146: attempt to perform arithmetic on a table value")
assert(errmsg(function() return t.x * 2 end) == "arith.lua:147: attempt to perform arithmetic on a nil value (field 'x')")

-- `x - k` with a small integer k adds -k, as luac compiles it: -0.0 - 0 is
-- 0.0; the metamethod is still __sub with the operand k.
do
  local z = -0.0
  assert(tostring(z - 0) == "0.0" and tostring(z - 1) == "-1.0")
  local m = setmetatable({}, { __sub = function(a, b) return b end })
  assert(m - 7 == 7 and m - -3 == -3)
end

print("ok arith")
