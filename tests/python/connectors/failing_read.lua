-- Test connector: emits one row, then fails inside read (the error is on line 11).
local C = {
  schema = "id INT",
  options = {},
}

function C.read(opts, partition, emit)
  emit { id = 1 }
  local reason = "the upstream said no"
  -- the next line raises
  error("cannot read: " .. reason)
end

return C
