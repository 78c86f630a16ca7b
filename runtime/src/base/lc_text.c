/* lc_text.c: text checks and conversions several layers share: UTF-8 validity and
 * integers in decimal. */
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
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) need = 2, lo = 0xA0;
    else if (c == 0xED) need = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) need = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) need = 3, hi = 0x8F;
    else return i;
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
