-- A small tour: closures, metatables, varargs and protected calls.
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end

local c = counter()
c(); c()
print("counter:", c())

local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
Vec.__tostring = function(v) return "(" .. v.x .. ", " .. v.y .. ")" end
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec:len2() return self.x * self.x + self.y * self.y end

local v = Vec.new(1, 2) + Vec.new(3, 4)
print("vector:", tostring(v), "len2:", v:len2())

local function sum(...)
  local s = 0
  for _, x in ipairs({...}) do s = s + x end
  return s, select("#", ...)
end
print("sum:", sum(1, 2, 3, 4.5))

local ok, err = pcall(function() local t = nil; return t.field end)
print("pcall:", ok, err)
print("args:", arg[0], ...)
