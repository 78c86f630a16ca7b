/* lc_codec.c: JSON text <-> Lua values on yyjson, for the runtime's C code and the
 * json host module.
 *
 * Decoding reads strict JSON (no hex, NaN, Infinity, comments or trailing commas)
 * into a yyjson document and builds the Lua value from it: numbers are read from their
 * text by strtod (as the page path does), null is json.null, objects keep the last of
 * duplicate keys, at most LC_JSON_MAX_DEPTH levels.
 *
 * Encoding first measures the text (one walk: a table containing itself, nesting and
 * the bytes the memory limit leaves are refused before anything is built), then builds
 * a yyjson document over the Lua values (strings borrowed, not copied) and lets yyjson
 * write it. Numbers print as lc_json_number_text: 14 significant digits, or the
 * shortest text that reads back as the same double. A table is an array when its keys
 * are exactly the integers 1..n, allowing holes (null) unless it is excessively
 * sparse, which makes it an object, as does being empty.
 *
 * Both sides take their memory from the state's capped allocator.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/lc_vm.h"

/* Nesting beyond this is refused both ways. */
#define LC_JSON_MAX_DEPTH 1000
/* A table whose largest index is above both of these (and twice its entries) is
 * "excessively sparse" and written as an object, as lua-cjson did. */
#define LC_JSON_SPARSE_SAFE 10
#define LC_JSON_SPARSE_RATIO 2
/* yyjson's free does not pass a block's size; the Lua allocator needs it: each
 * block carries it in a header this large (keeping the block aligned). */
#define LC_JSON_BLOCK_HEADER 16

static char lc_json_slot_key; /* registry: carries values in and out of lua_cpcall */

/* ---- yyjson's memory from the state's allocator ----------------------------------------- */

static void *lc_json_block_resize(void *ctx, void *ptr, size_t old_size, size_t size) {
  lc_state *st = ctx;
  void *ud;
  lua_Alloc alloc = lua_getallocf(st->L, &ud);
  char *block = ptr ? (char *)ptr - LC_JSON_BLOCK_HEADER : NULL;
  size_t old = block ? *(size_t *)block : 0;
  if (size == 0) {
    alloc(ud, block, old, 0);
    return NULL;
  }
  char *grown = alloc(ud, block, old, size + LC_JSON_BLOCK_HEADER);
  if (!grown) return NULL;
  *(size_t *)grown = size + LC_JSON_BLOCK_HEADER;
  return grown + LC_JSON_BLOCK_HEADER;
}

static void *lc_json_block_new(void *ctx, size_t size) {
  return lc_json_block_resize(ctx, NULL, 0, size);
}

static void lc_json_block_free(void *ctx, void *ptr) {
  if (ptr) lc_json_block_resize(ctx, ptr, 0, 0);
}

yyjson_alc lc_json_allocator(lua_State *L) {
  return (yyjson_alc){lc_json_block_new, lc_json_block_resize, lc_json_block_free, lc_state_get(L)};
}

/* What an encode or decode holds outside Lua while it runs. It lives in a userdata
 * whose __gc frees it, so an error in the middle (a NaN, a function, the deadline,
 * memory) leaks nothing. */
typedef struct lc_json_held {
  yyjson_doc *doc;
  yyjson_mut_doc *mut;
  char *text;
  yyjson_alc alc;
} lc_json_held;

static void lc_json_release(lc_json_held *h) {
  yyjson_doc_free(h->doc);
  yyjson_mut_doc_free(h->mut);
  if (h->text) h->alc.free(h->alc.ctx, h->text);
  h->doc = NULL;
  h->mut = NULL;
  h->text = NULL;
}

static int lc_json_held_gc(lua_State *L) {
  lc_json_release(lua_touserdata(L, 1));
  return 0;
}

/* Pushes an empty holder. */
static lc_json_held *lc_json_hold(lua_State *L) {
  lc_json_held *h = lua_newuserdata(L, sizeof *h);
  *h = (lc_json_held){.alc = lc_json_allocator(L)};
  if (luaL_newmetatable(L, "luaconn.json_held")) {
    lua_pushcfunction(L, lc_json_held_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return h;
}

/* ---- decoding ---------------------------------------------------------------------------- */

typedef struct lc_json_reader {
  yyjson_val *skip; /* pushed as an empty table; NULL: none */
  unsigned steps;
} lc_json_reader;

static bool lc_json_push_from(lua_State *L, yyjson_val *v, lc_json_reader *rd, int depth) {
  if (depth > LC_JSON_MAX_DEPTH || !lua_checkstack(L, 3)) return false;
  if (++rd->steps % 4096 == 0) lc_state_check_deadline(L);
  switch (yyjson_get_type(v)) {
  case YYJSON_TYPE_RAW: lua_pushnumber(L, strtod(yyjson_get_raw(v), NULL)); return true;
  case YYJSON_TYPE_STR: lua_pushlstring(L, yyjson_get_str(v), yyjson_get_len(v)); return true;
  case YYJSON_TYPE_BOOL: lua_pushboolean(L, yyjson_get_bool(v)); return true;
  case YYJSON_TYPE_ARR: {
    bool skipped = v == rd->skip;
    lua_createtable(L, skipped ? 0 : (int)yyjson_arr_size(v), 0);
    yyjson_arr_iter it = yyjson_arr_iter_with(v);
    int i = 0;
    for (yyjson_val *e; !skipped && (e = yyjson_arr_iter_next(&it));) {
      if (!lc_json_push_from(L, e, rd, depth + 1)) return lua_pop(L, 1), false;
      lua_rawseti(L, -2, ++i);
    }
    return true;
  }
  case YYJSON_TYPE_OBJ: {
    lua_createtable(L, 0, (int)yyjson_obj_size(v));
    yyjson_obj_iter it = yyjson_obj_iter_with(v);
    for (yyjson_val *k; (k = yyjson_obj_iter_next(&it));) {
      lua_pushlstring(L, yyjson_get_str(k), yyjson_get_len(k));
      if (!lc_json_push_from(L, yyjson_obj_iter_get_val(k), rd, depth + 1))
        return lua_pop(L, 2), false;
      lua_rawset(L, -3); /* a later duplicate key wins */
    }
    return true;
  }
  default: lc_json_push_null(L); return true;
  }
}

bool lc_json_push_value(lua_State *L, yyjson_val *v, yyjson_val *skip) {
  lc_json_reader rd = {.skip = skip};
  return lc_json_push_from(L, v, &rd, 1);
}

/* Pushes the value decoded from text; raises "invalid JSON: <what is wrong> at
 * character <n>" when it is not JSON. */
static void lc_json_decode_text(lua_State *L, const char *text, size_t len) {
  lc_json_held *h = lc_json_hold(L);
  yyjson_read_err err;
  /* Invalid UTF-8 is the columns' to refuse (a string column says which row);
   * invalid escapes, lone surrogates among them, are refused here. */
  h->doc = yyjson_read_opts((char *)text, len,
                            YYJSON_READ_NUMBER_AS_RAW | YYJSON_READ_ALLOW_INVALID_UNICODE, &h->alc,
                            &err);
  if (!h->doc && err.code == YYJSON_READ_ERROR_MEMORY_ALLOCATION)
    luaL_error(L, "json.decode: out of memory");
  if (!h->doc) luaL_error(L, "invalid JSON: %s at character %d", err.msg, (int)err.pos + 1);
  if (!lc_json_push_value(L, yyjson_doc_get_root(h->doc), NULL))
    luaL_error(L, "invalid JSON: nesting deeper than %d levels", LC_JSON_MAX_DEPTH);
  lc_json_release(h);
  lua_remove(L, -2);
}

/* ---- measuring before encoding ---------------------------------------------------------
 * One walk measures the text the value takes. Each table is measured once (memo: table
 * -> size, false while being measured), so shared subtables cost no extra walking and a
 * table that contains itself is found instead of followed. The size counts a shared
 * subtable once per reference, as the text repeats it. */
typedef struct lc_json_survey {
  int memo_idx;
  double budget; /* bytes the text may take */
  unsigned steps;
} lc_json_survey;

/* Bytes the string at idx takes, quotes included (escapes counted at their widest). */
static double lc_json_string_size(lua_State *L, int idx) {
  size_t len;
  const unsigned char *text = (const unsigned char *)lua_tolstring(L, idx, &len);
  double size = 2;
  for (size_t i = 0; i < len; i++)
    size += text[i] < 0x20 ? 6 : text[i] == '"' || text[i] == '\\' || text[i] == '/' ? 2 : 1;
  return size;
}

static double lc_json_measure(lua_State *L, int idx, lc_json_survey *sv, int depth);

/* Size of a key or scalar value. */
static double lc_json_measure_scalar(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER: return 32 + 2; /* quoted when it is a key */
  case LUA_TSTRING: return lc_json_string_size(L, idx);
  default: return 5; /* true, false, null */
  }
}

static double lc_json_measure_table(lua_State *L, int idx, lc_json_survey *sv, int depth) {
  lc_state *st = lc_state_get(L);
  if (depth > LC_JSON_MAX_DEPTH)
    luaL_error(L, "json.encode: nesting deeper than %d levels", LC_JSON_MAX_DEPTH);
  luaL_checkstack(L, 4, "json.encode: nesting too deep");
  lua_pushvalue(L, idx);
  lua_rawget(L, sv->memo_idx);
  if (lua_type(L, -1) == LUA_TBOOLEAN) luaL_error(L, "json.encode: a table contains itself");
  if (lua_type(L, -1) == LUA_TNUMBER) {
    double known = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return known;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 0);
  lua_rawset(L, sv->memo_idx);
  double size = 2;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (++sv->steps % 4096 == 0) lc_state_check_deadline(L);
    /* + 5: the nulls a hole in an array may take */
    size += lc_json_measure_scalar(L, -2) + 2 + 5 + lc_json_measure(L, -1, sv, depth + 1);
    lua_pop(L, 1);
    if (size > sv->budget) {
      st->mem_refused = true; /* final: the sandbox's pcall re-raises it */
      luaL_error(L,
                 "json.encode: the text would take more than the %zu MiB the memory limit leaves",
                 (size_t)sv->budget >> 20);
    }
  }
  lua_pushvalue(L, idx);
  lua_pushnumber(L, size);
  lua_rawset(L, sv->memo_idx);
  return size;
}

static double lc_json_measure(lua_State *L, int idx, lc_json_survey *sv, int depth) {
  idx = lc_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) return lc_json_measure_table(L, idx, sv, depth);
  return lc_json_measure_scalar(L, idx);
}

/* Checks that the value at idx can be encoded within the memory the cap leaves (the
 * document, the text yyjson writes and its copy as a Lua string) and holds no cycle
 * nor nesting deeper than LC_JSON_MAX_DEPTH. */
static void lc_json_survey_value(lua_State *L, int idx) {
  lc_state *st = lc_state_get(L);
  size_t left = st->mem_used < st->mem_limit ? st->mem_limit - st->mem_used : 0;
  lua_newtable(L);
  lc_json_survey sv = {.memo_idx = lua_gettop(L), .budget = (double)left / 3};
  lc_json_measure(L, idx, &sv, 0);
  lua_pop(L, 1);
}

/* ---- encoding ------------------------------------------------------------------------------ */

static bool lc_json_plainly_exact(double n) {
  return !isfinite(n) || (n == floor(n) && fabs(n) < 1e14);
}

void lc_json_number_text(double n, char out[32]) {
  snprintf(out, 32, "%.14g", n);
  if (lc_json_plainly_exact(n) || strtod(out, NULL) == n) return;
  for (int digits = 15; digits <= 17; digits++) { /* the shortest exact text */
    snprintf(out, 32, "%.*g", digits, n);
    if (strtod(out, NULL) == n) return;
  }
}

typedef struct lc_json_writer {
  yyjson_mut_doc *doc;
  unsigned steps;
} lc_json_writer;

static yyjson_mut_val *lc_json_build(lua_State *L, int idx, lc_json_writer *w);

/* The JSON value of the Lua number n; raises for NaN and infinities. */
static yyjson_mut_val *lc_json_number(lua_State *L, lc_json_writer *w, double n) {
  if (!isfinite(n)) luaL_error(L, "Cannot serialise number: must not be NaN or Inf");
  if (n == floor(n) && fabs(n) < 1e14 && !(n == 0 && signbit(n)))
    return yyjson_mut_sint(w->doc, (int64_t)n);
  char text[32];
  lc_json_number_text(n, text);
  return yyjson_mut_rawncpy(w->doc, text, strlen(text));
}

/* The length of the table at idx as an array: n when its keys are exactly numbers
 * 1..n (some missing), 0 when it is an object (other keys, excessively sparse, or
 * empty). */
static size_t lc_json_array_length(lua_State *L, int idx) {
  double max = 0;
  size_t items = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    double k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (!(k >= 1 && k == floor(k))) {
      lua_pop(L, 1);
      return 0;
    }
    if (k > max) max = k;
    items++;
  }
  if (max > LC_JSON_SPARSE_SAFE && max > (double)items * LC_JSON_SPARSE_RATIO) return 0;
  return (size_t)max;
}

static yyjson_mut_val *lc_json_build_table(lua_State *L, int idx, lc_json_writer *w) {
  size_t n = lc_json_array_length(L, idx);
  if (n > 0) {
    yyjson_mut_val *arr = yyjson_mut_arr(w->doc);
    for (size_t i = 1; arr && i <= n; i++) {
      lua_rawgeti(L, idx, (int)i);
      yyjson_mut_val *e = lua_isnil(L, -1) ? yyjson_mut_null(w->doc) /* a hole */
                                           : lc_json_build(L, lua_gettop(L), w);
      lua_pop(L, 1);
      if (!e || !yyjson_mut_arr_append(arr, e)) return NULL;
    }
    return arr;
  }
  yyjson_mut_val *obj = yyjson_mut_obj(w->doc);
  lua_pushnil(L);
  while (obj && lua_next(L, idx)) {
    yyjson_mut_val *key;
    if (lua_type(L, -2) == LUA_TSTRING) {
      size_t len;
      const char *name = lua_tolstring(L, -2, &len);
      key = yyjson_mut_strn(w->doc, name, len); /* the table keeps the string alive */
    } else if (lua_type(L, -2) == LUA_TNUMBER) {
      char text[32];
      snprintf(text, sizeof text, "%.14g", lua_tonumber(L, -2));
      key = yyjson_mut_strcpy(w->doc, text);
    } else {
      luaL_error(L, "Cannot serialise %s: table key must be a number or string",
                 luaL_typename(L, -2));
      return NULL;
    }
    yyjson_mut_val *value = lc_json_build(L, lua_gettop(L), w);
    lua_pop(L, 1);
    if (!key || !value || !yyjson_mut_obj_add(obj, key, value)) return NULL;
  }
  return obj;
}

/* The JSON value of the Lua value at idx (absolute); NULL when out of memory. The
 * survey has ruled out cycles and excessive nesting. */
static yyjson_mut_val *lc_json_build(lua_State *L, int idx, lc_json_writer *w) {
  if (++w->steps % 4096 == 0) lc_state_check_deadline(L);
  luaL_checkstack(L, 4, "json.encode: nesting too deep");
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER: return lc_json_number(L, w, lua_tonumber(L, idx));
  case LUA_TSTRING: {
    size_t len;
    const char *text = lua_tolstring(L, idx, &len);
    return yyjson_mut_strn(w->doc, text, len);
  }
  case LUA_TBOOLEAN: return yyjson_mut_bool(w->doc, lua_toboolean(L, idx));
  case LUA_TTABLE: return lc_json_build_table(L, idx, w);
  case LUA_TLIGHTUSERDATA:
    if (!lua_touserdata(L, idx)) return yyjson_mut_null(w->doc); /* json.null */
    /* fall through */
  default: luaL_error(L, "Cannot serialise %s: type not supported", luaL_typename(L, idx));
  }
  return NULL;
}

/* Pushes the JSON text of the value at idx; raises on what JSON cannot hold. */
static void lc_json_encode_value(lua_State *L, int idx) {
  idx = lc_absindex(L, idx);
  lc_json_survey_value(L, idx);
  lc_json_held *h = lc_json_hold(L);
  lc_json_writer w = {.doc = h->mut = yyjson_mut_doc_new(&h->alc)};
  yyjson_mut_val *root = w.doc ? lc_json_build(L, idx, &w) : NULL;
  size_t len = 0;
  if (root) {
    yyjson_mut_doc_set_root(w.doc, root);
    h->text = yyjson_mut_write_opts(w.doc, LC_JSON_WRITE_FLAGS, &h->alc, &len, NULL);
  }
  if (!h->text) luaL_error(L, "json.encode: out of memory");
  lua_pushlstring(L, h->text, len);
  lc_json_release(h);
  lua_remove(L, -2);
}

int lc_json_lua_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lc_json_encode_value(L, 1);
  return 1;
}

int lc_json_lua_decode(lua_State *L) {
  size_t len;
  luaL_checktype(L, 1, LUA_TSTRING);
  const char *text = lua_tolstring(L, 1, &len);
  lc_json_decode_text(L, text, len);
  return 1;
}

/* json.null: a light userdata holding NULL, as lua-cjson's was. */
void lc_json_push_null(lua_State *L) { lua_pushlightuserdata(L, NULL); }

int lc_json_raise_invalid(lua_State *L, const char *what, const char *reason) {
  if (strncmp(reason, "invalid JSON: ", 14) == 0) reason += 14;
  return lc_state_raise(L, LC_ERR_HTTP, "%s: response is not valid JSON: %s", what, reason);
}

/* ---- C callers -----------------------------------------------------------------
 * The work runs under lua_cpcall so no error escapes. A cpcall'd function cannot
 * see its caller's stack, so values travel through one registry slot. The slot is
 * created under protection and afterwards only ever holds a value (false when
 * idle): assigning to an existing key allocates nothing and cannot fail. */

typedef struct lc_json_job {
  const char *text; /* decode: the input */
  size_t len;
  char *out; /* encode: the malloc'd result */
} lc_json_job;

static int lc_json_make_slot(lua_State *L) {
  lua_pushlightuserdata(L, &lc_json_slot_key);
  lua_pushboolean(L, 0);
  lua_rawset(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Sets the slot to the value on top of the stack and pops it. */
static void lc_json_fill_slot(lua_State *L) {
  lua_pushlightuserdata(L, &lc_json_slot_key);
  lua_insert(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

static void lc_json_push_slot(lua_State *L) {
  lua_pushlightuserdata(L, &lc_json_slot_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

static int lc_json_encode_job(lua_State *L) {
  lc_json_job *job = lua_touserdata(L, 1);
  lc_json_push_slot(L);
  lc_json_encode_value(L, -1);
  size_t len;
  const char *text = lua_tolstring(L, -1, &len);
  job->out = malloc(len + 1);
  if (!job->out) return luaL_error(L, "out of memory");
  memcpy(job->out, text, len + 1);
  return 0;
}

static int lc_json_decode_job(lua_State *L) {
  lc_json_job *job = lua_touserdata(L, 1);
  lc_json_decode_text(L, job->text, job->len);
  lc_json_fill_slot(L);
  return 0;
}

/* Copies the error message on top of the stack into err and pops it. */
static int lc_json_fail(lua_State *L, int status, char *err, size_t errlen) {
  const char *msg = lua_tostring(L, -1);
  snprintf(err, errlen, "%s", status == LUA_ERRMEM ? "out of memory" : msg ? msg : "JSON error");
  lua_pop(L, 1);
  return status == LUA_ERRMEM ? LC_ERR_NOMEM : LC_ERR_VALUE;
}

/* Creates the slot on first use. Returns a lua_cpcall status (message pushed on
 * failure). */
static int lc_json_ensure_slot(lua_State *L) {
  lc_json_push_slot(L);
  bool have_slot = !lua_isnil(L, -1);
  lua_pop(L, 1);
  return have_slot ? 0 : lua_cpcall(L, lc_json_make_slot, NULL);
}

static void lc_json_clear_slot(lua_State *L) {
  lua_pushboolean(L, 0);
  lc_json_fill_slot(L);
}

int lc_json_encode(lua_State *L, int idx, char **out, char *err, size_t errlen) {
  lc_json_job job = {0};
  *out = NULL;
  int status = lc_json_ensure_slot(L);
  if (status == 0) {
    lua_pushvalue(L, idx);
    lc_json_fill_slot(L);
    status = lua_cpcall(L, lc_json_encode_job, &job);
    lc_json_clear_slot(L);
  }
  if (status != 0) {
    free(job.out);
    return lc_json_fail(L, status, err, errlen);
  }
  *out = job.out;
  return LC_OK;
}

int lc_json_decode(lua_State *L, const char *text, size_t len, char *err, size_t errlen) {
  lc_json_job job = {.text = text, .len = len};
  int status = lc_json_ensure_slot(L);
  if (status == 0) status = lua_cpcall(L, lc_json_decode_job, &job);
  if (status != 0) return lc_json_fail(L, status, err, errlen);
  lc_json_push_slot(L);
  lc_json_clear_slot(L);
  return LC_OK;
}
