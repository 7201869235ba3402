-- Generators built on coroutine.wrap: a producer chained through filter and map stages
-- (every value crosses several coroutines), permutations by recursive swapping with a
-- yield at the bottom of the recursion, and in-order walks of a binary tree that yield
-- from nested recursive calls.

local yield, wrap = coroutine.yield, coroutine.wrap

-- Pipeline: range -> map -> filter -> map -> consumer.
local function range(n)
  return wrap(function()
    for i = 1, n do
      yield(i)
    end
  end)
end

local function map(g, f)
  return wrap(function()
    for x in g do
      yield(f(x))
    end
  end)
end

local function filter(g, p)
  return wrap(function()
    for x in g do
      if p(x) then
        yield(x)
      end
    end
  end)
end

local function take(g, n)
  return wrap(function()
    for x in g do
      if n <= 0 then
        return
      end
      n = n - 1
      yield(x)
    end
  end)
end

local pipe_sum, pipe_count = 0, 0
for round = 1, 8 do
  local g = range(60000)
  g = map(g, function(x)
    return x * x + round
  end)
  g = filter(g, function(x)
    return x % 3 ~= 0
  end)
  g = map(g, function(x)
    return x % 1000003
  end)
  g = take(g, 35000)
  for x in g do
    pipe_sum = (pipe_sum + x) % 2147483647
    pipe_count = pipe_count + 1
  end
end

-- Permutations of 9 items (362880 of them), each yielded from depth 8 of the recursion.
local function permgen(a, n)
  if n <= 1 then
    yield(a)
  else
    for i = 1, n do
      a[n], a[i] = a[i], a[n]
      permgen(a, n - 1)
      a[n], a[i] = a[i], a[n]
    end
  end
end

local function permutations(a)
  return wrap(function()
    permgen(a, #a)
  end)
end

local perm_count, perm_check = 0, 0
for p in permutations({ 1, 2, 3, 4, 5, 6, 7, 8, 9 }) do
  perm_count = perm_count + 1
  -- A position-weighted checksum, so that the order of permutations matters.
  local h = 0
  for i = 1, #p do
    h = h * 10 + p[i]
  end
  perm_check = (perm_check * 31 + h) % 1000000007
end

-- In-order walks of a complete binary tree of depth 14 (16383 nodes), each value yielded
-- from the recursion's own depth.
local function build(lo, hi)
  if lo > hi then
    return nil
  end
  local mid = (lo + hi) // 2
  return { value = mid, left = build(lo, mid - 1), right = build(mid + 1, hi) }
end

local function walk(node)
  if node then
    walk(node.left)
    yield(node.value)
    walk(node.right)
  end
end

local tree = build(1, 16383)
local walk_sum, walk_ordered = 0, true
for _ = 1, 40 do
  local prev = 0
  for v in wrap(function()
    walk(tree)
  end) do
    if v <= prev then
      walk_ordered = false
    end
    prev = v
    walk_sum = walk_sum + v
  end
end

-- Merging two walks pulls from two suspended recursions in turn.
local function merge(g1, g2)
  return wrap(function()
    local a, b = g1(), g2()
    while a or b do
      if b == nil or (a ~= nil and a <= b) then
        yield(a)
        a = g1()
      else
        yield(b)
        b = g2()
      end
    end
  end)
end

local merged, merge_check = 0, 0
local other = build(8000, 30000)
for _ = 1, 3 do
  local left = wrap(function()
    walk(tree)
  end)
  local right = wrap(function()
    walk(other)
  end)
  for v in merge(left, right) do
    merged = merged + 1
    merge_check = (merge_check * 7 + v) % 1000003
  end
end

print("generators: pipeline " .. pipe_count .. " " .. pipe_sum .. ", permutations " .. perm_count
  .. " " .. perm_check .. ", walks " .. walk_sum .. " " .. tostring(walk_ordered)
  .. ", merge " .. merged .. " " .. merge_check)
