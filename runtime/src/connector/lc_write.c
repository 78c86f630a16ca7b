/* lc_write.c: writing rows. write(opts, rows) runs in a coroutine; `rows` is an
 * iterator that hands out the rows of the current Arrow batch and yields back to C
 * when the batch is used up, so a task's rows stream through in bounded memory. */
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

/* Pushes the next row of the current batch; false when the batch is used up. */
static bool push_next_row(lua_State *L, lc_connector *conn) {
  if (!conn->write.array || conn->write.row >= conn->write.array->length) return false;
  char err[512];
  if (lc_rows_push(L, conn->write.schema, conn->write.array, conn->write.row, err, sizeof err) !=
      LC_OK)
    lc_state_raise(L, LC_ERR_VALUE, "row %lld: %s", (long long)conn->write.rows_written + 1, err);
  conn->write.row++;
  conn->write.rows_written++;
  return true;
}

static int next_row(lua_State *L) {
  lc_connector *conn = lua_touserdata(L, lua_upvalueindex(1));
  if (L != conn->write.co)
    return luaL_error(L, "the rows iterator must be used by write itself, not another coroutine");
  if (push_next_row(L, conn)) return 1;
  if (conn->write.input_ended) return 0;
  /* Ask C for the next batch: lc_write_batch resumes us with its first row,
   * lc_write_end with nothing (the end of the rows). */
  conn->write.yield_expected = true;
  conn->write.resume_false = false;
  return lua_yield(L, 0);
}

/* json.encode_rows(rows, n): the next rows (at most n) of write's rows iterator as
 * the text of a JSON array of objects, and their number; nil after the last row;
 * false when a new batch of rows has just arrived (call again). Rows taken but not
 * yet returned are the connector's; write must not return while it holds some. */
static int encode_rows(lua_State *L) {
  if (lua_tocfunction(L, 1) != next_row)
    return luaL_argerror(L, 1, "expected the rows iterator write(opts, rows) received");
  lua_getupvalue(L, 1, 1);
  lc_connector *conn = lua_touserdata(L, -1);
  lua_pop(L, 1);
  lua_Number n = luaL_checknumber(L, 2);
  if (!(n >= 1)) return luaL_argerror(L, 2, "expected a number of rows, 1 or more");
  if (L != conn->write.co)
    return luaL_error(L, "the rows iterator must be used by write itself, not another coroutine");
  if (!conn->write.json && !(conn->write.json = lc_rowjson_new()))
    return luaL_error(L, "out of memory encoding rows as JSON");
  char err[LC_ERRMSG_MAX];
  while (lc_rowjson_rows(conn->write.json) < (int64_t)n) {
    if (conn->write.array && conn->write.row < conn->write.array->length) {
      if (lc_rowjson_add(conn->write.json, L, conn->write.schema, conn->write.array,
                         conn->write.row, err, sizeof err) != LC_OK)
        return lc_state_raise(L, LC_ERR_VALUE, "row %lld: %s",
                              (long long)conn->write.rows_written + 1, err);
      conn->write.row++;
      conn->write.rows_written++;
    } else if (conn->write.input_ended) {
      break;
    } else {
      /* The rows so far wait in write_json while C fetches the next batch. */
      conn->write.yield_expected = conn->write.resume_false = true;
      return lua_yield(L, 0);
    }
  }
  if (lc_rowjson_rows(conn->write.json) == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushnumber(L, (lua_Number)lc_rowjson_rows(conn->write.json));
  lc_rowjson_push(conn->write.json, L);
  lua_insert(L, -2);
  return 2;
}

/* json.encodes_rows(rows): true when rows is write's own iterator, which
 * json.encode_rows takes. */
static int encodes_rows(lua_State *L) {
  lua_pushboolean(L, lua_tocfunction(L, 1) == next_row);
  return 1;
}

void lc_write_register_json(lua_State *L) {
  lua_pushcfunction(L, encode_rows);
  lua_setfield(L, -2, "encode_rows");
  lua_pushcfunction(L, encodes_rows);
  lua_setfield(L, -2, "encodes_rows");
}

static int start_protected(lua_State *L) {
  lc_connector *conn = lua_touserdata(L, 1);
  lua_State *co = lua_newthread(L);
  lc_sandbox_push_coroutine(conn->v.st, co);
  conn->write.ref_co = luaL_ref(L, LUA_REGISTRYINDEX);
  conn->write.co = co;
  lc_connector_push_method(conn, "write");
  lua_pushlightuserdata(L, conn);
  lua_pushcclosure(L, next_row, 1);
  lua_xmove(L, co, 3);
  return 0;
}

/* Resumes write(); returns LC_OK when it waits for rows, LC_DONE when it returned. */
static int resume_write(lc_connector *conn, int nargs) {
  conn->write.yield_expected = false;
  int rc = lc_sandbox_resume(conn->v.st, conn->write.co, nargs);
  if (rc == LC_DONE) conn->write.finished = true;
  if (rc == LC_OK && !conn->write.yield_expected)
    rc = lc_error_set_full(&conn->rt->error, LC_ERR_CONTRACT,
                           "write must not call coroutine.yield on its own coroutine",
                           conn->v.script, 0, NULL);
  if (rc < 0) lc_connector_end_write(conn);
  return rc;
}

int lc_write_begin(lc_connector *conn) {
  if (!conn) return LC_ERR_ARGUMENT;
  lc_connector_safe_point(conn);
  lc_connector_end_write(conn);
  int rc = lc_connector_require_options(conn, "write");
  if (rc == LC_OK) rc = lc_connector_protected(conn, start_protected, conn);
  if (rc == LC_OK) rc = resume_write(conn, 4); /* handler, write, opts, rows */
  if (rc == LC_DONE) rc = LC_OK; /* write() returned at once: fine unless rows follow */
  return rc;
}

/* Protected: pushes the batch's first row onto the write coroutine (or false, for
 * a waiting json.encode_rows, which takes the rows itself). */
static int push_first_protected(lua_State *L) {
  lc_connector *conn = lua_touserdata(L, 1);
  if (conn->write.resume_false)
    lua_pushboolean(L, 0);
  else if (!push_next_row(L, conn))
    return 0;
  lua_xmove(L, conn->write.co, 1);
  return 0;
}

int lc_write_batch(lc_connector *conn, const struct ArrowSchema *schema,
                   const struct ArrowArray *array) {
  if (!conn || !schema || !array) return LC_ERR_ARGUMENT;
  lc_error_clear(&conn->rt->error);
  if (!conn->write.co)
    return lc_error_set(&conn->rt->error, LC_ERR_STATE, "lc_write_batch before lc_write_begin");
  char err[512];
  if (lc_arrow_check_schema(schema, err, sizeof err) != LC_OK)
    return lc_error_set(&conn->rt->error, LC_ERR_VALUE, "cannot write this batch: %s", err);
  if (array->length == 0) return LC_OK;
  conn->write.schema = schema;
  conn->write.array = array;
  conn->write.row = 0;
  lc_rowjson_new_batch(conn->write.json);
  int rc =
      conn->write.finished ? LC_DONE : lc_connector_protected(conn, push_first_protected, conn);
  if (rc == LC_OK) rc = resume_write(conn, 1);
  if (rc == LC_DONE && conn->write.row < array->length) {
    /* Rows nobody read would be lost without a word. */
    lc_connector_end_write(conn);
    return lc_error_set_full(&conn->rt->error, LC_ERR_CONTRACT,
                             "write(opts, rows) returned before reading every row", conn->v.script,
                             0, NULL);
  }
  if (rc < 0) lc_connector_end_write(conn);
  conn->write.schema = NULL;
  conn->write.array = NULL;
  return rc < 0 ? rc : LC_OK;
}

static int encode_protected(lua_State *L) {
  char **out = lua_touserdata(L, 1);
  lua_State *co = lua_tothread(L, 2);
  if (lua_gettop(co) == 0 || lua_isnil(co, -1)) {
    *out = strdup("null");
    return 0;
  }
  lua_xmove(co, L, 1);
  char err[256];
  if (lc_json_encode(L, -1, out, err, sizeof err) != LC_OK)
    return luaL_error(L, "write(opts, rows) must return a JSON-serialisable commit message: %s",
                      err);
  return 0;
}

int lc_write_end(lc_connector *conn, char **commit_message_json) {
  if (!conn || !commit_message_json) return LC_ERR_ARGUMENT;
  *commit_message_json = NULL;
  lc_error_clear(&conn->rt->error);
  if (!conn->write.co)
    return lc_error_set(&conn->rt->error, LC_ERR_STATE, "lc_write_end before lc_write_begin");
  conn->write.input_ended = true;
  int nargs = 0;
  if (!conn->write.finished && conn->write.resume_false) {
    lua_pushboolean(conn->write.co, 0); /* json.encode_rows returns its last rows next */
    nargs = 1;
  }
  int rc = conn->write.finished ? LC_DONE : resume_write(conn, nargs);
  if (rc == LC_OK) {
    lc_connector_end_write(conn);
    return lc_error_set_full(&conn->rt->error, LC_ERR_CONTRACT,
                             "write(opts, rows) asked for more rows after the last one",
                             conn->v.script, 0, NULL);
  }
  if (rc != LC_DONE) return rc;
  /* The coroutine's return values are on its stack; keep only the first. */
  lua_settop(conn->write.co, lua_gettop(conn->write.co) > 0 ? 1 : 0);
  lua_State *L = conn->v.st->L;
  lua_pushcfunction(L, encode_protected);
  lua_pushlightuserdata(L, commit_message_json);
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->write.ref_co);
  rc = lc_sandbox_call(conn->v.st, 2, 0);
  lc_connector_end_write(conn);
  return rc;
}

void lc_write_cancel(lc_connector *conn) {
  if (conn) lc_connector_end_write(conn);
}
