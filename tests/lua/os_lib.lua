-- The os library: os.time (now, date tables, defaults, normalisation written
-- back, isdst, field errors and bounds), os.date (every C99 conversion and
-- the E/O modifiers in UTC, "*t"/"!*t", local time checked by round trips,
-- invalid specifiers, unrepresentable dates), os.difftime, os.clock,
-- os.getenv, os.tmpname/os.remove/os.rename with their error triples,
-- os.execute's three results, os.exit through a child interpreter, and
-- os.setlocale. Absolute values are checked in UTC only ("!"), so the script
-- passes in any time zone.

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

-- Fixed instants: 2000-01-01 00:00:00 UTC (a Saturday) and 2001-09-09
-- 01:46:40 UTC (a Sunday, 10^9 seconds after the epoch).
local Y2K = 946684800
local GIGA = 1000000000

-- os.date in UTC: every C99 conversion.
assert(os.date("!%Y-%m-%d %H:%M:%S", Y2K) == "2000-01-01 00:00:00")
assert(os.date("!%c", 0) == "Thu Jan  1 00:00:00 1970")
assert(os.date("!%c", GIGA) == "Sun Sep  9 01:46:40 2001")
assert(os.date("!%a|%A|%b|%B|%h", GIGA) == "Sun|Sunday|Sep|September|Sep")
assert(os.date("!%C|%y|%Y|%G|%g", GIGA) == "20|01|2001|2001|01")
assert(os.date("!%d|%e|%j|%m", GIGA) == "09| 9|252|09")
assert(os.date("!%H|%I|%M|%S|%p", GIGA) == "01|01|46|40|AM")
assert(os.date("!%I %p", GIGA + 12 * 3600) == "01 PM")
assert(os.date("!%I %p", Y2K) == "12 AM" and os.date("!%I %p", Y2K + 43200) == "12 PM")
assert(os.date("!%D|%x|%X|%T|%R|%F", GIGA) == "09/09/01|09/09/01|01:46:40|01:46:40|01:46|2001-09-09")
assert(os.date("!%r", GIGA) == "01:46:40 AM")
assert(os.date("!%u|%w|%U|%W|%V", GIGA) == "7|0|36|36|36")
assert(os.date("!%u|%w|%U|%W|%V", Y2K) == "6|6|00|00|52")
assert(os.date("!%n|%t|%%", 0) == "\n|\t|%")
assert(os.date("!%z", GIGA) == "+0000" and os.date("!%Z", GIGA) == "GMT")
-- The E and O modifiers change nothing in the "C" locale.
assert(os.date("!%Ec|%EC|%Ex|%EX|%Ey|%EY", GIGA) == os.date("!%c|%C|%x|%X|%y|%Y", GIGA))
assert(os.date("!%Od%Oe%OH%OI%Om%OM%OS%Ou%OU%OV%Ow%OW%Oy", GIGA)
       == os.date("!%d%e%H%I%m%M%S%u%U%V%w%W%y", GIGA))
-- ISO 8601 weeks across year ends: 2005-01-01 is in 2004's week 53, and
-- 2008-12-29 (a Monday) opens week 1 of 2009.
assert(os.date("!%G-W%V-%u", 1104537600) == "2004-W53-6")
assert(os.date("!%G-W%V-%u|%g|%Y", 1230508800) == "2009-W01-1|09|2008")
-- Years outside 1000..9999 are not padded; years before 1 are negative.
assert(os.date("!%Y|%C|%y|%F", -30641760000) == "999|9|99|999-01-01")
assert(os.date("!%Y|%C|%y", -62324985600) == "-5|-1|95")
assert(os.date("!%Y|%C|%y", 327403382400) == "12345|123|45")
-- Plain text, embedded zeros and an empty format.
assert(os.date("!year %Y!", Y2K) == "year 2000!")
assert(os.date("!%Y\0%m", Y2K) == "2000\0" .. "01")
assert(os.date("!", Y2K) == "" and os.date("", Y2K) == "")
assert(os.date(1, Y2K) == "1")
assert(os.date("!%Y", "946684800") == "2000" and os.date("!%Y", 946684800.0) == "2000")

-- "!*t": the fields of a UTC date; isdst is false.
local d = os.date("!*t", GIGA)
assert(d.year == 2001 and d.month == 9 and d.day == 9)
assert(d.hour == 1 and d.min == 46 and d.sec == 40)
assert(d.wday == 1 and d.yday == 252 and d.isdst == false)
assert(math.type(d.year) == "integer" and math.type(d.sec) == "integer")
d = os.date("!*t", -1)
assert(d.year == 1969 and d.month == 12 and d.day == 31 and d.hour == 23 and d.sec == 59)
assert(os.date("!*t\0ignored", 0).year == 1970)

-- Local time: checked by relations, whatever the zone.
for _, t in ipairs{0, Y2K, GIGA, GIGA + 15552000, 2 ^ 31 | 0} do
  local l = os.date("*t", t)
  assert(type(l.isdst) == "boolean")
  assert(os.time(l) == t)
  assert(os.date("%c", t) == os.date("%a %b %e %H:%M:%S %Y", t))
  assert(os.date(nil, t) == os.date("%c", t))
  assert(os.date("%Y%m%d%H%M%S", t) == os.date("%Y%m%d", t) .. os.date("%H%M%S", t))
end
assert(math.type(os.time()) == "integer")
assert(os.time() - os.time(os.date("*t")) <= 1)
assert(os.difftime(os.time(), GIGA) > 0)

-- os.time with a table: hour defaults to 12, min and sec to 0.
local noon = os.time{year = 2000, month = 1, day = 1}
assert(noon == os.time{year = 2000, month = 1, day = 1, hour = 12, min = 0, sec = 0})
assert(os.time{year = 2000, month = 1, day = 2} - noon == 86400)
assert(os.time{year = 2000, month = 1, day = 1, hour = 13, min = 1, sec = 1} - noon == 3661)
assert(os.date("%Y-%m-%d %H:%M:%S", noon) == "2000-01-01 12:00:00")
-- Numbers as strings and integral floats are accepted.
assert(os.time{year = "2000", month = " 0x1 ", day = 1.0} == noon)
-- Out-of-range fields are normalised, and the table is updated.
local t = {year = 2000, month = 14, day = 35, hour = 25, min = 61, sec = -1}
local n = os.time(t)
assert(n == os.time{year = 2001, month = 3, day = 8, hour = 2, min = 0, sec = 59})
assert(t.year == 2001 and t.month == 3 and t.day == 8)
assert(t.hour == 2 and t.min == 0 and t.sec == 59)
assert(t.wday == 5 and t.yday == 67 and type(t.isdst) == "boolean")
t = {year = 2000, month = 1, day = 0}
os.time(t)
assert(t.year == 1999 and t.month == 12 and t.day == 31)
-- Fields are read and written through metamethods.
local log = {}
local proxy = setmetatable({}, {
  __index = {year = 2000, month = 1, day = 1},
  __newindex = function(_, k, v) log[k] = v end,
})
assert(os.time(proxy) == noon)
assert(log.year == 2000 and log.hour == 12 and log.yday == 1 and rawget(proxy, "year") == nil)

-- os.time errors, in the order fields are read.
assert(errmsg(os.time, {}) == "field 'year' missing in date table")
assert(errmsg(os.time, {year = 2000}) == "field 'month' missing in date table")
assert(errmsg(os.time, {year = 2000, month = 1}) == "field 'day' missing in date table")
assert(errmsg(os.time, {year = 2000, month = 1, day = 1.5}) == "field 'day' is not an integer")
assert(errmsg(os.time, {year = 2000, month = 1, day = "x"}) == "field 'day' is not an integer")
assert(errmsg(os.time, {year = 2000, month = 1, day = 1, hour = true}) == "field 'hour' is not an integer")
assert(errmsg(os.time, {year = 0/0, month = 1, day = 1}) == "field 'year' is not an integer")
assert(errmsg(os.time, {year = 1e100, month = 1, day = 1}) == "field 'year' is not an integer")
-- A field minus its offset (1900 for year, 1 for month) must fit a C int.
assert(errmsg(os.time, {year = 2 ^ 31 + 1900, month = 1, day = 1}) == "field 'year' is out-of-bound")
assert(errmsg(os.time, {year = -2 ^ 31 + 1899, month = 1, day = 1}) == "field 'year' is out-of-bound")
assert(errmsg(os.time, {year = math.mininteger, month = 1, day = 1}) == "field 'year' is out-of-bound")
assert(errmsg(os.time, {year = 2000, month = 2 ^ 31 + 1, day = 1}) == "field 'month' is out-of-bound")
assert(errmsg(os.time, {year = 2000, month = 1, day = 1, sec = 2 ^ 31}) == "field 'sec' is out-of-bound")
assert(os.time{year = 2000, month = 1, day = 1, hour = 0, sec = 2 ^ 31 - 1} > noon)
assert(errmsg(os.time, {year = 2 ^ 31 - 1 + 1900, month = 13, day = 1})
       == "time result cannot be represented in this installation")
assert(errmsg(os.time, 1) == "bad argument #1 to 'os.time' (table expected, got number)")
assert(errmsg(function() return os.time{year = 2000} end)
       == "os_lib.lua:125: field 'month' missing in date table")
assert(errmsg(os.time, setmetatable({}, {__index = function() error("no fields") end}))
       == "os_lib.lua:127: no fields")

-- os.date errors.
assert(errmsg(os.date, "%Ez") == "bad argument #1 to 'os.date' (invalid conversion specifier '%Ez')")
assert(errmsg(os.date, "%Q abc") == "bad argument #1 to 'os.date' (invalid conversion specifier '%Q abc')")
assert(errmsg(os.date, "%Y%") == "bad argument #1 to 'os.date' (invalid conversion specifier '%')")
assert(errmsg(os.date, "%E") == "bad argument #1 to 'os.date' (invalid conversion specifier '%E')")
assert(errmsg(os.date, "%Oq") == "bad argument #1 to 'os.date' (invalid conversion specifier '%Oq')")
assert(errmsg(os.date, "%k") == "bad argument #1 to 'os.date' (invalid conversion specifier '%k')")
assert(errmsg(os.date, {}) == "bad argument #1 to 'os.date' (string expected, got table)")
assert(errmsg(os.date, "%Y", 1.5) == "bad argument #2 to 'os.date' (number has no integer representation)")
assert(errmsg(os.date, "%Y", 0/0) == "bad argument #2 to 'os.date' (number has no integer representation)")
assert(errmsg(os.date, "%Y", {}) == "bad argument #2 to 'os.date' (number expected, got table)")
assert(errmsg(os.date, "!%c", 2 ^ 60 | 0) == "date result cannot be represented in this installation")
assert(errmsg(os.date, "*t", math.mininteger) == "date result cannot be represented in this installation")
assert(errmsg(function() return os.date("%Q") end)
       == "os_lib.lua:143: bad argument #1 to 'date' (invalid conversion specifier '%Q')")

-- os.difftime: two times, a float result.
assert(os.difftime(GIGA, Y2K) == 53315200.0 and math.type(os.difftime(2, 1)) == "float")
assert(os.difftime(1, 2) == -1.0 and os.difftime(0, 0) == 0.0)
assert(os.difftime("10", 4.0) == 6.0)
assert(errmsg(os.difftime, 1) == "bad argument #2 to 'os.difftime' (number expected, got no value)")
assert(errmsg(os.difftime, 1.5, 1) == "bad argument #1 to 'os.difftime' (number has no integer representation)")

-- os.clock: CPU seconds, a float that does not go back.
local c1 = os.clock()
local x = 0
for i = 1, 100000 do x = x + i end
local c2 = os.clock()
assert(math.type(c1) == "float" and c1 >= 0 and c2 >= c1)

-- os.getenv
assert(os.getenv("OS_LIB_LUA_SURELY_UNSET_VARIABLE") == nil)
assert(type(os.getenv("PATH")) == "string")
assert(errmsg(os.getenv) == "bad argument #1 to 'os.getenv' (string expected, got no value)")

-- os.tmpname creates the file; os.remove and os.rename report failures
-- as nil, message, errno.
local name = os.tmpname()
assert(type(name) == "string" and string.sub(name, 1, 9) == "/tmp/lua_" and #name == 15)
local other = os.tmpname()
assert(other ~= name and os.remove(other) == true)
local moved = name .. ".moved"
assert(os.rename(name, moved) == true)
local r1, r2, r3 = os.remove(name)
assert(r1 == nil and r2 == name .. ": No such file or directory" and r3 == 2)
assert(os.remove(moved) == true)
r1, r2, r3 = os.rename(moved, name)
assert(r1 == nil and r2 == "No such file or directory" and r3 == 2)
assert(select("#", os.remove(moved)) == 3 and select("#", os.remove(name .. "\0x")) == 3)
-- Files made by the shell, and directories (removed only when empty).
assert(os.execute("echo x > '" .. name .. "'") == true)
assert(os.remove(name) == true)
local dir = moved .. ".d"
assert(os.execute("mkdir '" .. dir .. "' && echo x > '" .. dir .. "/f'") == true)
r1, r2, r3 = os.remove(dir)
assert(r1 == nil and r2 == dir .. ": Directory not empty" and r3 == 39)
assert(os.remove(dir .. "/f") == true and os.remove(dir) == true)
assert(errmsg(os.remove) == "bad argument #1 to 'os.remove' (string expected, got no value)")
assert(errmsg(os.rename, "a") == "bad argument #2 to 'os.rename' (string expected, got no value)")

-- os.execute: whether there is a shell, then true|nil, "exit"|"signal", code.
assert(os.execute() == true)
r1, r2, r3 = os.execute("true")
assert(r1 == true and r2 == "exit" and r3 == 0)
r1, r2, r3 = os.execute("exit 3")
assert(r1 == nil and r2 == "exit" and r3 == 3)
r1, r2, r3 = os.execute("kill -9 $$")
assert(r1 == nil and r2 == "signal" and r3 == 9)
assert(os.execute("test \"$PATH\" = '" .. os.getenv("PATH") .. "'") == true)
assert(errmsg(os.execute, {}) == "bad argument #1 to 'os.execute' (string expected, got table)")

-- os.exit, in a child interpreter: the one running this script, named by
-- the lowest index of `arg` (options such as --slice come after it). A host
-- embedding the VM may set no `arg`; the child checks are skipped then.
if arg then
  local first = -1
  while arg[first - 1] do first = first - 1 end
  local lua = "'" .. arg[first] .. "' -e "
  r1, r2, r3 = os.execute(lua .. "'os.exit(7)'")
  assert(r1 == nil and r2 == "exit" and r3 == 7)
  assert(os.execute(lua .. "'os.exit(true, true)'") == true)
  r1, r2, r3 = os.execute(lua .. "'os.exit(false)'")
  assert(r1 == nil and r3 == 1)
  assert(os.execute(lua .. "'os.exit()'") == true)
  -- Output written before exiting is flushed.
  assert(os.execute("test \"$(" .. lua .. "'print(42) os.exit(3)')\" = 42") == true)
  -- Closing the state first runs the finalizers still pending; without it they do not run.
  assert(os.execute("test \"$(" .. lua .. "'setmetatable({}, {__gc = function() print(\"gc\") end}) os.exit(0, true)')\" = gc") == true)
  assert(os.execute("test -z \"$(" .. lua .. "'setmetatable({}, {__gc = function() print(\"gc\") end}) os.exit(0)')\"") == true)
end
assert(errmsg(os.exit, {}) == "bad argument #1 to 'os.exit' (number expected, got table)")
assert(errmsg(os.exit, 1.5) == "bad argument #1 to 'os.exit' (number has no integer representation)")

-- os.setlocale: the "C" locale only.
assert(os.setlocale() == "C" and os.setlocale(nil, "time") == "C")
assert(os.setlocale("C") == "C" and os.setlocale("POSIX", "numeric") == "C")
assert(os.setlocale("no-such-locale") == nil and os.setlocale("xx", "ctype") == nil)
for _, cat in ipairs{"all", "collate", "ctype", "monetary", "numeric", "time"} do
  assert(os.setlocale(nil, cat) == "C")
end
assert(errmsg(os.setlocale, "C", "bogus") == "bad argument #2 to 'os.setlocale' (invalid option 'bogus')")
assert(errmsg(os.setlocale, {}) == "bad argument #1 to 'os.setlocale' (string expected, got table)")

-- the bad specifier is quoted byte for byte, whatever its bytes
assert(select(2, pcall(os.date, "%\255x")) == "bad argument #1 to 'os.date' (invalid conversion specifier '%\255x')")

-- os.time reads and writes the date table through metamethods, in
-- getfield's and setallfields' order.
local reads, writes = {}, {}
local store = {year = 2000, month = 14, day = 1}
local proxy = setmetatable({}, {
  __index = function(_, k) reads[#reads + 1] = k return store[k] end,
  __newindex = function(_, k, v) writes[#writes + 1] = k store[k] = v end,
})
assert(os.time(proxy) == os.time{year = 2001, month = 2, day = 1})
assert(table.concat(reads, " ") == "year month day hour min sec isdst")
assert(table.concat(writes, " "):find("^year month day hour min sec yday wday"))
assert(store.year == 2001 and store.month == 2 and store.hour == 12)
assert(select(2, pcall(os.time, setmetatable({}, {__index = function(_, k)
  if k == "day" then error("no day", 0) end return 1
end}))) == "no day")
-- A yield inside those metamethods: PUC Lua refuses it; this VM runs them
-- through the interpreter loop, where they may yield (an extension).
local co = coroutine.wrap(function()
  return os.time(setmetatable({}, {__index = function(_, k)
    return coroutine.yield(k)
  end}))
end)
local ok, first = pcall(co)
if ok then
  assert(first == "year")
  assert(co(2000) == "month" and co(1) == "day" and co(1) == "hour")
  assert(co(nil) == "min" and co(nil) == "sec" and co(nil) == "isdst")
  assert(co(nil) == noon)
else
  assert(first:find("attempt to yield across a C-call boundary", 1, true))
end

print("ok os_lib")
