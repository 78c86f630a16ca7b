/*
 * lc_records.c: a page of JSON records straight into the batch builder.
 *
 * json.page(text, path [, what]) wraps a page of an API; the read's emit(page)
 * appends the records it holds (the array at path; "" is the whole document). yajl
 * parses the text once, as events: each record's values are staged and appended in
 * C, with no Lua table per record, which is where a connector read spends most of
 * its time otherwise. Whatever the C path would not read exactly as the Lua path
 * does (a nested column, a value of another type, a record that is not an object,
 * a duplicate key, text yajl rejects) hands the rest of the page to the Lua path:
 * lua-cjson decodes the page and each remaining record goes through
 * lc_rows_append, which words any error. So no result depends on the path taken.
 *
 * A page may be shaped (json.page's fourth argument, {flatten = "attributes", rename =
 * {from = "to"}}): the fields of the record's object `flatten` join the record
 * (a key the record has already wins), then keys are renamed. The C path does it
 * while parsing; the Lua path (and json.shape) on the decoded record, the same way.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "connector/lc_connector.h"

#define LC_PAGE_MT "luaconn.page"
#define LC_PAGE_CHUNK 16384 /* bytes handed to yajl per call */

typedef enum page_mode { PAGE_FAST, PAGE_SLOW, PAGE_DONE } page_mode;

typedef struct page_column {
  const char *name; /* borrowed from the builder */
  size_t name_len;
  ptrdiff_t copied_at; /* where the staged text starts in scratch, -1 when it
                             * points into the page itself */
} page_column;

typedef struct lc_page {
  page_mode mode;
  const char *text; /* the page, kept alive by the userdata's env table */
  size_t len;
  size_t fed;         /* bytes handed to yajl so far */
  size_t chunk_base;  /* offset of the chunk yajl is parsing */
  yajl_handle parser; /* PAGE_FAST only; owned */
  char *what;         /* "GET <url>" for errors; owned */
  char *path;         /* the records path, its dots turned into NULs; owned */
  char **parts;       /* its parts, pointing into path; owned */
  size_t n_parts;
  /* where the events are */
  size_t depth;     /* containers open */
  size_t on_path;   /* containers 1..on_path are the maps along the path */
  bool key_on_path; /* the current key of map on_path is the next path part */
  bool in_records;
  bool records_seen;
  bool resuming;               /* the next '[' is the stand-in for the records array */
  bool paused;                 /* the batch filled up: parsing resumes after last_end */
  size_t span_start, span_end; /* the records array's bytes */
  size_t last_start, last_end; /* the last record the C path appended */
  /* the record being read */
  lc_rows *rows;    /* borrowed from the read that emits the page */
  lc_builder *b;    /* its builder */
  int64_t max_rows; /* the batch is full at max_rows rows or max_bytes bytes */
  size_t max_bytes;
  size_t n_columns;
  page_column *columns; /* owned */
  lc_scalar *staged;    /* the record's value per column; owned */
  int column;           /* column of the current key, -1 when none */
  char *scratch;        /* the record's texts; owned */
  size_t scratch_len, scratch_cap;
  bool out_of_memory;
  /* progress */
  int64_t count;      /* records appended */
  int64_t count_in_c; /* of which by the C path */
  int64_t slow_total; /* PAGE_SLOW: the records the Lua path holds */
  bool has_records;   /* the path leads to the records (known once done) */
  /* shaping (the table itself is kept in the env as "shape") */
  const char *flatten; /* the key whose object joins the record; NULL = none */
  size_t flatten_len;
  size_t n_renames;
  const char **rename_from, **rename_to; /* owned arrays of strings the shape keeps */
  bool flat_next;                        /* the record's current key is `flatten` */
  bool in_flat;                          /* inside the record's `flatten` object */
} lc_page;

static lc_page *page_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, LC_PAGE_MT); }

static void page_stop_parser(lc_page *p) {
  if (p->parser) yajl_free(p->parser);
  p->parser = NULL;
}

/* ---- staging one record ------------------------------------------------------------ */

static int stage(lc_page *p, lc_scalar_kind kind, const char *text, size_t len) {
  if (p->column < 0) return 1;
  p->staged[p->column] = (lc_scalar){.kind = kind, .text = text, .len = len};
  /* Most values lie in the page as they are; only those yajl unescaped or
   * buffered (across a chunk's end) live in its buffers and are copied. */
  if (!text || (text >= p->text && text + len <= p->text + p->len)) {
    p->columns[p->column].copied_at = -1;
    return 1;
  }
  if (p->scratch_len + len > p->scratch_cap) {
    size_t cap = p->scratch_cap ? p->scratch_cap : 256;
    while (cap < p->scratch_len + len) cap *= 2;
    char *grown = realloc(p->scratch, cap);
    if (!grown) {
      p->out_of_memory = true;
      return 0;
    }
    p->scratch = grown;
    p->scratch_cap = cap;
  }
  if (len) memcpy(p->scratch + p->scratch_len, text, len);
  p->columns[p->column].copied_at = (ptrdiff_t)p->scratch_len;
  p->scratch_len += len;
  return 1;
}

static void begin_record(lc_page *p) {
  /* copied_at too: an absent column must not point into scratch (calloc left 0). */
  for (size_t i = 0; i < p->n_columns; i++) {
    p->staged[i].kind = LC_SCALAR_ABSENT;
    p->columns[i].copied_at = -1;
  }
  p->scratch_len = 0;
  p->column = -1;
}

/* The row count exactly, the (approximate) byte size every 64 rows. */
static bool batch_full(const lc_builder *b, int64_t max_rows, size_t max_bytes) {
  int64_t rows = lc_builder_rows(b);
  return rows >= max_rows || ((rows & 63) == 0 && lc_builder_full(b, max_rows, max_bytes));
}

static size_t position(lc_page *p) { return p->chunk_base + yajl_get_bytes_consumed(p->parser); }

/* Appends the staged record; 0 stops parsing: the Lua path must take over, or the
 * batch is full (paused: parsing starts again after this record). */
static int end_record(lc_page *p) {
  for (size_t i = 0; i < p->n_columns; i++) {
    if (p->columns[i].copied_at >= 0) p->staged[i].text = p->scratch + p->columns[i].copied_at;
    if (p->staged[i].kind != LC_SCALAR_ABSENT) lc_rows_mark_seen(p->rows, i);
  }
  int rc = lc_builder_append_scalars(p->b, p->staged);
  if (rc == LC_ERR_NOMEM) p->out_of_memory = true;
  if (rc != LC_OK) return 0;
  p->count++;
  p->count_in_c++;
  p->last_end = position(p);
  if (!batch_full(p->b, p->max_rows, p->max_bytes)) return 1;
  p->paused = true;
  return 0;
}

/* ---- yajl events ------------------------------------------------------------------- */

/* A value begins (a scalar when !container). Returns 0 to stop parsing (the Lua
 * path takes over). */
static int value_begins(lc_page *p, bool container, bool is_array) {
  size_t records_depth = p->n_parts + 1;
  if (p->in_records) {
    bool field = p->depth == records_depth + 1 || (p->in_flat && p->depth == records_depth + 2);
    if (p->depth == records_depth) { /* an element of the records array */
      if (!container || is_array) return 0;
      begin_record(p);
      p->in_flat = p->flat_next = false;
      p->last_start = position(p) - 1;
    } else if (p->depth == records_depth + 1 && p->flat_next) {
      p->flat_next = false; /* its fields are the record's (an object) */
      p->in_flat = container && !is_array;
    } else if (field && container && p->column >= 0) {
      return 0; /* a nested value for a column */
    }
    if (container) p->depth++;
    return 1;
  }
  bool reached = p->on_path == p->depth && (p->depth == 0 || p->key_on_path);
  if (reached && p->depth == p->n_parts) {
    if (!is_array || p->records_seen) return 0;
    if (!p->resuming) {
      size_t at = position(p);
      if (at == 0 || p->text[at - 1] != '[') return 0;
      p->span_start = at - 1;
    }
    p->resuming = false;
    p->records_seen = p->in_records = true;
  } else if (reached && container && !is_array) {
    p->on_path = p->depth + 1;
    p->key_on_path = false;
  }
  if (container) p->depth++;
  return 1;
}

static int container_ends(lc_page *p) {
  size_t records_depth = p->n_parts + 1;
  if (p->in_records && p->in_flat && p->depth == records_depth + 2) {
    p->in_flat = false;
    p->column = -1;
    p->depth--;
    return 1;
  }
  if (p->in_records && p->depth == records_depth + 1) {
    p->depth--;
    return end_record(p);
  }
  if (p->in_records && p->depth == records_depth) {
    size_t at = position(p);
    if (at == 0 || p->text[at - 1] != ']') return 0;
    p->in_records = false;
    p->span_end = at;
  }
  if (p->on_path == p->depth && p->depth > 0) {
    p->on_path--;
    p->key_on_path = false;
  }
  p->depth--;
  return 1;
}

static bool in_record(const lc_page *p) {
  return p->in_records &&
         (p->depth == p->n_parts + 2 || (p->in_flat && p->depth == p->n_parts + 3));
}

static int on_null(void *ctx) {
  lc_page *p = ctx;
  if (!value_begins(p, false, false)) return 0;
  return in_record(p) ? stage(p, LC_SCALAR_NULL, NULL, 0) : 1;
}

static int on_boolean(void *ctx, int value) {
  lc_page *p = ctx;
  if (!value_begins(p, false, false)) return 0;
  return in_record(p) ? stage(p, value ? LC_SCALAR_TRUE : LC_SCALAR_FALSE, NULL, 0) : 1;
}

static int on_number(void *ctx, const char *text, size_t len) {
  lc_page *p = ctx;
  if (!value_begins(p, false, false)) return 0;
  return in_record(p) ? stage(p, LC_SCALAR_NUMBER, text, len) : 1;
}

static int on_string(void *ctx, const unsigned char *text, size_t len) {
  lc_page *p = ctx;
  if (!value_begins(p, false, false)) return 0;
  return in_record(p) ? stage(p, LC_SCALAR_STRING, (const char *)text, len) : 1;
}

static int on_start_map(void *ctx) { return value_begins(ctx, true, false); }
static int on_start_array(void *ctx) { return value_begins(ctx, true, true); }
static int on_end(void *ctx) { return container_ends(ctx); }

static int on_map_key(void *ctx, const unsigned char *key, size_t len) {
  lc_page *p = ctx;
  if (in_record(p)) {
    p->column = -1;
    if (p->flatten && !p->in_flat && len == p->flatten_len && memcmp(key, p->flatten, len) == 0) {
      p->flat_next = true;
      return 1;
    }
    for (size_t i = 0; i < p->n_renames; i++) {
      if (strlen(p->rename_from[i]) == len && memcmp(p->rename_from[i], key, len) == 0) {
        key = (const unsigned char *)p->rename_to[i];
        len = strlen(p->rename_to[i]);
        break;
      }
    }
    for (size_t i = 0; i < p->n_columns; i++) {
      if (p->columns[i].name_len == len && memcmp(p->columns[i].name, key, len) == 0) {
        /* lua-cjson keeps the last of duplicate keys; the Lua path does that. */
        if (p->staged[i].kind != LC_SCALAR_ABSENT) return 0;
        p->column = (int)i;
        break;
      }
    }
  } else if (!p->in_records && p->on_path == p->depth && p->depth > 0) {
    const char *part = p->parts[p->depth - 1];
    p->key_on_path = strlen(part) == len && memcmp(part, key, len) == 0;
  }
  return 1;
}

static const yajl_callbacks page_events = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* ---- the two paths ----------------------------------------------------------------- */

/* Decodes text with lua-cjson and pushes it; raises "<what>: response is not valid
 * JSON: ..." (http.get_json's words and code) when it is not. */
static void push_decoded(lua_State *L, lc_page *p, const char *text, size_t len) {
  char err[256];
  if (lc_json_decode(L, text, len, err, sizeof err) != LC_OK)
    lc_json_raise_invalid(L, p->what, err);
}

/* Sets field name of the page's env table (page at idx) to the value on top; pops it. */
static void page_keep(lua_State *L, int idx, const char *name) {
  lua_getfenv(L, idx);
  lua_insert(L, -2);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

/* The C path parsed the whole page: the document is what is left of it with the
 * records array emptied, decoded by lua-cjson like any other. */
static void finish_fast(lua_State *L, int idx, lc_page *p) {
  page_stop_parser(p);
  if (p->n_parts == 0) {
    lua_newtable(L);
  } else {
    lua_pushlstring(L, p->text, p->span_start);
    lua_pushliteral(L, "[]");
    lua_pushlstring(L, p->text + p->span_end, p->len - p->span_end);
    lua_concat(L, 3);
    size_t len;
    const char *rest = lua_tolstring(L, -1, &len);
    push_decoded(L, p, rest, len);
    lua_remove(L, -2);
  }
  page_keep(L, idx, "doc");
  p->has_records = true;
  p->mode = PAGE_DONE;
}

/* Hands the records after the first p->count to the Lua path. */
static void go_slow(lua_State *L, int idx, lc_page *p) {
  page_stop_parser(p);
  p->mode = PAGE_SLOW;
  push_decoded(L, p, p->text, p->len);
  lua_pushvalue(L, -1);
  page_keep(L, idx, "doc");
  for (size_t i = 0; i < p->n_parts && lua_istable(L, -1); i++) {
    lua_getfield(L, -1, p->parts[i]);
    lua_remove(L, -2);
  }
  p->has_records = lua_istable(L, -1);
  p->slow_total = p->has_records ? (int64_t)lua_objlen(L, -1) : 0;
  page_keep(L, idx, "records");
  if (!p->has_records) p->mode = PAGE_DONE;
}

/* lc_builder_append_scalars checks UTF-8 more strictly than yajl (overlong forms,
 * surrogates), so yajl need not check it too. */
static yajl_handle page_parser(lc_page *p) {
  yajl_handle parser = yajl_alloc(&page_events, NULL, p);
  if (parser) yajl_config(parser, yajl_dont_validate_strings, 1);
  return parser;
}

/* A parser that goes on with the records after p->last_end: it is given "[" for
 * the array it resumes, then the text after the record's comma; it stops at the
 * array's end (what follows was checked by the first parser and is decoded by
 * lua-cjson with the rest of the document). */
static bool resume(lc_page *p) {
  size_t at = p->last_end;
  while (at < p->len && p->text[at] && strchr(" \t\r\n", p->text[at])) at++;
  if (at < p->len && p->text[at] == ',') at++;
  p->paused = false;
  if (!(p->parser = page_parser(p))) return false;
  yajl_config(p->parser, yajl_allow_trailing_garbage, 1);
  p->fed = at;
  p->depth = p->on_path = p->n_parts;
  p->key_on_path = p->resuming = true;
  p->in_records = p->records_seen = false;
  p->chunk_base = 0;
  return yajl_parse(p->parser, (const unsigned char *)"[", 1) == yajl_status_ok;
}

/* Parses chunks until the page ends, the batch is full (end_record pauses), or the
 * Lua path must go on. */
static void fill_fast(lua_State *L, int idx, lc_page *p) {
  if (p->paused && !resume(p)) {
    if (!p->parser) luaL_error(L, "%s: out of memory reading a page of records", p->what);
    go_slow(L, idx, p);
    return;
  }
  while (p->mode == PAGE_FAST && !p->paused) {
    size_t n = p->len - p->fed < LC_PAGE_CHUNK ? p->len - p->fed : LC_PAGE_CHUNK;
    p->chunk_base = p->fed;
    yajl_status status = n ? yajl_parse(p->parser, (const unsigned char *)p->text + p->fed, n)
                           : yajl_complete_parse(p->parser);
    p->fed += n;
    if (p->out_of_memory) luaL_error(L, "%s: out of memory reading a page of records", p->what);
    if (p->paused)
      page_stop_parser(p);
    else if (status != yajl_status_ok || (n == 0 && !p->records_seen))
      go_slow(L, idx, p);
    else if (n == 0)
      finish_fast(L, idx, p);
  }
}

/* Shapes the decoded record at rec in place as the C path reads it: the fields of
 * its object at key `flatten` join it (its own keys win) and the key goes; then each
 * key `from` of the rename table moves to its `to`. shape: a table at that index. */
static void shape_record(lua_State *L, int rec, int shape) {
  if (!lua_istable(L, rec)) return;
  lua_getfield(L, shape, "flatten");
  if (lua_type(L, -1) == LUA_TSTRING) {
    int name = lua_gettop(L);
    lua_pushvalue(L, name);
    lua_rawget(L, rec);
    if (lua_istable(L, -1)) {
      int inner = lua_gettop(L);
      lua_pushnil(L);
      while (lua_next(L, inner)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
          lua_pushvalue(L, -2);
          lua_rawget(L, rec);
          bool taken = !lua_isnil(L, -1);
          lua_pop(L, 1);
          if (!taken) {
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_rawset(L, rec);
          }
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawset(L, rec); /* the key `flatten` goes, object or not */
  } else {
    lua_pop(L, 1);
  }
  lua_getfield(L, shape, "rename");
  if (lua_istable(L, -1)) {
    int renames = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, renames)) {
      lua_pushvalue(L, -2);
      lua_rawget(L, rec);
      if (!lua_isnil(L, -1)) {
        lua_rawset(L, rec); /* rec[to] = rec[from] */
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, rec); /* rec[from] = nil */
      } else {
        lua_pop(L, 2);
      }
    }
  }
  lua_pop(L, 1);
}

/* json.shape(record, shape): shapes a decoded record in place as a shaped json.page
 * does (for records a script decodes itself); returns it. */
static int shape_lua(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  shape_record(L, 1, 2);
  lua_settop(L, 1);
  return 1;
}

static void fill_slow(lua_State *L, int idx, lc_page *p, int64_t *rows) {
  lua_getfenv(L, idx);
  lua_getfield(L, -1, "records");
  int records = lua_gettop(L);
  lua_getfield(L, records - 1, "shape");
  int shape = lua_istable(L, -1) ? lua_gettop(L) : 0;
  char err[LC_ERRMSG_MAX];
  /* As emit(row) does: one record, then the check for a full batch. */
  while (p->count < p->slow_total && !lc_builder_full(p->b, p->max_rows, p->max_bytes)) {
    lua_rawgeti(L, records, (int)p->count + 1);
    if (shape) shape_record(L, lua_gettop(L), shape);
    if (lc_rows_append(p->rows, L, -1, *rows + 1, err, sizeof err) != LC_OK)
      lc_state_raise_final(L, LC_ERR_VALUE, err);
    lua_pop(L, 1);
    (*rows)++;
    p->count++;
  }
  lua_pop(L, 3);
  if (p->count == p->slow_total) p->mode = PAGE_DONE;
}

void lc_page_sample(lua_State *L, int idx, lc_infer *in) {
  lc_page *p = page_check(L, idx);
  if (p->mode == PAGE_DONE) return;
  go_slow(L, idx, p); /* decodes the page (its errors are emit's) for doc, count, last */
  if (p->flatten || p->n_renames) { /* shaped: the decoded records, shaped (keys sorted) */
    lua_getfenv(L, idx);
    lua_getfield(L, -1, "records");
    lua_getfield(L, -2, "shape");
    for (int64_t i = 1; i <= p->slow_total; i++) {
      lua_rawgeti(L, -2, (int)i);
      shape_record(L, lua_gettop(L), lua_gettop(L) - 1);
      lc_infer_lua(in, L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 3);
    p->count = p->slow_total;
    p->mode = PAGE_DONE;
    return;
  }
  yajl_val tree = yajl_tree_parse(p->text, NULL, 0);
  yajl_val records =
      tree && p->n_parts ? yajl_tree_get(tree, (const char **)p->parts, yajl_t_array) : tree;
  for (size_t i = 0; records && YAJL_IS_ARRAY(records) && i < records->u.array.len; i++)
    lc_infer_tree(in, records->u.array.values[i]);
  yajl_tree_free(tree);
  p->count = p->slow_total;
  p->mode = PAGE_DONE;
}

/* True when the escape at p (a backslash) is \uD800-\uDBFF (high) or \uDC00-\uDFFF. */
static bool surrogate_at(const char *p, const char *end, bool high) {
  return end - p >= 6 && p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') && p[3] &&
         strchr(high ? "89abAB" : "cdefCDEF", p[3]);
}

/* True when text holds a surrogate escape that is not a high one followed by a low
 * one: yajl turns such escapes into '?' or into another character, where lua-cjson
 * refuses them, so such pages take the Lua path. */
static bool has_broken_surrogate(const char *text, size_t len) {
  const char *end = text + len;
  for (const char *p = text; (p = memmem(p, (size_t)(end - p), "\\u", 2));) {
    if (surrogate_at(p, end, true) && surrogate_at(p + 6, end, false))
      p += 12;
    else if (surrogate_at(p, end, true) || surrogate_at(p, end, false))
      return true;
    else
      p += 2;
  }
  return false;
}

bool lc_page_is(lua_State *L, int idx) { return luaL_testudata(L, idx, LC_PAGE_MT) != NULL; }

void lc_page_fill(lua_State *L, int idx, lc_rows *r, int64_t *rows, int64_t max_rows,
                  size_t max_bytes) {
  lc_page *p = page_check(L, idx);
  lc_builder *b = lc_rows_builder(r);
  if (p->rows != r) {
    if (p->rows) luaL_error(L, "emit: this page was already given to another read");
    size_t n = p->n_columns = lc_builder_columns(b);
    p->staged = calloc(n ? n : 1, sizeof *p->staged);
    p->columns = calloc(n ? n : 1, sizeof *p->columns);
    if (!p->staged || !p->columns) luaL_error(L, "%s: out of memory", p->what);
    for (size_t i = 0; i < n; i++) {
      p->columns[i].name = lc_builder_column_name(b, i);
      p->columns[i].name_len = strlen(p->columns[i].name);
    }
    p->rows = r;
    p->b = b;
    /* Nested columns need Lua values: the whole page takes the Lua path. */
    if (!lc_builder_flat(b) || has_broken_surrogate(p->text, p->len)) go_slow(L, idx, p);
  }
  p->max_rows = max_rows;
  p->max_bytes = max_bytes;
  if (p->mode == PAGE_FAST) {
    int64_t before = p->count;
    fill_fast(L, idx, p);
    *rows += p->count - before;
  }
  if (p->mode == PAGE_SLOW) fill_slow(L, idx, p, rows);
}

/* ---- the Lua side ------------------------------------------------------------------ */

static int page_gc(lua_State *L) {
  lc_page *p = page_check(L, 1);
  page_stop_parser(p);
  free(p->path);
  free(p->parts);
  free(p->what);
  free(p->rename_from);
  free(p->rename_to);
  free(p->staged);
  free(p->columns);
  free(p->scratch);
  *p = (lc_page){.mode = PAGE_DONE};
  return 0;
}

static int page_done(lua_State *L) {
  lua_pushboolean(L, page_check(L, 1)->mode == PAGE_DONE);
  return 1;
}

/* Records emitted so far; once done, nil when the path led to no records. */
static int page_count(lua_State *L) {
  lc_page *p = page_check(L, 1);
  if (p->mode == PAGE_DONE && !p->has_records)
    lua_pushnil(L);
  else
    lua_pushnumber(L, (lua_Number)p->count);
  return 1;
}

/* Records the C path appended (the rest went through lc_rows_append): tests and
 * benchmarks check the fast path is taken. */
static int page_count_in_c(lua_State *L) {
  lua_pushnumber(L, (lua_Number)page_check(L, 1)->count_in_c);
  return 1;
}

/* The last record emitted, decoded (keyset pagination starts after it); nil when
 * none. */
static int page_last(lua_State *L) {
  lc_page *p = page_check(L, 1);
  if (p->count == 0) {
    lua_pushnil(L);
  } else if (p->count > p->count_in_c) { /* the Lua path holds the records */
    lua_getfenv(L, 1);
    lua_getfield(L, -1, "records");
    lua_rawgeti(L, -1, (int)p->count);
  } else {
    push_decoded(L, p, p->text + p->last_start, p->last_end - p->last_start);
  }
  return 1;
}

/* The decoded page (its records array emptied unless the Lua path read it); nil
 * until done. */
static int page_doc(lua_State *L) {
  lc_page *p = page_check(L, 1);
  if (p->mode != PAGE_DONE) {
    lua_pushnil(L);
    return 1;
  }
  lua_getfenv(L, 1);
  lua_getfield(L, -1, "doc");
  return 1;
}

/* Reads the shape table at idx ({flatten = "key", rename = {from = "to"}}) into p;
 * the env table (on top) keeps it, and so the strings p points to. */
static void page_read_shape(lua_State *L, lc_page *p, int idx) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushvalue(L, idx);
  lua_setfield(L, -2, "shape");
  lua_getfield(L, idx, "flatten");
  if (lua_type(L, -1) == LUA_TSTRING)
    p->flatten = lua_tolstring(L, -1, &p->flatten_len);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "json.page: shape.flatten must be a key (a string)");
  lua_pop(L, 1);
  lua_getfield(L, idx, "rename");
  if (lua_istable(L, -1)) {
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "json.page: shape.rename must map keys to new names (strings)");
      lua_pop(L, 1);
      n++;
    }
    p->rename_from = calloc(n ? n : 1, sizeof *p->rename_from);
    p->rename_to = calloc(n ? n : 1, sizeof *p->rename_to);
    if (!p->rename_from || !p->rename_to) luaL_error(L, "json.page: out of memory");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      p->rename_from[p->n_renames] = lua_tostring(L, -2);
      p->rename_to[p->n_renames++] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "json.page: shape.rename must be a table");
  }
  lua_pop(L, 1);
}

/* json.page(text, path [, what [, shape]]): path "a.b" names the records array ("" or
 * nil: the page itself); what names the page in errors ("GET <url>"); shape
 * ({flatten, rename}) shapes each record (see the top of this file). */
static int page_new(lua_State *L) {
  lua_settop(L, 4); /* the shape is argument 4 even when absent */
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *path = luaL_optstring(L, 2, "");
  const char *what = luaL_optstring(L, 3, "JSON page");
  lc_page *p = lua_newuserdata(L, sizeof *p);
  *p = (lc_page){.mode = PAGE_FAST, .text = text, .len = len, .column = -1};
  luaL_getmetatable(L, LC_PAGE_MT);
  lua_setmetatable(L, -2);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "text");
  page_read_shape(L, p, 4);
  lua_setfenv(L, -2);
  p->what = strdup(what);
  p->path = strdup(path);
  /* Never more parts than characters (one slot for ""); empty parts are skipped,
   * as paginate.field's "[^.]+" skips them. */
  p->parts = calloc(strlen(path) + 1, sizeof *p->parts);
  if (!p->what || !p->path || !p->parts) return luaL_error(L, "json.page: out of memory");
  char *state = NULL;
  for (char *part = strtok_r(p->path, ".", &state); part; part = strtok_r(NULL, ".", &state))
    p->parts[p->n_parts++] = part;
  if (len == 0) {
    /* An empty body holds no records (http.get_json decodes it as nil). */
    p->mode = PAGE_DONE;
    return 1;
  }
  p->parser = page_parser(p);
  if (!p->parser) return luaL_error(L, "json.page: out of memory");
  return 1;
}

static char page_takers_key; /* registry: weak-keyed set of functions taking pages */

/* Pushes the set of functions that take pages whole, creating it on first use. */
static void push_page_takers(lua_State *L) {
  lua_pushlightuserdata(L, &page_takers_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_isnil(L, -1)) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushlightuserdata(L, &page_takers_key);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void lc_records_accept_pages(lua_State *L, int idx) {
  idx = lc_absindex(L, idx);
  push_page_takers(L);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* json.accepts_pages(f): true when f is a read's emit, which takes pages whole. */
static int page_accepted_by(lua_State *L) {
  push_page_takers(L);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  lua_pushboolean(L, lua_toboolean(L, -1));
  return 1;
}

void lc_records_register(lua_State *L) {
  if (luaL_newmetatable(L, LC_PAGE_MT)) {
    static const luaL_Reg methods[] = {
        {"done", page_done}, {"count", page_count}, {"count_in_c", page_count_in_c},
        {"doc", page_doc},   {"last", page_last},   {NULL, NULL}};
    lua_pushcfunction(L, page_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "luaconn.page");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, page_new);
  lua_setfield(L, -2, "page");
  lua_pushcfunction(L, page_accepted_by);
  lua_setfield(L, -2, "accepts_pages");
  lua_pushcfunction(L, shape_lua);
  lua_setfield(L, -2, "shape");
}
