/* lc_stream.c: the streaming side of the contract. Offsets cross the boundary as
 * JSON, so Spark's checkpoint (not the connector) stores them. */
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

typedef struct stream_call {
  lc_connector *conn;
  const char *method;
  const char *args[3]; /* JSON texts; NULL passes nil */
  int nargs;
  bool lines; /* encode the result as JSON lines (a list of partitions) */
  char **out; /* NULL: the result is ignored */
} stream_call;

static int stream_protected(lua_State *L) {
  stream_call *c = lua_touserdata(L, 1);
  if (lc_connector_push_method(c->conn, c->method) == LC_DONE) {
    if (c->out)
      return luaL_error(L, "this connector cannot stream: it has no %s function", c->method);
    return 0;
  }
  for (int i = 0; i < c->nargs; i++) {
    char err[256];
    if (!c->args[i])
      lua_pushnil(L);
    else if (lc_json_decode(L, c->args[i], strlen(c->args[i]), err, sizeof err) != LC_OK)
      return luaL_error(L, "%s: argument %d is not valid JSON: %s", c->method, i + 1, err);
  }
  lua_call(L, 1 + c->nargs, 1);
  if (!c->out) return 0;
  if (c->lines) {
    *c->out = lc_connector_json_lines(L, -1, c->method);
    return 0;
  }
  char err[256];
  if (lc_json_encode(L, -1, c->out, err, sizeof err) != LC_OK)
    return luaL_error(L, "%s must return a JSON-serialisable offset: %s", c->method, err);
  return 0;
}

static int stream_call_run(stream_call *c) {
  if (c->out) *c->out = NULL;
  lc_connector_safe_point(c->conn);
  int rc = lc_connector_require_options(c->conn, "read");
  if (rc == LC_OK) rc = lc_connector_protected(c->conn, stream_protected, c);
  if (rc != LC_OK && c->out) {
    free(*c->out);
    *c->out = NULL;
  }
  return rc;
}

int lc_stream_initial_offset(lc_connector *conn, char **offset_json) {
  if (!conn || !offset_json) return LC_ERR_ARGUMENT;
  stream_call c = {conn, "initial_offset", {NULL}, 0, false, offset_json};
  return stream_call_run(&c);
}

int lc_stream_latest_offset(lc_connector *conn, const char *start_json, const char *limit_json,
                            char **offset_json) {
  if (!conn || !offset_json) return LC_ERR_ARGUMENT;
  stream_call c = {conn, "latest_offset", {start_json, limit_json}, 2, false, offset_json};
  return stream_call_run(&c);
}

int lc_stream_partitions(lc_connector *conn, const char *start_json, const char *end_json,
                         char **json_lines_out) {
  if (!conn || !json_lines_out) return LC_ERR_ARGUMENT;
  stream_call c = {conn, "stream_partitions", {start_json, end_json}, 2, true, json_lines_out};
  return stream_call_run(&c);
}

int lc_stream_commit(lc_connector *conn, const char *end_json) {
  if (!conn) return LC_ERR_ARGUMENT;
  stream_call c = {conn, "stream_commit", {end_json}, 1, false, NULL};
  return stream_call_run(&c);
}
