-- The string library: byte, char, find, gmatch, gsub, len, lower, match,
-- rep, reverse, sub, upper; Lua patterns (classes, sets, quantifiers,
-- anchors, captures, back-references, %b, %f) and their errors; method
-- calls through the string metatable; the arithmetic metamethods of strings.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- Every result of a call, joined with "," (nil and numbers through tostring).
local function all(...)
  local s = ""
  for i = 1, select("#", ...) do
    s = s .. (i > 1 and "," or "") .. tostring((select(i, ...)))
  end
  return s
end

-- len, sub, reverse, lower, upper, rep
assert(string.len("") == 0 and string.len("abc") == 3 and string.len("a\0b") == 3)
assert(#"\0\0\0" == string.len("\0\0\0"))
assert(string.len(123) == 3 and string.len(-1.5) == 4)
assert(string.sub("hello", 2) == "ello")
assert(string.sub("hello", 2, 4) == "ell")
assert(string.sub("hello", -3) == "llo")
assert(string.sub("hello", -3, -2) == "ll")
assert(string.sub("hello", 0) == "hello")
assert(string.sub("hello", -100) == "hello")
assert(string.sub("hello", 3, 100) == "llo")
assert(string.sub("hello", 10) == "")
assert(string.sub("hello", 3, 2) == "")
assert(string.sub("hello", 1, 0) == "")
assert(string.sub("hello", 1, -6) == "")
assert(string.sub("hello", -100, 100) == "hello")
assert(string.sub("hello", math == nil and 1 or 1, -1) == "hello")
assert(string.sub("", 1, 1) == "" and string.sub("", -1) == "")
assert(string.sub("hello", "2", "3") == "el")
assert(string.sub("hello", 2.0, 3.0) == "el")
assert(string.sub(12345, 2, 3) == "23")
assert(string.sub("hello", -9223372036854775807 - 1, 9223372036854775807) == "hello")
assert(string.sub("hello", 9223372036854775807) == "")
assert(string.sub("hello", 2, -9223372036854775807 - 1) == "")
assert(string.sub("a\0b\0c", 2, 4) == "\0b\0")
assert(string.reverse("") == "" and string.reverse("abc") == "cba")
assert(string.reverse("a\0b") == "b\0a" and string.reverse(123) == "321")
assert(string.lower("HeLLo 123 \xC9") == "hello 123 \xC9")
assert(string.upper("HeLLo 123 \xe9") == "HELLO 123 \xe9")
assert(string.upper("a\0b") == "A\0B" and string.lower(1e100) == "1e+100")
assert(string.rep("ab", 3) == "ababab")
assert(string.rep("ab", 3, ",") == "ab,ab,ab")
assert(string.rep("ab", 1, ",") == "ab")
assert(string.rep("ab", 0) == "" and string.rep("ab", -5, ",") == "")
assert(string.rep("", 5) == "" and string.rep("", 3, "-") == "--")
assert(string.rep("x", "3") == "xxx" and string.rep(7, 2) == "77")
assert(string.rep("x", 3.0) == "xxx")
assert(#string.rep("abc", 1000) == 3000)
assert(string.rep("\0", 2, "\0") == "\0\0\0")

-- byte and char
assert(string.byte("A") == 65)
assert(string.byte("hello", 2) == 101)
assert(all(string.byte("hello", 2, 4)) == "101,108,108")
assert(all(string.byte("hello", -2, -1)) == "108,111")
assert(all(string.byte("hello", 1, -1)) == "104,101,108,108,111")
assert(select("#", string.byte("hello", 10)) == 0)
assert(select("#", string.byte("")) == 0)
assert(select("#", string.byte("hello", 3, 2)) == 0)
assert(all(string.byte("hello", -100, 2)) == "104,101")
assert(all(string.byte("hello", 0)) == "")
assert(string.byte("\255") == 255 and string.byte("\0") == 0)
assert(select("#", string.byte(string.rep("x", 5000), 1, -1)) == 5000)
assert(string.char() == "")
assert(string.char(72, 105) == "Hi")
assert(string.char(0, 255) == "\0\255")
assert(string.char("65", 66.0) == "AB")
assert(string.char(string.byte("\1\2\3", 1, -1)) == "\1\2\3")

-- find: plain searches
assert(all(string.find("hello world", "o w")) == "5,7")
assert(all(string.find("hello", "l")) == "3,3")
assert(all(string.find("hello", "xyz")) == "nil")
assert(all(string.find("hello", "")) == "1,0")
assert(all(string.find("hello", "", 3)) == "3,2")
assert(all(string.find("hello", "", 6)) == "6,5")
assert(all(string.find("hello", "", 7)) == "nil")
assert(all(string.find("", "")) == "1,0")
assert(all(string.find("hello", "l", 4)) == "4,4")
assert(all(string.find("hello", "l", -2)) == "4,4")
assert(all(string.find("hello", "h", -100)) == "1,1")
assert(all(string.find("hello", "h", 100)) == "nil")
assert(all(string.find("a.b", ".", 1, true)) == "2,2")
assert(all(string.find("a+b", "+", 1, true)) == "2,2")
assert(all(string.find("a(b", "(", 1, true)) == "2,2")
assert(all(string.find("a%b", "%", 1, true)) == "2,2")
assert(all(string.find("x[y]", "[y]", 1, 1)) == "2,4")
assert(all(string.find("a.b", ".", 1, false)) == "1,1")
assert(all(string.find("a.b", ".", 1, nil)) == "1,1")
assert(all(string.find("a\0b\0c", "\0c")) == "4,5")
assert(all(string.find("aaab", "aab")) == "2,4")
assert(all(string.find(12345, 34)) == "3,4")
-- A pattern without special characters is searched for literally, even
-- with ')' or ']' (which are special only inside patterns).
assert(all(string.find("a)b", ")")) == "2,2")
assert(all(string.find("a]b", "]")) == "2,2")

-- find and match with patterns
assert(all(string.find("hello", "l+")) == "3,4")
assert(all(string.find("hello", "(l)(l)")) == "3,4,l,l")
assert(all(string.find("hello", "()ll()")) == "3,4,3,5")
assert(all(string.find("abc", "b", -1)) == "nil")
assert(all(string.find("abc", "^b")) == "nil")
assert(all(string.find("abc", "^b", 2)) == "2,2")
assert(all(string.find("abc", "c$")) == "3,3")
assert(all(string.find("a$c", "$c")) == "2,3")
assert(all(string.find("a^c", "a^")) == "1,2")
assert(string.match("hello", "l+") == "ll")
assert(string.match("hello", "xyz") == nil)
assert(all(string.match("key = value", "(%w+)%s*=%s*(%w+)")) == "key,value")
assert(all(string.match("abc", "()b()")) == "2,3")
assert(string.match("hello world", "%a+", 6) == "world")
assert(string.match("hello", ".", -1) == "o")
assert(string.match("hello", "", 10) == nil)
assert(string.match("hello", "()", 6) == 6)
assert(string.match("  trim me  ", "^%s*(.-)%s*$") == "trim me")
assert(string.match(9007199254740992, "%d+") == "9007199254740992")
assert(string.match(2^53, "[%d.]+") == "9.007199254741")

-- character classes (C locale) and their complements
assert(string.match("x1 y", "%a+") == "x")
assert(string.match("abc123", "%d+") == "123")
assert(string.match("abc123", "%D+") == "abc")
assert(string.match("a\tb", "%c") == "\t")
assert(string.match("\127", "%c") == "\127")
assert(string.match("ab CD", "%l+") == "ab" and string.match("ab CD", "%u+") == "CD")
assert(string.match("a, b!", "%p+") == ",")
assert(string.match("a \t\n\v\f\rb", "%s+") == " \t\n\v\f\r")
assert(string.match("a_1 b", "%w+") == "a" and string.match("_a1", "%w+") == "a1")
assert(string.match("zz0fFg", "%x+") == "0fF")
assert(string.match(" \1ab", "%g+") == "ab")
assert(string.match("ab  cd", "%S+", 3) == "cd")
assert(string.match("a\0b", "%z") == "\0")
assert(string.match("\200\255", "%A+") == "\200\255")
assert(string.match("é", "%a") == nil)
assert(string.match("a.b", "%.") == "." and string.match("a%b", "%%") == "%")
assert(string.match("x]", "%]") == "]")

-- sets
assert(string.match("hello", "[aeiou]+") == "e")
assert(string.match("hello", "[^aeiou]+") == "h")
assert(string.match("abcxyz", "[b-y]+") == "bcxy")
assert(string.match("a-z", "[a-]+") == "a-")
assert(string.match("-a", "[-a]+") == "-a")
assert(string.match("a]b", "[]]") == "]")
assert(string.match("]]a", "[^]]") == "a")
assert(string.match("ab12", "[%d]+") == "12")
assert(string.match("ab12.", "[%a%.]+") == "ab")
assert(string.match("a^b", "[b^]+") == "^b")
assert(string.match("%%x", "[%%]+") == "%%")
assert(string.match("x]y", "[%]]") == "]")
assert(string.match("AbC", "[%U]") == "b")
assert(string.match("\0\1", "[\0-\1]+") == "\0\1")
assert(string.match("\128\200", "[\128-\255]+") == "\128\200")

-- quantifiers
assert(string.match("aaa", "a*") == "aaa" and string.match("bbb", "a*") == "")
assert(string.match("aaab", "a+b") == "aaab" and string.match("b", "a+b") == nil)
assert(string.match("aaa", "a-") == "" and string.match("aaab", "a-b") == "aaab")
assert(string.match("<a><b>", "<.->") == "<a>" and string.match("<a><b>", "<.*>") == "<a><b>")
assert(string.match("ab", "a?b") == "ab" and string.match("b", "a?b") == "b")
assert(string.match("color colour", "colou?r", 2) == "colour")
assert(string.match("aaa", "^a-$") == "aaa")
assert(string.match("x*", "x%*") == "x*")
assert(string.match("ab", "%a+%d?") == "ab")
assert(string.match("abc", ".-$") == "abc")

-- captures, position captures, back-references
assert(all(string.match("2024-01-15", "(%d+)-(%d+)-(%d+)")) == "2024,01,15")
assert(all(string.match("abc", "((a)(b))")) == "ab,a,b")
assert(all(string.match("abc", "(a)()(c?)")) == "a,2,")
assert(all(string.match("", "()")) == "1")
assert(string.match('say "hi" now', '(["\'])(.-)%1') == '"')
assert(all(string.match('say "hi" now', '(["\'])(.-)%1')) == '",hi')
assert(string.match("abcabc", "(abc)%1") == "abc")
assert(string.match("abab", "^(ab)%1$") == "ab")
assert(string.match("aXbXc", "%a(X)%a%1%a") == "X")
assert(string.match("ab", "()a%1") == nil)
assert(string.match("[[x]]", "%[(%b[])%]") == "[x]")
assert(string.match("f(a(b)c) d", "%b()") == "(a(b)c)")
assert(string.match("f(a(b c", "%b()") == nil)
assert(string.match("x = {1, {2}}", "%b{}") == "{1, {2}}")
assert(string.match("aaa", "%baa") == "aa")
assert(string.match("THE (quick) fox", "%f[%a]%a+") == "THE")
assert(string.match("THE (quick) fox", "%f[%a]%a+", 5) == "quick")
assert(string.match("hello", "%f[%l]") == "")
assert(all(string.find("the cat", "%f[%w]%w+", 2)) == "5,7")
assert(all(string.find("abc", "%f[%z]")) == "4,3")
assert(all(string.find("THE end", "%f[%W]")) == "4,3")

-- gmatch
local words = ""
for w in string.gmatch("one two  three", "%a+") do words = words .. w .. ";" end
assert(words == "one;two;three;")
local pairs_found = ""
for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do pairs_found = pairs_found .. k .. v end
assert(pairs_found == "a1b2")
local count = 0
for _ in string.gmatch("abc", "") do count = count + 1 end
assert(count == 4)
local seen = ""
for a, b in ("abc"):gmatch("()(b*)") do seen = seen .. "[" .. a .. b .. "]" end
assert(seen == "[1][2b][4]")
seen = ""
for w in string.gmatch("one two three", "%a+", 5) do seen = seen .. w end
assert(seen == "twothree")
seen = ""
for w in string.gmatch("one two three", "%a+", -5) do seen = seen .. w end
assert(seen == "three")
seen = ""
for w in string.gmatch("^a^a", "^a") do seen = seen .. w end
assert(seen == "^a^a")
assert(string.gmatch("abc", ".", 10)() == nil)
assert(string.gmatch("abc", ".", 4)() == nil)
local it = string.gmatch("ab", ".")
assert(it() == "a" and it() == "b" and it() == nil and it() == nil)
seen = ""
for n in ("1,22,,333"):gmatch("%d*") do seen = seen .. "<" .. n .. ">" end
assert(seen == "<1><22><><333>")

-- gsub with a string replacement
assert(all(string.gsub("hello world", "o", "0")) == "hell0 w0rld,2")
assert(all(string.gsub("hello world", "(%w+)", "<%1>")) == "<hello> <world>,2")
assert(all(string.gsub("hello world", "%w+", "%0 %0", 1)) == "hello hello world,1")
assert(all(string.gsub("hello", "", "-")) == "-h-e-l-l-o-,6")
assert(all(string.gsub("abc", "b*", "X")) == "XaXcX,3")
assert(all(string.gsub("abc", "%w", "%%")) == "%%%,3")
assert(all(string.gsub("abc", "%w", "%1")) == "abc,3")
assert(all(string.gsub("abc", "()", "%1")) == "1a2b3c4,4")
assert(all(string.gsub("a b", "(%w) (%w)", "%2 %1")) == "b a,1")
assert(all(string.gsub("abc", "^a", "X")) == "Xbc,1")
assert(all(string.gsub("aaa", "^a", "X")) == "Xaa,1")
assert(all(string.gsub("aaa", "a", "b", 0)) == "aaa,0")
assert(all(string.gsub("aaa", "a", "b", -1)) == "aaa,0")
assert(all(string.gsub("aaa", "a", "b", 2)) == "bba,2")
assert(all(string.gsub("aaa", "a", "b", 2.0)) == "bba,2")
assert(all(string.gsub("abc", "x", "y")) == "abc,0")
assert(all(string.gsub("", "", "x")) == "x,1")
assert(all(string.gsub("abc", ".", 1)) == "111,3")
assert(all(string.gsub("abc", "b", 2.5)) == "a2.5c,1")
assert(all(string.gsub(123, 2, 0)) == "103,1")
assert(all(string.gsub("a.b.c", "%.", "/")) == "a/b/c,2")
assert(all(string.gsub("x\0y", "%z", "0")) == "x0y,1")

-- gsub with a table or a function
local map = {name = "Lua", version = 5.4}
assert(all(string.gsub("$name $version $none", "%$(%w+)", map)) == "Lua 5.4 $none,3")
assert(all(string.gsub("hello", ".", {h = "H", o = false})) == "Hello,5")
assert(all(string.gsub("abc", "()", {[1] = "one", [3] = 3})) == "oneab3c,4")
local proxy = setmetatable({}, {__index = function(_, k) return k:upper() end})
assert(all(string.gsub("ab", "%w", proxy)) == "AB,2")
assert(all(string.gsub("hello", "l", function(c) return c:upper() end)) == "heLLo,2")
assert(all(string.gsub("hello", ".", function(c) if c ~= "l" then return nil end return "L" end)) == "heLLo,5")
assert(all(string.gsub("abc", "%w", function() return false end)) == "abc,3")
assert(all(string.gsub("a=1 b=2", "(%w)=(%w)", function(k, v) return v .. k end)) == "1a 2b,2")
assert(all(string.gsub("abc", "()(.)", function(p, c) return p .. c end)) == "1a2b3c,3")
assert(all(string.gsub("abc", "b", function() return 42 end)) == "a42c,1")
assert(all(string.gsub("abc", "", function() end)) == "abc,4")
local calls = 0
assert(all(string.gsub("aaa", "a", function() calls = calls + 1 return "b" end, 2)) == "bba,2")
assert(calls == 2)
local args_seen
string.gsub("xy", "(x)(y)", function(...) args_seen = all(...) end)
assert(args_seen == "x,y")
string.gsub("xy", "xy", function(...) args_seen = all(...) end)
assert(args_seen == "xy")
-- An unchanged subject is returned as it was.
local s1 = "unchanged"
assert(string.gsub(s1, "z", "y") == s1)
-- A native function as the replacement.
assert(all(string.gsub("a b", "%a", string.upper)) == "A B,2")

-- method calls through the string metatable
local s = "hello"
assert(s:len() == 5 and s:upper() == "HELLO" and s:sub(2, 3) == "el")
assert(("x"):rep(3) == "xxx" and ("%d"):rep(2, "|") == "%d|%d")
assert(s:find("ll") == 3 and s:match("h(.)") == "e" and s:byte() == 104)
assert(all(s:gsub("l", "L")) == "heLLo,2")
assert(("abc"):reverse() == "cba" and ("ABC"):lower() == "abc")
assert(getmetatable("").__index == string)
assert(getmetatable("abc") == getmetatable(""))

-- arithmetic metamethods of strings
assert("10" + 1 == 11 and "3" * "4" == 12 and 10 - "2.5" == 7.5)
assert(math == nil or true)
assert(-"2" == -2 and "7" // "2" == 3 and "7" % "4" == 3)
assert("2" ^ "3" == 8.0 and "1" / "2" == 0.5)
assert(" 0x10 " + 0 == 16 and "1e1" * 1 == 10.0)
local mt = getmetatable("")
assert(mt.__add("10", 2) == 12 and mt.__sub("10", "2") == 8)
assert(mt.__mul("3", 3) == 9 and mt.__mod("7", "3") == 1)
assert(mt.__pow("2", 2) == 4.0 and mt.__div(1, "4") == 0.25)
assert(mt.__idiv("7", 2) == 3 and mt.__unm("3", "3") == -3)
assert(mt.__add("10") == 20)
assert(mt.__add("1", setmetatable({}, {__add = function(a, b) return "mt" end})) == "mt")
assert("a" .. 1 + 2 == "a3")
local vec = setmetatable({}, {__add = function(a, b) return "vec" end})
assert("abc" + vec == "vec" and vec + "abc" == "vec")

-- errors from the arithmetic metamethods
assert(errmsg(function() return "abc" + 1 end) == "string_lib.lua:311: attempt to add a 'string' with a 'number'")
assert(errmsg(function() return 1 - "abc" end) == "string_lib.lua:312: attempt to sub a 'number' with a 'string'")
assert(errmsg(function() return "a" * "b" end) == "string_lib.lua:313: attempt to mul a 'string' with a 'string'")
assert(errmsg(function() return "a" % {} end) == "string_lib.lua:314: attempt to mod a 'string' with a 'table'")
assert(errmsg(function() return {} ^ "a" end) == "string_lib.lua:315: attempt to pow a 'table' with a 'string'")
assert(errmsg(function() return "x" / true end) == "string_lib.lua:316: attempt to div a 'string' with a 'boolean'")
assert(errmsg(function() return "x" // 2 end) == "string_lib.lua:317: attempt to idiv a 'string' with a 'number'")
assert(errmsg(function() return -"x" end) == "string_lib.lua:318: attempt to unm a 'string' with a 'string'")
assert(errmsg(mt.__add, "a", {}) == "attempt to add a 'string' with a 'table'")
assert(errmsg(mt.__unm, "a") == "attempt to unm a 'string' with a 'nil'")
assert(errmsg(mt.__add) == "attempt to add a 'nil' with a 'nil'")
assert(errmsg(mt.__idiv, "1", "0") == "attempt to divide by zero")
assert(errmsg(mt.__mod, "1", 0) == "attempt to perform 'n%0'")

-- argument errors
assert(errmsg(string.rep) == "bad argument #1 to 'string.rep' (string expected, got no value)")
assert(errmsg(string.rep, "x") == "bad argument #2 to 'string.rep' (number expected, got no value)")
assert(errmsg(string.rep, "x", 1.5) == "bad argument #2 to 'string.rep' (number has no integer representation)")
assert(errmsg(string.rep, "x", 2, {}) == "bad argument #3 to 'string.rep' (string expected, got table)")
assert(errmsg(function() return string.rep({}) end) == "string_lib.lua:330: bad argument #1 to 'rep' (string expected, got table)")
assert(errmsg(function() return ("x"):rep({}) end) == "string_lib.lua:331: bad argument #1 to 'rep' (number expected, got table)")
local fake = setmetatable({}, {__index = string})
-- A bad receiver is reported as bad self, with what was expected.
assert(getmetatable(fake).__index == string)
assert(errmsg(function() return fake:rep(2) end) == "string_lib.lua:335: calling 'rep' on bad self (string expected, got table)")
assert(errmsg(function() return fake:upper() end) == "string_lib.lua:336: calling 'upper' on bad self (string expected, got table)")
assert(errmsg(string.sub, "x") == "bad argument #2 to 'string.sub' (number expected, got no value)")
assert(errmsg(string.sub, "x", "a") == "bad argument #2 to 'string.sub' (number expected, got string)")
assert(errmsg(string.byte, "x", 1, 2.5) == "bad argument #3 to 'string.byte' (number has no integer representation)")
assert(errmsg(string.len, nil) == "bad argument #1 to 'string.len' (string expected, got nil)")
assert(errmsg(string.upper, true) == "bad argument #1 to 'string.upper' (string expected, got boolean)")
assert(errmsg(string.find, "x", {}) == "bad argument #2 to 'string.find' (string expected, got table)")
assert(errmsg(string.find, "x", "x", "y") == "bad argument #3 to 'string.find' (number expected, got string)")
assert(errmsg(string.match, "x") == "bad argument #2 to 'string.match' (string expected, got no value)")
assert(errmsg(string.gmatch, "x") == "bad argument #2 to 'string.gmatch' (string expected, got no value)")
assert(errmsg(string.gsub, "abc", "b") == "bad argument #3 to 'string.gsub' (string/function/table expected, got no value)")
assert(errmsg(string.gsub, "abc", "b", true) == "bad argument #3 to 'string.gsub' (string/function/table expected, got boolean)")
assert(errmsg(string.gsub, "abc", "b", "x", "y") == "bad argument #4 to 'string.gsub' (number expected, got string)")
assert(errmsg(function() return ("abc"):gsub("b") end) == "string_lib.lua:349: bad argument #2 to 'gsub' (string/function/table expected, got no value)")
assert(errmsg(string.char, 256) == "bad argument #1 to 'string.char' (value out of range)")
assert(errmsg(string.char, 65, -1) == "bad argument #2 to 'string.char' (value out of range)")
assert(errmsg(string.char, 65, "x") == "bad argument #2 to 'string.char' (number expected, got string)")
assert(errmsg(function() return string.char(1, 2, 300) end) == "string_lib.lua:353: bad argument #3 to 'char' (value out of range)")

-- errors of rep and byte
assert(errmsg(string.rep, "x", 2^31) == "resulting string too large")
assert(errmsg(string.rep, "x", 2^30, "y") == "resulting string too large")
assert(errmsg(function() return string.rep("ab", 9223372036854775807) end) == "string_lib.lua:358: resulting string too large")
assert(errmsg(function() return string.rep("", 2^31, "ab") end) == "string_lib.lua:359: resulting string too large")
assert(string.rep("", 2^20) == "" and string.rep("", 3, "") == "")
assert(errmsg(string.byte, string.rep("x", 1000000), 1, -1) == "stack overflow (string slice too long)")

-- pattern errors, each raised at the caller's line
assert(errmsg(function() return string.find("a", "%") end) == "string_lib.lua:364: malformed pattern (ends with '%')")
assert(errmsg(string.match, "a", "a%") == "malformed pattern (ends with '%')")
assert(errmsg(function() return string.find("a", "[a") end) == "string_lib.lua:366: malformed pattern (missing ']')")
assert(errmsg(string.match, "a", "[^") == "malformed pattern (missing ']')")
assert(errmsg(string.match, "a", "[a%") == "malformed pattern (missing ']')")
assert(errmsg(string.match, "a", "[]") == "malformed pattern (missing ']')")
assert(errmsg(string.match, "a", "[%]") == "malformed pattern (missing ']')")
assert(errmsg(string.match, "a", "%b") == "malformed pattern (missing arguments to '%b')")
assert(errmsg(string.match, "a", "%ba") == "malformed pattern (missing arguments to '%b')")
assert(errmsg(function() return string.match("a", "%f") end) == "string_lib.lua:373: missing '[' after '%f' in pattern")
assert(errmsg(string.match, "a", "%fa") == "missing '[' after '%f' in pattern")
assert(errmsg(string.match, "a", "%f[a") == "malformed pattern (missing ']')")
assert(errmsg(function() return string.match("a", "%1") end) == "string_lib.lua:376: invalid capture index %1")
assert(errmsg(string.match, "a", "(%1)") == "invalid capture index %1")
assert(errmsg(string.match, "aa", "(a)%2") == "invalid capture index %2")
assert(errmsg(string.match, "a", "%0") == "invalid capture index %0")
assert(errmsg(function() return string.match("a)", "a)") end) == "string_lib.lua:380: invalid pattern capture")
assert(errmsg(string.find, "a", "())") == "invalid pattern capture")
assert(errmsg(function() return string.match("a", "(()") end) == "string_lib.lua:382: unfinished capture")
assert(errmsg(string.find, "a", "(") == "unfinished capture")
assert(errmsg(string.gsub, "a", "(", "%1") == "unfinished capture")
assert(errmsg(string.gsub, "abc", "(b", string.upper) == "unfinished capture")
-- A replacement string that uses no capture does not look at them.
assert(all(string.gsub("abc", "(b", "x")) == "axc,1")
assert(errmsg(function() return string.find("aaa", string.rep("(", 33)) end) == "string_lib.lua:388: too many captures")
assert(select("#", string.match("a", string.rep("()", 32))) == 32)
assert(errmsg(string.match, "a", string.rep("()", 33)) == "too many captures")
assert(errmsg(function() return string.find(string.rep("a", 300), string.rep("a?", 300)) end) == "string_lib.lua:391: pattern too complex")
assert(all(string.find(string.rep("a", 199), string.rep("a?", 199))) == "1,199")
assert(errmsg(string.match, string.rep("a", 250), string.rep("(a)", 10) .. string.rep("a-", 200) .. "$") == "pattern too complex")
-- A pattern is checked only as far as matching reads it.
assert(string.find("abc", "x[") == nil)
assert(string.match("b", "a%") == nil)
-- gmatch reports pattern errors when it iterates.
local bad = string.gmatch("abc", "(b")
assert(errmsg(bad) == "unfinished capture")
assert(errmsg(function() for _ in string.gmatch("abc", "[") do end end) == "string_lib.lua:400: malformed pattern (missing ']')")

-- errors of gsub replacements
assert(errmsg(function() return string.gsub("abc", "b", "%2") end) == "string_lib.lua:403: invalid capture index %2")
assert(errmsg(string.gsub, "abc", "(b)", "%2") == "invalid capture index %2")
assert(errmsg(function() return string.gsub("abc", "b", "%") end) == "string_lib.lua:405: invalid use of '%' in replacement string")
assert(errmsg(string.gsub, "abc", "b", "%x") == "invalid use of '%' in replacement string")
assert(errmsg(function() return string.gsub("abc", "b", {b = {}}) end) == "string_lib.lua:407: invalid replacement value (a table)")
assert(errmsg(string.gsub, "abc", ".", {a = 1, b = true}) == "invalid replacement value (a boolean)")
assert(errmsg(string.gsub, "abc", "b", function() return print end) == "invalid replacement value (a function)")
assert(errmsg(string.gsub, "abc", "b", function() error("boom", 0) end) == "boom")
assert(errmsg(string.gsub, "abc", "b", setmetatable({}, {__index = function() error("idx", 0) end})) == "idx")
assert(all(string.gsub("abc", "b", "%%%0%%")) == "a%b%c,1")

-- A yield inside a gsub callback: PUC Lua refuses it ("attempt to yield
-- across a C-call boundary"); this VM runs the callback through the
-- interpreter loop, where it may yield (an extension). Both are accepted.
local co = coroutine.wrap(function()
  return string.gsub("ab", ".", function(c) return coroutine.yield(c) end)
end)
local ok, first = pcall(co)
if ok then
  assert(first == "a")
  assert(co("A") == "b")
  assert(all(co("B")) == "AB,2")
  -- A table replacement whose __index yields, with text around the matches.
  local lazy = setmetatable({}, {__index = function(_, k) return coroutine.yield(k) end})
  co = coroutine.wrap(function() return string.gsub("x=1, y=2!", "%a", lazy) end)
  assert(co() == "x" and co(false) == "y" and all(co(7)) == "x=1, 7=2!,2")
  -- format's %s with a yielding __tostring, and the arithmetic fallback.
  local t = setmetatable({}, {__tostring = function() return coroutine.yield("ts") end})
  co = coroutine.wrap(function() return string.format("[%s|%5s]", t, t) end)
  assert(co() == "ts" and co("one") == "ts" and co("two") == "[one|  two]")
  local num = setmetatable({}, {__add = function(a, b) return coroutine.yield("add") end})
  co = coroutine.wrap(function() return "1" + num end)
  assert(co() == "add" and co(42) == 42)
else
  assert(first:find("attempt to yield across a C-call boundary", 1, true))
end
local co2 = coroutine.wrap(function()
  for w in string.gmatch("a b", "%a") do coroutine.yield(w) end
  return "done"
end)
assert(co2() == "a" and co2() == "b" and co2() == "done")

print("ok string_lib")
