-- Method calls through metatables: OOP-style classes whose methods are found through
-- __index tables, with a two-level inheritance chain and objects created per iteration.

local Vec = {}
Vec.__index = Vec

function Vec.new(x, y)
  return setmetatable({ x = x, y = y }, Vec)
end

function Vec:add(o)
  return Vec.new(self.x + o.x, self.y + o.y)
end

function Vec:dot(o)
  return self.x * o.x + self.y * o.y
end

function Vec:scaled(k)
  return Vec.new(self.x * k, self.y * k)
end

-- Account -> SavingsAccount: method lookups miss the instance and walk up the chain.
local Account = {}
Account.__index = Account

function Account.new(owner)
  return setmetatable({ owner = owner, balance = 0, ops = 0 }, Account)
end

function Account:deposit(v)
  self.balance = self.balance + v
  self.ops = self.ops + 1
end

function Account:withdraw(v)
  if v > self.balance then
    return false
  end
  self.balance = self.balance - v
  self.ops = self.ops + 1
  return true
end

function Account:get_balance()
  return self.balance
end

local Savings = setmetatable({}, { __index = Account })
Savings.__index = Savings

function Savings.new(owner, rate)
  local a = Account.new(owner)
  a.rate = rate
  return setmetatable(a, Savings)
end

function Savings:add_interest()
  self:deposit(self:get_balance() % 10007 * self.rate // 100)
end

local N = 1500000

local acc = Vec.new(0, 0)
local dots = 0
for i = 1, N do
  local v = Vec.new(i % 17, i % 23)
  acc = acc:add(v:scaled(2))
  dots = dots + v:dot(acc) % 1009
end

local accounts = {}
for i = 1, 100 do
  accounts[i] = i % 2 == 0 and Savings.new(i, i % 5 + 1) or Account.new(i)
end
local refused = 0
for i = 1, N do
  local a = accounts[i % 100 + 1]
  a:deposit(i % 50)
  if not a:withdraw(i % 70) then
    refused = refused + 1
  end
  if i % 1000 == 0 then
    for j = 2, 100, 2 do
      accounts[j]:add_interest()
    end
  end
end
local total = 0
for i = 1, #accounts do
  total = total + accounts[i]:get_balance() + accounts[i].ops
end

print("oop: acc = (" .. acc.x .. ", " .. acc.y .. "), dots = " .. dots)
print("oop: refused = " .. refused .. ", total = " .. total)
