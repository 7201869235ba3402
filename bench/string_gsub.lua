-- Substitution: gsub with string replacements (captures, %0), table and function
-- replacements, anchored and counted substitutions, over a generated text.

local N = 20000

local words = { "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit" }
local parts = {}
local seed = 42
for i = 1, N do
  seed = (seed * 1103515245 + 12345) % 2147483648
  parts[i] = words[seed % #words + 1] .. (i % 10 == 0 and ". " or " ")
end
local text = table.concat(parts)

local upper = { lorem = "LOREM", dolor = "DOLOR", amet = "AMET" }
local total, checksum = 0, 0
for round = 1, 60 do
  local s, n = text:gsub("(%a+) (%a+)", "%2 %1")
  total = total + n
  local t, m = s:gsub("%a+", upper)
  total = total + m
  local u, k = t:gsub("%a+", function(w)
    if #w > 5 then
      return w:sub(1, 3)
    end
  end)
  total = total + k
  local v = u:gsub("%s+", " "):gsub("^%s+", ""):gsub("%.", "!", 100)
  checksum = (checksum * 31 + #v + #u + #t) % 1000000007
  local c = select(2, v:gsub("[aeiou]", "%0%0"))
  total = total + c
end
print("string_gsub: " .. total .. " " .. checksum)
