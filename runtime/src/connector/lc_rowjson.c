/*
 * lc_rowjson.c: rows of an Arrow batch as the text of a JSON array of objects.
 *
 * json.encode_rows (lc_write.c) sends a write's rows on as JSON without a Lua table
 * per row: each row of scalar columns goes straight from the batch into a yyjson
 * document (numbers and strings as json.encode writes them),
 * written out whole when the rows are pushed. A row yyjson would not write as the Lua
 * path does (nested columns, NaN or infinite numbers, timestamps out of range) goes
 * that path: lc_rows_push and lc_json_encode, the same text and the same errors
 * json.encode gives, kept in the document as raw text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

struct lc_rowjson {
  yyjson_mut_doc *doc; /* its root: the array of rows so far; owned */
  int64_t rows;
  const struct ArrowSchema *schema; /* the batch schema kinds describe, NULL after
                                       * lc_rowjson_new_batch */
  lc_arrow_kind *kinds;             /* per column; owned */
  size_t *name_lens;                /* per column; owned */
  int64_t n_columns;
};

/* A document holding an empty array of rows; NULL when out of memory. */
static yyjson_mut_doc *rows_doc(void) {
  yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
  yyjson_mut_val *rows = doc ? yyjson_mut_arr(doc) : NULL;
  if (!rows) {
    yyjson_mut_doc_free(doc);
    return NULL;
  }
  yyjson_mut_doc_set_root(doc, rows);
  return doc;
}

lc_rowjson *lc_rowjson_new(void) {
  lc_rowjson *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  if (!(r->doc = rows_doc())) {
    free(r);
    return NULL;
  }
  return r;
}

void lc_rowjson_free(lc_rowjson *r) {
  if (!r) return;
  yyjson_mut_doc_free(r->doc);
  free(r->kinds);
  free(r->name_lens);
  free(r);
}

int64_t lc_rowjson_rows(const lc_rowjson *r) { return r->rows; }

static yyjson_mut_val *text_value(yyjson_mut_doc *doc, const char *text) {
  return yyjson_mut_strncpy(doc, text, strlen(text));
}

static yyjson_mut_val *bytes_value(yyjson_mut_doc *doc, const struct ArrowArray *a, int64_t j,
                                   bool large) {
  int64_t start, end;
  lc_arrow_offsets(a, j, large, &start, &end);
  return yyjson_mut_strncpy(doc, (const char *)a->buffers[2] + start, (size_t)(end - start));
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

/* The value at physical slot j; NULL when it needs the Lua path (nested and
 * unsupported kinds, NaN and infinities) or memory ran out. */
static yyjson_mut_val *row_value(yyjson_mut_doc *doc, lc_arrow_kind kind,
                                 const struct ArrowArray *a, int64_t j) {
  if (lc_arrow_is_null(a, j)) return yyjson_mut_null(doc);
  const void *v = a->n_buffers > 1 ? a->buffers[1] : NULL;
  char text[48];
  switch (kind) {
  case AK_BOOL: return yyjson_mut_bool(doc, (((const uint8_t *)v)[j >> 3] >> (j & 7)) & 1);
  case AK_INT8: return yyjson_mut_sint(doc, ((const int8_t *)v)[j]);
  case AK_INT16: return yyjson_mut_sint(doc, ((const int16_t *)v)[j]);
  case AK_INT32: return yyjson_mut_sint(doc, ((const int32_t *)v)[j]);
  case AK_INT64: return yyjson_mut_sint(doc, ((const int64_t *)v)[j]);
  case AK_FLOAT:
  case AK_DOUBLE: {
    double n = kind == AK_FLOAT ? ((const float *)v)[j] : ((const double *)v)[j];
    if (!isfinite(n)) return NULL; /* json.encode refuses it, in its words */
    lc_json_number_text(n, text);
    return yyjson_mut_rawncpy(doc, text, strlen(text));
  }
  case AK_STRING:
  case AK_BINARY: return bytes_value(doc, a, j, false);
  case AK_LARGE_STRING:
  case AK_LARGE_BINARY: return bytes_value(doc, a, j, true);
  case AK_DATE32:
    lc_date_format(((const int32_t *)v)[j], text, sizeof text);
    return text_value(doc, text);
  case AK_TIMESTAMP:
    lc_timestamp_format(((const int64_t *)v)[j], 1000000, 6, true, text, sizeof text);
    return text_value(doc, text);
  default: return NULL;
  }
}

/* Row `row` of the batch as an object; NULL when it needs the Lua path. */
static yyjson_mut_val *row_object(lc_rowjson *r, const struct ArrowSchema *schema,
                                  const struct ArrowArray *array, int64_t row) {
  yyjson_mut_val *obj = yyjson_mut_obj(r->doc);
  for (int64_t c = 0; obj && c < r->n_columns; c++) {
    const struct ArrowSchema *s = schema->children[c];
    const struct ArrowArray *a = array->children[c];
    yyjson_mut_val *key = yyjson_mut_strncpy(r->doc, s->name ? s->name : "", r->name_lens[c]);
    yyjson_mut_val *value = row_value(r->doc, r->kinds[c], a, a->offset + array->offset + row);
    if (!key || !value || !yyjson_mut_obj_add(obj, key, value)) return NULL;
  }
  return obj;
}

int lc_rowjson_add(lc_rowjson *r, lua_State *L, const struct ArrowSchema *schema,
                   const struct ArrowArray *array, int64_t row, char *err, size_t errlen) {
  if (!learn_schema(r, schema)) goto nomem;
  yyjson_mut_val *value = row_object(r, schema, array, row);
  if (!value) { /* what a failed row left in the document is freed with it */
    int rc = lc_rows_push(L, schema, array, row, err, errlen);
    if (rc != LC_OK) return rc;
    char *encoded = NULL;
    rc = lc_json_encode(L, -1, &encoded, err, errlen);
    lua_pop(L, 1);
    if (rc != LC_OK) return rc;
    value = yyjson_mut_rawncpy(r->doc, encoded, strlen(encoded));
    free(encoded);
  }
  if (!value || !yyjson_mut_arr_append(yyjson_mut_doc_get_root(r->doc), value)) goto nomem;
  r->rows++;
  return LC_OK;
nomem:
  snprintf(err, errlen, "out of memory encoding rows as JSON");
  return LC_ERR_NOMEM;
}

void lc_rowjson_push(lc_rowjson *r, lua_State *L) {
  size_t len = 0;
  char *text = yyjson_mut_write_opts(r->doc, LC_JSON_WRITE_FLAGS, NULL, &len, NULL);
  yyjson_mut_doc *fresh = rows_doc();
  if (!text || !fresh) {
    free(text);
    yyjson_mut_doc_free(fresh);
    luaL_error(L, "out of memory encoding rows as JSON");
  }
  lua_pushlstring(L, text, len);
  free(text);
  yyjson_mut_doc_free(r->doc);
  r->doc = fresh;
  r->rows = 0;
}
