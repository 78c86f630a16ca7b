-- REST API: paginated reads (any luaconn.paginate style, with luaconn.auth
-- credentials and luaconn.client's retry policy), batched JSON POST writes with
-- idempotency keys and per-record results (luaconn.delivery).
local paginate = require "luaconn.paginate"
local auth = require "luaconn.auth"
local delivery = require "luaconn.delivery"
local filters = require "luaconn.filters"

local C = {
  description = "REST API read page by page (cursor, last_record, offset, page, link or next_url); rows POSTed as JSON arrays",
  options = auth.with_options(delivery.OPTIONS, {
    url = { type = "string", required = "read", description = "endpoint to read" },
    paginator = { type = "string", default = "cursor",
      description = "cursor, last_record, offset, page, link or next_url" },
    page_size = { type = "integer", default = 100 },
    concurrency = { type = "integer", default = paginate.DEFAULT_CONCURRENCY,
      description = "offset and page: requests kept in flight (rows still come in page order; rate_limit still spaces them)" },
    page_size_param = { type = "string",
      description = "parameter page_size is sent as (default: limit; per_page for page; none for link and next_url)" },
    results_field = { type = "string",
      description = "path of the records array: data, response.items, data[0].rows; empty = the page is the array" },
    body = { type = "json", description = "a JSON object POSTed with each page; paging parameters go inside it" },
    cursor_field = { type = "string", description = "cursor: path of the next cursor (default next_cursor)" },
    cursor_header = { type = "string", description = "cursor: response header holding the next cursor" },
    cursor_param = { type = "string", description = "cursor: parameter the cursor is sent as (default cursor)" },
    last_field = { type = "string", description = "last_record: field of the last record sent (default id)" },
    last_param = { type = "string", description = "last_record: parameter it is sent as (default starting_after)" },
    has_more_field = { type = "string", description = "last_record: path of the has-more flag (default has_more)" },
    offset_param = { type = "string", description = "offset: parameter name (default offset)" },
    total_field = { type = "string", description = "offset: path of the record count" },
    page_param = { type = "string", description = "page: parameter name (default page)" },
    total_pages_field = { type = "string", description = "page: path of the page count" },
    next_field = { type = "string", description = "next_url: path of the next page's URL (default next)" },
    flatten = { type = "string", description = "a record key whose object's fields join the record, e.g. attributes" },
    rename = { type = "json", description = 'record keys renamed, a JSON object {"from": "to"}' },
    filter_params = { type = "json",
      description = 'pushed filters sent as query parameters, {"column op": "param"}, e.g. {"updated_at>=": "since"}' },
    schema = { type = "string", default = "id INT, name STRING, status STRING" },
  }),
}

function C.schema(opts) return opts.schema end

-- Every filter_params entry is inexact: the host re-checks the rows it gets.
function C.filters(opts)
  return filters.declare_params(filters.parse_params(opts.filter_params, "filter_params"))
end

function C.read(opts, partition, emit)
  local params = filters.parse_params(opts.filter_params, "filter_params")
  local spec = { query = filters.query(opts.filters, params) }
  spec.fetch, spec.start = auth.fetcher(opts)
  for name, value in pairs(opts) do spec[name] = spec[name] or value end
  paginate.run(opts.paginator, spec, emit)
end

function C.write(opts, rows)
  return delivery.post(opts, rows, auth.sender(opts))
end

C.commit = delivery.commit

return C
