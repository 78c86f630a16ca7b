/* lc_reload.c: hot reload. A connector remembers every file it was built from; at
 * safe points it compares them (stat first, then a content hash) and swaps in a
 * new version only after it compiled, passed the contract and took the options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lc_internal.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t hash_bytes(uint64_t h, const char *data, size_t len) {
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)data[i]) * FNV_PRIME;
  return h;
}

static bool stat_file(const char *path, lc_file_sig *sig) {
  struct stat sb;
  if (stat(path, &sb) != 0) return false;
  sig->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
  sig->size = (int64_t)sb.st_size;
  sig->inode = (uint64_t)sb.st_ino;
  return true;
}

void lc_state_watch(lc_state *st, const char *path, const char *data, size_t len) {
  lc_file_sig *grown = realloc(st->watched, (st->n_watched + 1) * sizeof *grown);
  if (!grown) return;
  st->watched = grown;
  lc_file_sig *sig = &st->watched[st->n_watched];
  memset(sig, 0, sizeof *sig);
  sig->path = strdup(path);
  if (!sig->path) return;
  sig->hash = hash_bytes(FNV_OFFSET, data, len);
  stat_file(path, sig);
  st->n_watched++;
}

void lc_state_unwatch_all(lc_state *st) {
  for (size_t i = 0; i < st->n_watched; i++) free(st->watched[i].path);
  free(st->watched);
  st->watched = NULL;
  st->n_watched = 0;
}

/* 0 when no watched file's content changed, else a hash of all current contents
 * (so a refused version is not retried until something changes again). Files that
 * were only touched get their new stat recorded. */
static uint64_t changed_contents(lc_state *st) {
  uint64_t combined = FNV_OFFSET;
  bool changed = false;
  for (size_t i = 0; i < st->n_watched; i++) {
    lc_file_sig *sig = &st->watched[i], now = {0};
    uint64_t h = 0;
    if (!stat_file(sig->path, &now)) {
      changed = true; /* deleted: the reload attempt will say so */
    } else if (now.mtime_ns == sig->mtime_ns && now.size == sig->size && now.inode == sig->inode) {
      h = sig->hash;
    } else {
      char *data = NULL;
      size_t len = 0;
      if (lc_read_file(sig->path, &data, &len) == LC_OK) h = hash_bytes(FNV_OFFSET, data, len);
      free(data);
      if (h == sig->hash) {
        sig->mtime_ns = now.mtime_ns;
        sig->size = now.size;
        sig->inode = now.inode;
      } else {
        changed = true;
      }
    }
    combined = hash_bytes(combined, (const char *)&h, sizeof h);
  }
  return changed ? combined | 1 : 0;
}

/* Moves the freshly built version into conn, freeing the old one. */
static void swap_in(lc_connector *conn, lc_connector *fresh) {
  lc_read_reset(conn);
  lc_write_cancel(conn);
  lc_connector_release(conn);
  conn->st = fresh->st;
  conn->script = fresh->script;
  conn->schema_ddl = fresh->schema_ddl;
  conn->schema = fresh->schema;
  conn->ref_connector = fresh->ref_connector;
  conn->ref_options = fresh->ref_options;
  conn->kind = fresh->kind;
  conn->options = fresh->options;
  conn->n_options = fresh->n_options;
  conn->source = fresh->source;
  conn->source_len = fresh->source_len;
  conn->generation++;
  conn->refused_hash = 0;
  lc_error_clear(&conn->reload_error);
}

int lc_connector_reload(lc_connector *conn) {
  if (!conn) return LC_ERR_ARGUMENT;
  if (conn->kind != LC_SOURCE_FILE) return LC_OK;
  uint64_t current = changed_contents(conn->st);
  if (!current) return LC_OK;
  if (current == conn->refused_hash) return conn->reload_error.pub.code;
  lc_connector fresh = {0};
  fresh.rt = conn->rt;
  int rc = lc_connector_build(&fresh, LC_SOURCE_FILE, conn->script, NULL,
                              (const char *const *)conn->options, conn->n_options);
  if (rc == LC_OK && conn->schema_locked && strcmp(fresh.schema_ddl, conn->schema_ddl) != 0) {
    char msg[LC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "the new version changes the schema from \"%.200s\" to \"%.200s\"; "
             "a running stream keeps its schema (restart the query to change it)",
             conn->schema_ddl, fresh.schema_ddl);
    rc = lc_error_set_full(&conn->rt->error, LC_ERR_CONTRACT, msg, conn->script, 0, NULL);
  }
  if (rc != LC_OK) {
    const lc_error *e = &conn->rt->error.pub;
    lc_error_set_full(&conn->reload_error, e->code, e->message, e->script, e->line, e->traceback);
    conn->refused_hash = current;
    lc_state_log(conn->st, LC_LOG_ERROR, "reload refused, generation %d keeps running: %s:%d: %s",
                 conn->generation, e->script ? e->script : conn->script, e->line, e->message);
    lc_connector_release(&fresh);
    return rc;
  }
  swap_in(conn, &fresh);
  lc_state_log(conn->st, LC_LOG_INFO, "reloaded %s (generation %d)", conn->script, conn->generation);
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
  if (len) *len = conn ? conn->source_len : 0;
  return conn ? conn->source : NULL;
}
