/* lc_buf.c: the growable byte buffer every layer appends to (Arrow columns, page
 * scratch, JSON text, HTTP bodies). */
#include <stdlib.h>

#include "base/lc_base.h"

bool lc_buf_grow(lc_buf *b, size_t extra) {
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *data = realloc(b->data, cap);
  if (!data) return false;
  b->data = data;
  b->cap = cap;
  return true;
}

void lc_buf_free(lc_buf *b) {
  free(b->data);
  *b = (lc_buf){0};
}
