/* lc_require.c: require inside the sandbox. C modules come from the list the
 * state was opened with (and may be extended by the layer above); Lua modules are
 * found by name in the search path, then lua_root, compiled from text only, each in
 * its own environment, and watched for hot reload. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/lc_vm.h"

/* Marks a module whose chunk is running, to catch circular requires. */
static char LOADING_SENTINEL;

static bool valid_module_name(const char *name) {
  if (!*name || *name == '.') return false;
  for (const char *p = name; *p; p++) {
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.')) return false;
    if (p[0] == '.' && p[1] == '.') return false;
  }
  return true;
}

/* Searches "<dir>/<a>/<b>.lua" for name "a.b" in search_path dirs, then lua_root.
 * Returns a malloc'd path (caller frees) or NULL; tried lists the candidates. */
static char *find_module(lc_runtime *rt, const char *name, luaL_Buffer *tried) {
  char rel[512];
  snprintf(rel, sizeof rel, "%s.lua", name);
  for (char *p = rel; *p && p < rel + strlen(name); p++)
    if (*p == '.') *p = '/';
  const char *dirs[2] = {rt->search_path, rt->lua_root};
  for (int d = 0; d < 2; d++) {
    const char *list = dirs[d];
    while (list && *list) {
      size_t n = strcspn(list, ":");
      if (n > 0) {
        char path[4096];
        snprintf(path, sizeof path, "%.*s/%s", (int)n, list, rel);
        if (access(path, R_OK) == 0) return strdup(path);
        luaL_addstring(tried, "; no file ");
        luaL_addstring(tried, path);
      }
      list += n;
      if (*list == ':') list++;
      if (d == 1) break; /* lua_root is one directory, not a list */
    }
  }
  return NULL;
}

int lc_require(lua_State *L) {
  lc_state *st = lc_state_get(L);
  const char *name = luaL_checkstring(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, st->registry_loaded);
  lua_getfield(L, -1, name);
  if (!lua_isnil(L, -1)) {
    if (lua_touserdata(L, -1) == &LOADING_SENTINEL)
      return luaL_error(L, "module '%s' requires itself (circular require)", name);
    return 1;
  }
  lua_pop(L, 1);
  for (size_t i = 0; i < st->n_modules; i++) {
    if (strcmp(name, st->modules[i].name) != 0) continue;
    lua_pushcfunction(L, st->modules[i].open);
    lua_call(L, 0, 1);
    if (st->extend) st->extend(L, name);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
  }
  if (!valid_module_name(name))
    return luaL_error(L, "module '%s' not found: not a valid module name", name);
  luaL_Buffer tried;
  luaL_buffinit(L, &tried);
  char *path = find_module(st->rt, name, &tried);
  if (!path) {
    luaL_pushresult(&tried);
    luaL_Buffer hosts; /* named from the module list so it cannot go stale */
    luaL_buffinit(L, &hosts);
    for (size_t i = 0; i < st->n_modules; i++) {
      if (i) luaL_addstring(&hosts, ", ");
      luaL_addstring(&hosts, st->modules[i].name);
    }
    luaL_pushresult(&hosts);
    return luaL_error(L, "module '%s' not found (host modules: %s%s)", name, lua_tostring(L, -1),
                      lua_tostring(L, -2));
  }
  luaL_pushresult(&tried);
  lua_pop(L, 1);
  char *source = NULL, chunkname[4200];
  size_t len = 0;
  int rc = lc_file_read(path, &source, &len);
  snprintf(chunkname, sizeof chunkname, "@%s", path);
  free(path);
  if (rc != LC_OK) return luaL_error(L, "module '%s': cannot read %s", name, chunkname + 1);
  lc_state_watch(st, chunkname + 1, source, len);
  /* Compile in text mode with its own environment, like a connector. */
  int status = luaL_loadbufferx(L, source, len, chunkname, "t");
  free(source);
  if (status != 0) return lua_error(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, st->registry_env);
  lua_call(L, 0, 1);
  lua_setfenv(L, -2);
  lua_pushlightuserdata(L, &LOADING_SENTINEL);
  lua_setfield(L, -3, name);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}
