/* lc_read.c: reading a partition. read(opts, partition, emit) runs in a coroutine;
 * emit appends the row (or a json.page's records, lc_records.c) to the batch builder
 * and yields when the batch is full, so memory stays bounded however much the script
 * reads. */
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

/* The emit function read() receives (a C closure over its connector). */
static int read_emit(lua_State *L) {
  lc_connector *conn = lua_touserdata(L, lua_upvalueindex(1));
  if (L != conn->read.co)
    return luaL_error(L, "emit must be called by read itself, not from another coroutine");
  const lc_config *cfg = &conn->rt->config;
  if (conn->read.infer) { /* sample mode: records feed the inference, no batches */
    if (lc_page_is(L, 1))
      lc_page_sample(L, 1, conn->read.infer);
    else if (lua_istable(L, 1))
      lc_infer_lua(conn->read.infer, L, 1);
    else
      return luaL_error(L,
                        "emit expects a row (a table keyed by column name) or a json.page, got %s",
                        luaL_typename(L, 1));
    if (lc_infer_records(conn->read.infer) < conn->read.infer_max) return 0;
    conn->read.yield_expected = true;
    return lua_yield(L, 0);
  }
  if (lc_page_is(L, 1)) {
    lc_page_fill(L, 1, conn->read.rows, &conn->read.rows_emitted, cfg->batch_rows,
                 (size_t)cfg->batch_bytes);
  } else {
    if (!lua_istable(L, 1))
      return luaL_error(L,
                        "emit expects a row (a table keyed by column name) or a json.page, got %s",
                        luaL_typename(L, 1));
    char err[512];
    if (lc_rows_append(conn->read.rows, L, 1, conn->read.rows_emitted + 1, err, sizeof err) !=
        LC_OK)
      return lc_state_raise_final(L, LC_ERR_VALUE, err);
    conn->read.rows_emitted++;
  }
  if (lc_builder_full(lc_rows_builder(conn->read.rows), cfg->batch_rows,
                      (size_t)cfg->batch_bytes)) {
    conn->read.yield_expected = true;
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
  if (!conn->read.rows && !conn->read.infer) {
    int rc = lc_rows_new(lc_connector_schema_type(conn), L, &conn->read.rows);
    if (rc != LC_OK)
      return luaL_error(L, "cannot create a batch builder: %s", lc_status_string(rc));
  }
  lua_State *co = lua_newthread(L);
  lc_sandbox_push_coroutine(conn->v.st, co);
  conn->read.ref_co = luaL_ref(L, LUA_REGISTRYINDEX);
  conn->read.co = co;
  lc_connector_push_method(conn, "read");
  const char *json = s->partition_json ? s->partition_json : "{}";
  char err[256];
  if (lc_json_decode(L, json, strlen(json), err, sizeof err) != LC_OK)
    return luaL_error(L, "the partition is not valid JSON: %s", err);
  lua_pushlightuserdata(L, conn);
  lua_pushcclosure(L, read_emit, 1);
  lc_records_accept_pages(L, -1);
  lua_xmove(L, co, 4);
  return 0;
}

int lc_read_begin(lc_connector *conn, const char *partition_json) {
  if (!conn) return LC_ERR_ARGUMENT;
  lc_connector_safe_point(conn);
  lc_connector_end_read(conn);
  int rc = lc_connector_require_options(conn, "read");
  if (rc != LC_OK) return rc;
  if (!conn->read.infer && !lc_connector_schema_type(conn))
    return lc_connector_fail(conn, LC_ERR_SCHEMA, LC_SCHEMA_UNKNOWN);
  read_start s = {conn, partition_json};
  rc = lc_connector_protected(conn, start_protected, &s);
  if (rc != LC_OK) lc_connector_end_read(conn);
  return rc;
}

/* Resumes read() until emit yields (a full batch, or enough samples) or it returns
 * (LC_DONE, finished set). On an error the read is ended. */
static int read_resume(lc_connector *conn) {
  int nargs = conn->read.started ? 0 : 5; /* handler, read, opts, partition, emit */
  conn->read.started = true;
  conn->read.yield_expected = false;
  int rc = lc_sandbox_resume(conn->v.st, conn->read.co, nargs);
  if (rc == LC_DONE) {
    conn->read.finished = true;
  } else if (rc != LC_OK) {
    lc_connector_end_read(conn);
  } else if (!conn->read.yield_expected) {
    lc_connector_end_read(conn);
    rc = lc_connector_fail(conn, LC_ERR_CONTRACT,
                           "read must not call coroutine.yield on its own coroutine");
  }
  return rc;
}

int lc_read_next(lc_connector *conn, struct ArrowSchema *schema, struct ArrowArray *array) {
  if (!conn || !schema || !array) return LC_ERR_ARGUMENT;
  lc_error_clear(&conn->rt->error);
  if (!conn->read.co && !conn->read.finished)
    return lc_error_set(&conn->rt->error, LC_ERR_STATE, "lc_read_next called before lc_read_begin");
  if (!conn->read.finished) { /* resume read() until the batch is full or it returns */
    int rc = read_resume(conn);
    if (rc == LC_DONE)
      lc_rows_warn_unseen(conn->read.rows, conn->v.st, conn->read.rows_emitted);
    else if (rc != LC_OK)
      return rc;
  }
  if (lc_builder_rows(lc_rows_builder(conn->read.rows)) == 0) {
    lc_connector_end_read(conn);
    conn->read.finished = true;
    return LC_DONE;
  }
  return lc_builder_finish(lc_rows_builder(conn->read.rows), schema, array);
}

/* Reads until max_records records were emitted (or read() returns), feeding them to
 * the inference instead of batches. */
static int infer_sample(lc_connector *conn, const char *partition_json, lc_infer *in,
                        int64_t max_records) {
  conn->read.infer = in;
  conn->read.infer_max = max_records;
  int rc = lc_read_begin(conn, partition_json);
  while (rc == LC_OK && lc_infer_records(in) < max_records) rc = read_resume(conn);
  lc_connector_end_read(conn);
  conn->read.infer = NULL;
  return rc == LC_DONE ? LC_OK : rc;
}

int lc_connector_infer(lc_connector *conn, const char *partition_json, int64_t max_records,
                       char **ddl) {
  if (!conn || !ddl) return LC_ERR_ARGUMENT;
  *ddl = NULL;
  lc_error_clear(&conn->rt->error);
  lc_infer *in = lc_infer_new();
  if (!in) return lc_error_set(&conn->rt->error, LC_ERR_NOMEM, "out of memory");
  int rc = infer_sample(conn, partition_json, in, max_records > 0 ? max_records : 1000);
  if (rc == LC_OK && lc_infer_records(in) == 0)
    rc = lc_connector_fail(conn, LC_ERR_SCHEMA, "no records to infer a schema from");
  if (rc == LC_OK && !(*ddl = lc_infer_ddl(in)))
    rc = lc_error_set(&conn->rt->error, LC_ERR_NOMEM, "out of memory");
  const lc_type *declared = conn->v.schema;
  for (size_t i = 0; rc == LC_OK && declared && i < declared->n_children; i++)
    if (!lc_infer_has_field(in, declared->children[i].name))
      lc_state_log(conn->v.st, LC_LOG_WARN,
                   "column '%s' is declared but none of the %lld sampled records has it "
                   "(misspelt?)",
                   declared->children[i].name, (long long)lc_infer_records(in));
  /* schema = "infer": the sample decides the schema for the rest of the job. */
  if (rc == LC_OK && !lc_connector_schema_type(conn)) rc = lc_connector_set_schema(conn, *ddl);
  if (rc != LC_OK) {
    free(*ddl);
    *ddl = NULL;
  }
  lc_infer_free(in);
  return rc;
}
