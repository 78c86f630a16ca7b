/* lc_connector.c: the public face of a connector: opening one (its first version
 * and the options it keeps for reloads), freeing it, checking a script, and what
 * the running version is and can do. Connectors see the json host module extended
 * with json.page and json.encode_rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

/* lc_module_extend_fn: json.page (lc_records.c) and json.encode_rows (lc_write.c). */
static void extend_module(lua_State *L, const char *module) {
  if (strcmp(module, "json") != 0) return;
  lc_records_register(L);
  lc_write_register_json(L);
}

static char **copy_options(const char *const *kv, size_t n) {
  char **copy = calloc(2 * n + 1, sizeof *copy);
  for (size_t i = 0; copy && i < 2 * n; i++) {
    if (kv[i] && !(copy[i] = strdup(kv[i]))) {
      for (size_t j = 0; j < i; j++) free(copy[j]);
      free(copy);
      return NULL;
    }
  }
  return copy;
}

static int open_connector(lc_runtime *rt, int kind, const char *ref, const char *name,
                          const char *const *options, size_t n_options, lc_connector **out) {
  if (!rt || !out) return LC_ERR_ARGUMENT;
  *out = NULL;
  lc_connector *conn = calloc(1, sizeof *conn);
  if (!conn) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  conn->rt = rt;
  conn->read.ref_co = conn->write.ref_co = LUA_NOREF;
  lc_error_clear(&conn->reload_error);
  conn->options = copy_options(options, n_options);
  conn->n_options = n_options;
  int rc = conn->options
               ? lc_version_build(rt, &conn->v, kind, ref, name, options, n_options, extend_module)
               : lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  if (rc != LC_OK) {
    lc_connector_free(conn);
    return rc;
  }
  conn->generation = 1;
  *out = conn;
  return LC_OK;
}

int lc_connector_open(lc_runtime *rt, int kind, const char *ref, const char *const *options,
                      size_t n_options, lc_connector **out) {
  return open_connector(rt, kind, ref, NULL, options, n_options, out);
}

int lc_connector_open_source(lc_runtime *rt, const char *name, const char *source,
                             const char *const *options, size_t n_options, lc_connector **out) {
  return open_connector(rt, LC_SOURCE_INLINE, source, name, options, n_options, out);
}

void lc_connector_free(lc_connector *conn) {
  if (!conn) return;
  lc_connector_drop_version(conn);
  for (size_t i = 0; conn->options && i < 2 * conn->n_options; i++) free(conn->options[i]);
  free(conn->options);
  lc_error_clear(&conn->reload_error);
  lc_type_free(conn->fixed);
  free(conn->fixed_ddl);
  free(conn);
}

int lc_connector_check(lc_runtime *rt, int kind, const char *ref, char **summary) {
  if (!rt || !summary) return LC_ERR_ARGUMENT;
  *summary = NULL;
  lc_state *st = NULL;
  int rc = lc_version_check(rt, kind, ref, extend_module, &st);
  if (rc == LC_OK) {
    char err[256];
    rc = lc_json_encode(st->L, -1, summary, err, sizeof err);
    if (rc != LC_OK) lc_error_set(&rt->error, rc, "cannot describe the connector: %s", err);
  }
  lc_sandbox_close(st);
  return rc;
}

const char *lc_connector_schema(lc_connector *conn) {
  return !conn ? NULL : conn->fixed_ddl ? conn->fixed_ddl : conn->v.schema_ddl;
}
const char *lc_connector_script(lc_connector *conn) { return conn ? conn->v.script : NULL; }

int lc_connector_can_read(lc_connector *conn) { return conn && lc_connector_defines(conn, "read"); }
int lc_connector_can_write(lc_connector *conn) {
  return conn && lc_connector_defines(conn, "write");
}
int lc_connector_can_stream(lc_connector *conn) {
  return conn && lc_connector_defines(conn, "latest_offset");
}
