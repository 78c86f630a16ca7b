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

static char lc_json_cjson_key; /* registry: this state's configured cjson table */
static char lc_json_slot_key;  /* registry: carries values in and out of lua_cpcall */

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
  /* Strict JSON: no hex numbers, NaN or Infinity in input. */
  lua_pushboolean(L, 0);
  lc_json_setting(L, "decode_invalid_numbers");
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

/* True for a string cjson would write as the start of a placeholder: such data is
 * swapped for a placeholder itself, so no value can pose as a wide number. */
static bool lc_json_looks_marked(lua_State *L, int idx) {
  size_t len;
  const char *text = lua_tolstring(L, idx, &len);
  return len >= sizeof LC_JSON_MARK - 1 && memcmp(text, LC_JSON_MARK, sizeof LC_JSON_MARK - 1) == 0;
}

/* One walk before encoding measures the text cjson will write and finds what needs a
 * placeholder. Each table is measured once (memo: table -> size, negative when it
 * holds something to mark, false while being measured), so shared subtables cost no
 * extra walking and a table that contains itself is found instead of followed. The
 * size counts a shared subtable once per reference, as cjson writes it. */
typedef struct lc_json_survey {
  int memo_idx;
  double budget; /* bytes the text may take */
  unsigned steps;
} lc_json_survey;

/* Bytes cjson writes for the string at idx, quotes included (escapes counted
 * at their widest). */
static double lc_json_string_size(lua_State *L, int idx) {
  size_t len;
  const unsigned char *text = (const unsigned char *)lua_tolstring(L, idx, &len);
  double size = 2;
  for (size_t i = 0; i < len; i++)
    size += text[i] < 0x20 || text[i] == 0x7f                     ? 6
            : text[i] == '"' || text[i] == '\\' || text[i] == '/' ? 2
                                                                  : 1;
  return size;
}

static double lc_json_measure(lua_State *L, int idx, lc_json_survey *sv, bool *marks, int depth);

/* Size of a key or value, adding to *marks. */
static double lc_json_measure_scalar(lua_State *L, int idx, bool *marks) {
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
    if (lc_json_is_wide(lua_tonumber(L, idx))) *marks = true;
    return 32 + 2; /* quoted when it is a key */
  case LUA_TSTRING:
    if (lc_json_looks_marked(L, idx)) *marks = true;
    return lc_json_string_size(L, idx);
  default: return 5; /* true, false, null */
  }
}

static double lc_json_measure_table(lua_State *L, int idx, lc_json_survey *sv, bool *marks,
                                    int depth) {
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
    if (known < 0) *marks = true;
    return fabs(known);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 0);
  lua_rawset(L, sv->memo_idx);
  bool inner = false;
  double size = 2;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (++sv->steps % 4096 == 0) lc_state_check_deadline(L);
    size +=
        lc_json_measure_scalar(L, -2, &inner) + 2 + lc_json_measure(L, -1, sv, &inner, depth + 1);
    lua_pop(L, 1);
    if (size > sv->budget) {
      st->mem_refused = true; /* final: the sandbox's pcall re-raises it */
      luaL_error(L,
                 "json.encode: the text would take more than the %zu MiB the memory limit leaves",
                 (size_t)sv->budget >> 20);
    }
  }
  lua_pushvalue(L, idx);
  lua_pushnumber(L, inner ? -size : size);
  lua_rawset(L, sv->memo_idx);
  if (inner) *marks = true;
  return size;
}

static double lc_json_measure(lua_State *L, int idx, lc_json_survey *sv, bool *marks, int depth) {
  idx = lc_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) return lc_json_measure_table(L, idx, sv, marks, depth);
  return lc_json_measure_scalar(L, idx, marks);
}

/* Checks that the value at idx can be encoded within the memory the cap leaves
 * (cjson's buffer grows by doubling outside the capped allocator, and the text is
 * then copied into a Lua string) and tells whether it needs placeholders. */
static bool lc_json_survey_value(lua_State *L, int idx) {
  lc_state *st = lc_state_get(L);
  size_t left = st->mem_used < st->mem_limit ? st->mem_limit - st->mem_used : 0;
  lua_newtable(L);
  lc_json_survey sv = {.memo_idx = lua_gettop(L), .budget = (double)left / 3};
  bool marks = false;
  lc_json_measure(L, idx, &sv, &marks, 0);
  lua_pop(L, 1);
  return marks;
}

/* Pushes a copy of the value at idx in which every wide number, and every string
 * that starts like a placeholder, is the placeholder string LC_JSON_MARK<n>, n
 * indexing the original value in the table at numbers_idx. */
static void lc_json_copy_marked(lua_State *L, int idx, int numbers_idx, int depth) {
  luaL_checkstack(L, 4, "json.encode: nesting too deep");
  int type = lua_type(L, idx);
  if ((type == LUA_TNUMBER && lc_json_is_wide(lua_tonumber(L, idx))) ||
      (type == LUA_TSTRING && lc_json_looks_marked(L, idx))) {
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
    if (lua_type(L, -2) == LUA_TSTRING && lc_json_looks_marked(L, -2))
      lc_json_copy_marked(L, -2, numbers_idx, depth + 1);
    else
      lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* Pushes cjson[name]. */
static void lc_json_push_function(lua_State *L, const char *name) {
  lc_json_push_cjson(L);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
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
    if (lua_type(L, -1) == LUA_TSTRING) {
      /* Data shaped like a placeholder: cjson's own text of it. */
      lc_json_push_function(L, "encode");
      lua_insert(L, -2);
      lua_call(L, 1, 1);
      luaL_addvalue(&b);
    } else {
      char number[32];
      lc_json_print_exact(lua_tonumber(L, -1), number);
      lua_pop(L, 1);
      luaL_addstring(&b, number);
    }
    p = after + 1; /* past the closing quote */
  }
  luaL_addlstring(&b, p, (size_t)(end - p));
  luaL_pushresult(&b);
  lua_remove(L, -2);
}

/* Pushes the JSON text of the value at idx; raises cjson's error on failure. */
static void lc_json_encode_value(lua_State *L, int idx) {
  idx = lc_absindex(L, idx);
  if (!lc_json_survey_value(L, idx)) {
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
