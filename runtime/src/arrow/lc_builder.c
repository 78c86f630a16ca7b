/*
 * lc_arrow.c: Lua rows <-> Arrow C Data Interface batches.
 *
 * Reads: lc_builder appends Lua row tables to typed column buffers (one column tree
 * mirroring the lc_type tree) and exports them as ArrowSchema/ArrowArray whose
 * release callbacks free everything. Conversions are strict: a value that does not
 * fit its column is an error naming column and row, never a silent cast.
 * Writes: lc_arrow_push_row turns one row of a (pyarrow-made) batch back into a Lua
 * table, honouring offsets and validity bitmaps at every level.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_internal.h"

#define LC_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHOWN_VALUE_MAX 40   /* bytes of a bad value quoted in an error */
#define MICROS_PER_DAY INT64_C(86400000000)

/* ---- growable buffers ---------------------------------------------------------- */

typedef struct lc_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} lc_buf;

static bool buf_grow(lc_buf *b, size_t extra) {
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *data = realloc(b->data, cap);
  if (!data) return false;
  b->data = data;
  b->cap = cap;
  return true;
}

static inline bool buf_reserve(lc_buf *b, size_t extra) {
  return LC_LIKELY(b->len + extra <= b->cap) || buf_grow(b, extra);
}

static inline bool buf_append(lc_buf *b, const void *src, size_t n) {
  if (!buf_reserve(b, n)) return false;
  if (n) memcpy(b->data + b->len, src, n);
  b->len += n;
  return true;
}

/* Appends bit number index (the bitmap holds exactly index bits so far). */
static inline bool bitmap_push(lc_buf *bm, int64_t index, bool bit) {
  if ((index & 7) == 0) {
    if (!buf_reserve(bm, 1)) return false;
    bm->data[bm->len++] = 0;
  }
  if (bit) bm->data[index >> 3] |= (uint8_t)(1u << (index & 7));
  return true;
}

static inline bool bitmap_get(const void *bm, int64_t index) {
  return (((const uint8_t *)bm)[index >> 3] >> (index & 7)) & 1;
}

/* ---- dates and times --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Reads n decimal digits at s; false if any is not a digit. */
static bool read_digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Parses "YYYY-MM-DD" at the start of s (len >= 10 checked by the caller).
 * Returns NULL or what is wrong. */
static const char *parse_date_prefix(const char *s, int64_t *days) {
  int y, m, d;
  if (!read_digits(s, 4, &y) || s[4] != '-' || !read_digits(s + 5, 2, &m) || s[7] != '-' ||
      !read_digits(s + 8, 2, &d))
    return "not YYYY-MM-DD";
  static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return "month out of range";
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d < 1 || d > month_days[m - 1] + (m == 2 && leap)) return "day out of range for the month";
  *days = days_from_civil(y, (unsigned)m, (unsigned)d);
  return NULL;
}

static const char *parse_date(const char *s, size_t len, int64_t *days) {
  if (len != 10) return "not YYYY-MM-DD";
  return parse_date_prefix(s, days);
}

/* Parses "YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|+HH:MM|+HHMM]" (no zone = UTC) into
 * microseconds since the epoch; digits past microseconds are truncated. */
static const char *parse_timestamp(const char *s, size_t len, int64_t *micros) {
  static const char *const shape = "not YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM]";
  int64_t days;
  if (len < 19) return shape;
  const char *problem = parse_date_prefix(s, &days);
  if (problem) return problem;
  int h, mi, sec;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !read_digits(s + 11, 2, &h) ||
      s[13] != ':' || !read_digits(s + 14, 2, &mi) || s[16] != ':' ||
      !read_digits(s + 17, 2, &sec))
    return shape;
  if (h > 23 || mi > 59 || sec > 59) return "time of day out of range";
  size_t i = 19;
  int64_t fraction_us = 0;
  if (i < len && s[i] == '.') {
    int digits = 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
      if (digits < 6) fraction_us = fraction_us * 10 + (s[i] - '0');
    if (digits == 0 || digits > 9) return "fraction must have 1 to 9 digits";
    for (; digits < 6; digits++) fraction_us *= 10;
  }
  int64_t offset_minutes = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    size_t rest = len - i - 1;
    const char *z = s + i + 1;
    if (!(rest == 5 && z[2] == ':' && read_digits(z, 2, &oh) && read_digits(z + 3, 2, &om)) &&
        !(rest == 4 && read_digits(z, 2, &oh) && read_digits(z + 2, 2, &om)))
      return "zone offset must be Z, +HH:MM or +HHMM";
    if (oh > 23 || om > 59) return "zone offset out of range";
    offset_minutes = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i = len;
  }
  if (i != len) return shape;
  int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
  *micros = seconds * 1000000 + fraction_us;
  return NULL;
}

void lc_format_date(int64_t days, char *out, size_t outlen) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(out, outlen, "%04lld-%02u-%02u", (long long)y, m, d);
}

void lc_format_timestamp(int64_t micros, char *out, size_t outlen) {
  int64_t days = floor_div(micros, MICROS_PER_DAY);
  int64_t in_day = micros - days * MICROS_PER_DAY;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int64_t secs = in_day / 1000000;
  snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02d.%06dZ", (long long)y, m, d,
           (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
           (int)(in_day % 1000000));
}

/* ---- UTF-8 ------------------------------------------------------------------------- */

/* Returns the offset of the first byte that is not valid UTF-8, or n. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t word;
      memcpy(&word, s + i, 8);
      if (!(word & UINT64_C(0x8080808080808080))) {
        i += 8;
        continue;
      }
    }
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    /* Lead byte: sequence length and the allowed range of the second byte, which
     * rules out overlong forms, surrogates and code points above U+10FFFF. */
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) need = 2, lo = 0xA0;
    else if (c == 0xED) need = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) need = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) need = 3, hi = 0x8F;
    else return i;
    if (i + need >= n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; k++)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    i += need + 1;
  }
  return n;
}

/* ---- describing values in errors ------------------------------------------------- */

/* Writes a short description of the Lua value at idx: 3.5, string "abc...", table. */
static void describe_value(lua_State *L, int idx, char *out, size_t outlen) {
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER: {
    double d = lua_tonumber(L, idx);
    if (isnan(d)) {   /* printf may say "-nan" */
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
    bool utf8 = utf8_valid_prefix(s, len) >= shown;
    while (utf8 && shown < len && shown > 0 && (s[shown] & 0xC0) == 0x80) shown--;
    size_t o = (size_t)snprintf(out, outlen, "string \"");
    for (size_t i = 0; i < shown && o + 8 < outlen; i++) {
      unsigned c = s[i];
      if (c == '"' || c == '\\') o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
      else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8))
        o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
      else out[o++] = (char)c;
    }
    snprintf(out + o, outlen - o, "\"%s", shown < len ? "..." : "");
    return;
  }
  case LUA_TNIL:
    snprintf(out, outlen, "null");
    return;
  default:
    snprintf(out, outlen, "%s", lua_typename(L, lua_type(L, idx)));
  }
}

static bool is_null(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  return t == LUA_TNIL || (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL);
}

/* ---- the builder's column tree ----------------------------------------------------- */

typedef struct column {
  const lc_type *type;
  const char *name;        /* field name, borrowed from the schema */
  bool nullable;
  int name_index;          /* where the interned name sits in the builder's name table */
  int64_t length;
  int64_t null_count;
  bool has_validity;       /* the validity bitmap exists once a null was appended */
  lc_buf validity;
  lc_buf values;           /* fixed-size values, BOOLEAN bits, or int32 offsets */
  lc_buf data;             /* STRING/BINARY bytes */
  size_t n_children;
  struct column *children; /* STRUCT fields; ARRAY element; MAP key and value */
} column;

struct lc_builder {
  const lc_type *schema;
  lua_State *L;
  int names_ref;           /* registry ref of a table: name_index -> column name string */
  bool ready;              /* false when starting a fresh batch ran out of memory */
  column root;             /* the STRUCT of all columns; its length is the row count */
};

static bool uses_offsets(lc_type_id id) {
  return id == LC_T_STRING || id == LC_T_BINARY || id == LC_T_ARRAY || id == LC_T_MAP;
}

static size_t value_width(lc_type_id id) {
  switch (id) {
  case LC_T_INT: case LC_T_FLOAT: case LC_T_DATE: return 4;
  case LC_T_BIGINT: case LC_T_DOUBLE: case LC_T_TIMESTAMP: return 8;
  default: return 0;
  }
}

/* Empties the column tree. The first offset (0) and a minimal values buffer are
 * written so exported buffers are never NULL. */
static bool column_reset(column *col) {
  col->length = 0;
  col->null_count = 0;
  col->has_validity = false;
  col->validity.len = col->values.len = col->data.len = 0;
  lc_type_id id = col->type->id;
  bool ok = (id == LC_T_STRUCT || buf_reserve(&col->values, 8)) &&
            ((id != LC_T_STRING && id != LC_T_BINARY) || buf_reserve(&col->data, 8));
  if (ok && uses_offsets(id)) {
    int32_t zero = 0;
    ok = buf_append(&col->values, &zero, sizeof zero);
  }
  for (size_t i = 0; i < col->n_children; i++) ok = column_reset(&col->children[i]) && ok;
  return ok;
}

static void column_free(column *col) {
  for (size_t i = 0; i < col->n_children; i++) column_free(&col->children[i]);
  free(col->children);
  free(col->validity.data);
  free(col->values.data);
  free(col->data.data);
}

/* Builds the column tree for type, interning each field name into the name table
 * on top of L's stack. */
static bool column_init(column *col, lua_State *L, int *n_names, const char *name,
                        const lc_type *type, bool nullable) {
  *col = (column){.type = type, .name = name, .nullable = nullable};
  col->name_index = ++*n_names;
  lua_pushstring(L, name);
  lua_rawseti(L, -2, col->name_index);
  if (type->n_children) {
    col->children = calloc(type->n_children, sizeof *col->children);
    if (!col->children) return false;
    col->n_children = type->n_children;
    for (size_t i = 0; i < type->n_children; i++) {
      const lc_field *f = &type->children[i];
      if (!column_init(&col->children[i], L, n_names, f->name, f->type, f->nullable))
        return false;
    }
  }
  return true;
}

static size_t column_bytes(const column *col) {
  size_t n = col->validity.len + col->values.len + col->data.len;
  for (size_t i = 0; i < col->n_children; i++) n += column_bytes(&col->children[i]);
  return n;
}

static inline bool push_offset(column *col, size_t end) {
  int32_t off = (int32_t)end;
  return buf_append(&col->values, &off, sizeof off);
}

static inline bool mark_valid(column *col) {
  if (col->has_validity && !bitmap_push(&col->validity, col->length, true)) return false;
  col->length++;
  return true;
}

static bool mark_null(column *col) {
  if (!col->has_validity) {
    /* First null: materialise the bitmap with every earlier row valid. */
    size_t full = (size_t)col->length / 8, bits = (size_t)col->length % 8;
    if (!buf_reserve(&col->validity, full + 2)) return false;
    memset(col->validity.data, 0xFF, full);
    if (bits) col->validity.data[full] = (uint8_t)((1u << bits) - 1);
    col->validity.len = full + (bits != 0);
    col->has_validity = true;
  }
  if (!bitmap_push(&col->validity, col->length, false)) return false;
  col->null_count++;
  col->length++;
  return true;
}

/* Writes the storage of one slot with no value in it (zero, empty string, empty
 * list, a STRUCT of such): what a null holds, and what a null STRUCT's fields hold. */
static bool write_empty_slot(column *col) {
  lc_type_id id = col->type->id;
  if (id == LC_T_BOOLEAN) return bitmap_push(&col->values, col->length, false);
  size_t width = value_width(id);
  if (width) {
    static const uint8_t zeros[8];
    return buf_append(&col->values, zeros, width);
  }
  if (uses_offsets(id)) {
    int32_t last;
    memcpy(&last, col->values.data + col->values.len - sizeof last, sizeof last);
    return buf_append(&col->values, &last, sizeof last);
  }
  for (size_t i = 0; i < col->n_children; i++)
    if (!write_empty_slot(&col->children[i]) || !mark_valid(&col->children[i])) return false;
  return true;
}

/* ---- appending Lua values ---------------------------------------------------------- */

/* Where a value sits, formatted only when an error needs it: "addr.city", "tags[3]". */
typedef enum path_kind { PATH_FIELD, PATH_INDEX, PATH_MAP_KEY } path_kind;
typedef struct value_path {
  const struct value_path *parent;
  path_kind kind;
  const char *name;        /* PATH_FIELD */
  int64_t index;           /* PATH_INDEX: 1-based; PATH_MAP_KEY: stack index of the key */
} value_path;

typedef struct append_ctx {
  lua_State *L;
  int names_idx;           /* stack index of the interned-name table */
  int64_t row;
  char *err;
  size_t errlen;
} append_ctx;

static size_t format_path(lua_State *L, const value_path *p, char *out, size_t outlen) {
  size_t o = p->parent ? format_path(L, p->parent, out, outlen) : 0;
  if (o >= outlen) return o;
  switch (p->kind) {
  case PATH_FIELD:
    o += (size_t)snprintf(out + o, outlen - o, "%s%s", p->parent ? "." : "", p->name);
    break;
  case PATH_INDEX:
    o += (size_t)snprintf(out + o, outlen - o, "[%lld]", (long long)p->index);
    break;
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
static int type_error(append_ctx *c, const column *col, int idx, const value_path *at,
                      const char *expected, const char *reason) {
  char got[SHOWN_VALUE_MAX + 32];
  describe_value(c->L, idx, got, sizeof got);
  return value_error(c, at, "expected %s, got %s%s%s%s", expected, got, reason ? " (" : "",
                     reason ? reason : "", reason ? ")" : "");
}

static int append_value(append_ctx *c, column *col, int idx, const value_path *at);

/* Appends the fields of the table at idx to the STRUCT column's children. */
static int append_fields(append_ctx *c, column *col, int idx, const value_path *parent) {
  lua_State *L = c->L;
  for (size_t i = 0; i < col->n_children; i++) {
    column *field = &col->children[i];
    value_path at = {.parent = parent, .kind = PATH_FIELD, .name = field->name};
    lua_rawgeti(L, c->names_idx, field->name_index);
    lua_rawget(L, idx);
    int rc = append_value(c, field, lua_gettop(L), &at);
    lua_pop(L, 1);
    if (rc) return rc;
  }
  return LC_OK;
}

/* ARRAY: a table whose keys are exactly 1..n. */
static int append_array(append_ctx *c, column *col, int idx, const value_path *at) {
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
      return value_error(c, at, "expected ARRAY (a sequence table), got a table with key %s",
                         key);
    }
    count++;
    lua_pop(L, 1);
  }
  if (count != n)
    return value_error(c, at, "expected ARRAY (a sequence table), got a table with holes");
  column *element = &col->children[0];
  for (size_t i = 1; i <= n; i++) {
    value_path elem_at = {.parent = at, .kind = PATH_INDEX, .index = (int64_t)i};
    lua_rawgeti(L, idx, (int)i);
    int rc = append_value(c, element, lua_gettop(L), &elem_at);
    lua_pop(L, 1);
    if (rc) return rc;
  }
  if (element->length > INT32_MAX)
    return value_error(c, at, "batch holds more than 2^31 array elements");
  return push_offset(col, (size_t)element->length) ? LC_OK : out_of_memory(c);
}

static int append_map(append_ctx *c, column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  column *keys = &col->children[0], *values = &col->children[1];
  value_path key_at = {.parent = at, .kind = PATH_FIELD, .name = "key"};
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int key_idx = lua_gettop(L) - 1;
    value_path value_at = {.parent = at, .kind = PATH_MAP_KEY, .index = key_idx};
    int rc = append_value(c, keys, key_idx, &key_at);
    if (!rc) rc = append_value(c, values, key_idx + 1, &value_at);
    lua_pop(L, 1);
    if (rc) {
      lua_pop(L, 1);
      return rc;
    }
  }
  if (keys->length > INT32_MAX) return value_error(c, at, "batch holds more than 2^31 map entries");
  return push_offset(col, (size_t)keys->length) ? LC_OK : out_of_memory(c);
}

static int append_bytes(append_ctx *c, column *col, int idx, const value_path *at) {
  size_t len;
  const char *s = lua_tolstring(c->L, idx, &len);
  if (col->type->id == LC_T_STRING) {
    size_t valid = utf8_valid_prefix((const unsigned char *)s, len);
    if (valid != len) {
      char reason[64];
      snprintf(reason, sizeof reason, "invalid UTF-8 at byte %zu", valid + 1);
      return type_error(c, col, idx, at, "STRING", reason);
    }
  }
  if (col->data.len + len > INT32_MAX)
    return value_error(c, at, "batch holds more than 2 GiB of %s data",
                       lc_type_name(col->type->id));
  if (!buf_append(&col->data, s, len) || !push_offset(col, col->data.len)) return out_of_memory(c);
  return LC_OK;
}

/* Checks that the number at idx is integral and within [lo, hi). */
static int integral_number(append_ctx *c, column *col, int idx, const value_path *at,
                           const char *expected, double lo, double hi, double *out) {
  if (lua_type(c->L, idx) != LUA_TNUMBER) return type_error(c, col, idx, at, expected, NULL);
  double d = lua_tonumber(c->L, idx);
  if (d != floor(d)) return type_error(c, col, idx, at, expected, NULL);
  if (d < lo || d >= hi) return type_error(c, col, idx, at, expected, "out of range");
  *out = d;
  return LC_OK;
}

static int append_scalar(append_ctx *c, column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  int t = lua_type(L, idx);
  lc_type_id id = col->type->id;
  union { int32_t i32; int64_t i64; float f; double d; } v;
  double num;
  int rc;
  switch (id) {
  case LC_T_BOOLEAN:
    if (t != LUA_TBOOLEAN) return type_error(c, col, idx, at, "BOOLEAN", NULL);
    return bitmap_push(&col->values, col->length, lua_toboolean(L, idx)) ? LC_OK
                                                                         : out_of_memory(c);
  case LC_T_INT:
    if ((rc = integral_number(c, col, idx, at, "INT", -2147483648.0, 2147483648.0, &num)))
      return rc;
    v.i32 = (int32_t)num;
    break;
  case LC_T_BIGINT:
    if ((rc = integral_number(c, col, idx, at, "BIGINT", -9223372036854775808.0,
                              9223372036854775808.0, &num)))
      return rc;
    v.i64 = (int64_t)num;
    break;
  case LC_T_FLOAT:
  case LC_T_DOUBLE:
    if (t != LUA_TNUMBER) return type_error(c, col, idx, at, lc_type_name(id), NULL);
    if (id == LC_T_FLOAT) v.f = (float)lua_tonumber(L, idx);
    else v.d = lua_tonumber(L, idx);
    break;
  case LC_T_DATE: {
    static const char *const expected = "DATE (\"YYYY-MM-DD\" or days since 1970-01-01)";
    if (t == LUA_TNUMBER) {
      if ((rc = integral_number(c, col, idx, at, expected, -2147483648.0, 2147483648.0, &num)))
        return rc;
      v.i32 = (int32_t)num;
    } else if (t == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      int64_t days;
      const char *problem = parse_date(s, len, &days);
      if (problem) return type_error(c, col, idx, at, expected, problem);
      v.i32 = (int32_t)days;
    } else {
      return type_error(c, col, idx, at, expected, NULL);
    }
    break;
  }
  case LC_T_TIMESTAMP: {
    static const char *const expected = "TIMESTAMP (ISO-8601 string or seconds since epoch)";
    if (t == LUA_TNUMBER) {
      double us = nearbyint(lua_tonumber(L, idx) * 1e6);
      if (!(us >= -9223372036854775808.0 && us < 9223372036854775808.0))
        return type_error(c, col, idx, at, expected, "out of range");
      v.i64 = (int64_t)us;
    } else if (t == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      const char *problem = parse_timestamp(s, len, &v.i64);
      if (problem) return type_error(c, col, idx, at, expected, problem);
    } else {
      return type_error(c, col, idx, at, expected, NULL);
    }
    break;
  }
  default:
    return type_error(c, col, idx, at, lc_type_name(id), "unsupported type");
  }
  return buf_append(&col->values, &v, value_width(id)) ? LC_OK : out_of_memory(c);
}

static int append_value(append_ctx *c, column *col, int idx, const value_path *at) {
  lua_State *L = c->L;
  if (is_null(L, idx)) {
    if (!col->nullable)
      return value_error(c, at, "expected %s, got null (the column is NOT NULL)",
                         lc_type_name(col->type->id));
    return write_empty_slot(col) && mark_null(col) ? LC_OK : out_of_memory(c);
  }
  int rc;
  switch (col->type->id) {
  case LC_T_STRING:
  case LC_T_BINARY:
    rc = lua_type(L, idx) == LUA_TSTRING
             ? append_bytes(c, col, idx, at)
             : type_error(c, col, idx, at, lc_type_name(col->type->id), NULL);
    break;
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
  default:
    rc = append_scalar(c, col, idx, at);
  }
  if (rc) return rc;
  return mark_valid(col) ? LC_OK : out_of_memory(c);
}

/* ---- builder API ------------------------------------------------------------------- */

int lc_builder_new(const lc_type *schema, lua_State *L, lc_builder **out) {
  *out = NULL;
  if (!schema || schema->id != LC_T_STRUCT) return LC_ERR_ARGUMENT;
  lc_builder *b = calloc(1, sizeof *b);
  if (!b) return LC_ERR_NOMEM;
  b->schema = schema;
  b->L = L;
  int n_names = 0;
  lua_createtable(L, (int)schema->n_children, 0);
  bool ok = column_init(&b->root, L, &n_names, "", schema, false);
  b->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  b->ready = ok && column_reset(&b->root);
  if (!b->ready) {
    lc_builder_free(b);
    return LC_ERR_NOMEM;
  }
  *out = b;
  return LC_OK;
}

void lc_builder_free(lc_builder *b) {
  if (!b) return;
  luaL_unref(b->L, LUA_REGISTRYINDEX, b->names_ref);
  column_free(&b->root);
  free(b);
}

int lc_builder_append(lc_builder *b, lua_State *L, int idx, int64_t row_number, char *err,
                      size_t errlen) {
  if (!b->ready && !(b->ready = column_reset(&b->root))) {
    snprintf(err, errlen, "out of memory starting a batch");
    return LC_ERR_NOMEM;
  }
  int top = lua_gettop(L);
  idx = lc_absindex(L, idx);
  append_ctx c = {.L = L, .names_idx = top + 1, .row = row_number, .err = err, .errlen = errlen};
  if (lua_type(L, idx) != LUA_TTABLE) {
    char got[SHOWN_VALUE_MAX + 32];
    describe_value(L, idx, got, sizeof got);
    snprintf(err, errlen, "row %lld: expected a table keyed by column name, got %s",
             (long long)row_number, got);
    b->ready = column_reset(&b->root);
    return LC_ERR_VALUE;
  }
  if (!lua_checkstack(L, 8)) return out_of_memory(&c);
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->names_ref);
  int rc = append_fields(&c, &b->root, idx, NULL);
  lua_settop(L, top);
  if (rc) {
    b->ready = column_reset(&b->root);
    return rc;
  }
  b->root.length++;
  return LC_OK;
}

/* ---- appending rows of JSON scalars (lc_records.c's path) ----------------------- */

static bool is_scalar_type(lc_type_id id) {
  return id != LC_T_ARRAY && id != LC_T_STRUCT && id != LC_T_MAP;
}

bool lc_builder_flat(const lc_builder *b) {
  for (size_t i = 0; i < b->root.n_children; i++)
    if (!is_scalar_type(b->root.children[i].type->id)) return false;
  return true;
}

size_t lc_builder_columns(const lc_builder *b) { return b->root.n_children; }

const char *lc_builder_column_name(const lc_builder *b, size_t i) {
  return b->root.children[i].name;
}

/* A JSON number's text as a double the way lua-cjson reads it (strtod), or false
 * when it is too long to be a plain number. */
static bool json_number(const lc_scalar *v, double *out) {
  char text[64];
  if (v->len >= sizeof text) return false;
  memcpy(text, v->text, v->len);
  text[v->len] = '\0';
  *out = strtod(text, NULL);
  return true;
}

/* An integral JSON number within [lo, hi): digits-only text converts exactly (so
 * BIGINT ids above 2^53 keep every digit); other forms (1.0, 1e3) as a double,
 * integral as the Lua path requires. */
static bool json_integer(const lc_scalar *v, int64_t lo, int64_t hi_inclusive, int64_t *out) {
  const char *s = v->text, *end = v->text + v->len;
  bool digits = v->len > 0 && v->len < 19 + (s[0] == '-');
  for (const char *q = s + (s[0] == '-'); digits && q < end; q++) digits = *q >= '0' && *q <= '9';
  if (digits) {
    int64_t n = 0;
    for (const char *q = s + (s[0] == '-'); q < end; q++) n = n * 10 + (*q - '0');
    n = s[0] == '-' ? -n : n;
    if (n < lo || n > hi_inclusive) return false;
    *out = n;
    return true;
  }
  double d;
  if (!json_number(v, &d) || d != floor(d) || d < (double)lo || d >= -(double)lo) return false;
  *out = (int64_t)d;
  return true;
}

/* Converts one JSON scalar for column col into *out; false when the Lua path would
 * reject it (or reads it differently), so the caller hands the record to that path. */
static bool convert_scalar(const column *col, const lc_scalar *v, void *out) {
  union { int32_t i32; int64_t i64; float f; double d; } *o = out;
  int64_t n;
  double d;
  switch (col->type->id) {
  case LC_T_BOOLEAN:
    return v->kind == LC_SCALAR_TRUE || v->kind == LC_SCALAR_FALSE;
  case LC_T_INT:
    if (v->kind != LC_SCALAR_NUMBER || !json_integer(v, INT32_MIN, INT32_MAX, &n)) return false;
    o->i32 = (int32_t)n;
    return true;
  case LC_T_BIGINT:
    if (v->kind != LC_SCALAR_NUMBER || !json_integer(v, INT64_MIN, INT64_MAX, &n)) return false;
    o->i64 = n;
    return true;
  case LC_T_FLOAT:
  case LC_T_DOUBLE:
    if (v->kind != LC_SCALAR_NUMBER || !json_number(v, &d)) return false;
    if (col->type->id == LC_T_FLOAT) o->f = (float)d;
    else o->d = d;
    return true;
  case LC_T_STRING:
    if (v->kind == LC_SCALAR_STRING &&
        utf8_valid_prefix((const unsigned char *)v->text, v->len) != v->len)
      return false;
    /* fall through */
  case LC_T_BINARY:
    return v->kind == LC_SCALAR_STRING && col->data.len + v->len <= INT32_MAX;
  case LC_T_DATE:
    if (v->kind == LC_SCALAR_STRING) {
      int64_t days;
      if (parse_date(v->text, v->len, &days)) return false;
      o->i32 = (int32_t)days;
      return true;
    }
    if (v->kind != LC_SCALAR_NUMBER || !json_integer(v, INT32_MIN, INT32_MAX, &n)) return false;
    o->i32 = (int32_t)n;
    return true;
  case LC_T_TIMESTAMP:
    if (v->kind == LC_SCALAR_STRING) return !parse_timestamp(v->text, v->len, &o->i64);
    if (v->kind != LC_SCALAR_NUMBER || !json_number(v, &d)) return false;
    d = nearbyint(d * 1e6);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
    o->i64 = (int64_t)d;
    return true;
  default:
    return false;
  }
}

int lc_builder_append_scalars(lc_builder *b, const lc_scalar *values) {
  if (!b->ready && !(b->ready = column_reset(&b->root))) return LC_ERR_NOMEM;
  size_t n = b->root.n_children;
  uint64_t converted[n ? n : 1];
  /* Everything is checked before anything is appended: a record either goes in
   * whole or is left, untouched, to the Lua path. */
  for (size_t i = 0; i < n; i++) {
    const column *col = &b->root.children[i];
    bool missing = values[i].kind == LC_SCALAR_ABSENT || values[i].kind == LC_SCALAR_NULL;
    if (missing ? !col->nullable : !convert_scalar(col, &values[i], &converted[i]))
      return LC_ERR_VALUE;
  }
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    column *col = &b->root.children[i];
    const lc_scalar *v = &values[i];
    lc_type_id id = col->type->id;
    if (v->kind == LC_SCALAR_ABSENT || v->kind == LC_SCALAR_NULL) {
      ok = write_empty_slot(col) && mark_null(col);
      continue;
    }
    if (id == LC_T_BOOLEAN)
      ok = bitmap_push(&col->values, col->length, v->kind == LC_SCALAR_TRUE);
    else if (id == LC_T_STRING || id == LC_T_BINARY)
      ok = buf_append(&col->data, v->text, v->len) && push_offset(col, col->data.len);
    else
      ok = buf_append(&col->values, &converted[i], value_width(id));
    ok = ok && mark_valid(col);
  }
  if (!ok) {
    b->ready = column_reset(&b->root);
    return LC_ERR_NOMEM;
  }
  b->root.length++;
  return LC_OK;
}

int64_t lc_builder_rows(const lc_builder *b) { return b->root.length; }

size_t lc_builder_bytes(const lc_builder *b) { return column_bytes(&b->root); }

void lc_builder_clear(lc_builder *b) { b->ready = column_reset(&b->root); }

bool lc_builder_full(const lc_builder *b, int64_t max_rows, size_t max_bytes) {
  return b->root.length >= max_rows || lc_builder_bytes(b) >= max_bytes;
}


/* ---- export: ArrowSchema ----------------------------------------------------------- */

/* private_data of every ArrowSchema we export. */
typedef struct exported_schema {
  char *name;
  struct ArrowSchema **children;
  struct ArrowSchema *child_structs;
} exported_schema;

static void release_schema(struct ArrowSchema *s) {
  if (!s->release) return;
  for (int64_t i = 0; i < s->n_children; i++)
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
  exported_schema *ex = s->private_data;
  free(ex->name);
  free(ex->children);
  free(ex->child_structs);
  free(ex);
  s->release = NULL;
}

static const char *arrow_format(lc_type_id id) {
  static const char *const formats[] = {
    [LC_T_BOOLEAN] = "b", [LC_T_INT] = "i", [LC_T_BIGINT] = "l", [LC_T_FLOAT] = "f",
    [LC_T_DOUBLE] = "g", [LC_T_STRING] = "u", [LC_T_BINARY] = "z", [LC_T_DATE] = "tdD",
    [LC_T_TIMESTAMP] = "tsu:UTC", [LC_T_ARRAY] = "+l", [LC_T_STRUCT] = "+s", [LC_T_MAP] = "+m",
  };
  return formats[id];
}

/* Fills *out with a schema node of n_children empty children. On failure *out is
 * left released (release == NULL) and false is returned. */
static bool schema_node(struct ArrowSchema *out, const char *format, const char *name,
                        bool nullable, size_t n_children) {
  memset(out, 0, sizeof *out);
  exported_schema *ex = calloc(1, sizeof *ex);
  if (!ex) return false;
  ex->name = strdup(name);
  ex->children = calloc(n_children ? n_children : 1, sizeof *ex->children);
  ex->child_structs = calloc(n_children ? n_children : 1, sizeof *ex->child_structs);
  if (!ex->name || !ex->children || !ex->child_structs) {
    free(ex->name);
    free(ex->children);
    free(ex->child_structs);
    free(ex);
    return false;
  }
  for (size_t i = 0; i < n_children; i++) ex->children[i] = &ex->child_structs[i];
  *out = (struct ArrowSchema){
    .format = format, .name = ex->name, .flags = nullable ? ARROW_FLAG_NULLABLE : 0,
    .n_children = 0, .children = ex->children, .release = release_schema, .private_data = ex,
  };
  return true;
}

/* Children are counted in n_children as they are filled, so releasing a half-built
 * tree frees exactly what exists. */
static bool export_schema(struct ArrowSchema *out, const char *name, const lc_type *type,
                          bool nullable) {
  if (type->id == LC_T_MAP) {
    if (!schema_node(out, "+m", name, nullable, 1)) return false;
    struct ArrowSchema *entries = out->children[0];
    if (!schema_node(entries, "+s", "entries", false, 2)) return false;
    out->n_children = 1;
    for (size_t i = 0; i < 2; i++) {
      const lc_field *f = &type->children[i];
      if (!export_schema(entries->children[i], f->name, f->type, f->nullable)) return false;
      entries->n_children++;
    }
    return true;
  }
  if (!schema_node(out, arrow_format(type->id), name, nullable, type->n_children)) return false;
  for (size_t i = 0; i < type->n_children; i++) {
    const lc_field *f = &type->children[i];
    if (!export_schema(out->children[i], f->name, f->type, f->nullable)) return false;
    out->n_children++;
  }
  return true;
}

/* ---- export: ArrowArray ------------------------------------------------------------ */

typedef struct exported_array {
  const void *buffers[3];
  struct ArrowArray **children;
  struct ArrowArray *child_structs;
} exported_array;

static void release_array(struct ArrowArray *a) {
  if (!a->release) return;
  for (int64_t i = 0; i < a->n_children; i++)
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
  exported_array *ex = a->private_data;
  for (int i = 0; i < 3; i++) free((void *)ex->buffers[i]);
  free(ex->children);
  free(ex->child_structs);
  free(ex);
  a->release = NULL;
}

static bool array_node(struct ArrowArray *out, int64_t length, int64_t null_count,
                       int64_t n_buffers, size_t n_children) {
  memset(out, 0, sizeof *out);
  exported_array *ex = calloc(1, sizeof *ex);
  if (!ex) return false;
  ex->children = calloc(n_children ? n_children : 1, sizeof *ex->children);
  ex->child_structs = calloc(n_children ? n_children : 1, sizeof *ex->child_structs);
  if (!ex->children || !ex->child_structs) {
    free(ex->children);
    free(ex->child_structs);
    free(ex);
    return false;
  }
  for (size_t i = 0; i < n_children; i++) ex->children[i] = &ex->child_structs[i];
  *out = (struct ArrowArray){
    .length = length, .null_count = null_count, .n_buffers = n_buffers, .n_children = 0,
    .buffers = ex->buffers, .children = ex->children, .release = release_array,
    .private_data = ex,
  };
  return true;
}

/* Hands buf's memory over (to an exported array) and leaves buf empty. */
static void *take_buffer(lc_buf *buf) {
  void *data = buf->data;
  *buf = (lc_buf){0};
  return data;
}

/* Builds the ArrowArray nodes of col's tree; buffers are attached afterwards by
 * move_buffers, so a failure here leaves the builder's rows untouched. */
static bool export_array_nodes(struct ArrowArray *out, const column *col) {
  lc_type_id id = col->type->id;
  int64_t n_buffers = id == LC_T_STRUCT ? 1 : (id == LC_T_STRING || id == LC_T_BINARY) ? 3 : 2;
  if (id == LC_T_MAP) {
    if (!array_node(out, col->length, col->null_count, 2, 1)) return false;
    struct ArrowArray *entries = out->children[0];
    if (!array_node(entries, col->children[0].length, 0, 1, 2)) return false;
    out->n_children = 1;
    for (size_t i = 0; i < 2; i++) {
      if (!export_array_nodes(entries->children[i], &col->children[i])) return false;
      entries->n_children++;
    }
    return true;
  }
  if (!array_node(out, col->length, col->null_count, n_buffers, col->n_children)) return false;
  for (size_t i = 0; i < col->n_children; i++) {
    if (!export_array_nodes(out->children[i], &col->children[i])) return false;
    out->n_children++;
  }
  return true;
}

static void move_buffers(struct ArrowArray *out, column *col) {
  exported_array *ex = out->private_data;
  lc_type_id id = col->type->id;
  /* The bitmap exists only once a null was appended, so it travels only with nulls. */
  if (col->has_validity) ex->buffers[0] = take_buffer(&col->validity);
  if (id == LC_T_STRING || id == LC_T_BINARY) {
    ex->buffers[1] = take_buffer(&col->values);
    ex->buffers[2] = take_buffer(&col->data);
  } else if (id != LC_T_STRUCT) {
    ex->buffers[1] = take_buffer(&col->values);
  }
  if (id == LC_T_MAP) {
    struct ArrowArray *entries = out->children[0];
    for (size_t i = 0; i < 2; i++) move_buffers(entries->children[i], &col->children[i]);
    return;
  }
  for (size_t i = 0; i < col->n_children; i++) move_buffers(out->children[i], &col->children[i]);
}

int lc_builder_finish(lc_builder *b, struct ArrowSchema *schema, struct ArrowArray *array) {
  if (!b->ready && !(b->ready = column_reset(&b->root))) return LC_ERR_NOMEM;
  if (!export_schema(schema, "", b->schema, false)) {
    release_schema(schema);
    return LC_ERR_NOMEM;
  }
  if (!export_array_nodes(array, &b->root)) {
    release_array(array);
    release_schema(schema);
    return LC_ERR_NOMEM;
  }
  move_buffers(array, &b->root);
  /* A failed reset is retried by the next append or finish. */
  b->ready = column_reset(&b->root);
  return LC_OK;
}

/* ---- reading pyarrow batches ------------------------------------------------------- */


lc_arrow_kind lc_arrow_classify(const struct ArrowSchema *s) {
  static const struct { const char *format; lc_arrow_kind kind; } exact[] = {
    {"b", AK_BOOL}, {"c", AK_INT8}, {"s", AK_INT16}, {"i", AK_INT32}, {"l", AK_INT64},
    {"f", AK_FLOAT}, {"g", AK_DOUBLE}, {"u", AK_STRING}, {"U", AK_LARGE_STRING},
    {"z", AK_BINARY}, {"Z", AK_LARGE_BINARY}, {"tdD", AK_DATE32}, {"tdm", AK_DATE64},
    {"+l", AK_LIST}, {"+L", AK_LARGE_LIST}, {"+s", AK_STRUCT}, {"+m", AK_MAP},
  };
  const char *f = s->format;
  if (!f || s->dictionary) return AK_UNSUPPORTED;
  if (f[0] == 't' && f[1] == 's' && strchr("smun", f[2]) && f[2] && f[3] == ':')
    return AK_TIMESTAMP;
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strcmp(f, exact[i].format) == 0) return exact[i].kind;
  return AK_UNSUPPORTED;
}

static int check_field(const struct ArrowSchema *s, const char *path, char *err, size_t errlen) {
  lc_arrow_kind kind = lc_arrow_classify(s);
  int64_t want_children = kind == AK_LIST || kind == AK_LARGE_LIST || kind == AK_MAP ? 1 : 0;
  if (kind == AK_UNSUPPORTED || (kind != AK_STRUCT && s->n_children != want_children)) {
    snprintf(err, errlen, "column '%s': unsupported Arrow type '%s'%s", path,
             s->format ? s->format : "(none)", s->dictionary ? " (dictionary-encoded)" : "");
    return LC_ERR_SCHEMA;
  }
  if (kind == AK_MAP && (lc_arrow_classify(s->children[0]) != AK_STRUCT ||
                         s->children[0]->n_children != 2)) {
    snprintf(err, errlen, "column '%s': map entries are not a struct of key and value", path);
    return LC_ERR_SCHEMA;
  }
  for (int64_t i = 0; i < s->n_children; i++) {
    const struct ArrowSchema *child = s->children[i];
    char child_path[512];
    if (kind == AK_STRUCT)
      snprintf(child_path, sizeof child_path, "%s%s%s", path, *path ? "." : "",
               child->name ? child->name : "");
    else
      snprintf(child_path, sizeof child_path, "%s[]", path);
    /* A map's entries struct is checked through its key and value. */
    int rc = kind == AK_MAP ? check_field(child->children[0], child_path, err, errlen) ||
                                  check_field(child->children[1], child_path, err, errlen)
                            : check_field(child, child_path, err, errlen);
    if (rc) return LC_ERR_SCHEMA;
  }
  return LC_OK;
}

int lc_arrow_check_schema(const struct ArrowSchema *schema, char *err, size_t errlen) {
  if (!schema || lc_arrow_classify(schema) != AK_STRUCT) {
    snprintf(err, errlen, "a batch must be a struct of columns, got Arrow type '%s'",
             schema && schema->format ? schema->format : "(none)");
    return LC_ERR_SCHEMA;
  }
  return check_field(schema, "", err, errlen);
}

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

static void offsets_at(const struct ArrowArray *a, int64_t j, bool large, int64_t *start,
                       int64_t *end) {
  if (large) {
    const int64_t *o = a->buffers[1];
    *start = o[j];
    *end = o[j + 1];
  } else {
    const int32_t *o = a->buffers[1];
    *start = o[j];
    *end = o[j + 1];
  }
}

/* Pushes the value at logical index `index` of array a (a->offset is added here). */
static int push_value(lua_State *L, const struct ArrowSchema *s, const struct ArrowArray *a,
                      int64_t index, char *err, size_t errlen) {
  if (!lua_checkstack(L, 4)) {
    snprintf(err, errlen, "column '%s': values nested too deeply", s->name);
    return LC_ERR_VALUE;
  }
  int64_t j = a->offset + index;
  if (a->n_buffers > 0 && a->buffers[0] && a->null_count != 0 && !bitmap_get(a->buffers[0], j)) {
    lua_pushlightuserdata(L, NULL);
    return LC_OK;
  }
  const void *values = a->n_buffers > 1 ? a->buffers[1] : NULL;
  char text[48];
  int64_t start, end;
  lc_arrow_kind kind = lc_arrow_classify(s);
  switch (kind) {
  case AK_BOOL: lua_pushboolean(L, bitmap_get(values, j)); break;
  case AK_INT8: lua_pushnumber(L, ((const int8_t *)values)[j]); break;
  case AK_INT16: lua_pushnumber(L, ((const int16_t *)values)[j]); break;
  case AK_INT32: lua_pushnumber(L, ((const int32_t *)values)[j]); break;
  case AK_INT64: lua_pushnumber(L, (lua_Number)((const int64_t *)values)[j]); break;
  case AK_FLOAT: lua_pushnumber(L, ((const float *)values)[j]); break;
  case AK_DOUBLE: lua_pushnumber(L, ((const double *)values)[j]); break;
  case AK_STRING: case AK_BINARY: case AK_LARGE_STRING: case AK_LARGE_BINARY:
    offsets_at(a, j, kind == AK_LARGE_STRING || kind == AK_LARGE_BINARY, &start, &end);
    lua_pushlstring(L, (const char *)a->buffers[2] + start, (size_t)(end - start));
    break;
  case AK_DATE32:
    lc_format_date(((const int32_t *)values)[j], text, sizeof text);
    lua_pushstring(L, text);
    break;
  case AK_DATE64:
    lc_format_date(floor_div(((const int64_t *)values)[j], 86400000), text, sizeof text);
    lua_pushstring(L, text);
    break;
  case AK_TIMESTAMP: {
    int64_t v = ((const int64_t *)values)[j], micros;
    char unit = s->format[2];
    bool overflow = false;
    if (unit == 's') overflow = __builtin_mul_overflow(v, INT64_C(1000000), &micros);
    else if (unit == 'm') overflow = __builtin_mul_overflow(v, INT64_C(1000), &micros);
    else if (unit == 'n') micros = floor_div(v, 1000);
    else micros = v;
    if (overflow) {
      snprintf(err, errlen, "column '%s': timestamp %lld%c out of range", s->name,
               (long long)v, unit);
      return LC_ERR_VALUE;
    }
    lc_format_timestamp(micros, text, sizeof text);
    lua_pushstring(L, text);
    break;
  }
  case AK_LIST: case AK_LARGE_LIST:
    offsets_at(a, j, kind == AK_LARGE_LIST, &start, &end);
    lua_createtable(L, (int)(end - start), 0);
    for (int64_t k = start; k < end; k++) {
      int rc = push_value(L, s->children[0], a->children[0], k, err, errlen);
      if (rc) return rc;
      lua_rawseti(L, -2, (int)(k - start + 1));
    }
    break;
  case AK_STRUCT:
    return push_struct(L, s, a, j, err, errlen);
  case AK_MAP: {
    const struct ArrowSchema *es = s->children[0];
    const struct ArrowArray *entries = a->children[0];
    offsets_at(a, j, false, &start, &end);
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

int lc_arrow_push_row(lua_State *L, const struct ArrowSchema *schema,
                      const struct ArrowArray *array, int64_t row, char *err, size_t errlen) {
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
