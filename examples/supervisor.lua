-- A supervisor restarting a failing worker (run it with `vm run`).
--
-- The worker squares the numbers it is sent and reports each result; it
-- fails on a number it cannot handle. The supervisor watches it with
-- agent.monitor: when it goes down with an error, it starts a new one
-- and carries on with the numbers left.

local function worker(boss)
  while true do
    local n = agent.receive()
    if n == nil then return end            -- the end of the work
    if n < 0 then error("cannot square " .. n) end
    agent.send(boss, "result", n, n * n)
  end
end

local me = agent.self()
local jobs = { 1, 2, -3, 4, -5, 6 }
local restarts = 0

local function start()
  local id = agent.spawn(worker, me)
  agent.monitor(id)
  return id
end

local current = start()
local next_job = 1
local function feed()
  if next_job <= #jobs then
    agent.send(current, jobs[next_job])
    next_job = next_job + 1
  else
    agent.send(current, nil)
  end
end

feed()
while true do
  local what, a, b = agent.receive()
  if what == "result" then
    print(("%d squared is %d"):format(a, b))
    feed()
  elseif what == "down" and b == "normal" then
    break
  elseif what == "down" then
    restarts = restarts + 1
    print("worker failed: " .. (b:match("^[^\n]*"):gsub("^.-: ", "")))
    current = start()
    feed()
  end
end
print(("done, %d restarts"):format(restarts))
