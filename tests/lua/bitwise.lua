-- Bitwise operators on 64-bit integers: logical shifts, shifts by large and
-- negative amounts, conversion of integral floats, and the errors for values
-- without an integer representation.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local maxint = 0x7fffffffffffffff
local minint = 0x8000000000000000

assert(0xF0 | 0x0F == 0xFF)
assert(0xFF & 0x0F == 0x0F)
assert(0xFF ~ 0x0F == 0xF0)
assert(~0 == -1)
assert(~maxint == minint)
assert(~-1 == 0)
assert(5 & -1 == 5)
assert(-1 & minint == minint)
assert(0x5555 ~ 0xFFFF == 0xAAAA)

-- Shifts are logical: zeros come in from either side.
assert(1 << 4 == 16)
assert(256 >> 4 == 16)
assert(1 << 63 == minint)
assert(-1 >> 1 == maxint)
assert(minint >> 63 == 1)
assert(-1 << 63 == minint)
-- Shifting by 64 or more gives zero; a negative shift goes the other way.
assert(1 << 64 == 0 and 1 >> 64 == 0)
assert(-1 >> 64 == 0 and -1 << 100 == 0)
assert(2 << -1 == 1)
assert(8 >> -1 == 16)
assert(1 >> -63 == minint)
assert(1 << minint == 0)

-- Precedence: shifts bind tighter than '&', '&' than '~', '~' than '|'.
assert(1 | 6 & 3 == 3)
assert(5 ~ 3 | 8 == 14)
assert(1 << 2 + 1 == 8)
assert(~5 & 0xF == 10)
assert(0xF0 >> 4 & 3 == 3)
assert(1 | 2 == 3 and 1 | 2 < 4)

-- Floats with an exact integer value are converted; the result is an integer.
assert(3.0 | 0 == 3 and tostring(3.0 | 0) == "3")
assert(tostring(2.0 << 1) == "4")
assert(2 ^ 53 | 0 == 9007199254740992)
assert(-2.0 & 0xFF == 0xFE)
assert(~1.0 == -2)
assert(tostring(-2 ^ 63 | 0) == "-9223372036854775808")

-- Anything else has no integer representation.
assert(errmsg(function() return 3.5 | 0 end) == "bitwise.lua:56: number has no integer representation")
local big = 2 ^ 63
assert(errmsg(function() return big & 1 end) == "bitwise.lua:58: number (upvalue 'big') has no integer representation")
local nan, inf = 0 / 0, 1 / 0
assert(errmsg(function() return nan >> 1 end) == "bitwise.lua:60: number (upvalue 'nan') has no integer representation")
assert(errmsg(function() return ~inf end) == "bitwise.lua:61: number (upvalue 'inf') has no integer representation")
assert(errmsg(function() return 1 << 0.5 end) == "bitwise.lua:62: number has no integer representation")

-- Non-numbers are errors naming the operand.
local t = {}
assert(errmsg(function() return t | 1 end) == "bitwise.lua:66: attempt to perform bitwise operation on a table value (upvalue 't')")
assert(errmsg(function() local b = false; return 1 ~ b end) == "bitwise.lua:67: attempt to perform bitwise operation on a boolean value (local 'b')")
assert(errmsg(function() return undefined_global & 1 end) == "bitwise.lua:68: attempt to perform bitwise operation on a nil value (global 'undefined_global')")
assert(errmsg(function() return ~t.field end) == "bitwise.lua:69: attempt to perform bitwise operation on a nil value (field 'field')")

-- Building values bit by bit.
local x = 0
for i = 0, 62, 2 do x = x | (1 << i) end
assert(x == 0x5555555555555555)
local count = 0
local y = -1
while y ~= 0 do
  y = y & (y - 1)
  count = count + 1
end
assert(count == 64)

print("ok bitwise")
