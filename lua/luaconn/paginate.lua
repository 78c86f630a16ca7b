-- Paginators: fetch pages of a JSON API and hand each record to a callback.
--
-- Every paginator takes a spec table and on_record(record). Shared spec fields:
--   url              the first page
--   page_size        records asked for per page (default 100)
--   page_size_param  the parameter page_size is sent as (default per style: "limit" for
--                    cursor, last_record and offset, "per_page" for page; link and
--                    next_url send none unless it is set)
--   results_field    path of the records array: "data", "response.items", "data[0].rows";
--                    "" = the page itself
--   query            extra query parameters (merged into url's own)
--   body             a table: POST it as JSON, the paging parameters inside it
--                    instead of the query (APIs that page with the token in the body)
--   retry            a retry policy for http.configure ({retries, retry_on, backoff, ...})
--   flatten, rename  record shaping: the fields of each record's object `flatten`
--                    (e.g. "attributes") join the record, then keys are renamed
--                    ({from = "to"}); done in C on the page path (json.page's shape)
--   fetch            fetch(url, query, raw, body) -> decoded page, response (default
--                    luaconn.client.fetch; luaconn.auth's fetcher adds credentials). With
--                    raw set it may return nil and the response: then the page is read
--                    from response.body.
-- Each returns the number of pages fetched. No style stops on an empty page that
-- names a next page (cursor, link or URL): an empty page ends only offset and page.
-- When on_record is the read's own emit, pages go to it whole (json.page): the
-- records are parsed straight into the batch in C, several times faster.
local json = require "json"
local client = require "luaconn.client"

local M = {}

-- The steps of a path: "a.b[0].c" -> {"a", "b", 1, "c"} (indexes become Lua's 1-based).
local function steps(path)
  local out = {}
  for part in path:gmatch("[^.]+") do
    local name, rest = part:match("^([^%[]*)(.*)$")
    if name ~= "" then out[#out + 1] = name end
    for index in rest:gmatch("%[(%d+)%]") do out[#out + 1] = tonumber(index) + 1 end
  end
  return out
end

-- Returns doc["a"]["b"] for path "a.b", doc.a[1] for "a[0]" (nil when any step is
-- missing); "" is doc.
function M.field(doc, path)
  local value = doc
  for _, step in ipairs(steps(path)) do
    if type(value) ~= "table" then return nil end
    value = value[step]
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

-- Requests kept in flight by offset and page-number reads unless spec.concurrency
-- says otherwise. Against a server adding 20 ms to each response, 200 offset pages
-- read at 46 pages/s one at a time, 180 with 4 in flight, 330 with 8, 570 with 16:
-- 8 reaches the 6x goal while asking little of an API (browsers open 6 per host).
M.DEFAULT_CONCURRENCY = 8

-- The paging parameters (spec.query or spec.body, plus the page size), a function
-- page(url, params) that fetches one page and hands its records to on_record
-- (returning the page, its record count, the response and the last record), a
-- page counter, and for pages fetched ahead: request(url, params) -> pending (the
-- page's request in flight; a copy of params is sent), take(url, doc, response)
-- -> what page returns, for a pending's doc and response, and the number of
-- requests to keep in flight (1 when spec.fetch comes without spec.start).
local function setup(spec, on_record, default_results, default_size_param)
  if spec.retry then client.configure(spec.retry) end
  local params = {}
  for k, v in pairs(spec.body or spec.query or {}) do params[k] = v end
  local size_param = spec.page_size_param or default_size_param
  if size_param then params[size_param] = spec.page_size or 100 end
  local results = spec.results_field or default_results
  local fetch, start = spec.fetch or client.fetch, spec.start
  if not spec.fetch then start = client.start end
  local concurrency = spec.concurrency or M.DEFAULT_CONCURRENCY
  if type(concurrency) ~= "number" or concurrency < 1 or concurrency ~= math.floor(concurrency) then
    error(("option 'concurrency' must be a whole number >= 1, not %s"):format(tostring(concurrency)), 0)
  end
  if not start then concurrency = 1 end
  -- json.page follows object keys only: a path with an index takes the Lua path.
  local whole = json.accepts_pages(on_record) and not results:find("[", 1, true)
  local shape = (spec.flatten or spec.rename) and { flatten = spec.flatten, rename = spec.rename }
  local pages = 0
  local function request(url, p)
    local sent = {}
    for k, v in pairs(p or {}) do sent[k] = v end
    local query, body = p and sent, nil
    if spec.body then query, body = spec.query, sent end
    if start then return start(url, query, whole, body) end
    local doc, response = fetch(url, query, whole, body)
    return { wait = function() return doc, response end, cancel = function() end }
  end
  local function take(url, doc, response)
    pages = pages + 1
    if doc == nil and whole then
      local records = json.page(response.body, results, "GET " .. response.url, shape)
      repeat on_record(records) until records:done()
      local n = records:count()
      if not n then no_records(url, pages, results) end
      return records:doc(), n, response, records:last()
    end
    local records = M.records(doc, results, url, pages)
    for i = 1, #records do
      if shape then json.shape(records[i], shape) end
      on_record(records[i])
    end
    return doc, #records, response, records[#records]
  end
  local function page(url, p) return take(url, request(url, p):wait()) end
  return params, page, function() return pages end, request, take, concurrency, whole
end

-- Pages fetched ahead, taken in the order they were asked for.
local function queue()
  local q = { first = 1, last = 0 }
  function q.size() return q.last - q.first + 1 end
  function q.push(item) q.last = q.last + 1; q[q.last] = item end
  function q.pop()
    local item = q[q.first]
    q[q.first], q.first = nil, q.first + 1
    return item
  end
  -- Drops every request still in flight (pages past the end, or planned wrong). A
  -- read that fails leaves them to the garbage collector, which cancels them too.
  function q.cancel()
    while q.size() > 0 do q.pop().pending:cancel() end
  end
  return q
end

-- Cursor pagination: GET url?limit=N, then url?limit=N&cursor=C with the cursor
-- each page names (cursor_field in the body, or the response header cursor_header),
-- until a page carries no cursor (null, absent or empty). An empty page that still
-- carries a cursor does not end the read. spec: cursor_param (default "cursor"),
-- cursor_field (default "next_cursor"), cursor_header. When the cursor is known
-- before the page's records are read (cursor_header, or a page decoded in Lua), the
-- next page's request starts first.
function M.cursor(spec, on_record)
  local params, _, pages, request, take, _, whole = setup(spec, on_record, "results", "limit")
  local cursor_field = spec.cursor_field or "next_cursor"
  local cursor_param = spec.cursor_param or "cursor"
  -- Every cursor followed: a server cycling A -> B -> A would otherwise be read forever.
  local seen = {}
  local function next_cursor(doc, response, read)
    local cursor
    if spec.cursor_header then
      cursor = response.headers[spec.cursor_header:lower()]
    else
      cursor = M.field(doc, cursor_field)
    end
    if not present(cursor) then return nil end
    cursor = tostring(cursor)
    if seen[cursor] then
      error(("GET %s: the server returned cursor '%s' again after %d pages (a cursor cycle); "
        .. "stopping instead of looping"):format(spec.url, cursor, read), 0)
    end
    seen[cursor] = true
    params[cursor_param] = cursor
    return cursor
  end
  local pending = request(spec.url, params)
  while true do
    local doc, response = pending:wait()
    pending = nil
    local early = spec.cursor_header or not whole
    if early and next_cursor(doc, response, pages() + 1) then pending = request(spec.url, params) end
    local page_doc = take(spec.url, doc, response)
    if not early then
      if not next_cursor(page_doc, response, pages()) then return pages() end
      pending = request(spec.url, params)
    elseif not pending then
      return pages()
    end
  end
end

-- Last record (Stripe style): GET url?limit=N, then url?limit=N&starting_after=<last
-- record's id>, until the page's has_more field is false. spec: last_param (default
-- "starting_after"), last_field (default "id"), has_more_field (default "has_more";
-- a page without it is an error, "" stops at an empty page instead).
function M.last_record(spec, on_record)
  local params, page, pages = setup(spec, on_record, "data", "limit")
  local has_more_field = spec.has_more_field or "has_more"
  local last_field = spec.last_field or "id"
  while true do
    local doc, n, response, last = page(spec.url, params)
    local more = n > 0
    if has_more_field ~= "" then
      more = M.field(doc, has_more_field)
      if type(more) ~= "boolean" then
        error(("GET %s: page %d has no boolean '%s' (set has_more_field)"):format(
          response.url, pages(), has_more_field), 0)
      end
    end
    if not more then return pages() end
    local key = n > 0 and M.field(last, last_field)
    if not present(key) then
      error(("GET %s: page %d says there is more but has no last record with '%s'"):format(
        response.url, pages(), last_field), 0)
    end
    params[spec.last_param or "starting_after"] = key
  end
end

-- Offset/limit: GET url?offset=0&limit=N, offset += records received, until an
-- empty page or (with total_field) the offset reaches the total.
-- spec: offset_param, total_field, start_offset, concurrency (requests in flight).
-- Pages ahead are asked for at offsets page_size apart and read in order; a page
-- with another record count (a short page, a server capping page sizes) drops
-- them and the read goes on from the records received, one request at a time
-- until a page is full again.
function M.offset(spec, on_record)
  local params, _, pages, request, take, concurrency = setup(spec, on_record, "results", "limit")
  local offset_param = spec.offset_param or "offset"
  local stride, probing = spec.page_size or 100, false
  local next_offset = spec.start_offset or 0
  local total
  local ahead = queue()
  while true do
    while ahead.size() < (probing and 1 or concurrency) and not (total and next_offset >= total) do
      params[offset_param] = next_offset
      ahead.push { at = next_offset, pending = request(spec.url, params) }
      next_offset = next_offset + stride
    end
    local head = ahead.pop()
    local doc, n = take(spec.url, head.pending:wait())
    local offset = head.at + n
    total = spec.total_field and tonumber(M.field(doc, spec.total_field))
    if n == 0 or (total and offset >= total) then
      ahead.cancel()
      return pages()
    end
    probing = n ~= stride
    if probing then
      ahead.cancel()
      next_offset, stride = offset, n
    end
  end
end

-- Page numbers: GET url?page=1&per_page=N, page 2, ... until an empty page or
-- (with total_pages_field) the last page. spec: page_param, start_page (default 1),
-- total_pages_field, concurrency (requests in flight; pages are read in order and
-- those asked for past the end dropped).
function M.page_number(spec, on_record)
  local params, _, pages, request, take, concurrency = setup(spec, on_record, "results", "per_page")
  local page_param = spec.page_param or "page"
  local next_number = spec.start_page or 1
  local last
  local ahead = queue()
  while true do
    while ahead.size() < concurrency and not (last and next_number > last) do
      params[page_param] = next_number
      ahead.push { number = next_number, pending = request(spec.url, params) }
      next_number = next_number + 1
    end
    local head = ahead.pop()
    local doc, n = take(spec.url, head.pending:wait())
    last = spec.total_pages_field and tonumber(M.field(doc, spec.total_pages_field))
    if n == 0 or (last and head.number >= last) then
      ahead.cancel()
      return pages()
    end
  end
end

-- Id ranges in keyset pages: GET url?id_gte=A&id_lt=B&limit=N, then id_gte = the
-- last record's id + 1, until an empty page or id_gte reaches B. spec: id_gte,
-- id_lt (the half-open range), id_field (default "id"), gte_param, lt_param
-- (default "id_gte", "id_lt"), concurrency. Pages ahead are asked for from where the
-- ids seen so far say they start (ids per page: page_size at first, then what the last
-- page covered); a page taken in turn is used only if it starts right after the last
-- id read, else the pages ahead are dropped and the read goes on from there, one
-- request at a time until a page covers as many ids as the one before. So ids that
-- are dense, evenly spread or capped by the server read ahead, and no id is lost or
-- read twice whatever their spacing.
function M.id_range(spec, on_record)
  local params, _, pages, request, take, concurrency = setup(spec, on_record, "", "limit")
  local id_field = spec.id_field or "id"
  local gte_param = spec.gte_param or "id_gte"
  params[spec.lt_param or "id_lt"] = spec.id_lt
  local span, probing = spec.page_size or 100, false
  local next_from = spec.id_gte
  local ahead = queue()
  while true do
    while ahead.size() < (probing and 1 or concurrency) and next_from < spec.id_lt do
      params[gte_param] = next_from
      ahead.push { at = next_from, pending = request(spec.url, params) }
      next_from = next_from + span
    end
    if ahead.size() == 0 then return pages() end
    local head = ahead.pop()
    local _, n, response, last = take(spec.url, head.pending:wait())
    if n == 0 then
      ahead.cancel()
      return pages()
    end
    local id = type(last) == "table" and tonumber(last[id_field])
    if not id then
      error(("GET %s: page %d's last record has no numeric '%s' (set id_field)"):format(
        response.url, pages(), id_field), 0)
    end
    local covered = id + 1 - head.at
    probing = covered ~= span
    if probing then
      ahead.cancel()
      next_from, span = id + 1, covered
    end
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
-- The next URL carries its own query: later pages send no query parameters (a POST
-- body goes with every page).
local function follow(spec, on_record, default_results, next_of)
  local params, page, pages = setup(spec, on_record, default_results, nil)
  local url, p, seen = spec.url, params, {}
  while true do
    local doc, _, response = page(url, p)
    local target = next_of(doc, response)
    if not present(target) then return pages() end
    url, p = M.resolve_url(response.url, tostring(target)), spec.body and params or nil
    if seen[url] then
      error(("GET %s: the next page is a page already read; stopping instead of looping"):format(url), 0)
    end
    seen[url] = true
  end
end

-- Link header (RFC 8288): the first page is url (with page_size_param=N when set); then each page's
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

M.STYLES = { cursor = M.cursor, last_record = M.last_record, offset = M.offset,
             page = M.page_number, link = M.link_header, next_url = M.next_url }

-- Runs the paginator named style ("cursor", "last_record", "offset", "page", "link",
-- "next_url").
function M.run(style, spec, on_record)
  local paginator = M.STYLES[style]
  if not paginator then
    error(("unknown paginator '%s' (cursor, last_record, offset, page, link or next_url)"):format(
      tostring(style)), 0)
  end
  return paginator(spec, on_record)
end

return M
