/* lc_error.c: the structured error (code, message, script, line, traceback) a
 * runtime keeps for its last failed call, and problem lists for checks that report
 * every problem at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lc_base.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void lc_error_clear(lc_error_buf *e) {
  free(e->message);
  free(e->script);
  free(e->traceback);
  memset(e, 0, sizeof *e);
  e->pub.message = "";
}

int lc_error_set_full(lc_error_buf *e, int code, const char *message, const char *script, int line,
                      const char *traceback) {
  lc_error_clear(e);
  e->message = dup_or_null(message ? message : lc_status_string(code));
  e->script = dup_or_null(script);
  e->traceback = dup_or_null(traceback);
  e->pub.code = code;
  e->pub.message = e->message ? e->message : "out of memory";
  e->pub.script = e->script;
  e->pub.line = line;
  e->pub.traceback = e->traceback;
  return code;
}

int lc_error_set(lc_error_buf *e, int code, const char *fmt, ...) {
  char message[LC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return lc_error_set_full(e, code, message, NULL, 0, NULL);
}

void lc_problem_add(char *err, size_t errlen, const char *fmt, ...) {
  size_t used = strlen(err);
  if (used + 3 >= errlen) return;
  if (used) {
    strcat(err, "; ");
    used += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + used, errlen - used, fmt, ap);
  va_end(ap);
}
