-- Control structures: if/elseif/else, while, repeat (whose condition sees the
-- body's locals), break from nested loops, and goto with labels (continue-style
-- jumps, loops built from goto, nested scopes).

-- if / elseif / else chains.
local function sign(n)
  if n > 0 then
    return 1
  elseif n < 0 then
    return -1
  else
    return 0
  end
end
assert(sign(5) == 1 and sign(-5) == -1 and sign(0) == 0)
local function grade(s)
  local g
  if s >= 90 then g = "A" elseif s >= 80 then g = "B" elseif s >= 70 then g = "C" else g = "F" end
  return g
end
assert(grade(95) == "A" and grade(85) == "B" and grade(75) == "C" and grade(10) == "F")
local only_if = 0
if only_if == 0 then only_if = 1 end
if only_if == 0 then only_if = 2 end
assert(only_if == 1)
if nil then error("unreachable") elseif false then error("unreachable") end

-- while.
local i, sum = 1, 0
while i <= 10 do
  sum = sum + i
  i = i + 1
end
assert(sum == 55 and i == 11)
local never = 0
while false do never = never + 1 end
assert(never == 0)

-- repeat: the body runs at least once, and 'until' sees the body's locals.
local runs = 0
repeat runs = runs + 1 until true
assert(runs == 1)
local n = 0
repeat
  n = n + 1
  local done = n >= 5
until done
assert(n == 5)
local collected = {}
repeat
  local item = #collected + 1
  collected[item] = item * item
until item == 4
assert(#collected == 4 and collected[4] == 16)
-- A closure in the body captures the body's local (a fresh one per iteration).
local fns = {}
local k = 0
repeat
  k = k + 1
  local captured = k
  fns[k] = function() return captured end
until captured >= 3
assert(fns[1]() == 1 and fns[3]() == 3)

-- break leaves only the innermost loop.
local pairs_found = 0
for a = 1, 5 do
  for b = 1, 5 do
    if b > a then break end
    pairs_found = pairs_found + 1
  end
end
assert(pairs_found == 15)
local w = 0
while true do
  w = w + 1
  if w == 7 then break end
end
assert(w == 7)
local rr = 0
repeat
  rr = rr + 1
  if rr == 3 then break end
until false
assert(rr == 3)
-- break as the last statement of a nested block inside the loop.
local hits = 0
for x = 1, 100 do
  do
    hits = hits + 1
    if x == 4 then
      break
    end
  end
end
assert(hits == 4)

-- goto as 'continue'.
local odds = {}
for x = 1, 10 do
  if x % 2 == 0 then goto continue end
  odds[#odds + 1] = x
  ::continue::
end
assert(#odds == 5 and odds[5] == 9)
local y, evens = 0, 0
while y < 10 do
  y = y + 1
  if y % 2 == 1 then goto next_y end
  evens = evens + 1
  ::next_y::
end
assert(evens == 5)

-- A label at the end of a block may follow local declarations: jumping to it
-- does not enter their scope.
local visited = {}
for x = 1, 4 do
  if x % 2 == 0 then goto continue end
  local doubled = x * 2
  visited[#visited + 1] = doubled
  ::continue::
end
assert(#visited == 2 and visited[1] == 2 and visited[2] == 6)
local wi = 0
while wi < 3 do
  wi = wi + 1
  if wi == 2 then goto skip end
  local unused = wi
  ::skip::
end
assert(wi == 3)

-- A loop built only from goto.
local g, total = 1, 0
::top::
if g <= 100 then
  total = total + g
  g = g + 1
  goto top
end
assert(total == 5050)

-- goto out of nested loops (a labelled break).
local found_a, found_b
for a = 1, 10 do
  for b = 1, 10 do
    if a * b == 42 then
      found_a, found_b = a, b
      goto found
    end
  end
end
::found::
assert(found_a == 6 and found_b == 7)

-- Labels with the same name in different blocks and functions are distinct.
local trace = {}
do
  goto skip
  trace[#trace + 1] = "skipped"
  ::skip::
  trace[#trace + 1] = "first block"
end
do
  goto skip
  trace[#trace + 1] = "skipped"
  ::skip::
  trace[#trace + 1] = "second block"
end
local function with_label()
  goto skip
  do return "wrong" end
  ::skip::
  return "right"
end
assert(#trace == 2 and trace[2] == "second block" and with_label() == "right")

-- A backward goto creates a fresh local each time round.
local closures = {}
do
  local idx = 1
  ::again::
  local v = idx * 10
  closures[idx] = function() return v end
  idx = idx + 1
  if idx <= 3 then goto again end
end
assert(closures[1]() == 10 and closures[2]() == 20 and closures[3]() == 30)

-- A state machine written with gotos.
local function run_machine(input)
  local pos, out = 1, ""
  ::state_a::
  if pos > #input then goto finish end
  out = out .. "a"
  pos = pos + 1
  goto state_b
  ::state_b::
  if pos > #input then goto finish end
  out = out .. "b"
  pos = pos + 1
  goto state_a
  ::finish::
  return out
end
assert(run_machine("xxxxx") == "ababa")
assert(run_machine("") == "")

-- Nested loops of every kind together.
local count = 0
for a = 1, 3 do
  local b = 0
  while b < 3 do
    b = b + 1
    local c = 0
    repeat
      c = c + 1
      count = count + 1
    until c == 3
  end
end
assert(count == 27)

-- 'return' must end a block; 'do return end' returns from the middle of one.
local function early_exit(flag)
  local trace2 = "a"
  if flag then
    trace2 = trace2 .. "b"
    do return trace2 end
  end
  trace2 = trace2 .. "c"
  return trace2
end
assert(early_exit(true) == "ab" and early_exit(false) == "ac")
local function bare_return() return end
assert(select("#", bare_return()) == 0)

-- while and repeat whose conditions call functions and use upvalues.
local budget = 5
local function take()
  budget = budget - 1
  return budget >= 0
end
local taken = 0
while take() do taken = taken + 1 end
assert(taken == 5 and budget == -1)
local rounds = 0
repeat rounds = rounds + 1 until rounds * rounds > 50
assert(rounds == 8)

-- Empty statements are allowed anywhere.
;;; local semi = 1; ; semi = semi + 1;
assert(semi == 2)

print("ok control")
