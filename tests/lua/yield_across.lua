-- Yielding across everything Lua 5.4 allows: pcall and xpcall bodies (an error
-- after the resume still caught by the same protected call), nested protected
-- calls, metamethods written in Lua (__index, __newindex, arithmetic, __concat,
-- comparisons, __len, __call, __close, __unm), generic-for iterators, several
-- levels of Lua calls and wrapped coroutines. Each operation's result after the
-- resume is checked.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- Runs a coroutine to its end, collecting what it yields; each resume passes
-- the number of the resume back into the coroutine.
local function drive(f, ...)
  local co = coroutine.create(f)
  local yields = {}
  local res = { coroutine.resume(co, ...) }
  local i = 1
  while coroutine.status(co) == "suspended" do
    assert(res[1], res[2])
    yields[#yields + 1] = res[2]
    i = i + 1
    res = { coroutine.resume(co, i) }
  end
  return yields, res
end

-- Yield inside a pcall body: values go through both ways.
local co = coroutine.create(function(a)
  local ok, r1, r2 = pcall(function(x)
    local got = coroutine.yield(x + 1, "from pcall")
    return got * 2, "body done"
  end, a)
  coroutine.yield(ok, r1, r2)
  return "finished"
end)
local ok, v1, v2 = coroutine.resume(co, 10)
assert(ok and v1 == 11 and v2 == "from pcall")
assert(coroutine.status(co) == "suspended")
local _, pok, p1, p2 = coroutine.resume(co, 21)
assert(pok == true and p1 == 42 and p2 == "body done")
assert(select(2, coroutine.resume(co)) == "finished" and coroutine.status(co) == "dead")

-- An error raised after the resume is caught by the same pcall.
co = coroutine.create(function()
  local ok2, e = pcall(function()
    local v = coroutine.yield("inside")
    error("after resume " .. v)
  end)
  coroutine.yield(ok2, e)
  return "survived"
end)
assert(select(2, coroutine.resume(co)) == "inside")
local _, cok, cerr = coroutine.resume(co, "x")
assert(cok == false and cerr == "yield_across.lua:50: after resume x")
assert(coroutine.status(co) == "suspended")
local _, last = coroutine.resume(co)
assert(last == "survived" and coroutine.status(co) == "dead")
-- The same with a non-string error value.
local eobj = {}
co = coroutine.wrap(function()
  local ok3, e = pcall(function() coroutine.yield(1) error(eobj) end)
  return ok3, e
end)
assert(co() == 1)
local wok, werr = co()
assert(wok == false and werr == eobj)

-- xpcall: the message handler runs on the error raised after the resume and its
-- result is what xpcall returns.
local handled = {}
co = coroutine.create(function()
  return xpcall(function(a, b)
    local c = coroutine.yield(a + b)
    if c == "fail" then error("bad " .. c) end
    return c
  end, function(m)
    handled[#handled + 1] = m
    return "handled: " .. m
  end, 3, 4)
end)
assert(select(2, coroutine.resume(co)) == 7)
local _, xok, xres = coroutine.resume(co, "fail")
assert(xok == false and xres == "handled: yield_across.lua:77: bad fail")
assert(#handled == 1 and handled[1] == "yield_across.lua:77: bad fail")
assert(coroutine.status(co) == "dead")
co = coroutine.create(function()
  return xpcall(function() return coroutine.yield("y") .. "+" end, function() return "unused" end)
end)
coroutine.resume(co)
local _, xok2, xres2 = coroutine.resume(co, "fine")
assert(xok2 == true and xres2 == "fine+" and #handled == 1)

-- Nested pcalls around yields: each error lands in its own pcall.
local ys, res = drive(function()
  local log = ""
  local ok1, e1 = pcall(function()
    local ok2, e2 = pcall(function()
      local v = coroutine.yield("inner")
      error("inner error " .. v, 0)
    end)
    log = log .. tostring(ok2) .. ":" .. e2 .. ";"
    local v = coroutine.yield("middle")
    error("outer error " .. v, 0)
  end)
  log = log .. tostring(ok1) .. ":" .. e1 .. ";"
  local ok3, ok4, v4 = pcall(pcall, coroutine.yield, "through two pcalls")
  log = log .. tostring(ok3) .. ":" .. tostring(ok4) .. ":" .. v4 .. ";"
  return log
end)
assert(#ys == 3 and ys[1] == "inner" and ys[2] == "middle" and ys[3] == "through two pcalls")
assert(res[1] == true and res[2] == "false:inner error 2;false:outer error 3;true:true:4;")

-- __index and __newindex functions that yield.
local store = {}
local proxy = setmetatable({}, {
  __index = function(_, k) return coroutine.yield("get " .. k) end,
  __newindex = function(_, k, v) local extra = coroutine.yield("set " .. k) store[k] = v + extra end,
})
ys, res = drive(function()
  local a = proxy.alpha
  proxy.beta = 100
  local b = proxy[a]
  return a, b, store.beta, rawget(proxy, "beta")
end)
assert(#ys == 3 and ys[1] == "get alpha" and ys[2] == "set beta" and ys[3] == "get 2")
assert(res[2] == 2 and res[3] == 4 and res[4] == 103 and res[5] == nil)

-- A __index chain: the yielding function sits two tables away.
local base = setmetatable({}, { __index = function(_, k) return coroutine.yield(k) .. "!" end })
local mid = setmetatable({ own = "mid" }, { __index = base })
local top = setmetatable({}, { __index = mid })
ys, res = drive(function() return top.deep, top.own, top.deeper end)
assert(#ys == 2 and ys[1] == "deep" and ys[2] == "deeper")
assert(res[2] == "2!" and res[3] == "mid" and res[4] == "3!")

-- Arithmetic metamethods: the operation's value is the metamethod's result
-- after the resume.
local num = {}
num.__add = function(a, b) return coroutine.yield("add") + a.v + b.v end
num.__mul = function(a, b)
  local bv = type(b) == "table" and b.v or b
  return coroutine.yield("mul") * a.v * bv
end
num.__unm = function(a) return -coroutine.yield("unm") - a.v end
local function N(v) return setmetatable({ v = v }, num) end
ys, res = drive(function()
  local a, b = N(1), N(10)
  local s = a + b
  local p = b * 3
  local n = -a
  local mixed = (a + b) * 2
  return s, p, n, mixed
end)
assert(#ys == 4 and ys[1] == "add" and ys[2] == "mul" and ys[3] == "unm")
-- resumes carry 2, 3, 4, 5: s = 2+1+10, p = 3*10*3, n = -4-1, and the
-- second add got 5 so its result (16) fed a plain multiplication.
assert(ys[4] == "add")
assert(res[2] == 13 and res[3] == 90 and res[4] == -5 and res[5] == 32)

-- __concat, also in the middle of a longer chain.
local cat = setmetatable({ name = "C" }, {
  __concat = function(l, r)
    local sep = coroutine.yield("concat")
    local ls = type(l) == "table" and l.name or l
    local rs = type(r) == "table" and r.name or r
    return ls .. sep .. rs
  end,
})
ys, res = drive(function()
  local one = cat .. "x"
  local chain = "a" .. "b" .. cat .. "c" .. "d"
  return one, chain
end)
-- `..` is right associative: "c".."d" is joined first, then cat.."cd" yields,
-- then "a".."b"..(that result).
assert(#ys == 2 and ys[1] == "concat" and ys[2] == "concat")
assert(res[2] == "C2x" and res[3] == "abC3cd")

-- Comparisons: the result is the truthiness of the metamethod's value, converted
-- to a boolean; `~=` negates __eq, `>` and `>=` swap the operands.
local order = {}
local cmp = {
  __eq = function(a, b) local r = coroutine.yield("eq") return r end,
  __lt = function(a, b) order[#order + 1] = a.k .. "<" .. b.k return coroutine.yield("lt") end,
  __le = function(a, b) order[#order + 1] = a.k .. "<=" .. b.k return coroutine.yield("le") end,
}
local A, B = setmetatable({ k = "A" }, cmp), setmetatable({ k = "B" }, cmp)
local co2 = coroutine.create(function()
  return A == B, A ~= B, A < B, A <= B, A > B, A >= B
end)
local replies = { 0, false, nil, "yes", 1, false }
local r = { coroutine.resume(co2) }
local asked = {}
for i = 1, 6 do
  asked[i] = r[2]
  r = { coroutine.resume(co2, replies[i]) }
end
assert(asked[1] == "eq" and asked[2] == "eq" and asked[3] == "lt" and asked[4] == "le")
assert(asked[5] == "lt" and asked[6] == "le")
assert(r[1] == true and coroutine.status(co2) == "dead")
assert(r[2] == true and r[3] == true and r[4] == false and r[5] == true and r[6] == true and r[7] == false)
assert(order[1] == "A<B" and order[2] == "A<=B" and order[3] == "B<A" and order[4] == "B<=A")
-- A comparison inside a condition jumps the right way after the resume.
ys, res = drive(function()
  local out = ""
  if A < B then out = out .. "lt" else out = out .. "nlt" end
  while A <= B do out = out .. "le" break end
  if not (A == B) then out = out .. "ne" end
  return out
end)
-- The resumes pass 2, 3, 4: all truthy.
assert(#ys == 3 and res[2] == "ltle")

-- __len and __call.
local sized = setmetatable({}, {
  __len = function() return coroutine.yield("len") * 10 end,
  __call = function(self, a, b) local c = coroutine.yield("call") return a + b + c, "second" end,
})
ys, res = drive(function()
  local l = #sized
  local s, t = sized(1, 2)
  local method_like = { f = sized }
  local u = method_like.f(100, 0)
  return l, s, t, u
end)
assert(#ys == 3 and ys[1] == "len" and ys[2] == "call" and ys[3] == "call")
assert(res[2] == 20 and res[3] == 6 and res[4] == "second" and res[5] == 104)

-- __close yielding on a normal block exit, on return and on an error.
local closelog = {}
local function closer(name)
  return setmetatable({}, { __close = function(_, e)
    local v = coroutine.yield("close " .. name)
    closelog[#closelog + 1] = name .. "=" .. tostring(v) .. "/" .. tostring(e)
  end })
end
ys, res = drive(function()
  do
    local a <close> = closer("a")
    local b <close> = closer("b")
    closelog[#closelog + 1] = "body"
  end
  closelog[#closelog + 1] = "after block"
  local function early()
    local c <close> = closer("c")
    return "early", "result"
  end
  local e1, e2 = early()
  local okp, perr = pcall(function()
    local d <close> = closer("d")
    error("oops", 0)
  end)
  return e1, e2, okp, perr
end)
assert(#ys == 4 and ys[1] == "close b" and ys[2] == "close a" and ys[3] == "close c" and ys[4] == "close d")
assert(closelog[1] == "body" and closelog[2] == "b=2/nil" and closelog[3] == "a=3/nil")
assert(closelog[4] == "after block" and closelog[5] == "c=4/nil" and closelog[6] == "d=5/oops")
assert(res[2] == "early" and res[3] == "result" and res[4] == false and res[5] == "oops")

-- A generic-for iterator that yields between items.
local function slow_range(n)
  local i = 0
  return function()
    i = i + 1
    if i > n then return nil end
    local bonus = coroutine.yield("item " .. i)
    return i, bonus
  end
end
ys, res = drive(function()
  local acc = 0
  for i, bonus in slow_range(3) do acc = acc + i * 100 + bonus end
  return acc
end)
assert(#ys == 3 and ys[1] == "item 1" and ys[3] == "item 3")
assert(res[2] == 100 + 2 + 200 + 3 + 300 + 4)
-- A stateless iterator that yields, given to the for with its state.
local function yield_next(t, k)
  local nk, nv = next(t, k)
  if nk ~= nil then coroutine.yield(nv) end
  return nk, nv
end
local sumit = coroutine.wrap(function(t)
  local n = 0
  for _, v in yield_next, t, nil do n = n + v end
  return "sum", n
end)
local s = 0
local y = sumit({ 5, 6, 7 })
while y ~= "sum" do s = s + y; y = sumit() end
assert(s == 18)

-- Yielding through several levels of Lua calls.
local function level3(x) return coroutine.yield(x * 2) + 1 end
local function level2(x) local r2 = level3(x + 1) return r2 * 10 end
local function level1(x) return level2(x) + level2(x + 100) end
ys, res = drive(level1, 1)
assert(#ys == 2 and ys[1] == 4 and ys[2] == 204)
assert(res[2] == (2 + 1) * 10 + (3 + 1) * 10)
-- A recursive function yielding at every depth.
local function countdown(n)
  if n == 0 then return 0 end
  local got = coroutine.yield(n)
  return got + countdown(n - 1)
end
ys, res = drive(countdown, 5)
assert(#ys == 5 and ys[1] == 5 and ys[5] == 1 and res[2] == 2 + 3 + 4 + 5 + 6)

-- Inside a function called from a wrapped coroutine.
local function helper(tag)
  local a = coroutine.yield(tag .. "1")
  local b = coroutine.yield(tag .. "2")
  return a .. b
end
local w = coroutine.wrap(function()
  local r1 = helper("h")
  local r2 = helper("k")
  return r1 .. "|" .. r2
end)
assert(w() == "h1" and w("p") == "h2" and w("q") == "k1" and w("r") == "k2")
assert(w("s") == "pq|rs")
assert(errmsg(w) == "cannot resume dead coroutine")

-- Metamethods and protected calls combined: a yield in __index inside a pcall
-- inside a __call.
local combo = setmetatable({}, {
  __call = function()
    local okc, v = pcall(function()
      local lookup = setmetatable({}, { __index = function(_, k) return coroutine.yield(k) end })
      return lookup.key .. "/" .. lookup.other
    end)
    return okc, v
  end,
})
ys, res = drive(function() return combo() end)
assert(#ys == 2 and ys[1] == "key" and ys[2] == "other")
assert(res[2] == true and res[3] == "2/3")

print("ok yield_across")
