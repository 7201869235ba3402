-- Conversions between strings and numbers. In PUC Lua 5.4 the string-to-number
-- coercion of arithmetic is done by the string metatable's arithmetic metamethods;
-- bitwise operators and comparisons never convert strings; concatenation and
-- tostring convert numbers to strings.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local function isfloat(x) return tostring(x + 0.0) == tostring(x) end

-- Strings in arithmetic convert with the lexer's rules, keeping the subtype.
assert("10" + 1 == 11 and not isfloat("10" + 1))
assert("0x10" * 1 == 16)
assert("1e1" + 0 == 10 and isfloat("1e1" + 0))
assert("3.0" + 1 == 4 and isfloat("3.0" + 1))
assert(" 10 " + 0 == 10)
assert("10" // "3" == 3)
assert("10" % 3 == 1)
assert(-"2" == -2)
assert("2" ^ "3" == 8 and isfloat("2" ^ "3"))
assert("7" / "2" == 3.5)
assert(10 - "4" == 6)
assert("0x7fffffffffffffff" + 0 == 9223372036854775807)
assert("9223372036854775808" + 0 == 2 ^ 63)
local s = "5"
assert(s * s == 25)

-- Strings that are not numerals are errors.
assert(errmsg(function() return "abc" + 1 end) == "coercion.lua:32: attempt to add a 'string' with a 'number'")
assert(errmsg(function() return 1 * "x" end) == "coercion.lua:33: attempt to mul a 'number' with a 'string'")
assert(errmsg(function() return "10" + {} end) == "coercion.lua:34: attempt to add a 'string' with a 'table'")
-- A table operand's own metamethod still wins over the failed conversion.
local obj = setmetatable({}, { __add = function(a, b) return "added" end })
assert("10" + obj == "added")
assert(obj + "10" == "added")

-- Bitwise operators do not convert strings.
assert(errmsg(function() return "3" | 0 end) == "coercion.lua:41: attempt to perform bitwise operation on a string value (constant '3')")
local bits = "1"
assert(errmsg(function() return bits & 1 end) == "coercion.lua:43: attempt to perform bitwise operation on a string value (upvalue 'bits')")

-- Equality never converts, and order comparisons of mixed types are errors.
assert("10" ~= 10)
assert(not ("1" == 1))
assert(errmsg(function() return "10" < 5 end) == "coercion.lua:48: attempt to compare string with number")

-- Numbers become strings in concatenation and in tostring.
assert(10 .. "" == "10")
assert(1.5 .. "" == "1.5")
assert(-0.0 .. "" == "-0.0")
assert(2 ^ 63 .. "" == "9.2233720368548e+18")
assert(1 .. 2 == "12")

print("ok coercion")
