-- Assignment: single and multiple, adjustment of value lists, swaps and rotations,
-- table fields at any depth, and the rule that all expressions are evaluated
-- before any variable is assigned.

-- Adjusting the number of values.
local a, b, c
a, b, c = 1, 2
assert(a == 1 and b == 2 and c == nil)
a, b = 3, 4, 5
assert(a == 3 and b == 4)
local function three() return "x", "y", "z" end
a, b, c = three()
assert(a == "x" and b == "y" and c == "z")
a, b, c = three(), "w"
assert(a == "x" and b == "w" and c == nil)
a, b, c = "v", three()
assert(a == "v" and b == "x" and c == "y")
a, b, c = (three())
assert(a == "x" and b == nil and c == nil)
local function none() end
a, b = none()
assert(a == nil and b == nil)
a, b = none(), 1
assert(a == nil and b == 1)

-- Swaps and rotations need no temporary.
local x, y = 1, 2
x, y = y, x
assert(x == 2 and y == 1)
local p, q, r = "p", "q", "r"
p, q, r = r, p, q
assert(p == "r" and q == "p" and r == "q")
local t = { 10, 20, 30 }
t[1], t[3] = t[3], t[1]
assert(t[1] == 30 and t[2] == 20 and t[3] == 10)
local i, j = 1, 2
t[i], t[j] = t[j], t[i]
assert(t[1] == 20 and t[2] == 30)
local s = { x = "a", y = "b" }
s.x, s.y = s.y, s.x
assert(s.x == "b" and s.y == "a")

-- All right-hand sides and all subscripts are evaluated before assigning.
local k = 3
local arr = {}
k, arr[k] = k + 1, 20
assert(k == 4 and arr[3] == 20 and arr[4] == nil)
local n = 1
local list = { "a", "b" }
n, list[n] = 2, "changed"
assert(n == 2 and list[1] == "changed" and list[2] == "b")
local tab1, tab2 = {}, {}
local target = tab1
target, target.field = tab2, "set"
assert(tab1.field == "set" and tab2.field == nil and target == tab2)

-- Right-hand expressions run left to right (as PUC Lua does).
local order = {}
local function note(v)
  order[#order + 1] = v
  return v
end
local g1, g2, g3 = note(1), note(2), note(3)
assert(order[1] == 1 and order[2] == 2 and order[3] == 3 and g3 == 3)
-- The table and key of an indexed target are evaluated before the values.
order = {}
local holder = {}
local function tget() note("t"); return holder end
local function kget() note("k"); return "key" end
tget()[kget()] = note("v")
assert(order[1] == "t" and order[2] == "k" and order[3] == "v")
assert(holder.key == "v")

-- Fields at any depth, with string and computed keys.
local deep = { a = { b = { c = {} } } }
deep.a.b.c.d = "deep"
assert(deep["a"]["b"]["c"]["d"] == "deep")
deep.a["b"].c[1 + 1] = "two"
assert(deep.a.b.c[2] == "two")
local function getdeep() return deep.a end
getdeep().z = 26
assert(deep.a.z == 26)

-- Globals, locals and upvalues in one multiple assignment.
local up = 0
local function setall()
  global_target, up, deep.a.w = "g", "u", "w"
end
setall()
assert(global_target == "g" and up == "u" and deep.a.w == "w")
global_target = nil

-- Assigning a function call's results to fields.
local point = {}
point.x, point.y, point.z = three()
assert(point.x == "x" and point.y == "y" and point.z == "z")

-- Compound-like updates.
local counter = 0
for _ = 1, 10 do counter = counter + 1 end
assert(counter == 10)
local str = "a"
str = str .. str
str = str .. str
assert(str == "aaaa")

-- Assigning nil removes a field.
local rec = { name = "n", size = 1 }
rec.name = nil
assert(rec.name == nil and rec.size == 1)
assert(next(rec) == "size" and next(rec, "size") == nil)

-- Assignments in a long chain of multiple targets.
local v1, v2, v3, v4, v5, v6, v7, v8 = 1, 2, 3, 4, 5, 6, 7, 8
v1, v2, v3, v4, v5, v6, v7, v8 = v8, v7, v6, v5, v4, v3, v2, v1
assert(v1 == 8 and v2 == 7 and v3 == 6 and v4 == 5)
assert(v5 == 4 and v6 == 3 and v7 == 2 and v8 == 1)

print("ok assign")
