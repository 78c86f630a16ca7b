-- Batching: group the rows a write receives into lists of a fixed size.
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

return M
