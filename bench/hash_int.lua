-- Hash tables with integer keys: sparse keys (so they live in the hash part, not the
-- array part), inserts, hits, misses, updates, deletions and a full traversal with pairs.

local N = 200000
local ROUNDS = 14

local function key(i)
  return (i * 2654435761) % 4294967291 + 1000000000 -- sparse and spread out
end

local total_hits, total_sum, total_count = 0, 0, 0
for round = 1, ROUNDS do
  local t = {}
  for i = 1, N do
    t[key(i)] = i + round
  end

  -- Lookups: every present key, then as many absent ones.
  local hits, sum = 0, 0
  for i = 1, N do
    local v = t[key(i)]
    if v then
      hits, sum = hits + 1, sum + v
    end
    if t[key(i) + 1] ~= nil then
      hits = hits - 1000000 -- a miss must never hit
    end
  end

  -- Update every other key and delete every third.
  for i = 1, N, 2 do
    local k = key(i)
    t[k] = t[k] * 2
  end
  for i = 1, N, 3 do
    t[key(i)] = nil
  end

  -- Traverse; order is unspecified, so only order-independent results are kept.
  local count = 0
  for k, v in pairs(t) do
    count = count + 1
    sum = sum + v + k % 7
  end

  total_hits = total_hits + hits
  total_sum = total_sum + sum
  total_count = total_count + count
end

print("hash_int: hits = " .. total_hits .. ", sum = " .. total_sum .. ", remaining = " .. total_count)
