-- Test connector: posts every task's rows to target_url in one request; abort posts
-- one record {aborted_tasks = N, failed_tasks = F} to abort_url, so a test can see
-- that the driver called abort and with what.
local http = require "http"
local json = require "json"

local C = {
  schema = "id INT, name STRING, status STRING",
  options = {
    target_url = { type = "string", required = true },
    abort_url = { type = "string", required = true },
  },
}

function C.write(opts, rows)
  local batch = {}
  for row in rows do batch[#batch + 1] = row end
  http.post(opts.target_url, { json = batch })
  return { rows = #batch }
end

function C.commit(opts, messages) end

function C.abort(opts, messages)
  local failed = 0
  for _, message in ipairs(messages) do
    if message == json.null then failed = failed + 1 end
  end
  http.post(opts.abort_url, { json = { { aborted_tasks = #messages, failed_tasks = failed } } })
end

return C
