/*
 * lc_rowjson.c: rows of an Arrow batch as the text of a JSON array of objects.
 *
 * json.encode_rows (lc_write.c) sends a write's rows on as JSON without a Lua table
 * per row: yajl's generator writes each row of scalar columns straight from the
 * batch, numbers as the json module prints them. A row the generator would not
 * write as the Lua path does (nested columns, NaN or infinite numbers, timestamps
 * out of range) goes that path: lc_rows_push and lc_json_encode, the same
 * text and the same errors json.encode gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "connector/lc_connector.h"

struct lc_rowjson {
  yajl_gen gen; /* stays inside one open array: each row is one element; owned */
  lc_buf text;  /* "[row,row,..." so far; owned */
  int64_t rows;
  const struct ArrowSchema *schema; /* the batch schema kinds describe, NULL after
                                       * lc_rowjson_new_batch */
  lc_arrow_kind *kinds;             /* per column; owned */
  size_t *name_lens;                /* per column; owned */
  int64_t n_columns;
};

/* Puts the generator inside an array with nothing printed, ready for a row. */
static bool gen_start(yajl_gen g) {
  yajl_gen_reset(g, NULL);
  bool ok = yajl_gen_array_open(g) == yajl_gen_status_ok;
  yajl_gen_clear(g);
  return ok;
}

lc_rowjson *lc_rowjson_new(void) {
  lc_rowjson *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->gen = yajl_gen_alloc(NULL);
  if (!r->gen) {
    free(r);
    return NULL;
  }
  /* lua-cjson escapes '/', so the texts match the Lua path's. */
  yajl_gen_config(r->gen, yajl_gen_escape_solidus, 1);
  gen_start(r->gen);
  return r;
}

void lc_rowjson_free(lc_rowjson *r) {
  if (!r) return;
  yajl_gen_free(r->gen);
  lc_buf_free(&r->text);
  free(r->kinds);
  free(r->name_lens);
  free(r);
}

int64_t lc_rowjson_rows(const lc_rowjson *r) { return r->rows; }

/* Keeps room for one more byte, so the closing bracket always fits. */
static bool append(lc_rowjson *r, const char *text, size_t len) {
  return lc_buf_reserve(&r->text, len + 1) && lc_buf_append(&r->text, text, len);
}

static yajl_gen_status gen_number(yajl_gen g, double n) {
  char text[32];
  lc_json_number_text(n, text);
  return yajl_gen_number(g, text, strlen(text));
}

static yajl_gen_status gen_integer(yajl_gen g, int64_t n) {
  char text[24];
  char *end = text + sizeof text, *p = lc_int64_text(n, false, end);
  return yajl_gen_number(g, p, (size_t)(end - p));
}

static yajl_gen_status gen_bytes(yajl_gen g, const struct ArrowArray *a, int64_t j, bool large) {
  int64_t start, end;
  lc_arrow_offsets(a, j, large, &start, &end);
  return yajl_gen_string(g, (const unsigned char *)a->buffers[2] + start, (size_t)(end - start));
}

void lc_rowjson_new_batch(lc_rowjson *r) {
  if (r) r->schema = NULL;
}

/* Classifies the batch's columns once per batch. */
static bool learn_schema(lc_rowjson *r, const struct ArrowSchema *schema) {
  if (r->schema == schema) return true;
  lc_arrow_kind *kinds = realloc(r->kinds, (size_t)(schema->n_children + 1) * sizeof *kinds);
  if (kinds) r->kinds = kinds;
  size_t *lens = realloc(r->name_lens, (size_t)(schema->n_children + 1) * sizeof *lens);
  if (lens) r->name_lens = lens;
  if (!kinds || !lens) return false;
  for (int64_t c = 0; c < schema->n_children; c++) {
    const struct ArrowSchema *child = schema->children[c];
    r->kinds[c] = lc_arrow_classify(child);
    /* Other timestamp units need converting: the Lua path (lc_rows_push) does it. */
    if (r->kinds[c] == AK_TIMESTAMP && child->format[2] != 'u') r->kinds[c] = AK_UNSUPPORTED;
    r->name_lens[c] = child->name ? strlen(child->name) : 0;
  }
  r->n_columns = schema->n_children;
  r->schema = schema;
  return true;
}

/* Writes the value at physical slot j; false when this value needs the Lua path
 * (nested and unsupported kinds, NaN and infinities). */
static bool gen_value(yajl_gen g, lc_arrow_kind kind, const struct ArrowArray *a, int64_t j) {
  if (lc_arrow_is_null(a, j)) return yajl_gen_null(g) == yajl_gen_status_ok;
  const void *v = a->n_buffers > 1 ? a->buffers[1] : NULL;
  char text[48];
  yajl_gen_status st;
  switch (kind) {
  case AK_BOOL: st = yajl_gen_bool(g, (((const uint8_t *)v)[j >> 3] >> (j & 7)) & 1); break;
  case AK_INT8: st = gen_integer(g, ((const int8_t *)v)[j]); break;
  case AK_INT16: st = gen_integer(g, ((const int16_t *)v)[j]); break;
  case AK_INT32: st = gen_integer(g, ((const int32_t *)v)[j]); break;
  case AK_INT64: st = gen_integer(g, ((const int64_t *)v)[j]); break;
  case AK_FLOAT:
  case AK_DOUBLE: {
    double n = kind == AK_FLOAT ? ((const float *)v)[j] : ((const double *)v)[j];
    if (!isfinite(n)) return false; /* json.encode refuses it, in its words */
    st = gen_number(g, n);
    break;
  }
  case AK_STRING:
  case AK_BINARY: st = gen_bytes(g, a, j, false); break;
  case AK_LARGE_STRING:
  case AK_LARGE_BINARY: st = gen_bytes(g, a, j, true); break;
  case AK_DATE32:
    lc_date_format(((const int32_t *)v)[j], text, sizeof text);
    st = yajl_gen_string(g, (const unsigned char *)text, strlen(text));
    break;
  case AK_TIMESTAMP:
    lc_timestamp_format(((const int64_t *)v)[j], 1000000, 6, true, text, sizeof text);
    st = yajl_gen_string(g, (const unsigned char *)text, strlen(text));
    break;
  default: return false;
  }
  return st == yajl_gen_status_ok;
}

/* Writes row `row` of the batch with the generator; false when it needs the Lua path. */
static bool gen_row(lc_rowjson *r, const struct ArrowSchema *schema, const struct ArrowArray *array,
                    int64_t row) {
  yajl_gen g = r->gen;
  if (yajl_gen_map_open(g) != yajl_gen_status_ok) return false;
  for (int64_t c = 0; c < r->n_columns; c++) {
    const struct ArrowSchema *s = schema->children[c];
    const struct ArrowArray *a = array->children[c];
    const char *name = s->name ? s->name : "";
    if (yajl_gen_string(g, (const unsigned char *)name, r->name_lens[c]) != yajl_gen_status_ok ||
        !gen_value(g, r->kinds[c], a, a->offset + array->offset + row))
      return false;
  }
  return yajl_gen_map_close(g) == yajl_gen_status_ok;
}

int lc_rowjson_add(lc_rowjson *r, lua_State *L, const struct ArrowSchema *schema,
                   const struct ArrowArray *array, int64_t row, char *err, size_t errlen) {
  if (!append(r, r->rows ? "," : "[", 1) || !learn_schema(r, schema)) goto nomem;
  if (gen_row(r, schema, array, row)) {
    const unsigned char *text;
    size_t len;
    yajl_gen_get_buf(r->gen, &text, &len);
    /* The generator puts a comma before every row after its first; ours are above. */
    if (len && text[0] == ',') text++, len--;
    bool ok = append(r, (const char *)text, len);
    yajl_gen_clear(r->gen);
    if (!ok) goto nomem;
  } else {
    if (!gen_start(r->gen)) goto nomem; /* drops the row's partial text */
    int rc = lc_rows_push(L, schema, array, row, err, errlen);
    if (rc != LC_OK) return rc;
    char *encoded = NULL;
    rc = lc_json_encode(L, -1, &encoded, err, errlen);
    lua_pop(L, 1);
    if (rc != LC_OK) return rc;
    bool ok = append(r, encoded, strlen(encoded));
    free(encoded);
    if (!ok) goto nomem;
  }
  r->rows++;
  return LC_OK;
nomem:
  snprintf(err, errlen, "out of memory encoding rows as JSON");
  return LC_ERR_NOMEM;
}

void lc_rowjson_push(lc_rowjson *r, lua_State *L) {
  append(r, "]", 1); /* append keeps room for the closing bracket */
  lua_pushlstring(L, (const char *)r->text.data, r->text.len);
  r->text.len = 0;
  r->rows = 0;
}
