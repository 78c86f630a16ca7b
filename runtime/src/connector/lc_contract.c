/* lc_contract.c: what a connector table must look like (spec/CONTRACT.md). */
#include <stdio.h>
#include <string.h>

#include "connector/lc_connector.h"

static const char *const FUNCTIONS[] = {
    "partitions",   "read",           "write",         "commit",
    "abort",        "initial_offset", "latest_offset", "stream_partitions",
    "stream_commit"};
static const char *const STREAM_FUNCTIONS[] = {"initial_offset", "latest_offset",
                                               "stream_partitions"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool has_function(lua_State *L, int idx, const char *name) {
  lua_getfield(L, idx, name);
  bool yes = lua_isfunction(L, -1);
  lua_pop(L, 1);
  return yes;
}

/* True when a and b differ by one edit or a swap of neighbours: likely a typo. */
static bool near_miss(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la == lb) {
    size_t diff = 0, first = 0;
    for (size_t i = 0; i < la; i++)
      if (a[i] != b[i] && diff++ == 0) first = i;
    return diff == 1 ||
           (diff == 2 && first + 1 < la && a[first] == b[first + 1] && a[first + 1] == b[first]);
  }
  const char *s = la < lb ? a : b, *l = la < lb ? b : a;
  if (strlen(l) - strlen(s) != 1) return false;
  size_t i = 0;
  while (s[i] && s[i] == l[i]) i++;
  return strcmp(s + i, l + i + 1) == 0;
}

int lc_contract_check(lua_State *L, int idx, char *err, size_t errlen) {
  char msg[512];
  err[0] = '\0';
  idx = lc_absindex(L, idx);
  if (!lua_istable(L, idx)) {
    snprintf(err, errlen, "the script must return a table (the connector), got %s",
             luaL_typename(L, idx));
    return LC_ERR_CONTRACT;
  }
  for (size_t i = 0; i < COUNT(FUNCTIONS); i++) {
    lua_getfield(L, idx, FUNCTIONS[i]);
    if (!lua_isnil(L, -1) && !lua_isfunction(L, -1)) {
      snprintf(msg, sizeof msg, "'%s' must be a function, got %s", FUNCTIONS[i],
               luaL_typename(L, -1));
      lc_problem_add(err, errlen, "%s", msg);
    }
    lua_pop(L, 1);
  }
  /* A misspelt contract name would silently be ignored: name it. */
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) continue;
    const char *key = lua_tostring(L, -2);
    for (size_t i = 0; i < COUNT(FUNCTIONS); i++) {
      if (strcmp(key, FUNCTIONS[i]) != 0 && near_miss(key, FUNCTIONS[i])) {
        snprintf(msg, sizeof msg, "'%s' is not part of the contract (did you mean '%s'?)", key,
                 FUNCTIONS[i]);
        lc_problem_add(err, errlen, "%s", msg);
      }
    }
  }
  lua_getfield(L, idx, "schema");
  int schema_type = lua_type(L, -1);
  if (schema_type == LUA_TSTRING) {
    lc_type *schema = NULL;
    char serr[256];
    size_t len;
    const char *ddl = lua_tolstring(L, -1, &len);
    /* "infer": the host infers the schema from a sample read (lc_connector_infer). */
    if (strcmp(ddl, "infer") != 0 &&
        lc_schema_parse(ddl, len, &schema, serr, sizeof serr) != LC_OK) {
      snprintf(msg, sizeof msg, "schema: %s", serr);
      lc_problem_add(err, errlen, "%s", msg);
    }
    lc_type_free(schema);
  } else if (schema_type != LUA_TFUNCTION) {
    snprintf(msg, sizeof msg,
             "'schema' must be a Spark DDL string or a function(opts) "
             "returning one, got %s",
             lua_typename(L, schema_type));
    lc_problem_add(err, errlen, "%s", msg);
  }
  lua_pop(L, 1);
  lua_getfield(L, idx, "description");
  if (!lua_isnil(L, -1) && !lua_isstring(L, -1))
    lc_problem_add(err, errlen, "%s", "'description' must be a string");
  lua_pop(L, 1);
  if (!has_function(L, idx, "read") && !has_function(L, idx, "write"))
    lc_problem_add(err, errlen, "%s",
                   "a connector needs read(opts, partition, emit), write(opts, rows), or both");
  size_t stream = 0;
  for (size_t i = 0; i < COUNT(STREAM_FUNCTIONS); i++)
    stream += has_function(L, idx, STREAM_FUNCTIONS[i]);
  if (stream && stream < COUNT(STREAM_FUNCTIONS))
    lc_problem_add(err, errlen, "%s",
                   "a streaming connector defines all of initial_offset, latest_offset "
                   "and stream_partitions");
  if (stream && !has_function(L, idx, "read"))
    lc_problem_add(err, errlen, "%s", "a streaming connector needs read(opts, partition, emit)");
  lua_getfield(L, idx, "options");
  char oerr[LC_ERRMSG_MAX / 2];
  if (lc_options_check_decl(L, -1, oerr, sizeof oerr) != LC_OK)
    lc_problem_add(err, errlen, "%s", oerr);
  bool option_named_filters = false;
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, LC_FILTERS_OPTION);
    option_named_filters = !lua_isnil(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, idx, "filters");
  if (lc_filters_check_decl(L, -1, oerr, sizeof oerr) != LC_OK)
    lc_problem_add(err, errlen, "%s", oerr);
  if (!lua_isnil(L, -1) && option_named_filters)
    lc_problem_add(err, errlen, "%s",
                   "a connector that declares 'filters' cannot declare an option named "
                   "'filters' (pushed filters arrive as opts.filters)");
  lua_pop(L, 1);
  return err[0] ? LC_ERR_CONTRACT : LC_OK;
}

void lc_contract_summary(lua_State *L, int idx) {
  idx = lc_absindex(L, idx);
  lua_newtable(L);
  int out = lua_gettop(L);
  lua_getfield(L, idx, "description");
  lua_setfield(L, out, "description");
  lua_getfield(L, idx, "schema");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(computed from options)");
  }
  lua_setfield(L, out, "schema");
  lua_getfield(L, idx, "filters");
  if (lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(computed from options)");
  }
  lua_setfield(L, out, "filters");
  lua_newtable(L);
  int n = 0;
  for (size_t i = 0; i < COUNT(FUNCTIONS); i++) {
    if (!has_function(L, idx, FUNCTIONS[i])) continue;
    lua_pushstring(L, FUNCTIONS[i]);
    lua_rawseti(L, -2, ++n);
  }
  lua_setfield(L, out, "functions");
  lua_newtable(L);
  lua_getfield(L, idx, "options");
  if (lua_istable(L, -1)) {
    for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) continue;
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_settable(L, -6);
    }
  }
  lua_pop(L, 1);
  lua_setfield(L, out, "options");
}
