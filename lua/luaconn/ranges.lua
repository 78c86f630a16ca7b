-- Splitting an id range into partitions.
local M = {}

-- Splits the inclusive id range [min, max] into at most n half-open ranges
-- { id_gte = a, id_lt = b } that cover it exactly, in order, without overlap or
-- gap, whose sizes differ by at most one (the first ones take the remainder).
-- Fewer ids than n gives one range per id; max < min gives none. Exact for
-- integers up to 2^53.
function M.split(min, max, n)
  assert(min == math.floor(min) and max == math.floor(max), "range bounds must be integers")
  assert(n == math.floor(n) and n >= 1, "the number of ranges must be a positive integer")
  local total = max - min + 1
  if total <= 0 then return {} end
  local count = math.min(n, total)
  local size, extra = math.floor(total / count), total % count
  local ranges, start = {}, min
  for i = 1, count do
    local stop = start + size + (i <= extra and 1 or 0)
    ranges[i] = { id_gte = start, id_lt = stop }
    start = stop
  end
  return ranges
end

return M
