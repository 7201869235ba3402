-- Tables: constructors of every form, array and hash parts, the length of
-- sequences, key normalisation (1.0 is 1), nil and NaN keys, traversal with
-- removal, and the raw access functions.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- Constructors: positional, named and computed fields, either separator,
-- trailing separators, nesting.
local t = { 1, 2, 3 }
assert(t[1] == 1 and t[3] == 3 and t[4] == nil and #t == 3)
local named = { x = 1, y = "two", ["with space"] = 3 }
assert(named.x == 1 and named["y"] == "two" and named["with space"] == 3)
local k = "key"
local computed = { [k] = "v", [1 + 1] = "two", [k .. "2"] = "v2" }
assert(computed.key == "v" and computed[2] == "two" and computed.key2 == "v2")
local mixed = { "a", x = "x"; "b", [10] = "ten", "c", }
assert(mixed[1] == "a" and mixed[2] == "b" and mixed[3] == "c" and mixed.x == "x" and mixed[10] == "ten")
local semi = { 1; 2; 3; }
assert(#semi == 3)
local nested = { { 1, 2 }, { a = { b = "deep" } } }
assert(nested[1][2] == 2 and nested[2].a.b == "deep")
local empty = {}
assert(next(empty) == nil and #empty == 0)
local with_nils = { 1, nil, 3 }
assert(with_nils[1] == 1 and with_nils[2] == nil and with_nils[3] == 3)
local function two() return "p", "q" end
local spread = { two(), two() }
assert(spread[1] == "p" and spread[2] == "p" and spread[3] == "q")

-- A constructor with more items than one batch of the list-setting instruction.
local big = {
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
  21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60,
  61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80,
  81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100,
  101, 102, 103, 104, 105, 106, 107, 108, 109, 110, two(),
}
assert(#big == 112 and big[50] == 50 and big[51] == 51 and big[110] == 110 and big[112] == "q")

-- Tables are values with identity.
local a = {}
local b = a
b.field = 1
assert(a.field == 1 and a == b and a ~= {})

-- Length of sequences, growing and shrinking at the end.
local seq = {}
for i = 1, 1000 do seq[#seq + 1] = i end
assert(#seq == 1000 and seq[1000] == 1000)
for _ = 1, 400 do seq[#seq] = nil end
assert(#seq == 600)
assert(#{ 1, nil } == 1 and #{ nil } == 0 and #{ n = 1 } == 0)
local backwards = {}
for i = 10, 1, -1 do backwards[i] = i end
assert(#backwards == 10)

-- Number keys are normalised: floats with integer values are integers.
local nk = {}
nk[1.0] = "one"
assert(nk[1] == "one")
nk[2] = "two"
assert(nk[2.0] == "two")
nk[2 ^ 53] = "big"
assert(nk[9007199254740992] == "big")
assert(tostring(next({ [3.0] = true })) == "3")
nk[1.5] = "one and a half"
assert(nk[1.5] == "one and a half" and nk[1] == "one")
nk[-0.0] = "zero"
assert(nk[0] == "zero")
nk["1"] = "string one"
assert(nk[1] == "one" and nk["1"] == "string one")
local maxint, minint = 9223372036854775807, -9223372036854775807 - 1
nk[maxint], nk[minint] = "max", "min"
assert(nk[maxint] == "max" and nk[minint] == "min" and nk[2 ^ 63] == nil)
nk[-1] = "neg"
assert(nk[-1] == "neg")

-- Keys of every type except nil and NaN.
local fkey, tkey = function() end, {}
local kinds = { [true] = "T", [false] = "F", [fkey] = "fn", [tkey] = "tbl", [print] = "native" }
assert(kinds[true] == "T" and kinds[false] == "F" and kinds[fkey] == "fn")
assert(kinds[tkey] == "tbl" and kinds[{}] == nil and kinds[print] == "native")

-- nil and NaN: reading gives nil, writing is an error.
local nan = 0 / 0
local rk = {}
assert(rk[nil] == nil and rk[nan] == nil)
assert(errmsg(function() rk[nil] = 1 end) == "tables.lua:93: table index is nil")
assert(errmsg(function() rk[nan] = 1 end) == "tables.lua:94: table index is NaN")
assert(errmsg(function() local c = { [nil] = 1 } end) == "tables.lua:95: table index is nil")
assert(errmsg(rawset, {}, nil, 1) == "table index is nil")
assert(errmsg(rawset, {}, nan, 1) == "table index is NaN")
assert(next(rk) == nil)

-- Assigning nil removes the entry.
local rm = { a = 1, b = 2, 3 }
rm.a = nil
rm[1] = nil
assert(rm.a == nil and rm[1] == nil and next(rm) == "b" and next(rm, "b") == nil)

-- Many hash keys.
local h = {}
for i = 1, 2000 do h["k" .. i] = i end
local hc, hs = 0, 0
for key, v in pairs(h) do hc = hc + 1; hs = hs + v end
assert(hc == 2000 and hs == 2001000)
for i = 1, 2000, 2 do h["k" .. i] = nil end
hc = 0
for _ in pairs(h) do hc = hc + 1 end
assert(hc == 1000 and h.k2 == 2 and h.k1 == nil)

-- Traversal while removing entries visits each remaining entry once.
local trav = {}
for i = 1, 100 do trav[i] = i; trav["s" .. i] = i end
local visits = 0
for key in pairs(trav) do
  visits = visits + 1
  trav[key] = nil
end
assert(visits == 200 and next(trav) == nil)
-- next on a key that is not in the table is an error.
assert(errmsg(next, { a = 1 }, "b") == "invalid key to 'next'")

-- ipairs stops at the first nil.
local holes = { 1, 2, nil, 4 }
local n = 0
for _ in ipairs(holes) do n = n + 1 end
assert(n == 2)

-- Raw access ignores metamethods.
local logged = {}
local guarded = setmetatable({}, {
  __index = function(_, key) return "default" end,
  __newindex = function(_, key, v) logged[#logged + 1] = key end,
  __len = function() return 99 end,
})
assert(guarded.anything == "default" and rawget(guarded, "anything") == nil)
guarded.x = 1
assert(#logged == 1 and rawget(guarded, "x") == nil)
assert(rawset(guarded, "x", 2) == guarded)
assert(guarded.x == 2 and #logged == 1)
assert(#guarded == 99 and rawlen(guarded) == 0)
rawset(guarded, 1, "one")
assert(rawlen(guarded) == 1)
assert(rawlen("abcd") == 4 and rawlen("") == 0)
assert(rawequal(guarded, guarded) and not rawequal(guarded, {}))
assert(rawequal("a", "a") and rawequal(1, 1.0) and not rawequal(1, "1"))
assert(errmsg(rawlen, 5) == "bad argument #1 to 'rawlen' (table or string expected, got number)")
assert(errmsg(rawget, 1, 1) == "bad argument #1 to 'rawget' (table expected, got number)")
assert(errmsg(rawequal, 1) == "bad argument #2 to 'rawequal' (value expected)")

-- Tables inside tables as a simple matrix.
local matrix = {}
for i = 1, 10 do
  matrix[i] = {}
  for j = 1, 10 do matrix[i][j] = i * j end
end
assert(matrix[7][8] == 56 and #matrix == 10 and #matrix[10] == 10)

print("ok tables")
