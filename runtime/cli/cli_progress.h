/*
 * cli_progress.h: a one-line "rows N, batches M, R rows/s" progress report on
 * stderr, redrawn at most every half second, shown only when stderr is a terminal.
 */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_progress {
  int enabled;    /* stderr is a terminal and -q was not given */
  double started; /* monotonic seconds */
  double last_drawn;
  int64_t rows;
  int64_t batches;
  size_t drawn_width; /* characters of the line on screen; 0 = nothing shown */
} cli_progress;

/* Starts counting; draws only when enabled is nonzero and stderr is a terminal. */
void cli_progress_start(cli_progress *p, int enabled);
/* Counts one more batch of rows and redraws if half a second has passed. */
void cli_progress_batch(cli_progress *p, int64_t rows);
/* Erases the line (before other stderr output, and at the end). */
void cli_progress_clear(cli_progress *p);

#endif /* CLI_PROGRESS_H */
