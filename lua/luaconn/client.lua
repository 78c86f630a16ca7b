-- HTTP options every HTTP connector shares, declared once, and the retry policy
-- they make.
local http = require "http"

local M = {}

local SHARED = {
  retries = { type = "integer", default = 3, description = "retries after the first attempt" },
  retry_on = { type = "string",
    description = "statuses retried, comma-separated (default 408,429,500,502,503,504); e.g. 403,429,500-504" },
  backoff = { type = "number", default = 0.5,
    description = "first wait between attempts in seconds; doubles each retry (Retry-After and rate-limit resets win when longer)" },
  max_backoff = { type = "number", default = 30, description = "longest backoff wait in seconds" },
  timeout = { type = "number", default = 30, description = "seconds per request" },
  headers = { type = "json", description = "extra request headers, a JSON object" },
  rate_limit = { type = "number", default = 0, description = "at most this many requests per second (0 = no limit)" },
  ca_file = { type = "string", description = "PEM file of the CAs HTTPS servers are verified against (default: SSL_CERT_FILE, CURL_CA_BUNDLE, else the system bundle)" },
  verify = { type = "boolean", default = true, description = "false turns TLS certificate verification off (logged as a warning)" },
}

-- Returns the shared HTTP option declarations plus those of each table given
-- (later tables win): client.with_options { url = {...} }.
function M.with_options(...)
  local all = {}
  for _, declarations in ipairs { SHARED, ... } do
    for name, spec in pairs(declarations) do all[name] = spec end
  end
  return all
end

-- "403,429,500-504" (or a list of numbers) -> {403, 429, 500, 501, 502, 503, 504}.
function M.statuses(text)
  if type(text) == "table" then return text end
  local list = {}
  for item in tostring(text):gmatch("[^,%s]+") do
    local lo, hi = item:match("^(%d%d%d)%-(%d%d%d)$")
    lo, hi = tonumber(lo or item), tonumber(hi or item)
    if not lo or not hi or lo > hi then
      error(("option 'retry_on': '%s' is not a status or a range such as 500-504"):format(item), 0)
    end
    for status = lo, hi do list[#list + 1] = status end
  end
  return list
end

-- A page fetch in flight: pending:wait() -> decoded JSON body (nil when raw),
-- response; pending:cancel().
local Fetching = {}
Fetching.__index = Fetching

function Fetching:wait()
  local response = self.pending:wait()
  if self.raw then return nil, response end
  return http.decode_json(response, self.method), response
end

function Fetching:cancel() self.pending:cancel() end

-- The fetch functions luaconn.paginate takes, sending with send and start
-- (http.request and http.start, or luaconn.auth's sender): fetch(url, query, raw,
-- body) -> decoded JSON body (nil when raw), response, and start(url, query, raw,
-- body) -> pending, the same request in flight (pending:wait() returns what fetch
-- does). GET, or POST with body (a table) as JSON.
function M.fetcher(send, start)
  local function request(url, query, body)
    return { method = body and "POST" or "GET", url = url, query = query, json = body }
  end
  local function fetch(url, query, raw, body)
    local r = request(url, query, body)
    local response = send(r)
    if raw then return nil, response end
    return http.decode_json(response, r.method), response
  end
  return fetch, start and function(url, query, raw, body)
    local r = request(url, query, body)
    return setmetatable({ pending = start(r), raw = raw, method = r.method }, Fetching)
  end
end

-- The plain fetch and start (no credentials).
M.fetch, M.start = M.fetcher(http.request, http.start)

-- Applies the shared options (any of them; absent ones keep their setting) to the
-- http module before requests are made: the retry policy, timeout, headers, rate limit.
function M.configure(opts)
  http.configure { retries = opts.retries, timeout = opts.timeout, headers = opts.headers,
                   rate_limit = opts.rate_limit, backoff = opts.backoff,
                   max_backoff = opts.max_backoff,
                   retry_on = opts.retry_on and M.statuses(opts.retry_on),
                   ca_file = opts.ca_file, verify = opts.verify }
end

return M
