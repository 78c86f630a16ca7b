/*
 * cli.h: what the luaconn command's files share: the parsed command line, the
 * runtime it opened, and the error and output helpers every subcommand uses.
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdint.h>

#include "cli_format.h"
#include "cli_progress.h"
#include "luaconn.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

typedef struct cli_context {
  const char *command; /* "read", "write", ... (points into argv) */
  const char *target;  /* CONNECTOR or FILE.lua (argv), or NULL */
  char **options;      /* -o pairs: options[2i] key, options[2i+1] value; owned */
  size_t n_options;
  int64_t limit;         /* --limit, or -1 */
  cli_format format;     /* --format */
  const char *partition; /* --partition JSON (argv), or NULL */
  double timeout;        /* --timeout seconds, 0 = library default */
  size_t memory_limit;   /* --memory-limit bytes, 0 = library default */
  int64_t batch_rows;    /* --batch-rows, 0 = library default */
  const char *record;    /* --record DIR (argv), or NULL */
  const char *replay;    /* --replay DIR (argv), or NULL */
  int ignore_unknown;    /* write: --ignore-unknown */
  double interval;       /* watch: --interval seconds between checks */
  int64_t runs;          /* watch: --runs, stop after this many reads; -1 = never */
  int verbose;
  int quiet;
  char *lua_root; /* resolved lua root, or NULL; owned */
  lc_runtime *rt; /* owned */
  cli_progress progress;
} cli_context;

/* Prints "luaconn: <message>" on stderr (clearing any progress line). Returns
 * CLI_EXIT_FAILURE. */
int cli_fail(cli_context *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats the runtime's last error as "<script>:<line>: <message>" (or just the
 * message) on one line into buf. Copy it before calls that may replace the error. */
void cli_runtime_error_text(cli_context *ctx, char *buf, size_t len);

/* Prints the runtime's last error with cli_fail. Returns CLI_EXIT_FAILURE. */
int cli_fail_runtime(cli_context *ctx);

/* Opens ctx->target with ctx's -o options. Returns the lc_status; on failure the
 * error is printed and *out is NULL. Caller frees *out with lc_connector_free. */
int cli_open_connector(cli_context *ctx, lc_connector **out);

/* Flushes stdout. Returns 0; 1 when the reader went away (EPIPE: stop quietly);
 * -1 after printing any other write error. */
int cli_flush_stdout(cli_context *ctx);

/* Reads every planned partition (or --partition) of an open connector and prints
 * the rows; returns an exit status after printing any error. */
int cli_read_connector(cli_context *ctx, lc_connector *conn);

/* The subcommands: each returns the process exit status. */
int cli_cmd_read(cli_context *ctx);
int cli_cmd_partitions(cli_context *ctx);
int cli_cmd_infer(cli_context *ctx);
int cli_cmd_write(cli_context *ctx);
int cli_cmd_check(cli_context *ctx);
int cli_cmd_list(cli_context *ctx);
int cli_cmd_watch(cli_context *ctx);

#endif /* CLI_H */
