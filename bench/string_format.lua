-- Formatting: string.format with integers, floats (%d %5.2f %g %e %x), strings (%s %q,
-- widths), and tostring of numbers, into lines whose lengths are summed.

local N = 200000

local total, hash = 0, 0
for i = 1, N do
  local x = i * 1.37
  local a = string.format("%d %5.2f %g %x", i, x, x / 7, i * 31)
  local b = string.format("%-10s|%10s|%e", "k" .. i % 97, "v" .. i % 13, x * 1e10)
  local c = string.format("%q %08.3f %+d", "line " .. i, -x, -i)
  total = total + #a + #b + #c
  hash = (hash * 31 + #a * 7 + #b * 3 + #c) % 1000000007
  if i % 1000 == 0 then
    hash = (hash + #tostring(x) + #tostring(i / 3)) % 1000000007
  end
end
print("string_format: " .. total .. " " .. hash)
