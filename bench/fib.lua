-- Recursive calls: naive doubly recursive Fibonacci.
-- Measures the cost of Lua-to-Lua calls and returns, with a little integer arithmetic.

local function fib(n)
  if n < 2 then
    return n
  end
  return fib(n - 1) + fib(n - 2)
end

local N = 37
print("fib(" .. N .. ") = " .. fib(N))
