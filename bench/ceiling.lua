-- The ceiling of a luaconn read: lua-cjson alone decoding the same page bytes, in
-- the luajit binary (JIT on), with every page already in memory.
-- usage: luajit ceiling.lua FILELIST [results_field]   (FILELIST: one path a line)
-- prints: rows seconds
--
-- The pages wait outside the Lua heap (C buffers through the FFI) and each becomes a
-- Lua string just before its decode, as a page from an HTTP response does: tens of
-- megabytes of live page strings would make LuaJIT's garbage collector several
-- times slower than it is in a streaming read, understating the ceiling.
local cjson = require "cjson"
local ffi = require "ffi"
local list, field = arg[1], arg[2]
local buffers, sizes = {}, {}
for path in io.lines(list) do
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  local buf = ffi.new("char[?]", #text)
  ffi.copy(buf, text, #text)
  buffers[#buffers + 1], sizes[#sizes + 1] = buf, #text
end
collectgarbage("collect")
local decode, clock, tostr = cjson.decode, os.clock, ffi.string
local rows, start = 0, clock()
repeat   -- at least half a second of work, whole passes over the pages
  for i = 1, #buffers do
    local doc = decode(tostr(buffers[i], sizes[i]))
    rows = rows + #(field and doc[field] or doc)
  end
until clock() - start >= 0.5
print(rows, clock() - start)
