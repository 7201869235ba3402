-- require and the package library: package.path templates, package.loaded,
-- package.preload, searchers (custom ones too), searchpath, the message listing every
-- path tried, loader data, modules returning nothing or failing, native modules refused.

package.path = "./data/mods/?.lua;./data/mods/?/init.lua"
package.cpath = "./data/mods/?.so"

-- the package table
assert(type(package) == "table" and package.loaded == select(2, pcall(require, "package")) or true)
assert(package.loaded._G == _G and package.loaded.string == string)
assert(require("string") == string and require("_G") == _G)
assert(package.config == "/\n;\n?\n!\n-\n")
assert(type(package.searchers) == "table" and #package.searchers == 4)
assert(type(package.preload) == "table")
assert(require("package") == package)

-- Lua modules: loader arguments, caching, loader data
local a, where = require("mod_a")
assert(a.name == "mod_a" and a.file == "./data/mods/mod_a.lua" and where == "./data/mods/mod_a.lua")
assert(package.loaded.mod_a == a)
assert(require("mod_a") == a)
assert(select("#", require("mod_a")) == 1)
assert(select("#", package.loaded.mod_a) == 1)

-- a module returning nothing becomes true, and runs once
assert(require("mod_b") == true and loaded_b == 1)
assert(require("mod_b") == true and loaded_b == 1)
package.loaded.mod_b = nil
assert(require("mod_b") == true and loaded_b == 2)

-- dotted names and init.lua
assert(require("pkg") == "pkg init")
assert(require("pkg.sub") == "pkg.sub")

-- preload
package.preload.virtual = function(name, data) return {name = name, data = data} end
local v, d = require("virtual")
assert(v.name == "virtual" and v.data == ":preload:" and d == ":preload:")

-- not found: every searcher's list
local ok, msg = pcall(require, "nope.inner")
assert(not ok and msg == "module 'nope.inner' not found:\n" ..
  "\tno field package.preload['nope.inner']\n" ..
  "\tno file './data/mods/nope/inner.lua'\n" ..
  "\tno file './data/mods/nope/inner/init.lua'\n" ..
  "\tno file './data/mods/nope/inner.so'\n" ..
  "\tno file './data/mods/nope.so'")

-- errors while loading or running a module
ok, msg = pcall(require, "mod_err")
assert(not ok and msg == "error loading module 'mod_err' from file './data/mods/mod_err.lua':\n" ..
  "\t./data/mods/mod_err.lua:1: unexpected symbol near '+'")
ok, msg = pcall(require, "mod_fail")
assert(not ok and msg == "./data/mods/mod_fail.lua:1: failing module")
assert(package.loaded.mod_fail == nil)

-- native modules are found but refused (no C modules here, and the PUC build used
-- for comparison cannot load this fake one either)
ok, msg = pcall(require, "native")
assert(not ok and type(msg) == "string")
assert(package.loaded.native == nil)

-- searchpath
assert(package.searchpath("mod_a", package.path) == "./data/mods/mod_a.lua")
assert(package.searchpath("pkg.sub", package.path) == "./data/mods/pkg/sub.lua")
assert(package.searchpath("pkg_sub", "./data/mods/?.lua", "_", "/") == "./data/mods/pkg/sub.lua")
local f, tried = package.searchpath("x.y", "a/?.lua;b/?")
assert(f == nil and tried == "no file 'a/x/y.lua'\n\tno file 'b/x/y'")
f, tried = package.searchpath("x.y", "a/?.lua", "")
assert(f == nil and tried == "no file 'a/x.y.lua'")
-- Empty templates are listed too.
f, tried = package.searchpath("x", "a/?;;b/?")
assert(f == nil and tried == "no file 'a/x'\n\tno file ''\n\tno file 'b/x'")
f, tried = package.searchpath("x", ";")
assert(f == nil and tried == "no file ''\n\tno file ''")
f, tried = package.searchpath("x", "")
assert(f == nil and tried == "no file ''")
ok, msg = pcall(package.searchpath)
assert(not ok and msg == "bad argument #2 to 'package.searchpath' (string expected, got no value)")

-- custom searchers
table.insert(package.searchers, 2, function(name)
  if name == "custom" then
    return function(n, extra) return "made by " .. extra end, "searcher 2"
  end
  return "\n\tnot custom"
end)
assert(require("custom") == "made by searcher 2")
ok, msg = pcall(require, "zzz")
assert(not ok and msg:find("\n\tnot custom\n", 1, true))
table.remove(package.searchers, 2)

-- bad arguments and a broken package table
ok, msg = pcall(require)
assert(not ok and msg == "bad argument #1 to 'require' (string expected, got no value)")
local saved = package.searchers
package.searchers = nil
ok, msg = pcall(require, "anything")
assert(not ok and msg == "'package.searchers' must be a table")
package.searchers = saved
local saved_path = package.path
package.path = nil
ok, msg = pcall(require, "nothing_here")
assert(not ok and msg == "'package.path' must be a string")
package.path = saved_path

-- A searcher that yields, and a loader (a module's main chunk) that
-- yields: PUC Lua refuses ("attempt to yield across a C-call boundary");
-- this VM calls them through the interpreter loop, where they may yield
-- (an extension). Both are accepted.
package.preload.yielder = function(name, data)
  local v = coroutine.yield("loading " .. name)
  return v .. " from " .. data
end
local co = coroutine.wrap(function() return require("yielder") end)
ok, msg = pcall(co)
if ok then
  assert(msg == "loading yielder")
  local m, d = co("module")
  assert(m == "module from :preload:" and d == ":preload:")
  assert(package.loaded.yielder == m and require("yielder") == m)
  table.insert(package.searchers, 1, function(name)
    local answer = coroutine.yield(name)
    if answer then return function() return answer end, "yielding searcher" end
    return "\n\tno answer for " .. name
  end)
  co = coroutine.wrap(function() return pcall(require, "asked") end)
  assert(co() == "asked")
  local ok2, err = co(false)
  assert(not ok2 and err:find("no answer for asked", 1, true))
  co = coroutine.wrap(function() return require("asked") end)
  assert(co() == "asked")
  m, d = co("an answer")
  assert(m == "an answer" and d == "yielding searcher")
  table.remove(package.searchers, 1)
else
  assert(msg:find("attempt to yield across a C-call boundary", 1, true))
end
package.loaded.yielder, package.loaded.asked = nil, nil

print("ok package_lib")
