/* lc_json.c: the "json" host module: json.encode, json.decode and json.null on
 * the runtime's JSON codec (vm/lc_codec.c). The connector layer adds json.page and
 * json.encode_rows when the module is required. */
#include "host/lc_host.h"

int lc_open_json(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushcfunction(L, lc_json_lua_encode);
  lua_setfield(L, -2, "encode");
  lua_pushcfunction(L, lc_json_lua_decode);
  lua_setfield(L, -2, "decode");
  lc_json_push_null(L);
  lua_setfield(L, -2, "null");
  return 1;
}
