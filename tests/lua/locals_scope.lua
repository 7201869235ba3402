-- Local variables and scoping: blocks, shadowing, declaration with too few or too
-- many values, local functions and recursion, globals through _G, and _ENV.

-- Blocks limit the scope of locals; inner declarations shadow outer ones.
local x = 1
do
  local x = 2
  assert(x == 2)
  do
    local x = x + 1
    assert(x == 3)
  end
  assert(x == 2)
end
assert(x == 1)

-- A new local with the same name in the same block shadows the previous one,
-- and its initialiser still sees the previous one.
local a = 10
local a = a + 1
assert(a == 11)

-- Missing values are nil, extra values are dropped; calls expand at the end only.
local p, q, r = 1
assert(p == 1 and q == nil and r == nil)
local u, v = 1, 2, 3
assert(u == 1 and v == 2)
local function three() return 1, 2, 3 end
local m1, m2, m3, m4 = three()
assert(m1 == 1 and m2 == 2 and m3 == 3 and m4 == nil)
local n1, n2, n3 = three(), 10
assert(n1 == 1 and n2 == 10 and n3 == nil)
local o1, o2, o3 = 0, three()
assert(o1 == 0 and o2 == 1 and o3 == 2)

-- Locals declared without a value are nil even inside loops (fresh each time).
for i = 1, 3 do
  local fresh
  assert(fresh == nil)
  fresh = i
end

-- 'local function' can call itself; 'local f = function' cannot (f is not yet in scope).
local function fact(n)
  if n <= 1 then return 1 end
  return n * fact(n - 1)
end
assert(fact(10) == 3628800)
fib_global = "not a function"
local fib_global = function(n) return fib_global end
assert(fib_global(1) == "not a function")
assert(type(fib_global) == "function" and type(_G.fib_global) == "string")
_G.fib_global = nil

-- Loop control variables are local to the loop.
local i = "outer"
for i = 1, 2 do assert(type(i) == "number") end
assert(i == "outer")
for i, v in ipairs({ "a" }) do assert(i == 1 and v == "a") end
assert(i == "outer")

-- Globals live in _G (the initial _ENV).
assert(_G._G == _G)
assert(_G.print == print and _G["assert"] == assert)
assert(_VERSION == "Lua 5.4")
new_global = 42
assert(_G.new_global == 42)
_G.another_global = "yes"
assert(another_global == "yes")
new_global, another_global = nil, nil
assert(rawget(_G, "new_global") == nil)

-- A local hides a global of the same name.
shadowed = "global"
do
  local shadowed = "local"
  assert(shadowed == "local" and _G.shadowed == "global")
end
assert(shadowed == "global")
shadowed = nil

-- _ENV: free names are fields of whatever _ENV is in scope.
do
  local _ENV = { assert = assert }
  y = 5
  assert(y == 5)
  assert(_ENV.y == 5)
end
assert(y == nil)

local function with_env(env)
  local _ENV = env
  counter = (counter or 0) + 1
  return counter
end
local env1, env2 = {}, { counter = 100 }
assert(with_env(env1) == 1 and with_env(env1) == 2)
assert(with_env(env2) == 101)
assert(env1.counter == 2 and counter == nil)

-- _ENV can be a function parameter and an upvalue.
local function make_reader(_ENV)
  return function() return value end
end
local reader = make_reader({ value = "from env" })
assert(reader() == "from env")

-- Changing _ENV's contents is visible through free names.
local function sandbox()
  local _ENV = setmetatable({}, { __index = _G })
  print_alias = print
  return _ENV, print_alias == print, type
end
local sb, same, ty = sandbox()
assert(same and ty == type and sb.print_alias == print and rawget(sb, "type") == nil)
assert(print_alias == nil)

-- Nested functions see the locals of enclosing scopes at the time of the call.
local level1 = "one"
local function outer()
  local level2 = "two"
  local function inner()
    return level1 .. level2
  end
  level2 = "TWO"
  return inner()
end
assert(outer() == "oneTWO")

-- Many locals in one function.
local function many()
  local v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  local w1, w2, w3, w4, w5, w6, w7, w8, w9, w10 = 11, 12, 13, 14, 15, 16, 17, 18, 19, 20
  return v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + v10
    + w1 + w2 + w3 + w4 + w5 + w6 + w7 + w8 + w9 + w10
end
assert(many() == 210)

print("ok locals_scope")
