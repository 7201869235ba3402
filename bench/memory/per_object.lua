-- Resident memory per object against what the memory limit counts for it:
-- `vm bench/memory/per_object.lua KIND` (str, str100, tab, tab4, rec, gc, fn, co, load,
-- gmatch, pair, closed, open) keeps a million objects of one kind (load: 100,000; open:
-- 10,000 files open on /dev/zero) with the collector stopped.
-- Linux only (reads /proc/self/status). BENCHMARKS.md, "Memory accounting".
local function rss() local f = io.open("/proc/self/status") local s = f:read("a") f:close() return tonumber(s:match("VmRSS:%s*(%d+)")) * 1024 end
local kind = arg[1]
local N = 1000000
local keep = {}
for i = 1, N do keep[i] = false end
local mt = {__gc = function() end}
collectgarbage() collectgarbage("stop")
local r0, c0 = rss(), collectgarbage("count") * 1024
for i = 1, N do
  if kind == "str" then keep[i] = "s" .. i
  elseif kind == "str100" then keep[i] = string.rep("x", 100) .. i
  elseif kind == "tab" then keep[i] = {}
  elseif kind == "tab4" then keep[i] = {1,2,3,4}
  elseif kind == "rec" then keep[i] = {x=1,y=2}
  elseif kind == "gc" then keep[i] = setmetatable({}, mt)
  elseif kind == "fn" then keep[i] = function() return i end
  elseif kind == "co" then keep[i] = coroutine.create(print)
  elseif kind == "load" then if i > N/10 then break end keep[i] = load("return " .. i)
  elseif kind == "gmatch" then keep[i] = ("abc"):gmatch(".")
  elseif kind == "pair" then local u = i keep[i] = {function() return u end, function() u = u + 1 end}
  elseif kind == "closed" then local f = io.open("/dev/null") f:close() keep[i] = f
  elseif kind == "open" then if i > N/100 then break end local f = io.open("/dev/zero") f:read(1) keep[i] = f
  end
end
local n = kind == "load" and N/10 or kind == "open" and N/100 or N
local r1, c1 = rss(), collectgarbage("count") * 1024
print(string.format("%-7s rss/obj %6.1f  counted/obj %6.1f  ratio %.2f", kind, (r1-r0)/n, (c1-c0)/n, (r1-r0)/(c1-c0)))
