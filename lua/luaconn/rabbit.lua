-- RabbitMQ stream plumbing on the amqp host module: one cached connection per
-- connector state, offset probes, range consumption and confirmed publishing.
local amqp = require "amqp"
local log = require "log"

local M = {}

local cached = {}   -- role -> url -> open connection, reused across calls in this state

-- The open connection to opts.broker for a role ("probe", "read", "write"): a
-- connection has one consumer at a time, so a probe must not replace a read's.
-- Reconnects after a failure closed it.
function M.connection(opts, role)
  cached[role] = cached[role] or {}
  local conn = cached[role][opts.broker]
  if conn and conn:is_open() then return conn end
  conn = amqp.connect(opts.broker, { timeout = opts.timeout, heartbeat = opts.heartbeat,
                                     ca_file = opts.ca_file, verify = opts.verify })
  cached[role][opts.broker] = conn
  return conn
end

local function offset_of(delivery)
  return delivery.headers["x-stream-offset"]
end

-- A probe reads a handful of messages, so it asks for little credit: deliveries
-- still in flight when it stops are dropped by the next receive on this connection,
-- and with a reader's large prefetch that draining could use up the next probe's
-- wait (a tail probe after a head probe then found nothing).
local PROBE_PREFETCH = 100

-- Consumes from `spec` (an x-stream-offset value) and returns the first delivered
-- offset and the highest one seen until the stream is quiet for `idle` seconds
-- (nil, nil when nothing arrives within `first_wait`). While publishers keep
-- writing it stops after a bounded number of deliveries: a smaller answer is still
-- correct, since every offset below it exists.
local function probe(opts, spec, first_wait, idle)
  local conn = M.connection(opts, "probe")
  local prefetch = math.min(opts.prefetch, PROBE_PREFETCH)
  conn:consume(opts.queue, { prefetch = prefetch, arguments = { ["x-stream-offset"] = spec } })
  local first, last
  local d = conn:receive(first_wait)
  local budget = 4 * opts.prefetch
  while d do
    local off = offset_of(d)
    first = first or off
    if not last or off > last then last = off end
    conn:ack(d.delivery_tag)
    budget = budget - 1
    if idle == 0 or budget == 0 then break end
    d = conn:receive(idle)
  end
  conn:cancel()
  return first, last
end

-- The offset just past the newest message (0 for an empty stream): the last chunk
-- is delivered by a consumer starting at "last"; nothing else is consumed.
function M.tail(opts)
  local _, last = probe(opts, "last", opts.probe_wait, 0.05)
  return last and last + 1 or 0
end

-- The first retained offset (nil when the stream is empty).
function M.head(opts)
  return (probe(opts, "first", opts.probe_wait, 0))
end

-- The first offset at or after `seconds` since the epoch (nil when none yet).
function M.offset_at_time(opts, seconds)
  return (probe(opts, amqp.timestamp(seconds), opts.probe_wait, 0))
end

-- Calls on_message(delivery, offset) for each message with offset in [start, stop),
-- in offset order. Stops on the first delivered offset >= stop (offsets may skip
-- values, so it never counts); waits at most opts.read_timeout for each message.
-- A first offset beyond start that the stream no longer retains is data loss.
-- The delivery table (and its headers) is reused for the next message: on_message
-- copies what it keeps. Acks grant credit only, so one multiple-ack per half of the
-- prefetch keeps the broker sending without a round trip per message.
function M.consume_range(opts, start, stop, on_message)
  if start >= stop then return 0 end
  local conn = M.connection(opts, "read")
  conn:consume(opts.queue, { prefetch = opts.prefetch, arguments = { ["x-stream-offset"] = start } })
  local count, expected, unacked = 0, start, 0
  local ack_every = math.max(1, math.floor(opts.prefetch / 2))
  local read_timeout = opts.read_timeout
  local d = {}
  while true do
    if not conn:receive(read_timeout, d) then
      conn:cancel()
      error(string.format("stream '%s': no message at offset %d or later within %g s (range [%d, %d))",
        opts.queue, expected, read_timeout, start, stop), 0)
    end
    local off = d.headers["x-stream-offset"]
    unacked = unacked + 1
    if unacked >= ack_every then conn:ack(d.delivery_tag, true); unacked = 0 end
    if off >= start then   -- a consumer may start at the beginning of off's chunk
      if count == 0 and off > start then M.check_loss(opts, start, off) end
      if off >= stop then break end
      on_message(d, off)
      count, expected = count + 1, off + 1
      if off == stop - 1 then break end
    end
  end
  conn:cancel()
  return count
end

-- Called when the first offset delivered from `start` is `first` > start: either
-- the stream skipped offsets (harmless) or retention removed [start, first).
function M.check_loss(opts, start, first)
  local head = M.head(opts)
  if head and head <= start then return end
  local what = string.format("data loss in stream '%s': offsets [%d, %d) are no longer retained "
    .. "(retention removed them before they were read)", opts.queue, start, first)
  if opts.fail_on_data_loss then
    error(what .. "; set fail_on_data_loss=false to skip them", 0)
  end
  log.warn("%s; skipping them (fail_on_data_loss=false)", what)
end

-- Declares the stream queue (idempotent; arguments must match an existing queue).
function M.declare_stream(opts)
  local arguments = { ["x-queue-type"] = "stream" }
  for k, v in pairs(opts.queue_arguments or {}) do arguments[k] = v end
  M.connection(opts, "write"):declare(opts.queue, { durable = true, arguments = arguments })
end

-- Publishes every message next_message() returns ({routing_key, body, props}),
-- waiting for the broker's confirms every opts.confirm_every messages and at the
-- end; returns the number published. A nack or a confirm timeout raises.
function M.publish_all(opts, next_message)
  local conn = M.connection(opts, "write")
  local sent = 0
  for routing_key, body, props in next_message do
    props.confirm = true
    conn:publish(routing_key, body, props)
    sent = sent + 1
    if sent % opts.confirm_every == 0 then conn:wait_confirms(opts.timeout) end
  end
  conn:wait_confirms(opts.timeout)
  return sent
end

-- Seconds since the epoch of an ISO-8601 time ("2024-05-01T12:00:00Z", zone
-- optional, UTC assumed; "+02:00" offsets honoured), or nil if text is not one.
function M.parse_time(text)
  local y, mo, d, h, mi, s, rest = text:match("^(%d%d%d%d)-(%d%d)-(%d%d)[T ](%d%d):(%d%d):(%d%d)%.?%d*(.*)$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  -- days from civil (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar
  local yy = mo <= 2 and y - 1 or y
  local era = math.floor(yy / 400)
  local yoe = yy - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local seconds = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
  local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
  if sign then
    local shift = tonumber(oh) * 3600 + tonumber(om) * 60
    seconds = sign == "+" and seconds - shift or seconds + shift
  elseif rest ~= "" and rest ~= "Z" then
    return nil
  end
  return seconds
end

return M
