-- Garbage collection as seen from Lua: collectgarbage("count") and ("collect"),
-- memory that is freed, weak tables (keys, values, both, ephemerons), finalizers
-- (once only, resurrection, errors inside them) and bounded memory while
-- allocating garbage in a loop. Garbage is created inside helper functions so
-- that no dead stack slot of the main chunk keeps it alive.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local function count_entries(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- The two options available at this stage.
local kb = collectgarbage("count")
assert(type(kb) == "number" and kb > 0)
assert(collectgarbage("collect") == 0)
assert(errmsg(collectgarbage, "bogus") == "bad argument #1 to 'collectgarbage' (invalid option 'bogus')")

-- Live data is counted; dropping it and collecting gives the memory back.
collectgarbage("collect")
local base = collectgarbage("count")
local big = {}
for i = 1, 100000 do big[i] = { i } end
local grown = collectgarbage("count")
assert(grown > base + 1000)
big = nil
collectgarbage("collect")
local shrunk = collectgarbage("count")
assert(shrunk < grown - 1000)

-- Allocating lots of garbage (tables and fresh strings) keeps memory bounded.
collectgarbage("collect")
base = collectgarbage("count")
local peak = base
for i = 1, 300000 do
  local t = { i, i + 1, name = "key" .. i }
  if i % 1000 == 0 then
    local c = collectgarbage("count")
    if c > peak then peak = c end
  end
end
assert(peak - base < 16384)

-- Weak keys: entries whose key is only reachable from the table disappear.
local wk = setmetatable({}, { __mode = "k" })
local keep = {}
local function fill_wk()
  for i = 1, 10 do wk[{}] = i end
  wk[keep] = "kept"
  wk[1] = "number key"
  wk["str"] = {}
end
fill_wk()
assert(count_entries(wk) == 13)
collectgarbage("collect")
assert(count_entries(wk) == 3)
assert(wk[keep] == "kept" and wk[1] == "number key" and type(wk.str) == "table")

-- Weak values: collected values disappear; strings, numbers and booleans stay.
local wv = setmetatable({}, { __mode = "v" })
local function fill_wv()
  wv[1] = {}
  wv[2] = function() end
  wv[3] = keep
  wv[4] = "a string" .. 1
  wv[5] = 3.5
  wv[6] = true
end
fill_wv()
collectgarbage("collect")
assert(wv[1] == nil and wv[2] == nil and wv[3] == keep)
assert(wv[4] == "a string1" and wv[5] == 3.5 and wv[6] == true)

-- Weak keys and values together.
local wkv = setmetatable({}, { __mode = "kv" })
local function fill_wkv()
  wkv[{}] = "dead key"
  wkv["live key"] = {}
  wkv[keep] = keep
end
fill_wkv()
collectgarbage("collect")
assert(count_entries(wkv) == 1 and wkv[keep] == keep)

-- Ephemerons: a value that refers to its own key does not keep the entry alive.
local eph = setmetatable({}, { __mode = "k" })
local function fill_eph()
  local k = {}
  eph[k] = { back = k }
  eph[keep] = { back = keep }
end
fill_eph()
collectgarbage("collect")
assert(count_entries(eph) == 1 and eph[keep].back == keep)

-- Cycles are collected.
local registry = setmetatable({}, { __mode = "v" })
local function make_cycle()
  local a, b = {}, {}
  a.other, b.other = b, a
  registry.a, registry.b = a, b
end
make_cycle()
assert(registry.a ~= nil)
collectgarbage("collect")
assert(registry.a == nil and registry.b == nil)

-- Finalizers run once, can read the object, and see what it references.
local gc_log = {}
local function make_finalized(name)
  setmetatable({ name = name, payload = { name .. "!" } }, { __gc = function(o)
    gc_log[#gc_log + 1] = o.name .. o.payload[1]
  end })
end
make_finalized("x")
collectgarbage("collect")
assert(#gc_log == 1 and gc_log[1] == "xx!")
collectgarbage("collect")
assert(#gc_log == 1)

-- A live object is not finalized.
local alive_finalized = false
local alive = setmetatable({}, { __gc = function() alive_finalized = true end })
collectgarbage("collect")
assert(not alive_finalized and alive)

-- Resurrection: the finalizer stores the object; it stays usable, its finalizer
-- does not run again, and weak values drop it before the finalizer runs.
local resurrect_count = 0
local weak_ref = setmetatable({}, { __mode = "v" })
local function make_phoenix()
  local o = setmetatable({ name = "phoenix" }, { __gc = function(self)
    resurrect_count = resurrect_count + 1
    phoenix = self
  end })
  weak_ref[1] = o
end
make_phoenix()
collectgarbage("collect")
assert(resurrect_count == 1 and phoenix.name == "phoenix")
assert(weak_ref[1] == nil)
phoenix = nil
collectgarbage("collect")
collectgarbage("collect")
assert(resurrect_count == 1)

-- An error inside a finalizer does not escape from collectgarbage.
local ran = 0
local function make_failing()
  setmetatable({}, { __gc = function() ran = ran + 1; error("in __gc") end })
end
make_failing()
assert(pcall(collectgarbage, "collect") == true)
assert(ran == 1)

-- Many finalizers in one cycle.
local finalized_count = 0
local function make_many()
  for _ = 1, 1000 do
    setmetatable({}, { __gc = function() finalized_count = finalized_count + 1 end })
  end
end
make_many()
collectgarbage("collect")
assert(finalized_count == 1000)

-- Memory returns close to the starting point after everything is dropped.
collectgarbage("collect")
assert(collectgarbage("count") < base + 1024)

-- Chains of ephemeron entries, each key kept only by the value of the
-- entry before (or after) it, are kept whole by one reachable end (and
-- marked in a pass or two, however long).
do
  for _, forward in ipairs({true, false}) do
    local N = 20000
    local e = setmetatable({}, {__mode = "k"})
    local keys = {}
    for i = 1, N do keys[i] = {} end
    for i = 1, N - 1 do
      if forward then e[keys[i + 1]] = keys[i] else e[keys[i]] = keys[i + 1] end
    end
    local root = forward and keys[N] or keys[1]
    keys = nil
    collectgarbage()
    local n = 0
    for _ in pairs(e) do n = n + 1 end
    assert(n == N - 1, n)
    root = nil
    collectgarbage()
    assert(next(e) == nil)
  end
end

-- The deprecated "setpause" and "setstepmul" return the previous values,
-- kept in quarters as PUC keeps them; "step" checks its size.
-- (In a function: more registers in the main chunk change what the weak
-- table checks above see in lua5.4.)
local function gc_parameters()
  local pause = collectgarbage("setpause", 150)
  assert(math.type(pause) == "integer")
  assert(collectgarbage("setpause", pause) == 148)
  local stepmul = collectgarbage("setstepmul", 301)
  assert(collectgarbage("setstepmul", stepmul) == 300)
  assert(collectgarbage("setpause", pause) == pause)
  local ok, msg = pcall(collectgarbage, "step", "x")
  assert(not ok and msg == "bad argument #2 to 'collectgarbage' (number expected, got string)")
  assert(type(collectgarbage("step", 0)) == "boolean")
end
gc_parameters()


-- Tables larger than one step of the collector's tracing (strong, and weak
-- keys with values kept only through them) keep every live entry, and the
-- weak one loses them all once its keys are garbage.
local function check_big_tables()
  local big, weak = {}, setmetatable({}, {__mode = "k"})
  local function fill(keys)
    for i = 1, 3000 do
      big[i] = {i}
      local k = {}
      keys[i] = k
      weak[k] = {i}
    end
  end
  local keys = {}
  fill(keys)
  collectgarbage()
  local n = 0
  for i = 1, 3000 do
    assert(big[i][1] == i and weak[keys[i]][1] == i)
  end
  for _ in pairs(weak) do n = n + 1 end
  assert(n == 3000)
  keys = nil
  collectgarbage()
  assert(next(weak) == nil)
end
check_big_tables()

print("ok gc")
