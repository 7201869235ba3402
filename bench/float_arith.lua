-- Float arithmetic: counts the points of a Mandelbrot set grid (escape-time iteration)
-- and sums a float series. Pure floating-point multiply/add/divide and comparisons.

local W, H, MAX_ITER = 1000, 1000, 100

local inside, escaped_iters = 0, 0
for py = 0, H - 1 do
  local ci = py * 2.0 / H - 1.0
  for px = 0, W - 1 do
    local cr = px * 2.5 / W - 2.0
    local zr, zi = 0.0, 0.0
    local n = 0
    while n < MAX_ITER do
      local zr2, zi2 = zr * zr, zi * zi
      if zr2 + zi2 > 4.0 then
        break
      end
      zi = 2.0 * zr * zi + ci
      zr = zr2 - zi2 + cr
      n = n + 1
    end
    if n == MAX_ITER then
      inside = inside + 1
    else
      escaped_iters = escaped_iters + n
    end
  end
end

-- Alternating series 1 - 1/3 + 1/5 - ... (times 4 tends to pi), plus a sum of squares.
local sum, sq = 0.0, 0.0
local sign = 1.0
for k = 0, 9999999 do
  sum = sum + sign / (2.0 * k + 1.0)
  sign = -sign
  local t = k * 1e-7
  sq = sq + t * t
end

print("float_arith: inside = " .. inside .. ", escaped iterations = " .. escaped_iters)
print("float_arith: pi ~ " .. 4.0 * sum .. ", sum of squares = " .. sq)
