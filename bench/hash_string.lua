-- Hash tables with string keys: a word-count over a pseudo-random stream of keys, record
-- tables with named fields, and a dictionary rebuilt through pairs.

local NKEYS = 5000
local STREAM = 22000000

local keys = {}
for i = 1, NKEYS do
  keys[i] = "key_" .. i .. "_" .. (i * 37) % 101
end

-- Word count: reads and writes of string keys chosen by a linear congruential generator.
local counts = {}
local seed = 42
for _ = 1, STREAM do
  seed = (seed * 1103515245 + 12345) % 2147483648
  local k = keys[seed % NKEYS + 1]
  counts[k] = (counts[k] or 0) + 1
end

local distinct, max_count, total = 0, 0, 0
for _, c in pairs(counts) do
  distinct = distinct + 1
  total = total + c
  if c > max_count then
    max_count = c
  end
end

-- Records with constant-string fields, accessed by field name.
local records = {}
for i = 1, 400000 do
  records[i] = { id = i, name = keys[i % NKEYS + 1], score = i % 97, active = i % 3 == 0 }
end
local score_sum = 0
for i = 1, #records do
  local r = records[i]
  if r.active then
    score_sum = score_sum + r.score + counts[r.name] % 10
  end
end

-- Copy the dictionary and look every key up in both.
local copy = {}
for k, v in pairs(counts) do
  copy[k] = v
end
local agree = 0
for i = 1, NKEYS do
  if copy[keys[i]] == counts[keys[i]] then
    agree = agree + 1
  end
end

print("hash_string: distinct = " .. distinct .. ", total = " .. total .. ", max = " .. max_count)
print("hash_string: score_sum = " .. score_sum .. ", agree = " .. agree)
