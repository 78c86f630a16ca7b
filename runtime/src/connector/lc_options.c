/* lc_options.c: a connector's option declarations, and turning the strings a caller
 * passes (Spark passes strings only) into typed values with one clear error. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connector/lc_connector.h"

static const char *const OPTION_TYPES[] = {"string", "integer", "number", "boolean", "json"};
static const char *const DECL_FIELDS[] = {"type", "default", "required", "secret", "description"};

static bool in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0) return true;
  return false;
}

static const char *decl_type(lua_State *L, int spec_idx) {
  lua_getfield(L, spec_idx, "type");
  const char *t = lua_isstring(L, -1) ? lua_tostring(L, -1) : "string";
  lua_pop(L, 1);
  return t;
}

int lc_options_check_decl(lua_State *L, int decl_idx, char *err, size_t errlen) {
  err[0] = '\0';
  decl_idx = lc_absindex(L, decl_idx);
  if (lua_isnil(L, decl_idx)) return LC_OK;
  if (!lua_istable(L, decl_idx)) {
    lc_problem_add(err, errlen, "'options' must be a table of declarations, got %s",
                   luaL_typename(L, decl_idx));
    return LC_ERR_CONTRACT;
  }
  for (lua_pushnil(L); lua_next(L, decl_idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lc_problem_add(err, errlen, "option names must be strings");
      continue;
    }
    const char *name = lua_tostring(L, -2);
    if (!lua_istable(L, -1)) {
      lc_problem_add(err, errlen,
                     "option '%s' must be declared with a table like {type = \"string\"}", name);
      continue;
    }
    int spec = lua_gettop(L);
    for (lua_pushnil(L); lua_next(L, spec); lua_pop(L, 1)) {
      /* lua_tostring on a number key would change it under lua_next: type first. */
      if (lua_type(L, -2) != LUA_TSTRING)
        lc_problem_add(err, errlen, "option '%s': field names must be strings, not a %s", name,
                       luaL_typename(L, -2));
      else if (!in_list(lua_tostring(L, -2), DECL_FIELDS, sizeof DECL_FIELDS / sizeof *DECL_FIELDS))
        lc_problem_add(err, errlen,
                       "option '%s': unknown field '%s' (fields: type, default, "
                       "required, secret, description)",
                       name, lua_tostring(L, -2));
    }
    const char *type = decl_type(L, spec);
    if (!in_list(type, OPTION_TYPES, sizeof OPTION_TYPES / sizeof *OPTION_TYPES))
      lc_problem_add(err, errlen,
                     "option '%s': unknown type '%s' (types: string, integer, "
                     "number, boolean, json)",
                     name, type);
    lua_getfield(L, spec, "required");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1) &&
        !(lua_type(L, -1) == LUA_TSTRING &&
          (strcmp(lua_tostring(L, -1), "read") == 0 || strcmp(lua_tostring(L, -1), "write") == 0)))
      lc_problem_add(err, errlen, "option '%s': required must be true, \"read\" or \"write\"",
                     name);
    lua_pop(L, 1);
    lua_getfield(L, spec, "default");
    int dtype = lua_type(L, -1);
    bool ok = dtype == LUA_TNIL || strcmp(type, "json") == 0 ||
              (strcmp(type, "string") == 0 && dtype == LUA_TSTRING) ||
              (strcmp(type, "boolean") == 0 && dtype == LUA_TBOOLEAN) ||
              (strcmp(type, "number") == 0 && dtype == LUA_TNUMBER) ||
              (strcmp(type, "integer") == 0 && dtype == LUA_TNUMBER &&
               floor(lua_tonumber(L, -1)) == lua_tonumber(L, -1));
    if (!ok)
      lc_problem_add(err, errlen, "option '%s': default is a %s, not a %s", name,
                     lua_typename(L, dtype), type);
    lua_pop(L, 1);
  }
  return err[0] ? LC_ERR_CONTRACT : LC_OK;
}

/* Pushes value converted to type, or nothing and a problem in err. */
static bool push_typed(lua_State *L, const char *type, const char *value) {
  if (strcmp(type, "string") == 0) {
    lua_pushstring(L, value);
    return true;
  }
  if (strcmp(type, "boolean") == 0) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
      if (strcasecmp(value, yes[i]) == 0) return lua_pushboolean(L, 1), true;
      if (strcasecmp(value, no[i]) == 0) return lua_pushboolean(L, 0), true;
    }
    return false;
  }
  if (strcmp(type, "json") == 0) {
    char jerr[256];
    return lc_json_decode(L, value, strlen(value), jerr, sizeof jerr) == LC_OK;
  }
  char *end;
  errno = 0;
  double d = strtod(value, &end);
  while (isspace((unsigned char)*end)) end++;
  if (end == value || *end || errno || !isfinite(d)) return false;
  if (strcmp(type, "integer") == 0 && (floor(d) != d || fabs(d) > 9007199254740992.0)) return false;
  lua_pushnumber(L, d);
  return true;
}

/* Levenshtein distance, for "did you mean" on misspelled option names. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 99;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      size_t best = diag + cost;
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Finds the declared name matching key case-insensitively; pushes nothing. */
static const char *declared_name(lua_State *L, int decl_idx, const char *key) {
  if (!lua_istable(L, decl_idx)) return NULL;
  for (lua_pushnil(L); lua_next(L, decl_idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) == LUA_TSTRING && strcasecmp(lua_tostring(L, -2), key) == 0) {
      const char *name = lua_tostring(L, -2); /* anchored by the declaration table */
      lua_pop(L, 2);
      return name;
    }
  }
  return NULL;
}

static void suggest(lua_State *L, int decl_idx, const char *key, char *out, size_t outlen) {
  out[0] = '\0';
  size_t best = 3;
  if (!lua_istable(L, decl_idx)) return;
  for (lua_pushnil(L); lua_next(L, decl_idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) continue;
    size_t d = edit_distance(key, lua_tostring(L, -2));
    if (d < best) {
      best = d;
      snprintf(out, outlen, " (did you mean '%s'?)", lua_tostring(L, -2));
    }
  }
}

int lc_options_validate(lc_state *st, int decl_idx, const char *const *kv, size_t n, char *err,
                        size_t errlen) {
  lua_State *L = st->L;
  decl_idx = lc_absindex(L, decl_idx);
  err[0] = '\0';
  lua_newtable(L);
  int opts = lua_gettop(L);
  for (size_t i = 0; i < n; i++) {
    const char *key = kv[2 * i], *value = kv[2 * i + 1];
    if (!key || !value) {
      lc_problem_add(err, errlen, "option %zu has no %s", i + 1, key ? "value" : "name");
      continue;
    }
    const char *name = declared_name(L, decl_idx, key);
    if (!name) {
      char hint[96];
      suggest(L, decl_idx, key, hint, sizeof hint);
      lc_problem_add(err, errlen, "unknown option '%s'%s", key, hint);
      continue;
    }
    lua_getfield(L, decl_idx, name);
    int spec = lua_gettop(L);
    const char *type = decl_type(L, spec);
    lua_getfield(L, spec, "secret");
    bool secret = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (secret) lc_state_add_secret(st, value, strlen(value));
    /* The value is not quoted: a malformed one may hold a credential that is not
     * declared secret (a token inside a headers JSON). */
    if (push_typed(L, type, value))
      lua_setfield(L, opts, name);
    else
      lc_problem_add(err, errlen, "option '%s' must be %s %s (the value is not shown)", name,
                     type[0] == 'i' ? "an" : "a", strcmp(type, "json") == 0 ? "JSON value" : type);
    lua_pop(L, 1); /* spec */
  }
  /* Defaults, and options required for every operation. */
  if (lua_istable(L, decl_idx)) {
    for (lua_pushnil(L); lua_next(L, decl_idx); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) continue;
      const char *name = lua_tostring(L, -2);
      lua_getfield(L, opts, name);
      bool given = !lua_isnil(L, -1);
      lua_pop(L, 1);
      if (given) continue;
      lua_getfield(L, -1, "default");
      if (!lua_isnil(L, -1)) {
        lua_setfield(L, opts, name);
        continue;
      }
      lua_pop(L, 1);
      lua_getfield(L, -1, "required");
      if (lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1))
        lc_problem_add(err, errlen, "option '%s' is required", name);
      lua_pop(L, 1);
    }
  }
  if (err[0]) {
    lua_pop(L, 1);
    return LC_ERR_OPTION;
  }
  return LC_OK;
}

int lc_options_require(lua_State *L, int decl_idx, int opts_idx, const char *op, char *err,
                       size_t errlen) {
  err[0] = '\0';
  decl_idx = lc_absindex(L, decl_idx);
  opts_idx = lc_absindex(L, opts_idx);
  if (!lua_istable(L, decl_idx)) return LC_OK;
  for (lua_pushnil(L); lua_next(L, decl_idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) continue;
    lua_getfield(L, -1, "required");
    bool needed = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), op) == 0;
    lua_pop(L, 1);
    if (!needed) continue;
    lua_getfield(L, opts_idx, lua_tostring(L, -2));
    if (lua_isnil(L, -1))
      lc_problem_add(err, errlen, "option '%s' is required to %s", lua_tostring(L, -3), op);
    lua_pop(L, 1);
  }
  return err[0] ? LC_ERR_OPTION : LC_OK;
}
