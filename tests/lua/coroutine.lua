-- The coroutine library: create, resume and yield passing values both ways, status
-- in every state, wrap (errors with the wrap call's position added), isyieldable,
-- running, close (pending <close> variables, dead coroutines, errors), the errors
-- for resuming dead, running and normal coroutines, generators, a chain of
-- coroutines resuming each other, coroutines as table keys, and collection of an
-- abandoned suspended coroutine.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- create returns a thread; its argument must be a function.
local co = coroutine.create(function() end)
assert(type(co) == "thread")
assert(coroutine.create(print) ~= coroutine.create(print))
assert(errmsg(function() coroutine.create(1) end) == "coroutine.lua:18: bad argument #1 to 'create' (function expected, got number)")
assert(errmsg(coroutine.create) == "bad argument #1 to 'coroutine.create' (function expected, got no value)")

-- Values flow both ways: the first resume's arguments become the body's
-- parameters, yield's arguments become resume's results, the next resume's
-- arguments become yield's results, and the body's return values end the run.
local trace = {}
co = coroutine.create(function(a, b, ...)
  trace[#trace + 1] = "start " .. a .. " " .. b .. " " .. select("#", ...)
  local c, d = coroutine.yield(a + b, a * b)
  trace[#trace + 1] = "got " .. c .. " " .. tostring(d)
  local e = coroutine.yield()
  trace[#trace + 1] = "got " .. tostring(e)
  return "done", c + 1, nil
end)
local ok, x, y = coroutine.resume(co, 3, 4, "extra", "more")
assert(ok == true and x == 7 and y == 12)
assert(trace[1] == "start 3 4 2")
assert(select("#", coroutine.resume(co, 10)) == 1)
assert(trace[2] == "got 10 nil")
local r = { coroutine.resume(co, "last", "ignored") }
assert(trace[3] == "got last")
assert(r[1] == true and r[2] == "done" and r[3] == 11 and r[4] == nil)
assert(select("#", coroutine.resume(coroutine.create(function() return 1, nil, nil end))) == 4)

-- yield with no values and with many values.
co = coroutine.create(function(...)
  coroutine.yield()
  coroutine.yield(...)
  return select("#", coroutine.yield(nil, nil))
end)
assert(select("#", coroutine.resume(co, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) == 1)
local res = { coroutine.resume(co) }
assert(select("#", coroutine.resume(co)) == 3)
assert(#res == 11 and res[1] == true and res[2] == 1 and res[11] == 10)
local _, nres = coroutine.resume(co, "a", "b", "c")
assert(nres == 3)
co = coroutine.create(function() return select("#", coroutine.yield()) end); coroutine.resume(co); assert(select(2, coroutine.resume(co)) == 0)
local many = coroutine.create(function()
  local a, b, c, d, e = coroutine.yield(1, 2, 3, 4, 5)
  return e, d, c, b, a
end)
local _, m1, m2, m3, m4, m5 = coroutine.resume(many)
assert(m1 + m2 + m3 + m4 + m5 == 15 and m5 == 5)
_, m1, m2, m3, m4, m5 = coroutine.resume(many, "A", "B", "C", "D", "E")
assert(m1 == "E" and m2 == "D" and m3 == "C" and m4 == "B" and m5 == "A")

-- status in every state.
local main = coroutine.running()
local inner_status, outer_seen_by_inner
local outer
outer = coroutine.create(function()
  inner_status = coroutine.status(outer)
  local inner = coroutine.create(function()
    outer_seen_by_inner = coroutine.status(outer)
    coroutine.yield()
  end)
  coroutine.resume(inner)
  coroutine.yield(coroutine.status(inner))
  error("failed")
end)
assert(coroutine.status(outer) == "suspended")
local _, inner_after = coroutine.resume(outer)
assert(inner_status == "running")
assert(outer_seen_by_inner == "normal")
assert(inner_after == "suspended")
assert(coroutine.status(outer) == "suspended")
assert(coroutine.status(main) == "running")
local ok2, err2 = coroutine.resume(outer)
assert(ok2 == false and err2 == "coroutine.lua:77: failed")
assert(coroutine.status(outer) == "dead")
co = coroutine.create(function() return 1 end)
coroutine.resume(co)
assert(coroutine.status(co) == "dead")
assert(select(2, coroutine.resume(coroutine.create(function() return coroutine.status(main) end))) == "normal")

-- Resuming a dead coroutine (after a return or after an error).
ok, x = coroutine.resume(co)
assert(ok == false and x == "cannot resume dead coroutine")
ok, x = coroutine.resume(outer)
assert(ok == false and x == "cannot resume dead coroutine")

-- Resuming the running coroutine, a normal one, or the main thread.
co = coroutine.create(function() return coroutine.resume(coroutine.running()) end)
local okc, okr, msg = coroutine.resume(co)
assert(okc == true and okr == false and msg == "cannot resume non-suspended coroutine")
outer = coroutine.create(function()
  local inner = coroutine.create(function() return coroutine.resume(outer) end)
  return coroutine.resume(inner)
end)
local a1, a2, a3, a4 = coroutine.resume(outer)
assert(a1 and a2 and a3 == false and a4 == "cannot resume non-suspended coroutine")
ok, x = coroutine.resume(main)
assert(ok == false and x == "cannot resume non-suspended coroutine")

-- Yielding from the main thread.
assert(errmsg(function() coroutine.yield(1) end) == "attempt to yield from outside a coroutine")
assert(errmsg(coroutine.yield) == "attempt to yield from outside a coroutine")

-- wrap: a function that resumes; values both ways, errors propagated.
local gen = coroutine.wrap(function(first)
  local got = coroutine.yield(first * 2)
  local a, b = coroutine.yield(got .. "!")
  return a + b, "end"
end)
assert(gen(21) == 42)
assert(gen("hi") == "hi!")
local s1, s2 = gen(1, 2)
assert(s1 == 3 and s2 == "end")
assert(errmsg(gen) == "cannot resume dead coroutine")
assert(errmsg(function() gen() end) == "coroutine.lua:128: cannot resume dead coroutine")
assert(type(gen) == "function")
-- An error inside gets the wrap call's position in front of its own.
local bad = coroutine.wrap(function() error("boom") end)
assert(errmsg(function()
  bad()
end) == "coroutine.lua:133: coroutine.lua:131: boom")
local bad0 = coroutine.wrap(function() error("bare", 0) end)
assert(errmsg(function() bad0() end) == "coroutine.lua:136: bare")
local bad_index = coroutine.wrap(function() local t = nil; return t.field end)
assert(errmsg(function() bad_index() end) == "coroutine.lua:138: coroutine.lua:137: attempt to index a nil value (local 't')")
local wrapped_yield = coroutine.wrap(function() coroutine.yield(1) error("later") end)
assert(wrapped_yield() == 1)
assert(errmsg(function() wrapped_yield() end) == "coroutine.lua:141: coroutine.lua:139: later")
-- Called directly by pcall there is no caller position to add.
assert(errmsg(coroutine.wrap(function() error("direct") end)) == "coroutine.lua:143: direct")

-- isyieldable.
assert(coroutine.isyieldable() == false)
assert(coroutine.isyieldable(main) == false)
co = coroutine.create(function()
  return coroutine.isyieldable(), coroutine.isyieldable(coroutine.running()), coroutine.isyieldable(main)
end)
local _, y1, y2, y3 = coroutine.resume(co)
assert(y1 == true and y2 == true and y3 == false)
-- A coroutine that is not running can yield once resumed.
co = coroutine.create(function() coroutine.yield() end)
coroutine.resume(co)
assert(coroutine.isyieldable(co) == true)
assert(errmsg(function() coroutine.isyieldable(1) end) == "coroutine.lua:157: bad argument #1 to 'isyieldable' (thread expected, got number)")

-- running.
local th, ismain = coroutine.running()
assert(type(th) == "thread" and ismain == true and th == main)
co = coroutine.create(function() return coroutine.running() end)
local _, rth, rmain = coroutine.resume(co)
assert(rth == co and rmain == false)
local self_ref
local w = coroutine.wrap(function()
  local t, m = coroutine.running()
  self_ref = t
  coroutine.yield(m)
  return coroutine.status(t)
end)
assert(w() == false and type(self_ref) == "thread" and self_ref ~= main)
assert(coroutine.status(self_ref) == "suspended")
assert(w() == "running")
assert(coroutine.status(self_ref) == "dead")

-- close: pending <close> variables run in reverse order and close returns true.
local log = {}
local function closer(name)
  return setmetatable({}, { __close = function(_, e) log[#log + 1] = name .. ":" .. tostring(e) end })
end
co = coroutine.create(function()
  local a <close> = closer("a")
  local b <close> = closer("b")
  coroutine.yield(1)
  log[#log + 1] = "not reached"
end)
coroutine.resume(co)
assert(#log == 0)
assert(coroutine.close(co) == true)
assert(#log == 2 and log[1] == "b:nil" and log[2] == "a:nil")
assert(coroutine.status(co) == "dead")
-- Closing twice, closing an unstarted or finished coroutine: true.
assert(coroutine.close(co) == true and #log == 2)
co = coroutine.create(function() log[#log + 1] = "never runs" end)
assert(coroutine.close(co) == true and coroutine.status(co) == "dead" and #log == 2)
assert(select(2, coroutine.resume(co)) == "cannot resume dead coroutine")
co = coroutine.create(function() return 1 end)
coroutine.resume(co)
assert(coroutine.close(co) == true)
-- A coroutine dead by error: close returns false and the error, then true.
co = coroutine.create(function() error("dead by error") end)
coroutine.resume(co)
ok, x = coroutine.close(co)
assert(ok == false and x == "coroutine.lua:202: dead by error")
assert(coroutine.close(co) == true)
-- Its pending <close> variables are left for close, which passes them the error.
log = {}
local eobj = { code = 5 }
co = coroutine.create(function()
  local c <close> = closer("c")
  error(eobj)
end)
ok, x = coroutine.resume(co)
assert(ok == false and x == eobj and #log == 0)
ok, x = coroutine.close(co)
assert(ok == false and x == eobj and #log == 1 and log[1] == "c:" .. tostring(eobj))
-- wrap closes them itself when the body fails.
log = {}
assert(errmsg(coroutine.wrap(function()
  local d <close> = closer("d")
  error("wrapped", 0)
end)) == "wrapped" and log[1] == "d:wrapped")
-- An error in __close is what close returns (the last one raised wins).
co = coroutine.create(function()
  local p <close> = setmetatable({}, { __close = function() error("first close") end })
  local q <close> = setmetatable({}, { __close = function() error(eobj) end })
  coroutine.yield()
end)
coroutine.resume(co)
ok, x = coroutine.close(co)
assert(ok == false and x == "coroutine.lua:226: first close")
assert(coroutine.status(co) == "dead" and coroutine.close(co) == true)
co = coroutine.create(function()
  local q <close> = setmetatable({}, { __close = function(_, e) error(e == nil and eobj) end })
  coroutine.yield()
end)
coroutine.resume(co)
ok, x = coroutine.close(co)
assert(ok == false and x == eobj)
-- The running and normal coroutines cannot be closed.
assert(errmsg(function() coroutine.close(main) end) == "coroutine.lua:242: cannot close a running coroutine")
co = coroutine.create(function() return pcall(coroutine.close, coroutine.running()) end)
local c1, c2, c3 = coroutine.resume(co)
assert(c1 == true and c2 == false and c3 == "cannot close a running coroutine")
outer = coroutine.create(function()
  local inner = coroutine.create(function() coroutine.close(outer) end)
  return coroutine.resume(inner)
end)
c1, c2, c3 = coroutine.resume(outer)
assert(c1 == true and c2 == false and c3 == "coroutine.lua:247: cannot close a normal coroutine")
assert(errmsg(function() coroutine.close(1) end) == "coroutine.lua:252: bad argument #1 to 'close' (thread expected, got number)")

-- Generators: a producer/consumer pair.
local function producer(items)
  return coroutine.create(function()
    for _, item in ipairs(items) do coroutine.yield(item) end
    return nil
  end)
end
local function consumer(prod)
  local out = ""
  while true do
    local okp, item = coroutine.resume(prod)
    assert(okp)
    if item == nil then break end
    out = out .. item .. ";"
  end
  return out
end
local prod = producer({ "x", "y", 3 })
assert(consumer(prod) == "x;y;3;")
assert(coroutine.status(prod) == "dead")
-- A filter between them: the consumer pulls, the filter pulls from the producer.
local function filter(prod2)
  return coroutine.create(function()
    while true do
      local _, item = coroutine.resume(prod2)
      if item == nil then return nil end
      if type(item) == "number" and item % 2 == 0 then coroutine.yield(item * 10) end
    end
  end)
end
assert(consumer(filter(producer({ 1, 2, 3, 4, 5, 6 }))) == "20;40;60;")

-- A permutation generator yielding from nested recursive calls.
local function permgen(a, k)
  k = k or #a
  if k <= 1 then
    coroutine.yield(a)
  else
    for i = 1, k do
      a[k], a[i] = a[i], a[k]
      permgen(a, k - 1)
      a[k], a[i] = a[i], a[k]
    end
  end
end
local function permutations(a)
  return coroutine.wrap(function() permgen(a) end)
end
local seen, count = {}, 0
for p in permutations({ "a", "b", "c", "d" }) do
  local key = p[1] .. p[2] .. p[3] .. p[4]
  assert(seen[key] == nil)
  seen[key] = true
  count = count + 1
end
assert(count == 24 and seen.abcd and seen.dcba and seen.badc)

-- A chain of coroutines, each resuming the next. The VM's own Rust tests run a
-- chain of 10,000; PUC Lua stops near 200 with "C stack overflow", so the
-- script keeps to 150 levels.
local function chain(depth)
  local function make(i)
    return coroutine.create(function(acc)
      if i == depth then
        local back = coroutine.yield(acc + i)
        return back
      end
      local nxt = make(i + 1)
      local okn, v = coroutine.resume(nxt, acc + i)
      assert(okn, v)
      local back = coroutine.yield(v)
      local okb, v2 = coroutine.resume(nxt, back + 1)
      assert(okb, v2)
      return v2
    end)
  end
  local first = make(1)
  local _, total = coroutine.resume(first, 0)
  local _, final = coroutine.resume(first, 0)
  return total, final
end
local total, final = chain(150)
assert(total == 150 * 151 // 2)
assert(final == 149)

-- Coroutines are values: table keys and fields, compared by identity.
local reg = {}
local cos = {}
for i = 1, 5 do
  local c = coroutine.create(function() coroutine.yield(i) return i * 100 end)
  cos[i] = c
  reg[c] = i
end
local sum = 0
for c, i in pairs(reg) do
  local _, yv = coroutine.resume(c)
  assert(yv == i)
  sum = sum + i
end
assert(sum == 15)
assert(reg[cos[3]] == 3 and reg[coroutine.running()] == nil)
local finished = 0
for i = 1, 5 do
  local _, rv = coroutine.resume(cos[i])
  if rv == i * 100 and coroutine.status(cos[i]) == "dead" then finished = finished + 1 end
end
assert(finished == 5)
local obj = { co = coroutine.wrap(function(self) coroutine.yield(self.name) return "bye" end), name = "obj" }
assert(obj.co(obj) == "obj" and obj.co() == "bye")

-- An abandoned suspended coroutine is collected (with whatever it holds).
local collected = 0
local function abandon()
  local c = coroutine.create(function()
    local held = setmetatable({}, { __gc = function() collected = collected + 1 end })
    coroutine.yield(held ~= nil)
    return held
  end)
  return coroutine.resume(c)
end
for _ = 1, 10 do assert(select(2, abandon()) == true) end
collectgarbage("collect")
collectgarbage("collect")
assert(collected == 10)
-- Coroutines keep working afterwards.
local after = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
assert(after(1) == 2 and after(5) == 10)
assert(collectgarbage("count") > 0)

-- Handlers run by coroutine.close see no frame below their own, as in
-- PUC Lua (which calls them from C).
do
  local seen
  local co = coroutine.create(function()
    local x <close> = setmetatable({}, {__close = function() seen = debug.getinfo(2, "S") == nil end})
    coroutine.yield()
  end)
  coroutine.resume(co)
  assert(coroutine.close(co) == true and seen == true)
end

print("ok coroutine")
