-- Writes a target can trust: rows POSTed as JSON arrays in batches, each with a
-- deterministic idempotency key, per-record results read from 207 answers, and the
-- accepted/rejected counts carried in the commit message to commit, which fails
-- when more rows were rejected than allowed.
--
--   options = auth.with_options(delivery.OPTIONS, { ... })
--   function C.write(opts, rows) return delivery.post(opts, rows, auth.sender(opts)) end
--   C.commit = delivery.commit
local hash = require "hash"
local http = require "http"
local json = require "json"
local log = require "log"
local batch = require "luaconn.batch"
local paginate = require "luaconn.paginate"

local M = {}

M.OPTIONS = {
  target_url = { type = "string", required = "write", description = "endpoint rows are POSTed to" },
  batch_size = { type = "integer", default = 500 },
  write_id = { type = "string",
    description = "this write's id: a run with the same id sends the same idempotency keys, so the target applies nothing twice" },
  write_task = { type = "string", description = "the task's id (luaconn.spark fills it in)" },
  idempotency_header = { type = "string", default = "Idempotency-Key",
    description = "header carrying each batch's key (empty: none)" },
  results_path = { type = "string", default = "results",
    description = "path of the per-record results in a 207 answer" },
  result_status_field = { type = "string", default = "status", description = "a result's status field" },
  max_rejected = { type = "integer", default = 0,
    description = "commit fails when the target rejected more rows than this" },
}

local SHOWN_ERRORS = 3

-- The idempotency key of batch number n with JSON text `text`: the same write id,
-- task, position and rows give the same key on every run.
function M.key(opts, n, text)
  return hash.hex(opts.write_id or "", opts.write_task or "", tostring(n), text)
end

-- Counts the accepted and rejected records of a 207 answer to a batch of `count` rows
-- starting at row `first`; adds up to SHOWN_ERRORS descriptions to errors.
local function per_record(opts, response, count, first, errors)
  local results = paginate.field(http.decode_json(response, "POST"), opts.results_path)
  if type(results) ~= "table" or #results ~= count then
    error(("POST %s: HTTP 207 without %d results at '%s' (set results_path)"):format(
      response.url, count, opts.results_path), 0)
  end
  local rejected = 0
  for i, result in ipairs(results) do
    local status = tonumber(type(result) == "table" and result[opts.result_status_field])
    if not status or status < 200 or status > 299 then
      rejected = rejected + 1
      if #errors < SHOWN_ERRORS then
        errors[#errors + 1] = ("row %d: %s"):format(first + i - 1, json.encode(result))
      end
    end
  end
  return count - rejected, rejected
end

-- POSTs the rows in batches of opts.batch_size through send (http.request or
-- luaconn.auth's sender) and returns the commit message {rows, accepted, rejected,
-- batches, errors} (errors: the first few rejections, absent when none).
function M.post(opts, rows, send)
  local accepted, rejected, errors, n = 0, 0, {}, 0
  local _, batches = batch.each_json(rows, opts.batch_size, function(text, count)
    n = n + 1
    local headers = { ["Content-Type"] = "application/json" }
    if opts.idempotency_header ~= "" then headers[opts.idempotency_header] = M.key(opts, n, text) end
    local response = send { method = "POST", url = opts.target_url, body = text, headers = headers }
    if response.status == 207 then
      local ok, bad = per_record(opts, response, count, accepted + rejected + 1, errors)
      accepted, rejected = accepted + ok, rejected + bad
    else
      accepted = accepted + count
    end
  end)
  return { rows = accepted + rejected, accepted = accepted, rejected = rejected, batches = batches,
           errors = errors[1] and errors or nil }
end

-- commit(opts, messages): the totals of every task; fails past opts.max_rejected.
function M.commit(opts, messages)
  local rows, rejected, errors = 0, 0, {}
  for _, m in ipairs(messages) do
    rows, rejected = rows + (m.rows or 0), rejected + (m.rejected or 0)
    for _, e in ipairs(m.errors or {}) do
      if #errors < SHOWN_ERRORS then errors[#errors + 1] = e end
    end
  end
  if rejected == 0 then return end
  local text = ("%d of %d rows were rejected by %s; first: %s"):format(
    rejected, rows, opts.target_url, table.concat(errors, "; "))
  if rejected > opts.max_rejected then
    error(text .. (" (more than max_rejected=%d)"):format(opts.max_rejected), 0)
  end
  log.warn("%s", text)
end

return M
