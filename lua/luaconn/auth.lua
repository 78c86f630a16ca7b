-- Credentials for HTTP connectors: one fallback chain (explicit option > secret
-- store > environment variable) and the ways to present what it finds (bearer,
-- API key in a header or the query, HTTP basic, OAuth2 client credentials).
--
--   local auth = require "luaconn.auth"
--   options = auth.with_options { url = {...} }   -- plus the shared HTTP options
--   local fetch, start = auth.fetcher(opts) -- fetch(url, query, raw, body) -> decoded body, response;
--                                          -- start(...) -> pending, pending:wait() -> the same
--   local send, start = auth.sender(opts)  -- send(http.request options) -> response
local http = require "http"
local env = require "env"
local log = require "log"
local secrets = require "secrets"
local client = require "luaconn.client"

local M = {}

M.KINDS = { none = true, bearer = true, header = true, query = true, basic = true, oauth2 = true }

local OPTIONS = {
  auth = { type = "string", default = "none", description = "none, bearer, header, query, basic or oauth2" },
  api_key = { type = "string", secret = true,
    description = "the credential (token, API key, basic password or OAuth2 client secret); wins over every other source" },
  secret_scope = { type = "string", description = "secret store scope (with secret_key)" },
  secret_key = { type = "string", description = "secret store key (with secret_scope)" },
  secret_value = { type = "string", secret = true,
    description = "set by the host from its secret store (luaconn.spark does, on the driver); not for users" },
  secret_store = { type = "string", description = "set by the host: where its secret store looked (for errors)" },
  api_key_env = { type = "string", default = "API_KEY", description = "environment variable tried last" },
  api_key_header = { type = "string", default = "X-API-Key", description = "header for auth=header" },
  api_key_prefix = { type = "string", default = "",
    description = "text before the key in api_key_header (auth=header), e.g. 'token '" },
  basic_secret = { type = "string", default = "password",
    description = "auth=basic: the credential is the 'password' (user from username) or the 'username' (empty password)" },
  api_key_param = { type = "string", default = "api_key", description = "query parameter for auth=query" },
  username = { type = "string", description = "user for auth=basic with basic_secret=password (default empty)" },
  token_url = { type = "string", description = "OAuth2 token endpoint for auth=oauth2" },
  client_id = { type = "string", description = "OAuth2 client id (the credential is the client secret)" },
  token_scope = { type = "string", description = "OAuth2 scope to ask for" },
}

-- The connector's own option declarations (one table or more) plus the auth ones
-- and the shared HTTP ones (luaconn.client).
function M.with_options(...)
  return client.with_options(OPTIONS, ...)
end

local function present(value) return value ~= nil and value ~= "" end

-- The credential and the source it came from. Raises one error naming every source
-- tried, in order (never a value), when none has it.
function M.resolve(opts)
  if present(opts.api_key) then return opts.api_key, "option 'api_key'" end
  local tried = { "option 'api_key' (not set)" }
  if present(opts.secret_scope) and present(opts.secret_key) then
    if present(opts.secret_value) then return opts.secret_value, "secret store" end
    local value, where = secrets.get(opts.secret_scope, opts.secret_key)
    if value then return value, where end
    local looked = present(opts.secret_store) and opts.secret_store .. ", " .. where or where
    tried[2] = ("secret store (scope '%s', key '%s': %s)"):format(opts.secret_scope, opts.secret_key, looked)
  else
    tried[2] = "secret store (options secret_scope and secret_key not set)"
  end
  local value = env.get(opts.api_key_env)
  if present(value) then
    log.secret(value)
    return value, "environment variable " .. opts.api_key_env
  end
  tried[3] = ("environment variable %s (not set)"):format(opts.api_key_env)
  error(("no credentials for auth=%s; tried, in order: 1. %s; 2. %s; 3. %s"):format(
    opts.auth, tried[1], tried[2], tried[3]), 0)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- RFC 4648 base64 of text (for HTTP basic credentials).
function M.base64(text)
  return ((text:gsub("..?.?", function(chunk)
    local a, b, c = chunk:byte(1, 3)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local out = {}
    for i = 1, 4 do
      local index = math.floor(n / 2 ^ (6 * (4 - i))) % 64 + 1
      out[i] = (i <= #chunk + 1) and B64:sub(index, index) or "="
    end
    return table.concat(out)
  end)))
end

local function form_escape(text)
  return (text:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local tokens = {}   -- token_url .. client_id -> { value, expires_at }: cached per connector state

-- A fresh OAuth2 client-credentials token (cached until shortly before it expires).
local function oauth2_token(opts, secret, force)
  local id = opts.token_url .. "\0" .. (opts.client_id or "")
  local cached = tokens[id]
  if cached and not force and os.time() < cached.expires_at then return cached.value end
  local form = "grant_type=client_credentials&client_id=" .. form_escape(opts.client_id or "")
    .. "&client_secret=" .. form_escape(secret)
    .. (present(opts.token_scope) and "&scope=" .. form_escape(opts.token_scope) or "")
  local reply = http.post_json(opts.token_url, { body = form,
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } })
  if type(reply) ~= "table" or type(reply.access_token) ~= "string" then
    error(("POST %s: the token reply has no access_token"):format(opts.token_url), 0)
  end
  log.secret(reply.access_token)
  local lifetime = tonumber(reply.expires_in) or 3600
  -- Renew a little early (a tenth of the lifetime, at most a minute).
  tokens[id] = { value = reply.access_token, expires_at = os.time() + lifetime - math.min(60, lifetime / 10) }
  return reply.access_token
end

-- The Authorization header value for auth=basic: the credential as the password
-- (user from option username, may be empty) or, with basic_secret=username, as the
-- user with an empty password (Stripe's secret keys).
local function basic(opts, secret)
  if opts.basic_secret == "username" then return "Basic " .. M.base64(secret .. ":") end
  if opts.basic_secret ~= "password" then
    error(("option 'basic_secret' must be password or username, not '%s'"):format(opts.basic_secret), 0)
  end
  return "Basic " .. M.base64((opts.username or "") .. ":" .. secret)
end

-- A request in flight with credentials (see sender): pending:wait() -> response,
-- pending:cancel().
local Pending = {}
Pending.__index = Pending

function Pending:wait()
  local response = self.handle:wait()
  if response.status == 401 and self.refresh then
    local r = self.request
    log.info("%s %s: HTTP 401; fetching a new OAuth2 token and retrying once", r.method or "GET", r.url)
    r.headers.Authorization = "Bearer " .. self.refresh()
    r.ok = self.ok
    response = http.request(r)
  end
  return response
end

function Pending:cancel() self.handle:cancel() end

-- Two functions: send(request) -> response, http.request(request) with opts'
-- credentials added (they win over the request's own headers and query) and the
-- shared HTTP options applied (client.configure), and start(request) -> pending,
-- the same request started without waiting (http.start): pending:wait() -> response,
-- pending:cancel(). With auth=oauth2 a 401 fetches a new token and retries once.
-- Writes use send as reads do.
function M.sender(opts)
  client.configure(opts)
  local kind = opts.auth
  if not M.KINDS[kind] then
    error(("option 'auth' must be none, bearer, header, query, basic or oauth2, not '%s'"):format(kind), 0)
  end
  if kind == "none" then return http.request, http.start end
  local secret = M.resolve(opts)
  log.secret(secret)
  local headers, extra_query = {}, {}
  if kind == "bearer" then headers.Authorization = "Bearer " .. secret
  elseif kind == "header" then headers[opts.api_key_header] = (opts.api_key_prefix or "") .. secret
  elseif kind == "query" then extra_query[opts.api_key_param] = secret
  elseif kind == "basic" then headers.Authorization = basic(opts, secret)
  elseif not present(opts.token_url) then error("auth=oauth2 needs option 'token_url'", 0)
  end
  local refresh = kind == "oauth2" and function() return oauth2_token(opts, secret, true) end
  local function start(request)
    local r = {}
    for k, v in pairs(request) do r[k] = v end
    r.query, r.headers = {}, {}
    for k, v in pairs(request.query or {}) do r.query[k] = v end
    for k, v in pairs(extra_query) do r.query[k] = v end
    for k, v in pairs(request.headers or {}) do r.headers[k] = v end
    if kind == "oauth2" then headers.Authorization = "Bearer " .. oauth2_token(opts, secret) end
    for k, v in pairs(headers) do r.headers[k] = v end
    if kind == "oauth2" then r.ok = { 401 } end
    return setmetatable({ handle = http.start(r), request = r, refresh = refresh, ok = request.ok },
      Pending)
  end
  return function(request) return start(request):wait() end, start
end

-- Two functions: fetch(url, query, raw, body) -> decoded JSON body (nil when raw),
-- response, and start(url, query, raw, body) -> pending (pending:wait() returns what
-- fetch does): client.fetch and client.start with opts' credentials (see sender).
function M.fetcher(opts)
  return client.fetcher(M.sender(opts))
end

return M
