/*
 * lc_rowjson.c: rows of an Arrow batch as the text of a JSON array of objects.
 *
 * json.encode_rows (lc_write.c) sends a write's rows on as JSON without a Lua table
 * per row: yajl's generator writes each row of scalar columns straight from the
 * batch, numbers as the json module prints them. A row the generator would not
 * write as the Lua path does (nested columns, NaN or infinite numbers, timestamps
 * out of range) goes that path: lc_arrow_push_row and lc_json_encode, the same
 * text and the same errors json.encode gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "lc_internal.h"

struct lc_rowjson {
  yajl_gen gen;        /* one row at a time; owned */
  char *text;          /* "[row,row,..." so far; owned */
  size_t len, cap;
  int64_t rows;
};

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
  return r;
}

void lc_rowjson_free(lc_rowjson *r) {
  if (!r) return;
  yajl_gen_free(r->gen);
  free(r->text);
  free(r);
}

int64_t lc_rowjson_rows(const lc_rowjson *r) { return r->rows; }

static bool append(lc_rowjson *r, const char *text, size_t len) {
  if (r->len + len + 2 > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + len + 2) cap *= 2;
    char *grown = realloc(r->text, cap);
    if (!grown) return false;
    r->text = grown;
    r->cap = cap;
  }
  memcpy(r->text + r->len, text, len);
  r->len += len;
  return true;
}

static bool is_null(const struct ArrowArray *a, int64_t j) {
  const uint8_t *validity = a->n_buffers > 0 ? a->buffers[0] : NULL;
  return validity && a->null_count != 0 && !((validity[j >> 3] >> (j & 7)) & 1);
}

static yajl_gen_status gen_number(yajl_gen g, double n) {
  char text[32];
  lc_json_number_text(n, text);
  return yajl_gen_number(g, text, strlen(text));
}

static yajl_gen_status gen_integer(yajl_gen g, int64_t n) {
  char text[24];
  int len = snprintf(text, sizeof text, "%lld", (long long)n);
  return yajl_gen_number(g, text, (size_t)len);
}

static yajl_gen_status gen_bytes(yajl_gen g, const struct ArrowArray *a, int64_t j, bool large) {
  int64_t start, end;
  if (large) {
    start = ((const int64_t *)a->buffers[1])[j];
    end = ((const int64_t *)a->buffers[1])[j + 1];
  } else {
    start = ((const int32_t *)a->buffers[1])[j];
    end = ((const int32_t *)a->buffers[1])[j + 1];
  }
  return yajl_gen_string(g, (const unsigned char *)a->buffers[2] + start, (size_t)(end - start));
}

/* Writes the value at physical slot j; false when this value needs the Lua path. */
static bool gen_value(yajl_gen g, const struct ArrowSchema *s, const struct ArrowArray *a,
                      int64_t j) {
  if (is_null(a, j)) return yajl_gen_null(g) == yajl_gen_status_ok;
  const char *f = s->format;
  const void *v = a->n_buffers > 1 ? a->buffers[1] : NULL;
  char text[48];
  yajl_gen_status st;
  if (!strcmp(f, "b")) st = yajl_gen_bool(g, (((const uint8_t *)v)[j >> 3] >> (j & 7)) & 1);
  else if (!strcmp(f, "c")) st = gen_integer(g, ((const int8_t *)v)[j]);
  else if (!strcmp(f, "s")) st = gen_integer(g, ((const int16_t *)v)[j]);
  else if (!strcmp(f, "i")) st = gen_integer(g, ((const int32_t *)v)[j]);
  else if (!strcmp(f, "l")) st = gen_integer(g, ((const int64_t *)v)[j]);
  else if (!strcmp(f, "f") || !strcmp(f, "g")) {
    double n = f[0] == 'f' ? ((const float *)v)[j] : ((const double *)v)[j];
    if (!isfinite(n)) return false;   /* json.encode refuses it, in its words */
    st = gen_number(g, n);
  } else if (!strcmp(f, "u") || !strcmp(f, "z")) st = gen_bytes(g, a, j, false);
  else if (!strcmp(f, "U") || !strcmp(f, "Z")) st = gen_bytes(g, a, j, true);
  else if (!strcmp(f, "tdD")) {
    lc_format_date(((const int32_t *)v)[j], text, sizeof text);
    st = yajl_gen_string(g, (const unsigned char *)text, strlen(text));
  } else if (!strcmp(f, "tsu:UTC") || !strcmp(f, "tsu:")) {
    lc_format_timestamp(((const int64_t *)v)[j], text, sizeof text);
    st = yajl_gen_string(g, (const unsigned char *)text, strlen(text));
  } else {
    return false;
  }
  return st == yajl_gen_status_ok;
}

/* Writes row `row` of the batch with the generator; false when it needs the Lua path. */
static bool gen_row(yajl_gen g, const struct ArrowSchema *schema, const struct ArrowArray *array,
                    int64_t row) {
  if (yajl_gen_map_open(g) != yajl_gen_status_ok) return false;
  for (int64_t c = 0; c < schema->n_children; c++) {
    const struct ArrowSchema *s = schema->children[c];
    const struct ArrowArray *a = array->children[c];
    const char *name = s->name ? s->name : "";
    if (yajl_gen_string(g, (const unsigned char *)name, strlen(name)) != yajl_gen_status_ok ||
        !gen_value(g, s, a, a->offset + array->offset + row))
      return false;
  }
  return yajl_gen_map_close(g) == yajl_gen_status_ok;
}

int lc_rowjson_add(lc_rowjson *r, lua_State *L, const struct ArrowSchema *schema,
                   const struct ArrowArray *array, int64_t row, char *err, size_t errlen) {
  if (!append(r, r->rows ? "," : "[", 1)) goto nomem;
  yajl_gen_clear(r->gen);
  yajl_gen_reset(r->gen, NULL);
  if (gen_row(r->gen, schema, array, row)) {
    const unsigned char *text;
    size_t len;
    yajl_gen_get_buf(r->gen, &text, &len);
    if (!append(r, (const char *)text, len)) goto nomem;
  } else {
    int rc = lc_arrow_push_row(L, schema, array, row, err, errlen);
    if (rc != LC_OK) return rc;
    char *text = NULL;
    rc = lc_json_encode(L, -1, &text, err, errlen);
    lua_pop(L, 1);
    if (rc != LC_OK) return rc;
    bool ok = append(r, text, strlen(text));
    free(text);
    if (!ok) goto nomem;
  }
  r->rows++;
  return LC_OK;
nomem:
  snprintf(err, errlen, "out of memory encoding rows as JSON");
  return LC_ERR_NOMEM;
}

void lc_rowjson_push(lc_rowjson *r, lua_State *L) {
  append(r, "]", 1);   /* append keeps room for the closing bracket */
  lua_pushlstring(L, r->text, r->len);
  r->len = 0;
  r->rows = 0;
}
