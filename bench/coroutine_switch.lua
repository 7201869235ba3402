-- Coroutine switches: resume/yield round trips passing values both ways. A generator
-- coroutine yields a running value and folds in the reply it is resumed with; a second
-- coroutine is driven through coroutine.wrap; a pair of coroutines pass a token back and
-- forth through the main loop. Each round trip is one resume and one yield.

local N = 1200000

-- One coroutine, resumed with a value, yielding a value.
local co = coroutine.create(function(seed)
  local x = seed
  while true do
    local reply = coroutine.yield(x)
    x = (x * 31 + reply) % 1000003
  end
end)
local resume = coroutine.resume
local sum = 0
local _, v = resume(co, 7)
for i = 1, N do
  local ok
  ok, v = resume(co, i & 1023)
  if not ok then
    error(v)
  end
  sum = (sum + v) % 2147483647
end

-- The same through coroutine.wrap (no status boolean in the results).
local gen = coroutine.wrap(function()
  local a, b = 0, 1
  while true do
    coroutine.yield(a)
    a, b = b, (a + b) % 1000000007
  end
end)
local fsum = 0
for _ = 1, N do
  fsum = (fsum + gen()) % 1000000007
end

-- Two coroutines handing a counter to each other through the main loop.
local ping = coroutine.wrap(function(n)
  while true do
    n = coroutine.yield(n + 1)
  end
end)
local pong = coroutine.wrap(function(n)
  while true do
    n = coroutine.yield(n * 3 % 65521)
  end
end)
local token = 1
for _ = 1, N // 2 do
  token = pong(ping(token))
end

print("coroutine_switch: sum = " .. sum .. ", fib = " .. fsum .. ", token = " .. token
  .. ", status = " .. coroutine.status(co))
