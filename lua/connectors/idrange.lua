-- A table behind an HTTP API read in parallel by id ranges: partitions() asks
-- /stats for the smallest and largest id and splits [min, max] into near-equal
-- half-open ranges; read() pages through /records?id_gte=..&id_lt=.. by id.
-- Pushed id filters (=, <, <=, >, >=, in) narrow [min, max] before it is split.
local auth = require "luaconn.auth"
local paginate = require "luaconn.paginate"
local ranges = require "luaconn.ranges"
local filters = require "luaconn.filters"

local C = {
  description = "Id-range partitioned reads of a table behind an HTTP API (/stats + /records)",
  options = auth.with_options {
    url = { type = "string", required = true, description = "base URL; paths are appended" },
    partitions = { type = "integer", default = 8 },
    stats_path = { type = "string", default = "/stats" },
    records_path = { type = "string", default = "/records" },
    min_field = { type = "string", default = "min_id" },
    max_field = { type = "string", default = "max_id" },
    id_field = { type = "string", default = "id" },
    gte_param = { type = "string", default = "id_gte" },
    lt_param = { type = "string", default = "id_lt" },
    page_size = { type = "integer", default = 1000, description = "records asked for per request" },
    concurrency = { type = "integer", default = paginate.DEFAULT_CONCURRENCY,
      description = "requests kept in flight per partition (rows still come in id order)" },
    schema = { type = "string", default = "id BIGINT, value STRING" },
  },
}

function C.schema(opts) return opts.schema end

-- "in" narrows to the span of its values, so the host re-checks those rows.
function C.filters(opts)
  return { [opts.id_field] = { exact = { "=", "<", "<=", ">", ">=" }, inexact = { "in" } } }
end

function C.partitions(opts)
  local low, high = filters.narrow(opts.filters, opts.id_field, -math.huge, math.huge)
  if high < low then return {} end -- the filters leave no id: no request at all
  local stats = auth.fetcher(opts)(opts.url .. opts.stats_path)
  local min, max = stats[opts.min_field], stats[opts.max_field]
  if type(min) ~= "number" or type(max) ~= "number" then return {} end -- an empty table
  return ranges.split(math.max(min, low), math.min(max, high), opts.partitions)
end

-- Keyset pages inside the range (paginate.id_range): each page starts after the last
-- id received, so a server that caps its page size below page_size loses nothing.
function C.read(opts, partition, emit)
  local fetch, start = auth.fetcher(opts)
  paginate.id_range({ url = opts.url .. opts.records_path, fetch = fetch, start = start,
    id_gte = partition.id_gte, id_lt = partition.id_lt, id_field = opts.id_field,
    gte_param = opts.gte_param, lt_param = opts.lt_param, page_size = opts.page_size,
    concurrency = opts.concurrency }, emit)
end

return C
