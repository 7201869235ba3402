-- Closures and upvalues: creates closures in loops (a fresh upvalue per iteration),
-- shares one upvalue between a getter and a setter, and calls composed functions.

local N = 4000000

local function make_counter(step)
  local count = 0
  return function()
    count = count + step
    return count
  end
end

local function make_cell(v)
  local function get()
    return v
  end
  local function set(x)
    v = x
  end
  return get, set
end

local function compose(f, g)
  return function(x)
    return f(g(x))
  end
end

-- Closure creation plus calls through upvalues.
local sum = 0
for i = 1, N do
  local c = make_counter(i % 5 + 1)
  c()
  sum = sum + c()
end

-- Getter and setter share the same open/closed upvalue.
local get, set = make_cell(0)
for i = 1, N do
  set(get() + i % 7)
end

-- Each loop iteration captures its own copy of the loop variable.
local fs = {}
for i = 1, 1000 do
  fs[i] = function(x)
    return x + i
  end
end
local acc = 0
for r = 1, 3000 do
  for i = 1, #fs do
    acc = fs[i](acc) % 1000003
  end
  acc = acc + r
end

-- A chain of composed closures.
local inc = function(x)
  return x + 1
end
local dbl = function(x)
  return x * 2 % 1000003
end
local f = compose(inc, compose(dbl, compose(inc, dbl)))
local y = 1
for _ = 1, N do
  y = f(y)
end

print("closures: sum = " .. sum .. ", cell = " .. get() .. ", acc = " .. acc .. ", y = " .. y)
