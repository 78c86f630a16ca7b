-- RabbitMQ stream queue (x-queue-type=stream) over AMQP 0.9.1: a replayable stream
-- read with offsets {next = N} (the next stream offset to read), and confirmed
-- publishing with deterministic message ids. Offsets live in the caller's
-- checkpoint (Spark's), never in the broker.
local hash = require "hash"
local json = require "json"
local rabbit = require "luaconn.rabbit"

local C = {
  description = "RabbitMQ stream queue: replayable offset reads, confirmed publishes",
  options = {
    broker = { type = "string", required = true, description = "amqp:// or amqps:// URL" },
    queue = { type = "string", required = true, description = "the stream queue" },
    starting_offset = { type = "string", default = "earliest",
      description = "where a new query starts: earliest, latest, an offset, or an ISO-8601 time" },
    max_records_per_batch = { type = "integer", description = "bounds each micro-batch" },
    partitions = { type = "integer", default = 1, description = "ranges per micro-batch" },
    fail_on_data_loss = { type = "boolean", default = true,
      description = "fail when retention removed offsets not yet read (false: warn and skip)" },
    body = { type = "string", default = "string", description = "body column type: string or binary" },
    prefetch = { type = "integer", default = 1000 },
    read_timeout = { type = "number", default = 30, description = "seconds to wait for each message of a range" },
    probe_wait = { type = "number", default = 0.5, description = "seconds to wait for the stream tail" },
    timeout = { type = "number", default = 10, description = "connect, RPC and confirm timeout" },
    heartbeat = { type = "integer", default = 30 },
    ca_file = { type = "string", description = "amqps: PEM file of the CAs the broker is verified against (default: SSL_CERT_FILE, CURL_CA_BUNDLE, else the system bundle)" },
    verify = { type = "boolean", default = true, description = "amqps: false turns certificate verification off (logged as a warning)" },
    declare = { type = "boolean", default = true, description = "write: declare the stream queue" },
    queue_arguments = { type = "json", description = "write: extra queue.declare arguments" },
    exchange = { type = "string", default = "", description = "write: exchange to publish to" },
    write_id = { type = "string", description = "write: this write's id, the prefix of its message ids" },
    write_task = { type = "string", description = "write: the task's id (luaconn.spark fills it in)" },
    confirm_every = { type = "integer", default = 1000, description = "write: publishes per confirm wait" },
  },
}

function C.schema(opts)
  local body = opts.body == "binary" and "BINARY" or "STRING"
  return "offset BIGINT, body " .. body .. ", routing_key STRING, message_id STRING, "
      .. "timestamp TIMESTAMP, headers STRING"
end

-- ---- streaming ------------------------------------------------------------------

local highest = {}   -- queue -> the largest latest_offset answered (never go back)

function C.initial_offset(opts)
  local s = opts.starting_offset
  if s == "earliest" then return { next = rabbit.head(opts) or 0 } end
  if s == "latest" then return { next = rabbit.tail(opts) } end
  if s:match("^%d+$") then return { next = tonumber(s) } end
  local seconds = rabbit.parse_time(s)
  if not seconds then
    error("starting_offset must be earliest, latest, an offset or an ISO-8601 time, got '" .. s .. "'", 0)
  end
  return { next = rabbit.offset_at_time(opts, seconds) or rabbit.tail(opts) }
end

function C.latest_offset(opts, start, limit)
  local tail = math.max(rabbit.tail(opts), highest[opts.queue] or 0, start and start.next or 0)
  highest[opts.queue] = tail
  local max_rows = math.min(limit and limit.max_rows or math.huge, opts.max_records_per_batch or math.huge)
  if start and tail - start.next > max_rows then tail = start.next + max_rows end
  return { next = tail }
end

function C.stream_partitions(opts, start, stop)
  local first, last, parts = start.next, stop.next, {}
  local n = math.max(1, math.min(opts.partitions, last - first))
  for i = 0, n - 1 do
    local lo = first + math.floor((last - first) * i / n)
    local hi = first + math.floor((last - first) * (i + 1) / n)
    if hi > lo then parts[#parts + 1] = { start = lo, ["end"] = hi } end
  end
  return parts
end

-- A batch read (no stream range) reads from starting_offset to the current tail.
function C.partitions(opts)
  return { { start = C.initial_offset(opts).next, ["end"] = rabbit.tail(opts) } }
end

-- Headers as a JSON object with sorted keys, so a replayed range is byte-identical
-- (a Lua table's iteration order is not stable across states). Most messages carry
-- only the broker's x-stream-offset: that object is written directly (an integer
-- below 1e14 reads the same from tostring as from json.encode).
local function headers_json(headers)
  local only, value = next(headers)
  if only == "x-stream-offset" and next(headers, only) == nil and type(value) == "number"
      and value >= 0 and value < 1e14 and value % 1 == 0 then
    return '{"x-stream-offset":' .. value .. "}"
  end
  local keys, parts = {}, {}
  for k in pairs(headers) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do parts[i] = json.encode(k) .. ":" .. json.encode(headers[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- One row table is filled and emitted per message (emit copies the values).
function C.read(opts, partition, emit)
  local range = partition.start and partition or C.partitions(opts)[1]
  local row = {}
  rabbit.consume_range(opts, range.start, range["end"], function(d, offset)
    row.offset, row.body, row.routing_key = offset, d.body, d.routing_key
    -- json.null, not nil: a message without them is NULL there, not a misspelt column.
    row.message_id = d.message_id or json.null
    row.timestamp = d.timestamp or json.null
    row.headers = headers_json(d.headers)
    emit(row)
  end)
end

-- ---- writing --------------------------------------------------------------------

-- message_id = "<write_id>/<write_task>/<row index>" (absent parts left out): the
-- same task replayed publishes the same ids, so consumers can drop duplicates.
function C.write(opts, rows)
  if opts.declare then rabbit.declare_stream(opts) end
  local prefix = opts.write_id and opts.write_task and opts.write_id .. "/" .. opts.write_task
      or opts.write_id or opts.write_task
  local index = 0
  local function next_message()
    local row = rows()
    if not row then return nil end
    index = index + 1
    if row.body == nil or row.body == json.null then error("row " .. index .. ": column 'body' is null", 0) end
    local id = row.message_id
    if id == nil or id == json.null then
      -- Without write_id and write_task a hash of the body: a replay of the same rows
      -- in the same order still gets the same message ids.
      id = string.format("%s/%d", prefix or hash.hex(row.body), index)
    end
    local headers = row.headers ~= json.null and row.headers or nil
    if type(headers) == "string" then headers = json.decode(headers) end
    local stamp = type(row.timestamp) == "string" and rabbit.parse_time(row.timestamp) or nil
    local key = row.routing_key ~= nil and row.routing_key ~= json.null and row.routing_key or opts.queue
    return key, row.body, { exchange = opts.exchange, message_id = id, headers = headers, timestamp = stamp }
  end
  local sent = rabbit.publish_all(opts, next_message)
  return { rows = sent, message_ids = prefix }
end

return C
