-- Sorting written in Lua: quicksort (median of three, insertion sort for short runs) and
-- heapsort over the same pseudo-random array from a linear congruential generator.
-- Exercises array reads/writes, comparisons and recursive calls.

local N = 800000

local function random_array(n, seed)
  local a = {}
  for i = 1, n do
    seed = (seed * 1103515245 + 12345) % 2147483648
    a[i] = seed % 1000000
  end
  return a
end

local function insertion_sort(a, lo, hi)
  for i = lo + 1, hi do
    local v = a[i]
    local j = i - 1
    while j >= lo and a[j] > v do
      a[j + 1] = a[j]
      j = j - 1
    end
    a[j + 1] = v
  end
end

local function quicksort(a, lo, hi)
  while hi - lo > 16 do
    local mid = (lo + hi) // 2
    -- Median of three into a[mid], then use it as the pivot.
    if a[mid] < a[lo] then a[mid], a[lo] = a[lo], a[mid] end
    if a[hi] < a[lo] then a[hi], a[lo] = a[lo], a[hi] end
    if a[hi] < a[mid] then a[hi], a[mid] = a[mid], a[hi] end
    local pivot = a[mid]
    local i, j = lo, hi
    while i <= j do
      while a[i] < pivot do i = i + 1 end
      while a[j] > pivot do j = j - 1 end
      if i <= j then
        a[i], a[j] = a[j], a[i]
        i, j = i + 1, j - 1
      end
    end
    -- Recurse into the smaller half, loop on the larger one.
    if j - lo < hi - i then
      quicksort(a, lo, j)
      lo = i
    else
      quicksort(a, i, hi)
      hi = j
    end
  end
  insertion_sort(a, lo, hi)
end

local function sift_down(a, root, n)
  local v = a[root]
  while true do
    local child = 2 * root
    if child > n then break end
    if child < n and a[child + 1] > a[child] then
      child = child + 1
    end
    if a[child] <= v then break end
    a[root] = a[child]
    root = child
  end
  a[root] = v
end

local function heapsort(a, n)
  for i = n // 2, 1, -1 do
    sift_down(a, i, n)
  end
  for last = n, 2, -1 do
    a[1], a[last] = a[last], a[1]
    sift_down(a, 1, last - 1)
  end
end

local function checksum(a)
  local s = 0
  for i = 1, #a do
    if i > 1 and a[i - 1] > a[i] then
      error("array not sorted at index " .. i)
    end
    s = (s * 31 + a[i]) % 1000000007
  end
  return s
end

local q = random_array(N, 2024)
local h = random_array(N, 2024)
quicksort(q, 1, #q)
heapsort(h, #h)
for i = 1, N do
  if q[i] ~= h[i] then
    error("quicksort and heapsort disagree at index " .. i)
  end
end
print("sort: n = " .. N .. ", checksum = " .. checksum(q) .. ", min = " .. q[1] .. ", max = " .. q[N])
