/* lc_call.c: calling into a loaded connector (its methods with its options, under
 * the time budget), and the lifetimes of the read and write sessions that live in
 * the running version's state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

int lc_connector_fail(lc_connector *conn, int code, const char *message) {
  return lc_error_set_full(&conn->rt->error, code, message, conn->v.script, 0, NULL);
}

int lc_connector_protected(lc_connector *conn, lua_CFunction f, void *ud) {
  return lc_sandbox_protected(conn->v.st, f, ud);
}

bool lc_connector_defines(lc_connector *conn, const char *name) {
  lua_State *L = conn->v.st->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->v.ref_connector);
  lua_getfield(L, -1, name);
  bool yes = lua_isfunction(L, -1);
  lua_pop(L, 2);
  return yes;
}

int lc_connector_push_method(lc_connector *conn, const char *name) {
  lua_State *L = conn->v.st->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->v.ref_connector);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return LC_DONE;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->v.ref_options);
  return LC_OK;
}

int lc_connector_require_options(lc_connector *conn, const char *op) {
  lua_State *L = conn->v.st->L;
  lc_error_clear(&conn->rt->error);
  if (!lc_connector_defines(conn, op)) {
    char msg[256];
    snprintf(msg, sizeof msg, "this connector cannot %s: it defines no %s function", op, op);
    return lc_connector_fail(conn, LC_ERR_CONTRACT, msg);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->v.ref_connector);
  lua_getfield(L, -1, "options");
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->v.ref_options);
  char err[LC_ERRMSG_MAX];
  int rc = lc_options_require(L, -2, -1, op, err, sizeof err);
  lua_pop(L, 3);
  if (rc == LC_OK) return LC_OK;
  char msg[LC_ERRMSG_MAX + 32];
  snprintf(msg, sizeof msg, "bad options: %s", err);
  return lc_connector_fail(conn, rc, msg);
}

char *lc_connector_json_lines(lua_State *L, int idx, const char *function) {
  idx = lc_absindex(L, idx);
  if (!lua_istable(L, idx))
    luaL_error(L, "%s must return a list of partitions, got %s", function, luaL_typename(L, idx));
  size_t n = lua_objlen(L, idx), used = 0;
  char *lines = calloc(1, 1);
  for (size_t i = 1; lines && i <= n; i++) {
    lua_rawgeti(L, idx, (int)i);
    char *json = NULL, err[256];
    int rc = lc_json_encode(L, -1, &json, err, sizeof err);
    lua_pop(L, 1);
    if (rc != LC_OK) {
      free(lines);
      luaL_error(L, "%s: partition %d is not JSON-serialisable: %s", function, (int)i, err);
    }
    size_t len = strlen(json);
    char *grown = realloc(lines, used + len + 2);
    if (grown) {
      memcpy(grown + used, json, len);
      used += len;
      grown[used++] = '\n';
      grown[used] = '\0';
    } else {
      free(lines);
    }
    lines = grown;
    free(json);
  }
  if (!lines) luaL_error(L, "out of memory");
  return lines;
}

int lc_connector_set_schema(lc_connector *conn, const char *ddl) {
  if (!conn || !ddl) return LC_ERR_ARGUMENT;
  lc_type *parsed = NULL;
  char err[512];
  if (lc_schema_parse(ddl, strlen(ddl), &parsed, err, sizeof err) != LC_OK) {
    char msg[LC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "schema \"%.200s\": %s", ddl, err);
    return lc_connector_fail(conn, LC_ERR_SCHEMA, msg);
  }
  char *copy = strdup(ddl);
  if (!copy) {
    lc_type_free(parsed);
    return lc_error_set(&conn->rt->error, LC_ERR_NOMEM, "out of memory");
  }
  lc_connector_end_read(conn);
  lc_rows_free(conn->read.rows); /* built for the schema before */
  conn->read.rows = NULL;
  lc_type_free(conn->fixed);
  free(conn->fixed_ddl);
  conn->fixed = parsed;
  conn->fixed_ddl = copy;
  return LC_OK;
}

void lc_connector_end_read(lc_connector *conn) {
  lc_read_session *r = &conn->read;
  /* A read that ended (done, failed or abandoned) leaves no request behind: pages
   * fetched ahead would otherwise go on, and retry, while later calls wait. */
  if (r->ref_co != LUA_NOREF && conn->v.st)
    lc_http_abandon_all(conn->v.st->L, "abandoned when its read ended");
  if (r->ref_co != LUA_NOREF && conn->v.st) luaL_unref(conn->v.st->L, LUA_REGISTRYINDEX, r->ref_co);
  r->ref_co = LUA_NOREF;
  r->co = NULL;
  r->started = r->finished = r->yield_expected = false;
  r->rows_emitted = 0;
  /* Rows of an abandoned read (e.g. a --limit) must not leak into the next one. */
  if (r->rows) lc_builder_clear(lc_rows_builder(r->rows));
}

void lc_connector_end_write(lc_connector *conn) {
  lc_write_session *w = &conn->write;
  if (w->ref_co != LUA_NOREF && conn->v.st)
    lc_http_abandon_all(conn->v.st->L, "abandoned when its write ended");
  if (w->ref_co != LUA_NOREF && conn->v.st) luaL_unref(conn->v.st->L, LUA_REGISTRYINDEX, w->ref_co);
  lc_rowjson_free(w->json);
  *w = (lc_write_session){.ref_co = LUA_NOREF};
}

void lc_connector_drop_version(lc_connector *conn) {
  lc_connector_end_read(conn);
  lc_connector_end_write(conn);
  lc_rows_free(conn->read.rows); /* before the state its references live in */
  conn->read.rows = NULL;
  lc_version_release(&conn->v);
}
