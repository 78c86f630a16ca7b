/*
 * lc_infer.c: a Spark DDL schema inferred from sample records.
 *
 * Each field's type is the join of what the records hold: booleans BOOLEAN,
 * integral numbers BIGINT (DOUBLE once a fraction appears), "YYYY-MM-DD" DATE,
 * ISO-8601 date-times TIMESTAMP (a date among them stays one: its midnight), other
 * strings STRING, arrays ARRAY<element>, objects STRUCT<fields in first-seen order>.
 * Values that disagree otherwise make STRING; a field only ever null is STRING.
 * Records come as yyjson values (a page's records, keys in page order) or Lua tables
 * (rows a script emits, keys sorted: Lua tables have no order).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "connector/lc_connector.h"

typedef enum infer_kind {
  K_NONE,
  K_BOOLEAN,
  K_BIGINT,
  K_DOUBLE,
  K_DATE,
  K_TIMESTAMP,
  K_STRING,
  K_ARRAY,
  K_STRUCT
} infer_kind;

typedef struct infer_node infer_node;
struct infer_node {
  infer_kind kind;
  infer_node *element;  /* K_ARRAY */
  size_t n_fields, cap; /* K_STRUCT, in first-seen order */
  char **names;
  infer_node **fields;
};

struct lc_infer {
  infer_node root; /* K_STRUCT: the records */
  int64_t records;
  bool out_of_memory;
};

lc_infer *lc_infer_new(void) {
  lc_infer *in = calloc(1, sizeof *in);
  if (in) in->root.kind = K_STRUCT;
  return in;
}

static void node_free(infer_node *n) {
  if (!n) return;
  node_free(n->element);
  free(n->element);
  for (size_t i = 0; i < n->n_fields; i++) {
    node_free(n->fields[i]);
    free(n->fields[i]);
    free(n->names[i]);
  }
  free(n->names);
  free(n->fields);
}

void lc_infer_free(lc_infer *in) {
  if (!in) return;
  node_free(&in->root);
  free(in);
}

int64_t lc_infer_records(const lc_infer *in) { return in->records; }

/* The kind both a and b fit. */
static infer_kind join(infer_kind a, infer_kind b) {
  if (a == b || b == K_NONE) return a;
  if (a == K_NONE) return b;
  if ((a == K_BIGINT && b == K_DOUBLE) || (a == K_DOUBLE && b == K_BIGINT)) return K_DOUBLE;
  if ((a == K_DATE && b == K_TIMESTAMP) || (a == K_TIMESTAMP && b == K_DATE)) return K_TIMESTAMP;
  return K_STRING;
}

static infer_kind string_kind(const char *s, size_t len) {
  int64_t v;
  if (len == 10 && !lc_date_parse(s, len, &v)) return K_DATE;
  if (len > 10 && !lc_timestamp_parse(s, len, &v)) return K_TIMESTAMP;
  return K_STRING;
}

static infer_node *child(lc_infer *in, infer_node **slot) {
  if (!*slot && !(*slot = calloc(1, sizeof **slot))) in->out_of_memory = true;
  return *slot;
}

/* The field `name` of a struct node, added at the end when new. */
static infer_node *field(lc_infer *in, infer_node *n, const char *name, size_t len) {
  for (size_t i = 0; i < n->n_fields; i++)
    if (strlen(n->names[i]) == len && memcmp(n->names[i], name, len) == 0) return n->fields[i];
  if (n->n_fields == n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 8;
    char **names = realloc(n->names, cap * sizeof *names);
    if (names) n->names = names;
    infer_node **fields = names ? realloc(n->fields, cap * sizeof *fields) : NULL;
    if (!fields) {
      in->out_of_memory = true;
      return NULL;
    }
    n->fields = fields;
    n->cap = cap;
  }
  infer_node *f = calloc(1, sizeof *f);
  char *copy = f ? strndup(name, len) : NULL;
  if (!copy) {
    free(f);
    in->out_of_memory = true;
    return NULL;
  }
  n->names[n->n_fields] = copy;
  n->fields[n->n_fields++] = f;
  return f;
}

/* ---- observing yyjson values -------------------------------------------------------------- */

/* True for a number's text that is an integer in int64's range (a BIGINT). */
static bool integral_text(const char *text, size_t len) {
  if (strcspn(text, ".eE") < len) return false;
  errno = 0;
  strtoll(text, NULL, 10);
  return errno == 0;
}

/* Past 64 levels (as for Lua values) a value adds nothing to the schema. */
static void observe_value(lc_infer *in, infer_node *n, yyjson_val *v, int depth) {
  if (!n || depth > 64) return;
  switch (yyjson_get_type(v)) {
  case YYJSON_TYPE_BOOL: n->kind = join(n->kind, K_BOOLEAN); break;
  case YYJSON_TYPE_RAW:
    n->kind =
        join(n->kind, integral_text(yyjson_get_raw(v), yyjson_get_len(v)) ? K_BIGINT : K_DOUBLE);
    break;
  case YYJSON_TYPE_NUM: n->kind = join(n->kind, yyjson_is_real(v) ? K_DOUBLE : K_BIGINT); break;
  case YYJSON_TYPE_STR:
    n->kind = join(n->kind, string_kind(yyjson_get_str(v), yyjson_get_len(v)));
    break;
  case YYJSON_TYPE_ARR: {
    n->kind = join(n->kind, K_ARRAY);
    yyjson_arr_iter it = yyjson_arr_iter_with(v);
    for (yyjson_val *e; (e = yyjson_arr_iter_next(&it));)
      observe_value(in, child(in, &n->element), e, depth + 1);
    break;
  }
  case YYJSON_TYPE_OBJ: {
    n->kind = join(n->kind, K_STRUCT);
    yyjson_obj_iter it = yyjson_obj_iter_with(v);
    for (yyjson_val *k; (k = yyjson_obj_iter_next(&it));)
      observe_value(in, field(in, n, yyjson_get_str(k), yyjson_get_len(k)),
                    yyjson_obj_iter_get_val(k), depth + 1);
    break;
  }
  default: break; /* null */
  }
}

void lc_infer_tree(lc_infer *in, yyjson_val *record) {
  in->records++;
  if (yyjson_is_obj(record)) observe_value(in, &in->root, record, 0);
}

/* ---- observing Lua values ------------------------------------------------------------------ */

static int compare_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void observe_lua(lc_infer *in, infer_node *n, lua_State *L, int idx, int depth);

/* A table: an array when its keys are exactly 1..#t (and it has some), else an object
 * whose string keys are observed in sorted order. */
static void observe_table(lc_infer *in, infer_node *n, lua_State *L, int idx, int depth) {
  size_t len = lua_objlen(L, idx), count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  if (len > 0 && len == count) {
    n->kind = join(n->kind, K_ARRAY);
    for (size_t i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, (int)i);
      observe_lua(in, child(in, &n->element), L, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
    return;
  }
  n->kind = join(n->kind, K_STRUCT);
  const char **keys = lua_newuserdata(L, (count ? count : 1) * sizeof *keys);
  size_t k = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) keys[k++] = lua_tostring(L, -1);
  }
  qsort(keys, k, sizeof *keys, compare_keys);
  for (size_t i = 0; i < k; i++) {
    lua_getfield(L, idx, keys[i]);
    observe_lua(in, field(in, n, keys[i], strlen(keys[i])), L, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* the keys */
}

static void observe_lua(lc_infer *in, infer_node *n, lua_State *L, int idx, int depth) {
  if (!n || depth > 64 || !lua_checkstack(L, 4)) return;
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: n->kind = join(n->kind, K_BOOLEAN); break;
  case LUA_TNUMBER: {
    double v = lua_tonumber(L, idx);
    n->kind = join(n->kind, v == floor(v) && fabs(v) < 9007199254740992.0 ? K_BIGINT : K_DOUBLE);
    break;
  }
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    n->kind = join(n->kind, string_kind(s, len));
    break;
  }
  case LUA_TTABLE: observe_table(in, n, L, idx, depth); break;
  default: /* nil, json.null (a light userdata) */ break;
  }
}

void lc_infer_lua(lc_infer *in, lua_State *L, int idx) {
  in->records++;
  if (lua_istable(L, idx)) observe_table(in, &in->root, L, lc_absindex(L, idx), 0);
}

/* ---- the DDL ---------------------------------------------------------------------------- */

static void put(lc_buf *b, const char *s) { lc_buf_append(b, s, strlen(s)); }
static void put_char(lc_buf *b, char c) { lc_buf_append(b, &c, 1); }

static void add_name(lc_buf *b, const char *name) {
  bool plain = (name[0] == '_' || (name[0] | 32) >= 'a') && (name[0] | 32) <= 'z';
  for (const char *p = name; plain && *p; p++)
    plain = *p == '_' || ((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9');
  if (plain) {
    put(b, name);
    return;
  }
  put_char(b, '`');
  for (const char *p = name; *p; p++) {
    if (*p == '`') put_char(b, '`');
    put_char(b, *p);
  }
  put_char(b, '`');
}

static void add_type(lc_buf *b, const infer_node *n);

static void add_fields(lc_buf *b, const infer_node *n, const char *between) {
  for (size_t i = 0; i < n->n_fields; i++) {
    if (i) put(b, ", ");
    add_name(b, n->names[i]);
    put(b, between);
    add_type(b, n->fields[i]);
  }
}

static void add_type(lc_buf *b, const infer_node *n) {
  static const char *const scalar[] = {"STRING", "BOOLEAN",   "BIGINT", "DOUBLE",
                                       "DATE",   "TIMESTAMP", "STRING"};
  if (n && n->kind == K_ARRAY) {
    put(b, "ARRAY<");
    add_type(b, n->element);
    put_char(b, '>');
  } else if (n && n->kind == K_STRUCT && n->n_fields > 0) {
    put(b, "STRUCT<");
    add_fields(b, n, ": ");
    put_char(b, '>');
  } else {
    put(b, scalar[n && n->kind <= K_STRING ? n->kind : K_STRING]);
  }
}

char *lc_infer_ddl(const lc_infer *in) {
  if (in->out_of_memory) return NULL;
  lc_buf b = {0};
  add_fields(&b, &in->root, " ");
  char *ddl = strndup(b.data ? (const char *)b.data : "", b.len);
  lc_buf_free(&b);
  return ddl;
}

bool lc_infer_has_field(const lc_infer *in, const char *name) {
  for (size_t i = 0; i < in->root.n_fields; i++)
    if (strcmp(in->root.names[i], name) == 0) return true;
  return false;
}
