/* lc_codec.c: JSON text <-> Lua values on lua-cjson, for the runtime's C code and
 * the json host module.
 *
 * Each lua_State gets one configured cjson instance (its settings and encode buffer
 * are per instance), kept in the registry and shared by every require "json".
 *
 * lua-cjson 2.1.0 prints numbers with at most 14 significant digits, which would
 * corrupt ids and microsecond timestamps above 10^14 and the last bits of doubles.
 * Numbers that 14 digits do not reproduce are therefore swapped for placeholder
 * strings (starting with a control character no real text carries) before cjson
 * encodes, and the placeholders are replaced afterwards by the
 * shortest text that reads back as the same double. Numeric table keys (sparse
 * arrays encoded as objects) keep cjson's 14 digits.
 */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/lc_vm.h"

extern int luaopen_cjson(lua_State *L);

/* cjson's own nesting limit; deeper values fail in cjson with a clear message. */
#define LC_JSON_MAX_DEPTH 1000
/* How a placeholder for wide number n looks once cjson has escaped it. */
#define LC_JSON_MARK "\x01lc-number:"
#define LC_JSON_MARK_ENCODED "\"\\u0001lc-number:"

static char lc_json_cjson_key;   /* registry: this state's configured cjson table */
static char lc_json_slot_key;    /* registry: carries values in and out of lua_cpcall */

/* Calls cjson[name](value) for the value on top, the cjson table below it. */
static void lc_json_setting(lua_State *L, const char *name) {
  lua_getfield(L, -2, name);
  lua_insert(L, -2);
  lua_call(L, 1, 0);
}

/* Pushes this state's cjson table, creating and configuring it on first use. */
static void lc_json_push_cjson(lua_State *L) {
  lua_pushlightuserdata(L, &lc_json_cjson_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_isnil(L, -1)) return;
  lua_pop(L, 1);
  /* Built without ENABLE_CJSON_GLOBAL, luaopen_cjson only returns its table. */
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  /* Sparse arrays become objects instead of failing; 14 is cjson's maximum
   * precision (wider numbers are handled above it, see the file comment). */
  lua_pushboolean(L, 1);
  lc_json_setting(L, "encode_sparse_array");
  lua_pushinteger(L, 14);
  lc_json_setting(L, "encode_number_precision");
  lua_pushboolean(L, 1);
  lc_json_setting(L, "encode_keep_buffer");
  lua_pushlightuserdata(L, &lc_json_cjson_key);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

/* True when cjson's 14 digits print n exactly without looking (small integers), or
 * cjson refuses it itself (NaN and infinities). */
static bool lc_json_plainly_exact(double n) {
  return !isfinite(n) || (n == floor(n) && fabs(n) < 1e14);
}

/* True when cjson's 14 digits would not reproduce n exactly. */
static bool lc_json_is_wide(double n) {
  if (lc_json_plainly_exact(n)) return false;
  char text[32];
  snprintf(text, sizeof text, "%.14g", n);
  return strtod(text, NULL) != n;
}

/* The shortest text of 15 to 17 digits that reads back as n. */
static void lc_json_print_exact(double n, char out[32]) {
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(out, 32, "%.*g", digits, n);
    if (strtod(out, NULL) == n) return;
  }
}

void lc_json_number_text(double n, char out[32]) {
  snprintf(out, 32, "%.14g", n);
  if (!lc_json_plainly_exact(n) && strtod(out, NULL) != n) lc_json_print_exact(n, out);
}

static bool lc_json_has_wide(lua_State *L, int idx, int depth) {
  int type = lua_type(L, idx);
  if (type == LUA_TNUMBER) return lc_json_is_wide(lua_tonumber(L, idx));
  if (type != LUA_TTABLE || depth > LC_JSON_MAX_DEPTH) return false;
  idx = lc_absindex(L, idx);
  luaL_checkstack(L, 3, "json.encode: nesting too deep");
  bool found = false;
  lua_pushnil(L);
  while (!found && lua_next(L, idx)) {
    found = lc_json_has_wide(L, -1, depth + 1);
    lua_pop(L, 1);
  }
  if (found) lua_pop(L, 1); /* the key lua_next left */
  return found;
}

/* Pushes a copy of the value at idx in which every wide number is the placeholder
 * string LC_JSON_MARK<n>, n indexing the number in the table at numbers_idx. */
static void lc_json_copy_marked(lua_State *L, int idx, int numbers_idx, int depth) {
  luaL_checkstack(L, 4, "json.encode: nesting too deep");
  int type = lua_type(L, idx);
  if (type == LUA_TNUMBER && lc_json_is_wide(lua_tonumber(L, idx))) {
    int n = (int)lua_objlen(L, numbers_idx) + 1;
    lua_pushvalue(L, idx);
    lua_rawseti(L, numbers_idx, n);
    lua_pushfstring(L, LC_JSON_MARK "%d", n);
    return;
  }
  if (type != LUA_TTABLE || depth > LC_JSON_MAX_DEPTH) {
    lua_pushvalue(L, idx);
    return;
  }
  idx = lc_absindex(L, idx);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lc_json_copy_marked(L, lua_gettop(L), numbers_idx, depth + 1);
    lua_remove(L, -2);
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* Replaces the placeholders in the encoded text on top of the stack by the
 * shortest exact text of their numbers. */
static void lc_json_unmark(lua_State *L, int numbers_idx) {
  size_t len;
  const char *text = lua_tolstring(L, -1, &len);
  const char *end = text + len;
  const size_t mark_len = sizeof LC_JSON_MARK_ENCODED - 1;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const char *p = text, *hit;
  while ((hit = memmem(p, (size_t)(end - p), LC_JSON_MARK_ENCODED, mark_len))) {
    luaL_addlstring(&b, p, (size_t)(hit - p));
    char *after;
    long n = strtol(hit + mark_len, &after, 10);
    lua_rawgeti(L, numbers_idx, (int)n);
    double value = lua_tonumber(L, -1);
    lua_pop(L, 1);
    char number[32];
    lc_json_print_exact(value, number);   /* placeholders stand only for wide numbers */
    luaL_addstring(&b, number);
    p = after + 1; /* past the closing quote */
  }
  luaL_addlstring(&b, p, (size_t)(end - p));
  luaL_pushresult(&b);
  lua_remove(L, -2);
}

/* Pushes cjson[name]. */
static void lc_json_push_function(lua_State *L, const char *name) {
  lc_json_push_cjson(L);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* Pushes the JSON text of the value at idx; raises cjson's error on failure. */
static void lc_json_encode_value(lua_State *L, int idx) {
  idx = lc_absindex(L, idx);
  if (!lc_json_has_wide(L, idx, 0)) {
    lc_json_push_function(L, "encode");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    return;
  }
  lua_newtable(L);
  int numbers_idx = lua_gettop(L);
  lc_json_push_function(L, "encode");
  lc_json_copy_marked(L, idx, numbers_idx, 0);
  lua_call(L, 1, 1);
  lc_json_unmark(L, numbers_idx);
  lua_remove(L, numbers_idx);
}

/* Pushes the value decoded from the string at idx; raises "invalid JSON: ...". */
static void lc_json_decode_value(lua_State *L, int idx) {
  idx = lc_absindex(L, idx);
  lc_json_push_function(L, "decode");
  lua_pushvalue(L, idx);
  int status = lua_pcall(L, 1, 1, 0);
  if (status == 0) return;
  if (status == LUA_ERRRUN) {
    lua_pushfstring(L, "invalid JSON: %s", lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  lua_error(L);
}

int lc_json_lua_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lc_json_encode_value(L, 1);
  return 1;
}

int lc_json_lua_decode(lua_State *L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  lc_json_decode_value(L, 1);
  return 1;
}

void lc_json_push_null(lua_State *L) {
  lc_json_push_cjson(L);
  lua_getfield(L, -1, "null");
  lua_remove(L, -2);
}

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
  const char *text;   /* decode: the input */
  size_t len;
  char *out;          /* encode: the malloc'd result */
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
  lua_pushlstring(L, job->text, job->len);
  lc_json_decode_value(L, -1);
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
