-- Closures and upvalues: capture by reference, sharing between closures, fresh
-- variables per loop iteration, upvalues of upvalues through several levels, and
-- upvalues that outlive the frame that created them.

-- Independent counters.
local function counter()
  local n = 0
  return function()
    n = n + 1
    return n
  end
end
local c1, c2 = counter(), counter()
assert(c1() == 1 and c1() == 2 and c1() == 3)
assert(c2() == 1)
assert(c1() == 4)
assert(c1 ~= c2)

-- Closures created in the same scope share the same variable.
local function cell(v)
  local function get() return v end
  local function set(x) v = x end
  return get, set
end
local get, set = cell(10)
assert(get() == 10)
set(20)
assert(get() == 20)
local get2, set2 = cell("other")
assert(get2() == "other" and get() == 20)

-- Capture is by reference: later changes are visible, both ways.
local x = 1
local function read_x() return x end
local function write_x(v) x = v end
x = 2
assert(read_x() == 2)
write_x(3)
assert(x == 3 and read_x() == 3)

-- Each iteration of a loop has its own variable.
local fs = {}
for i = 1, 5 do fs[i] = function() return i end end
assert(fs[1]() == 1 and fs[5]() == 5)
local gs = {}
for k, v in pairs({ a = 1, b = 2 }) do gs[k] = function() return v end end
assert(gs.a() == 1 and gs.b() == 2)
local hs = {}
local j = 0
while j < 3 do
  j = j + 1
  local captured = j * 10
  hs[j] = function() return captured end
end
assert(hs[1]() == 10 and hs[3]() == 30)
-- ... but a variable declared outside the loop is shared by all of them.
local shared_fs = {}
local shared = 0
for i = 1, 3 do
  shared = i
  shared_fs[i] = function() return shared end
end
assert(shared_fs[1]() == 3 and shared_fs[2]() == 3)
-- A per-iteration variable can be updated by its closures independently.
local incs, reads = {}, {}
for i = 1, 3 do
  local v = i
  incs[i] = function() v = v + 100 end
  reads[i] = function() return v end
end
incs[2]()
assert(reads[1]() == 1 and reads[2]() == 102 and reads[3]() == 3)

-- Upvalues of upvalues: three levels of nesting, all sharing one variable.
local function level1()
  local v = "L1"
  local function level2()
    local function level3(newv)
      if newv then v = newv end
      return v
    end
    return level3
  end
  return level2(), function() return v end
end
local l3, l1read = level1()
assert(l3() == "L1")
l3("changed")
assert(l1read() == "changed" and l3() == "changed")

-- Mixed: an inner function captures both its parent's local and a grandparent's.
local function outer(a)
  return function(b)
    return function(c)
      a = a + 1
      return a + b + c
    end
  end
end
local mid = outer(100)
local inner1, inner2 = mid(10), mid(20)
assert(inner1(1) == 112)
assert(inner2(1) == 123)
assert(inner1(1) == 114)

-- Upvalues survive after the creating function returns and after errors.
local function make_acc()
  local total = 0
  return function(n)
    if n == nil then error("nil amount") end
    total = total + n
    return total
  end
end
local acc = make_acc()
acc(5)
assert(not pcall(acc))
assert(acc(1) == 6)

-- A block left by break closes its upvalues with their last values.
local saved
for i = 1, 10 do
  local v = i * i
  saved = function() return v end
  if i == 4 then break end
end
assert(saved() == 16)

-- Parameters are captured like locals.
local function bind(f, a) return function(...) return f(a, ...) end end
local add5 = bind(function(p, q) return p + q end, 5)
assert(add5(10) == 15)

-- A local recursive function is its own upvalue.
local function memo_fib()
  local cache = {}
  local function fib(n)
    if n <= 2 then return 1 end
    local c = cache[n]
    if c then return c end
    c = fib(n - 1) + fib(n - 2)
    cache[n] = c
    return c
  end
  return fib
end
assert(memo_fib()(80) == 23416728348467685)

-- Many closures, each with its own state.
local many = {}
for i = 1, 1000 do
  local own = i
  many[i] = function(d) own = own + d; return own end
end
local s = 0
for i = 1, 1000 do s = s + many[i](1) end
assert(s == 500500 + 1000)

-- Capturing varargs through a table.
local function capture(...)
  local args = { n = select("#", ...), ... }
  return function(i) return args[i], args.n end
end
local cap = capture("a", nil, "c")
assert(cap(1) == "a" and cap(2) == nil and cap(3) == "c" and select(2, cap(1)) == 3)

-- Closures as objects with private state.
local function account(balance)
  local self = {}
  function self.deposit(v) balance = balance + v end
  function self.balance() return balance end
  return self
end
local a1, a2 = account(100), account(0)
a1.deposit(50)
a2.deposit(1)
assert(a1.balance() == 150 and a2.balance() == 1)

-- Upvalue captured in a repeat body visible in the until condition.
local tries = 0
local checks = {}
repeat
  tries = tries + 1
  local t = tries
  checks[#checks + 1] = function() return t end
until t >= 3
assert(#checks == 3 and checks[2]() == 2)

-- Each evaluation of a function expression creates a new closure.
local function maker() return function() end end
assert(maker() ~= maker())
local same = maker()
assert(same == same)

print("ok closures")
