/* lc_read.c: reading a partition. read(opts, partition, emit) runs in a coroutine;
 * emit appends the row (or a json.page's records, lc_records.c) to the batch builder
 * and yields when the batch is full, so memory stays bounded however much the script
 * reads. */
#include <stdlib.h>
#include <string.h>

#include "lc_internal.h"

void lc_read_reset(lc_connector *conn) {
  if (conn->ref_read_co != LUA_NOREF) luaL_unref(conn->st->L, LUA_REGISTRYINDEX, conn->ref_read_co);
  conn->ref_read_co = LUA_NOREF;
  conn->read_co = NULL;
  conn->read_started = conn->read_finished = conn->read_yield_expected = false;
  conn->rows_emitted = 0;
  /* Rows of an abandoned read (e.g. a --limit) must not leak into the next one. */
  if (conn->builder) lc_builder_clear(conn->builder);
}

int lc_read_emit(lua_State *L) {
  lc_connector *conn = lua_touserdata(L, lua_upvalueindex(1));
  if (L != conn->read_co)
    return luaL_error(L, "emit must be called by read itself, not from another coroutine");
  const lc_config *cfg = &conn->rt->config;
  if (lc_page_is(L, 1)) {
    lc_page_fill(L, 1, conn->builder, &conn->rows_emitted, cfg->batch_rows,
                 (size_t)cfg->batch_bytes);
  } else {
    if (!lua_istable(L, 1))
      return luaL_error(L, "emit expects a row (a table keyed by column name) or a json.page, got %s",
                        luaL_typename(L, 1));
    char err[512];
    if (lc_builder_append(conn->builder, L, 1, conn->rows_emitted + 1, err, sizeof err) != LC_OK)
      return lc_state_raise(L, LC_ERR_VALUE, "%s", err);
    conn->rows_emitted++;
  }
  if (lc_builder_full(conn->builder, cfg->batch_rows, (size_t)cfg->batch_bytes)) {
    conn->read_yield_expected = true;
    return lua_yield(L, 0);
  }
  return 0;
}

typedef struct read_start {
  lc_connector *conn;
  const char *partition_json;
} read_start;

/* Protected: creates the coroutine and pushes read, opts, partition and emit on it. */
static int start_protected(lua_State *L) {
  read_start *s = lua_touserdata(L, 1);
  lc_connector *conn = s->conn;
  if (!conn->builder) {
    int rc = lc_builder_new(conn->schema, L, &conn->builder);
    if (rc != LC_OK) return luaL_error(L, "cannot create a batch builder: %s", lc_status_string(rc));
  }
  lua_State *co = lua_newthread(L);
  lc_sandbox_push_coroutine(conn->st, co);
  conn->ref_read_co = luaL_ref(L, LUA_REGISTRYINDEX);
  conn->read_co = co;
  lc_connector_push_method(conn, "read");
  const char *json = s->partition_json ? s->partition_json : "{}";
  char err[256];
  if (lc_json_decode(L, json, strlen(json), err, sizeof err) != LC_OK)
    return luaL_error(L, "the partition is not valid JSON: %s", err);
  lua_pushlightuserdata(L, conn);
  lua_pushcclosure(L, lc_read_emit, 1);
  lua_xmove(L, co, 4);
  return 0;
}

int lc_read_begin(lc_connector *conn, const char *partition_json) {
  if (!conn) return LC_ERR_ARGUMENT;
  lc_connector_safe_point(conn);
  lc_read_reset(conn);
  int rc = lc_connector_require_options(conn, "read");
  if (rc != LC_OK) return rc;
  read_start s = {conn, partition_json};
  rc = lc_connector_protected(conn, start_protected, &s);
  if (rc != LC_OK) lc_read_reset(conn);
  return rc;
}

int lc_read_next(lc_connector *conn, struct ArrowSchema *schema, struct ArrowArray *array) {
  if (!conn || !schema || !array) return LC_ERR_ARGUMENT;
  lc_error_clear(&conn->rt->error);
  if (!conn->read_co && !conn->read_finished)
    return lc_error_set(&conn->rt->error, LC_ERR_STATE, "lc_read_next called before lc_read_begin");
  if (!conn->read_finished) {   /* resume read() until the batch is full or it returns */
    int nargs = conn->read_started ? 0 : 5; /* handler, read, opts, partition, emit */
    conn->read_started = true;
    conn->read_yield_expected = false;
    int rc = lc_sandbox_resume(conn->st, conn->read_co, nargs);
    if (rc == LC_DONE) {
      conn->read_finished = true;
    } else if (rc != LC_OK) {
      lc_read_reset(conn);
      return rc;
    } else if (!conn->read_yield_expected) {
      lc_read_reset(conn);
      return lc_error_set_full(&conn->rt->error, LC_ERR_CONTRACT,
                               "read must not call coroutine.yield on its own coroutine",
                               conn->script, 0, NULL);
    }
  }
  if (lc_builder_rows(conn->builder) == 0) {
    lc_read_reset(conn);
    conn->read_finished = true;
    return LC_DONE;
  }
  return lc_builder_finish(conn->builder, schema, array);
}
