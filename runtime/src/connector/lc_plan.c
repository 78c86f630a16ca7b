/* lc_plan.c: the driver-side calls of the contract: planning partitions, and
 * handing every task's commit message to commit or abort. */
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

typedef struct json_result {
  lc_connector *conn;
  char **out;
} json_result;

/* Protected: calls partitions(opts) and encodes what it returns as JSON lines. */
static int partitions_protected(lua_State *L) {
  json_result *r = lua_touserdata(L, 1);
  if (lc_connector_push_method(r->conn, "partitions") == LC_DONE) {
    *r->out = strdup("{}\n"); /* one partition, described by an empty table */
    return 0;
  }
  lua_call(L, 1, 1);
  *r->out = lc_connector_json_lines(L, -1, "partitions(opts)");
  return 0;
}

int lc_connector_partitions(lc_connector *conn, char **json_out) {
  if (!conn || !json_out) return LC_ERR_ARGUMENT;
  *json_out = NULL;
  lc_connector_safe_point(conn);
  int rc = lc_connector_require_options(conn, "read");
  if (rc != LC_OK) return rc;
  json_result r = {conn, json_out};
  rc = lc_connector_protected(conn, partitions_protected, &r);
  if (rc == LC_OK && !*json_out) rc = lc_error_set(&conn->rt->error, LC_ERR_NOMEM, "out of memory");
  if (rc != LC_OK) {
    free(*json_out);
    *json_out = NULL;
  }
  return rc;
}

int lc_connector_filters(lc_connector *conn, char **json_out) {
  if (!conn || !json_out) return LC_ERR_ARGUMENT;
  *json_out = NULL;
  lc_error_clear(&conn->rt->error);
  char err[LC_ERRMSG_MAX];
  int rc = lc_filters_declared_json(conn->v.st, conn->v.ref_connector, conn->v.ref_options,
                                    json_out, err, sizeof err);
  if (rc == LC_ERR_CONTRACT) return lc_connector_fail(conn, rc, err);
  return rc;
}

typedef struct finish_call {
  lc_connector *conn;
  const char *method;
  const char *messages_json;
} finish_call;

static int finish_protected(lua_State *L) {
  finish_call *c = lua_touserdata(L, 1);
  if (lc_connector_push_method(c->conn, c->method) == LC_DONE) return 0;
  char err[256];
  const char *json = c->messages_json ? c->messages_json : "[]";
  if (lc_json_decode(L, json, strlen(json), err, sizeof err) != LC_OK)
    return luaL_error(L, "%s: commit messages are not valid JSON: %s", c->method, err);
  lua_call(L, 2, 0);
  return 0;
}

static int finish_write(lc_connector *conn, const char *method, const char *messages_json) {
  if (!conn) return LC_ERR_ARGUMENT;
  lc_error_clear(&conn->rt->error);
  finish_call c = {conn, method, messages_json};
  return lc_connector_protected(conn, finish_protected, &c);
}

int lc_connector_commit(lc_connector *conn, const char *messages_json) {
  return finish_write(conn, "commit", messages_json);
}

int lc_connector_abort(lc_connector *conn, const char *messages_json) {
  return finish_write(conn, "abort", messages_json);
}
