-- string.pack, string.unpack and string.packsize: every option of Lua 5.4
-- (< > = !n b B h H i[n] I[n] l L j J T f d n s[n] z x X c[n] and spaces),
-- sizes 1..16, alignment, overflow checks, positions, and every error.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local pack, unpack, packsize = string.pack, string.unpack, string.packsize
local maxi, mini = 9223372036854775807, -9223372036854775807 - 1

-- `n` copies of `s` (without string.rep, to test pack alone).
local function rep(s, n)
  local r = ""
  for _ = 1, n do r = r .. s end
  return r
end

-- Fixed-size integers, both byte orders.
assert(pack("<i4", 1) == "\1\0\0\0")
assert(pack(">i4", 1) == "\0\0\0\1")
assert(pack("<i4", -2) == "\254\255\255\255")
assert(pack("b", -1) == "\255")
assert(pack("B", 255) == "\255")
assert(pack("<h", 0x1234) == "\52\18")
assert(pack(">H", 0xfffe) == "\255\254")
assert(pack("<l", -1) == "\255\255\255\255\255\255\255\255")
assert(pack("<j", mini) == "\0\0\0\0\0\0\0\128")
assert(pack(">J", -1) == "\255\255\255\255\255\255\255\255")
assert(pack("<T", 258) == "\2\1\0\0\0\0\0\0")
assert(pack("<i3", -8388608) == "\0\0\128")
assert(pack(">I3", 0x010203) == "\1\2\3")
assert(pack("=i4", 1) == pack("<i4", 1))     -- x86-64 is little-endian
assert(pack("i", 7) == pack("<i4", 7))       -- native int: 4 bytes
assert(pack("<i2 >i2 <i2", 1, 1, 1) == "\1\0\0\1\1\0")
-- Integers wider than a Lua integer are sign-extended.
assert(pack("<i16", -1) == "\255\255\255\255\255\255\255\255\255\255\255\255\255\255\255\255")
assert(pack("<i9", 1) == "\1\0\0\0\0\0\0\0\0")
assert(pack(">i12", -2) == "\255\255\255\255\255\255\255\255\255\255\255\254")
assert(pack("<I10", -1) == "\255\255\255\255\255\255\255\255\0\0")
-- Integral floats and numeric strings are accepted.
assert(pack("<i2", 3.0) == "\3\0")
assert(pack("<i2", "0x10") == "\16\0")

-- Round trips and the next position.
local a, b = unpack("<i4", "\1\0\0\0")
assert(a == 1 and b == 5)
assert(unpack(">i4", "\255\255\255\254") == -2)
assert(unpack("<I4", "\255\255\255\255") == 4294967295)
assert(unpack("b", "\128") == -128)
assert(unpack("B", "\128") == 128)
assert(unpack("<h", "\0\128") == -32768)
assert(unpack("<H", "\0\128") == 32768)
assert(unpack("<j", pack("<j", maxi)) == maxi)
assert(unpack("<j", pack("<j", mini)) == mini)
assert(unpack("<J", pack("<J", -1)) == -1)
assert(unpack("<i16", pack("<i16", mini)) == mini)
assert(unpack(">i16", pack(">i16", maxi)) == maxi)
assert(unpack("<I9", "\255\255\255\255\255\255\255\255\0") == -1)
assert(unpack("<i9", "\0\0\0\0\0\0\0\128\255") == mini)
assert(unpack("<i3", pack("<i3", -5)) == -5)
assert(unpack("<I7", pack("<I7", 72057594037927935)) == 72057594037927935)
for size = 1, 16 do
  local lim = size < 8 and (1 << (size * 8 - 1)) - 1 or maxi
  local v, n = unpack("<i" .. size, pack("<i" .. size, -lim))
  assert(v == -lim and n == size + 1)
  assert(unpack(">I" .. size, pack(">I" .. size, lim)) == lim)
end
local x, y, z, nxt = unpack("<b h i4", pack("<b h i4", 1, 2, 3))
assert(x == 1 and y == 2 and z == 3 and nxt == 8)
assert(select("#", unpack("<i1i1i1", "\1\2\3")) == 4)

-- Floats: f is single precision, d and n double.
assert(pack("<d", 1.5) == "\0\0\0\0\0\0\248\63")
assert(pack(">f", 1.5) == "\63\192\0\0")
assert(pack("<n", -0.0) == "\0\0\0\0\0\0\0\128")
assert(unpack("<d", pack("<d", 0.1)) == 0.1)
assert(unpack(">n", pack(">n", -1e300)) == -1e300)
assert(unpack("<f", pack("<f", 0.1)) ~= 0.1)        -- rounded to single
assert(unpack("<f", pack("<f", 0.5)) == 0.5)
assert(unpack("<f", pack("<f", 1e300)) == 1/0)     -- out of float range
assert(unpack("<d", pack("<d", -1/0)) == -1/0)
local nan = unpack("<d", pack("<d", 0/0))
assert(nan ~= nan)
assert(tostring(unpack("<d", pack("<d", 3))) == "3.0")
assert(unpack("<d", pack("<d", "2.5")) == 2.5)

-- Strings: fixed size (c), length-prefixed (s), zero-terminated (z).
assert(pack("c5", "abc") == "abc\0\0")
assert(pack("c3", "abc") == "abc")
assert(pack("c0", "") == "")
assert(pack("c2", 12) == "12")
assert(unpack("c3", "abcdef") == "abc")
assert(select(2, unpack("c3", "abcdef")) == 4)
assert(unpack("c0", "abc") == "")
assert(pack("<s1", "hi") == "\2hi")
assert(pack(">s2", "hi") == "\0\2hi")
assert(pack("<s", "hi") == "\2\0\0\0\0\0\0\0hi")
assert(pack("<s16", "") == "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")
local s, p = unpack("<s1", "\3abcd")
assert(s == "abc" and p == 5)
assert(unpack("<s4", pack("<s4", "a\0b")) == "a\0b")
assert(pack("z", "abc") == "abc\0")
local z1, z2, zp = unpack("zz", "ab\0cd\0e")
assert(z1 == "ab" and z2 == "cd" and zp == 7)
assert(unpack("z", "\0") == "")
assert(pack("s1", 1.5) == "\0031.5")

-- Padding (x), spaces, and a format ending at its first zero byte.
assert(pack("b x b", 1, 2) == "\1\0\2")
assert(pack("xx") == "\0\0")
assert(packsize("x x") == 2)
assert(pack("<i2\0i2", 1, 2) == "\1\0")
local u1, u2 = unpack("b x b", "\1\0\2")
assert(u1 == 1 and u2 == 2)
assert(select("#", unpack("xx", "ab")) == 1)

-- Alignment: ! sets the maximum (default 1: none; ! alone is 8), X
-- aligns to the size of the next option.
assert(pack("!4 b i4", 1, 2) == "\1\0\0\0\2\0\0\0")
assert(pack("<!2 b i8", 1, 2) == "\1\0\2\0\0\0\0\0\0\0")
assert(pack("! b d", 1, 0) == "\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")
assert(pack("b i4", 1, 2) == "\1\2\0\0\0")            -- no alignment by default
assert(pack("!4 b Xi4 b", 1, 2) == "\1\0\0\0\2")
assert(pack("!8 b Xh", 1) == "\1\0")
assert(pack("!8 b Xi16", 1) == "\1\0\0\0\0\0\0\0")   -- capped by !8
assert(pack("b Xi8", 1) == "\1")                      -- capped by the default 1
assert(pack("!4 c1 i4", "a", 2) == "a\0\0\0\2\0\0\0")
assert(pack("!4 c3 c1", "abc", "d") == "abcd")        -- c never aligns
assert(packsize("!4 b i4") == 8)
assert(packsize("!8 b Xi16") == 8)
assert(packsize("!16 b i16") == 32)
assert(packsize("!2 b i3") == 5)                      -- i3 aligns to the cap, 2
assert(packsize("Xi4") == 0)
local al1, al2, alp = unpack("!4 b i4", pack("!4 b i4", -1, -2))
assert(al1 == -1 and al2 == -2 and alp == 9)
-- Alignment in unpack counts from the start of the data, not the position.
local v3, p3 = unpack("!4 i4", "xx\0\0\7\0\0\0", 2)
assert(v3 == 7 and p3 == 9)

-- packsize of fixed formats.
assert(packsize("") == 0)
assert(packsize("b") == 1)
assert(packsize("h") == 2)
assert(packsize("i") == 4)
assert(packsize("l j T") == 24)
assert(packsize("f d n") == 20)
assert(packsize("i1 i7 i16 I9") == 33)
assert(packsize("c100") == 100)
assert(packsize("c2147483000") == 2147483000)

-- unpack's initial position: negative counts from the end.
assert(unpack("B", "abc", 2) == 98)
assert(unpack("B", "abc", -1) == 99)
assert(unpack("B", "abc", -3) == 97)
assert(unpack("B", "abc", -10) == 97)                 -- clipped to 1
assert(unpack("B", "abc", 0) == 97)
assert(select(2, unpack("B", "abc", 3)) == 4)
assert(unpack("", "abc", 4) == 4)
assert(unpack("", "") == 1)
assert(unpack("i2", "\1\0") == 1)

-- Errors.
assert(errmsg(function() return string.pack("i17", 1) end) == "string_pack.lua:166: integral size (17) out of limits [1,16]")
assert(errmsg(function() return string.pack("i0", 1) end) == "string_pack.lua:167: integral size (0) out of limits [1,16]")
assert(errmsg(function() return string.pack("I99999999999", 1) end) == "string_pack.lua:168: integral size (999999999) out of limits [1,16]")
assert(errmsg(function() return string.packsize("!17") end) == "string_pack.lua:169: integral size (17) out of limits [1,16]")
assert(errmsg(function() return string.unpack("s0", "") end) == "string_pack.lua:170: integral size (0) out of limits [1,16]")
assert(errmsg(function() return string.pack("y", 1) end) == "string_pack.lua:171: invalid format option 'y'")
assert(errmsg(function() return string.packsize("i4 %") end) == "string_pack.lua:172: invalid format option '%'")
assert(errmsg(function() return string.pack("c", "") end) == "string_pack.lua:173: missing size for format option 'c'")
assert(errmsg(function() return string.pack("!3 i3", 1) end) == "string_pack.lua:174: bad argument #1 to 'pack' (format asks for alignment not power of 2)")
assert(errmsg(function() return string.unpack("!4 i3", "abc") end) == "string_pack.lua:175: bad argument #1 to 'unpack' (format asks for alignment not power of 2)")
assert(errmsg(function() return string.packsize("!8 b Xi6") end) == "string_pack.lua:176: bad argument #1 to 'packsize' (format asks for alignment not power of 2)")
assert(errmsg(function() return string.pack("X", 1) end) == "string_pack.lua:177: bad argument #1 to 'pack' (invalid next option for option 'X')")
assert(errmsg(function() return string.pack("Xc1", 1) end) == "string_pack.lua:178: bad argument #1 to 'pack' (invalid next option for option 'X')")
assert(errmsg(function() return string.packsize("b Xz") end) == "string_pack.lua:179: bad argument #1 to 'packsize' (invalid next option for option 'X')")
assert(errmsg(function() return string.packsize("b X<") end) == "string_pack.lua:180: bad argument #1 to 'packsize' (invalid next option for option 'X')")
assert(errmsg(function() return string.packsize("b XX") end) == "string_pack.lua:181: bad argument #1 to 'packsize' (invalid next option for option 'X')")
assert(errmsg(function() return string.unpack("X i4", "") end) == "string_pack.lua:182: bad argument #1 to 'unpack' (invalid next option for option 'X')")
assert(errmsg(function() return string.pack("i1", 128) end) == "string_pack.lua:183: bad argument #2 to 'pack' (integer overflow)")
assert(errmsg(function() return string.pack("i1", -129) end) == "string_pack.lua:184: bad argument #2 to 'pack' (integer overflow)")
assert(errmsg(function() return string.pack("b h", 1, 40000) end) == "string_pack.lua:185: bad argument #3 to 'pack' (integer overflow)")
assert(errmsg(function() return string.pack("i7", 1 << 55) end) == "string_pack.lua:186: bad argument #2 to 'pack' (integer overflow)")
assert(errmsg(function() return string.pack("B", 256) end) == "string_pack.lua:187: bad argument #2 to 'pack' (unsigned overflow)")
assert(errmsg(function() return string.pack("I2", -1) end) == "string_pack.lua:188: bad argument #2 to 'pack' (unsigned overflow)")
assert(errmsg(function() return string.pack("j", 1.5) end) == "string_pack.lua:189: bad argument #2 to 'pack' (number has no integer representation)")
assert(errmsg(function() return string.pack("i", "x") end) == "string_pack.lua:190: bad argument #2 to 'pack' (number expected, got string)")
assert(errmsg(function() return string.pack("d", {}) end) == "string_pack.lua:191: bad argument #2 to 'pack' (number expected, got table)")
assert(errmsg(function() return string.pack("z", {}) end) == "string_pack.lua:192: bad argument #2 to 'pack' (string expected, got table)")
-- A missing value reads as nil (PUC pushes one below its buffer).
assert(errmsg(function() return string.pack("i") end) == "string_pack.lua:194: bad argument #2 to 'pack' (number expected, got nil)")
assert(errmsg(function() return string.pack("i i i", 1) end) == "string_pack.lua:195: bad argument #3 to 'pack' (number expected, got nil)")
assert(errmsg(function() return string.pack("b s", 1) end) == "string_pack.lua:196: bad argument #3 to 'pack' (string expected, got nil)")
assert(errmsg(function() return string.pack("c2", "abc") end) == "string_pack.lua:197: bad argument #2 to 'pack' (string longer than given size)")
assert(errmsg(function() return string.pack("s1", rep("x", 256)) end) == "string_pack.lua:198: bad argument #2 to 'pack' (string length does not fit in given size)")
assert(errmsg(function() return string.pack("z", "a\0b") end) == "string_pack.lua:199: bad argument #2 to 'pack' (string contains zeros)")
assert(errmsg(function() return string.pack() end) == "string_pack.lua:200: bad argument #1 to 'pack' (string expected, got no value)")
assert(errmsg(function() return string.packsize("s") end) == "string_pack.lua:201: bad argument #1 to 'packsize' (variable-length format)")
assert(errmsg(function() return string.packsize("i4 z") end) == "string_pack.lua:202: bad argument #1 to 'packsize' (variable-length format)")
assert(errmsg(function() return string.packsize("c2000000000 c2000000000") end) == "string_pack.lua:203: bad argument #1 to 'packsize' (format result too large)")
assert(errmsg(function() return string.packsize({}) end) == "string_pack.lua:204: bad argument #1 to 'packsize' (string expected, got table)")
assert(errmsg(function() return string.unpack("i4", "abc") end) == "string_pack.lua:205: bad argument #2 to 'unpack' (data string too short)")
assert(errmsg(function() return string.unpack("!4 b i4", "\1\2\3\4\5") end) == "string_pack.lua:206: bad argument #2 to 'unpack' (data string too short)")
assert(errmsg(function() return string.unpack("c4", "abc") end) == "string_pack.lua:207: bad argument #2 to 'unpack' (data string too short)")
assert(errmsg(function() return string.unpack("s1", "\5abc") end) == "string_pack.lua:208: bad argument #2 to 'unpack' (data string too short)")
assert(errmsg(function() return string.unpack("i4", "abcd", 2) end) == "string_pack.lua:209: bad argument #2 to 'unpack' (data string too short)")
assert(errmsg(function() return string.unpack("z", "abc") end) == "string_pack.lua:210: bad argument #2 to 'unpack' (unfinished string for format 'z')")
assert(errmsg(function() return string.unpack("z", "") end) == "string_pack.lua:211: bad argument #2 to 'unpack' (unfinished string for format 'z')")
assert(errmsg(function() return string.unpack("i4", "abcd", 6) end) == "string_pack.lua:212: bad argument #3 to 'unpack' (initial position out of string)")
assert(errmsg(function() return string.unpack("i4", "abcd", 1.5) end) == "string_pack.lua:213: bad argument #3 to 'unpack' (number has no integer representation)")
assert(errmsg(function() return string.unpack("i4") end) == "string_pack.lua:214: bad argument #2 to 'unpack' (string expected, got no value)")
assert(errmsg(function() return string.unpack("i9", "\0\0\0\0\0\0\0\128\0") end) == "string_pack.lua:215: 9-byte integer does not fit into Lua Integer")
assert(errmsg(function() return string.unpack("<I9", "\0\0\0\0\0\0\0\0\1") end) == "string_pack.lua:216: 9-byte integer does not fit into Lua Integer")
assert(unpack(">i16", pack(">i16", -1)) == -1)
-- Method syntax on the format string does not count it.
assert(errmsg(function() return ("i1"):pack(300) end) == "string_pack.lua:219: bad argument #1 to 'pack' (integer overflow)")

print("ok string_pack")
