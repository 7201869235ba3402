-- The io library: io.open modes and failures, reads in every format
-- (numerals with lua's look-ahead and 200-byte limit, lines with and
-- without newlines, counts, "a", the 5.3 "*" prefix), writes (numbers as
-- "%d"/"%.14g", chaining, failures), seek, setvbuf, flush, interleaved reads
-- and writes, io.lines and file:lines (formats, closing, the fourth value),
-- io.input/io.output, io.type, tostring, closing (standard files, twice,
-- __close, __gc), io.tmpfile and io.popen's exit statuses. Temporary files
-- come from os.tmpname and are removed at the end.

-- The message of the error `f(...)` raises, without its position.
local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return (string.gsub(e, "^io_lib%.lua:%d+: ", ""))
end

-- The full message of the error `f(...)` raises.
local function fullmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "an error was expected")
  return e
end

local names = {}
local function tmp()
  local n = os.tmpname()
  names[#names + 1] = n
  return n
end

local function write_file(name, text)
  local f = assert(io.open(name, "w"))
  assert(f:write(text) == f)
  assert(f:close() == true)
end

local function read_file(name)
  local f = assert(io.open(name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- io.type, tostring, the standard files.
assert(io.type(io.stdin) == "file" and io.type(io.stdout) == "file")
assert(io.type(io.stderr) == "file")
assert(io.type(42) == nil and io.type({}) == nil and io.type(nil) == nil)
assert(errmsg(function() return io.type() end) == "bad argument #1 to 'type' (value expected)")
assert(tostring(io.stdout):match("^file %(0x%x+%)$"))
local mt = getmetatable(io.stdout)
assert(mt.__name == "FILE*" and type(mt.__index) == "table")
assert(mt.__gc == mt.__close and type(mt.__tostring) == "function")
assert(io.input() == io.stdin and io.output() == io.stdout)
assert(io.write() == io.stdout and io.stdout:write() == io.stdout)
assert(io.stdout:flush() == true and io.flush() == true)
local r, msg = io.stdout:close()
assert(r == nil and msg == "cannot close standard file")
assert(io.type(io.stdout) == "file")
r, msg = io.close()
assert(r == nil and msg == "cannot close standard file")
local e, code
r, msg, code = io.stdout:read(1)
assert(r == nil and msg == "Bad file descriptor" and code == 9)

-- io.open: modes, invalid modes and failures.
local name = tmp()
assert(errmsg(function() return io.open(name, "rw") end) == "bad argument #2 to 'open' (invalid mode)")
assert(errmsg(function() return io.open(name, "rb+") end) == "bad argument #2 to 'open' (invalid mode)")
assert(errmsg(function() return io.open(name, "") end) == "bad argument #2 to 'open' (invalid mode)")
assert(errmsg(function() return io.open(name, "x") end) == "bad argument #2 to 'open' (invalid mode)")
assert(errmsg(function() return io.open() end) == "bad argument #1 to 'open' (string expected, got no value)")
for _, mode in ipairs{"r", "rb", "r+", "r+b", "rbb", "w", "wb", "w+", "a", "a+", "ab"} do
  local f = assert(io.open(name, mode))
  assert(io.type(f) == "file")
  f:close()
end
r, msg, code = io.open("/nonexistent/dir/file")
assert(r == nil and msg == "/nonexistent/dir/file: No such file or directory" and code == 2)
r, msg, code = io.open("/nonexistent/dir/file", "w")
assert(r == nil and code == 2)

-- Writes: numbers as "%d" and "%.14g", strings, chaining.
write_file(name, "")
local f = assert(io.open(name, "w"))
assert(f:write(1, " ", 1.0, " ", -0.0, " ", 2^63, " ", 0.1, " ", 1e100, " ", -7, "\n") == f)
assert(f:write("a", "b"):write("c"):write() == f)
assert(errmsg(function() return f:write({}) end) == "bad argument #1 to 'write' (string expected, got table)")
assert(fullmsg(function() f:write("x", nil) end)
       == "io_lib.lua:88: bad argument #2 to 'write' (string expected, got nil)")
f:close()
assert(read_file(name) == "1 1 -0 9.2233720368548e+18 0.1 1e+100 -7\nabcx")

-- Reads: lines, counts, "a", the "*" prefix.
write_file(name, "first line\nsecond\n\nlast")
f = assert(io.open(name))
assert(f:read() == "first line")
assert(f:read("L") == "second\n")
assert(f:read("l") == "")
assert(f:read("*l") == "last")
assert(f:read() == nil and f:read("L") == nil)
assert(f:read("a") == "" and f:read("*a") == "")
assert(f:read(0) == nil and f:read(5) == nil)
assert(f:seek("set") == 0)
assert(f:read(0) == "")
assert(f:read(5) == "first" and f:read(1) == " ")
local a, b, c = f:read("l", 3, "L")
assert(a == "line" and b == "sec" and c == "ond\n")
a, b, c = f:read("l", "l", "l")
assert(a == "" and b == "last" and c == nil)
assert(select("#", f:read("l", "l")) == 1)
assert(errmsg(function() return f:read("x") end) == "bad argument #1 to 'read' (invalid format)")
assert(errmsg(function() return f:read({}) end) == "bad argument #1 to 'read' (string expected, got table)")
assert(errmsg(function() return f:read(1.5) end) == "bad argument #1 to 'read' (number has no integer representation)")
-- A format is checked only when reading gets to it.
assert(f:read("l", "?") == nil)
assert(f:seek("set") == 0)
assert(errmsg(function() return f:read("l", "?") end) == "bad argument #2 to 'read' (invalid format)")
f:close()

-- "a" and counts across buffers.
local big = string.rep("0123456789", 3000)
write_file(name, big .. "\n" .. big)
f = assert(io.open(name))
assert(f:read(29999) == big:sub(1, 29999))
assert(f:read("l") == "9")
assert(#f:read("a") == 30000)
f:close()
f = assert(io.open(name))
assert(f:read("L") == big .. "\n")
f:close()

-- Numerals: Lua's reader with one byte of look-ahead.
write_file(name, "  12  -3.5e2 0x10 0x1p4 .5 +7 1e 42 abc 0xg 99")
f = assert(io.open(name))
local n1, n2, n3, n4, n5, n6 = f:read("n", "n", "n", "n", "n", "n")
assert(n1 == 12 and math.type(n1) == "integer")
assert(n2 == -350.0 and math.type(n2) == "float")
assert(n3 == 16 and math.type(n3) == "integer")
assert(n4 == 16.0 and math.type(n4) == "float")
assert(n5 == 0.5 and n6 == 7)
assert(f:read("n") == nil)         -- "1e" is not a numeral
assert(f:read("n") == 42)          -- the space stopped the failed one
assert(f:read("n") == nil)         -- "abc": nothing consumed
assert(f:read(3) == "abc")
assert(f:read("n") == nil)         -- "0xg": "0x" consumed
assert(f:read(1) == "g")
assert(f:read("*n") == 99 and f:read("n") == nil)
f:close()
write_file(name, string.rep("1", 200) .. " " .. string.rep("2", 201) .. "x")
f = assert(io.open(name))
assert(f:read("n") == tonumber(string.rep("1", 200)))
assert(f:read("n") == nil)         -- longer than 200 bytes
assert(f:read("a") == "2x")
f:close()
write_file(name, "5 6\n")
f = assert(io.open(name))
a, b, c = f:read("n", "n", "n")
assert(a == 5 and b == 6 and c == nil)
f:close()

-- Interleaved reads, writes and seeks on one handle.
write_file(name, "hello world\n")
f = assert(io.open(name, "r+"))
assert(f:read(5) == "hello")
assert(f:write("!") == f)
assert(f:seek() == 6)
assert(f:read("l") == "world")
assert(f:seek("set", 0) == 0 and f:read("a") == "hello!world\n")
assert(f:seek("end") == 12)
assert(f:seek("cur", -6) == 6)
assert(f:write("WORLD") and f:seek("set") == 0)
assert(f:read("l") == "hello!WORLD")
assert(f:seek("end", -1) == 11)
r, msg, code = f:seek("set", -1)
assert(r == nil and msg == "Invalid argument" and code == 22)
r, msg, code = f:seek("cur", -100)
assert(r == nil and msg == "Invalid argument" and code == 22)
assert(errmsg(function() return f:seek("top") end) == "bad argument #1 to 'seek' (invalid option 'top')")
assert(errmsg(function() return f:seek("set", 1.5) end)
       == "bad argument #2 to 'seek' (number has no integer representation)")
f:close()
assert(read_file(name) == "hello!WORLD\n")

-- Append mode writes at the end whatever the position.
f = assert(io.open(name, "a+"))
assert(f:read("l") == "hello!WORLD")
f:write("more\n")
assert(f:seek("set") == 0 and f:read("a") == "hello!WORLD\nmore\n")
f:close()

-- Wrong directions fail as stdio does.
f = assert(io.open(name, "r"))
r, msg, code = f:write("x")
assert(r == nil and msg == "Bad file descriptor" and code == 9)
f:close()
f = assert(io.open(name, "w"))
r, msg, code = f:read("a")
assert(r == nil and msg == "Bad file descriptor" and code == 9)
r, msg, code = f:read("l", "n")
assert(r == nil and msg == "Bad file descriptor" and code == 9)
f:close()

-- setvbuf and flush: data reaches the file when flushed.
f = assert(io.open(name, "w"))
assert(f:setvbuf("full", 1024) == true)
f:write("buffered")
assert(f:flush() == true)
assert(read_file(name) == "buffered")
assert(f:setvbuf("no") == true)
f:write(" now")
assert(read_file(name) == "buffered now")
assert(f:setvbuf("line") == true)
f:write(" and\n")
assert(read_file(name) == "buffered now and\n")
assert(errmsg(function() return f:setvbuf("some") end) == "bad argument #1 to 'setvbuf' (invalid option 'some')")
assert(errmsg(function() return f:setvbuf() end) == "bad argument #1 to 'setvbuf' (string expected, got no value)")
f:close()

-- Closed files.
assert(io.type(f) == "closed file" and tostring(f) == "file (closed)")
assert(errmsg(function() return f:read() end) == "attempt to use a closed file")
assert(errmsg(function() return f:write("x") end) == "attempt to use a closed file")
assert(errmsg(function() return f:close() end) == "attempt to use a closed file")
assert(errmsg(function() return f:lines() end) == "attempt to use a closed file")
assert(errmsg(function() return f:seek() end) == "attempt to use a closed file")
assert(errmsg(function() return io.close(f) end) == "attempt to use a closed file")
assert(errmsg(function() return f.read(42) end) == "bad argument #1 to 'read' (FILE* expected, got number)")
assert(errmsg(function() return io.close(nil) end) == "bad argument #1 to 'close' (FILE* expected, got nil)")
local t = {read = f.read}
assert(errmsg(function() return t:read() end):match("calling 'read' on bad self %(FILE%* expected, got table%)$"))

-- io.lines with a name: formats, the closing fourth value.
write_file(name, "1 2\n3 4\nfive\n")
local got = {}
for l in io.lines(name) do got[#got + 1] = l end
assert(#got == 3 and got[1] == "1 2" and got[3] == "five")
got = {}
for l in io.lines(name, "L") do got[#got + 1] = l end
assert(got[2] == "3 4\n")
got = {}
for x, y in io.lines(name, "n", "n") do got[#got + 1] = x + y end
assert(#got == 2 and got[1] == 3 and got[2] == 7)
got = {}
for c in io.lines(name, 4) do got[#got + 1] = c end
assert(table.concat(got, "|") == "1 2\n|3 4\n|five|\n")
local iter, s, ctl, closing = io.lines(name)
assert(type(iter) == "function" and s == nil and ctl == nil and io.type(closing) == "file")
assert(iter() == "1 2" and iter() == "3 4" and iter() == "five")
assert(iter() == nil and io.type(closing) == "closed file")
assert(errmsg(function() return iter() end) == "file is already closed")
for l in io.lines(name) do
  closing = l
  break
end
assert(closing == "1 2")
assert(fullmsg(function() return io.lines("/nonexistent/file") end)
       == "io_lib.lua:256: cannot open file '/nonexistent/file' (No such file or directory)")
assert(errmsg(function() return io.lines(name, table.unpack({}, 1, 251)) end)
       == "bad argument #252 to 'lines' (too many arguments)")
assert(fullmsg(function() for l in io.lines(name, "x") do end end)
       == "io_lib.lua:260: bad argument #2 to 'for iterator' (invalid format)")

-- file:lines leaves the file open.
f = assert(io.open(name))
got = {}
for l in f:lines() do got[#got + 1] = l end
assert(#got == 3 and io.type(f) == "file")
assert(f:seek("set") == 0)
for a, b in f:lines(1, 2) do
  assert(a == "1" and b == " 2")
  break
end
assert(f:read("l") == "")
f:close()

-- io.input and io.output, by name and by handle.
write_file(name, "in1\nin2\n")
local out = tmp()
assert(io.type(io.input(name)) == "file")
assert(io.read() == "in1")
assert(io.read("L") == "in2\n" and io.read() == nil)
got = {}
assert(io.input():seek("set") == 0)
for l in io.lines() do got[#got + 1] = l end
assert(#got == 2 and io.type(io.input()) == "file")
local o = io.output(out)
assert(io.type(o) == "file" and io.output() == o)
assert(io.write("x", 1, " ", 2.5) == o)
assert(io.close() == true and io.type(o) == "closed file")
assert(errmsg(function() return io.write("y") end) == "default output file is closed")
assert(errmsg(function() return io.close() end) == "attempt to use a closed file")
assert(errmsg(function() return io.output(o) end) == "attempt to use a closed file")
assert(read_file(out) == "x1 2.5")
io.output(io.stdout)
io.input():close()
assert(errmsg(function() return io.read() end) == "default input file is closed")
assert(errmsg(function() return io.lines() end) == "attempt to use a closed file")
assert(errmsg(function() return io.input({}) end) == "bad argument #1 to 'input' (FILE* expected, got table)")
assert(fullmsg(function() return io.input("/nonexistent/file") end)
       == "io_lib.lua:299: cannot open file '/nonexistent/file' (No such file or directory)")
io.input(io.stdin)
assert(io.input() == io.stdin and io.output() == io.stdout)

-- to-be-closed handles and collected handles.
do
  local g <close> = assert(io.open(name, "w"))
  g:write("closed by __close")
  f = g
end
assert(io.type(f) == "closed file" and read_file(name) == "closed by __close")
do
  local g = assert(io.open(name, "w"))
  g:write("closed by __gc")
end
collectgarbage()
collectgarbage()
assert(read_file(name) == "closed by __gc")

-- io.tmpfile.
f = assert(io.tmpfile())
assert(f:write("scratch", 42) == f)
assert(f:seek("set") == 0 and f:read("a") == "scratch42")
assert(f:close() == true)

-- io.popen: reading, writing, and the command's status on close.
f = assert(io.popen("echo hello; echo world"))
assert(f:read("l") == "hello" and f:read("a") == "world\n")
r, msg, code = f:close()
assert(r == true and msg == "exit" and code == 0)
r, msg, code = io.popen("exit 3"):close()
assert(r == nil and msg == "exit" and code == 3)
r, msg, code = io.popen("kill -9 $$"):close()
assert(r == nil and msg == "signal" and code == 9)
f = assert(io.popen("cat > '" .. out .. "'", "w"))
assert(f:write("piped ", 1, "\n") == f)
r, msg, code = f:read("l")
assert(r == nil and msg == "Bad file descriptor" and code == 9)
r, msg, code = f:seek("set")
assert(r == nil and msg == "Illegal seek" and code == 29)
assert(f:close() == true)
assert(read_file(out) == "piped 1\n")
assert(errmsg(function() return io.popen("ls", "rw") end) == "bad argument #2 to 'popen' (invalid mode)")
assert(errmsg(function() return io.popen("ls", "r+") end) == "bad argument #2 to 'popen' (invalid mode)")

for _, n in ipairs(names) do assert(os.remove(n)) end
print("ok io_lib")
