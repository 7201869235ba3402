-- Operator metamethods: arithmetic (__add __sub __mul __div __mod __pow __unm
-- __idiv), bitwise (__band __bor __bxor __shl __shr __bnot) and __concat, with the
-- table on either side, the first operand's metamethod preferred, and results
-- truncated to one value.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- A value type that records which metamethod ran and with which operands.
local last_event, last_a, last_b
local V = {}
local function val(x) return setmetatable({ x = x }, V) end
local function raw(v) return type(v) == "table" and v.x or v end
local function def(event, op)
  V[event] = function(a, b)
    last_event, last_a, last_b = event, a, b
    return val(op(raw(a), raw(b)))
  end
end
def("__add", function(a, b) return a + b end)
def("__sub", function(a, b) return a - b end)
def("__mul", function(a, b) return a * b end)
def("__div", function(a, b) return a / b end)
def("__mod", function(a, b) return a % b end)
def("__pow", function(a, b) return a ^ b end)
def("__idiv", function(a, b) return a // b end)
def("__unm", function(a) return -a end)
def("__band", function(a, b) return a & b end)
def("__bor", function(a, b) return a | b end)
def("__bxor", function(a, b) return a ~ b end)
def("__shl", function(a, b) return a << b end)
def("__shr", function(a, b) return a >> b end)
def("__bnot", function(a) return ~a end)

local a, b = val(7), val(2)

-- Arithmetic with two tables.
assert((a + b).x == 9 and last_event == "__add" and last_a == a and last_b == b)
assert((a - b).x == 5 and last_event == "__sub")
assert((a * b).x == 14 and last_event == "__mul")
assert((a / b).x == 3.5 and last_event == "__div")
assert((a % b).x == 1 and last_event == "__mod")
assert((a ^ b).x == 49 and last_event == "__pow")
assert((a // b).x == 3 and last_event == "__idiv")
assert((-a).x == -7 and last_event == "__unm" and last_a == a)

-- The table may be on either side; the operands keep their order.
assert((a + 1).x == 8 and last_a == a and last_b == 1)
assert((10 - a).x == 3 and last_a == 10 and last_b == a)
assert((2 ^ b).x == 4 and last_a == 2 and last_b == b)
assert((0.5 * a).x == 3.5 and last_a == 0.5)
assert((1.5 + a).x == 8.5)
-- Integer division and modulo by zero go to the metamethod, not to an error.
local Z = setmetatable({}, { __idiv = function() return "idiv" end, __mod = function() return "mod" end })
assert(Z // 0 == "idiv" and Z % 0 == "mod" and 1 // Z == "idiv")

-- Bitwise with two tables and mixed operands.
assert((a & b).x == 2 and last_event == "__band")
assert((a | b).x == 7 and last_event == "__bor")
assert((a ~ b).x == 5 and last_event == "__bxor")
assert((a << b).x == 28 and last_event == "__shl")
assert((a >> 1).x == 3 and last_event == "__shr")
assert((~a).x == -8 and last_event == "__bnot")
assert((1 << b).x == 4 and last_a == 1 and last_b == b)
-- Operands that are numbers without an integer value also reach the metamethod.
local bor_args
local B = setmetatable({}, { __bor = function(x, y) bor_args = { x, y }; return "bor" end })
assert(1.5 | B == "bor" and bor_args[1] == 1.5 and bor_args[2] == B)
assert(B | "str" == "bor" and bor_args[2] == "str")

-- The first operand's metamethod wins; the second is used when the first has none.
local L = setmetatable({}, { __add = function() return "left" end })
local R = setmetatable({}, { __add = function() return "right" end })
assert(L + R == "left" and R + L == "right")
assert({} + R == "right" and R + {} == "right")
assert(1 + R == "right" and R + 1 == "right")

-- Only the first result of a metamethod is used.
local multi = setmetatable({}, { __sub = function() return 1, 2, 3 end })
local r1, r2 = multi - multi
assert(r1 == 1 and r2 == nil)
local function count(...) return select("#", ...) end
assert(count(multi - 1) == 1)

-- Metamethods are called for any result type, including nil and false.
local nilres = setmetatable({}, { __mul = function() return nil end, __unm = function() return false end })
assert(nilres * 2 == nil and -nilres == false)

-- Operations without a metamethod are errors naming the operand.
local bare = {}
assert(errmsg(function() return bare + 1 end) == "metaops.lua:94: attempt to perform arithmetic on a table value (upvalue 'bare')")
assert(errmsg(function() return 1 & bare end) == "metaops.lua:95: attempt to perform bitwise operation on a table value (upvalue 'bare')")
assert(errmsg(function() return -bare end) == "metaops.lua:96: attempt to perform arithmetic on a table value (upvalue 'bare')")
assert(errmsg(function() return L - 1 end) == "metaops.lua:97: attempt to perform arithmetic on a table value (upvalue 'L')")

-- __concat with the table on either side and in chains.
local C = {}
C.__concat = function(x, y)
  local l = type(x) == "table" and "[" .. x.s .. "]" or x
  local r = type(y) == "table" and "[" .. y.s .. "]" or y
  return l .. r
end
local c1, c2 = setmetatable({ s = "c1" }, C), setmetatable({ s = "c2" }, C)
assert(c1 .. "x" == "[c1]x")
assert("x" .. c1 == "x[c1]")
assert(1 .. c1 == "1[c1]")
assert(c1 .. c2 == "[c1][c2]")
assert("a" .. c1 .. "b" .. c2 == "a[c1]b[c2]")
assert(c1 .. 2.0 == "[c1]2.0")

-- Metamethods can implement a complete numeric type.
local Frac = {}
Frac.__index = Frac
local function gcd(x, y)
  while y ~= 0 do x, y = y, x % y end
  return x
end
local function frac(n, d)
  local g = gcd(n, d)
  if d < 0 then g = -g end
  return setmetatable({ n = n // g, d = d // g }, Frac)
end
Frac.__add = function(p, q) return frac(p.n * q.d + q.n * p.d, p.d * q.d) end
Frac.__mul = function(p, q) return frac(p.n * q.n, p.d * q.d) end
Frac.__unm = function(p) return frac(-p.n, p.d) end
Frac.__eq = function(p, q) return p.n == q.n and p.d == q.d end
Frac.__lt = function(p, q) return p.n * q.d < q.n * p.d end
Frac.__le = function(p, q) return p.n * q.d <= q.n * p.d end
Frac.__tostring = function(p) return p.n .. "/" .. p.d end
local half, third = frac(1, 2), frac(1, 3)
assert(half + third == frac(5, 6))
assert(tostring(half + third) == "5/6")
assert(half * third == frac(1, 6))
assert(-half == frac(-1, 2) and tostring(-half) == "-1/2")
assert(third < half and half <= half and not (half < third))
assert(frac(2, 4) == half and frac(2, 4) ~= third)

print("ok metaops")
