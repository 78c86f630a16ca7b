/* lc_secrets.c: the "secrets" host module: the secrets-file provider of the auth
 * fallback chain (lua/luaconn/auth.lua).
 *
 * The file is the one the environment variable LUACONN_SECRETS_FILE names, so the
 * operator chooses it, never a script (scripts still cannot read files). Formats:
 * a JSON object {"scope": {"key": "value"}}, or lines "scope.key=value" (blank lines
 * and lines starting with # are skipped). Values found are registered as secrets,
 * so they are redacted from every log line and error; errors never quote the file.
 */
#include <stdlib.h>
#include <string.h>

#include "host/lc_host.h"

#define LC_SECRETS_ENV "LUACONN_SECRETS_FILE"

/* Pushes the value of "scope.key" from KEY=VALUE lines, or nil. */
static void lc_secrets_push_from_lines(lua_State *L, const char *text, size_t len,
                                       const char *scope, const char *key) {
  size_t scope_len = strlen(scope), key_len = strlen(key);
  const char *end = text + len;
  for (const char *line = text; line < end;) {
    const char *stop = memchr(line, '\n', (size_t)(end - line));
    if (!stop) stop = end;
    const char *eq = memchr(line, '=', (size_t)(stop - line));
    if (line[0] != '#' && eq && (size_t)(eq - line) == scope_len + 1 + key_len &&
        memcmp(line, scope, scope_len) == 0 && line[scope_len] == '.' &&
        memcmp(line + scope_len + 1, key, key_len) == 0) {
      const char *value = eq + 1, *value_end = stop;
      if (value_end > value && value_end[-1] == '\r') value_end--;
      lua_pushlstring(L, value, (size_t)(value_end - value));
      return;
    }
    line = stop + 1;
  }
  lua_pushnil(L);
}

/* Pushes obj[scope][key] of the JSON text when it is a string, or nil. Returns
 * false when the text is not JSON. */
static bool lc_secrets_push_from_json(lua_State *L, const char *text, size_t len, const char *scope,
                                      const char *key) {
  char err[256];
  if (lc_json_decode(L, text, len, err, sizeof err) != LC_OK) return false;
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, scope);
    lua_replace(L, -2);
  }
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, key);
    lua_replace(L, -2);
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  return true;
}

/* secrets.get(scope, key) -> value and "secrets file PATH", or nil and why not
 * ("not in secrets file PATH", "no secrets file (...)"), for the auth chain's error. */
static int lc_secrets_get(lua_State *L) {
  const char *scope = luaL_checkstring(L, 1);
  const char *key = luaL_checkstring(L, 2);
  const char *path = getenv(LC_SECRETS_ENV);
  if (!path || !*path) {
    lua_pushnil(L);
    lua_pushliteral(L, "no secrets file (" LC_SECRETS_ENV " is not set)");
    return 2;
  }
  char *data; /* owned here; freed before anything can raise */
  size_t len;
  if (lc_file_read(path, &data, &len) != LC_OK)
    return luaL_error(L, "secrets file %s (from %s) cannot be read", path, LC_SECRETS_ENV);
  size_t skip = strspn(data, " \t\r\n");
  bool parsed = true;
  if (skip < len && data[skip] == '{')
    parsed = lc_secrets_push_from_json(L, data, len, scope, key);
  else
    lc_secrets_push_from_lines(L, data, len, scope, key);
  free(data);
  if (!parsed) return luaL_error(L, "secrets file %s is not valid JSON", path);
  if (lua_isstring(L, -1)) {
    size_t value_len;
    const char *value = lua_tolstring(L, -1, &value_len);
    lc_state_add_secret(lc_state_get(L), value, value_len);
  }
  lua_pushfstring(L, lua_isnil(L, -1) ? "not in secrets file %s" : "secrets file %s", path);
  return 2;
}

int lc_open_secrets(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lc_secrets_get);
  lua_setfield(L, -2, "get");
  return 1;
}
