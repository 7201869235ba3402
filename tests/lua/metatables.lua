-- Metatables and the non-operator metamethods: __index and __newindex chains of
-- tables and functions, __call (also chained), __eq, __lt, __le, __len,
-- __tostring, __name, __metatable, __pairs, __close, __mode and __gc.
-- Arithmetic, bitwise and concatenation metamethods are in metaops.lua.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- setmetatable / getmetatable.
local t = {}
local mt = {}
assert(getmetatable(t) == nil)
assert(setmetatable(t, mt) == t)
assert(getmetatable(t) == mt)
assert(setmetatable(t, nil) == t and getmetatable(t) == nil)
assert(getmetatable(1) == nil and getmetatable(nil) == nil and getmetatable(print) == nil)
assert(errmsg(setmetatable, {}, 1) == "bad argument #2 to 'setmetatable' (nil or table expected, got number)")
assert(errmsg(setmetatable, nil, {}) == "bad argument #1 to 'setmetatable' (table expected, got nil)")

-- __index with a table: a chain of several levels.
local base = { greet = "hello", level = "base" }
local middle = setmetatable({ level = "middle" }, { __index = base })
local top = setmetatable({}, { __index = middle })
assert(top.greet == "hello" and top.level == "middle")
assert(rawget(top, "greet") == nil)
top.level = "top"
assert(top.level == "top" and middle.level == "middle")
assert(top.missing == nil)

-- __index with a function receives the table and the key.
local calls = 0
local computed = setmetatable({ present = "raw" }, { __index = function(self, key)
  calls = calls + 1
  return type(key) == "number" and key * 2 or nil
end })
assert(computed[21] == 42 and calls == 1)
assert(computed.present == "raw" and calls == 1)
assert(computed.absent == nil and calls == 2)
-- A function at the end of a chain of tables.
local chained = setmetatable({}, { __index = setmetatable({}, { __index = function(_, k) return "fn:" .. k end }) })
assert(chained.x == "fn:x")
-- A cyclic chain is detected.
local cyc = {}
setmetatable(cyc, { __index = cyc })
assert(errmsg(function() return cyc.x end) == "metatables.lua:48: '__index' chain too long; possible loop")

-- __newindex is only consulted for absent keys.
local writes = {}
local guarded = setmetatable({ existing = 1 }, { __newindex = function(self, k, v)
  writes[#writes + 1] = k
  rawset(self, k, v * 10)
end })
guarded.existing = 2
assert(guarded.existing == 2 and #writes == 0)
guarded.fresh = 3
assert(guarded.fresh == 30 and #writes == 1 and writes[1] == "fresh")
guarded.fresh = 4
assert(guarded.fresh == 4 and #writes == 1)
-- __newindex with a table assigns into that table (not raw: its own metatable applies).
local store = {}
local relay = setmetatable({}, { __newindex = store })
local proxy = setmetatable({}, { __newindex = relay })
proxy.a = "A"
assert(rawget(proxy, "a") == nil and rawget(relay, "a") == nil and store.a == "A")
local cyc2 = {}
setmetatable(cyc2, { __newindex = cyc2 })
assert(errmsg(function() cyc2.x = 1 end) == "metatables.lua:70: '__newindex' chain too long; possible loop")

-- A read-only proxy combining both.
local function readonly(inner)
  return setmetatable({}, {
    __index = inner,
    __newindex = function(_, k) error("attempt to update a read-only table", 2) end,
    __len = function() return #inner end,
  })
end
local days = readonly({ "Sun", "Mon", "Tue" })
assert(days[2] == "Mon" and #days == 3)
assert(errmsg(function() days[4] = "Wed" end) == "metatables.lua:82: attempt to update a read-only table")

-- Classes and inheritance with __index.
local Animal = {}
Animal.__index = Animal
function Animal.new(name) return setmetatable({ name = name }, Animal) end
function Animal:speak() return self.name .. " makes a sound" end
function Animal:kind() return "animal" end
local Dog = setmetatable({}, { __index = Animal })
Dog.__index = Dog
function Dog.new(name) return setmetatable(Animal.new(name), Dog) end
function Dog:speak() return self.name .. " barks" end
local d, a = Dog.new("Rex"), Animal.new("Generic")
assert(d:speak() == "Rex barks" and a:speak() == "Generic makes a sound")
assert(d:kind() == "animal" and getmetatable(d) == Dog)

-- Metamethods are looked up raw in the metatable, at the time of use.
local late = setmetatable({}, {})
assert(late.x == nil)
getmetatable(late).__index = { x = "now" }
assert(late.x == "now")
local indirect = setmetatable({}, setmetatable({}, { __index = { __index = { y = 1 } } }))
assert(indirect.y == nil)

-- __call: the callable is passed first, then the arguments; all results return.
local callable = setmetatable({ factor = 3 }, { __call = function(self, a, b) return self.factor * a, b end })
local r1, r2 = callable(5, "second")
assert(r1 == 15 and r2 == "second")
local obj = { method = callable }
assert(obj.method(2) == 6)
local echo = setmetatable({}, { __call = function(self, ...) return ... end })
local holder = { m = echo }
local self_arg, x_arg = holder:m("x")
assert(self_arg == holder and x_arg == "x")
-- A __call that is itself a callable table: each level is passed in front.
local inner = setmetatable({}, { __call = function(...) return select("#", ...), ... end })
local outer = setmetatable({}, { __call = inner })
local n, first, second, arg = outer("x")
assert(n == 3 and first == inner and second == outer and arg == "x")
assert(errmsg(function() local t = {}; return t() end) == "metatables.lua:121: attempt to call a table value (local 't')")

-- __eq: only for two tables (or two userdata), results converted to boolean.
local eqcalls = 0
local eqmt = { __eq = function(x, y)
  eqcalls = eqcalls + 1
  return x.id == y.id and "yes" or nil
end }
local e1, e2, e3 = setmetatable({ id = 1 }, eqmt), setmetatable({ id = 1 }, eqmt), setmetatable({ id = 2 }, eqmt)
assert(e1 == e2 and eqcalls == 1)
assert((e1 == e2) == true)
assert(e1 ~= e3 and eqcalls == 3)
assert((e1 == e3) == false)
eqcalls = 0
assert(e1 == e1 and eqcalls == 0)
assert(e1 ~= 1 and e1 ~= "x" and eqcalls == 0)
-- The second operand's __eq is used if the first has none.
local plain = { id = 1 }
assert(plain == e1 and e1 == plain and eqcalls == 2)
assert(rawequal(e1, e2) == false)

-- __lt and __le: also for mixed operand types, results converted to boolean.
local V = {}
V.__lt = function(x, y)
  x = type(x) == "table" and x.v or x
  y = type(y) == "table" and y.v or y
  return x < y and 1 or false
end
V.__le = function(x, y)
  x = type(x) == "table" and x.v or x
  y = type(y) == "table" and y.v or y
  return x <= y
end
local v1, v2 = setmetatable({ v = 1 }, V), setmetatable({ v = 2 }, V)
assert(v1 < v2 and not (v2 < v1) and (v1 < v2) == true)
assert(v2 > v1 and v1 <= v2 and v2 >= v1 and v1 <= v1)
assert(v1 < 5 and 0 < v1 and v1 >= 1 and not (v1 > 1))
local orders = {}
local spy = setmetatable({}, { __lt = function(x, y) orders[#orders + 1] = (x == "L" and "L" or "T"); return true end })
assert(spy > "L" and orders[1] == "L")
assert(errmsg(function() return {} < {} end) == "metatables.lua:161: attempt to compare two table values")

-- __len: any result, returned unadjusted.
local sized = setmetatable({ 1, 2, 3 }, { __len = function() return 42 end })
assert(#sized == 42 and rawlen(sized) == 3)
local weird = setmetatable({}, { __len = function() return "long" end })
assert(#weird == "long")

-- __tostring and __name.
local named = setmetatable({}, { __tostring = function(self) return "<named>" end })
assert(tostring(named) == "<named>")
assert(tostring(setmetatable({}, { __tostring = function() return "custom" end, __name = "N" })) == "custom")
assert(errmsg(tostring, setmetatable({}, { __tostring = function() return {} end })) == "'__tostring' must return a string")
local plain_str = tostring({})
assert(plain_str > "table: " and plain_str < "table:!")
local typed = tostring(setmetatable({}, { __name = "MyType" }))
assert(typed > "MyType: " and typed < "MyType:!")
assert(errmsg(function() local v = setmetatable({}, { __name = "MyType" }); return v + 1 end) == "metatables.lua:178: attempt to perform arithmetic on a MyType value (local 'v')")

-- __metatable protects the metatable.
local protected = setmetatable({}, { __metatable = "locked" })
assert(getmetatable(protected) == "locked")
assert(errmsg(setmetatable, protected, {}) == "cannot change a protected metatable")
assert(errmsg(function() setmetatable(protected, nil) end) == "metatables.lua:184: cannot change a protected metatable")
local falsy = setmetatable({}, { __metatable = false })
assert(getmetatable(falsy) == false)

-- __pairs replaces the iteration triple returned by pairs.
local ptab = setmetatable({ real = 1 }, { __pairs = function(self)
  local i = 0
  return function(_, k)
    i = i + 1
    if i <= 3 then return i, i * i end
  end, self, nil
end })
local psum, pcount = 0, 0
for k, v in pairs(ptab) do psum = psum + v; pcount = pcount + 1 end
assert(pcount == 3 and psum == 14)
assert(next(ptab) == "real")

-- __close (more in const_close.lua).
local closed = false
do
  local c <close> = setmetatable({}, { __close = function() closed = true end })
end
assert(closed)

-- __mode: weak tables lose entries whose keys or values are collected.
local weak_keys = setmetatable({}, { __mode = "k" })
local weak_values = setmetatable({}, { __mode = "v" })
local kept = {}
local function fill()
  weak_keys[{}] = "dropped"
  weak_keys[kept] = "kept"
  weak_values[1] = {}
  weak_values[2] = kept
  weak_values[3] = "strings are values"
  weak_values[4] = 42
end
fill()
collectgarbage("collect")
local wkcount = 0
for k in pairs(weak_keys) do wkcount = wkcount + 1 end
assert(wkcount == 1 and weak_keys[kept] == "kept")
assert(weak_values[1] == nil and weak_values[2] == kept)
assert(weak_values[3] == "strings are values" and weak_values[4] == 42)

-- __gc: finalizers run when the object is collected, in reverse order of marking.
local finalized = {}
local function make_finalized()
  for i = 1, 3 do
    setmetatable({}, { __gc = function() finalized[#finalized + 1] = i end })
  end
end
-- (The collector is stopped so that one collection finds all three.)
collectgarbage("stop")
make_finalized()
collectgarbage("collect")
collectgarbage("restart")
assert(#finalized == 3 and finalized[1] == 3 and finalized[2] == 2 and finalized[3] == 1)
-- A __gc added to the metatable after setmetatable does not mark the object.
local late_gc = 0
local function make_late()
  local m = {}
  setmetatable({}, m)
  m.__gc = function() late_gc = late_gc + 1 end
end
make_late()
collectgarbage("collect")
assert(late_gc == 0)
-- A finalizer may resurrect its object.
zombie = nil
local function make_zombie()
  setmetatable({ name = "zombie" }, { __gc = function(o) zombie = o end })
end
make_zombie()
collectgarbage("collect")
assert(zombie and zombie.name == "zombie")
zombie = nil

-- A number is a string to `__tostring`'s caller, as `lua_isstring` says.
assert(tostring(setmetatable({}, { __tostring = function() return 4.5 end })) == "4.5")
assert(select(2, pcall(function() return tostring(setmetatable({}, { __tostring = function() return true end })) end)) == "metatables.lua:263: '__tostring' must return a string")

print("ok metatables")
