/* lc_reload.c: hot reload. A connector remembers every file it was built from; at
 * safe points it compares them (stat first, then a content hash) and swaps in a
 * new version only after it compiled, passed the contract and took the options. */
#include <stdio.h>
#include <string.h>

#include "connector/lc_connector.h"

/* 0 when no watched file's content changed, else a hash of all current contents
 * (so a refused version is not retried until something changes again). */
static uint64_t changed_contents(lc_state *st) {
  uint64_t combined = LC_HASH_SEED;
  bool changed = false;
  for (size_t i = 0; i < st->n_watched; i++) {
    bool gone;
    uint64_t h = lc_file_sig_current(&st->watched[i], &gone);
    changed = changed || gone || h != st->watched[i].hash; /* gone: the reload says so */
    combined = lc_hash_bytes(combined, &h, sizeof h);
  }
  return changed ? combined | 1 : 0;
}

int lc_connector_reload(lc_connector *conn) {
  if (!conn) return LC_ERR_ARGUMENT;
  if (conn->v.kind != LC_SOURCE_FILE) return LC_OK;
  uint64_t current = changed_contents(conn->v.st);
  if (!current) return LC_OK;
  if (current == conn->refused_hash) return conn->reload_error.pub.code;
  lc_version fresh;
  int rc =
      lc_version_build(conn->rt, &fresh, LC_SOURCE_FILE, conn->v.script, NULL,
                       (const char *const *)conn->options, conn->n_options, conn->v.st->extend);
  if (rc == LC_OK && conn->schema_locked && strcmp(fresh.schema_ddl, conn->v.schema_ddl) != 0) {
    char msg[LC_ERRMSG_MAX];
    snprintf(msg, sizeof msg,
             "the new version changes the schema from \"%.200s\" to \"%.200s\"; "
             "a running stream keeps its schema (restart the query to change it)",
             conn->v.schema_ddl, fresh.schema_ddl);
    rc = lc_error_set_full(&conn->rt->error, LC_ERR_CONTRACT, msg, conn->v.script, 0, NULL);
  }
  if (rc != LC_OK) {
    const lc_error *e = &conn->rt->error.pub;
    lc_error_set_full(&conn->reload_error, e->code, e->message, e->script, e->line, e->traceback);
    conn->refused_hash = current;
    lc_state_log(conn->v.st, LC_LOG_ERROR, "reload refused, generation %d keeps running: %s:%d: %s",
                 conn->generation, e->script ? e->script : conn->v.script, e->line, e->message);
    lc_version_release(&fresh);
    return rc;
  }
  /* The new version replaces the old one whole: sessions and builders lived in the
   * old state and go with it. */
  lc_connector_drop_version(conn);
  conn->v = fresh;
  conn->generation++;
  conn->refused_hash = 0;
  lc_error_clear(&conn->reload_error);
  lc_state_log(conn->v.st, LC_LOG_INFO, "reloaded %s (generation %d)", conn->v.script,
               conn->generation);
  return LC_OK;
}

void lc_connector_safe_point(lc_connector *conn) {
  if (!conn->rt->config.hot_reload) return;
  lc_connector_reload(conn);
  lc_error_clear(&conn->rt->error); /* a refused version does not fail the call */
}

int lc_connector_generation(lc_connector *conn) { return conn ? conn->generation : 0; }

const lc_error *lc_connector_reload_error(lc_connector *conn) {
  return conn && conn->refused_hash ? &conn->reload_error.pub : NULL;
}

void lc_connector_lock_schema(lc_connector *conn, int locked) {
  if (conn) conn->schema_locked = locked != 0;
}

const char *lc_connector_source(lc_connector *conn, size_t *len) {
  if (len) *len = conn ? conn->v.source_len : 0;
  return conn ? conn->v.source : NULL;
}
