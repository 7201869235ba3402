-- Pattern matching: find, match and gmatch over generated log lines, with captures,
-- classes, anchors, frontier and balanced patterns, and plain finds.

local N = 40000

-- Deterministic log lines: "2026-11-30 12:34:56 [LEVEL] user=name id=123 msg=(...)"
local levels = { "INFO", "WARN", "ERROR", "DEBUG" }
local names = { "alice", "bob", "carol", "dave", "erin", "frank" }
local lines = {}
local seed = 12345
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
end
for i = 1, N do
  lines[i] = string.format(
    "2026-%02d-%02d %02d:%02d:%02d [%s] user=%s id=%d msg=(note %d (nested %d)) tail",
    rand(12) + 1, rand(28) + 1, rand(24), rand(60), rand(60),
    levels[rand(#levels) + 1], names[rand(#names) + 1], rand(100000), i, rand(1000))
end

local errors, ids, users, balanced, plain, words = 0, 0, {}, 0, 0, 0
for round = 1, 6 do
  for i = 1, N do
    local s = lines[i]
    local y, mo, d, h, mi, sec, level = s:match("^(%d+)%-(%d+)%-(%d+) (%d+):(%d+):(%d+) %[(%u+)%]")
    if level == "ERROR" then
      errors = errors + 1
    end
    local user, id = s:match("user=(%a+) id=(%d+)")
    users[user] = (users[user] or 0) + 1
    ids = (ids + tonumber(id) + tonumber(sec)) % 1000000007
    local b = s:match("%b()")
    balanced = balanced + #b
    if s:find("nested", 1, true) then
      plain = plain + 1
    end
    if s:find("%f[%a]tail%f[%A]") then
      words = words + 1
    end
  end
end

local count = 0
for round = 1, 3 do
  for i = 1, N, 7 do
    for w in lines[i]:gmatch("%a+") do
      count = count + #w
    end
  end
end

local u = {}
for k, v in pairs(users) do
  u[#u + 1] = k .. "=" .. v
end
table.sort(u)
print("string_match: " .. errors .. " " .. ids .. " " .. balanced .. " " .. plain .. " " .. words
  .. " " .. count .. " " .. table.concat(u, ","))
