-- debug.setlocal on the hidden registers of loops and constructors: a value
-- of the kind the register holds works as in PUC Lua (another index, count,
-- limit or step; another table to fill; another iterator). A value of
-- another kind is refused with an error here (PUC Lua stores it and then
-- misreads it: a runaway loop or a crash), which vm-core/tests/
-- bytecode_fuzz.rs checks, since this script also runs under lua5.4.

-- In each function below, `seen` is local 1, a loop's hidden state locals
-- 2 to 4 (numeric loops: the index, the iteration count or the limit, the
-- step; generic loops: the iterator, the state, the control value, and a
-- fourth one, the closing value) and its variables come next.
local function names()
  local t = {}
  for i = 1, 20 do
    local n = debug.getlocal(2, i)
    if not n or n == "(temporary)" then break end
    t[#t + 1] = n
  end
  return table.concat(t, " ")
end

-- Integer loops: the control variable is a copy of the index, and the
-- count (not the limit) decides when the loop ends.
local function index_moved()
  local seen = {}
  for i = 1, 3 do
    if i == 1 then
      assert(names() == "seen (for state) (for state) (for state) i")
      assert(debug.setlocal(1, 2, 2) == "(for state)")
    end
    seen[#seen + 1] = i
  end
  return table.concat(seen, ",")
end
assert(index_moved() == "1,3,4")

local function count_cut()
  local seen = {}
  for i = 1, 10 do
    if i == 2 then assert(debug.setlocal(1, 3, 1) == "(for state)") end
    seen[#seen + 1] = i
  end
  return table.concat(seen, ",")
end
assert(count_cut() == "1,2,3")

local function step_changed()
  local seen = {}
  for i = 1, 4 do
    if i == 1 then assert(debug.setlocal(1, 4, 2) == "(for state)") end
    seen[#seen + 1] = i
  end
  return table.concat(seen, ",")
end
assert(step_changed() == "1,3,5,7")

-- Float loops: the index, the limit and the step, all floats.
local function limit_lowered()
  local seen = {}
  for x = 0.5, 3.0, 0.5 do
    if x == 1.0 then assert(debug.setlocal(1, 3, 1.5) == "(for state)") end
    seen[#seen + 1] = x
  end
  return table.concat(seen, ",")
end
assert(limit_lowered() == "0.5,1.0,1.5")

local function float_step()
  local seen = {}
  for x = 1.0, 2.0, 0.25 do
    if x == 1.0 then assert(debug.setlocal(1, 4, 0.5) == "(for state)") end
    seen[#seen + 1] = x
  end
  return table.concat(seen, ",")
end
assert(float_step() == "1.0,1.5,2.0")

-- The control variable is an ordinary local.
local function control()
  local seen = {}
  for i = 1, 3 do
    assert(debug.setlocal(1, 5, "x" .. i) == "i")
    seen[#seen + 1] = i
  end
  return table.concat(seen, ",")
end
assert(control() == "x1,x2,x3")

-- Generic loops: their state is called and compared, not trusted, so any
-- value goes.
local function upto(n, i)
  if i < n then return i + 1 end
end
local function generic()
  local seen = {}
  for i in upto, 5, 0 do
    if i == 2 then
      assert(debug.setlocal(1, 4, 4) == "(for state)")
    end
    seen[#seen + 1] = i
  end
  return table.concat(seen, ",")
end
assert(generic() == "1,2,5")

local function bad_iterator()
  local seen = {}
  for i in upto, 5, 0 do debug.setlocal(1, 2, "not a function") end
end
local ok, err = pcall(bad_iterator)
assert(not ok and string.find(err, "attempt to call a string value"))

-- A constructor fills the table in its temporary register (local 2 here),
-- whichever table it is by then: here the first 50 items went to the new
-- table, the last ones to the other.
local function constructor(other)
  return {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, debug.setlocal(1, 2, other), 53}
end
local other = {"kept"}
local t = constructor(other)
assert(t == other and t[1] == "kept" and t[50] == nil)
assert(t[51] == 51 and t[52] == "(temporary)" and t[53] == 53)

local function small(other)
  return {debug.setlocal(1, 2, other), "b"}
end
local fresh = {}
t = small(fresh)
assert(t == fresh and t[1] == "(temporary)" and t[2] == "b" and #t == 2)

print("ok debug_setlocal")
