-- HTTP options every HTTP connector shares, declared once.
local http = require "http"

local M = {}

local SHARED = {
  retries = { type = "integer", default = 3, description = "retries on 408, 429, 5xx and connection errors" },
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

-- A plain GET: fetch(url, query, raw) -> decoded JSON body (nil when raw), response.
-- The shape luaconn.paginate and luaconn.auth's fetchers share.
function M.get(url, query, raw)
  if raw then return nil, http.get(url, { query = query }) end
  return http.get_json(url, { query = query })
end

-- Applies the shared options to the http module before requests are made.
function M.configure(opts)
  http.configure { retries = opts.retries, timeout = opts.timeout, headers = opts.headers,
                   rate_limit = opts.rate_limit, ca_file = opts.ca_file, verify = opts.verify }
end

return M
