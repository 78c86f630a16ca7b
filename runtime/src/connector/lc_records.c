/*
 * lc_records.c: a page of JSON records straight into the batch builder.
 *
 * json.page(text, path [, what]) wraps a page of an API; the read's emit(page)
 * appends the records it holds (the array at path; "" is the whole document). yyjson
 * parses the text once into a document (strict JSON, valid UTF-8, numbers kept as
 * their text, its memory counted by the state's cap); each record's values are
 * staged as pointers into it and appended in C, with no allocation and no Lua table
 * per record, which is where a connector read spends most of its time otherwise.
 * Whatever the C path would not read exactly as the Lua path does (a nested column,
 * a value of another type, a record that is not an object, a duplicate key, text
 * yyjson rejects) hands the rest of the page to the Lua path:
 * json.decode's reader decodes the page and each remaining record goes through
 * lc_rows_append, which words any error. So no result depends on the path taken.
 *
 * A page may be shaped (json.page's fourth argument, {flatten = "attributes", rename =
 * {from = "to"}}): the fields of the record's object `flatten` join the record
 * (a key the record has already wins), then keys are renamed. The C path does it
 * while parsing; the Lua path (and json.shape) on the decoded record, the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

#define LC_PAGE_MT "luaconn.page"

typedef enum page_mode { PAGE_FAST, PAGE_SLOW, PAGE_DONE } page_mode;

typedef struct page_column {
  const char *name; /* borrowed from the builder */
  size_t name_len;
} page_column;

typedef struct lc_page {
  page_mode mode;
  const char *text; /* the page, kept alive by the userdata's env table */
  size_t len;
  yyjson_doc *doc; /* the parsed page, PAGE_FAST only; owned */
  yyjson_val *records;
  yyjson_arr_iter next; /* the records after the last one appended */
  yyjson_val *last;     /* the last record the C path appended */
  char *what;           /* "GET <url>" for errors; owned */
  char *path;           /* the records path, its dots turned into NULs; owned */
  char **parts;         /* its parts, pointing into path; owned */
  size_t n_parts;
  /* the record being read */
  lc_rows *rows;    /* borrowed from the read that emits the page */
  lc_builder *b;    /* its builder */
  int64_t max_rows; /* the batch is full at max_rows rows or max_bytes bytes */
  size_t max_bytes;
  size_t n_columns;
  page_column *columns; /* owned */
  lc_scalar *staged;    /* the record's value per column, pointing into doc; owned */
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
} lc_page;

static lc_page *page_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, LC_PAGE_MT); }

static void page_free_doc(lc_page *p) {
  if (p->doc) yyjson_doc_free(p->doc);
  p->doc = NULL;
  p->records = p->last = NULL;
}

/* ---- one record ----------------------------------------------------------------------- */

/* The batch's row count exactly, the (approximate) byte size every 64 rows. */
static bool batch_full(const lc_builder *b, int64_t max_rows, size_t max_bytes) {
  int64_t rows = lc_builder_rows(b);
  return rows >= max_rows || ((rows & 63) == 0 && lc_builder_full(b, max_rows, max_bytes));
}

static bool key_is(yyjson_val *key, const char *name, size_t len) {
  return yyjson_get_len(key) == len && memcmp(yyjson_get_str(key), name, len) == 0;
}

/* Stages the field key: value of a record; false when the Lua path must read the
 * record (a nested value for a column, or a column given twice: json.decode keeps the last). */
static bool stage_field(lc_page *p, yyjson_val *key, yyjson_val *value) {
  const char *name = yyjson_get_str(key);
  size_t len = yyjson_get_len(key);
  for (size_t i = 0; i < p->n_renames; i++) {
    if (key_is(key, p->rename_from[i], strlen(p->rename_from[i]))) {
      name = p->rename_to[i];
      len = strlen(name);
      break;
    }
  }
  for (size_t i = 0; i < p->n_columns; i++) {
    if (p->columns[i].name_len != len || memcmp(p->columns[i].name, name, len) != 0) continue;
    lc_scalar *s = &p->staged[i];
    if (s->kind != LC_SCALAR_ABSENT) return false;
    switch (yyjson_get_type(value)) {
    case YYJSON_TYPE_NULL: *s = (lc_scalar){.kind = LC_SCALAR_NULL}; break;
    case YYJSON_TYPE_BOOL:
      s->kind = yyjson_get_bool(value) ? LC_SCALAR_TRUE : LC_SCALAR_FALSE;
      break;
    case YYJSON_TYPE_RAW:
      *s = (lc_scalar){
          .kind = LC_SCALAR_NUMBER, .text = yyjson_get_raw(value), .len = yyjson_get_len(value)};
      break;
    case YYJSON_TYPE_STR:
      *s = (lc_scalar){
          .kind = LC_SCALAR_STRING, .text = yyjson_get_str(value), .len = yyjson_get_len(value)};
      break;
    default: return false;
    }
    return true;
  }
  return true;
}

/* Stages record rec (shaped); false when the Lua path must read it. */
static bool stage_record(lc_page *p, yyjson_val *rec) {
  if (!yyjson_is_obj(rec)) return false;
  for (size_t i = 0; i < p->n_columns; i++) p->staged[i].kind = LC_SCALAR_ABSENT;
  yyjson_obj_iter it = yyjson_obj_iter_with(rec);
  for (yyjson_val *key; (key = yyjson_obj_iter_next(&it));) {
    yyjson_val *value = yyjson_obj_iter_get_val(key);
    if (p->flatten && key_is(key, p->flatten, p->flatten_len)) {
      /* Its fields are the record's when it is an object; otherwise it is dropped. */
      yyjson_obj_iter inner = yyjson_obj_iter_with(value);
      for (yyjson_val *k; yyjson_is_obj(value) && (k = yyjson_obj_iter_next(&inner));)
        if (!stage_field(p, k, yyjson_obj_iter_get_val(k))) return false;
    } else if (!stage_field(p, key, value)) {
      return false;
    }
  }
  return true;
}

/* ---- the two paths ----------------------------------------------------------------- */

/* Decodes text with json.decode and pushes it; raises "<what>: response is not valid
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

/* Pushes v as json.decode would (the array skip as an empty table); a page nesting
 * deeper than json.decode reads is refused in its words. */
static void push_from_doc(lua_State *L, lc_page *p, yyjson_val *v, yyjson_val *skip) {
  if (lc_json_push_value(L, v, skip)) return;
  push_decoded(L, p, p->text, p->len); /* raises */
  luaL_error(L, "%s: a page nests too deeply", p->what);
}

/* Keeps the last record the C path appended, decoded (page:last()), and lets the
 * document go. */
static void page_release(lua_State *L, int idx, lc_page *p) {
  if (p->last) {
    push_from_doc(L, p, p->last, NULL);
    page_keep(L, idx, "last");
  }
  page_free_doc(p);
}

/* The C path read every record: the document is the page with its records array
 * emptied. */
static void finish_fast(lua_State *L, int idx, lc_page *p) {
  if (p->n_parts == 0)
    lua_newtable(L);
  else
    push_from_doc(L, p, yyjson_doc_get_root(p->doc), p->records);
  page_keep(L, idx, "doc");
  page_release(L, idx, p);
  p->has_records = true;
  p->mode = PAGE_DONE;
}

/* Hands the records after the first p->count to the Lua path. */
static void go_slow(lua_State *L, int idx, lc_page *p) {
  page_release(L, idx, p);
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

/* The member `name` of object o; NULL when o has none, or more than one (json.decode
 * keeps the last, the Lua path decides). */
static yyjson_val *only_member(yyjson_val *o, const char *name) {
  yyjson_val *found = NULL;
  yyjson_obj_iter it = yyjson_obj_iter_with(o);
  for (yyjson_val *key; (key = yyjson_obj_iter_next(&it));) {
    if (!key_is(key, name, strlen(name))) continue;
    if (found) return NULL;
    found = yyjson_obj_iter_get_val(key);
  }
  return found;
}

/* Parses the page (strict JSON, valid UTF-8, numbers kept as their text) and finds
 * its records array; false when it has none the C path can read (the Lua path
 * decodes the page and words any error). */
static bool page_parse(lua_State *L, lc_page *p) {
  if (p->doc) return p->records != NULL;
  yyjson_alc alc = lc_json_allocator(L);
  yyjson_read_err err;
  p->doc = yyjson_read_opts((char *)p->text, p->len, YYJSON_READ_NUMBER_AS_RAW, &alc, &err);
  if (!p->doc && err.code == YYJSON_READ_ERROR_MEMORY_ALLOCATION)
    luaL_error(L, "%s: out of memory reading a page of records", p->what);
  yyjson_val *v = p->doc ? yyjson_doc_get_root(p->doc) : NULL;
  for (size_t i = 0; v && i < p->n_parts; i++)
    v = yyjson_is_obj(v) ? only_member(v, p->parts[i]) : NULL;
  if (!yyjson_is_arr(v)) return false;
  p->records = v;
  p->next = yyjson_arr_iter_with(v);
  return true;
}

/* Appends records until the page ends, the batch is full, or a record needs the Lua
 * path. */
static void fill_fast(lua_State *L, int idx, lc_page *p) {
  if (!page_parse(L, p)) {
    go_slow(L, idx, p);
    return;
  }
  for (yyjson_val *rec; (rec = yyjson_arr_iter_next(&p->next));) {
    if (!stage_record(p, rec)) {
      go_slow(L, idx, p);
      return;
    }
    for (size_t i = 0; i < p->n_columns; i++)
      if (p->staged[i].kind != LC_SCALAR_ABSENT) lc_rows_mark_seen(p->rows, i);
    int rc = lc_builder_append_scalars(p->b, p->staged);
    if (rc == LC_ERR_NOMEM) luaL_error(L, "%s: out of memory reading a page of records", p->what);
    if (rc != LC_OK) { /* the Lua path words the error */
      go_slow(L, idx, p);
      return;
    }
    p->count++;
    p->count_in_c++;
    p->last = rec;
    if (batch_full(p->b, p->max_rows, p->max_bytes)) return;
  }
  finish_fast(L, idx, p);
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
  if (page_parse(L, p)) {
    yyjson_arr_iter it = yyjson_arr_iter_with(p->records);
    for (yyjson_val *rec; (rec = yyjson_arr_iter_next(&it));) lc_infer_tree(in, rec);
  }
  page_free_doc(p);
  p->count = p->slow_total;
  p->mode = PAGE_DONE;
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
    if (!lc_builder_flat(b)) go_slow(L, idx, p);
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
  page_free_doc(p);
  free(p->path);
  free(p->parts);
  free(p->what);
  free(p->rename_from);
  free(p->rename_to);
  free(p->staged);
  free(p->columns);
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
  } else if (p->doc) { /* a paused page */
    push_from_doc(L, p, p->last, NULL);
  } else {
    lua_getfenv(L, 1);
    lua_getfield(L, -1, "last");
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
  *p = (lc_page){.mode = PAGE_FAST, .text = text, .len = len};
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
