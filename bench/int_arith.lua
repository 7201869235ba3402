-- Integer arithmetic: a tight loop of wrapping 64-bit multiply/add, xor, shifts, masks,
-- floor division and modulo (including negative operands, whose results round toward -inf).

local N = 25000000
local x = 88172645463325252
local acc = 0
local mix = 0
for i = 1, N do
  x = x * 6364136223846793005 + 1442695040888963407 -- wraps around modulo 2^64
  local h = x ~ (x >> 29)
  acc = acc + h % 1000003 - i // 3 + (h & 0xff) * 3
  mix = mix ~ ((h << 7) | (i & 0x7f))
  if i % 5 == 0 then
    acc = acc - (-i) // 7 + (-i) % 11
  end
end
print("int_arith: acc = " .. acc .. ", mix = " .. mix .. ", x = " .. x)
