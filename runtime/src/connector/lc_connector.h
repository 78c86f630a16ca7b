/*
 * connector/lc_connector.h: a loaded connector and the contract's calls. The top
 * layer: it includes host (and so vm and base) and arrow, and nothing includes it
 * but the public API's users.
 *
 * Files, from the bottom up (each calls only files listed before it):
 *   lc_infer.c                   a DDL schema inferred from sample records
 *   lc_options.c, lc_contract.c  option declarations and values; the contract check
 *   lc_filters.c                 filter pushdown: declarations and pushed filters
 *   lc_rows.c                    Lua rows <-> Arrow batches (emit, the rows iterator)
 *   lc_records.c                 json.page: a page of JSON records into a batch in C
 *   lc_rowjson.c                 rows of an Arrow batch as JSON text (json.encode_rows)
 *   lc_version.c                 one validated version of a script (load, check, options)
 *   lc_call.c                    calling into a connector; read/write session lifetimes
 *   lc_reload.c                  hot reload: a new version swapped in whole
 *   lc_plan.c, lc_read.c, lc_write.c, lc_stream.c   the contract's calls
 *   lc_connector.c               the public open/free/check and what a connector is
 */
#ifndef LC_CONNECTOR_H
#define LC_CONNECTOR_H

#include "arrow/lc_arrow.h"
#include "host/lc_host.h"

#include <yyjson.h>

/* ---- lc_infer.c: a DDL schema inferred from sample records -------------------------- */

typedef struct lc_infer lc_infer;
lc_infer *lc_infer_new(void); /* NULL when out of memory */
void lc_infer_free(lc_infer *in);
void lc_infer_tree(lc_infer *in, yyjson_val *record); /* numbers read as raw text */
void lc_infer_lua(lc_infer *in, lua_State *L, int idx);
int64_t lc_infer_records(const lc_infer *in);
/* "name TYPE, ..." (malloc'd, caller frees; NULL when out of memory). */
char *lc_infer_ddl(const lc_infer *in);
bool lc_infer_has_field(const lc_infer *in, const char *name);

/* ---- lc_rows.c: Lua rows <-> Arrow batches ----------------------------------------- */

/* A batch builder fed with Lua row tables (keyed by column name). */
typedef struct lc_rows lc_rows;
/* Builds batches of schema (borrowed) from rows living in L. Caller frees with
 * lc_rows_free before L closes. */
int lc_rows_new(const lc_type *schema, lua_State *L, lc_rows **out);
void lc_rows_free(lc_rows *r);
lc_builder *lc_rows_builder(lc_rows *r);
/* Appends the row at stack index idx: a table keyed by column name; a missing key,
 * nil or json.null is null. row_number (1-based, counted by the caller across
 * batches) appears in errors: "column 'id', row 12: expected INT, got 3.5".
 * On error (LC_ERR_VALUE) the batch in progress is discarded. */
int lc_rows_append(lc_rows *r, lua_State *L, int idx, int64_t row_number, char *err, size_t errlen);
/* Top-level column i had a key in some record (even a null one): a column that
 * never does is most likely misspelt. lc_rows_append marks its columns itself. */
void lc_rows_mark_seen(lc_rows *r, size_t column);
/* Logs a warning for each top-level column no record of the `rows` appended since
 * the last call had a key for (when rows > 0), and forgets what was seen. */
void lc_rows_warn_unseen(lc_rows *r, lc_state *st, int64_t rows);
/* Pushes row `row` of a batch as a Lua table keyed by column name; nulls become
 * json.null. The batch is borrowed. Supports every type lc_builder produces. */
int lc_rows_push(lua_State *L, const struct ArrowSchema *schema, const struct ArrowArray *array,
                 int64_t row, char *err, size_t errlen);

/* ---- lc_records.c: json.page, a page of JSON records appended in C -------------------- */

/* Adds page and accepts_pages to the json module table on top of the stack. */
void lc_records_register(lua_State *L);
/* Marks the function at idx as one that takes pages whole (a read's emit), so
 * json.accepts_pages says so. */
void lc_records_accept_pages(lua_State *L, int idx);
bool lc_page_is(lua_State *L, int idx);
/* Appends the records of the page at idx to r, counting them in *rows, until the
 * page is done or the batch holds max_rows rows or (checked every 64 records)
 * max_bytes bytes. Raises Lua errors (bad records name their row as emit's do). */
void lc_page_fill(lua_State *L, int idx, lc_rows *r, int64_t *rows, int64_t max_rows,
                  size_t max_bytes);

/* Sample mode (schema inference): hands each record of the page at idx to
 * lc_infer_tree (keys in page order) and marks the page read; page:doc() and
 * page:count() work as after emit. */
void lc_page_sample(lua_State *L, int idx, lc_infer *in);

/* ---- lc_rowjson.c: Arrow rows as JSON text (for json.encode_rows) -------------------- */

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
/* Pushes "[row,...]" of the rows added (at least one) and starts empty; raises when
 * out of memory. */
void lc_rowjson_push(lc_rowjson *r, lua_State *L);

/* ---- lc_options.c: option declarations and values ------------------------------------ */

/* Checks the declaration table at decl_idx (types, defaults); err lists problems. */
int lc_options_check_decl(lua_State *L, int decl_idx, char *err, size_t errlen);
/* Validates key/value strings against the declaration at decl_idx and pushes the
 * typed options table; registers secret values with the state. Every problem is
 * listed in err (values of secret options never are). */
int lc_options_validate(lc_state *st, int decl_idx, const char *const *kv, size_t n, char *err,
                        size_t errlen);
/* Lists options declared required for op (required = op) that opts lacks. */
int lc_options_require(lua_State *L, int decl_idx, int opts_idx, const char *op, char *err,
                       size_t errlen);

/* ---- lc_filters.c: filter pushdown ---------------------------------------------------- */

/* The reserved option carrying pushed filters (a JSON list of {column, op, value}). */
#define LC_FILTERS_OPTION "filters"
/* Checks a declaration (nil, a function, or { column = { exact = {ops}, inexact =
 * {ops} } }) at idx; err lists problems. */
int lc_filters_check_decl(lua_State *L, int idx, char *err, size_t errlen);
/* Evaluates the connector's declaration for its options (calling filters(opts)),
 * checks the pushed filters (JSON text or NULL for none) against it and sets
 * opts.filters to their list. LC_ERR_CONTRACT (a bad declaration) or LC_ERR_OPTION
 * (a filter it does not take) with err saying why; other codes are script errors,
 * described by the runtime's error. */
int lc_filters_take(lc_state *st, int ref_connector, int ref_options, const char *pushed_json,
                    char *err, size_t errlen);
/* The declaration for the options as JSON {"column": {"op": "exact"|"inexact"}}
 * (malloc'd into *json_out, caller frees); errors as lc_filters_take's. */
int lc_filters_declared_json(lc_state *st, int ref_connector, int ref_options, char **json_out,
                             char *err, size_t errlen);

/* ---- lc_contract.c: the connector contract -------------------------------------------- */

/* Checks the connector table at idx against the contract (fields, types, sets of
 * functions that go together, the options declaration, a static schema). */
int lc_contract_check(lua_State *L, int idx, char *err, size_t errlen);
/* Pushes a summary table of the connector at idx (for luaconn check). */
void lc_contract_summary(lua_State *L, int idx);

/* ---- lc_version.c: one validated version of a script ---------------------------------- */

/* Everything a version of the script owns. A reload builds a whole new one and
 * swaps it in; nothing of the old one survives the swap. */
typedef struct lc_version {
  lc_state *st; /* owned */
  char *script; /* path or chunk name it was loaded from; owned */
  int kind;     /* LC_SOURCE_FILE (script is its path) or LC_SOURCE_INLINE */
  char *source; /* its source text; owned */
  size_t source_len;
  char *schema_ddl;  /* owned */
  lc_type *schema;   /* owned */
  int ref_connector; /* registry ref: the table the script returned */
  int ref_options;   /* registry ref: validated, typed options */
} lc_version;

/* Builds a version from (kind, ref) and the option strings: loads the source, runs
 * it in a new sandbox, checks the contract, validates the options and resolves the
 * schema. name labels inline source. On error rt->error says why and *v is empty. */
int lc_version_build(lc_runtime *rt, lc_version *v, int kind, const char *ref, const char *name,
                     const char *const *options, size_t n_options, lc_module_extend_fn extend);
/* Frees what lc_version_build made and empties *v. */
void lc_version_release(lc_version *v);
/* Loads a script without options, checks it and pushes its contract summary
 * (lc_connector_check). On success *st holds the summary on top (caller closes). */
int lc_version_check(lc_runtime *rt, int kind, const char *ref, lc_module_extend_fn extend,
                     lc_state **st);

/* ---- lc_call.c: a loaded connector, and calling into it ------------------------------- */

/* A read in progress: read() runs in read_co and emits into rows. */
typedef struct lc_read_session {
  lc_rows *rows; /* owned; created on the first read, lives in the version's state */
  lua_State *co; /* coroutine running read(); anchored by ref_co */
  int ref_co;
  bool started, finished, yield_expected;
  int64_t rows_emitted;
  lc_infer *infer;   /* sample mode (lc_connector_infer): emit feeds it, no batches */
  int64_t infer_max; /* sample mode yields once it holds this many records */
} lc_read_session;

/* A write in progress: write() runs in co and pulls rows from the current batch. */
typedef struct lc_write_session {
  lua_State *co;
  int ref_co;
  bool finished, yield_expected, input_ended;
  const struct ArrowSchema *schema; /* borrowed during lc_write_batch */
  const struct ArrowArray *array;
  int64_t row; /* next row of array to hand out */
  int64_t rows_written;
  lc_rowjson *json;  /* rows json.encode_rows took and has not returned; owned */
  bool resume_false; /* json.encode_rows waits: resume write() with false */
} lc_write_session;

struct lc_connector {
  lc_runtime *rt;
  lc_version v;   /* the running version */
  char **options; /* copy of the key/value strings given; owned */
  size_t n_options;
  lc_read_session read;
  lc_write_session write;
  /* hot reload */
  int generation;        /* 1 for the first version, +1 per successful reload */
  uint64_t refused_hash; /* content hash of the last version refused, 0 = none */
  lc_error_buf reload_error;
  bool schema_locked;
  char *fixed_ddl; /* the schema fixed for a connector whose schema is "infer" */
  lc_type *fixed;  /* its parse; both owned; NULL until inferred or set */
};

/* The schema reads and writes use: the fixed one, else the script's (NULL while a
 * schema = "infer" is not inferred yet: then fail with LC_SCHEMA_UNKNOWN). */
static inline const lc_type *lc_connector_schema_type(const lc_connector *conn) {
  return conn->fixed ? conn->fixed : conn->v.schema;
}
#define LC_SCHEMA_UNKNOWN                                                                 \
  "schema = \"infer\": the schema is inferred from a sample first (luaconn infer; Spark " \
  "does it on the driver) or set by the host"

/* True when the running version defines function name. */
bool lc_connector_defines(lc_connector *conn, const char *name);
/* Sets conn's error to message at conn's script (no line) and returns code. */
int lc_connector_fail(lc_connector *conn, int code, const char *message);
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
/* Ends the read and write in progress (their coroutines and partial batches). */
void lc_connector_end_read(lc_connector *conn);
void lc_connector_end_write(lc_connector *conn);
/* Frees the running version and everything living in its state (sessions, the
 * read's builder). */
void lc_connector_drop_version(lc_connector *conn);

/* ---- lc_reload.c -------------------------------------------------------------------------- */

/* At a safe point (no read or write in progress): reloads the script if hot reload
 * is on and a watched file changed. Never fails the caller: a refused version is
 * reported through the log and lc_connector_reload_error. */
void lc_connector_safe_point(lc_connector *conn);

/* ---- lc_write.c -------------------------------------------------------------------------- */

/* Adds encode_rows and encodes_rows to the json module table on top. */
void lc_write_register_json(lua_State *L);

#endif /* LC_CONNECTOR_H */
