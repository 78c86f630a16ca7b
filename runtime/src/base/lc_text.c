/* lc_text.c: text checks and conversions several layers share: UTF-8 validity,
 * integers and decimals in decimal. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/lc_base.h"

size_t lc_utf8_valid_prefix(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t word;
      memcpy(&word, s + i, 8);
      if (!(word & UINT64_C(0x8080808080808080))) {
        i += 8;
        continue;
      }
    }
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    /* Lead byte: sequence length and the allowed range of the second byte, which
     * rules out overlong forms, surrogates and code points above U+10FFFF. */
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if (c == 0xE0)
      need = 2, lo = 0xA0;
    else if (c == 0xED)
      need = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF)
      need = 2;
    else if (c == 0xF0)
      need = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
      need = 3;
    else if (c == 0xF4)
      need = 3, hi = 0x8F;
    else
      return i;
    if (i + need >= n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; k++)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    i += need + 1;
  }
  return n;
}

char *lc_int64_text(int64_t v, bool is_unsigned, char *end) {
  char *p = end;
  bool negative = !is_unsigned && v < 0;
  uint64_t u = negative ? 0 - (uint64_t)v : (uint64_t)v;
  do *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (negative) *--p = '-';
  return p;
}

const char *lc_decimal_parse(const char *s, size_t len, int precision, int scale, __int128 *out) {
  size_t i = 0;
  bool negative = i < len && s[i] == '-';
  if (i < len && (s[i] == '-' || s[i] == '+')) i++;
  char digits[80];
  size_t n = 0, fraction = 0;
  bool seen_digit = false, in_fraction = false;
  for (; i < len && (isdigit((unsigned char)s[i]) || (s[i] == '.' && !in_fraction)); i++) {
    if (s[i] == '.') {
      in_fraction = true;
      continue;
    }
    seen_digit = true;
    if (n == 0 && s[i] == '0' && !in_fraction) continue; /* leading zeros */
    if (n == sizeof digits) return "too many digits";
    digits[n++] = s[i];
    if (in_fraction) fraction++;
  }
  if (!seen_digit) return "not a number";
  long exponent = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    char *end;
    char buf[16];
    size_t m = len - i - 1 < sizeof buf - 1 ? len - i - 1 : sizeof buf - 1;
    memcpy(buf, s + i + 1, m);
    buf[m] = '\0';
    exponent = strtol(buf, &end, 10);
    if (end == buf || *end || labs(exponent) > 100) return "not a number";
    i = len;
  }
  if (i != len) return "not a number";
  /* The value is digits * 10^(exponent - fraction); unscaled, 10^(that + scale). */
  long shift = exponent - (long)fraction + scale;
  while (shift < 0 && n > 0) {
    if (digits[n - 1] != '0') return "more decimal places than the scale";
    n--;
    shift++;
  }
  size_t total = n + (size_t)(shift > 0 ? shift : 0); /* digits of the unscaled value */
  if (n > 0 && total > (size_t)precision) return "more digits than the precision";
  __int128 v = 0;
  for (size_t k = 0; k < n; k++) v = v * 10 + (digits[k] - '0');
  for (long k = 0; k < shift && n > 0; k++) v *= 10;
  *out = negative ? -v : v;
  return NULL;
}

size_t lc_decimal_text(__int128 v, int scale, char *out) {
  char buf[48];
  char *p = buf + sizeof buf;
  unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
  int written = 0;
  do {
    if (written == scale && scale > 0) *--p = '.';
    *--p = (char)('0' + (int)(u % 10));
    u /= 10;
    written++;
  } while (u || written <= scale);
  if (v < 0) *--p = '-';
  size_t len = (size_t)(buf + sizeof buf - p);
  memcpy(out, p, len);
  out[len] = '\0';
  return len;
}
