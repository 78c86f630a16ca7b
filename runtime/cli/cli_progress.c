/* cli_progress.c: see cli_progress.h. */
#include "cli_progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define CLI_PROGRESS_INTERVAL 0.5 /* seconds between redraws */

static double cli_progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_start(cli_progress *p, int enabled) {
  *p = (cli_progress){0};
  p->enabled = enabled && isatty(STDERR_FILENO);
  p->started = p->last_drawn = cli_progress_now();
}

void cli_progress_batch(cli_progress *p, int64_t rows) {
  p->rows += rows;
  p->batches++;
  if (!p->enabled) return;
  double now = cli_progress_now();
  if (now - p->last_drawn < CLI_PROGRESS_INTERVAL) return;
  p->last_drawn = now;
  double elapsed = now - p->started;
  char line[128];
  int n = snprintf(line, sizeof line, "rows %" PRId64 ", batches %" PRId64 ", %.0f rows/s", p->rows,
                   p->batches, elapsed > 0 ? (double)p->rows / elapsed : 0.0);
  /* Pad over a longer previous line instead of relying on terminal escapes. */
  fprintf(stderr, "\r%-*s", (int)p->drawn_width, line);
  fflush(stderr);
  if ((size_t)n > p->drawn_width) p->drawn_width = (size_t)n;
}

void cli_progress_clear(cli_progress *p) {
  if (!p->drawn_width) return;
  fprintf(stderr, "\r%*s\r", (int)p->drawn_width, "");
  fflush(stderr);
  p->drawn_width = 0;
}
