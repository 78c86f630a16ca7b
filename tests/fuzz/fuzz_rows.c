/* write's row parsing (JSON lines -> an Arrow batch) on arbitrary bytes. */
#include "fuzz.h"

static const char WRITER[] =
    "return { schema = 'i INT, l BIGINT, d DOUBLE, s STRING, b BOOLEAN, bin BINARY, dt DATE,"
    " ts TIMESTAMP, a ARRAY<INT>, m MAP<STRING, DOUBLE>, st STRUCT<x: INT, y: STRING>',\n"
    "  write = function(opts, rows) for _ in rows do end return {} end }\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lc_connector *conn;
  if (!conn && lc_connector_open(fuzz_runtime(), LC_SOURCE_INLINE, WRITER, NULL, 0, &conn) != LC_OK)
    abort();
  for (int flags = 0; flags <= LC_JSON_IGNORE_UNKNOWN; flags++) {
    struct ArrowSchema s = {0};
    struct ArrowArray a = {0};
    if (lc_connector_rows_from_json(conn, (const char *)data, size, flags, &s, &a) == LC_OK) {
      s.release(&s);
      a.release(&a);
    }
  }
  return 0;
}
