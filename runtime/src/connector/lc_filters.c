/* lc_filters.c: filter pushdown (spec/CONTRACT.md, "Filter pushdown"). A connector's
 * `filters` (a table, or filters(opts) returning one) names the operators each column
 * takes, exactly or inexactly; a host pushes some of them as the reserved option
 * "filters" (JSON), which are checked against that declaration and handed to the
 * script as opts.filters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

static const char *const OPERATORS[] = {"=",           "!=",          "<",         "<=",
                                        ">",           ">=",          "in",        "is_null",
                                        "is_not_null", "starts_with", "ends_with", "contains"};
static const char *const EXACTNESS[] = {"exact", "inexact"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool known_operator(const char *op) {
  for (size_t i = 0; i < COUNT(OPERATORS); i++)
    if (strcmp(op, OPERATORS[i]) == 0) return true;
  return false;
}

/* Checks one column's { exact = {ops}, inexact = {ops} } at idx. */
static void check_column(lua_State *L, int idx, const char *column, char *err, size_t errlen) {
  if (!lua_istable(L, idx)) {
    lc_problem_add(err, errlen, "filters.%s must be a table {exact = {...}, inexact = {...}}",
                   column);
    return;
  }
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (!key || (strcmp(key, "exact") != 0 && strcmp(key, "inexact") != 0))
      lc_problem_add(err, errlen, "filters.%s: only 'exact' and 'inexact' lists are allowed",
                     column);
  }
  for (size_t e = 0; e < COUNT(EXACTNESS); e++) {
    lua_getfield(L, idx, EXACTNESS[e]);
    if (!lua_isnil(L, -1) && !lua_istable(L, -1))
      lc_problem_add(err, errlen, "filters.%s.%s must be a list of operators", column,
                     EXACTNESS[e]);
    for (int i = 1; lua_istable(L, -1); i++) {
      lua_rawgeti(L, -1, i);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        break;
      }
      const char *op = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      if (!op || !known_operator(op))
        lc_problem_add(err, errlen,
                       "filters.%s.%s[%d]: %s is not an operator (=, !=, <, <=, >, >=, in, "
                       "is_null, is_not_null, starts_with, ends_with, contains)",
                       column, EXACTNESS[e], i, op ? op : luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}

int lc_filters_check_decl(lua_State *L, int idx, char *err, size_t errlen) {
  idx = lc_absindex(L, idx);
  err[0] = '\0';
  if (lua_isnil(L, idx) || lua_isfunction(L, idx)) return LC_OK;
  if (!lua_istable(L, idx)) {
    snprintf(err, errlen, "'filters' must be a table or a function(opts) returning one, got %s",
             luaL_typename(L, idx));
    return LC_ERR_CONTRACT;
  }
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lc_problem_add(err, errlen, "filters: keys must be column names");
      continue;
    }
    check_column(L, lua_gettop(L), lua_tostring(L, -2), err, errlen);
  }
  return err[0] ? LC_ERR_CONTRACT : LC_OK;
}

/* Pushes the declaration at idx as { column = { op = "exact"|"inexact" } } (a listed
 * operator's last mention wins; inexact is read last, so it wins). */
static void push_normalised(lua_State *L, int idx) {
  lua_newtable(L);
  int out = lua_gettop(L);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    int column = lua_gettop(L);
    lua_pushvalue(L, -2);
    lua_newtable(L);
    for (size_t e = 0; e < COUNT(EXACTNESS); e++) {
      lua_getfield(L, column, EXACTNESS[e]);
      for (int i = 1; lua_istable(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        lua_pushstring(L, EXACTNESS[e]);
        lua_settable(L, -4);
      }
      lua_pop(L, 1);
    }
    lua_settable(L, out);
  }
}

/* What the protected part needs and gives back. */
typedef struct filters_job {
  int ref_connector, ref_options;
  const char *pushed; /* JSON text of the pushed filters, or NULL */
  char *err;          /* a bad declaration (rc LC_ERR_CONTRACT) or push (LC_ERR_OPTION) */
  size_t errlen;
  int rc;
  char *json_out; /* declared_json: the normalised declaration; malloc'd */
} filters_job;

/* Pushes the normalised declaration for the job's options ({} when the connector
 * declares none), or nil when it is malformed (job->rc says so). */
static void push_declaration(lua_State *L, filters_job *job) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, job->ref_connector);
  lua_getfield(L, -1, "filters");
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L); /* no declaration: no column takes a filter */
  } else if (lua_isfunction(L, -1)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, job->ref_options);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_newtable(L); /* filters(opts) may decline every filter */
    } else if (!lua_istable(L, -1)) {
      snprintf(job->err, job->errlen, "filters(opts) must return a table, got %s",
               luaL_typename(L, -1));
      job->rc = LC_ERR_CONTRACT;
    }
  }
  if (job->rc == LC_OK && lc_filters_check_decl(L, -1, job->err, job->errlen) != LC_OK)
    job->rc = LC_ERR_CONTRACT;
  if (job->rc != LC_OK) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  push_normalised(L, lua_gettop(L));
  lua_remove(L, -2);
}

static bool is_scalar(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  return t == LUA_TNUMBER || t == LUA_TSTRING || t == LUA_TBOOLEAN;
}

/* The problem with pushed filter number i (a table at idx) against decl (at decl),
 * or NULL; problem is a buffer of size n. */
static const char *pushed_problem(lua_State *L, int idx, int decl, char *problem, size_t n) {
  if (!lua_istable(L, idx)) return "must be an object {column, op, value}";
  lua_getfield(L, idx, "column");
  lua_getfield(L, idx, "op");
  lua_getfield(L, idx, "value");
  int value = lua_gettop(L);
  const char *column = lua_type(L, -3) == LUA_TSTRING ? lua_tostring(L, -3) : NULL;
  const char *op = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
  const char *why = NULL;
  if (!column || !op) {
    why = "needs a string 'column' and a string 'op'";
  } else {
    lua_getfield(L, decl, column);
    if (lua_isnil(L, -1)) {
      snprintf(problem, n, "column '%s' takes no filters", column);
      why = problem;
    } else {
      lua_getfield(L, -1, op);
      if (lua_isnil(L, -1)) {
        snprintf(problem, n, "column '%s' takes no '%s' filter", column, op);
        why = problem;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  bool unary = op && (strcmp(op, "is_null") == 0 || strcmp(op, "is_not_null") == 0);
  bool text = op && (strcmp(op, "starts_with") == 0 || strcmp(op, "ends_with") == 0 ||
                     strcmp(op, "contains") == 0);
  if (why || unary) {
    /* nothing more to check: a unary filter's value is ignored */
  } else if (op && strcmp(op, "in") == 0) {
    bool list = lua_istable(L, value) && lua_objlen(L, value) > 0;
    for (size_t i = 1; list && i <= lua_objlen(L, value); i++) {
      lua_rawgeti(L, value, (int)i);
      list = is_scalar(L, -1);
      lua_pop(L, 1);
    }
    if (!list) why = "'in' needs a non-empty list of strings, numbers or booleans as 'value'";
  } else if (text ? lua_type(L, value) != LUA_TSTRING : !is_scalar(L, value)) {
    why = text ? "needs a string 'value'" : "needs a string, number or boolean 'value'";
  }
  lua_pop(L, 3);
  return why;
}

/* Protected: checks the declaration and the pushed filters and sets opts.filters. */
static int take_protected(lua_State *L) {
  filters_job *job = lua_touserdata(L, 1);
  push_declaration(L, job);
  if (job->rc != LC_OK) return 0;
  int decl = lua_gettop(L);
  if (job->pushed) {
    char jerr[256];
    if (lc_json_decode(L, job->pushed, strlen(job->pushed), jerr, sizeof jerr) != LC_OK) {
      snprintf(job->err, job->errlen, "option 'filters' is not valid JSON: %s", jerr);
      job->rc = LC_ERR_OPTION;
      return 0;
    }
    if (!lua_istable(L, -1)) {
      snprintf(job->err, job->errlen,
               "option 'filters' must be a JSON list of {column, op, value} objects");
      job->rc = LC_ERR_OPTION;
      return 0;
    }
  } else {
    lua_newtable(L);
  }
  int pushed = lua_gettop(L);
  size_t count = lua_objlen(L, pushed);
  for (size_t i = 1; i <= count; i++) {
    char problem[256];
    lua_rawgeti(L, pushed, (int)i);
    const char *why = pushed_problem(L, lua_gettop(L), decl, problem, sizeof problem);
    if (why) lc_problem_add(job->err, job->errlen, "option 'filters', filter %zu: %s", i, why);
    lua_pop(L, 1);
  }
  if (job->err[0]) {
    job->rc = LC_ERR_OPTION;
    return 0;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, job->ref_options);
  lua_pushvalue(L, pushed);
  lua_setfield(L, -2, "filters");
  return 0;
}

/* Protected: the normalised declaration as JSON text. */
static int declared_protected(lua_State *L) {
  filters_job *job = lua_touserdata(L, 1);
  push_declaration(L, job);
  if (job->rc != LC_OK) return 0;
  lua_pushnil(L);
  if (lua_next(L, -2) == 0) { /* none: {} (json.encode writes an empty table so too) */
    job->json_out = strdup("{}");
  } else {
    lua_pop(L, 2);
    char jerr[256];
    if (lc_json_encode(L, -1, &job->json_out, jerr, sizeof jerr) != LC_OK)
      return luaL_error(L, "filters: %s", jerr);
  }
  if (!job->json_out) return luaL_error(L, "out of memory");
  return 0;
}

int lc_filters_take(lc_state *st, int ref_connector, int ref_options, const char *pushed_json,
                    char *err, size_t errlen) {
  err[0] = '\0';
  filters_job job = {ref_connector, ref_options, pushed_json, err, errlen, LC_OK, NULL};
  int rc = lc_sandbox_protected(st, take_protected, &job);
  return rc != LC_OK ? rc : job.rc;
}

int lc_filters_declared_json(lc_state *st, int ref_connector, int ref_options, char **json_out,
                             char *err, size_t errlen) {
  err[0] = '\0';
  filters_job job = {ref_connector, ref_options, NULL, err, errlen, LC_OK, NULL};
  int rc = lc_sandbox_protected(st, declared_protected, &job);
  if (rc != LC_OK || job.rc != LC_OK) {
    free(job.json_out);
    return rc != LC_OK ? rc : job.rc;
  }
  *json_out = job.json_out;
  return LC_OK;
}
