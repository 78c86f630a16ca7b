/*
 * cli_buf.h: a growable byte buffer for the luaconn CLI. Header-only so that a test
 * can include cli_format.c on its own.
 *
 * Running out of memory in the CLI is fatal: the buffer prints one error line and
 * exits, which keeps every caller free of allocation checks.
 */
#ifndef CLI_BUF_H
#define CLI_BUF_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cli_buf {
  char *data; /* owned; NUL-terminated whenever len > 0 or after cli_buf_cstr */
  size_t len;
  size_t cap;
} cli_buf;

static inline void cli_buf_reserve(cli_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *data = realloc(b->data, cap);
  if (!data) {
    fputs("luaconn: out of memory\n", stderr);
    exit(1);
  }
  b->data = data;
  b->cap = cap;
}

static inline void cli_buf_add(cli_buf *b, const char *s, size_t n) {
  cli_buf_reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static inline void cli_buf_puts(cli_buf *b, const char *s) { cli_buf_add(b, s, strlen(s)); }

static inline void cli_buf_putc(cli_buf *b, char c) {
  cli_buf_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

static inline void cli_buf_printf(cli_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void cli_buf_printf(cli_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  cli_buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* The contents as a C string (never NULL; owned by the buffer). */
static inline const char *cli_buf_cstr(cli_buf *b) {
  cli_buf_reserve(b, 0);
  b->data[b->len] = '\0';
  return b->data;
}

static inline void cli_buf_clear(cli_buf *b) { b->len = 0; }

static inline void cli_buf_free(cli_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

#endif /* CLI_BUF_H */
