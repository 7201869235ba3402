-- The table library: pack, unpack, insert, remove, concat, move and sort, their
-- position rules and argument errors, element access through __index, __newindex
-- and __len on proxy tables, and sort's comparators (inconsistent ones included).

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- Lists compared element by element, up to n (default: the longer border).
local function same(a, b, n)
  n = n or (#a > #b and #a or #b)
  for i = 1, n do
    if a[i] ~= b[i] then return false end
  end
  return true
end

local MAXI = 0x7fffffffffffffff
local MINI = -MAXI - 1

-- A proxy: an empty table whose reads, writes and length go to `store` and
-- are logged in the current `log` as "r<k>", "w<k>=<v>" and "#".
local log = {}
local function proxy(store)
  return setmetatable({}, {
    __index = function(_, k) log[#log + 1] = "r" .. tostring(k); return store[k] end,
    __newindex = function(_, k, v)
      log[#log + 1] = "w" .. tostring(k) .. "=" .. tostring(v)
      store[k] = v
    end,
    __len = function() log[#log + 1] = "#"; return #store end,
  })
end
local function joined(log)
  return table.concat(log, " ")
end

-- pack: every argument, nils included, and the count in n.
local p = table.pack(1, nil, "three", nil)
assert(p.n == 4 and p[1] == 1 and p[2] == nil and p[3] == "three" and p[4] == nil)
p = table.pack()
assert(p.n == 0 and next(p) == "n")
p = table.pack(nil)
assert(p.n == 1 and rawlen(p) == 0)
assert(table.pack(table.unpack({1, 2, 3})).n == 3)
assert(getmetatable(table.pack(1)) == nil)

-- unpack: list[i], ..., list[j]; i defaults to 1, j to #list.
assert(select("#", table.unpack({})) == 0)
assert(select("#", table.unpack({1, 2, 3})) == 3)
local u1, u2, u3 = table.unpack({"a", "b", "c"})
assert(u1 == "a" and u2 == "b" and u3 == "c")
u1, u2 = table.unpack({"a", "b", "c"}, 2)
assert(u1 == "b" and u2 == "c")
assert(select("#", table.unpack({1, 2, 3}, 2, 5)) == 4)
assert(select("#", table.unpack({1, 2, 3}, 3, 2)) == 0)
u1, u2, u3 = table.unpack({[0] = "z", "a"}, -1, 1)
assert(u1 == nil and u2 == "z" and u3 == "a")
assert(select("#", table.unpack({}, 1, 10000)) == 10000)
assert(select("#", table.unpack({}, MAXI, MAXI)) == 1)
assert(select("#", table.unpack({}, MINI, MINI + 1)) == 2)
assert(select("#", table.unpack({}, MAXI, MINI)) == 0)
assert(select("#", table.unpack({1, 2}, "1", 2.0)) == 2)
-- Holes: an explicit j is what makes trailing nils count.
p = table.pack(table.unpack({1, nil, 3, nil}, 1, 4))
assert(p.n == 4 and p[3] == 3)
-- Through __index and __len.
log = {}
local px = proxy({10, 20, 30})
u1, u2, u3 = table.unpack(px)
assert(u1 == 10 and u2 == 20 and u3 == 30)
assert(joined(log) == "# r1 r2 r3")
-- Errors: too many results, before anything is read.
log = {}
assert(errmsg(function() table.unpack(px, 1, 1e7) end) == "table_lib.lua:77: too many results to unpack")
assert(#log == 0)
assert(errmsg(function() table.unpack({}, MINI, MAXI) end) == "table_lib.lua:79: too many results to unpack")
assert(errmsg(function() table.unpack({}, 0, MAXI) end) == "table_lib.lua:80: too many results to unpack")
assert(errmsg(function() table.unpack({}, 1, 2^31) end) == "table_lib.lua:81: too many results to unpack")
assert(errmsg(table.unpack, {}, 1, 1e7) == "too many results to unpack")
assert(errmsg(function() table.unpack({}, 1.5) end) == "table_lib.lua:83: bad argument #2 to 'unpack' (number has no integer representation)")
assert(errmsg(function() table.unpack({}, 1, "x") end) == "table_lib.lua:84: bad argument #3 to 'unpack' (number expected, got string)")
-- unpack does not check its first argument: the length or index fails.
assert(errmsg(function() table.unpack(nil) end) == "attempt to get length of a nil value")
assert(errmsg(function() table.unpack(nil, 1, 1) end) == "attempt to index a nil value")
assert(select("#", table.unpack(nil, 1, 0)) == 0)

-- insert: append, or insert at a position in [1, #t + 1], shifting up.
local t = {}
table.insert(t, "a")
table.insert(t, "b")
assert(same(t, {"a", "b"}))
table.insert(t, 1, "c")
assert(same(t, {"c", "a", "b"}))
table.insert(t, 2, "d")
assert(same(t, {"c", "d", "a", "b"}))
table.insert(t, #t + 1, "e")
assert(same(t, {"c", "d", "a", "b", "e"}) and #t == 5)
table.insert(t, "2", "f")
assert(same(t, {"c", "f", "d", "a", "b", "e"}))
table.insert(t, 3.0, "g")
assert(t[3] == "g" and #t == 7)
-- A nil value as third argument is an insertion of nil.
t = {1, 2}
table.insert(t, 1, nil)
assert(t[1] == nil and t[2] == 1 and t[3] == 2)
-- Through the metamethods, in PUC Lua's order.
local store = {"x", "y"}
log = {}
px = proxy(store)
table.insert(px, "z")
assert(joined(log) == "# w3=z" and store[3] == "z")
log = {}
table.insert(px, 1, "w")
assert(joined(log) == "# r3 w4=z r2 w3=y r1 w2=x w1=w")
assert(same(store, {"w", "x", "y", "z"}))
-- Errors.
assert(errmsg(function() table.insert({}, 1, 2, 3) end) == "table_lib.lua:120: wrong number of arguments to 'insert'")
assert(errmsg(function() table.insert({}) end) == "table_lib.lua:121: wrong number of arguments to 'insert'")
assert(errmsg(table.insert, {}) == "wrong number of arguments to 'insert'")
assert(errmsg(function() table.insert({}, 0, "v") end) == "table_lib.lua:123: bad argument #2 to 'insert' (position out of bounds)")
assert(errmsg(function() table.insert({1}, 3, "v") end) == "table_lib.lua:124: bad argument #2 to 'insert' (position out of bounds)")
assert(errmsg(function() table.insert({1}, -1, "v") end) == "table_lib.lua:125: bad argument #2 to 'insert' (position out of bounds)")
assert(errmsg(function() table.insert({}, MINI, "v") end) == "table_lib.lua:126: bad argument #2 to 'insert' (position out of bounds)")
assert(errmsg(function() table.insert({}, "a", 2) end) == "table_lib.lua:127: bad argument #2 to 'insert' (number expected, got string)")
assert(errmsg(function() table.insert({}, 1.5, 2) end) == "table_lib.lua:128: bad argument #2 to 'insert' (number has no integer representation)")
assert(errmsg(function() table.insert(nil, 1) end) == "table_lib.lua:129: bad argument #1 to 'insert' (table expected, got nil)")
assert(errmsg(function() table.insert(1, 1) end) == "table_lib.lua:130: bad argument #1 to 'insert' (table expected, got number)")
assert(errmsg(function() table.insert() end) == "table_lib.lua:131: bad argument #1 to 'insert' (table expected, got no value)")
assert(errmsg(table.insert, nil, 1) == "bad argument #1 to 'table.insert' (table expected, got nil)")
-- The table is checked before the arguments are counted.
assert(errmsg(function() table.insert("s") end) == "table_lib.lua:134: bad argument #1 to 'insert' (table expected, got string)")

-- remove: the last element, or the one at a position in [1, #t + 1].
t = {"a", "b", "c", "d"}
assert(table.remove(t) == "d" and #t == 3)
assert(table.remove(t, 1) == "a" and same(t, {"b", "c"}) and #t == 2)
assert(table.remove(t, #t + 1) == nil and same(t, {"b", "c"}))
assert(table.remove(t, "1") == "b" and same(t, {"c"}))
assert(table.remove(t) == "c" and #t == 0)
-- An empty list: position 0 and #t (0) and #t + 1 (1) are allowed.
assert(table.remove(t) == nil and next(t) == nil)
assert(table.remove(t, 0) == nil and table.remove(t, 1) == nil)
assert(select("#", table.remove({})) == 1)
-- #t may be 0 while t[0] exists: remove(t) reads and clears it.
t = {[0] = "zero"}
assert(table.remove(t) == "zero" and t[0] == nil)
t = {[0] = "zero", "one"}
assert(table.remove(t, #t + 1) == nil and t[0] == "zero" and t[1] == "one")
-- Through the metamethods.
store = {"x", "y", "z"}
log = {}
px = proxy(store)
assert(table.remove(px, 1) == "x")
assert(joined(log) == "# r1 r2 w1=y r3 w2=z w3=nil")
assert(same(store, {"y", "z"}, 3))
log = {}
assert(table.remove(px) == "z" and joined(log) == "# r2 w2=nil")
-- Errors: the position is reported as argument #1 (as PUC Lua 5.4.4 does).
assert(errmsg(function() table.remove({1, 2, 3}, 5) end) == "table_lib.lua:162: bad argument #1 to 'remove' (position out of bounds)")
assert(errmsg(function() table.remove({1, 2, 3}, 0) end) == "table_lib.lua:163: bad argument #1 to 'remove' (position out of bounds)")
assert(errmsg(function() table.remove({}, -1) end) == "table_lib.lua:164: bad argument #1 to 'remove' (position out of bounds)")
assert(errmsg(function() table.remove({}, 2) end) == "table_lib.lua:165: bad argument #1 to 'remove' (position out of bounds)")
assert(errmsg(function() table.remove({}, MAXI) end) == "table_lib.lua:166: bad argument #1 to 'remove' (position out of bounds)")
assert(errmsg(table.remove, {1}, 3) == "bad argument #1 to 'table.remove' (position out of bounds)")
assert(errmsg(function() table.remove({}, {}) end) == "table_lib.lua:168: bad argument #2 to 'remove' (number expected, got table)")
assert(errmsg(function() table.remove(nil) end) == "table_lib.lua:169: bad argument #1 to 'remove' (table expected, got nil)")
assert(errmsg(function() table.remove(true) end) == "table_lib.lua:170: bad argument #1 to 'remove' (table expected, got boolean)")

-- The length must be an integer (numeric strings are converted).
local function withlen(n)
  return setmetatable({}, {__len = function() return n end})
end
assert(errmsg(function() table.insert(withlen(1.5), 1) end) == "table_lib.lua:176: object length is not an integer")
assert(errmsg(function() table.remove(withlen("x")) end) == "table_lib.lua:177: object length is not an integer")
assert(errmsg(function() table.concat(withlen(nil)) end) == "table_lib.lua:178: object length is not an integer")
assert(errmsg(function() table.unpack(withlen({})) end) == "table_lib.lua:179: object length is not an integer")
assert(errmsg(function() table.sort(withlen(true)) end) == "table_lib.lua:180: object length is not an integer")
t = withlen("2")
table.insert(t, "v")
assert(rawget(t, 3) == "v")
t = withlen(2.0)
table.insert(t, "v")
assert(rawget(t, 3) == "v")
assert(errmsg(function() table.insert(setmetatable({}, {__len = function() error("len!") end}), 1) end) == "table_lib.lua:187: len!")

-- concat: strings and numbers, with a separator, over [i, j].
assert(table.concat({}) == "")
assert(table.concat({"a", "b", "c"}) == "abc")
assert(table.concat({"a", "b", "c"}, ", ") == "a, b, c")
assert(table.concat({"a", "b", "c"}, ", ", 2) == "b, c")
assert(table.concat({"a", "b", "c"}, ", ", 2, 2) == "b")
assert(table.concat({"a", "b", "c"}, ", ", 3, 2) == "")
assert(table.concat({"a", "b", "c"}, ", ", 1, 0) == "")
assert(table.concat({[-1] = "m", [0] = "z", "a"}, "", -1, 1) == "mza")
assert(table.concat({1, 2.5, -0.0, 2^63, 1e100, 10 // 1, 3.0}, " ") == "1 2.5 -0.0 9.2233720368548e+18 1e+100 10 3.0")
assert(table.concat({"a", "b"}, 0) == "a0b")
assert(table.concat({"a", "b"}, 1.5) == "a1.5b")
assert(table.concat({"a", "b"}, nil, nil, nil) == "ab")
assert(table.concat({"a", "b", "c"}, "-", "2", "3") == "b-c")
assert(table.concat({"a\0b", "c"}, "\0") == "a\0b\0c")
assert(#table.concat({"xy", "z"}, "", 1, 2) == 3)
-- Through __index and __len.
log = {}
px = proxy({"p", "q", "r"})
assert(table.concat(px, "+") == "p+q+r")
assert(joined(log) == "# r1 r2 r3")
t = setmetatable({}, {__index = function(_, i) return i * 2 end})
assert(table.concat(t, ",", 1, 4) == "2,4,6,8")
-- Errors name the type and the index of the bad value.
assert(errmsg(function() table.concat({1, {}, 3}) end) == "table_lib.lua:213: invalid value (table) at index 2 in table for 'concat'")
assert(errmsg(function() table.concat({1, 2}, "", 1, 3) end) == "table_lib.lua:214: invalid value (nil) at index 3 in table for 'concat'")
assert(errmsg(function() table.concat({true}) end) == "table_lib.lua:215: invalid value (boolean) at index 1 in table for 'concat'")
assert(errmsg(function() table.concat({}, "", MAXI - 1, MAXI) end) == "table_lib.lua:216: invalid value (nil) at index 9223372036854775806 in table for 'concat'")
assert(errmsg(table.concat, {print}) == "invalid value (function) at index 1 in table for 'concat'")
assert(errmsg(function() table.concat({}, {}) end) == "table_lib.lua:218: bad argument #2 to 'concat' (string expected, got table)")
assert(errmsg(function() table.concat({}, "", 1.5) end) == "table_lib.lua:219: bad argument #3 to 'concat' (number has no integer representation)")
assert(errmsg(function() table.concat({}, "", 1, {}) end) == "table_lib.lua:220: bad argument #4 to 'concat' (number expected, got table)")
assert(errmsg(function() table.concat("abc") end) == "table_lib.lua:221: bad argument #1 to 'concat' (table expected, got string)")
assert(errmsg(function() table.concat() end) == "table_lib.lua:222: bad argument #1 to 'concat' (table expected, got no value)")

-- move: a1[f..e] to a2[t..] (a2 defaults to a1); returns a2.
local a = {1, 2, 3, 4, 5}
assert(table.move(a, 1, 3, 3) == a)
assert(same(a, {1, 2, 1, 2, 3}))
a = {1, 2, 3, 4, 5}
table.move(a, 2, 5, 1)
assert(same(a, {2, 3, 4, 5, 5}))
a = {1, 2, 3}
local b = {}
assert(table.move(a, 1, 3, 1, b) == b and same(b, {1, 2, 3}))
assert(table.move(a, 1, 3, 2, b) == b and same(b, {1, 1, 2, 3}))
assert(table.move(a, 3, 2, 1, b) == b and same(b, {1, 1, 2, 3}))
assert(table.move(a, 1, 0, 1) == a)
b = table.move({1, 2, 3}, 1, 3, -1, {})
assert(b[-1] == 1 and b[0] == 2 and b[1] == 3)
b = table.move({[MAXI] = "last"}, MAXI, MAXI, 1, {})
assert(b[1] == "last")
b = table.move({"first"}, 1, 1, MAXI, {})
assert(b[MAXI] == "first")
b = table.move({[MINI] = "m", [MINI + 1] = "n"}, MINI, MINI + 1, 1, {})
assert(b[1] == "m" and b[2] == "n")
assert(table.move({}, 1, 2, 3, nil) ~= nil)
-- The copy order: upwards unless the ranges overlap with t > f in one table.
log = {}
px = proxy({1, 2, 3})
table.move(px, 1, 3, 2)
assert(joined(log) == "r3 w4=3 r2 w3=2 r1 w2=1")
log = {}
table.move(px, 2, 4, 1)
assert(joined(log) == "r2 w1=1 r3 w2=2 r4 w3=3")
log = {}
table.move(px, 1, 2, 5)
assert(joined(log) == "r1 w5=1 r2 w6=2")
log = {}
local dest = {}
table.move(px, 1, 2, 2, dest)
assert(joined(log) == "r1 r2" and dest[2] == 1 and dest[3] == 2)
-- Distinct tables that __eq calls equal are copied as one table would be.
log = {}
local eqmt = {__eq = function() return true end, __index = function(_, k) log[#log + 1] = k; return k end}
table.move(setmetatable({}, eqmt), 1, 3, 2, setmetatable({}, eqmt))
assert(joined(log) == "3 2 1")
log = {}
table.move(setmetatable({}, {__index = eqmt.__index}), 1, 3, 2, {})
assert(joined(log) == "1 2 3")
-- Errors.
assert(errmsg(function() table.move({}, 1, MAXI, 2) end) == "table_lib.lua:270: bad argument #4 to 'move' (destination wrap around)")
assert(errmsg(function() table.move({}, 1, 3, MAXI) end) == "table_lib.lua:271: bad argument #4 to 'move' (destination wrap around)")
assert(errmsg(function() table.move({}, -1, MAXI, 2) end) == "table_lib.lua:272: bad argument #3 to 'move' (too many elements to move)")
assert(errmsg(function() table.move({}, MINI, -1, 1) end) == "table_lib.lua:273: bad argument #3 to 'move' (too many elements to move)")
assert(errmsg(table.move, {}, 0, MAXI, 1) == "bad argument #3 to 'table.move' (too many elements to move)")
assert(errmsg(function() table.move({}, 1, 2) end) == "table_lib.lua:275: bad argument #4 to 'move' (number expected, got no value)")
assert(errmsg(function() table.move({}, 1.5, 2, 1) end) == "table_lib.lua:276: bad argument #2 to 'move' (number has no integer representation)")
assert(errmsg(function() table.move({}, 1, "e", 1) end) == "table_lib.lua:277: bad argument #3 to 'move' (number expected, got string)")
assert(errmsg(function() table.move(1, 1, 2, 3) end) == "table_lib.lua:278: bad argument #1 to 'move' (table expected, got number)")
assert(errmsg(function() table.move({}, 1, 2, 3, 4) end) == "table_lib.lua:279: bad argument #5 to 'move' (table expected, got number)")
-- The integer arguments are checked before the tables.
assert(errmsg(function() table.move(nil, nil, 2, 3) end) == "table_lib.lua:281: bad argument #2 to 'move' (number expected, got nil)")

-- sort: the default order is <.
local function sorted(list, lt, n)
  lt = lt or function(x, y) return x < y end
  for i = 2, n or #list do
    if lt(list[i], list[i - 1]) then return false end
  end
  return true
end
t = {5, 3, 8, 1, 9, 2, 7}
table.sort(t)
assert(same(t, {1, 2, 3, 5, 7, 8, 9}))
t = {"pear", "apple", "fig", "banana"}
table.sort(t)
assert(same(t, {"apple", "banana", "fig", "pear"}))
t = {3, 1.5, -2, 2^53, -0.5, 0}
table.sort(t)
assert(same(t, {-2, -0.5, 0, 1.5, 3, 2^53}))
t = {5, 3, 8, 1}
table.sort(t, function(x, y) return x > y end)
assert(same(t, {8, 5, 3, 1}))
t = {2, 1}
table.sort(t)
assert(same(t, {1, 2}))
t = {3, 1, 2}
table.sort(t)
assert(same(t, {1, 2, 3}))
t = {}
table.sort(t)
assert(next(t) == nil)
-- A comparator's result counts by truthiness.
t = {1, 2, 3, 4}
table.sort(t, function(x, y) if x > y then return 0 end end)
assert(same(t, {4, 3, 2, 1}))
-- Many elements, with duplicates, in several initial orders.
local function lcg(seed)
  return function(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  end
end
local rnd = lcg(42)
for _, n in ipairs({10, 100, 1000}) do
  local r, asc, desc, few, sum = {}, {}, {}, {}, 0
  for i = 1, n do
    r[i] = rnd(n)
    sum = sum + r[i]
    asc[i] = i
    desc[i] = n - i
    few[i] = rnd(3)
  end
  table.sort(r)
  local sum2 = 0
  for i = 1, n do sum2 = sum2 + r[i] end
  assert(sorted(r) and sum2 == sum and #r == n)
  table.sort(asc)
  table.sort(desc)
  table.sort(few, function(x, y) return x > y end)
  assert(sorted(asc) and sorted(desc) and sorted(few, function(x, y) return x > y end))
end
-- Objects ordered by __lt.
local ltmt = {__lt = function(x, y) return x.k < y.k end}
t = {}
for i = 1, 50 do t[i] = setmetatable({k = (i * 37) % 50}, ltmt) end
table.sort(t)
assert(sorted(t))
assert(t[1].k == 0 and t[50].k == 49)
-- Through __index, __newindex and __len: reads and writes in PUC Lua's order.
store = {3, 1, 2}
log = {}
px = proxy(store)
table.sort(px)
assert(same(store, {1, 2, 3}))
assert(joined(log) == "# r1 r3 w1=2 w3=3 r2 r1 w2=2 w1=1")
store = {}
for i = 1, 60 do store[i] = (i * 7) % 60 end
px = proxy(store)
table.sort(px, function(x, y) return x > y end)
assert(sorted(store, function(x, y) return x > y end) and store[1] == 59 and store[60] == 0)
-- Inconsistent comparators are detected where the partition runs off its end.
assert(errmsg(function() table.sort({5, 4, 3, 2, 1}, function() return true end) end) == "table_lib.lua:362: invalid order function for sorting")
assert(errmsg(function() table.sort({1, 1, 1, 1, 1}, function(x, y) return x <= y end) end) == "table_lib.lua:363: invalid order function for sorting")
assert(errmsg(table.sort, {1, 1, 1, 1}, function() return true end) == "invalid order function for sorting")
-- ... but not always: a comparator that is never consistent may go unnoticed.
t = {3, 2, 1}
table.sort(t, function() return true end)
assert(#t == 3)
t = {1, 2, 3, 4, 5}
table.sort(t, function(x, y) return x <= y end)
assert(same(t, {1, 2, 3, 4, 5}))
-- Everything equal: the partition still swaps, exactly as PUC Lua does.
t = {1, 2, 3, 4, 5}
table.sort(t, function() return false end)
assert(same(t, {1, 4, 3, 2, 5}))
-- A list of length 0 or 1 is not looked at: no comparator check.
assert(pcall(table.sort, {}, 1))
assert(pcall(table.sort, {1}, "not a function"))
-- Errors.
assert(errmsg(function() table.sort({1, 2}, 1) end) == "table_lib.lua:380: bad argument #2 to 'sort' (function expected, got number)")
assert(errmsg(function() table.sort({1, 2}, setmetatable({}, {__call = print})) end) == "table_lib.lua:381: bad argument #2 to 'sort' (function expected, got table)")
assert(errmsg(function() table.sort({1, "x", 2, 4}) end) == "attempt to compare string with number")
assert(errmsg(function() table.sort({1, nil, 2, 4}) end) == "attempt to compare nil with number")
assert(errmsg(function() table.sort({{}, {}}) end) == "attempt to compare two table values")
assert(errmsg(function() table.sort({3, 2, 1}, function() error("cmp failed") end) end) == "table_lib.lua:385: cmp failed")
assert(errmsg(function() table.sort(withlen(2^31 - 1)) end) == "table_lib.lua:386: bad argument #1 to 'sort' (array too big)")
assert(errmsg(function() table.sort(withlen(MAXI)) end) == "table_lib.lua:387: bad argument #1 to 'sort' (array too big)")
assert(errmsg(table.sort, withlen(2^40)) == "bad argument #1 to 'table.sort' (array too big)")
assert(errmsg(function() table.sort(nil) end) == "table_lib.lua:389: bad argument #1 to 'sort' (table expected, got nil)")
assert(errmsg(function() table.sort("abc") end) == "table_lib.lua:390: bad argument #1 to 'sort' (table expected, got string)")
-- A comparator may yield: an extension of this VM, where the sort runs its
-- comparator through the interpreter loop (PUC Lua: "attempt to yield across
-- a C-call boundary"). Both behaviours are accepted, so the script runs under
-- both interpreters.
local co = coroutine.wrap(function()
  local list = {3, 2, 1}
  table.sort(list, function(x, y) coroutine.yield("cmp") return x < y end)
  return list
end)
local yields, r = 0
local ok, err = pcall(function()
  repeat r = co() yields = yields + 1 until type(r) == "table"
end)
if ok then
  assert(r[1] == 1 and r[2] == 2 and r[3] == 3 and yields > 2)
else
  assert(err:find("attempt to yield across a C%-call boundary"))
end
-- The metamethods concat, insert, remove, move and unpack call may yield as
-- well (the same extension). `through_yields` answers each yield of `f`'s
-- coroutine with "v" .. the yielded value; it returns the yields seen and
-- f's results, or nil and the error.
local function yielding(n)
  return setmetatable({}, {
    __index = function(_, i) return coroutine.yield(i) end,
    __newindex = function(t, i, v) coroutine.yield(i) rawset(t, i, v) end,
    __len = function() return n end,
  })
end
local function through_yields(f)
  local co = coroutine.create(f)
  local seen, res = {}, table.pack(coroutine.resume(co))
  while res[1] and coroutine.status(co) == "suspended" do
    seen[#seen + 1] = res[2]
    res = table.pack(coroutine.resume(co, "v" .. res[2]))
  end
  if not res[1] then return nil, res[2] end
  return table.concat(seen, " "), table.unpack(res, 2, res.n)
end
local function yielded(seen, expected, ...)
  if seen then
    assert(seen == expected, seen)
    return true
  end
  assert((...):find("attempt to yield across a C%-call boundary"))
  return false
end
local seen, r1, r2, r3 = through_yields(function() return table.concat(yielding(3), ",") end)
if yielded(seen, "1 2 3", r1) then assert(r1 == "v1,v2,v3") end
local yt = yielding(2)
seen, r1, r2 = through_yields(function() table.insert(yt, 1, "x") return rawget(yt, 1), rawget(yt, 3) end)
if yielded(seen, "2 3 1 2 1", r1) then assert(r1 == "x" and r2 == "v2") end
yt = yielding(2)
seen, r1 = through_yields(function() return table.remove(yt, 1) end)
if yielded(seen, "1 2 1 2", r1) then assert(r1 == "v1" and rawget(yt, 1) == "v2") end
yt = yielding(0)
seen, r1 = through_yields(function() return table.move({"a", "b"}, 1, 2, 1, yt) end)
if yielded(seen, "1 2", r1) then assert(r1 == yt and rawget(yt, 2) == "b") end
seen, r1, r2, r3 = through_yields(function() return table.unpack(yielding(2)) end)
if yielded(seen, "1 2", r1) then assert(r1 == "v1" and r2 == "v2" and r3 == nil) end

-- A comparator may collect garbage and build tables while the sort runs.
t = {}
for i = 1, 120 do t[i] = {v = (i * 7919) % 120} end
local calls = 0
table.sort(t, function(x, y)
  calls = calls + 1
  if calls % 50 == 0 then collectgarbage("collect") end
  local _ = {x, y}
  return x.v < y.v
end)
for i = 1, 120 do assert(t[i].v == i - 1) end
-- Elements that exist only in the comparator's closure while sorting.
store = {}
for i = 1, 40 do store[i] = (i * 13) % 40 end
px = setmetatable({}, {
  __index = function(_, k) return {v = store[k]} end,
  __newindex = function(_, k, v) store[k] = v.v end,
  __len = function() return 40 end,
})
table.sort(px, function(x, y) collectgarbage("collect"); return x.v < y.v end)
assert(sorted(store) and store[1] == 0 and store[40] == 39)

print("ok table_lib")
