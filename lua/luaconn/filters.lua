-- Pushed filters (spec/CONTRACT.md, "Filter pushdown"): opts.filters is a list of
-- { column = "id", op = ">=", value = 10 } (op "in": value is a list; "is_null" and
-- "is_not_null": no value), each one the connector's `filters` declaration takes.
local M = {}

local COMPARISONS = { ["="] = true, ["!="] = true, ["<"] = true, ["<="] = true, [">"] = true,
  [">="] = true, starts_with = true, ends_with = true, contains = true }

-- filter's value (or value, one of an "in" list's), which must be a number.
local function number_of(filter, value)
  if value == nil then value = filter.value end
  if type(value) ~= "number" then
    error(("filter %s %s: expected a number, got %s"):format(filter.column, filter.op,
      type(value)), 0)
  end
  return value
end

-- The inclusive integer range [min, max] narrowed by the filters on column (=, <,
-- <=, >, >= exactly; in: between its smallest and largest value). min and max may
-- be -math.huge and math.huge. Returns the new min, max: max < min when no integer
-- is left.
function M.narrow(filters, column, min, max)
  local function above(v) if v > min then min = v end end
  local function below(v) if v < max then max = v end end
  for _, f in ipairs(filters or {}) do
    if f.column == column then
      if f.op == "=" then above(math.ceil(number_of(f))); below(math.floor(f.value))
      elseif f.op == ">" then above(math.floor(number_of(f)) + 1)
      elseif f.op == ">=" then above(math.ceil(number_of(f)))
      elseif f.op == "<" then below(math.ceil(number_of(f)) - 1)
      elseif f.op == "<=" then below(math.floor(number_of(f)))
      elseif f.op == "in" then
        local low, high = math.huge, -math.huge
        for _, v in ipairs(f.value) do
          v = number_of(f, v)
          low, high = math.min(low, math.ceil(v)), math.max(high, math.floor(v))
        end
        above(low); below(high)
      end
    end
  end
  return min, max
end

-- Parses a {"column op": "param"} mapping (e.g. {"updated_at>=": "since"}) given as
-- option `option` into a list of { column, op, param }; a bad entry is an error
-- naming the option.
function M.parse_params(mapping, option)
  local parsed = {}
  if mapping == nil then return parsed end
  local function bad(why) error(("option '%s': %s"):format(option, why), 0) end
  if type(mapping) ~= "table" or mapping[1] ~= nil then
    bad('expected a JSON object {"column op": "param"}')
  end
  for key, param in pairs(mapping) do
    local column, op = tostring(key):match("^%s*([%w_]+)%s*(.-)%s*$")
    if not column or not COMPARISONS[op] then
      bad(("'%s' is not \"column op\" with op one of = != < <= > >= starts_with ends_with "
        .. "contains (e.g. \"updated_at>=\")"):format(tostring(key)))
    end
    if type(param) ~= "string" or param == "" then
      bad(("'%s' must name a query parameter (a string)"):format(key))
    end
    parsed[#parsed + 1] = { column = column, op = op, param = param }
  end
  table.sort(parsed, function(a, b) return a.param < b.param end)
  return parsed
end

-- The declaration for a parse_params mapping: every entry inexact, because the
-- server's parameter may filter only approximately (the host re-checks every row).
function M.declare_params(parsed)
  local declared = {}
  for _, entry in ipairs(parsed) do
    local column = declared[entry.column] or { inexact = {} }
    declared[entry.column] = column
    column.inexact[#column.inexact + 1] = entry.op
  end
  return declared
end

-- The query parameters the pushed filters become under a parse_params mapping, values
-- as pushed (http prints integral numbers in full). A parameter two filters map to
-- gets the last one's value: either narrows the read, and the host re-checks rows.
function M.query(filters, parsed)
  local query = {}
  for _, f in ipairs(filters or {}) do
    for _, entry in ipairs(parsed) do
      if entry.column == f.column and entry.op == f.op then query[entry.param] = f.value end
    end
  end
  return query
end

return M
