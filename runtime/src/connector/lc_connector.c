/* lc_connector.c: finding, loading and validating a connector, and the driver-side
 * calls of the contract (schema, partitions, commit, abort). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lc_internal.h"

/* ---- finding the script ---------------------------------------------------------- */

typedef struct script_source {
  char *text;        /* owned */
  size_t len;
  char *chunkname;   /* "@path" or "=name"; owned */
} script_source;

static void source_free(script_source *s) {
  free(s->text);
  free(s->chunkname);
}

/* Looks for NAME.lua in each search_path dir, then lua_root/connectors. Returns a
 * malloc'd path (caller frees) or NULL with the places tried in tried. */
static char *find_connector(lc_runtime *rt, const char *name, char *tried, size_t triedlen) {
  tried[0] = '\0';
  const char *list = rt->search_path;
  bool searched_root = false;
  while (!searched_root) {
    char *path = NULL;
    size_t n = list ? strcspn(list, ":") : 0;
    if (list && *list) {
      if (n && asprintf(&path, "%.*s/%s.lua", (int)n, list, name) < 0) path = NULL;
      list += n + (list[n] == ':');
    } else {
      searched_root = true;
      if (rt->lua_root && asprintf(&path, "%s/connectors/%s.lua", rt->lua_root, name) < 0)
        path = NULL;
    }
    if (!path) continue;
    if (access(path, R_OK) == 0) return path;
    size_t used = strlen(tried);
    snprintf(tried + used, triedlen - used, "%s%s", used ? ", " : "", path);
    free(path);
  }
  return NULL;
}

static bool looks_like_path(const char *ref) {
  size_t n = strlen(ref);
  return strchr(ref, '/') || (n > 4 && strcmp(ref + n - 4, ".lua") == 0);
}

/* Reads the script (kind, ref); name labels inline source in errors (NULL: "inline
 * script"). */
static int load_source(lc_runtime *rt, int kind, const char *ref, const char *name,
                       script_source *out) {
  memset(out, 0, sizeof *out);
  if (!ref) return lc_error_set(&rt->error, LC_ERR_ARGUMENT, "no connector given");
  if (kind == LC_SOURCE_INLINE) {
    out->text = strdup(ref);
    out->len = strlen(ref);
    if (asprintf(&out->chunkname, "=%s", name ? name : "inline script") < 0) out->chunkname = NULL;
    return out->text && out->chunkname ? LC_OK : lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  }
  if (kind == LC_SOURCE_AUTO) kind = looks_like_path(ref) ? LC_SOURCE_FILE : LC_SOURCE_NAME;
  char *path = NULL;
  if (kind == LC_SOURCE_NAME) {
    char tried[2048];
    path = find_connector(rt, ref, tried, sizeof tried);
    if (!path)
      return lc_error_set(&rt->error, LC_ERR_NOT_FOUND,
                          "connector '%s' not found (searched %s; set LUACONN_PATH or give a "
                          "path to a .lua file)", ref, tried[0] ? tried : "nowhere: no search path");
  } else {
    path = strdup(ref);
  }
  if (!path) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  int rc = lc_read_file(path, &out->text, &out->len);
  if (rc != LC_OK) {
    lc_error_set(&rt->error, rc == LC_ERR_NOMEM ? rc : LC_ERR_NOT_FOUND,
                 "cannot read connector file '%s'", path);
    free(path);
    return rt->error.pub.code;
  }
  out->chunkname = malloc(strlen(path) + 2);
  if (out->chunkname) sprintf(out->chunkname, "@%s", path);
  free(path);
  return out->chunkname ? LC_OK : lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
}

/* ---- loading ---------------------------------------------------------------------- */

static int fail_at(lc_runtime *rt, int code, const char *script, const char *message) {
  return lc_error_set_full(&rt->error, code, message, script, 0, NULL);
}

/* The contract check reads the script's tables (metamethods included), so it runs
 * protected like any other call into the script. */
typedef struct contract_job {
  char *err;
  size_t errlen;
  int rc;
} contract_job;

static int contract_protected(lua_State *L) {
  contract_job *job = lua_touserdata(L, 2);
  job->rc = lc_contract_check(L, 1, job->err, job->errlen);
  return 0;
}

/* Opens a sandbox, runs the script and checks its table against the contract; on
 * success the connector table is on top of the new state's stack. */
static int load_connector(lc_runtime *rt, const script_source *src, lc_state **st_out) {
  *st_out = NULL;
  const char *script = src->chunkname + 1;
  lc_state *st = NULL;
  int rc = lc_sandbox_open(rt, script, &st);
  if (rc != LC_OK) return rc;
  if (src->chunkname[0] == '@') lc_state_watch(st, script, src->text, src->len);
  rc = lc_sandbox_load(st, src->text, src->len, src->chunkname);
  if (rc == LC_OK) rc = lc_sandbox_call(st, 0, 1);
  if (rc == LC_OK) {
    char err[LC_ERRMSG_MAX];
    contract_job job = {.err = err, .errlen = sizeof err};
    lua_pushcfunction(st->L, contract_protected);
    lua_pushvalue(st->L, -2);
    lua_pushlightuserdata(st->L, &job);
    rc = lc_sandbox_call(st, 2, 0);
    if (rc == LC_OK && job.rc != LC_OK) rc = fail_at(rt, LC_ERR_CONTRACT, script, err);
  }
  if (rc != LC_OK) {
    lc_sandbox_close(st);
    return rc;
  }
  *st_out = st;
  return LC_OK;
}

int lc_connector_protected(lc_connector *conn, lua_CFunction f, void *ud) {
  lua_pushcfunction(conn->st->L, f);
  lua_pushlightuserdata(conn->st->L, ud);
  return lc_sandbox_call(conn->st, 1, 0);
}

/* Calls schema(opts) when the schema is computed from options. */
static int resolve_schema(lc_connector *conn) {
  lua_State *L = conn->st->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_connector);
  lua_getfield(L, -1, "schema");
  lua_remove(L, -2);
  if (lua_isfunction(L, -1)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_options);
    int rc = lc_sandbox_call(conn->st, 1, 1);
    if (rc != LC_OK) return rc;
  }
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    return fail_at(conn->rt, LC_ERR_CONTRACT, conn->script,
                   "schema(opts) must return a Spark DDL string");
  }
  conn->schema_ddl = strdup(lua_tostring(L, -1));
  lua_pop(L, 1);
  char err[512];
  if (!conn->schema_ddl) return lc_error_set(&conn->rt->error, LC_ERR_NOMEM, "out of memory");
  if (lc_schema_parse(conn->schema_ddl, &conn->schema, err, sizeof err) != LC_OK) {
    char msg[LC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "schema \"%.200s\": %s", conn->schema_ddl, err);
    return fail_at(conn->rt, LC_ERR_SCHEMA, conn->script, msg);
  }
  return LC_OK;
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

int lc_connector_build(lc_connector *conn, int kind, const char *ref, const char *name,
                       const char *const *options, size_t n_options) {
  lc_runtime *rt = conn->rt;
  conn->ref_connector = conn->ref_options = conn->ref_read_co = conn->ref_write_co = LUA_NOREF;
  lc_error_clear(&rt->error);
  script_source src;
  int rc = load_source(rt, kind, ref, name, &src);
  if (rc != LC_OK) return rc;
  conn->kind = src.chunkname[0] == '@' ? LC_SOURCE_FILE : LC_SOURCE_INLINE;
  conn->script = strdup(src.chunkname + 1);
  conn->options = copy_options(options, n_options);
  conn->n_options = n_options;
  if (!conn->script || !conn->options) {
    source_free(&src);
    return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  }
  rc = load_connector(rt, &src, &conn->st);
  conn->source = src.text;
  conn->source_len = src.len;
  src.text = NULL;
  source_free(&src);
  if (rc != LC_OK) return rc;
  lua_State *L = conn->st->L;
  conn->ref_connector = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_connector);
  lua_getfield(L, -1, "options");
  char err[LC_ERRMSG_MAX];
  rc = lc_options_validate(conn->st, -1, options, n_options, err, sizeof err);
  if (rc == LC_OK) {
    conn->ref_options = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    char msg[LC_ERRMSG_MAX + 64];
    snprintf(msg, sizeof msg, "bad options: %s", err);
    char *clean = lc_state_redact(conn->st, msg);
    fail_at(rt, rc, conn->script, clean ? clean : "bad options");
    free(clean);
  }
  lua_pop(L, 2);
  return rc == LC_OK ? resolve_schema(conn) : rc;
}

static int open_connector(lc_runtime *rt, int kind, const char *ref, const char *name,
                          const char *const *options, size_t n_options, lc_connector **out) {
  if (!rt || !out) return LC_ERR_ARGUMENT;
  *out = NULL;
  lc_connector *conn = calloc(1, sizeof *conn);
  if (!conn) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  conn->rt = rt;
  lc_error_clear(&conn->reload_error);
  int rc = lc_connector_build(conn, kind, ref, name, options, n_options);
  if (rc != LC_OK) {
    lc_connector_free(conn);
    return rc;
  }
  conn->generation = 1;
  *out = conn;
  return LC_OK;
}

int lc_connector_open(lc_runtime *rt, int kind, const char *ref,
                      const char *const *options, size_t n_options, lc_connector **out) {
  return open_connector(rt, kind, ref, NULL, options, n_options, out);
}

int lc_connector_open_source(lc_runtime *rt, const char *name, const char *source,
                             const char *const *options, size_t n_options,
                             lc_connector **out) {
  return open_connector(rt, LC_SOURCE_INLINE, source, name, options, n_options, out);
}

void lc_connector_release(lc_connector *conn) {
  lc_builder_free(conn->builder); /* before the state its references live in */
  conn->builder = NULL;
  lc_rowjson_free(conn->write_json);
  conn->write_json = NULL;
  lc_sandbox_close(conn->st);
  conn->st = NULL;
  lc_type_free(conn->schema);
  conn->schema = NULL;
  for (size_t i = 0; conn->options && i < 2 * conn->n_options; i++) free(conn->options[i]);
  free(conn->options);
  free(conn->schema_ddl);
  free(conn->script);
  free(conn->source);
  conn->options = NULL;
  conn->schema_ddl = conn->script = conn->source = NULL;
}

void lc_connector_free(lc_connector *conn) {
  if (!conn) return;
  lc_connector_release(conn);
  lc_error_clear(&conn->reload_error);
  free(conn);
}

int lc_connector_check(lc_runtime *rt, int kind, const char *ref, char **summary) {
  if (!rt || !summary) return LC_ERR_ARGUMENT;
  *summary = NULL;
  lc_error_clear(&rt->error);
  script_source src;
  int rc = load_source(rt, kind, ref, NULL, &src);
  if (rc != LC_OK) return rc;
  lc_state *st = NULL;
  rc = load_connector(rt, &src, &st);
  if (rc == LC_OK) {
    lc_contract_summary(st->L, -1);
    lua_pushstring(st->L, src.chunkname + 1);
    lua_setfield(st->L, -2, "script");
    char err[256];
    rc = lc_json_encode(st->L, -1, summary, err, sizeof err);
    if (rc != LC_OK) lc_error_set(&rt->error, rc, "cannot describe the connector: %s", err);
  }
  lc_sandbox_close(st);
  source_free(&src);
  return rc;
}

const char *lc_connector_schema(lc_connector *conn) { return conn ? conn->schema_ddl : NULL; }
const char *lc_connector_script(lc_connector *conn) { return conn ? conn->script : NULL; }

static bool defines(lc_connector *conn, const char *name) {
  lua_State *L = conn->st->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_connector);
  lua_getfield(L, -1, name);
  bool yes = lua_isfunction(L, -1);
  lua_pop(L, 2);
  return yes;
}

int lc_connector_can_read(lc_connector *conn) { return conn && defines(conn, "read"); }
int lc_connector_can_write(lc_connector *conn) { return conn && defines(conn, "write"); }
int lc_connector_can_stream(lc_connector *conn) { return conn && defines(conn, "latest_offset"); }

int lc_connector_push_method(lc_connector *conn, const char *name) {
  lua_State *L = conn->st->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_connector);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return LC_DONE;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_options);
  return LC_OK;
}

int lc_connector_require_options(lc_connector *conn, const char *op) {
  lua_State *L = conn->st->L;
  lc_error_clear(&conn->rt->error);
  if (!defines(conn, op)) {
    char msg[256];
    snprintf(msg, sizeof msg, "this connector cannot %s: it defines no %s function", op, op);
    return fail_at(conn->rt, LC_ERR_CONTRACT, conn->script, msg);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_connector);
  lua_getfield(L, -1, "options");
  lua_rawgeti(L, LUA_REGISTRYINDEX, conn->ref_options);
  char err[LC_ERRMSG_MAX];
  int rc = lc_options_require(L, -2, -1, op, err, sizeof err);
  lua_pop(L, 3);
  if (rc == LC_OK) return LC_OK;
  char msg[LC_ERRMSG_MAX + 32];
  snprintf(msg, sizeof msg, "bad options: %s", err);
  return fail_at(conn->rt, rc, conn->script, msg);
}

/* ---- partitions, commit, abort ---------------------------------------------------- */

typedef struct json_result {
  lc_connector *conn;
  char **out;
} json_result;

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
