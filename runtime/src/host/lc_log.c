/* lc_log.c: the "log" host module. Lines go through lc_state_log, which redacts
 * every registered secret before the runtime's log callback sees them. */
#include <stdlib.h>

#include "host/lc_host.h"

/* Text of the single argument of a log call: strings and numbers as they are,
 * tables as JSON when they encode, anything else by type. The result is on top. */
static const char *lc_log_text(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
    lua_pushvalue(L, idx);
    return lua_tostring(L, -1);
  }
  if (lua_istable(L, idx)) {
    char *json = NULL, err[16];
    if (lc_json_encode(L, idx, &json, err, sizeof err) == LC_OK) {
      lua_pushstring(L, json);
      free(json);
      return lua_tostring(L, -1);
    }
  }
  if (lua_isboolean(L, idx)) {
    lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
    return lua_tostring(L, -1);
  }
  return lua_pushfstring(L, "(%s)", luaL_typename(L, idx));
}

/* log.<level>(message) or log.<level>(format, ...) with string.format semantics.
 * Upvalues: the level, string.format. */
static int lc_log_emit(lua_State *L) {
  lc_state *st = lc_state_get(L);
  int level = (int)lua_tointeger(L, lua_upvalueindex(1));
  const lc_config *cfg = &st->rt->config;
  /* Skip formatting when nobody listens (debug lines in hot loops). */
  if (!cfg->log || level < cfg->log_level) return 0;
  const char *message;
  if (lua_gettop(L) > 1) {
    luaL_checktype(L, 1, LUA_TSTRING);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    message = lua_tostring(L, -1);
  } else {
    message = lc_log_text(L, 1);
  }
  lc_state_log(st, level, "%s", message);
  return 0;
}

/* log.secret(value): the value is redacted from every later log line and error. */
static int lc_log_secret(lua_State *L) {
  size_t len;
  const char *value = luaL_checklstring(L, 1, &len);
  lc_state_add_secret(lc_state_get(L), value, len);
  return 0;
}

int lc_open_log(lua_State *L) {
  static const struct {
    const char *name;
    int level;
  } levels[] = {{"debug", LC_LOG_DEBUG},
                {"info", LC_LOG_INFO},
                {"warn", LC_LOG_WARN},
                {"error", LC_LOG_ERROR}};
  lua_createtable(L, 0, 5);
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  lua_getfield(L, -1, "string");
  if (!lua_istable(L, -1)) return luaL_error(L, "log: the string library is not open");
  lua_getfield(L, -1, "format");
  int format = lua_gettop(L);
  for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
    lua_pushinteger(L, levels[i].level);
    lua_pushvalue(L, format);
    lua_pushcclosure(L, lc_log_emit, 2);
    lua_setfield(L, -5, levels[i].name);
  }
  lua_pop(L, 3);
  lua_pushcfunction(L, lc_log_secret);
  lua_setfield(L, -2, "secret");
  return 1;
}
