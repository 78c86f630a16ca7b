/* lc_env.c: the "env" host module: read-only access to environment variables. */
#include <stdlib.h>

#include "host/lc_host.h"

/* env.get(name [, default]): the variable's value, else default (nil if none). */
static int lc_env_get(lua_State *L) {
  const char *value = getenv(luaL_checkstring(L, 1));
  if (value)
    lua_pushstring(L, value);
  else
    lua_settop(L, 2);
  return 1;
}

int lc_open_env(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lc_env_get);
  lua_setfield(L, -2, "get");
  return 1;
}
