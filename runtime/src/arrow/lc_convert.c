/*
 * lc_convert.c: one scalar into one column value, for every row path.
 *
 * The page path (a JSON page's values, numbers as their text) and the Lua row path
 * (a script's values, numbers as doubles) both describe a value as an lc_scalar
 * and convert it here, so they accept the same values and store the same column
 * values: there is no second converter to disagree with the first.
 *
 * Numbers: a JSON integer's digits convert exactly; any other number (1.0, 1e3, a
 * Lua double) converts through its double, and must be whole for integer columns;
 * DECIMAL takes what the double's 15 significant digits say (exact decimals come as
 * text).
 * BIGINT stops at 2^53 - 1 in magnitude on both paths, because a Lua double past it
 * may already be a rounded neighbour (2^53 + 1 reads as 2^53): a value either
 * arrives exactly or is refused, never silently changed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/lc_arrow.h"

/* Number texts up to this length convert from a stack copy; longer ones from a heap
 * copy (JSON allows any number of digits). */
#define NUMBER_TEXT_INLINE 64

/* The double a number scalar holds: its text read as strtod reads it (as the JSON
 * decoder of the Lua path does), or the Lua number itself. False only when out of
 * memory for a very long text. */
static bool scalar_double(const lc_scalar *v, double *out) {
  if (!v->text) {
    *out = v->number;
    return true;
  }
  char inline_copy[NUMBER_TEXT_INLINE];
  char *copy = v->len < sizeof inline_copy ? inline_copy : malloc(v->len + 1);
  if (!copy) return false;
  memcpy(copy, v->text, v->len);
  copy[v->len] = '\0';
  *out = strtod(copy, NULL);
  if (copy != inline_copy) free(copy);
  return true;
}

/* The digits of a plain JSON integer (-?[0-9]+, at most 18 digits) as an int64. */
static bool plain_integer(const lc_scalar *v, int64_t *out) {
  if (!v->text || v->len == 0) return false;
  const char *s = v->text, *end = v->text + v->len;
  bool negative = s[0] == '-';
  s += negative;
  if (s == end || end - s > 18) return false;
  int64_t n = 0;
  for (; s < end; s++) {
    if (*s < '0' || *s > '9') return false;
    n = n * 10 + (*s - '0');
  }
  *out = negative ? -n : n;
  return true;
}

/* A whole number within [lo, hi]: "" into why when v is not a whole number,
 * "out of range" when it is one outside the range. */
static int whole_number(const lc_scalar *v, int64_t lo, int64_t hi, int64_t *out, char *why,
                        size_t whylen) {
  int64_t n;
  double d;
  if (plain_integer(v, &n)) {
    if (n < lo || n > hi) return snprintf(why, whylen, "out of range"), LC_ERR_VALUE;
    *out = n;
    return LC_OK;
  }
  if (!scalar_double(v, &d)) return snprintf(why, whylen, "out of memory"), LC_ERR_NOMEM;
  if (d != floor(d)) return LC_ERR_VALUE; /* not a whole number: why stays "" */
  if (d < (double)lo || d > (double)hi) return snprintf(why, whylen, "out of range"), LC_ERR_VALUE;
  *out = (int64_t)d;
  return LC_OK;
}

/* A DECIMAL from a number, through its double as every other number: the text of
 * at most 15 significant digits that reads back as that double (a double holds 15
 * digits exactly), so a number's text and a Lua number convert alike. */
static int decimal_from_number(const lc_type *t, const lc_scalar *v, lc_value *out, char *why,
                               size_t whylen) {
  double d;
  char text[32];
  if (!scalar_double(v, &d)) return snprintf(why, whylen, "out of memory"), LC_ERR_NOMEM;
  if (!isfinite(d)) return snprintf(why, whylen, "not finite"), LC_ERR_VALUE;
  snprintf(text, sizeof text, "%.*g", LC_DECIMAL_NUMBER_DIGITS, d);
  if (strtod(text, NULL) != d)
    return snprintf(why, whylen,
                    "more than %d significant digits in a number: give it as text for an exact "
                    "DECIMAL",
                    LC_DECIMAL_NUMBER_DIGITS),
           LC_ERR_VALUE;
  const char *problem = lc_decimal_parse(text, strlen(text), t->precision, t->scale, &out->dec);
  return problem ? (snprintf(why, whylen, "%s", problem), LC_ERR_VALUE) : LC_OK;
}

/* Seconds since the epoch as microseconds. */
static int micros_from_number(const lc_scalar *v, int64_t *out, char *why, size_t whylen) {
  double d;
  if (!scalar_double(v, &d)) return snprintf(why, whylen, "out of memory"), LC_ERR_NOMEM;
  d = nearbyint(d * 1e6);
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
    return snprintf(why, whylen, "out of range"), LC_ERR_VALUE;
  *out = (int64_t)d;
  return LC_OK;
}

static int from_problem(const char *problem, char *why, size_t whylen) {
  if (!problem) return LC_OK;
  snprintf(why, whylen, "%s", problem);
  return LC_ERR_VALUE;
}

int lc_convert_scalar(const lc_type *t, const lc_scalar *v, lc_value *out, char *why,
                      size_t whylen) {
  bool number = v->kind == LC_SCALAR_NUMBER, string = v->kind == LC_SCALAR_STRING;
  int64_t n;
  int rc;
  if (whylen) why[0] = '\0';
  switch (t->id) {
  case LC_T_BOOLEAN:
    return v->kind == LC_SCALAR_TRUE || v->kind == LC_SCALAR_FALSE ? LC_OK : LC_ERR_VALUE;
  case LC_T_TINYINT:
  case LC_T_SMALLINT:
  case LC_T_INT:
  case LC_T_BIGINT: {
    static const int64_t limit[] = {[LC_T_TINYINT] = INT8_MAX,
                                    [LC_T_SMALLINT] = INT16_MAX,
                                    [LC_T_INT] = INT32_MAX,
                                    [LC_T_BIGINT] = LC_BIGINT_EXACT_MAX};
    int64_t hi = limit[t->id], lo = t->id == LC_T_BIGINT ? -hi : -hi - 1;
    if (!number) return LC_ERR_VALUE;
    if ((rc = whole_number(v, lo, hi, &n, why, whylen))) {
      if (t->id == LC_T_BIGINT && !strcmp(why, "out of range"))
        snprintf(why, whylen, "out of range: beyond +-(2^53 - 1)");
      return rc;
    }
    if (t->id == LC_T_TINYINT)
      out->i8 = (int8_t)n;
    else if (t->id == LC_T_SMALLINT)
      out->i16 = (int16_t)n;
    else if (t->id == LC_T_INT)
      out->i32 = (int32_t)n;
    else
      out->i64 = n;
    return LC_OK;
  }
  case LC_T_FLOAT:
  case LC_T_DOUBLE: {
    double d;
    if (!number) return LC_ERR_VALUE;
    if (!scalar_double(v, &d)) return snprintf(why, whylen, "out of memory"), LC_ERR_NOMEM;
    if (t->id == LC_T_FLOAT)
      out->f = (float)d;
    else
      out->d = d;
    return LC_OK;
  }
  case LC_T_DECIMAL:
    if (string) {
      return from_problem(lc_decimal_parse(v->text, v->len, t->precision, t->scale, &out->dec), why,
                          whylen);
    }
    return number ? decimal_from_number(t, v, out, why, whylen) : LC_ERR_VALUE;
  case LC_T_STRING: {
    if (!string) return LC_ERR_VALUE;
    size_t valid = lc_utf8_valid_prefix((const unsigned char *)v->text, v->len);
    if (valid == v->len) return LC_OK;
    snprintf(why, whylen, "invalid UTF-8 at byte %zu", valid + 1);
    return LC_ERR_VALUE;
  }
  case LC_T_BINARY: return string ? LC_OK : LC_ERR_VALUE;
  case LC_T_DATE:
    if (string) {
      int64_t days;
      if ((rc = from_problem(lc_date_parse(v->text, v->len, &days), why, whylen))) return rc;
      out->i32 = (int32_t)days;
      return LC_OK;
    }
    if (!number || (rc = whole_number(v, INT32_MIN, INT32_MAX, &n, why, whylen)))
      return number ? rc : LC_ERR_VALUE;
    out->i32 = (int32_t)n;
    return LC_OK;
  case LC_T_TIMESTAMP:
  case LC_T_TIMESTAMP_NTZ:
    if (string)
      return from_problem(t->id == LC_T_TIMESTAMP
                              ? lc_timestamp_parse(v->text, v->len, &out->i64)
                              : lc_timestamp_ntz_parse(v->text, v->len, &out->i64),
                          why, whylen);
    return number ? micros_from_number(v, &out->i64, why, whylen) : LC_ERR_VALUE;
  default: snprintf(why, whylen, "not a scalar type"); return LC_ERR_VALUE;
  }
}

const char *lc_convert_expected(const lc_type *t, char *buf, size_t len) {
  switch (t->id) {
  case LC_T_DECIMAL:
    snprintf(buf, len, "DECIMAL(%d,%d) (a number or numeric text)", t->precision, t->scale);
    return buf;
  case LC_T_DATE: return "DATE (\"YYYY-MM-DD\" or days since 1970-01-01)";
  case LC_T_TIMESTAMP: return "TIMESTAMP (ISO-8601 string or seconds since epoch)";
  case LC_T_TIMESTAMP_NTZ:
    return "TIMESTAMP_NTZ (ISO-8601 string without a zone or seconds since epoch)";
  default: return lc_type_name(t->id);
  }
}

bool lc_column_has_room(const lc_column *col, const lc_scalar *v) {
  return v->kind != LC_SCALAR_STRING || col->data.len + v->len <= INT32_MAX;
}

bool lc_column_append_scalar(lc_column *col, const lc_scalar *v, const lc_value *value) {
  lc_type_id id = col->type->id;
  bool ok;
  if (id == LC_T_BOOLEAN)
    ok = lc_bitmap_push(&col->values, col->length, v->kind == LC_SCALAR_TRUE);
  else if (id == LC_T_STRING || id == LC_T_BINARY)
    ok = lc_buf_append(&col->data, v->text, v->len) && lc_column_push_offset(col, col->data.len);
  else
    ok = lc_buf_append(&col->values, value, lc_column_value_width(id));
  return ok && lc_column_mark_valid(col);
}
