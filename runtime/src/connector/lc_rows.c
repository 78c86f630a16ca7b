/*
 * lc_rows.c: rows as Lua tables <-> Arrow batches.
 *
 * Reads: emit(row) appends a Lua table keyed by column name to the batch builder,
 * value by value down the column tree, with an error naming column, row and value
 * for anything that does not fit (never a silent cast). Writes: lc_rows_push turns
 * one row of a (pyarrow-made) batch back into a Lua table, honouring offsets and
 * validity bitmaps at every level. Also JSON lines -> a batch (luaconn write).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

#define SHOWN_VALUE_MAX 40 /* bytes of a bad value quoted in an error */

struct lc_rows {
  lc_builder *b; /* owned */
  lua_State *L;
  int names_ref; /* registry ref of a table: column preorder -> column name string */
  bool *seen;    /* per top-level column: some record had its key; owned */
};

/* ---- describing values in errors ------------------------------------------------- */

/* Writes a short description of the Lua value at idx: 3.5, string "abc...", table. */
static void describe_value(lua_State *L, int idx, char *out, size_t outlen) {
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER: {
    double d = lua_tonumber(L, idx);
    if (isnan(d)) { /* printf may say "-nan" */
      snprintf(out, outlen, "nan");
      return;
    }
    snprintf(out, outlen, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, outlen, "%.17g", d);
    return;
  }
  case LUA_TBOOLEAN:
    snprintf(out, outlen, "boolean %s", lua_toboolean(L, idx) ? "true" : "false");
    return;
  case LUA_TSTRING: {
    size_t len;
    const unsigned char *s = (const unsigned char *)lua_tolstring(L, idx, &len);
    size_t shown = len > SHOWN_VALUE_MAX ? SHOWN_VALUE_MAX : len;
    bool utf8 = lc_utf8_valid_prefix(s, len) >= shown;
    while (utf8 && shown < len && shown > 0 && (s[shown] & 0xC0) == 0x80) shown--;
    size_t o = (size_t)snprintf(out, outlen, "string \"");
    for (size_t i = 0; i < shown && o + 8 < outlen; i++) {
      unsigned c = s[i];
      if (c == '"' || c == '\\')
        o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
      else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8))
        o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
      else
        out[o++] = (char)c;
    }
    snprintf(out + o, outlen - o, "\"%s", shown < len ? "..." : "");
    return;
  }
  case LUA_TNIL: snprintf(out, outlen, "null"); return;
  default: snprintf(out, outlen, "%s", lua_typename(L, lua_type(L, idx)));
  }
}

static bool is_null(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  return t == LUA_TNIL || (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL);
}

/* ---- Lua values into columns ------------------------------------------------------- */

/* Where a value sits, formatted only when an error needs it: "addr.city", "tags[3]". */
typedef enum path_kind { PATH_FIELD, PATH_INDEX, PATH_MAP_KEY } path_kind;
typedef struct value_path {
  const struct value_path *parent;
  path_kind kind;
  const char *name; /* PATH_FIELD */
  int64_t index;    /* PATH_INDEX: 1-based; PATH_MAP_KEY: stack index of the key */
} value_path;

typedef struct append_ctx {
  lua_State *L;
  int names_idx; /* stack index of the interned-name table */
  int64_t row;
  char *err;
  size_t errlen;
  bool *seen; /* the top-level columns' flags (lc_rows_mark_seen) */
} append_ctx;

static size_t format_path(lua_State *L, const value_path *p, char *out, size_t outlen) {
  size_t o = p->parent ? format_path(L, p->parent, out, outlen) : 0;
  if (o >= outlen) return o;
  switch (p->kind) {
  case PATH_FIELD:
    o += (size_t)snprintf(out + o, outlen - o, "%s%s", p->parent ? "." : "", p->name);
    break;
  case PATH_INDEX: o += (size_t)snprintf(out + o, outlen - o, "[%lld]", (long long)p->index); break;
  case PATH_MAP_KEY: {
    char key[SHOWN_VALUE_MAX + 32];
    describe_value(L, (int)p->index, key, sizeof key);
    const char *shown = strncmp(key, "string ", 7) == 0 ? key + 7 : key;
    o += (size_t)snprintf(out + o, outlen - o, "[%s]", shown);
    break;
  }
  }
  return o;
}

static int value_error(append_ctx *c, const value_path *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int value_error(append_ctx *c, const value_path *at, const char *fmt, ...) {
  char where[256];
  format_path(c->L, at, where, sizeof where);
  int o = snprintf(c->err, c->errlen, "column '%s', row %lld: ", where, (long long)c->row);
  if (o >= 0 && (size_t)o < c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + o, c->errlen - (size_t)o, fmt, ap);
    va_end(ap);
  }
  return LC_ERR_VALUE;
}

static int out_of_memory(append_ctx *c) {
  snprintf(c->err, c->errlen, "row %lld: out of memory building the batch", (long long)c->row);
  return LC_ERR_NOMEM;
}

/* "expected INT, got string \"abc\"" plus an optional reason in parentheses. */
static int type_error(append_ctx *c, const lc_column *col, int idx, const value_path *at,
                      const char *expected, const char *reason) {
  char got[SHOWN_VALUE_MAX + 32];
  describe_value(c->L, idx, got, sizeof got);
  return value_error(c, at, "expected %s, got %s%s%s%s", expected, got, reason ? " (" : "",
                     reason ? reason : "", reason ? ")" : "");
}

static int append_value(append_ctx *c, lc_column *col, int idx, const value_path *at);

/* Appends the fields of the table at idx to the STRUCT column's children. */
static int append_fields(append_ctx *c, lc_column *col, int idx, const value_path *parent) {
  lua_State *L = c->L;
  for (size_t i = 0; i < col->n_children; i++) {
    lc_column *field = &col->children[i];
    value_path at = {.parent = parent, .kind = PATH_FIELD, .name = field->name};
    lua_rawgeti(L, c->names_idx, field->preorder);
    lua_rawget(L, idx);
    if (!parent && !lua_isnil(L, -1)) c->seen[i] = true;
    int rc = append_value(c, field, lua_gettop(L), &at);
    lua_pop(L, 1);
    if (rc) return rc;
  }
  return LC_OK;
}

/* ARRAY: a table whose keys are exactly 1..n. */
static int append_array(append_ctx *c, lc_column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  size_t n = lua_objlen(L, idx);
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    double k = lua_type(L, -2) == LUA_TNUMBER ? lua_tonumber(L, -2) : 0;
    if (!(k >= 1 && k <= (double)n && k == floor(k))) {
      char key[SHOWN_VALUE_MAX + 32];
      describe_value(L, -2, key, sizeof key);
      lua_pop(L, 2);
      return value_error(c, at, "expected ARRAY (a sequence table), got a table with key %s", key);
    }
    count++;
    lua_pop(L, 1);
  }
  if (count != n)
    return value_error(c, at, "expected ARRAY (a sequence table), got a table with holes");
  lc_column *element = &col->children[0];
  for (size_t i = 1; i <= n; i++) {
    value_path elem_at = {.parent = at, .kind = PATH_INDEX, .index = (int64_t)i};
    lua_rawgeti(L, idx, (int)i);
    int rc = append_value(c, element, lua_gettop(L), &elem_at);
    lua_pop(L, 1);
    if (rc) return rc;
  }
  if (element->length > INT32_MAX)
    return value_error(c, at, "batch holds more than 2^31 array elements");
  return lc_column_push_offset(col, (size_t)element->length) ? LC_OK : out_of_memory(c);
}

/* A map key as sorted: by type, then value (strings bytewise). */
typedef struct map_key {
  int index; /* in the table of keys */
  int type;
  double number;
  const char *text; /* anchored by the table of keys */
  size_t len;
  const void *other;
} map_key;

static int compare_map_keys(const void *pa, const void *pb) {
  const map_key *a = pa, *b = pb;
  if (a->type != b->type) return a->type < b->type ? -1 : 1;
  if (a->type == LUA_TNUMBER || a->type == LUA_TBOOLEAN)
    return a->number < b->number ? -1 : a->number > b->number;
  if (a->type == LUA_TSTRING) {
    int c = memcmp(a->text, b->text, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
  }
  return a->other < b->other ? -1 : a->other > b->other;
}

/* Pushes the keys of the table at idx as an array, in key order, and returns how
 * many: a map's entries come out the same on every run (LuaJIT's table order
 * depends on a hash seed), so a replayed range is byte-identical. */
static int push_sorted_keys(lua_State *L, int idx) {
  int n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) n++;
  map_key *order = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *order);
  lua_createtable(L, n, 0);
  int i = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    map_key *k = &order[i];
    *k = (map_key){.index = ++i, .type = lua_type(L, -2), .other = lua_topointer(L, -2)};
    if (k->type == LUA_TSTRING)
      k->text = lua_tolstring(L, -2, &k->len);
    else if (k->type == LUA_TNUMBER)
      k->number = lua_tonumber(L, -2);
    else if (k->type == LUA_TBOOLEAN)
      k->number = lua_toboolean(L, -2);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -4, i);
  }
  qsort(order, (size_t)n, sizeof *order, compare_map_keys);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, -2, order[i].index);
    lua_rawseti(L, -2, i + 1);
  }
  lua_replace(L, -3); /* the sorted keys where the order was */
  lua_pop(L, 1);
  return n;
}

static int append_map(append_ctx *c, lc_column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  lc_column *keys = &col->children[0], *values = &col->children[1];
  value_path key_at = {.parent = at, .kind = PATH_FIELD, .name = "key"};
  if (!lua_checkstack(L, 8)) return out_of_memory(c);
  int n = push_sorted_keys(L, idx);
  int sorted = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, sorted, i);
    int key_idx = lua_gettop(L);
    lua_pushvalue(L, key_idx);
    lua_rawget(L, idx);
    value_path value_at = {.parent = at, .kind = PATH_MAP_KEY, .index = key_idx};
    int rc = append_value(c, keys, key_idx, &key_at);
    if (!rc) rc = append_value(c, values, key_idx + 1, &value_at);
    lua_settop(L, sorted);
    if (rc) {
      lua_pop(L, 1);
      return rc;
    }
  }
  lua_pop(L, 1);
  if (keys->length > INT32_MAX) return value_error(c, at, "batch holds more than 2^31 map entries");
  return lc_column_push_offset(col, (size_t)keys->length) ? LC_OK : out_of_memory(c);
}

/* A scalar column's value through the one conversion core (arrow/lc_convert.c), the
 * same as the page path's: a Lua number goes as its double, a string as its bytes. */
static int append_scalar(append_ctx *c, lc_column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  lc_scalar v = {.kind = LC_SCALAR_STRING};
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: v.kind = lua_toboolean(L, idx) ? LC_SCALAR_TRUE : LC_SCALAR_FALSE; break;
  case LUA_TNUMBER:
    v.kind = LC_SCALAR_NUMBER;
    v.number = lua_tonumber(L, idx);
    break;
  case LUA_TSTRING: v.text = lua_tolstring(L, idx, &v.len); break;
  default: v.kind = LC_SCALAR_ABSENT; /* no kind any scalar type takes */
  }
  char expected_buf[64], why[160];
  lc_value value;
  int rc = v.kind == LC_SCALAR_ABSENT ? LC_ERR_VALUE
                                      : lc_convert_scalar(col->type, &v, &value, why, sizeof why);
  if (rc == LC_ERR_NOMEM) return out_of_memory(c);
  if (rc) {
    const char *expected = lc_convert_expected(col->type, expected_buf, sizeof expected_buf);
    return type_error(c, col, idx, at, expected,
                      v.kind == LC_SCALAR_ABSENT || !why[0] ? NULL : why);
  }
  if (!lc_column_has_room(col, &v))
    return value_error(c, at, "batch holds more than 2 GiB of %s data",
                       lc_type_name(col->type->id));
  return lc_column_append_scalar(col, &v, &value) ? LC_OK : out_of_memory(c);
}

/* A STRING column given an object or array holds it as JSON text (json.encode's; the
 * page path hands such records to this path, so both read them alike). */
static int append_json_text(append_ctx *c, lc_column *col, int idx, const value_path *at) {
  char *text = NULL, err[256];
  if (lc_json_encode(c->L, idx, &text, err, sizeof err) != LC_OK)
    return type_error(c, col, idx, at, "STRING (text, or an object or array as JSON)", err);
  lua_pushstring(c->L, text);
  free(text);
  int rc = append_scalar(c, col, lua_gettop(c->L), at);
  lua_pop(c->L, 1);
  return rc;
}

static int append_value(append_ctx *c, lc_column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  if (is_null(L, idx)) {
    if (!col->nullable)
      return value_error(c, at, "expected %s, got null (the column is NOT NULL)",
                         lc_type_name(col->type->id));
    return lc_column_append_null(col) ? LC_OK : out_of_memory(c);
  }
  int rc;
  switch (col->type->id) {
  case LC_T_STRING:
  case LC_T_BINARY:
    if (col->type->id == LC_T_STRING && lua_type(L, idx) == LUA_TTABLE)
      return append_json_text(c, col, idx, at);
    return append_scalar(c, col, idx, at);
  case LC_T_ARRAY:
  case LC_T_STRUCT:
  case LC_T_MAP:
    if (lua_type(L, idx) != LUA_TTABLE) {
      rc = type_error(c, col, idx, at, lc_type_name(col->type->id), NULL);
      break;
    }
    if (!lua_checkstack(L, 4)) return value_error(c, at, "values nested too deeply");
    rc = col->type->id == LC_T_ARRAY ? append_array(c, col, idx, at)
         : col->type->id == LC_T_MAP ? append_map(c, col, idx, at)
                                     : append_fields(c, col, idx, at);
    break;
  default: return append_scalar(c, col, idx, at);
  }
  if (rc) return rc;
  return lc_column_mark_valid(col) ? LC_OK : out_of_memory(c);
}

/* ---- a builder fed with Lua rows --------------------------------------------------- */

/* Interns every column's name at its preorder number in the table on top of L. */
static void intern_names(lua_State *L, const lc_column *col) {
  lua_pushstring(L, col->name);
  lua_rawseti(L, -2, col->preorder);
  for (size_t i = 0; i < col->n_children; i++) intern_names(L, &col->children[i]);
}

int lc_rows_new(const lc_type *schema, lua_State *L, lc_rows **out) {
  *out = NULL;
  lc_rows *r = calloc(1, sizeof *r);
  if (!r) return LC_ERR_NOMEM;
  int rc = lc_builder_new(schema, &r->b);
  r->seen = calloc(schema->n_children ? schema->n_children : 1, sizeof *r->seen);
  if (rc == LC_OK && !r->seen) rc = LC_ERR_NOMEM;
  if (rc != LC_OK) {
    lc_builder_free(r->b);
    free(r->seen);
    free(r);
    return rc;
  }
  r->L = L;
  lua_createtable(L, (int)schema->n_children, 0);
  intern_names(L, lc_builder_root(r->b));
  r->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  *out = r;
  return LC_OK;
}

void lc_rows_free(lc_rows *r) {
  if (!r) return;
  luaL_unref(r->L, LUA_REGISTRYINDEX, r->names_ref);
  lc_builder_free(r->b);
  free(r->seen);
  free(r);
}

lc_builder *lc_rows_builder(lc_rows *r) { return r->b; }

void lc_rows_mark_seen(lc_rows *r, size_t column) { r->seen[column] = true; }

void lc_rows_warn_unseen(lc_rows *r, lc_state *st, int64_t rows) {
  size_t n = lc_builder_columns(r->b);
  for (size_t i = 0; i < n; i++) {
    if (rows > 0 && !r->seen[i])
      lc_state_log(st, LC_LOG_WARN,
                   "column '%s': none of the %lld records read has this key, so it is NULL in "
                   "every row (misspelt?)",
                   lc_builder_column_name(r->b, i), (long long)rows);
    r->seen[i] = false;
  }
}

int lc_rows_append(lc_rows *r, lua_State *L, int idx, int64_t row_number, char *err,
                   size_t errlen) {
  if (!lc_builder_ready(r->b)) {
    snprintf(err, errlen, "out of memory starting a batch");
    return LC_ERR_NOMEM;
  }
  int top = lua_gettop(L);
  idx = lc_absindex(L, idx);
  append_ctx c = {.L = L,
                  .names_idx = top + 1,
                  .row = row_number,
                  .err = err,
                  .errlen = errlen,
                  .seen = r->seen};
  if (lua_type(L, idx) != LUA_TTABLE) {
    char got[SHOWN_VALUE_MAX + 32];
    describe_value(L, idx, got, sizeof got);
    snprintf(err, errlen, "row %lld: expected a table keyed by column name, got %s",
             (long long)row_number, got);
    lc_builder_clear(r->b);
    return LC_ERR_VALUE;
  }
  if (!lua_checkstack(L, 8)) return out_of_memory(&c);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->names_ref);
  int rc = append_fields(&c, lc_builder_root(r->b), idx, NULL);
  lua_settop(L, top);
  if (rc) {
    lc_builder_clear(r->b);
    return rc;
  }
  lc_builder_end_row(r->b);
  return LC_OK;
}

/* ---- Arrow rows into Lua tables ----------------------------------------------------- */

static int push_value(lua_State *L, const struct ArrowSchema *s, const struct ArrowArray *a,
                      int64_t index, char *err, size_t errlen);

/* Pushes a table of the struct's fields at physical slot j. */
static int push_struct(lua_State *L, const struct ArrowSchema *s, const struct ArrowArray *a,
                       int64_t j, char *err, size_t errlen) {
  lua_createtable(L, 0, (int)s->n_children);
  for (int64_t i = 0; i < s->n_children; i++) {
    int rc = push_value(L, s->children[i], a->children[i], j, err, errlen);
    if (rc) return rc;
    lua_setfield(L, -2, s->children[i]->name);
  }
  return LC_OK;
}

/* Pushes the value at logical index `index` of array a (a->offset is added here). */
static int push_value(lua_State *L, const struct ArrowSchema *s, const struct ArrowArray *a,
                      int64_t index, char *err, size_t errlen) {
  if (!lua_checkstack(L, 4)) {
    snprintf(err, errlen, "column '%s': values nested too deeply", s->name);
    return LC_ERR_VALUE;
  }
  int64_t j = a->offset + index;
  if (lc_arrow_is_null(a, j)) {
    lua_pushlightuserdata(L, NULL);
    return LC_OK;
  }
  const void *values = a->n_buffers > 1 ? a->buffers[1] : NULL;
  char text[48];
  int64_t start, end;
  lc_arrow_kind kind = lc_arrow_classify(s);
  switch (kind) {
  case AK_BOOL: lua_pushboolean(L, lc_bitmap_get(values, j)); break;
  case AK_INT8: lua_pushnumber(L, ((const int8_t *)values)[j]); break;
  case AK_INT16: lua_pushnumber(L, ((const int16_t *)values)[j]); break;
  case AK_INT32: lua_pushnumber(L, ((const int32_t *)values)[j]); break;
  case AK_INT64: lua_pushnumber(L, (lua_Number)((const int64_t *)values)[j]); break;
  case AK_FLOAT: lua_pushnumber(L, ((const float *)values)[j]); break;
  case AK_DOUBLE: lua_pushnumber(L, ((const double *)values)[j]); break;
  case AK_STRING:
  case AK_BINARY:
  case AK_LARGE_STRING:
  case AK_LARGE_BINARY:
    lc_arrow_offsets(a, j, kind == AK_LARGE_STRING || kind == AK_LARGE_BINARY, &start, &end);
    lua_pushlstring(L, (const char *)a->buffers[2] + start, (size_t)(end - start));
    break;
  case AK_DATE32:
    lc_date_format(((const int32_t *)values)[j], text, sizeof text);
    lua_pushstring(L, text);
    break;
  case AK_DATE64:
    lc_date_format(lc_floor_div(((const int64_t *)values)[j], 86400000), text, sizeof text);
    lua_pushstring(L, text);
    break;
  case AK_TIMESTAMP: {
    int64_t v = ((const int64_t *)values)[j], micros;
    char unit = s->format[2];
    bool overflow = false;
    if (unit == 's')
      overflow = __builtin_mul_overflow(v, INT64_C(1000000), &micros);
    else if (unit == 'm')
      overflow = __builtin_mul_overflow(v, INT64_C(1000), &micros);
    else if (unit == 'n')
      micros = lc_floor_div(v, 1000);
    else
      micros = v;
    if (overflow) {
      snprintf(err, errlen, "column '%s': timestamp %lld%c out of range", s->name, (long long)v,
               unit);
      return LC_ERR_VALUE;
    }
    lc_timestamp_format(micros, 1000000, 6, true, text, sizeof text);
    lua_pushstring(L, text);
    break;
  }
  case AK_LIST:
  case AK_LARGE_LIST:
    lc_arrow_offsets(a, j, kind == AK_LARGE_LIST, &start, &end);
    lua_createtable(L, (int)(end - start), 0);
    for (int64_t k = start; k < end; k++) {
      int rc = push_value(L, s->children[0], a->children[0], k, err, errlen);
      if (rc) return rc;
      lua_rawseti(L, -2, (int)(k - start + 1));
    }
    break;
  case AK_STRUCT: return push_struct(L, s, a, j, err, errlen);
  case AK_MAP: {
    const struct ArrowSchema *es = s->children[0];
    const struct ArrowArray *entries = a->children[0];
    lc_arrow_offsets(a, j, false, &start, &end);
    lua_createtable(L, 0, (int)(end - start));
    for (int64_t k = start; k < end; k++) {
      int64_t e = entries->offset + k;
      int rc = push_value(L, es->children[0], entries->children[0], e, err, errlen);
      if (!rc) rc = push_value(L, es->children[1], entries->children[1], e, err, errlen);
      if (rc) return rc;
      if (is_null(L, -2)) {
        snprintf(err, errlen, "column '%s': map key is null", s->name);
        return LC_ERR_VALUE;
      }
      lua_rawset(L, -3);
    }
    break;
  }
  case AK_UNSUPPORTED:
    snprintf(err, errlen, "column '%s': unsupported Arrow type '%s'", s->name,
             s->format ? s->format : "(none)");
    return LC_ERR_SCHEMA;
  }
  return LC_OK;
}

int lc_rows_push(lua_State *L, const struct ArrowSchema *schema, const struct ArrowArray *array,
                 int64_t row, char *err, size_t errlen) {
  if (row < 0 || row >= array->length) {
    snprintf(err, errlen, "row %lld is outside the batch of %lld rows", (long long)row,
             (long long)array->length);
    return LC_ERR_ARGUMENT;
  }
  if (lc_arrow_classify(schema) != AK_STRUCT) return lc_arrow_check_schema(schema, err, errlen);
  int top = lua_gettop(L);
  int rc = push_struct(L, schema, array, array->offset + row, err, errlen);
  if (rc) lua_settop(L, top);
  return rc;
}

/* ---- JSON lines into a batch ------------------------------------------------------- */

typedef struct json_rows {
  lc_connector *conn;
  const char *text;
  size_t len;
  int flags;     /* LC_JSON_* */
  lc_rows *rows; /* created inside the protected call, freed by the caller */
} json_rows;

/* Pushes a set of the schema's column names. */
static void push_column_set(lua_State *L, const lc_type *schema) {
  lua_createtable(L, 0, (int)schema->n_children);
  for (size_t i = 0; i < schema->n_children; i++) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, schema->children[i].name);
  }
}

/* The first key of the row on top that is not in the column set at columns_idx, as
 * a string, or NULL: a misspelt key would otherwise leave its column NULL. */
static const char *unknown_key(lua_State *L, int columns_idx) {
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, columns_idx);
    bool known = lua_type(L, -2) == LUA_TSTRING && lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!known) {
      /* A string key stays alive in the row table after the pop. */
      const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(a number)";
      lua_pop(L, 1);
      return key;
    }
  }
  return NULL;
}

/* Protected: decodes each non-blank line and appends it as a row. */
static int json_rows_protected(lua_State *L) {
  json_rows *j = lua_touserdata(L, 1);
  if (lc_rows_new(lc_connector_schema_type(j->conn), L, &j->rows) != LC_OK)
    return luaL_error(L, "out of memory creating a batch");
  const char *p = j->text, *end = j->text + j->len;
  int64_t line = 0, rows = 0;
  char err[512];
  push_column_set(L, j->conn->v.schema);
  int columns_idx = lua_gettop(L);
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    line++;
    const char *q = p;
    while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    if (q < stop) {
      if (lc_json_decode(L, p, (size_t)(stop - p), err, sizeof err) != LC_OK)
        return lc_state_raise(L, LC_ERR_VALUE, "line %lld: %s", (long long)line, err);
      /* The text decoded, so its first character says what it is ([] and {} both
       * decode to an empty table). */
      if (*q != '{')
        return lc_state_raise(L, LC_ERR_VALUE, "line %lld: expected a JSON object, got %s",
                              (long long)line,
                              *q == '['                ? "an array"
                              : *q == '"'              ? "a string"
                              : *q == 'n'              ? "null"
                              : *q == 't' || *q == 'f' ? "a boolean"
                                                       : "a number");
      const char *unknown = j->flags & LC_JSON_IGNORE_UNKNOWN ? NULL : unknown_key(L, columns_idx);
      if (unknown)
        return lc_state_raise(
            L, LC_ERR_VALUE,
            "line %lld: key '%s' is not a column (column names are case-sensitive)",
            (long long)line, unknown);
      if (lc_rows_append(j->rows, L, -1, ++rows, err, sizeof err) != LC_OK)
        return lc_state_raise(L, LC_ERR_VALUE, "line %lld: %s", (long long)line, err);
      lua_pop(L, 1);
    }
    p = stop + 1;
  }
  return 0;
}

int lc_connector_rows_from_json(lc_connector *conn, const char *jsonl, size_t len, int flags,
                                struct ArrowSchema *schema, struct ArrowArray *array) {
  if (!conn || (!jsonl && len) || !schema || !array) return LC_ERR_ARGUMENT;
  lc_error_clear(&conn->rt->error);
  if (!lc_connector_schema_type(conn))
    return lc_error_set(&conn->rt->error, LC_ERR_SCHEMA, "%s", LC_SCHEMA_UNKNOWN);
  json_rows j = {conn, jsonl ? jsonl : "", len, flags, NULL};
  int rc = lc_sandbox_protected(conn->v.st, json_rows_protected, &j);
  if (rc == LC_OK) rc = lc_builder_finish(lc_rows_builder(j.rows), schema, array);
  lc_rows_free(j.rows);
  return rc;
}
