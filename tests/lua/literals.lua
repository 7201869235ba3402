-- Lexical elements: numerals, string literals and escapes, long brackets, comments.
-- Integer/float subtype is observed through tostring ("3" vs "3.0"), since the
-- math library is not available.

-- A float prints the same after adding 0.0; an integer does not ("3" vs "3.0").
local function isfloat(x) return tostring(x + 0.0) == tostring(x) end

-- Decimal numerals.
assert(3 == 3.0)
assert(tostring(3) == "3")
assert(tostring(3.0) == "3.0")
assert(3.1416 > 3.14 and 3.1416 < 3.15)
assert(314.16e-2 == 3.1416)
assert(0.31416E1 == 3.1416)
assert(34e1 == 340 and tostring(34e1) == "340.0")
assert(5. == 5 and tostring(5.) == "5.0")
assert(.5 == 0.5)
assert(007 == 7 and tostring(007) == "7")
assert(1e+2 == 100 and 1E-2 == 0.01)
assert(not isfloat(42) and isfloat(42.0) and isfloat(1e2) and not isfloat(0x10))
assert(isfloat(0x1p0) and isfloat(2^63) and not isfloat(9223372036854775807))

-- Hexadecimal numerals, including hex floats with binary exponents.
assert(0xff == 255 and 0XFF == 255 and 0xA == 10)
assert(0x.8 == 0.5)
assert(0x.1 == 0.0625)
assert(0x1p4 == 16.0 and tostring(0x1p4) == "16.0")
assert(0x1P-1 == 0.5)
assert(0xA23p-4 == 162.1875)
assert(0X1.921FB54442D18P+1 > 3.14159 and 0X1.921FB54442D18P+1 < 3.1416)
assert(tostring(0x10) == "16")

-- Decimal integers that do not fit become floats; hex integers wrap around.
assert(tostring(9223372036854775807) == "9223372036854775807")
assert(tostring(9223372036854775808) == "9.2233720368548e+18")
assert(9223372036854775808 == 2^63)
assert(tostring(-9223372036854775808) == "-9.2233720368548e+18")
assert(0x7fffffffffffffff == 9223372036854775807)
assert(0xffffffffffffffff == -1)
assert(tostring(0x8000000000000000) == "-9223372036854775808")
assert(0x10000000000000000 == 0)
assert(0x1ffffffffffffffff == -1)
assert(1e309 == 1/0 and tostring(1e309) == "inf")

-- tonumber follows the lexer's rules for numerals.
assert(tonumber("0x10") == 16)
assert(tonumber("  10  ") == 10)
assert(tonumber(" -0x10 ") == -16)
assert(tonumber("0x1p4") == 16.0)
assert(tonumber("1e") == nil and tonumber("") == nil and tonumber("0x") == nil)
assert(tonumber("1 2") == nil and tonumber("inf") == nil and tonumber("nan") == nil)
assert(tonumber("9223372036854775808") == 2^63)
assert(tostring(tonumber("-9223372036854775808")) == "-9223372036854775808")
assert(tonumber("1e500") == 1/0)
assert(tonumber(10) == 10 and tonumber(nil) == nil and tonumber({}) == nil)
-- ... and with an explicit base, digits and letters up to the base.
assert(tonumber("10", 2) == 2)
assert(tonumber("ff", 16) == 255 and tonumber("FF", 16) == 255)
assert(tonumber("-ff", 16) == -255)
assert(tonumber("zz", 36) == 1295)
assert(tonumber("8", 8) == nil)
assert(tonumber(" 7 ", 10) == 7)

-- Short strings and escape sequences.
assert('single' == "single")
assert("\'" == "'" and '\"' == '"')
assert(#"\a\b\f\n\r\t\v\\\"\'" == 10)
assert("\65" == "A" and "\065" == "A" and "\0651" == "A1")
assert("\255" == "\xff" and "\xFF" == "\xff")
assert("\x41" == "A" and "\x4a" == "J" and "\x4A" == "J")
assert(#"a\0b" == 3 and "a\0b" ~= "a" and "a\0b" ~= "a\0c")
assert("\0" == "\x00" and "\u{0}" == "\0")
assert("\u{41}\u{42}" == "AB")
assert("\u{7FF}" == "\xDF\xBF")
assert("\u{FFFF}" == "\xEF\xBF\xBF")
assert("\u{10FFFF}" == "\xF4\x8F\xBF\xBF")
assert(#"\u{7FFFFFFF}" == 6)
assert("\u{000048}" == "H")
-- \z skips the following whitespace, newlines included.
assert("abc\z
        def" == "abcdef")
assert(#"\z
      abc" == 3)
-- A backslash followed by a newline is a newline.
assert("a\
b" == "a\nb")

-- Long strings: no escapes, first newline skipped, any level of '='.
assert([[abc]] == "abc")
assert([[
line]] == "line")
assert([[a\nb]] == "a\\nb" and #[[a\nb]] == 4)
assert([==[a]]b]=]c]==] == "a]]b]=]c")
assert([=[
]]]=] == "]]")
assert([[
a
b
]] == "a\nb\n")
assert([[ [[nested-looking ]] == " [[nested-looking ")
assert([==[]==] == "")

-- Comments of every shape.
local c = 1 -- a line comment
--[[ a long
comment ]] c = c + 1
--[==[ a long comment containing ]] and ]=]
]==] c = c + 1
---[[ this is a line comment, so the next line runs
c = c + 1
--]]
assert(c == 4)
local d = 1 --[[ inline ]] + 1
assert(d == 2)

print("ok literals")
