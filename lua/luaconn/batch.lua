-- Batching: group the rows a write receives into lists of a fixed size.
local json = require "json"

local M = {}

-- Calls send(list) for each run of `size` rows from the iterator `rows`, and once
-- more for the remainder. Returns the number of rows and of batches sent.
function M.each(rows, size, send)
  assert(type(size) == "number" and size >= 1, "batch size must be a positive number")
  local list, n, total, batches = {}, 0, 0, 0
  for row in rows do
    n = n + 1
    list[n] = row
    if n == size then
      send(list)
      total, batches = total + n, batches + 1
      list, n = {}, 0
    end
  end
  if n > 0 then
    send(list)
    total, batches = total + n, batches + 1
  end
  return total, batches
end

-- Calls send(text, n) with the JSON array text of each run of `size` rows (n of
-- them), as send(json.encode(list), #list) would. With write's own rows iterator
-- the rows are encoded in C, no Lua table per row. Returns the number of rows and
-- of batches sent.
function M.each_json(rows, size, send)
  if not json.encodes_rows(rows) then
    return M.each(rows, size, function(list) send(json.encode(list), #list) end)
  end
  assert(type(size) == "number" and size >= 1, "batch size must be a positive number")
  local total, batches = 0, 0
  while true do
    local text, n = json.encode_rows(rows, size)
    if text == nil then break end
    if text then   -- false: a new batch of rows arrived; ask again
      send(text, n)
      total, batches = total + n, batches + 1
    end
  end
  return total, batches
end

return M
