-- Chains against nesting: chains of binary operators and of suffixes load
-- and run whatever their length; real nesting stops at about 200 levels
-- with "C stack overflow".

-- `s` repeated `n` times, by doubling.
local function rep(s, n)
  local out = ""
  while n > 0 do
    if n % 2 == 1 then out = out .. s end
    s = s .. s
    n = n // 2
  end
  return out
end

-- Loads `src` and runs it with `...`.
local function run(src, ...)
  local f, err = load(src, "=chain")
  assert(f, err)
  return f(...)
end

local N = 5000
local t = {n = 1}
t.x = t
t[1] = t
function t:m() return self end
function t.f() return t end
local function f() return f end

-- Binary operators, of one priority or several.
local X = "local x = ... return x"
assert(run(X .. rep(" + x", N), 1) == N + 1)
assert(run(X .. rep(" - x * x // x", N), 1) == 1 - N)
assert(run(X .. rep(" * x + x", N), 1) == N + 1)
assert(run("local x = ... return (x)" .. rep(" + (x)", N), 1) == N + 1)
assert(run(X .. rep(" | x ~ x & x << x >> x", N), 1) == 1)
assert(run(X .. rep(" .. x == x", N), "a") == false)
assert(run(X .. rep(" + -x", N), 1) == 1 - N)
assert(run(X .. rep(" and x", N), 1) == 1)
assert(run(X .. rep(" or x", N) .. " or 5", false) == 5)
assert(run(X .. rep(" and x or x", N), false) == false)
assert(run(X .. rep(" == x", N), 1) == false)
assert(run(X .. rep(" ~= x", N), 1) == true)
assert(run("local x = ... return x < x" .. rep(" and x < x", N), 1) == false)
assert(run("local x = ... if x" .. rep(" and x", N) .. " then return 1 end", 1) == 1)

-- Suffixes of every kind, and assignments to the end of a chain.
assert(run("local t = ... return t" .. rep(".x[1]:m().f'a'.f{}", N) .. ".n", t) == 1)
assert(run("local f = ... return f" .. rep("()", N) .. " == f", f) == true)
assert(run("local f = ... return f" .. rep("(1, 2)", N) .. " == f", f) == true)
run("local t = ... t" .. rep(".x", N) .. ".v = 7", t)
assert(t.v == 7)
run("local t = ... t" .. rep("[1]", N) .. "[2], t" .. rep(":m()", N) .. ".w = 8, 9", t)
assert(t[2] == 8 and t.w == 9)

-- Both, with nesting inside each link: each link adds 1.
local link = " + t.x[1]:m().n * t.f'a'.f{}.n - t[1].n // 1 + (t.n == 1 and 1 or 0)"
assert(run("local t = ... return t.n" .. rep(link, N), t) == N + 1)
assert(run("local t = ... return " .. rep("(", 100) .. "t.n" .. rep(link, N)
  .. rep(")", 100), t) == N + 1)

-- A run-time error in a long chain names the culprit.
local ok, err = pcall(run, X .. rep(" + x", N) .. " + y", 1)
assert(not ok and err == "chain:1: attempt to perform arithmetic on a nil value (global 'y')")
ok, err = pcall(run, "local t = ... return t" .. rep(".x", N) .. ".y.z", t)
assert(not ok and err == "chain:1: attempt to index a nil value (field 'y')")

-- Nesting, as head, opening, core, closing: 90 levels load, 300 do not.
local nestings = {
  {"return ", "(", "1", ")"},
  {"return ", "- ", "1", ""},
  {"return ", "not ", "1", ""},
  {"return ", "1 .. ", "1", ""},
  {"return ", "2 ^ ", "1", ""},
  {"return ", "{", "", "}"},
  {"return ", "f(", "", ")"},
  {"return ", "function() return ", "1", " end"},
  {"", "do ", "", " end"},
  {"", "if x then ", "", " end"},
  {"", "while x do ", "", " end"},
}
for _, c in ipairs(nestings) do
  local head, open, core, close = c[1], c[2], c[3], c[4]
  local src = head .. rep(open, 90) .. core .. rep(close, 90)
  assert(load(src), src)
  local f, e = load(head .. rep(open, 300) .. core .. rep(close, 300))
  assert(f == nil and e:find("^C stack overflow"), open)
end

print("ok chains.lua")
