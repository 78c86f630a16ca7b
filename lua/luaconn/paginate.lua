-- Paginators: fetch pages of a JSON API and hand each record to a callback.
--
-- Every paginator takes a spec table and on_record(record). Shared spec fields:
--   url            the first page
--   page_size      records asked for per page (default 100)
--   results_field  path of the records array in a page ("data.items"); "" = the page itself
--   query          extra query parameters
--   fetch          fetch(url, query, raw) -> decoded page, response (default: plain GET;
--                  luaconn.auth's fetcher adds credentials). With raw set it may return
--                  nil and the response: then the page is read from response.body.
-- Each returns the number of pages fetched. Every style but cursor stops on an empty
-- page (cursor stops when a page names no cursor).
-- When on_record is the read's own emit, pages go to it whole (json.page): the
-- records are parsed straight into the batch in C, several times faster.
local json = require "json"
local client = require "luaconn.client"

local M = {}

-- Returns doc["a"]["b"] for path "a.b" (nil when any step is missing); "" is doc.
function M.field(doc, path)
  local value = doc
  for part in path:gmatch("[^.]+") do
    if type(value) ~= "table" then return nil end
    value = value[part]
  end
  return value
end

local function present(value)
  return value ~= nil and value ~= json.null and value ~= ""
end

local function no_records(url, pages, path)
  error(("GET %s: page %d has no '%s' array (set results_field)"):format(url, pages, path), 0)
end

-- The records array at path in page number `pages` of url (raises when missing).
function M.records(page, path, url, pages)
  local records = M.field(page, path)
  if type(records) ~= "table" then no_records(url, pages, path) end
  return records
end

-- The first page's query (spec.query plus size_key = page_size), a function
-- page(url, query) that fetches one page and hands its records to on_record
-- (returning the page, its record count and the response), and a page counter.
local function setup(spec, on_record, default_results, size_key)
  local query = {}
  for k, v in pairs(spec.query or {}) do query[k] = v end
  query[size_key] = spec.page_size or 100
  local results = spec.results_field or default_results
  local fetch = spec.fetch or client.get
  local whole = json.accepts_pages(on_record)
  local pages = 0
  local function page(url, q)
    local doc, response = fetch(url, q, whole)
    pages = pages + 1
    if doc == nil and whole then
      local records = json.page(response.body, results, "GET " .. response.url)
      repeat on_record(records) until records:done()
      local n = records:count()
      if not n then no_records(url, pages, results) end
      return records:doc(), n, response
    end
    local records = M.records(doc, results, url, pages)
    for i = 1, #records do on_record(records[i]) end
    return doc, #records, response
  end
  return query, page, function() return pages end
end

-- Cursor pagination: GET url?limit=N, then url?limit=N&cursor=C with the cursor
-- each page names, until a page carries no cursor (null, absent or empty).
-- An empty page that still carries a cursor does not end the read.
-- spec: limit_param, cursor_param, cursor_field (default "next_cursor").
function M.cursor(spec, on_record)
  local query, page, pages = setup(spec, on_record, "results", spec.limit_param or "limit")
  local cursor_field = spec.cursor_field or "next_cursor"
  -- Every cursor followed: a server cycling A -> B -> A would otherwise be read forever.
  local seen = {}
  while true do
    local doc = page(spec.url, query)
    local cursor = M.field(doc, cursor_field)
    if not present(cursor) then return pages() end
    cursor = tostring(cursor)
    if seen[cursor] then
      error(("GET %s: the server returned cursor '%s' again after %d pages (a cursor cycle); "
        .. "stopping instead of looping"):format(spec.url, cursor, pages()), 0)
    end
    seen[cursor] = true
    query[spec.cursor_param or "cursor"] = cursor
  end
end

-- Offset/limit: GET url?offset=0&limit=N, offset += records received, until an
-- empty page or (with total_field) the offset reaches the total.
-- spec: offset_param, limit_param, total_field, start_offset.
function M.offset(spec, on_record)
  local query, page, pages = setup(spec, on_record, "results", spec.limit_param or "limit")
  local offset_param = spec.offset_param or "offset"
  local offset = spec.start_offset or 0
  while true do
    query[offset_param] = offset
    local doc, n = page(spec.url, query)
    offset = offset + n
    local total = spec.total_field and tonumber(M.field(doc, spec.total_field))
    if n == 0 or (total and offset >= total) then return pages() end
  end
end

-- Page numbers: GET url?page=1&per_page=N, page 2, ... until an empty page or
-- (with total_pages_field) the last page. spec: page_param, size_param,
-- start_page (default 1), total_pages_field.
function M.page_number(spec, on_record)
  local query, page, pages = setup(spec, on_record, "results", spec.size_param or "per_page")
  local number = spec.start_page or 1
  while true do
    query[spec.page_param or "page"] = number
    local doc, n = page(spec.url, query)
    local last = spec.total_pages_field and tonumber(M.field(doc, spec.total_pages_field))
    if n == 0 or (last and number >= last) then return pages() end
    number = number + 1
  end
end

-- url resolved against base: absolute, host-relative ("/p?q") or path-relative.
function M.resolve_url(base, url)
  if url:match("^https?://") then return url end
  local origin, path = base:match("^(https?://[^/?#]+)([^?#]*)")
  if not origin then return url end
  if url:sub(1, 1) == "/" then return origin .. url end
  return origin .. path:gsub("[^/]*$", "") .. url
end

-- The rel="next" target of a Link header value, or nil.
function M.link_next(header)
  for target, params in (header or ""):gmatch("<([^>]*)>([^,]*)") do
    if params:match('[;%s]rel%s*=%s*"?[^"]*%f[%w]next%f[^%w]') then return target end
  end
end

-- Follows URLs until there is none: next_of(doc, response) names the next page.
local function follow(spec, on_record, default_results, next_of)
  local query, page, pages = setup(spec, on_record, default_results, spec.limit_param or "limit")
  local url, q, seen = spec.url, query, {}
  while true do
    local doc, n, response = page(url, q)
    local target = next_of(doc, response)
    if not present(target) or n == 0 then return pages() end
    url, q = M.resolve_url(response.url, tostring(target)), nil
    if seen[url] then
      error(("GET %s: the next page is a page already read; stopping instead of looping"):format(url), 0)
    end
    seen[url] = true
  end
end

-- Link header (RFC 8288): the first page is url?limit=N; then each page's
-- Link: <URL>; rel="next", until a page has none. Records default to the page itself.
function M.link_header(spec, on_record)
  return follow(spec, on_record, "", function(_, response) return M.link_next(response.headers.link) end)
end

-- Next URL in the body: spec.next_field (default "next") names the next page's URL
-- (absolute or relative), until it is null, absent or empty.
function M.next_url(spec, on_record)
  local next_field = spec.next_field or "next"
  return follow(spec, on_record, "results", function(doc) return M.field(doc, next_field) end)
end

M.STYLES = { cursor = M.cursor, offset = M.offset, page = M.page_number,
             link = M.link_header, next_url = M.next_url }

-- Runs the paginator named style ("cursor", "offset", "page", "link", "next_url").
function M.run(style, spec, on_record)
  local paginator = M.STYLES[style]
  if not paginator then
    error(("unknown paginator '%s' (cursor, offset, page, link or next_url)"):format(tostring(style)), 0)
  end
  return paginator(spec, on_record)
end

return M
