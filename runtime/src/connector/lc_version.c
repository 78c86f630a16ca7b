/* lc_version.c: one version of a connector script, built whole: its source found
 * and read, run in a new sandbox, its table checked against the contract, the
 * options validated and the schema resolved. A reload builds a new one the same
 * way and swaps it in only when every step succeeded. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "connector/lc_connector.h"

/* ---- finding the script ---------------------------------------------------------- */

typedef struct script_source {
  char *text; /* owned */
  size_t len;
  char *chunkname; /* "@path" or "=name"; owned */
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
    return out->text && out->chunkname ? LC_OK
                                       : lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  }
  if (kind == LC_SOURCE_AUTO) kind = looks_like_path(ref) ? LC_SOURCE_FILE : LC_SOURCE_NAME;
  char *path = NULL;
  if (kind == LC_SOURCE_NAME) {
    char tried[2048];
    path = find_connector(rt, ref, tried, sizeof tried);
    if (!path)
      return lc_error_set(&rt->error, LC_ERR_NOT_FOUND,
                          "connector '%s' not found (searched %s; set LUACONN_PATH or give a "
                          "path to a .lua file)",
                          ref, tried[0] ? tried : "nowhere: no search path");
  } else {
    path = strdup(ref);
  }
  if (!path) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  int rc = lc_file_read(path, &out->text, &out->len);
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
static int load_connector(lc_runtime *rt, const script_source *src, lc_module_extend_fn extend,
                          lc_state **st_out) {
  *st_out = NULL;
  const char *script = src->chunkname + 1;
  lc_state *st = NULL;
  int rc = lc_sandbox_open(rt, script, lc_host_modules, lc_host_n_modules, &st);
  if (rc != LC_OK) return rc;
  st->extend = extend;
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

static int resolve_schema(lc_runtime *rt, lc_version *v) {
  lua_State *L = v->st->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, v->ref_connector);
  lua_getfield(L, -1, "schema");
  lua_remove(L, -2);
  if (lua_isfunction(L, -1)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, v->ref_options);
    int rc = lc_sandbox_call(v->st, 1, 1);
    if (rc != LC_OK) return rc;
  }
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    return fail_at(rt, LC_ERR_CONTRACT, v->script, "schema(opts) must return a Spark DDL string");
  }
  size_t len;
  const char *ddl = lua_tolstring(L, -1, &len);
  v->schema_ddl = strdup(ddl);
  char err[512];
  int parsed = v->schema_ddl ? lc_schema_parse(ddl, len, &v->schema, err, sizeof err) : LC_OK;
  lua_pop(L, 1);
  if (!v->schema_ddl) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  if (parsed != LC_OK && strcmp(v->schema_ddl, "infer") == 0)
    return LC_OK; /* v->schema stays NULL */
  if (parsed != LC_OK) {
    char msg[LC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "schema \"%.200s\": %s", v->schema_ddl, err);
    return fail_at(rt, LC_ERR_SCHEMA, v->script, msg);
  }
  return LC_OK;
}

void lc_version_release(lc_version *v) {
  lc_sandbox_close(v->st);
  lc_type_free(v->schema);
  free(v->schema_ddl);
  free(v->script);
  free(v->source);
  *v = (lc_version){.ref_connector = LUA_NOREF, .ref_options = LUA_NOREF};
}

int lc_version_check(lc_runtime *rt, int kind, const char *ref, lc_module_extend_fn extend,
                     lc_state **st) {
  *st = NULL;
  lc_error_clear(&rt->error);
  script_source src;
  int rc = load_source(rt, kind, ref, NULL, &src);
  if (rc != LC_OK) return rc;
  rc = load_connector(rt, &src, extend, st);
  if (rc == LC_OK) {
    lc_contract_summary((*st)->L, -1);
    lua_pushstring((*st)->L, src.chunkname + 1);
    lua_setfield((*st)->L, -2, "script");
  }
  source_free(&src);
  return rc;
}

static void fail_options(lc_runtime *rt, lc_version *v, int rc, const char *err) {
  char msg[LC_ERRMSG_MAX + 64];
  snprintf(msg, sizeof msg, "bad options: %s", err);
  char *clean = lc_state_redact(v->st, msg);
  fail_at(rt, rc, v->script, clean ? clean : "bad options");
  free(clean);
}

/* Validates the option strings against the connector table on top of the state's
 * stack, which becomes v->ref_connector. A connector that declares filters gets the
 * reserved option "filters" (pushed filters, lc_filters.c) as opts.filters. */
static int take_options(lc_runtime *rt, lc_version *v, const char *const *options,
                        size_t n_options) {
  lua_State *L = v->st->L;
  lua_getfield(L, -1, "filters");
  bool takes_filters = !lua_isnil(L, -1);
  lua_pop(L, 1);
  v->ref_connector = luaL_ref(L, LUA_REGISTRYINDEX);
  const char **rest = malloc((n_options ? n_options : 1) * 2 * sizeof *rest);
  if (!rest) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  const char *pushed = NULL;
  size_t n_rest = 0;
  for (size_t i = 0; i < n_options; i++) {
    const char *key = options[2 * i], *value = options[2 * i + 1];
    if (takes_filters && key && strcasecmp(key, LC_FILTERS_OPTION) == 0) {
      pushed = value;
      continue;
    }
    rest[2 * n_rest] = key;
    rest[2 * n_rest++ + 1] = value;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, v->ref_connector);
  lua_getfield(L, -1, "options");
  char err[LC_ERRMSG_MAX];
  int rc = lc_options_validate(v->st, -1, rest, n_rest, err, sizeof err);
  free(rest);
  if (rc == LC_OK) {
    v->ref_options = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    fail_options(rt, v, rc, err);
  }
  lua_pop(L, 2);
  if (rc == LC_OK && takes_filters) {
    rc = lc_filters_take(v->st, v->ref_connector, v->ref_options, pushed, err, sizeof err);
    if (rc == LC_ERR_OPTION) fail_options(rt, v, rc, err);
    if (rc == LC_ERR_CONTRACT) fail_at(rt, rc, v->script, err);
  }
  return rc;
}

int lc_version_build(lc_runtime *rt, lc_version *v, int kind, const char *ref, const char *name,
                     const char *const *options, size_t n_options, lc_module_extend_fn extend) {
  *v = (lc_version){.ref_connector = LUA_NOREF, .ref_options = LUA_NOREF};
  lc_error_clear(&rt->error);
  script_source src;
  int rc = load_source(rt, kind, ref, name, &src);
  if (rc != LC_OK) return rc;
  v->kind = src.chunkname[0] == '@' ? LC_SOURCE_FILE : LC_SOURCE_INLINE;
  v->script = strdup(src.chunkname + 1);
  if (!v->script) {
    source_free(&src);
    return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory");
  }
  rc = load_connector(rt, &src, extend, &v->st);
  v->source = src.text;
  v->source_len = src.len;
  src.text = NULL;
  source_free(&src);
  if (rc == LC_OK) rc = take_options(rt, v, options, n_options);
  if (rc == LC_OK) rc = resolve_schema(rt, v);
  if (rc != LC_OK) lc_version_release(v);
  return rc;
}
