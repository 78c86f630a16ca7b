-- Test connector: reads /items with cursor pagination, split into `partitions`
-- partitions by id modulo, so Spark gets several partitions from one endpoint.
local http = require "http"

local C = {
  schema = "id INT, name STRING, status STRING",
  options = {
    url = { type = "string", required = true },
    partitions = { type = "integer", default = 4 },
    page_size = { type = "integer", default = 500 },
  },
}

function C.partitions(opts)
  local parts = {}
  for k = 0, opts.partitions - 1 do
    parts[#parts + 1] = { k = k, n = opts.partitions }
  end
  return parts
end

function C.read(opts, partition, emit)
  local cursor
  repeat
    local page = http.get_json(opts.url, { query = { limit = opts.page_size, cursor = cursor } })
    for _, row in ipairs(page.results) do
      if row.id % partition.n == partition.k then emit(row) end
    end
    cursor = page.next_cursor
  until cursor == nil or cursor == require("json").null or cursor == ""
end

return C
