/* lc_date.c: dates and timestamps as rows show them: ISO-8601 text in, days or
 * microseconds since the epoch out, and back. Proleptic Gregorian throughout. */
#include <stdio.h>

#include "base/lc_base.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t lc_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Reads n decimal digits at s; false if any is not a digit. */
static bool read_digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Parses "YYYY-MM-DD" at the start of s (len >= 10 checked by the caller).
 * Returns NULL or what is wrong. */
static const char *parse_date_prefix(const char *s, int64_t *days) {
  int y, m, d;
  if (!read_digits(s, 4, &y) || s[4] != '-' || !read_digits(s + 5, 2, &m) || s[7] != '-' ||
      !read_digits(s + 8, 2, &d))
    return "not YYYY-MM-DD";
  static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return "month out of range";
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d < 1 || d > month_days[m - 1] + (m == 2 && leap)) return "day out of range for the month";
  *days = days_from_civil(y, (unsigned)m, (unsigned)d);
  return NULL;
}

const char *lc_date_parse(const char *s, size_t len, int64_t *days) {
  if (len != 10) return "not YYYY-MM-DD";
  return parse_date_prefix(s, days);
}

const char *lc_timestamp_ntz_parse(const char *s, size_t len, int64_t *micros) {
  /* A zone can only follow the seconds: a 'Z' or a sign after position 19. */
  for (size_t i = 19; i < len; i++)
    if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
      return "has a zone: a TIMESTAMP_NTZ holds local date-times (use TIMESTAMP)";
  return lc_timestamp_parse(s, len, micros);
}

const char *lc_timestamp_parse(const char *s, size_t len, int64_t *micros) {
  static const char *const shape = "not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM]";
  int64_t days;
  if (len != 10 && len < 19) return shape;
  const char *problem = parse_date_prefix(s, &days);
  if (problem) return problem;
  if (len == 10) { /* a date alone: its midnight, UTC (what Spark casts it to) */
    *micros = days * 86400 * 1000000;
    return NULL;
  }
  int h, mi, sec;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !read_digits(s + 11, 2, &h) ||
      s[13] != ':' || !read_digits(s + 14, 2, &mi) || s[16] != ':' || !read_digits(s + 17, 2, &sec))
    return shape;
  if (h > 23 || mi > 59 || sec > 59) return "time of day out of range";
  size_t i = 19;
  int64_t fraction_us = 0;
  if (i < len && s[i] == '.') {
    int digits = 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
      if (digits < 6) fraction_us = fraction_us * 10 + (s[i] - '0');
    if (digits == 0 || digits > 9) return "fraction must have 1 to 9 digits";
    for (; digits < 6; digits++) fraction_us *= 10;
  }
  int64_t offset_minutes = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    size_t rest = len - i - 1;
    const char *z = s + i + 1;
    if (!(rest == 5 && z[2] == ':' && read_digits(z, 2, &oh) && read_digits(z + 3, 2, &om)) &&
        !(rest == 4 && read_digits(z, 2, &oh) && read_digits(z + 2, 2, &om)))
      return "zone offset must be Z, +HH:MM or +HHMM";
    if (oh > 23 || om > 59) return "zone offset out of range";
    offset_minutes = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i = len;
  }
  if (i != len) return shape;
  int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
  *micros = seconds * 1000000 + fraction_us;
  return NULL;
}

size_t lc_date_format(int64_t days, char *out, size_t outlen) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int n = snprintf(out, outlen, "%04lld-%02u-%02u", (long long)y, m, d);
  return n < 0 ? 0 : (size_t)n;
}

size_t lc_timestamp_format(int64_t value, int64_t per_second, int digits, bool utc, char *out,
                           size_t outlen) {
  int64_t seconds = lc_floor_div(value, per_second);
  int64_t fraction = value - seconds * per_second;
  int64_t days = lc_floor_div(seconds, 86400);
  int64_t in_day = seconds - days * 86400;
  size_t n = lc_date_format(days, out, outlen);
  int more = snprintf(out + n, outlen - n, "T%02d:%02d:%02d", (int)(in_day / 3600),
                      (int)(in_day / 60 % 60), (int)(in_day % 60));
  n += more > 0 ? (size_t)more : 0;
  if (digits > 0 && n < outlen) {
    more = snprintf(out + n, outlen - n, ".%0*lld", digits, (long long)fraction);
    n += more > 0 ? (size_t)more : 0;
  }
  if (utc && n + 1 < outlen) {
    out[n++] = 'Z';
    out[n] = '\0';
  }
  return n < outlen ? n : outlen - 1;
}
