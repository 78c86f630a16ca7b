-- Incremental reads: records ordered by a field whose value only grows (a
-- sequence number, an id, an ISO timestamp with unique values) can be read as a
-- stream. The offset is { after = V }: the next micro-batch holds the records whose
-- field is greater than V, so batches neither overlap nor leave a gap.
local M = {}

-- Option every incremental connector declares: the admission bound rabbitmq has too.
M.OPTIONS = {
  max_records_per_batch = { type = "integer", description = "bounds each micro-batch" },
}

-- Adds the streaming contract (initial_offset, latest_offset, stream_partitions)
-- and read to connector C. read_after(opts, after, on_record) must call
-- on_record(record) for the records whose field is greater than `after`, in
-- ascending field order, and stop as soon as on_record returns false.
-- field(opts) names the field; start(opts) is the first offset's value.
--
-- Each record is fetched once per micro-batch: latest_offset keeps the records it
-- read to find the end, and stream_partitions (called next, in the same state)
-- hands them to read inside the partition. A partition planned without them (a
-- restart from a checkpoint) reads (after, upto] from the API.
function M.stream(C, read_after, field, start)
  local fetched = {}   -- [after][upto] -> the records latest_offset read; latest range only

  function C.initial_offset(opts) return { after = start(opts) } end

  function C.latest_offset(opts, from, limit)
    local name, records = field(opts), {}
    local max_rows = math.min(limit and limit.max_rows or math.huge,
                              opts.max_records_per_batch or math.huge)
    read_after(opts, from.after, function(record)
      records[#records + 1] = record
      return #records < max_rows
    end)
    if #records == 0 then return { after = from.after } end
    local upto = records[#records][name]
    fetched = { [from.after] = { [upto] = records } }
    return { after = upto }
  end

  function C.stream_partitions(opts, from, to)
    if from.after == to.after then return {} end
    local records = fetched[from.after] and fetched[from.after][to.after]
    fetched = {}
    return { { after = from.after, upto = to.after, records = records } }
  end

  -- A stream partition holds (after, upto]; the batch partition {} holds everything.
  function C.read(opts, partition, emit)
    if partition.records then
      for _, record in ipairs(partition.records) do emit(record) end
      return
    end
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
