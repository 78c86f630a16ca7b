/* json.decode and json.encode on arbitrary bytes: a value that decodes must encode,
 * and its text must decode back to an equal value (numbers exact, strings byte for
 * byte, the same nesting). Aborts on any difference. */
#include <stdbool.h>
#include <stdio.h>

#include "fuzz.h"

static const char ROUND_TRIP[] =
    "local json = require 'json'\n"
    "local function same(a, b)\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "return { schema = 'ok BOOLEAN', options = { text = { type = 'string' } },\n"
    "  read = function(o, p, emit)\n"
    "    local ok, value = pcall(json.decode, o.text)\n"
    "    if ok then\n"
    "      local text = json.encode(value)\n"
    "      if not same(value, json.decode(text)) then error('DIFFERENT: ' .. text, 0) end\n"
    "    end\n"
    "    emit({ok = ok})\n"
    "  end }\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lc_runtime *rt = fuzz_runtime();
  char *text = fuzz_text(data, size);
  const char *options[] = {"text", text};
  lc_connector *conn = NULL;
  if (lc_connector_open(rt, LC_SOURCE_INLINE, ROUND_TRIP, options, 1, &conn) == LC_OK) {
    int rc = fuzz_read_all(conn);
    const char *msg = lc_runtime_error(rt)->message;
    /* Limits may stop a hostile input, and a number beyond a double's range decodes
     * as an infinity, which JSON cannot write; anything else is a finding. */
    bool expected = rc == LC_OK || rc == LC_ERR_TIME_LIMIT || rc == LC_ERR_MEMORY_LIMIT ||
                    strstr(msg, "must not be NaN or Inf");
    if (!expected) {
      fprintf(stderr, "json round trip failed on %s: %s\n", text, msg);
      abort();
    }
  }
  lc_connector_free(conn);
  free(text);
  return 0;
}
