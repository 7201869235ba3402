-- The utf8 library: charpattern, char (up to 6-byte sequences), codepoint,
-- len and codes in strict and lax modes (surrogates, code points past
-- U+10FFFF, overlong and truncated sequences), offset in every direction,
-- 5.4.4's iterator skipping stray continuation bytes, and every argument
-- error with its full message.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- Joins values with spaces (no string library here).
local function join(...)
  local s = ""
  for i = 1, select("#", ...) do
    s = s .. (i > 1 and " " or "") .. tostring((select(i, ...)))
  end
  return s
end

-- charpattern: one UTF-8 sequence.
assert(utf8.charpattern == "[\0-\x7F\xC2-\xFD][\x80-\xBF]*" and #utf8.charpattern == 14)

-- utf8.char: 1 to 6 bytes, as the "\u{...}" escape encodes.
assert(utf8.char() == "" and utf8.char(0) == "\0" and utf8.char(72, 105) == "Hi")
assert(utf8.char(0x7F) == "\x7F" and utf8.char(0x80) == "\xC2\x80")
assert(utf8.char(0x7FF) == "\xDF\xBF" and utf8.char(0x800) == "\xE0\xA0\x80")
assert(utf8.char(0xFFFF) == "\xEF\xBF\xBF" and utf8.char(0x10000) == "\xF0\x90\x80\x80")
assert(utf8.char(0x10FFFF) == "\xF4\x8F\xBF\xBF" and utf8.char(0xD800) == "\xED\xA0\x80")
assert(utf8.char(0x1FFFFF) == "\xF7\xBF\xBF\xBF" and utf8.char(0x200000) == "\xF8\x88\x80\x80\x80")
assert(utf8.char(0x3FFFFFF) == "\xFB\xBF\xBF\xBF\xBF" and utf8.char(0x4000000) == "\xFC\x84\x80\x80\x80\x80")
assert(utf8.char(0x7FFFFFFF) == "\xFD\xBF\xBF\xBF\xBF\xBF" and utf8.char(0x7FFFFFFF) == "\u{7FFFFFFF}")
assert(utf8.char(72, 233, 0x4E2D, 0x1F600) == "H\u{E9}\u{4E2D}\u{1F600}")
assert(utf8.char("65", 66.0) == "AB")
assert(errmsg(utf8.char, -1) == "bad argument #1 to 'utf8.char' (value out of range)")
assert(errmsg(utf8.char, 65, 0x80000000) == "bad argument #2 to 'utf8.char' (value out of range)")
assert(errmsg(utf8.char, math.mininteger) == "bad argument #1 to 'utf8.char' (value out of range)")
assert(errmsg(utf8.char, 1, 2.5) == "bad argument #2 to 'utf8.char' (number has no integer representation)")
assert(errmsg(utf8.char, "x") == "bad argument #1 to 'utf8.char' (number expected, got string)")
assert(errmsg(function() local s = utf8.char(65, -1) end) == "utf8_lib.lua:41: bad argument #2 to 'char' (value out of range)")

-- utf8.codepoint(s, i = 1, j = i, lax)
local s = "h\u{E9}llo"  -- bytes: h C3 A9 l l o
assert(#s == 6 and utf8.codepoint(s) == 104 and utf8.codepoint(s, 2) == 233)
assert(join(utf8.codepoint(s, 1, -1)) == "104 233 108 108 111")
assert(join(utf8.codepoint(s, -2, -1)) == "108 111" and utf8.codepoint(s, -1) == 111)
assert(select("#", utf8.codepoint(s, 3, 2)) == 0 and select("#", utf8.codepoint("", 1, 0)) == 0)
-- A character starting inside the range is decoded whole.
assert(utf8.codepoint(s, 2, 2) == 233 and join(utf8.codepoint(s, 1, 2)) == "104 233")
assert(utf8.codepoint(12) == 49 and utf8.codepoint("\0") == 0)
assert(join(utf8.codepoint("\u{7FF}\u{FFFF}\u{10FFFF}", 1, -1)) == "2047 65535 1114111")
assert(errmsg(utf8.codepoint, s, 3) == "invalid UTF-8 code")
assert(errmsg(function() local c = utf8.codepoint(s, 3) end) == "utf8_lib.lua:54: invalid UTF-8 code")
-- Strict mode refuses surrogates and code points past U+10FFFF; lax accepts them.
assert(errmsg(utf8.codepoint, "\u{D800}") == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "\u{110000}") == "invalid UTF-8 code")
assert(utf8.codepoint("\u{D800}", 1, 1, true) == 0xD800 and utf8.codepoint("\u{DFFF}", 1, 1, true) == 0xDFFF)
assert(utf8.codepoint("\u{110000}", 1, 1, true) == 0x110000)
assert(utf8.codepoint("\u{7FFFFFFF}", 1, -1, true) == 0x7FFFFFFF)
-- Never valid: overlong forms, lone continuation bytes, truncated sequences, FE/FF.
assert(errmsg(utf8.codepoint, "\xC0\x80", 1, 1, true) == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "\xE0\x80\x80", 1, 1, true) == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "\x80", 1, 1, true) == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "\xE4\xB8", 1, 1, true) == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "\xFE\x80\x80\x80\x80\x80\x80", 1, 1, true) == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "\xFF", 1, 1, true) == "invalid UTF-8 code")
assert(errmsg(utf8.codepoint, "abc", 0) == "bad argument #2 to 'utf8.codepoint' (out of bounds)")
assert(errmsg(utf8.codepoint, "abc", -5) == "bad argument #2 to 'utf8.codepoint' (out of bounds)")
assert(errmsg(utf8.codepoint, "abc", 1, 4) == "bad argument #3 to 'utf8.codepoint' (out of bounds)")
assert(errmsg(utf8.codepoint, "abc", 4) == "bad argument #3 to 'utf8.codepoint' (out of bounds)")
assert(errmsg(utf8.codepoint, "") == "bad argument #3 to 'utf8.codepoint' (out of bounds)")
assert(errmsg(utf8.codepoint, "abc", 1.5) == "bad argument #2 to 'utf8.codepoint' (number has no integer representation)")
assert(errmsg(utf8.codepoint, {}) == "bad argument #1 to 'utf8.codepoint' (string expected, got table)")
assert(errmsg(function() utf8.codepoint("abc", "x") end) == "utf8_lib.lua:75: bad argument #2 to 'codepoint' (number expected, got string)")
-- One result per character: a slice longer than the stack can hold is refused.
local kilo = "a"
for _ = 1, 10 do kilo = kilo .. kilo end
assert(select("#", utf8.codepoint(kilo, 1, -1)) == 1024)
local mega = kilo
for _ = 1, 10 do mega = mega .. mega end
assert(errmsg(utf8.codepoint, mega, 1, -1) == "stack overflow (string slice too long)")

-- utf8.len(s, i = 1, j = -1, lax): characters starting in [i, j].
assert(utf8.len(s) == 5 and utf8.len("") == 0 and utf8.len(kilo) == 1024)
assert(utf8.len(s, 2) == 4 and utf8.len(s, 4) == 3 and utf8.len(s, 7) == 0)
assert(utf8.len(s, 1, 2) == 2 and utf8.len(s, 1, -2) == 4 and utf8.len(s, 2, 1) == 0)
assert(utf8.len(s, -1) == 1 and utf8.len("abc", 1, -4) == 0 and utf8.len(123) == 3)
assert(join(utf8.len(s, 3)) == "nil 3" and join(utf8.len("h\xFFllo")) == "nil 2")
assert(join(utf8.len("ab\xE4\xB8")) == "nil 3" and join(utf8.len("\xC0\x80", 1, -1, true)) == "nil 1")
assert(join(utf8.len("\u{D800}")) == "nil 1" and utf8.len("\u{D800}", 1, -1, true) == 1)
assert(join(utf8.len("a\u{110000}")) == "nil 2" and utf8.len("a\u{7FFFFFFF}", 1, -1, true) == 2)
assert(errmsg(utf8.len, "abc", 5) == "bad argument #2 to 'utf8.len' (initial position out of bounds)")
assert(errmsg(utf8.len, "abc", 0) == "bad argument #2 to 'utf8.len' (initial position out of bounds)")
assert(errmsg(utf8.len, "abc", -10) == "bad argument #2 to 'utf8.len' (initial position out of bounds)")
assert(errmsg(utf8.len, "abc", 1, 4) == "bad argument #3 to 'utf8.len' (final position out of bounds)")
assert(errmsg(utf8.len) == "bad argument #1 to 'utf8.len' (string expected, got no value)")
assert(errmsg(function() local n = utf8.len("abc", 9) end) == "utf8_lib.lua:98: bad argument #2 to 'len' (initial position out of bounds)")

-- utf8.offset(s, n, i): where the n-th character from position i starts.
assert(utf8.offset(s, 1) == 1 and utf8.offset(s, 2) == 2 and utf8.offset(s, 3) == 4)
assert(utf8.offset(s, 5) == 6 and utf8.offset(s, 6) == 7 and utf8.offset(s, 7) == nil)
assert(utf8.offset(s, -1) == 6 and utf8.offset(s, -4) == 2 and utf8.offset(s, -5) == 1)
assert(utf8.offset(s, -6) == nil and select("#", utf8.offset(s, -6)) == 1)
assert(utf8.offset(s, 0, 3) == 2 and utf8.offset(s, 0, 2) == 2 and utf8.offset(s, 0, 7) == 7)
assert(utf8.offset(s, 2, 2) == 4 and utf8.offset(s, -1, 4) == 2 and utf8.offset(s, 1, -1) == 6)
assert(utf8.offset(s, -1, 1) == nil and utf8.offset(s, 1, 7) == 7)
assert(utf8.offset("", 0) == 1 and utf8.offset("", 1) == 1 and utf8.offset("", -1) == nil)
assert(select("#", utf8.offset(s, 1)) == 1)
assert(errmsg(utf8.offset, s, 1, 3) == "initial position is a continuation byte")
assert(errmsg(function() local p = utf8.offset(s, -1, 3) end) == "utf8_lib.lua:111: initial position is a continuation byte")
assert(errmsg(utf8.offset, s, 1, 8) == "bad argument #3 to 'utf8.offset' (position out of bounds)")
assert(errmsg(utf8.offset, s, 1, 0) == "bad argument #3 to 'utf8.offset' (position out of bounds)")
assert(errmsg(utf8.offset, s) == "bad argument #2 to 'utf8.offset' (number expected, got no value)")
assert(errmsg(utf8.offset, s, 1.5) == "bad argument #2 to 'utf8.offset' (number has no integer representation)")

-- utf8.codes(s, lax): positions and code points.
local out = ""
for p, c in utf8.codes(s) do out = out .. p .. ":" .. c .. " " end
assert(out == "1:104 2:233 4:108 5:108 6:111 ")
local count = 0
for _ in utf8.codes("") do count = count + 1 end
assert(count == 0)
out = ""
for p, c in utf8.codes("\u{D800}\u{7FFFFFFF}", true) do out = out .. p .. ":" .. c .. " " end
assert(out == "1:55296 4:2147483647 ")
-- Stray continuation bytes: Lua 5.4.6 refuses them, as this VM does; 5.4.4
-- (lua5.4 here) skips them after (or before) a character.
if pcall(function() for _ in utf8.codes("a\x80") do end end) then
  out = ""
  for p, c in utf8.codes("\x80a\xC3\xA9\x80\x80b") do out = out .. p .. ":" .. c .. " " end
  assert(out == "2:97 3:233 7:98 ")
else
  out = ""
  local ok, msg = pcall(function()
    for p, c in utf8.codes("a\xC3\xA9\x80b") do out = out .. p .. ":" .. c .. " " end
  end)
  assert(not ok and msg:find(":%d+: invalid UTF%-8 code$") and out == "1:97 ")
  assert(errmsg(utf8.codes, "\x80a") == "bad argument #1 to 'utf8.codes' (invalid UTF-8 code)")
  assert(errmsg(utf8.codes, "\x80a", true) == "bad argument #1 to 'utf8.codes' (invalid UTF-8 code)")
  assert(not pcall(function() for _ in utf8.codes("in\x80valid", true) do end end))
end
assert(errmsg(function() for _ in utf8.codes("ab\xFF") do end end) == "utf8_lib.lua:143: invalid UTF-8 code")
assert(errmsg(function() for _ in utf8.codes("\u{D800}") do end end) == "utf8_lib.lua:144: invalid UTF-8 code")
-- The iterator triple; the same iterator function every time.
local f, str, ctl = utf8.codes(5)
assert(str == "5" and ctl == 0 and select("#", utf8.codes("a")) == 3)
assert(utf8.codes("a") == utf8.codes("b") and utf8.codes("a") ~= utf8.codes("a", true))
assert(join(f("abc", 0)) == "1 97" and join(f("abc", 1)) == "2 98" and select("#", f("abc", 3)) == 0)
assert(join(f(s, 2)) == "4 108" and select("#", f("abc", -1)) == 0 and join(f("abc", "1")) == "2 98")
assert(errmsg(f, {}, 0) == "bad argument #1 to '?' (string expected, got table)")
assert(errmsg(function() for _ in f, {}, 0 do end end) == "utf8_lib.lua:152: bad argument #1 to 'for iterator' (string expected, got table)")
assert(errmsg(utf8.codes) == "bad argument #1 to 'utf8.codes' (string expected, got no value)")
assert(errmsg(function() utf8.codes(true) end) == "utf8_lib.lua:154: bad argument #1 to 'codes' (string expected, got boolean)")

-- Round trips through char, codepoint, len and codes.
local cps = {0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF}
local text = ""
for _, c in ipairs(cps) do text = text .. utf8.char(c) end
assert(utf8.len(text) == #cps)
local back = {utf8.codepoint(text, 1, -1)}
local same = #back == #cps
for i = 1, #cps do same = same and back[i] == cps[i] end
assert(same)
local i = 0
same = true
for p, c in utf8.codes(text) do
  i = i + 1
  same = same and c == cps[i] and utf8.offset(text, i) == p
end
assert(same and i == #cps)

print("ok utf8_lib")
