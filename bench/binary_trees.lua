-- Allocation-heavy: builds and walks many short-lived complete binary trees plus one
-- long-lived tree, so most of the time goes to allocating tables and collecting garbage.

local MIN_DEPTH = 4
local MAX_DEPTH = 15

local function bottom_up(depth)
  if depth == 0 then
    return {}
  end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end

local function check(tree)
  if tree[1] then
    return 1 + check(tree[1]) + check(tree[2])
  end
  return 1
end

local stretch = MAX_DEPTH + 1
print("stretch tree of depth " .. stretch .. "\t check: " .. check(bottom_up(stretch)))

local long_lived = bottom_up(MAX_DEPTH)

for depth = MIN_DEPTH, MAX_DEPTH, 2 do
  local iterations = 1 << (MAX_DEPTH - depth + MIN_DEPTH)
  local sum = 0
  for _ = 1, iterations do
    sum = sum + check(bottom_up(depth))
  end
  print(iterations .. "\t trees of depth " .. depth .. "\t check: " .. sum)
end

print("long lived tree of depth " .. MAX_DEPTH .. "\t check: " .. check(long_lived))
