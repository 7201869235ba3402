-- The concatenation operator: strings and numbers (with Lua's number formatting),
-- right associativity, long chains, errors naming the offending operand, and
-- __concat on either side.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

assert("a" .. "b" == "ab")
assert("" .. "" == "")
assert("abc" .. "" == "abc" and "" .. "abc" == "abc")
assert(#("abc" .. "de") == 5)
assert("a\0" .. "b" == "a\0b" and #("a\0" .. "b") == 3)

-- Numbers are converted with tostring's format.
assert(1 .. 2 == "12")
assert(1 .. "" == "1")
assert(1.0 .. "" == "1.0")
assert(-0.0 .. "" == "-0.0")
assert(0.1 .. "" == "0.1")
assert(1e15 .. "" == "1e+15")
assert(1e100 .. "" == "1e+100")
assert(2 ^ 63 .. "" == "9.2233720368548e+18")
assert(9223372036854775807 .. "" == "9223372036854775807")
assert((-9223372036854775807 - 1) .. "" == "-9223372036854775808")
assert(3 .. "" ~= 3.0 .. "")
assert("x" .. 1 / 0 == "xinf")
assert(-1 / 0 .. "" == "-inf")

-- Right associative; binds looser than arithmetic, tighter than comparison.
assert("a" .. "b" .. "c" == "abc")
assert(1 .. 2 .. 3 == "123")
assert("x" .. 1 + 2 == "x3")
assert("x" .. 2 * 3 .. "y" == "x6y")
assert("10" == 1 .. 0)
assert("n=" .. -5 == "n=-5")

-- Locals, upvalues, fields and call results in one chain.
local first, last = "Ada", "Lovelace"
local person = { title = "Countess" }
local function suffix() return "!", "ignored" end
local full = person.title .. " " .. first .. " " .. last .. suffix()
assert(full == "Countess Ada Lovelace!")

-- Long chains and strings built in loops.
local s = ""
for i = 1, 100 do s = s .. i % 10 end
assert(#s == 100)
local parts = "1" .. "2" .. "3" .. "4" .. "5" .. "6" .. "7" .. "8" .. "9" .. "0"
  .. "1" .. "2" .. "3" .. "4" .. "5" .. "6" .. "7" .. "8" .. "9" .. "0"
assert(#parts == 20 and parts == "12345678901234567890")
local acc = "x"
for _ = 1, 10 do acc = acc .. acc end
assert(#acc == 1024)

-- Errors name the first operand that is neither string nor number.
assert(errmsg(function() local x; return x .. "a" end) == "concat.lua:59: attempt to concatenate a nil value (local 'x')")
assert(errmsg(function() local x; return "a" .. x end) == "concat.lua:60: attempt to concatenate a nil value (local 'x')")
assert(errmsg(function() local x; return "a" .. x .. "b" end) == "concat.lua:61: attempt to concatenate a nil value (local 'x')")
assert(errmsg(function() return "a" .. undefined_global end) == "concat.lua:62: attempt to concatenate a nil value (global 'undefined_global')")
assert(errmsg(function() return person.age .. "" end) == "concat.lua:63: attempt to concatenate a nil value (field 'age')")
assert(errmsg(function() return "a" .. person end) == "concat.lua:64: attempt to concatenate a table value (upvalue 'person')")
assert(errmsg(function() local b = true; return b .. "" end) == "concat.lua:65: attempt to concatenate a boolean value (local 'b')")
assert(errmsg(function() return {} .. nil end) == "concat.lua:66: attempt to concatenate a table value")
assert(errmsg(function() return "a" .. {} end) == "concat.lua:67: attempt to concatenate a table value")
assert(errmsg(function() return 1 .. print end) == "concat.lua:68: attempt to concatenate a function value (global 'print')")

-- __concat is used when either operand is not a string or number.
local mt = {}
mt.__concat = function(a, b)
  local l = type(a) == "table" and a.name or a
  local r = type(b) == "table" and b.name or b
  return l .. "+" .. r
end
local A = setmetatable({ name = "A" }, mt)
local B = setmetatable({ name = "B" }, mt)
assert(A .. "x" == "A+x")
assert("x" .. A == "x+A")
assert(1 .. A == "1+A")
assert(A .. B == "A+B")
-- Evaluated right to left: B .. "z" first, then "a" .. result (a string).
assert("a" .. B .. "z" == "aB+z")
assert(A .. B .. "z" == "A+B+z")
-- The metamethod of the second operand is used when the first has none.
local plain = {}
local onlyB = setmetatable({ name = "only" }, { __concat = function(a, b)
  assert(a == plain)
  return "second"
end })
assert(plain .. onlyB == "second")
-- __concat may return any value.
local weird = setmetatable({}, { __concat = function() return 42 end })
assert(weird .. "a" == 42)

print("ok concat")
