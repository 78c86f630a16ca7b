-- A REST API whose records carry a growing field (a sequence number, an id) read
-- incrementally: a batch read returns everything, a stream read returns the records
-- added since the last micro-batch (luaconn.incremental), none twice.
local auth = require "luaconn.auth"
local incremental = require "luaconn.incremental"
local paginate = require "luaconn.paginate"

local C = {
  description = "REST API read incrementally by a growing field, as a batch or a stream",
  options = auth.with_options(incremental.OPTIONS, {
    url = { type = "string", required = true, description = "endpoint to read" },
    field = { type = "string", required = true, description = "the growing field, e.g. seq" },
    since_param = { type = "string", default = "since", description = "asks for records with field > value" },
    start = { type = "number", default = 0, description = "the stream starts after this value" },
    page_size = { type = "integer", default = 100 },
    page_size_param = { type = "string", default = "limit" },
    results_field = { type = "string", default = "results", description = "path of the records array" },
    schema = { type = "string", required = true },
  }),
}

function C.schema(opts) return opts.schema end

-- Keyset pages: each request asks for the records after the last one received.
local function read_after(opts, after, on_record)
  local fetch = auth.fetcher(opts)
  while true do
    local page = fetch(opts.url, { [opts.since_param] = after, [opts.page_size_param] = opts.page_size })
    local records = paginate.records(page, opts.results_field, opts.url, 1)
    if #records == 0 then return end
    for i = 1, #records do
      if on_record(records[i]) == false then return end
    end
    after = records[#records][opts.field]
  end
end

return incremental.stream(C, read_after, function(opts) return opts.field end,
  function(opts) return opts.start end)
