-- REST API: paginated GET reads (any luaconn.paginate style, with luaconn.auth
-- credentials), batched JSON POST writes.
local http = require "http"
local paginate = require "luaconn.paginate"
local auth = require "luaconn.auth"
local batch = require "luaconn.batch"
local client = require "luaconn.client"

local C = {
  description = "REST API read page by page (cursor, offset, page, link or next_url); rows POSTed as JSON arrays",
  options = auth.with_options {
    url = { type = "string", required = "read", description = "endpoint to read" },
    paginator = { type = "string", default = "cursor", description = "cursor, offset, page, link or next_url" },
    page_size = { type = "integer", default = 100 },
    results_field = { type = "string", default = "results", description = "path of the records array" },
    cursor_field = { type = "string", default = "next_cursor", description = "path of the next cursor" },
    cursor_param = { type = "string", default = "cursor" },
    limit_param = { type = "string", default = "limit" },
    next_field = { type = "string", default = "next", description = "next_url: path of the next page's URL" },
    total_field = { type = "string", description = "offset: path of the record count" },
    schema = { type = "string", default = "id INT, name STRING, status STRING" },
    target_url = { type = "string", required = "write", description = "endpoint rows are POSTed to" },
    batch_size = { type = "integer", default = 500 },
  },
}

function C.schema(opts) return opts.schema end

function C.read(opts, partition, emit)
  local spec = { fetch = auth.fetcher(opts), size_param = opts.limit_param }
  for name, value in pairs(opts) do spec[name] = spec[name] or value end
  paginate.run(opts.paginator, spec, emit)
end

function C.write(opts, rows)
  client.configure(opts)
  local sent, batches = batch.each_json(rows, opts.batch_size, function(text)
    http.post(opts.target_url, { body = text, headers = { ["Content-Type"] = "application/json" } })
  end)
  return { rows = sent, batches = batches }
end

return C
