-- String building with `..` only: formats numbers into short records, appends to a growing
-- line, and joins many pieces by pairwise concatenation (no string or table library).
-- Content is checked through lengths and string equality (as table keys).

local N = 100000

-- Join an array of strings by concatenating neighbours until one string is left.
local function join(pieces, n)
  while n > 1 do
    local m = 0
    for i = 1, n, 2 do
      m = m + 1
      local right = pieces[i + 1]
      pieces[m] = right and pieces[i] .. right or pieces[i]
    end
    for i = m + 1, n do
      pieces[i] = nil
    end
    n = m
  end
  return pieces[1] or ""
end

local total_len, distinct = 0, 0
local seen = {}
for round = 1, 4 do
  local pieces = {}
  for i = 1, N do
    local rec = "<" .. i .. ":" .. (i * 7 + round) % 13 .. "|" .. -i // 3 .. ">"
    pieces[i] = rec
    if not seen[rec] then
      seen[rec] = true
      distinct = distinct + 1
    end
  end
  local doc = join(pieces, N)
  total_len = total_len + #doc
end

-- Appending to a line that is flushed every 64 pieces keeps each `..` cheap.
local line, lines, line_chars = "", 0, 0
for i = 1, N * 4 do
  line = line .. "x" .. i % 10
  if i % 64 == 0 then
    lines, line_chars = lines + 1, line_chars + #line
    line = ""
  end
end

-- The same strings built in two ways must be equal.
local same = 0
for i = 1, 100000 do
  local a = "id" .. i .. "-" .. i * 2
  local b = ("id" .. i) .. ("-" .. (i + i))
  if a == b then
    same = same + 1
  end
end

print("string_concat: total_len = " .. total_len .. ", distinct = " .. distinct)
print("string_concat: lines = " .. lines .. ", line_chars = " .. line_chars .. ", same = " .. same)
