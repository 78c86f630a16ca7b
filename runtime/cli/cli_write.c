/* cli_write.c: luaconn write: JSON lines on stdin -> the connector's write. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "cli.h"
#include "cli_buf.h"

#define CLI_WRITE_CHUNK_ROWS 10000        /* lines per batch unless --batch-rows */
#define CLI_WRITE_CHUNK_BYTES (16u << 20) /* a batch also ends past this size */

typedef struct cli_chunk {
  cli_buf text;       /* the chunk's lines, each ending in '\n' */
  int64_t rows;       /* lines that are not blank (the runtime skips blank ones) */
  int64_t first_line; /* stdin line number of the chunk's first line (1-based) */
} cli_chunk;

static int cli_is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!strchr(" \t\r\n", s[i])) return 0;
  }
  return 1;
}

/* Converts the chunk to one Arrow batch and hands it to the write. On failure the
 * error text goes to error (copied now: cancelling the write replaces it). */
static int cli_write_chunk(cli_context *ctx, lc_connector *conn, cli_chunk *chunk, char *error,
                           size_t errlen) {
  struct ArrowSchema schema = {0};
  struct ArrowArray array = {0};
  char text[3072];
  int flags = ctx->ignore_unknown ? LC_JSON_IGNORE_UNKNOWN : 0;
  if (lc_connector_rows_from_json(conn, chunk->text.data, chunk->text.len, flags, &schema,
                                  &array) != LC_OK) {
    /* The runtime numbers lines ("line K: ...") from the start of the chunk. */
    cli_runtime_error_text(ctx, text, sizeof text);
    long long k;
    int used = 0;
    if (sscanf(text, "line %lld: %n", &k, &used) == 1 && used > 0) {
      snprintf(error, errlen, "stdin line %" PRId64 ": %s", chunk->first_line + (int64_t)k - 1,
               text + used);
    } else {
      snprintf(error, errlen, "stdin, chunk from line %" PRId64 ": %s", chunk->first_line, text);
    }
    return -1;
  }
  int rc = lc_write_batch(conn, &schema, &array);
  if (array.release) array.release(&array);
  if (schema.release) schema.release(&schema);
  if (rc != LC_OK) {
    cli_runtime_error_text(ctx, error, errlen);
    return -1;
  }
  cli_progress_batch(&ctx->progress, chunk->rows);
  cli_buf_clear(&chunk->text);
  chunk->rows = 0;
  return 0;
}

/* Streams stdin through the begun write and ends it. Returns 0 with the commit
 * message (caller frees with lc_free) in *message, or -1 with error filled. */
static int cli_write_rows(cli_context *ctx, lc_connector *conn, int64_t *rows_written,
                          char **message, char *error, size_t errlen) {
  int64_t chunk_rows = ctx->batch_rows > 0 ? ctx->batch_rows : CLI_WRITE_CHUNK_ROWS;
  cli_chunk chunk = {0};
  char *line = NULL;
  size_t line_cap = 0;
  int64_t line_no = 0;
  int rc = 0;
  ssize_t n;
  while ((n = getline(&line, &line_cap, stdin)) >= 0) {
    line_no++;
    /* Blank lines stay in the chunk so the runtime's line numbers match stdin's. */
    if (chunk.text.len == 0) chunk.first_line = line_no;
    cli_buf_add(&chunk.text, line, (size_t)n);
    if (line[n - 1] != '\n') cli_buf_putc(&chunk.text, '\n');
    if (cli_is_blank(line, (size_t)n)) continue;
    chunk.rows++;
    *rows_written += 1;
    if (chunk.rows >= chunk_rows || chunk.text.len >= CLI_WRITE_CHUNK_BYTES) {
      if ((rc = cli_write_chunk(ctx, conn, &chunk, error, errlen)) != 0) break;
    }
  }
  if (rc == 0 && ferror(stdin)) {
    snprintf(error, errlen, "cannot read stdin: %s", strerror(errno));
    rc = -1;
  }
  if (rc == 0 && chunk.rows > 0) rc = cli_write_chunk(ctx, conn, &chunk, error, errlen);
  if (rc == 0 && lc_write_end(conn, message) != LC_OK) {
    cli_runtime_error_text(ctx, error, errlen);
    rc = -1;
  }
  free(line);
  cli_buf_free(&chunk.text);
  return rc;
}

/* The number `name` of the commit message (a JSON object), or -1 when it has none:
 * a connector's message may say how many rows the target rejected
 * ({"rows": N, "rejected": R}, luaconn.delivery's). */
static int64_t cli_message_count(const char *message, const char *name) {
  yyjson_doc *doc = message ? yyjson_read(message, strlen(message), 0) : NULL;
  yyjson_val *v = yyjson_obj_get(yyjson_doc_get_root(doc), name);
  bool fits = yyjson_is_sint(v) || (yyjson_is_uint(v) && yyjson_get_uint(v) <= INT64_MAX);
  int64_t n = fits ? yyjson_get_sint(v) : -1;
  yyjson_doc_free(doc);
  return n;
}

int cli_cmd_write(cli_context *ctx) {
  lc_connector *conn;
  if (cli_open_connector(ctx, &conn) != LC_OK) return CLI_EXIT_FAILURE;
  if (!lc_connector_can_write(conn)) {
    lc_connector_free(conn);
    return cli_fail(ctx, "%s: the connector has no write function", ctx->target);
  }
  if (lc_write_begin(conn) != LC_OK) {
    cli_fail_runtime(ctx);
    lc_connector_free(conn);
    return CLI_EXIT_FAILURE;
  }
  cli_progress_start(&ctx->progress, !ctx->quiet);
  char error[4096] = "";
  char *message = NULL;
  int64_t rows = 0;
  if (cli_write_rows(ctx, conn, &rows, &message, error, sizeof error) != 0) {
    lc_write_cancel(conn);
    /* Tell the script the (only) task failed, as Spark does with its abort. */
    lc_connector_abort(conn, "[null]");
    lc_connector_free(conn);
    return cli_fail(ctx, "%s", error);
  }
  cli_progress_clear(&ctx->progress);
  cli_buf messages = {0};
  cli_buf_printf(&messages, "[%s]", message ? message : "null");
  int64_t rejected = cli_message_count(message, "rejected");
  lc_free(message);
  int rc = lc_connector_commit(conn, messages.data);
  cli_buf_free(&messages);
  int status = rc == LC_OK ? CLI_EXIT_OK : cli_fail_runtime(ctx);
  lc_connector_free(conn);
  if (status == CLI_EXIT_OK && !ctx->quiet) {
    if (rejected > 0)
      fprintf(stderr, "wrote %" PRId64 " rows; the target rejected %" PRId64 "\n", rows - rejected,
              rejected);
    else
      fprintf(stderr, "wrote %" PRId64 " rows\n", rows);
  }
  return status;
}
