-- string.format: every Lua 5.4 conversion (%d %i %u %c %x %X %o %e %E %f %g
-- %G %a %A %q %s %p %%) with flags, widths and precisions, printed byte for
-- byte as C's printf does; %q literals; and every error message.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local fmt = string.format

-- `n` copies of `s` (without string.rep, to test format alone).
local function rep(s, n)
  local r = ""
  for _ = 1, n do r = r .. s end
  return r
end
local maxi, mini = 9223372036854775807, -9223372036854775807 - 1

-- Plain text, %% and embedded zeros pass through.
assert(fmt("") == "")
assert(fmt("plain text") == "plain text")
assert(fmt("100%%") == "100%")
assert(fmt("%%d") == "%d")
assert(fmt("a\0b%d\0", 1) == "a\0b1\0")
assert(#fmt("\0\0\0") == 3)

-- %d and %i: integers, integral floats and numeric strings.
assert(fmt("%d", 0) == "0")
assert(fmt("%d", -42) == "-42")
assert(fmt("%i", 42) == "42")
assert(fmt("%d", maxi) == "9223372036854775807")
assert(fmt("%d", mini) == "-9223372036854775808")
assert(fmt("%d", 3.0) == "3")
assert(fmt("%d", -2^63) == "-9223372036854775808")
assert(fmt("%d", "10") == "10")
assert(fmt("%d", " 0x10 ") == "16")
assert(fmt("%d", "2.0") == "2")
assert(fmt("%5d|%-5d|%05d", 42, 42, 42) == "   42|42   |00042")
assert(fmt("%+d %+d % d % d", 5, -5, 5, -5) == "+5 -5  5 -5")
assert(fmt("%+05d|% 05d|%-+5d|", 7, 7, 7) == "+0007| 0007|+7   |")
assert(fmt("%.3d|%5.3d|%-6.4d|%.0d|%+.0d|%5.0d|", 7, -7, 7, 0, 0, 0) == "007| -007|0007  ||+|     |")
assert(fmt("%05.3d", 7) == "  007")          -- a precision turns '0' off
assert(fmt("%0-5d|", 1) == "1    |")          -- '-' wins over '0'
assert(fmt("%--++  00d", 3) == "+3")          -- flags may repeat
assert(fmt("%99d", 1) == rep(" ", 98) .. "1")
assert(fmt("%.99d", 1) == rep("0", 98) .. "1")

-- %u, %o, %x, %X: the integer's two's complement bits, unsigned.
assert(fmt("%u", 42) == "42")
assert(fmt("%u", -1) == "18446744073709551615")
assert(fmt("%5.3u|%-5u|%05u", 1, 2, 3) == "  001|2    |00003")
assert(fmt("%x %X", 255, 255) == "ff FF")
assert(fmt("%x", -1) == "ffffffffffffffff")
assert(fmt("%X", mini) == "8000000000000000")
assert(fmt("%o", 8) == "10")
assert(fmt("%o", -1) == "1777777777777777777777")
assert(fmt("%#x %#X %#o", 255, 255, 8) == "0xff 0XFF 010")
assert(fmt("%#x %#o %#.0o %#.0x", 0, 0, 0, 0) == "0 0 0 ")
assert(fmt("%#5o|%#.3o|%#.1o", 8, 8, 0) == "  010|010|0")
assert(fmt("%08x|%#08x|%-#8x|", 255, 255, 255) == "000000ff|0x0000ff|0xff    |")
assert(fmt("%.4x|%8.4X|%#.4x", 10, 10, 10) == "000a|    000A|0x000a")
assert(fmt("%x", 3.0) == "3")

-- %c: one byte (the integer's low byte), padded with spaces.
assert(fmt("%c", 65) == "A")
assert(fmt("%c%c%c", 76, 117, 97) == "Lua")
assert(fmt("%c", 0) == "\0")
assert(fmt("%c", 256 + 66) == "B")
assert(fmt("%5c|%-5c|", 65, 66) == "    A|B    |")
assert(fmt("%c", "67") == "C")

-- %f and %F-free fixed notation, rounded half to even on the exact value.
assert(fmt("%f", 0) == "0.000000")
assert(fmt("%f", 1.5) == "1.500000")
assert(fmt("%f", -0.0) == "-0.000000")
assert(fmt("%.0f %.0f %.0f %.0f", 0.5, 1.5, 2.5, 3.5) == "0 2 2 4")
assert(fmt("%.2f %.2f %.1f", 0.125, 0.375, 0.25) == "0.12 0.38 0.2")
assert(fmt("%.1f %.2f", 0.35, 1.005) == "0.3 1.00")  -- 0.35 and 1.005 are below
assert(fmt("%.3f", 2/3) == "0.667")
assert(fmt("%10.3f|%-10.3f|%010.3f", 3.14159, 3.14159, -3.14159) == "     3.142|3.142     |-00003.142")
assert(fmt("%+f % f", 1.0, 1.0) == "+1.000000  1.000000")
assert(fmt("%#.0f %.0f", 3.0, 3.0) == "3. 3")
assert(fmt("%.f|%5.f", 2.5, 7) == "2|    7")
assert(fmt("%f", 1e15) == "1000000000000000.000000")
assert(fmt("%.0f", 2^63) == "9223372036854775808")
assert(fmt("%.0f", 1e22) == "10000000000000000000000")
assert(fmt("%.0f", 1e23) == "99999999999999991611392")
assert(fmt("%.20f", 0.1) == "0.10000000000000000555")
assert(fmt("%.3f", 5e-324) == "0.000")
assert(fmt("%f", 3) == "3.000000")
assert(fmt("%f", "1e2") == "100.000000")
assert(#fmt("%.99f", -1.7976931348623157e308) == 1 + 309 + 1 + 99)
assert(fmt("%.60f", 2^-60) == "0.000000000000000000867361737988403547205962240695953369140625")

-- %e and %E: at least two exponent digits.
assert(fmt("%e", 0) == "0.000000e+00")
assert(fmt("%e", 12345.678) == "1.234568e+04")
assert(fmt("%E", 0.00012) == "1.200000E-04")
assert(fmt("%.0e %#.0e", 5.0, 5.0) == "5e+00 5.e+00")
assert(fmt("%.2e", 9.999) == "1.00e+01")
assert(fmt("%.3e", 1e300) == "1.000e+300")
assert(fmt("%e", 5e-324) == "4.940656e-324")
assert(fmt("%.0e %.0e", 2.5, 3.5) == "2e+00 4e+00")
assert(fmt("%12.3e|%-12.3E|%012.3e", 1234.5, 1234.5, -1234.5) == "   1.234e+03|1.234E+03   |-001.234e+03")
assert(fmt("%+.1e % .1e", 1.0, 1.0) == "+1.0e+00  1.0e+00")
assert(fmt("%.20e", 1/3) == "3.33333333333333314830e-01")

-- %g and %G: %e or %f by the exponent, trailing zeros removed unless '#'.
assert(fmt("%g", 0) == "0")
assert(fmt("%g", -0.0) == "-0")
assert(fmt("%g", 100000) == "100000")
assert(fmt("%g", 1000000) == "1e+06")
assert(fmt("%g", 0.0001) == "0.0001")
assert(fmt("%g", 0.00001) == "1e-05")
assert(fmt("%g", 123456789) == "1.23457e+08")
assert(fmt("%G", 1e-10) == "1E-10")
assert(fmt("%g %g", 0.5, 1.5) == "0.5 1.5")
assert(fmt("%.3g %.3g", 3.14159, 1234.5) == "3.14 1.23e+03")
assert(fmt("%.0g %.1g", 25, 25) == "2e+01 2e+01")
assert(fmt("%.14g", 0.1) == "0.1")
assert(fmt("%.17g", 0.1) == "0.10000000000000001")
assert(fmt("%#g %#.3g", 1.0, 2.0) == "1.00000 2.00")
assert(fmt("%#g", 100000.0) == "100000.")
assert(fmt("%.3g %.3g", 9.996, 0.0009996) == "10 0.001")
assert(fmt("%#.3g %#.3g", 9.996, 0.0009996) == "10.0 0.00100")
assert(fmt("%#.3g %#.2g %#.4g", 999.5, 99.96, 9999.5) == "1.e+03 1.e+02 1.e+04")
assert(fmt("%.3g", 999.5) == "1e+03")
assert(fmt("%10.4g|%-10.4G|%010g|%+g", 3.14159, 1e-20, -2.5, 2.5) == "     3.142|1E-20     |-0000002.5|+2.5")

-- %a and %A: hexadecimal floats as glibc prints them.
assert(fmt("%a", 1) == "0x1p+0")
assert(fmt("%a %a", 0.5, -0.5) == "0x1p-1 -0x1p-1")
assert(fmt("%a %a", 0.0, -0.0) == "0x0p+0 -0x0p+0")
assert(fmt("%A", 255.5) == "0X1.FFP+7")
assert(fmt("%a", 0.1) == "0x1.999999999999ap-4")
assert(fmt("%a", 2^-1074) == "0x0.0000000000001p-1022")
assert(fmt("%a", 2^-1022) == "0x1p-1022")
assert(fmt("%a", 1.7976931348623157e308) == "0x1.fffffffffffffp+1023")
assert(fmt("%.3a", 1.99999) == "0x2.000p+0")
assert(fmt("%.0a %.0a %.0a", 1.5, 2.5, 3.5) == "0x2p+0 0x1p+1 0x2p+1")
assert(fmt("%.1a %.1a", 1.03125, 1.09375) == "0x1.0p+0 0x1.2p+0")
assert(fmt("%.2a", 2^-1074) == "0x0.00p-1022")
assert(fmt("%.15a", 1) == "0x1.000000000000000p+0")
assert(fmt("%#a %#.0a", 1, 1) == "0x1.p+0 0x1.p+0")
assert(fmt("%+a % a", 1, 1) == "+0x1p+0  0x1p+0")
assert(fmt("%12a|%-12a|%012a", 1, 1, -1) == "      0x1p+0|0x1p+0      |-0x000001p+0")
assert(fmt("%a", 3) == "0x1.8p+1")

-- Infinities and NaNs: never zero-padded; a NaN's sign shows.
assert(fmt("%f %e %g %a", 1/0, 1/0, 1/0, 1/0) == "inf inf inf inf")
assert(fmt("%f %E %G %A", -1/0, -1/0, -1/0, -1/0) == "-inf -INF -INF -INF")
assert(fmt("%+f|% f|%6f|%-6f|%06f", 1/0, 1/0, 1/0, 1/0, 1/0) == "+inf| inf|   inf|inf   |   inf")
local nan = 0/0
assert(fmt("%f", nan) == tostring(nan))
assert(fmt("%.3e", -nan) == tostring(-nan))
assert(fmt("%5g|", -nan) == rep(" ", 5 - #tostring(-nan)) .. tostring(-nan) .. "|")
assert(fmt("%08.2f", -nan) == rep(" ", 8 - #tostring(-nan)) .. tostring(-nan))

-- %s: tostring with __tostring and __name; precision truncates; a string
-- with zeros is copied whole when there are no modifiers.
assert(fmt("%s", "hello") == "hello")
assert(fmt("%s %s %s", nil, true, false) == "nil true false")
assert(fmt("%s %s %s", 1, 1.0, -0.0) == "1 1.0 -0.0")
assert(fmt("%s", 1e100) == "1e+100")
assert(fmt("%s", 2^63) == "9.2233720368548e+18")
assert(fmt("%10s|%-10s|", "abc", "abc") == "       abc|abc       |")
assert(fmt("%.2s|%.0s|%5.1s|%.10s", "abc", "abc", "abc", "abc") == "ab||    a|abc")
assert(fmt("%s", "a\0b") == "a\0b")
local obj = setmetatable({}, {__tostring = function() return "OBJ" end})
assert(fmt("%s|%5s|%-5s|%.1s", obj, obj, obj, obj) == "OBJ|  OBJ|OBJ  |O")
local named = setmetatable({}, {__name = "MyType"})
assert(fmt("%s", named) == tostring(named))
assert(fmt("%.6s", named) == "MyType")
local t = {}
assert(fmt("%s", t) == tostring(t))
local long = rep("x", 120)
assert(fmt("%s", long) == long)
assert(fmt("%5s", long) == long)
assert(fmt("%.99s", long) == rep("x", 99))
assert(fmt("%99.99s", "y") == rep(" ", 98) .. "y")

-- %p: an object's address (as tostring shows it), "(null)" for values.
assert("table: " .. fmt("%p", t) == tostring(t))
assert("function: " .. fmt("%p", errmsg) == tostring(errmsg))
assert(fmt("%p", t) == fmt("%p", t))
assert(fmt("%p", t) ~= fmt("%p", {}))
assert(fmt("%p %p %p %p", nil, true, 1, 2.5) == "(null) (null) (null) (null)")
assert(fmt("%10p|%-8p|", 1, nil) == "    (null)|(null)  |")
assert(#fmt("%40p", t) == 40)

-- %q: a literal that reads back as the same value.
assert(fmt("%q", "plain") == '"plain"')
assert(fmt("%q", 'say "hi"\\') == '"say \\"hi\\"\\\\"')
assert(fmt("%q", "a\nb") == '"a\\\nb"')
assert(fmt("%q", "\r\t\0") == '"\\13\\9\\0"')
assert(fmt("%q", "\0001\0a") == '"\\0001\\0a"')
assert(fmt("%q", "\1\0012\31\127\1279") == '"\\1\\0012\\31\\127\\1279"')
assert(fmt("%q", "\200\255é") == '"\200\255é"')
assert(fmt("%q", "") == '""')
assert(fmt("%q", 0) == "0")
assert(fmt("%q", -17) == "-17")
assert(fmt("%q", maxi) == "9223372036854775807")
assert(fmt("%q", mini) == "0x8000000000000000")
assert(fmt("%q", 1.0) == "0x1p+0")
assert(fmt("%q", -1.5) == "-0x1.8p+0")
assert(fmt("%q", 0.1) == "0x1.999999999999ap-4")
assert(fmt("%q", -0.0) == "-0x0p+0")
assert(fmt("%q %q %q", 1/0, -1/0, 0/0) == "1e9999 -1e9999 (0/0)")
assert(fmt("%q %q %q", nil, true, false) == "nil true false")
assert(fmt("%q", "1") == '"1"')

-- Several conversions in one format consume arguments in order.
assert(fmt("%d-%s-%x-%q", 1, "two", 3, "4") == '1-two-3-"4"')
assert(fmt("%s", "extra", "ignored") == "extra")
assert(select("#", fmt("%d", 1)) == 1)
-- Method syntax on the format string.
assert(("%d|%5.2f"):format(3, 2.5) == "3| 2.50")

-- Errors: missing arguments, bad values and invalid specifications.
assert(errmsg(function() return string.format("%d") end) == "string_format.lua:222: bad argument #2 to 'format' (no value)")
assert(errmsg(function() return string.format("%d %d", 1) end) == "string_format.lua:223: bad argument #3 to 'format' (no value)")
assert(errmsg(function() return string.format("%s") end) == "string_format.lua:224: bad argument #2 to 'format' (no value)")
assert(errmsg(function() return string.format("%") end) == "string_format.lua:225: bad argument #2 to 'format' (no value)")
assert(errmsg(function() return string.format() end) == "string_format.lua:226: bad argument #1 to 'format' (string expected, got no value)")
assert(errmsg(function() return string.format({}) end) == "string_format.lua:227: bad argument #1 to 'format' (string expected, got table)")
assert(errmsg(function() return string.format("%d", 1.5) end) == "string_format.lua:228: bad argument #2 to 'format' (number has no integer representation)")
assert(errmsg(function() return string.format("%x", 2^63) end) == "string_format.lua:229: bad argument #2 to 'format' (number has no integer representation)")
assert(errmsg(function() return string.format("%d", "1.5") end) == "string_format.lua:230: bad argument #2 to 'format' (number has no integer representation)")
assert(errmsg(function() return string.format("%d", "x") end) == "string_format.lua:231: bad argument #2 to 'format' (number expected, got string)")
assert(errmsg(function() return string.format("%c", {}) end) == "string_format.lua:232: bad argument #2 to 'format' (number expected, got table)")
assert(errmsg(function() return string.format("%f", nil) end) == "string_format.lua:233: bad argument #2 to 'format' (number expected, got nil)")
assert(errmsg(function() return string.format("%a", true) end) == "string_format.lua:234: bad argument #2 to 'format' (number expected, got boolean)")
assert(errmsg(function() return string.format("%d %s %g", 1, 2, "z") end) == "string_format.lua:235: bad argument #4 to 'format' (number expected, got string)")
assert(errmsg(function() return string.format("%q", {}) end) == "string_format.lua:236: bad argument #2 to 'format' (value has no literal form)")
assert(errmsg(function() return string.format("%q", print) end) == "string_format.lua:237: bad argument #2 to 'format' (value has no literal form)")
assert(errmsg(function() return string.format("%5q", "x") end) == "string_format.lua:238: specifier '%q' cannot have modifiers")
assert(errmsg(function() return string.format("%-q", "x") end) == "string_format.lua:239: specifier '%q' cannot have modifiers")
assert(errmsg(function() return string.format("%10s", "a\0b") end) == "string_format.lua:240: bad argument #2 to 'format' (string contains zeros)")
assert(errmsg(function() return string.format("%y", 1) end) == "string_format.lua:241: invalid conversion '%y' to 'format'")
assert(errmsg(function() return string.format("%F", 1) end) == "string_format.lua:242: invalid conversion '%F' to 'format'")
assert(errmsg(function() return string.format("%lld", 1) end) == "string_format.lua:243: invalid conversion '%l' to 'format'")
assert(errmsg(function() return string.format("%10.3n", 1) end) == "string_format.lua:244: invalid conversion '%10.3n' to 'format'")
assert(errmsg(function() return string.format("%", 1) end) == "string_format.lua:245: invalid conversion '%' to 'format'")
assert(errmsg(function() return string.format("%5", 1) end) == "string_format.lua:246: invalid conversion '%5' to 'format'")
assert(errmsg(function() return string.format("%5.", 1) end) == "string_format.lua:247: invalid conversion '%5.' to 'format'")
assert(errmsg(function() return string.format("%\0d", 1) end) == "string_format.lua:248: invalid conversion '%' to 'format'")
assert(errmsg(function() return string.format("%123d", 1) end) == "string_format.lua:249: invalid conversion specification: '%123d'")
assert(errmsg(function() return string.format("%.123f", 1) end) == "string_format.lua:250: invalid conversion specification: '%.123f'")
assert(errmsg(function() return string.format("%0100d", 1) end) == "string_format.lua:251: invalid conversion specification: '%0100d'")
assert(errmsg(function() return string.format("%100s", "x") end) == "string_format.lua:252: invalid conversion specification: '%100s'")
assert(errmsg(function() return string.format("%#d", 1) end) == "string_format.lua:253: invalid conversion specification: '%#d'")
assert(errmsg(function() return string.format("%+x", 1) end) == "string_format.lua:254: invalid conversion specification: '%+x'")
assert(errmsg(function() return string.format("% u", 1) end) == "string_format.lua:255: invalid conversion specification: '% u'")
assert(errmsg(function() return string.format("%05c", 65) end) == "string_format.lua:256: invalid conversion specification: '%05c'")
assert(errmsg(function() return string.format("%.3c", 65) end) == "string_format.lua:257: invalid conversion specification: '%.3c'")
assert(errmsg(function() return string.format("%05s", "x") end) == "string_format.lua:258: invalid conversion specification: '%05s'")
assert(errmsg(function() return string.format("%#s", "x") end) == "string_format.lua:259: invalid conversion specification: '%#s'")
assert(errmsg(function() return string.format("%.3p", {}) end) == "string_format.lua:260: invalid conversion specification: '%.3p'")
assert(errmsg(function() return string.format("%5.3.2f", 1) end) == "string_format.lua:261: invalid conversion specification: '%5.3.2f'")
assert(errmsg(function() return string.format("%0000000000000000000000d", 1) end) == "string_format.lua:262: invalid format (too long)")
assert(errmsg(function() return string.format("%---------------------d", 1) end) == "string_format.lua:263: invalid format (too long)")
assert(fmt("%--------------------d", 1) == "1")  -- one character shorter is fine
-- The value is checked before the specification for %d and %f, after it
-- for %c and %a.
assert(errmsg(function() return string.format("%#d", 1.5) end) == "string_format.lua:267: bad argument #2 to 'format' (number has no integer representation)")
assert(errmsg(function() return string.format("%#123f", "x") end) == "string_format.lua:268: bad argument #2 to 'format' (number expected, got string)")
assert(errmsg(function() return string.format("%05c", "x") end) == "string_format.lua:269: invalid conversion specification: '%05c'")
assert(errmsg(function() return string.format("%123a", "x") end) == "string_format.lua:270: invalid conversion specification: '%123a'")
-- Method calls do not count the receiver.
assert(errmsg(function() return ("%d"):format("x") end) == "string_format.lua:272: bad argument #1 to 'format' (number expected, got string)")
-- Errors raised by __tostring propagate.
local bad = setmetatable({}, {__tostring = function() return {} end})
assert(errmsg(function() return string.format("%s", bad) end) == "string_format.lua:275: '__tostring' must return a string")
local thrower = setmetatable({}, {__tostring = function() error("boom", 0) end})
assert(errmsg(function() return string.format("%s", thrower) end) == "boom")
-- A number returned by __tostring is converted.
local num = setmetatable({}, {__tostring = function() return 42 end})
assert(fmt("%s|%5s|%.1s", num, num, num) == "42|   42|4")

print("ok string_format")
