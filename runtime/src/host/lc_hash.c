/* lc_hash.c: the "hash" host module: stable digests for ids scripts derive from
 * data (idempotency keys, message ids), the same on every machine and run. */
#include <stdio.h>

#include "host/lc_host.h"

/* hash.hex(text, ...): 16 hex digits of FNV-1a 64 over the arguments (strings or
 * numbers), each followed by a NUL so ("ab", "c") and ("a", "bc") differ. */
static int lc_hash_hex(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return luaL_error(L, "hash.hex: give at least one string or number");
  uint64_t h = LC_HASH_SEED;
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *text = luaL_checklstring(L, i, &len);
    h = lc_hash_bytes(lc_hash_bytes(h, text, len), "", 1);
  }
  char out[17];
  snprintf(out, sizeof out, "%016llx", (unsigned long long)h);
  lua_pushstring(L, out);
  return 1;
}

int lc_open_hash(lua_State *L) {
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lc_hash_hex);
  lua_setfield(L, -2, "hex");
  return 1;
}
