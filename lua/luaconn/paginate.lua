-- Paginators: fetch pages of a JSON API and hand each record to a callback.
local http = require "http"
local json = require "json"

local M = {}

-- Returns doc["a"]["b"] for path "a.b" (nil when any step is missing).
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

-- Cursor pagination: GET url?limit=N, then url?limit=N&cursor=C with the cursor
-- each page names, until a page carries no cursor (null, absent or empty).
-- An empty page that still carries a cursor does not end the read.
-- spec: url, page_size, limit_param, cursor_param, results_field, cursor_field,
-- query (extra parameters). Calls on_record(record) for each record; returns the
-- number of pages fetched.
function M.cursor(spec, on_record)
  local query = {}
  for k, v in pairs(spec.query or {}) do query[k] = v end
  query[spec.limit_param or "limit"] = spec.page_size or 100
  local results_field = spec.results_field or "results"
  local cursor_field = spec.cursor_field or "next_cursor"
  local cursor_param = spec.cursor_param or "cursor"
  local pages, previous = 0, nil
  while true do
    local page = http.get_json(spec.url, { query = query })
    pages = pages + 1
    local records = M.field(page, results_field)
    if type(records) ~= "table" then
      error(("GET %s: page %d has no '%s' array (set results_field)"):format(
        spec.url, pages, results_field), 0)
    end
    for i = 1, #records do on_record(records[i]) end
    local cursor = M.field(page, cursor_field)
    if not present(cursor) then return pages end
    cursor = tostring(cursor)
    if cursor == previous then
      error(("GET %s: the server returned cursor '%s' twice in a row; stopping instead of "
        .. "looping"):format(spec.url, cursor), 0)
    end
    previous = cursor
    query[cursor_param] = cursor
  end
end

return M
