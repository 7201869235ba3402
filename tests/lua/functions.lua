-- Functions and calls: parameters and varargs, select, multiple results in every
-- position (argument lists, table constructors, returns, assignments), truncation
-- by parentheses, call syntaxes and methods, deep tail calls, deep recursion and
-- stack overflow recovery.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- The main chunk is a vararg function; run as a script it gets no arguments.
assert(select("#", ...) == 0)

-- Missing parameters are nil; extra arguments are dropped.
local function params(a, b, c) return a, b, c end
local p1, p2, p3 = params(1)
assert(p1 == 1 and p2 == nil and p3 == nil)
assert(select("#", params(1, 2, 3, 4, 5)) == 3)

-- Varargs.
local function count(...) return select("#", ...) end
assert(count() == 0 and count(nil) == 1 and count(nil, nil) == 2 and count(1, nil, 3, nil) == 4)
local function pack(...) return { n = select("#", ...), ... } end
local pk = pack(1, nil, 3)
assert(pk.n == 3 and pk[1] == 1 and pk[2] == nil and pk[3] == 3)
local function firsttwo(...)
  local a, b = ...
  return a, b
end
assert(select(2, firsttwo(7, 8, 9)) == 8)
local function fixed_and_rest(a, ...) return a, select("#", ...), ... end
local fa, fn, fr1, fr2 = fixed_and_rest("a", "b", "c")
assert(fa == "a" and fn == 2 and fr1 == "b" and fr2 == "c")
assert(select(2, fixed_and_rest()) == 0)
local function passthrough(...) return ... end
assert(select("#", passthrough()) == 0)
assert(select("#", passthrough(nil, nil, nil)) == 3)
local function sum(...)
  local s = 0
  for i = 1, select("#", ...) do s = s + select(i, ...) end
  return s
end
assert(sum() == 0 and sum(1, 2, 3, 4) == 10)

-- '...' expands only at the end of a list.
local function middle(...) return { ..., "end" } end
local function last(...) return { "start", ... } end
local mt1, lt1 = middle(1, 2, 3), last(1, 2, 3)
assert(#mt1 == 2 and mt1[1] == 1 and mt1[2] == "end")
assert(#lt1 == 4 and lt1[4] == 3)
local function vsum(...) return count(..., ...) end
assert(vsum(1, 2, 3) == 4)

-- Global function statements define (or redefine) globals.
function global_square(x) return x * x end
assert(global_square(9) == 81 and _G.global_square == global_square)
function global_square(x) return -x end
assert(global_square(9) == -9)
global_square = nil

-- select with positive, negative and out-of-range indices.
assert(select(1, "a", "b", "c") == "a")
assert(select(2, "a", "b", "c") == "b")
assert(select("#", select(2, "a", "b", "c")) == 2)
assert(select(-1, "a", "b", "c") == "c")
assert(select(-2, "a", "b", "c") == "b" and select("#", select(-2, "a", "b", "c")) == 2)
assert(select(-3, "a", "b", "c") == "a")
assert(select("#", select(4, "a", "b", "c")) == 0)
assert(select("#", select(5, "a")) == 0)
assert(errmsg(select, -4, "a", "b", "c") == "bad argument #1 to 'select' (index out of range)")
assert(errmsg(select, 0, 1) == "bad argument #1 to 'select' (index out of range)")
assert(errmsg(select, "x") == "bad argument #1 to 'select' (number expected, got string)")

-- Many results and many arguments.
local function many(n, ...)
  if n == 0 then return ... end
  return many(n - 1, n, ...)
end
assert(select("#", many(5000)) == 5000)
assert(select(1, many(5000)) == 1 and select(-1, many(5000)) == 5000)
assert(sum(many(100)) == 5050)

-- Multiple results expand only in the last position of a list.
local function three() return 1, 2, 3 end
local function none() end
assert(count(three()) == 3)
assert(count(three(), three()) == 4)
assert(count(three(), 10) == 2)
assert(count(none()) == 0 and count(none(), 1) == 2 and count(1, none()) == 1)
assert(count((three())) == 1)
assert(count((none())) == 1)
local t1 = { three() }
assert(#t1 == 3 and t1[3] == 3)
local t2 = { three(), three() }
assert(#t2 == 4 and t2[1] == 1 and t2[2] == 1 and t2[4] == 3)
local t3 = { three(), 10 }
assert(#t3 == 2 and t3[2] == 10)
local t4 = { (three()) }
assert(#t4 == 1)
local t5 = { x = three(), three() }
assert(t5.x == 1 and #t5 == 3)
local t6 = { none() }
assert(next(t6) == nil)
local function ret_expand() return three() end
local function ret_trunc() return (three()) end
local function ret_mixed() return three(), "end" end
assert(count(ret_expand()) == 3 and count(ret_trunc()) == 1)
assert(count(ret_mixed()) == 2 and select(2, ret_mixed()) == "end")
local function ret_nothing() return end
local function ret_nil() return nil end
assert(count(ret_nothing()) == 0 and count(ret_nil()) == 1)
assert(three() + 10 == 11)
assert(three() .. "" == "1")

-- Arguments are evaluated left to right before the call.
local order = ""
local function mark(s) order = order .. s; return s end
local function three_args(a, b, c) return a .. b .. c end
assert(three_args(mark("a"), mark("b"), mark("c")) == "abc" and order == "abc")

-- Call syntaxes: string and table arguments, chained calls, methods.
local function id(x) return x end
assert(id"str" == "str")
assert(id [[long]] == "long")
assert(id{ 1, 2 }[2] == 2)
assert(type"x" == "string")
local function adder(a) return function(b) return function(c) return a + b + c end end end
assert(adder(1)(2)(3) == 6)
local obj = { value = 5 }
function obj.get(self) return self.value end
function obj:add(n) self.value = self.value + n; return self end
assert(obj:get() == 5 and obj.get(obj) == 5)
assert(obj:add(1):add(2):get() == 8)
function obj:label(prefix) return prefix .. self.value end
assert(obj:label"v=" == "v=8")
local ns = { inner = { deeper = {} } }
function ns.inner.deeper.f(x) return x * 2 end
function ns.inner.deeper:m(x) return self == ns.inner.deeper and x end
assert(ns.inner.deeper.f(21) == 42 and ns.inner.deeper:m("me") == "me")
assert(errmsg(function() local t = {}; t:nomethod() end) == "functions.lua:141: attempt to call a nil value (method 'nomethod')")

-- Functions are first-class values.
local ops = { add = function(a, b) return a + b end, mul = function(a, b) return a * b end }
local function apply(f, ...) return f(...) end
assert(apply(ops.add, 2, 3) == 5 and apply(ops.mul, 2, 3) == 6)
assert(type(apply) == "function")
local function compose(f, g) return function(...) return f(g(...)) end end
assert(compose(function(x) return x + 1 end, ops.mul)(3, 4) == 13)

-- Mutual recursion through locals declared in advance.
local is_even, is_odd
function is_even(n) if n == 0 then return true end return is_odd(n - 1) end
function is_odd(n) if n == 0 then return false end return is_even(n - 1) end
assert(is_even(10) and is_odd(7) and not is_odd(8))

-- Proper tail calls: a million of them run in constant stack space.
local function loop(n, acc)
  if n == 0 then return acc end
  return loop(n - 1, acc + 1)
end
assert(loop(1000000, 0) == 1000000)
assert(is_even(1000001) == false)
local tailobj = { n = 0 }
function tailobj:step(k)
  if k == 0 then return self.n end
  self.n = self.n + 1
  return self:step(k - 1)
end
assert(tailobj:step(300000) == 300000)
local function vararg_tail(n, ...)
  if n == 0 then return select("#", ...) end
  return vararg_tail(n - 1, ...)
end
assert(vararg_tail(100000, 1, 2, 3) == 3)

-- Deep non-tail recursion works ...
local function depth(n)
  if n == 0 then return 0 end
  return 1 + depth(n - 1)
end
assert(depth(190000) == 190000)

-- ... while unbounded recursion is a catchable "stack overflow" error.
local function forever() return 1 + forever() end
assert(errmsg(forever) == "functions.lua:185: stack overflow")
local function forever2(x)
  local y = x + 1
  return forever2(y) * 2
end
assert(errmsg(forever2, 0) == "functions.lua:189: stack overflow")
-- The VM still works afterwards, including deep recursion.
assert(depth(10000) == 10000)
assert(errmsg(forever) == "functions.lua:185: stack overflow")
assert(loop(1000, 0) == 1000)

-- Tail calls through __call handlers are proper tail calls too.
local countdown = setmetatable({}, {__call = function(self, n)
  if n == 0 then return "landed" end
  return self(n - 1)
end})
assert(countdown(1000000) == "landed")
print("ok functions")
