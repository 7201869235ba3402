-- Array writes and reads: fills a sequence, runs read-modify-write passes over it,
-- reverses it in place, and runs a sieve of Eratosthenes on a boolean array.

local N = 1000000

local a = {}
for i = 1, N do
  a[i] = (i * 7919) % 1000
end

-- Read-modify-write passes that mix forward and backward indexing.
local checksum = 0
for pass = 1, 32 do
  local n = #a
  for i = 1, n do
    a[i] = (a[i] + a[n - i + 1] + pass) % 1000
  end
  for i = 1, n, 3 do
    checksum = checksum + a[i]
  end
end

-- In-place reversal, then a weighted sum.
local i, j = 1, N
while i < j do
  a[i], a[j] = a[j], a[i]
  i, j = i + 1, j - 1
end
local weighted = 0
for k = 1, N do
  weighted = weighted + a[k] * (k % 13)
end

-- Sieve of Eratosthenes.
local LIMIT = 4000000
local composite = {}
for k = 1, LIMIT do
  composite[k] = false
end
local primes, last = 0, 0
for p = 2, LIMIT do
  if not composite[p] then
    primes, last = primes + 1, p
    for m = p * p, LIMIT, p do
      composite[m] = true
    end
  end
end

print("array: checksum = " .. checksum .. ", weighted = " .. weighted .. ", length = " .. #a)
print("array: " .. primes .. " primes up to " .. LIMIT .. ", largest " .. last)
