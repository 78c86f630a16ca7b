-- REST API: cursor-paginated GET reads, batched JSON POST writes.
local http = require "http"
local paginate = require "luaconn.paginate"
local batch = require "luaconn.batch"
local client = require "luaconn.client"

local C = {
  description = "REST API read with cursor pagination; rows POSTed as JSON arrays",
  options = client.with_options {
    url = { type = "string", required = "read", description = "endpoint to read" },
    page_size = { type = "integer", default = 100 },
    results_field = { type = "string", default = "results", description = "path of the records array" },
    cursor_field = { type = "string", default = "next_cursor", description = "path of the next cursor" },
    cursor_param = { type = "string", default = "cursor" },
    limit_param = { type = "string", default = "limit" },
    schema = { type = "string", default = "id INT, name STRING, status STRING" },
    target_url = { type = "string", required = "write", description = "endpoint rows are POSTed to" },
    batch_size = { type = "integer", default = 500 },
  },
}

function C.schema(opts) return opts.schema end

function C.read(opts, partition, emit)
  client.configure(opts)
  paginate.cursor({
    url = opts.url, page_size = opts.page_size, results_field = opts.results_field,
    cursor_field = opts.cursor_field, cursor_param = opts.cursor_param, limit_param = opts.limit_param,
  }, emit)
end

function C.write(opts, rows)
  client.configure(opts)
  local sent, batches = batch.each(rows, opts.batch_size, function(list)
    http.post(opts.target_url, { json = list })
  end)
  return { rows = sent, batches = batches }
end

return C
