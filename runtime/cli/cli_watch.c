/* cli_watch.c: luaconn watch, the inner loop of writing a connector: read, wait for
 * the script (or a module it requires) to change, read again. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

static void cli_sleep(double seconds) {
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
}

/* Content-free change detection for a script that does not load yet. */
static int64_t cli_mtime(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) return -1;
  return (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec + sb.st_size;
}

/* Opens the connector, waiting for the file to change after each failure. */
static lc_connector *cli_open_until_loaded(cli_context *ctx, int64_t *runs_done) {
  for (;;) {
    lc_connector *conn = NULL;
    if (cli_open_connector(ctx, &conn) == LC_OK) return conn;
    if (ctx->runs >= 0 && ++*runs_done >= ctx->runs) return NULL;
    fflush(stderr);
    int64_t seen = cli_mtime(ctx->target);
    while (cli_mtime(ctx->target) == seen) cli_sleep(ctx->interval);
  }
}

int cli_cmd_watch(cli_context *ctx) {
  int64_t runs_done = 0;
  lc_connector *conn = cli_open_until_loaded(ctx, &runs_done);
  if (!conn) return CLI_EXIT_FAILURE;
  int status = CLI_EXIT_OK;
  for (;;) {
    int generation = lc_connector_generation(conn);
    status = cli_read_connector(ctx, conn);
    if (status == CLI_EXIT_OK && cli_flush_stdout(ctx) != 0) break;
    fprintf(stderr, "luaconn: watching %s (generation %d); edit it to read again\n",
            lc_connector_script(conn), generation);
    fflush(stderr);
    if (ctx->runs >= 0 && ++runs_done >= ctx->runs) break;
    /* Wait for a version that loads. The runtime logs each refused version once
     * (with file and line); here each one counts as a run. */
    char reported[1024] = "";
    while (lc_connector_generation(conn) == generation) {
      cli_sleep(ctx->interval);
      if (lc_connector_reload(conn) == LC_OK) continue;
      const lc_error *refused = lc_connector_reload_error(conn);
      char text[1024];
      snprintf(text, sizeof text, "%s:%d: %s",
               refused->script ? refused->script : lc_connector_script(conn), refused->line,
               refused->message);
      if (strcmp(text, reported) != 0) {
        snprintf(reported, sizeof reported, "%s", text);
        if (ctx->runs >= 0 && ++runs_done >= ctx->runs) {
          lc_connector_free(conn);
          return CLI_EXIT_FAILURE;
        }
      }
    }
  }
  lc_connector_free(conn);
  return status;
}
