/*
 * base/lc_base.h: the runtime's lowest layer. Status strings, the structured error,
 * growable buffers, dates, UTF-8, integer text and files. No Lua, no Arrow; every
 * other layer may include this header, it includes only the public one.
 */
#ifndef LC_BASE_H
#define LC_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "luaconn.h"

#define LC_ERRMSG_MAX 1024
#define LC_LIKELY(x) __builtin_expect(!!(x), 1)

/* ---- lc_error.c: the structured error a runtime keeps ------------------------- */

typedef struct lc_error_buf {
  lc_error pub; /* what lc_runtime_error hands out; points into the fields below */
  char *message;
  char *script;
  char *traceback;
} lc_error_buf;

void lc_error_clear(lc_error_buf *e);
/* Sets code and a printf-formatted message; script/line left empty. Returns code. */
int lc_error_set(lc_error_buf *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets every field; any string may be NULL. Copies them. Returns code. */
int lc_error_set_full(lc_error_buf *e, int code, const char *message, const char *script, int line,
                      const char *traceback);

/* Appends one problem to err, "; "-separated, so a check reports every problem in
 * one message. */
void lc_problem_add(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- lc_buf.c: a growable byte buffer ------------------------------------------ */

typedef struct lc_buf {
  uint8_t *data; /* owned; freed with lc_buf_free */
  size_t len;
  size_t cap;
} lc_buf;

/* Makes room for extra more bytes (doubling); false when out of memory. */
bool lc_buf_grow(lc_buf *b, size_t extra);
void lc_buf_free(lc_buf *b);

static inline bool lc_buf_reserve(lc_buf *b, size_t extra) {
  return LC_LIKELY(b->len + extra <= b->cap) || lc_buf_grow(b, extra);
}

static inline bool lc_buf_append(lc_buf *b, const void *src, size_t n) {
  if (!lc_buf_reserve(b, n)) return false;
  if (n) memcpy(b->data + b->len, src, n);
  b->len += n;
  return true;
}

/* Appends bit number index (the bitmap holds exactly index bits so far). */
static inline bool lc_bitmap_push(lc_buf *bm, int64_t index, bool bit) {
  if ((index & 7) == 0) {
    if (!lc_buf_reserve(bm, 1)) return false;
    bm->data[bm->len++] = 0;
  }
  if (bit) bm->data[index >> 3] |= (uint8_t)(1u << (index & 7));
  return true;
}

static inline bool lc_bitmap_get(const void *bm, int64_t index) {
  return (((const uint8_t *)bm)[index >> 3] >> (index & 7)) & 1;
}

/* ---- lc_date.c: dates and timestamps -------------------------------------------- */

/* "YYYY-MM-DD" -> days since 1970-01-01. Returns NULL, or what is wrong. */
const char *lc_date_parse(const char *s, size_t len, int64_t *days);
/* "YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|+HH:MM|+HHMM]" (no zone = UTC), or a date alone
 * "YYYY-MM-DD" (its midnight UTC) -> microseconds since the epoch; digits past
 * microseconds are truncated. NULL, or what is wrong. */
const char *lc_timestamp_parse(const char *s, size_t len, int64_t *micros);
/* As lc_timestamp_parse for a local date-time (TIMESTAMP_NTZ): the same shapes
 * without a zone; a zone (Z or an offset) is an error, not silently dropped. */
const char *lc_timestamp_ntz_parse(const char *s, size_t len, int64_t *micros);
/* a / b rounded towards minus infinity. */
int64_t lc_floor_div(int64_t a, int64_t b);
/* "YYYY-MM-DD" (proleptic Gregorian). Returns the length written. */
size_t lc_date_format(int64_t days, char *out, size_t outlen);
/* value counts 1/per_second seconds since the epoch: "YYYY-MM-DDTHH:MM:SS", then
 * "." and digits fraction digits when digits > 0, then "Z" when utc. */
size_t lc_timestamp_format(int64_t value, int64_t per_second, int digits, bool utc, char *out,
                           size_t outlen);

/* ---- lc_text.c: UTF-8 and numbers as text ---------------------------------------- */

/* The offset of the first byte that is not valid UTF-8 (overlong forms, surrogates
 * and code points above U+10FFFF are invalid), or n. */
size_t lc_utf8_valid_prefix(const unsigned char *s, size_t n);
/* v in decimal (as unsigned when is_unsigned) ending at end: returns where the text
 * starts. end must have 20 bytes before it. printf showed in profiles. */
char *lc_int64_text(int64_t v, bool is_unsigned, char *end);
/* A DECIMAL(precision, scale) value (precision <= 38) from the text of a number
 * ("-12.5", "1.25e3"): its unscaled value (12.5 at scale 2 is 1250). Nothing is
 * rounded: more decimal places than scale, or more digits than precision, is an
 * error. NULL, or what is wrong. */
const char *lc_decimal_parse(const char *s, size_t len, int precision, int scale, __int128 *out);
/* JSON numbers reach Lua as doubles, exact to 15 significant digits: a DECIMAL
 * given a number that 15 digits do not reproduce (on either path) is an error asking
 * for a string. */
#define LC_DECIMAL_NUMBER_DIGITS 15
/* The unscaled value v at scale as decimal text ("-12.50"); returns its length.
 * out must hold 42 bytes. */
size_t lc_decimal_text(__int128 v, int scale, char *out);

/* ---- lc_file.c: files ------------------------------------------------------------- */

/* Reads a regular file into a malloc'd, NUL-terminated buffer (caller frees).
 * LC_ERR_IO when it cannot be read, LC_ERR_NOMEM. */
int lc_file_read(const char *path, char **data, size_t *len);

/* A file as it was when it was read: a stat first, then a content hash, tell
 * whether it changed since. */
typedef struct lc_file_sig {
  char *path;    /* owned */
  uint64_t hash; /* FNV-1a of the content */
  int64_t mtime_ns, size;
  uint64_t inode;
} lc_file_sig;

#define LC_HASH_SEED 14695981039346656037ULL
/* FNV-1a of data, continuing from h (LC_HASH_SEED to start). */
uint64_t lc_hash_bytes(uint64_t h, const void *data, size_t len);
/* Fills sig for path whose content is data. False when out of memory. */
bool lc_file_sig_init(lc_file_sig *sig, const char *path, const char *data, size_t len);
/* The content hash of path now (sig's hash when only its stat changed, which is
 * then recorded); *gone set when the file cannot be read. */
uint64_t lc_file_sig_current(lc_file_sig *sig, bool *gone);

#endif /* LC_BASE_H */
