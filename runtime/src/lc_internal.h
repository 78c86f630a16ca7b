/*
 * lc_internal.h: declarations shared between the runtime's C files. Not installed.
 * Each section names the file that implements it.
 */
#ifndef LC_INTERNAL_H
#define LC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include "luaconn.h"

#define LC_ERRMSG_MAX 1024

/* Lua 5.2's lua_absindex, which LuaJIT lacks. */
#define lc_absindex(L, i) \
  ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)

/* ---- lc_error.c: the structured error a runtime keeps ------------------------ */

typedef struct lc_error_buf {
  lc_error pub;        /* what lc_runtime_error hands out; points into the fields below */
  char *message;
  char *script;
  char *traceback;
} lc_error_buf;

void lc_error_clear(lc_error_buf *e);
/* Sets code and a printf-formatted message; script/line left empty. Returns code. */
int lc_error_set(lc_error_buf *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets every field; any string may be NULL. Copies them. Returns code. */
int lc_error_set_full(lc_error_buf *e, int code, const char *message,
                      const char *script, int line, const char *traceback);

/* ---- lc_state.c: per-connector Lua state context ----------------------------- */

/* One per lua_State (one per connector). Reached from Lua with lc_state_get. */
typedef struct lc_state {
  lc_runtime *rt;
  lua_State *L;
  char *name;               /* connector name for log lines; owned */
  size_t mem_used;
  size_t mem_limit;
  bool mem_refused;         /* the cap refused an allocation during this call */
  double deadline;          /* lc_now() value after which scripts are stopped; 0 = none */
  double call_timeout;      /* seconds each call may take */
  bool timed_out;           /* the deadline stopped a script during this call */
  char **secrets;           /* values never to be shown in logs or errors; owned */
  size_t n_secrets;
  void *http;               /* lc_http.c's per-state data (curl handle); owned by lc_http.c */
  void (*http_free)(void *);
  int pending_code;         /* lc_status a host function set before raising (e.g. LC_ERR_HTTP) */
  char err_source[512];     /* where the last error was raised (chunk name), set by the */
  int err_line;             /* traceback handler */
  int registry_env;         /* registry refs held by lc_sandbox.c */
  int registry_loaded;
  int registry_coroutine_body;
  struct lc_file_sig *watched; /* the script and every module it required; owned */
  size_t n_watched;
} lc_state;

/* ---- lc_reload.c: noticing edited scripts ----------------------------------------- */

/* A file a connector was built from, as it was when loaded. */
typedef struct lc_file_sig {
  char *path;               /* owned */
  uint64_t hash;            /* FNV-1a of the content */
  int64_t mtime_ns, size;   /* a cheap first check before hashing */
  uint64_t inode;
} lc_file_sig;

/* Records path (whose content is data) as something st was built from. */
void lc_state_watch(lc_state *st, const char *path, const char *data, size_t len);
void lc_state_unwatch_all(lc_state *st);

/* Raises a Lua error carrying an lc_status code (e.g. LC_ERR_HTTP, LC_ERR_VALUE)
 * that the runtime reports instead of LC_ERR_SCRIPT unless the script catches it. */
int lc_state_raise(lua_State *L, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

lc_state *lc_state_get(lua_State *L);
double lc_now(void);                       /* monotonic seconds */
/* Seconds left before the deadline (a large number when there is none). */
double lc_state_time_left(const lc_state *st);
/* Raises a Lua error if the call's time budget is spent. Call it in long C loops. */
void lc_state_check_deadline(lua_State *L);
/* Sleeps up to seconds, but raises the time-limit error instead of sleeping past
 * the deadline. */
void lc_state_sleep(lua_State *L, double seconds);
/* Registers a value to redact (ignores NULL and values shorter than 4 bytes). */
void lc_state_add_secret(lc_state *st, const char *value, size_t len);
/* Returns a malloc'd copy of text with every secret replaced by "***". Caller frees. */
char *lc_state_redact(const lc_state *st, const char *text);
/* Logs through the runtime's callback; redacts. */
void lc_state_log(lc_state *st, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- lc_runtime.c ------------------------------------------------------------- */

struct lc_runtime {
  lc_config config;         /* strings below are owned copies */
  char *lua_root;
  char *search_path;
  lc_error_buf error;
};

/* ---- lc_sandbox.c: creating and calling into a sandboxed state --------------- */

/* Creates a capped, sandboxed lua_State with host modules available to require.
 * On success *out is owned by the caller (lc_sandbox_close). */
int lc_sandbox_open(lc_runtime *rt, const char *name, lc_state **out);
void lc_sandbox_close(lc_state *st);
/* Loads text-only Lua source into the sandbox environment and leaves the chunk on
 * the stack. chunkname follows lua_load conventions ("@path" or "=name"). */
int lc_sandbox_load(lc_state *st, const char *source, size_t len, const char *chunkname);
/* Calls the function below nargs arguments with the time budget armed and a
 * traceback handler; on error fills rt->error (script, line, traceback, redacted)
 * and returns its code, leaving nothing on the stack for the call. */
int lc_sandbox_call(lc_state *st, int nargs, int nresults);
/* Pushes the coroutine body and traceback handler onto co; push the function and
 * its arguments after them, then lc_sandbox_resume with nargs counting those. */
void lc_sandbox_push_coroutine(lc_state *st, lua_State *co);
/* Resumes coroutine co (nargs values on co's stack) with the time budget armed.
 * Returns LC_OK when it yielded, LC_DONE when it finished, or an error code with
 * rt->error filled. */
int lc_sandbox_resume(lc_state *st, lua_State *co, int nargs);
/* Reads a file into a malloc'd buffer (caller frees). */
int lc_read_file(const char *path, char **data, size_t *len);

/* ---- host modules: each returns its module table ------------------------------ */

int lc_open_http(lua_State *L);   /* lc_http.c */
/* The CA bundle TLS peers are verified against when no ca_file is given (NULL: none
 * found); *origin says where it came from ("SSL_CERT_FILE", "system bundle"...). */
const char *lc_tls_default_ca(const char **origin);   /* lc_http.c */
int lc_open_json(lua_State *L);   /* lc_json.c */
int lc_open_log(lua_State *L);    /* lc_log.c */
int lc_open_env(lua_State *L);    /* lc_env.c */
int lc_open_amqp(lua_State *L);   /* lc_amqp.c */
int lc_open_secrets(lua_State *L); /* lc_secrets.c */

/* lc_json.c: encode the value at idx with lua-cjson into a malloc'd string
 * (caller frees); decode text and push the value. Both return LC_OK or set an
 * error message in err. */
int lc_json_encode(lua_State *L, int idx, char **out, char *err, size_t errlen);
int lc_json_decode(lua_State *L, const char *text, size_t len, char *err, size_t errlen);
/* n as json.encode prints it: 14 significant digits, or the shortest exact text
 * when 14 would change it. n must be finite. */
void lc_json_number_text(double n, char out[32]);
int lc_json_lua_decode(lua_State *L);   /* json.decode: decodes string 1 or raises */

/* ---- lc_schema.c: Spark DDL schemas ------------------------------------------- */

typedef enum lc_type_id {
  LC_T_BOOLEAN, LC_T_INT, LC_T_BIGINT, LC_T_FLOAT, LC_T_DOUBLE,
  LC_T_STRING, LC_T_BINARY, LC_T_DATE, LC_T_TIMESTAMP,
  LC_T_ARRAY, LC_T_STRUCT, LC_T_MAP
} lc_type_id;

struct lc_type;
typedef struct lc_field {
  char *name;
  struct lc_type *type;
  bool nullable;
} lc_field;

/* STRUCT: children are its fields. ARRAY: one child named "element".
 * MAP: two children, "key" and "value". Scalars: none. */
typedef struct lc_type {
  lc_type_id id;
  size_t n_children;
  lc_field *children;
} lc_type;

/* Parses "id INT, name STRING NOT NULL, tags ARRAY<STRING>" into a STRUCT type.
 * Caller frees *out with lc_type_free. On error, err names the position. */
int lc_schema_parse(const char *ddl, lc_type **out, char *err, size_t errlen);
void lc_type_free(lc_type *t);
const char *lc_type_name(lc_type_id id);   /* "INT", "ARRAY", ... */

/* ---- lc_arrow.c: rows <-> Arrow C Data Interface ------------------------------ */

typedef struct lc_builder lc_builder;

/* A builder for batches of rows of schema (a STRUCT type, borrowed: it must
 * outlive the builder). L is the state rows will come from; the builder keeps
 * references to its column-name strings there. Caller frees with lc_builder_free. */
int lc_builder_new(const lc_type *schema, lua_State *L, lc_builder **out);
void lc_builder_free(lc_builder *b);
/* Appends the row at stack index idx: a table keyed by column name; a missing key,
 * nil or json.null is null. row_number (1-based, counted by the caller across
 * batches) appears in errors: "column 'id', row 12: expected INT, got 3.5".
 * On error (LC_ERR_VALUE) the batch in progress is discarded. */
int lc_builder_append(lc_builder *b, lua_State *L, int idx, int64_t row_number,
                      char *err, size_t errlen);
/* One JSON scalar of a record, for lc_builder_append_scalars. NUMBER: the number's
 * JSON text; STRING: the decoded bytes. text is borrowed. */
typedef enum lc_scalar_kind {
  LC_SCALAR_ABSENT, LC_SCALAR_NULL, LC_SCALAR_FALSE, LC_SCALAR_TRUE,
  LC_SCALAR_NUMBER, LC_SCALAR_STRING
} lc_scalar_kind;
typedef struct lc_scalar {
  lc_scalar_kind kind;
  const char *text;
  size_t len;
} lc_scalar;
/* True when every column is a scalar type (rows can come from lc_scalar values). */
bool lc_builder_flat(const lc_builder *b);
size_t lc_builder_columns(const lc_builder *b);
const char *lc_builder_column_name(const lc_builder *b, size_t i);   /* borrowed */
/* Appends one row from values[i] for column i (a flat builder), converting as
 * lc_builder_append converts the same values decoded by lua-cjson. LC_ERR_VALUE:
 * some value would not convert (or converts differently) and nothing was appended,
 * so the caller gives the record to lc_builder_append, which words the error. */
int lc_builder_append_scalars(lc_builder *b, const lc_scalar *values);
int64_t lc_builder_rows(const lc_builder *b);
/* Drops the rows so far, keeping the buffers for the next batch. */
void lc_builder_clear(lc_builder *b);
size_t lc_builder_bytes(const lc_builder *b);   /* approximate buffer bytes */
/* The batch holds max_rows rows or (approximately) max_bytes bytes. */
bool lc_builder_full(const lc_builder *b, int64_t max_rows, size_t max_bytes);
/* Moves the rows so far into *schema and *array (the caller owns both and releases
 * them) and starts an empty batch. */
int lc_builder_finish(lc_builder *b, struct ArrowSchema *schema, struct ArrowArray *array);

/* "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC), as rows show dates and
 * timestamps to Lua. */
void lc_format_date(int64_t days, char *out, size_t outlen);
void lc_format_timestamp(int64_t micros, char *out, size_t outlen);
/* Pushes row `row` of a batch as a Lua table keyed by column name; nulls become
 * json.null. The batch is borrowed. Supports every type lc_builder produces. */
int lc_arrow_push_row(lua_State *L, const struct ArrowSchema *schema,
                      const struct ArrowArray *array, int64_t row,
                      char *err, size_t errlen);
/* What an Arrow field holds, from its format (AK_UNSUPPORTED for anything else,
 * dictionary-encoded fields included). */
typedef enum lc_arrow_kind {
  AK_UNSUPPORTED, AK_BOOL, AK_INT8, AK_INT16, AK_INT32, AK_INT64, AK_FLOAT, AK_DOUBLE,
  AK_STRING, AK_LARGE_STRING, AK_BINARY, AK_LARGE_BINARY, AK_DATE32, AK_DATE64,
  AK_TIMESTAMP, AK_LIST, AK_LARGE_LIST, AK_STRUCT, AK_MAP
} lc_arrow_kind;
lc_arrow_kind lc_arrow_classify(const struct ArrowSchema *s);
/* Checks that a batch's schema is one lc_arrow_push_row can read (a struct of
 * supported types); err names the first unsupported column. */
int lc_arrow_check_schema(const struct ArrowSchema *schema, char *err, size_t errlen);

/* ---- lc_rowjson.c: Arrow rows as JSON text (for json.encode_rows) ---------------- */

typedef struct lc_rowjson lc_rowjson;
/* Caller frees with lc_rowjson_free; NULL when out of memory. */
lc_rowjson *lc_rowjson_new(void);
void lc_rowjson_free(lc_rowjson *r);
/* Adds row `row` of the batch (its schema checked by lc_arrow_check_schema). L is
 * used for rows only the Lua path writes; errors are json.encode's. */
int lc_rowjson_add(lc_rowjson *r, lua_State *L, const struct ArrowSchema *schema,
                   const struct ArrowArray *array, int64_t row, char *err, size_t errlen);
int64_t lc_rowjson_rows(const lc_rowjson *r);
/* A new batch arrived (its schema may sit where the last one did): learn it anew. */
void lc_rowjson_new_batch(lc_rowjson *r);
/* Pushes "[row,...]" of the rows added (at least one) and starts empty. */
void lc_rowjson_push(lc_rowjson *r, lua_State *L);

/* ---- lc_connector.c, lc_read.c, lc_write.c: a loaded connector ---------------- */

struct lc_connector {
  lc_runtime *rt;
  lc_state *st;
  char *script;             /* path or chunk name it was loaded from; owned */
  char *schema_ddl;         /* owned */
  lc_type *schema;          /* owned */
  int ref_connector;        /* registry ref: the table the script returned */
  int ref_options;          /* registry ref: validated, typed options */
  /* read */
  lc_builder *builder;      /* owned; created on the first read */
  lua_State *read_co;       /* coroutine running read(); anchored by ref_read_co */
  int ref_read_co;
  bool read_started, read_finished, read_yield_expected;
  int64_t rows_emitted;
  /* write */
  lua_State *write_co;
  int ref_write_co;
  bool write_finished, write_yield_expected, write_input_ended;
  const struct ArrowSchema *write_schema;  /* borrowed during lc_write_batch */
  const struct ArrowArray *write_array;
  int64_t write_row;        /* next row of write_array to hand out */
  int64_t rows_written;
  lc_rowjson *write_json;   /* rows json.encode_rows took and has not returned; owned */
  bool write_resume_false;  /* json.encode_rows waits: resume write() with false */
  /* hot reload */
  int kind;                 /* LC_SOURCE_FILE (script is its path) or LC_SOURCE_INLINE */
  char **options;           /* copy of the key/value strings given; owned */
  size_t n_options;
  char *source;             /* the running version's source text; owned */
  size_t source_len;
  int generation;           /* 1 for the first version, +1 per successful reload */
  uint64_t refused_hash;    /* content hash of the last version refused, 0 = none */
  lc_error_buf reload_error;
  bool schema_locked;
};

/* Gets conn's function `name` and options onto the stack; LC_OK or LC_DONE when the
 * connector does not define it (nothing pushed). */
int lc_connector_push_method(lc_connector *conn, const char *name);
/* Checks options the declaration marks required for operation op ("read"/"write"). */
int lc_connector_require_options(lc_connector *conn, const char *op);
/* Runs f(L) with ud as its only argument as a protected call under the time budget. */
int lc_connector_protected(lc_connector *conn, lua_CFunction f, void *ud);
/* Encodes the list at idx as JSON lines (malloc'd, caller frees); raises a Lua error
 * naming function when it is not a list of JSON-serialisable values. */
char *lc_connector_json_lines(lua_State *L, int idx, const char *function);
/* Builds a connector from (kind, ref) and the option strings into conn (whose rt
 * is set); name labels inline source. Used by the open calls and by reloads. */
int lc_connector_build(lc_connector *conn, int kind, const char *ref, const char *name,
                       const char *const *options, size_t n_options);
/* Frees what lc_connector_build made (state, schema, builder, strings). */
void lc_connector_release(lc_connector *conn);
/* At a safe point (no read or write in progress): reloads the script if hot reload
 * is on and a watched file changed. Never fails the caller: a refused version is
 * reported through the log and lc_connector_reload_error. */
void lc_connector_safe_point(lc_connector *conn);
/* Ends any read in progress: frees its coroutine and discards its partial batch. */
void lc_read_reset(lc_connector *conn);
/* Adds encode_rows and encodes_rows to the json module table on top (lc_write.c). */
void lc_write_register_json(lua_State *L);
/* The emit function read() receives (a C closure over its connector). */
int lc_read_emit(lua_State *L);

/* ---- lc_records.c: json.page, a page of JSON records appended in C ------------- */

/* Adds page and accepts_pages to the json module table on top of the stack. */
void lc_records_register(lua_State *L);
bool lc_page_is(lua_State *L, int idx);
/* Appends the records of the page at idx to b, counting them in *rows, until the
 * page is done or the batch holds max_rows rows or (checked every 64 records)
 * max_bytes bytes. Raises Lua errors (bad records name their row as emit's do). */
void lc_page_fill(lua_State *L, int idx, lc_builder *b, int64_t *rows, int64_t max_rows,
                  size_t max_bytes);

/* ---- lc_options.c: option declarations and values -------------------------------- */

/* Checks the declaration table at decl_idx (types, defaults); err lists problems. */
int lc_options_check_decl(lua_State *L, int decl_idx, char *err, size_t errlen);
/* Validates key/value strings against the declaration at decl_idx and pushes the
 * typed options table; registers secret values with the state. Every problem is
 * listed in err (values of secret options never are). */
int lc_options_validate(lc_state *st, int decl_idx, const char *const *kv, size_t n,
                        char *err, size_t errlen);
/* Lists options declared required for op (required = op) that opts lacks. */
int lc_options_require(lua_State *L, int decl_idx, int opts_idx, const char *op,
                       char *err, size_t errlen);

/* ---- lc_contract.c: the connector contract ---------------------------------------- */

/* Checks the connector table at idx against the contract (fields, types, sets of
 * functions that go together, the options declaration, a static schema). */
int lc_contract_check(lua_State *L, int idx, char *err, size_t errlen);
/* Pushes a summary table of the connector at idx (for luaconn check). */
void lc_contract_summary(lua_State *L, int idx);

#endif /* LC_INTERNAL_H */
