/* cli_read.c: luaconn read, infer and partitions. */
#define _GNU_SOURCE /* strndup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The partitions to read, as JSON lines the caller frees with lc_free; NULL after
 * printing the error. */
static char *cli_plan(cli_context *ctx, lc_connector *conn) {
  char *lines = NULL;
  if (lc_connector_partitions(conn, &lines) != LC_OK) cli_fail_runtime(ctx);
  return lines;
}

typedef enum { CLI_READ_MORE, CLI_READ_STOP, CLI_READ_FAILED } cli_read_state;

/* Reads one partition (JSON text; NULL = the default partition) and prints its
 * rows until it ends, the --limit is reached or stdout is closed. */
static cli_read_state cli_read_partition(cli_context *ctx, lc_connector *conn,
                                         const char *partition, cli_output *out,
                                         int64_t *rows_left) {
  if (lc_read_begin(conn, partition) != LC_OK) {
    cli_fail_runtime(ctx);
    return CLI_READ_FAILED;
  }
  for (;;) {
    struct ArrowSchema schema = {0};
    struct ArrowArray array = {0};
    int rc = lc_read_next(conn, &schema, &array);
    if (rc == LC_DONE) return CLI_READ_MORE;
    if (rc != LC_OK) {
      cli_fail_runtime(ctx);
      return CLI_READ_FAILED;
    }
    int64_t n = array.length;
    if (*rows_left >= 0 && n > *rows_left) n = *rows_left;
    char err[512];
    int printed = cli_output_batch(out, &schema, &array, n, err, sizeof err);
    if (array.release) array.release(&array);
    if (schema.release) schema.release(&schema);
    if (printed != 0) {
      cli_fail(ctx, "%s", err);
      return CLI_READ_FAILED;
    }
    cli_progress_batch(&ctx->progress, n);
    int flushed = cli_flush_stdout(ctx);
    if (flushed < 0) return CLI_READ_FAILED;
    if (flushed > 0) return CLI_READ_STOP;
    if (*rows_left >= 0 && (*rows_left -= n) == 0) return CLI_READ_STOP;
  }
}

int cli_read_connector(cli_context *ctx, lc_connector *conn) {
  if (!lc_connector_can_read(conn))
    return cli_fail(ctx, "%s: the connector has no read function", ctx->target);
  int64_t rows_left = ctx->limit;
  if (rows_left == 0) return CLI_EXIT_OK;
  char *plan = ctx->partition ? NULL : cli_plan(ctx, conn);
  if (!ctx->partition && !plan) return CLI_EXIT_FAILURE;
  if (strcmp(lc_connector_schema(conn), "infer") == 0) {
    /* schema = "infer": this process is the driver; the first partition's first
     * records fix the schema for the whole read. */
    const char *first = ctx->partition;
    char *line = !first && *plan ? strndup(plan, strcspn(plan, "\n")) : NULL;
    char *ddl = NULL;
    int rc = lc_connector_infer(conn, first ? first : line, 0, &ddl);
    free(line);
    lc_free(ddl);
    if (rc != LC_OK) {
      lc_free(plan);
      return cli_fail_runtime(ctx);
    }
  }
  cli_output *out = cli_output_new(stdout, ctx->format);
  cli_progress_start(&ctx->progress, !ctx->quiet);
  cli_read_state state = CLI_READ_MORE;
  if (ctx->partition) {
    state = cli_read_partition(ctx, conn, ctx->partition, out, &rows_left);
  }
  for (char *line = plan, *nl; line && state == CLI_READ_MORE && (nl = strchr(line, '\n'));
       line = nl + 1) {
    *nl = '\0';
    state = cli_read_partition(ctx, conn, line, out, &rows_left);
  }
  cli_progress_clear(&ctx->progress);
  cli_output_free(out);
  lc_free(plan);
  return state == CLI_READ_FAILED ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int cli_cmd_read(cli_context *ctx) {
  lc_connector *conn;
  if (cli_open_connector(ctx, &conn) != LC_OK) return CLI_EXIT_FAILURE;
  int status = cli_read_connector(ctx, conn);
  lc_connector_free(conn);
  return status;
}

int cli_cmd_infer(cli_context *ctx) {
  lc_connector *conn;
  if (cli_open_connector(ctx, &conn) != LC_OK) return CLI_EXIT_FAILURE;
  char *ddl = NULL;
  int rc = lc_connector_infer(conn, ctx->partition, ctx->limit, &ddl);
  int status = rc == LC_OK ? CLI_EXIT_OK : cli_fail_runtime(ctx);
  lc_connector_free(conn);
  if (status != CLI_EXIT_OK) return status;
  puts(ddl);
  lc_free(ddl);
  return cli_flush_stdout(ctx) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int cli_cmd_partitions(cli_context *ctx) {
  lc_connector *conn;
  if (cli_open_connector(ctx, &conn) != LC_OK) return CLI_EXIT_FAILURE;
  char *plan = cli_plan(ctx, conn);
  lc_connector_free(conn);
  if (!plan) return CLI_EXIT_FAILURE;
  fputs(plan, stdout);
  lc_free(plan);
  return cli_flush_stdout(ctx) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
