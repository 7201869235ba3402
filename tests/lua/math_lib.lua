-- The math library: constants, integer/float subtypes of results (floor, ceil,
-- modf, abs, fmod, max, min), conversions (tointeger, type, ult), elementary
-- functions, the deprecated functions of the default build (pow, frexp, ldexp,
-- log10, cosh, sinh, tanh, atan2), the xoshiro256** generator's exact sequences
-- for given seeds, and every argument error with its full message.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local function isnan(x) return x ~= x end
local function isint(x) return math.type(x) == "integer" end
local function isfloat(x) return math.type(x) == "float" end

-- Constants.
assert(math.pi == 3.141592653589793 and isfloat(math.pi))
assert(math.huge == 1/0 and -math.huge == -1/0 and isfloat(math.huge))
assert(math.maxinteger == 0x7fffffffffffffff and isint(math.maxinteger))
assert(math.mininteger == -0x7fffffffffffffff - 1 and isint(math.mininteger))
assert(math.maxinteger + 1 == math.mininteger)
assert(math.mininteger < -2^62 and math.maxinteger < math.huge)
assert(math.atan2 == math.atan)

-- math.type
assert(math.type(1) == "integer" and math.type(1.0) == "float")
assert(math.type(-0.0) == "float" and math.type(2^63) == "float")
assert(math.type("1") == nil and math.type(nil) == nil and math.type({}) == nil)
assert(errmsg(math.type) == "bad argument #1 to 'math.type' (value expected)")
assert(errmsg(function() math.type() end) == "math_lib.lua:31: bad argument #1 to 'type' (value expected)")

-- math.tointeger: integral numbers and numeric strings; fail otherwise.
assert(math.tointeger(3) == 3 and isint(math.tointeger(3.0)))
assert(math.tointeger(3.5) == nil and math.tointeger(0/0) == nil)
assert(math.tointeger(2^63) == nil and math.tointeger(-2^63) == math.mininteger)
assert(math.tointeger("8") == 8 and math.tointeger("0x10") == 16)
assert(math.tointeger(" 5.0 ") == 5 and math.tointeger("x") == nil)
assert(math.tointeger({}) == nil and math.tointeger(nil) == nil)
assert(select("#", math.tointeger(nil)) == 1)
assert(errmsg(math.tointeger) == "bad argument #1 to 'math.tointeger' (value expected)")

-- math.floor and math.ceil: integers when representable.
assert(math.floor(3.7) == 3 and isint(math.floor(3.7)))
assert(math.floor(-3.7) == -4 and math.ceil(-3.7) == -3)
assert(math.ceil(3.2) == 4 and isint(math.ceil(3.2)))
assert(math.floor(5) == 5 and isint(math.floor(5)) and math.ceil(-5) == -5)
assert(math.floor(math.mininteger) == math.mininteger)
assert(isint(math.floor(-0.0)) and math.floor(-0.0) == 0)
assert(isint(math.ceil(-0.5)) and 1/math.ceil(-0.5) == math.huge)
assert(isfloat(math.floor(2^70)) and math.floor(2^70) == 2^70)
assert(isfloat(math.ceil(2^63)) and isint(math.floor(-2^63)))
assert(math.floor(math.huge) == math.huge and math.ceil(-math.huge) == -math.huge)
assert(isnan(math.floor(0/0)) and isnan(math.ceil(0/0)))
assert(math.floor("3.7") == 3 and math.ceil("10") == 10 and isint(math.ceil("10")))
assert(errmsg(math.floor, "x") == "bad argument #1 to 'math.floor' (number expected, got string)")
assert(errmsg(math.ceil) == "bad argument #1 to 'math.ceil' (number expected, got no value)")
assert(errmsg(function() math.floor({}) end) == "math_lib.lua:58: bad argument #1 to 'floor' (number expected, got table)")

-- math.abs: integers wrap at mininteger; strings become floats.
assert(math.abs(-3) == 3 and isint(math.abs(-3)))
assert(math.abs(math.mininteger) == math.mininteger)
assert(math.abs(-2.5) == 2.5 and 1/math.abs(-0.0) == math.huge)
assert(math.abs("-3") == 3 and isfloat(math.abs("-3")))
assert(math.abs(-math.huge) == math.huge)
assert(errmsg(math.abs) == "bad argument #1 to 'math.abs' (number expected, got no value)")
assert(errmsg(math.abs, true) == "bad argument #1 to 'math.abs' (number expected, got boolean)")

-- math.fmod: C's truncated remainder, integer for integer arguments.
assert(math.fmod(7, 3) == 1 and isint(math.fmod(7, 3)))
assert(math.fmod(-7, 3) == -1 and math.fmod(7, -3) == 1)
assert(math.fmod(-6, 3) == 0 and math.fmod(math.mininteger, -1) == 0)
assert(math.fmod(math.mininteger, math.maxinteger) == -1)
assert(math.fmod(-7.5, 2) == -1.5 and math.fmod(7, 3.0) == 1.0 and isfloat(math.fmod(7, 3.0)))
assert(math.fmod("7", 3) == 1.0 and isfloat(math.fmod("7", 3)))
assert(math.fmod(5, math.huge) == 5.0 and math.fmod(-5, -math.huge) == -5.0)
assert(isnan(math.fmod(1, 0.0)) and isnan(math.fmod(math.huge, 1)))
assert(errmsg(math.fmod, 1, 0) == "bad argument #2 to 'math.fmod' (zero)")
assert(errmsg(function() local x = math.fmod(5, 0) end) == "math_lib.lua:79: bad argument #2 to 'fmod' (zero)")
assert(errmsg(math.fmod, 1) == "bad argument #2 to 'math.fmod' (number expected, got no value)")
-- Both arguments bad: PUC Lua checks the second first.
assert(errmsg(math.fmod, "x", {}) == "bad argument #2 to 'math.fmod' (number expected, got table)")
assert(errmsg(math.fmod, "x", 1) == "bad argument #1 to 'math.fmod' (number expected, got string)")

-- math.modf: integral part (integer when it fits) and float fraction.
local ip, fp = math.modf(3.5)
assert(ip == 3 and isint(ip) and fp == 0.5 and isfloat(fp))
ip, fp = math.modf(-3.5)
assert(ip == -3 and fp == -0.5)
ip, fp = math.modf(5)
assert(ip == 5 and isint(ip) and fp == 0.0 and isfloat(fp))
ip, fp = math.modf(math.huge)
assert(ip == math.huge and isfloat(ip) and fp == 0.0)
ip, fp = math.modf(-math.huge)
assert(ip == -math.huge and fp == 0.0)
ip, fp = math.modf(2^80)
assert(ip == 2^80 and isfloat(ip) and fp == 0.0)
ip, fp = math.modf(-0.5)
assert(ip == 0 and isint(ip) and fp == -0.5)
ip, fp = math.modf(0/0)
assert(isnan(ip) and isnan(fp))
assert(select("#", math.modf(1)) == 2)
assert(errmsg(math.modf) == "bad argument #1 to 'math.modf' (number expected, got no value)")

-- math.sqrt, math.exp, math.log (with the exact bases 2 and 10).
assert(math.sqrt(16) == 4.0 and isfloat(math.sqrt(16)) and isnan(math.sqrt(-1)))
assert(math.sqrt(2) == 1.4142135623730951 and math.sqrt(math.huge) == math.huge)
assert(math.exp(0) == 1.0 and math.exp(1) == 2.718281828459045 and math.exp(-math.huge) == 0.0)
assert(math.log(1) == 0.0 and math.log(0) == -math.huge and isnan(math.log(-1)))
assert(math.log(10) == 2.302585092994046)
assert(math.log(8, 2) == 3.0 and math.log(2^60, 2) == 60.0 and math.log(1024, 2.0) == 10.0)
assert(math.log(1000, 10) == 3.0 and math.log(1e15, 10) == 15.0)
assert(math.abs(math.log(27, 3) - 3) < 1e-15 and math.log(100, nil) == math.log(100))
assert(errmsg(math.log, 8, "b") == "bad argument #2 to 'math.log' (number expected, got string)")
assert(errmsg(math.sqrt, nil) == "bad argument #1 to 'math.sqrt' (number expected, got nil)")
assert(errmsg(math.exp) == "bad argument #1 to 'math.exp' (number expected, got no value)")

-- Trigonometry (radians); atan with two arguments picks the quadrant.
assert(math.sin(0) == 0.0 and math.cos(0) == 1.0 and math.tan(0) == 0.0)
assert(math.sin(1) == 0.8414709848078965 and math.cos(1) == 0.5403023058681398)
assert(math.tan(1) == 1.5574077246549023 and math.abs(math.sin(math.pi)) < 1e-15)
assert(math.asin(1) == math.pi / 2 and math.acos(1) == 0.0 and math.acos(-1) == math.pi)
assert(isnan(math.asin(2)) and isnan(math.sin(math.huge)))
assert(math.atan(1) == math.pi / 4 and math.atan(1, 1) == math.pi / 4)
assert(math.atan(0, -1) == math.pi and math.atan(-0.0, -1) == -math.pi)
assert(math.atan(1, 0) == math.pi / 2 and math.atan(math.huge) == math.pi / 2)
assert(math.atan(1, nil) == math.atan(1))
assert(errmsg(function() math.atan(1, "x") end) == "math_lib.lua:128: bad argument #2 to 'atan' (number expected, got string)")
assert(errmsg(function() math.sin("x") end) == "math_lib.lua:129: bad argument #1 to 'sin' (number expected, got string)")
assert(math.deg(math.pi) == 180.0 and math.rad(180) == math.pi)
assert(math.deg(1) == 57.29577951308232 and math.rad(1) == 0.017453292519943295)

-- math.ult: unsigned comparison.
assert(math.ult(1, 2) and not math.ult(2, 1) and not math.ult(1, 1))
assert(math.ult(1, -1) and not math.ult(-1, 1))
assert(math.ult(math.maxinteger, math.mininteger))
assert(math.ult(1.0, "2") == true)
assert(errmsg(math.ult, 1.5, 2) == "bad argument #1 to 'math.ult' (number has no integer representation)")
assert(errmsg(math.ult, 1) == "bad argument #2 to 'math.ult' (number expected, got no value)")

-- math.max and math.min: the winning argument itself, compared with '<'.
assert(math.max(1, 5, 3) == 5 and math.min(4, 2, 8) == 2)
assert(math.max(3) == 3 and isint(math.max(3, 1)))
assert(isfloat(math.max(1, 2.0)) and isfloat(math.max(2.0, 2)) and isint(math.max(2, 2.0)))
assert(1/math.min(0.0, -0.0) == math.huge and 1/math.min(-0.0, 0.0) == -math.huge)
assert(math.min(math.mininteger, math.maxinteger, 0) == math.mininteger)
assert(math.max(2^53, 2^53 + 1) == 2^53 + 1 and isint(math.max(2^53, 9007199254740993)))
assert(isnan(math.max(0/0, 1)) and math.max(1, 0/0) == 1)
assert(math.max(-math.huge, math.mininteger) == math.mininteger)
assert(math.max("a", "b") == "b" and math.min("a", "b") == "a")
local tab = {}
assert(math.max(tab) == tab and math.min("10") == "10")
local mt = {__lt = function(a, b) return a.v < b.v end}
local small, big = setmetatable({v = 1}, mt), setmetatable({v = 9}, mt)
assert(math.max(small, big) == big and math.min(big, small) == small)
-- `__lt` runs once per comparison, left to right, the best so far first for max.
local order = {}
local lmt = {__lt = function(a, b) order[#order + 1] = a.v .. "<" .. b.v; return a.v < b.v end}
local function lv(v) return setmetatable({v = v}, lmt) end
assert(math.max(lv(3), lv(9), lv(1), lv(12)).v == 12 and math.min(lv(3), lv(0), lv(5)).v == 0)
assert(table.concat(order, " ") == "3<9 9<1 9<12 0<3 5<0", table.concat(order, " "))
assert(errmsg(math.max) == "bad argument #1 to 'math.max' (value expected)")
assert(errmsg(function() math.min() end) == "math_lib.lua:163: bad argument #1 to 'min' (value expected)")
assert(errmsg(math.max, 1, {}) == "attempt to compare number with table")
assert(errmsg(function() math.min(1, "2") end) == "attempt to compare string with number")

-- Deprecated functions still in the default build (LUA_COMPAT_MATHLIB).
assert(math.pow(2, 10) == 1024.0 and isfloat(math.pow(2, 10)) and math.pow(2, 0.5) == math.sqrt(2))
assert(math.cosh(0) == 1.0 and math.sinh(0) == 0.0 and math.tanh(0) == 0.0)
assert(math.abs(math.cosh(1) - 1.5430806348152437) < 1e-15 and math.tanh(math.huge) == 1.0)
assert(math.log10(1000) == 3.0 and math.log10(2) == 0.3010299956639812)
local m, e = math.frexp(8)
assert(m == 0.5 and e == 4 and isint(e))
m, e = math.frexp(-3)
assert(m == -0.75 and e == 2)
m, e = math.frexp(0)
assert(m == 0.0 and e == 0)
m, e = math.frexp(2^-1074)
assert(m == 0.5 and e == -1073)
m, e = math.frexp(2^1023 * 1.5)
assert(m == 0.75 and e == 1024)
assert(math.frexp(math.huge) == math.huge)
assert(math.ldexp(0.5, 4) == 8.0 and math.ldexp(1, -1074) == 2^-1074 and math.ldexp(1, -1080) == 0.0)
assert(math.ldexp(3, -1075) == 2^-1073 and math.ldexp(1.5, -1074) == 2^-1073)
assert(math.ldexp(1, 1024) == math.huge and math.ldexp(2^-1074, 2097) == 2^1023)
assert(math.ldexp(1, 2^32 + 1) == 2.0)
assert(errmsg(math.ldexp, 1, 1.5) == "bad argument #2 to 'math.ldexp' (number has no integer representation)")
assert(errmsg(math.pow, 2) == "bad argument #2 to 'math.pow' (number expected, got no value)")

-- math.randomseed returns its seeds; the same seed gives PUC Lua's sequence.
local s1, s2 = math.randomseed(42)
assert(s1 == 42 and s2 == 0)
assert(math.random(1, 100) == 50 and math.random() == 0.54688311243421495)
assert(math.random(0) == -3807604385970496171)
math.randomseed(42)
assert(math.random(0) == -1276290044721465627 and math.random(0) == 8333941968102511665)
math.randomseed(42)
assert(math.random() == 0.93081217803956817 and math.random() == 0.45178389935924312)
local r = math.random()
assert(isfloat(r) and r == 0.54688311243421495)
s1, s2 = math.randomseed(123, 456)
assert(s1 == 123 and s2 == 456)
local seq = ""
for _ = 1, 8 do seq = seq .. math.random(10) .. " " end
assert(seq == "3 8 4 10 6 4 6 2 ")
math.randomseed(-7)
assert(math.random(math.mininteger, math.maxinteger) == 34319120444608707)
assert(math.random(math.mininteger, math.maxinteger) == -1108879148749802747)
for _ = 1, 2 do math.random(0) end
assert(math.random(-1000, 1000) == -30 and math.random(-1000, 1000) == 391)
for _ = 1, 2 do math.random(-1000, 1000) end
assert(math.random(0, 2^40) == 286709192261 and math.random(0, 2^40) == 46114683907)
for _ = 1, 2 do math.random(0, 2^40) end
assert(math.random(math.maxinteger - 3, math.maxinteger) == 9223372036854775806)
assert(math.random(math.maxinteger - 3, math.maxinteger) == 9223372036854775804)
assert(math.random(3, 3) == 3 and math.random(3.0, 3) == 3)
s1, s2 = math.randomseed(2^53)
assert(s1 == 9007199254740992 and isint(s1) and s2 == 0)
s1, s2 = math.randomseed(0x7fffffffffffffff, -1)
assert(s1 == math.maxinteger and s2 == -1)
assert(math.random(1, 2^62 + 1) == 1696323082790730475)
assert(math.random(1, 2^62) == 4302862810647602978)
assert(math.random(0, math.maxinteger) == 8489750840294727341)
-- Without arguments the seed comes from the clock: two integers.
s1, s2 = math.randomseed()
assert(isint(s1) and isint(s2))
-- Ranges: every value inside, every value reached.
local seen, ok = {}, true
for _ = 1, 600 do
  local v = math.random(6)
  if not (isint(v) and v >= 1 and v <= 6) then ok = false end
  seen[v] = true
end
assert(ok and #seen == 6)
ok = true
for _ = 1, 300 do
  local f = math.random()
  local n = math.random(-3, 3)
  if not (f >= 0 and f < 1 and n >= -3 and n <= 3) then ok = false end
end
assert(ok)
assert(errmsg(math.random, 2, 1) == "bad argument #1 to 'math.random' (interval is empty)")
assert(errmsg(math.random, -5) == "bad argument #1 to 'math.random' (interval is empty)")
assert(errmsg(function() math.random(0, -1) end) == "math_lib.lua:244: bad argument #1 to 'random' (interval is empty)")
assert(errmsg(math.random, 1, 2, 3) == "wrong number of arguments")
assert(errmsg(function() math.random(1, 2, 3) end) == "math_lib.lua:246: wrong number of arguments")
assert(errmsg(math.random, 3.5) == "bad argument #1 to 'math.random' (number has no integer representation)")
assert(errmsg(math.random, 1, "x") == "bad argument #2 to 'math.random' (number expected, got string)")
assert(errmsg(math.randomseed, 1.5) == "bad argument #1 to 'math.randomseed' (number has no integer representation)")
assert(errmsg(math.randomseed, nil) == "bad argument #1 to 'math.randomseed' (number expected, got nil)")
assert(errmsg(math.randomseed, 1, {}) == "bad argument #2 to 'math.randomseed' (number expected, got table)")

print("ok math_lib")
