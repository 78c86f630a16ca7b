-- Incremental reads: records ordered by a field whose value only grows (a
-- sequence number, an id, an ISO timestamp with unique values) can be read as a
-- stream. The offset is { after = V }: the next micro-batch holds the records whose
-- field is greater than V, so batches neither overlap nor leave a gap.
local M = {}

-- Adds the streaming contract (initial_offset, latest_offset, stream_partitions)
-- and read to connector C. read_after(opts, after, on_record) must call
-- on_record(record) for the records whose field is greater than `after`, in
-- ascending field order, and stop as soon as on_record returns false.
-- field(opts) names the field; start(opts) is the first offset's value.
function M.stream(C, read_after, field, start)
  function C.initial_offset(opts) return { after = start(opts) } end

  function C.latest_offset(opts, from, limit)
    local name, last, seen = field(opts), from.after, 0
    local max_rows = limit and limit.max_rows
    read_after(opts, from.after, function(record)
      last, seen = record[name], seen + 1
      return not (max_rows and seen >= max_rows)
    end)
    return { after = last }
  end

  function C.stream_partitions(opts, from, to)
    if from.after == to.after then return {} end
    return { { after = from.after, upto = to.after } }
  end

  -- A stream partition holds (after, upto]; the batch partition {} holds everything.
  function C.read(opts, partition, emit)
    local name = field(opts)
    local after = partition.after == nil and start(opts) or partition.after
    read_after(opts, after, function(record)
      if partition.upto ~= nil and record[name] > partition.upto then return false end
      emit(record)
      return true
    end)
  end
  return C
end

return M
