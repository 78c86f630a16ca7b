/*
 * luaconn.h: the one public header of the luaconn runtime.
 *
 * A runtime embeds LuaJIT and runs connector scripts (the .lua files in lua/connectors) in a
 * sandbox. Rows leave and enter through the Arrow C Data Interface.
 *
 * Thread safety: a runtime and the connectors loaded from it must be used by one
 * thread at a time. Separate runtimes are independent: one runtime per thread is fine.
 *
 * Ownership: every function that hands out memory says who frees it. Strings marked
 * "owned by the runtime" stay valid until the next call on that runtime. Strings
 * marked "caller frees" are released with lc_free(). Strings marked "owned by the
 * version" belong to the running version of a connector's script: a successful hot
 * reload replaces the version whole and frees them. With hot_reload off they live
 * as long as the connector; with it on they stay valid until the next safe point
 * (lc_connector_partitions, lc_read_begin, lc_write_begin, lc_stream_*,
 * lc_connector_reload): copy them to keep them longer.
 *
 * The declarations between LC_CDEF_BEGIN and LC_CDEF_END are plain C with no
 * preprocessor lines: the Python binding (cffi) reads exactly that block.
 */
#ifndef LUACONN_H
#define LUACONN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* LUACONN_VERSION ("0.1.0"), generated from the repository's VERSION file. */
#include "luaconn_version.h"

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4
/* LC_CDEF_ARROW_BEGIN: the Arrow C Data Interface ABI (arrow.apache.org/docs/format/CDataInterface.html) */
struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};
/* LC_CDEF_ARROW_END */
#endif

/* The library is built with hidden visibility; only this API is exported. */
#pragma GCC visibility push(default)
/* LC_CDEF_BEGIN */
typedef enum lc_status {
  LC_OK = 0,
  LC_DONE = 1,               /* a read has no more batches (not an error) */
  LC_ERR_NOMEM = -1,         /* the process ran out of memory */
  LC_ERR_ARGUMENT = -2,      /* a C caller passed a bad argument */
  LC_ERR_NOT_FOUND = -3,     /* connector or module not on the search path */
  LC_ERR_IO = -4,            /* a file could not be read */
  LC_ERR_SYNTAX = -5,        /* the script does not compile */
  LC_ERR_CONTRACT = -6,      /* the script does not follow the connector contract */
  LC_ERR_OPTION = -7,        /* options missing, unknown or of the wrong type */
  LC_ERR_SCHEMA = -8,        /* the schema DDL does not parse */
  LC_ERR_VALUE = -9,         /* a value does not fit its column */
  LC_ERR_SCRIPT = -10,       /* the script raised an error at run time */
  LC_ERR_MEMORY_LIMIT = -11, /* the connector exceeded its memory cap */
  LC_ERR_TIME_LIMIT = -12,   /* a call exceeded its time budget */
  LC_ERR_HTTP = -13,         /* an HTTP request failed (after retries) */
  LC_ERR_STATE = -14,        /* call out of order (e.g. read_next before read_begin) */
  LC_ERR_AMQP = -15          /* a broker connection, publish or consume failed */
} lc_status;

/* A static string naming the status, e.g. "time limit exceeded". Never NULL. */
const char *lc_status_string(int status);

/* The error of the last failed call on a runtime. Owned by the runtime; valid until
 * the next call on it. script is NULL and line 0 when the error has no position. */
typedef struct lc_error {
  int code;              /* an lc_status */
  const char *message;   /* one line, secrets redacted */
  const char *script;    /* script path or chunk name, or NULL */
  int line;              /* line in script, or 0 */
  const char *traceback; /* Lua traceback, or NULL */
} lc_error;

typedef enum lc_log_level {
  LC_LOG_DEBUG = 10,
  LC_LOG_INFO = 20,
  LC_LOG_WARN = 30,
  LC_LOG_ERROR = 40
} lc_log_level;

/* Receives log lines from scripts and the runtime, secrets already redacted. */
typedef void (*lc_log_fn)(void *ctx, int level, const char *connector, const char *message);

typedef struct lc_config {
  size_t memory_limit;     /* bytes per connector; 0 = 256 MiB */
  double call_timeout;     /* seconds of wall clock per call into a script; 0 = 120 */
  const char *lua_root;    /* dir holding connectors/ and luaconn/; NULL = the installed
                              <libdir>/../share/luaconn/lua next to the library (or
                              program) holding the runtime, when it exists, else none */
  const char *search_path; /* ':'-separated connector dirs searched before lua_root;
                              NULL = the LUACONN_PATH environment variable */
  int64_t batch_rows;      /* max rows per Arrow batch; 0 = 8192 */
  int64_t batch_bytes;     /* approximate max bytes per batch; 0 = 16 MiB */
  lc_log_fn log;           /* NULL = discard */
  void *log_ctx;
  int log_level;           /* lowest level delivered; 0 = LC_LOG_INFO */
  int hot_reload;          /* nonzero: reload edited connector files at safe points */
  const char *http_record; /* dir: every HTTP exchange is stored there, secrets
                              redacted (one JSON file per request); NULL = none */
  const char *http_replay; /* dir: HTTP requests are answered from a recording, no
                              network; an unrecorded request fails; NULL = none */
} lc_config;

typedef struct lc_runtime lc_runtime;
typedef struct lc_connector lc_connector;

/* Frees memory the runtime handed to the caller. NULL is fine. */
void lc_free(void *p);

/* Creates a runtime. config may be NULL for defaults; its strings are copied.
 * Caller owns *out and frees it with lc_runtime_free. */
int lc_runtime_new(const lc_config *config, lc_runtime **out);
void lc_runtime_free(lc_runtime *rt);
const lc_error *lc_runtime_error(const lc_runtime *rt);

/* How lc_connector_open interprets ref. */
typedef enum lc_source_kind {
  LC_SOURCE_AUTO = 0,  /* a file if ref contains '/' or ends in ".lua", else a name */
  LC_SOURCE_NAME = 1,  /* "rest": search_path dirs, then lua_root/connectors */
  LC_SOURCE_FILE = 2,  /* a path to a .lua file */
  LC_SOURCE_INLINE = 3 /* ref is the Lua source itself */
} lc_source_kind;

/* Loads a connector and validates options. options is an array of n_options
 * key/value string pairs: options[2*i] is a key, options[2*i+1] its value; keys are
 * case-insensitive. Every problem with the options is reported in one error.
 * Caller owns *out and frees it with lc_connector_free. */
int lc_connector_open(lc_runtime *rt, int kind, const char *ref, const char *const *options,
                      size_t n_options, lc_connector **out);
void lc_connector_free(lc_connector *conn);

/* Like lc_connector_open with LC_SOURCE_INLINE, for source text that came from
 * elsewhere (a driver shipping a script's validated text to executors): name (e.g.
 * the original path) stands for the script in errors. Never hot-reloaded. */
int lc_connector_open_source(lc_runtime *rt, const char *name, const char *source,
                             const char *const *options, size_t n_options, lc_connector **out);

/* Loads a script without options and checks it against the contract (luaconn check).
 * On success *summary (caller frees) is a JSON object describing the connector. */
int lc_connector_check(lc_runtime *rt, int kind, const char *ref, char **summary);

/* The connector's schema as a Spark DDL string. Owned by the version. "infer" for
 * a connector whose schema = "infer" until lc_connector_infer or
 * lc_connector_set_schema fixes it. */
const char *lc_connector_schema(lc_connector *conn);
/* Reads up to max_records records of the partition (NULL = {}; max_records <= 0 =
 * 1000) and returns a DDL schema that fits them (malloc'd, free with lc_free):
 * nested objects as STRUCTs, arrays, ISO-8601 strings as TIMESTAMP or DATE. Logs a
 * warning for each declared column no sampled record has. For schema = "infer" the
 * result becomes the connector's schema. */
int lc_connector_infer(lc_connector *conn, const char *partition_json, int64_t max_records,
                       char **ddl);
/* Fixes the schema of a connector whose schema = "infer" (what the driver inferred). */
int lc_connector_set_schema(lc_connector *conn, const char *ddl);
/* The path or chunk name the connector was loaded from. Owned by the version. */
const char *lc_connector_script(lc_connector *conn);
/* Nonzero when the script defines read / write. */
int lc_connector_can_read(lc_connector *conn);
int lc_connector_can_write(lc_connector *conn);

/* Planned partitions as JSON lines: one partition's JSON per line, each line ending
 * in '\n' (caller frees). Zero partitions give "". A connector without a
 * partitions function has one partition, "{}". */
int lc_connector_partitions(lc_connector *conn, char **json_lines_out);

/* The filters the connector takes for its options (filter pushdown), as JSON
 * {"column": {"operator": "exact"|"inexact"}} (caller frees); "{}" when it declares
 * none. Pushed filters go in as the option "filters" (spec/CONTRACT.md). */
int lc_connector_filters(lc_connector *conn, char **json_out);

/* Reads one partition (one line from lc_connector_partitions; NULL = "{}").
 * Call lc_read_next until it returns LC_DONE. Each LC_OK fills *schema and *array with one batch the caller owns (call their release callbacks). */
int lc_read_begin(lc_connector *conn, const char *partition_json);
int lc_read_next(lc_connector *conn, struct ArrowSchema *schema, struct ArrowArray *array);

/* Writes rows: lc_write_begin, then lc_write_batch for each batch (the batch is
 * only read; the caller keeps ownership), then lc_write_end, which returns the
 * script's commit message as JSON (caller frees). lc_write_cancel abandons a write. */
int lc_write_begin(lc_connector *conn);
int lc_write_batch(lc_connector *conn, const struct ArrowSchema *schema,
                   const struct ArrowArray *array);
int lc_write_end(lc_connector *conn, char **commit_message_json);
void lc_write_cancel(lc_connector *conn);

/* Driver side of a write: hands the script every task's commit message (a JSON
 * array; failed tasks appear as null). */
int lc_connector_commit(lc_connector *conn, const char *messages_json);
int lc_connector_abort(lc_connector *conn, const char *messages_json);

/* Hot reload. With lc_config.hot_reload set, a connector loaded from a file checks
 * its file and every module it required (size and mtime, then a content hash) at
 * safe points: lc_connector_partitions, lc_read_begin, lc_write_begin and the
 * lc_stream_* calls, never inside a read or write. A changed script is compiled,
 * contract-checked and given the same options first; it replaces the running one
 * only if all of that succeeds, else the last good version keeps running and the
 * failure is logged and kept for lc_connector_reload_error. */
/* Checks now. LC_OK: up to date (reloaded or unchanged); an error code: the new
 * version was refused and the old one still runs. */
int lc_connector_reload(lc_connector *conn);
/* 1 for the version first loaded, incremented by each successful reload. */
int lc_connector_generation(lc_connector *conn);
/* The last refused reload's error, or NULL when the newest version is running.
 * Owned by the connector. */
const lc_error *lc_connector_reload_error(lc_connector *conn);
/* While locked, a reload that changes the schema is refused (a running stream). */
void lc_connector_lock_schema(lc_connector *conn, int locked);
/* The running version's source text (owned by the version; *len may be NULL). */
const char *lc_connector_source(lc_connector *conn, size_t *len);

/* Streaming (a connector defining initial_offset, latest_offset and
 * stream_partitions). Offsets are JSON values; a range [start, end) has an exclusive
 * end. Each call returns JSON the caller frees; partitions come as JSON lines, each
 * one read with lc_read_begin. limit_json is NULL or an object such as
 * {"max_rows": 1000} bounding the next micro-batch. */
int lc_stream_initial_offset(lc_connector *conn, char **offset_json);
int lc_stream_latest_offset(lc_connector *conn, const char *start_json, const char *limit_json,
                            char **offset_json);
int lc_stream_partitions(lc_connector *conn, const char *start_json, const char *end_json,
                         char **json_lines_out);
/* Tells the connector every offset before end_json is processed (a hint). */
int lc_stream_commit(lc_connector *conn, const char *end_json);
/* Nonzero when the connector can be read as a stream. */
int lc_connector_can_stream(lc_connector *conn);

/* Flags of lc_connector_rows_from_json. */
enum { LC_JSON_IGNORE_UNKNOWN = 1 /* keys that name no column are skipped, not an error */ };

/* Converts JSON text (one object per line) into one Arrow batch of the connector's
 * schema, with the same type checks as read. A line that is not an object, or a key
 * that names no column (names are case-sensitive) unless flags has
 * LC_JSON_IGNORE_UNKNOWN, is an error. The caller owns *schema and *array. */
int lc_connector_rows_from_json(lc_connector *conn, const char *jsonl, size_t len, int flags,
                                struct ArrowSchema *schema, struct ArrowArray *array);
/* LC_CDEF_END */
#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* LUACONN_H */
