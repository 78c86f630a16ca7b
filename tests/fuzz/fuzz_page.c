/* Differential: the same page read through json.page (records appended in C, or
 * handed to the Lua path) and through json.decode + emit(row) must give the same rows
 * or the same error. Aborts on any difference. */
#include <stdbool.h>
#include <stdio.h>

#include "fuzz.h"

static const char READER[] =
    "local json = require 'json'\n"
    "return { schema = 'i INT, l BIGINT, d DOUBLE, s STRING, b BOOLEAN, dt DATE, ts TIMESTAMP',\n"
    "  options = { text = { type = 'string' }, mode = { type = 'string' } },\n"
    "  read = function(o, p, emit)\n"
    "    if o.mode == 'page' then\n"
    "      local page = json.page(o.text, '', 'page')\n"
    "      repeat emit(page) until page:done()\n"
    "      return\n"
    "    end\n"
    "    local ok, records = pcall(json.decode, o.text)\n"
    "    if not ok or not o.text:match('^%s*%[') then error('INVALID', 0) end\n"
    "    for i = 1, #records do\n"
    "      if type(records[i]) ~= 'table' then error('INVALID', 0) end\n"
    "      emit(records[i])\n"
    "    end\n"
    "  end }\n";

/* Bytes per value of each column above; 0: STRING, 1: BOOLEAN (a bit). */
static const int WIDTH[] = {4, 8, 8, 0, 1, 4, 8};

typedef struct canon {
  char *data;
  size_t len, cap;
} canon;

static void put(canon *c, const void *p, size_t n) {
  if (c->len + n > c->cap) {
    c->cap = (c->len + n) * 2;
    if (!(c->data = realloc(c->data, c->cap))) abort();
  }
  memcpy(c->data + c->len, p, n);
  c->len += n;
}

static bool bit(const void *bits, int64_t i) {
  return ((const uint8_t *)bits)[i >> 3] >> (i & 7) & 1;
}

/* The batch's rows, row by row, so batch boundaries do not matter. */
static void put_batch(canon *c, const struct ArrowArray *a) {
  for (int64_t r = 0; r < a->length; r++) {
    for (int64_t k = 0; k < a->n_children; k++) {
      const struct ArrowArray *col = a->children[k];
      int64_t i = r + a->offset + col->offset;
      bool valid = !col->buffers[0] || bit(col->buffers[0], i);
      put(c, &valid, 1);
      if (!valid) continue;
      if (WIDTH[k] == 1) {
        bool v = bit(col->buffers[1], i);
        put(c, &v, 1);
      } else if (WIDTH[k] == 0) {
        const int32_t *offsets = col->buffers[1];
        int32_t len = offsets[i + 1] - offsets[i];
        put(c, &len, sizeof len);
        put(c, (const char *)col->buffers[2] + offsets[i], (size_t)len);
      } else {
        put(c, (const char *)col->buffers[1] + i * WIDTH[k], (size_t)WIDTH[k]);
      }
    }
  }
}

typedef struct outcome {
  int rc;
  canon rows;
  char error[512];
} outcome;

static void read_page(const char *text, const char *mode, outcome *out) {
  lc_runtime *rt = fuzz_runtime();
  const char *options[] = {"text", text, "mode", mode};
  lc_connector *conn = NULL;
  *out = (outcome){0};
  out->rc = lc_connector_open(rt, LC_SOURCE_INLINE, READER, options, 2, &conn);
  if (out->rc == LC_OK) out->rc = lc_read_begin(conn, NULL);
  while (out->rc == LC_OK) {
    struct ArrowSchema s;
    struct ArrowArray a;
    out->rc = lc_read_next(conn, &s, &a);
    if (out->rc != LC_OK) break;
    put_batch(&out->rows, &a);
    s.release(&s);
    a.release(&a);
  }
  if (out->rc != LC_DONE)
    snprintf(out->error, sizeof out->error, "%s", lc_runtime_error(rt)->message);
  lc_connector_free(conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  outcome page, lua;
  read_page(text, "page", &page);
  read_page(text, "lua", &lua);
  bool limit = page.rc == LC_ERR_TIME_LIMIT || page.rc == LC_ERR_MEMORY_LIMIT ||
               lua.rc == LC_ERR_TIME_LIMIT || lua.rc == LC_ERR_MEMORY_LIMIT;
  /* Compared only when the text is an array of objects: json.page words other
   * documents its own way ("no records"). */
  bool invalid = strcmp(lua.error, "INVALID") == 0;
  bool same =
      limit || invalid ||
      (page.rc == lua.rc && strcmp(page.error, lua.error) == 0 && page.rows.len == lua.rows.len &&
       (!lua.rows.len || memcmp(page.rows.data, lua.rows.data, lua.rows.len) == 0));
  if (!same) {
    fprintf(stderr, "paths differ on %s\npage: %d %s\nlua:  %d %s\n", text, page.rc, page.error,
            lua.rc, lua.error);
    abort();
  }
  free(page.rows.data);
  free(lua.rows.data);
  free(text);
  return 0;
}
