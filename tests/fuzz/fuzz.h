/* Shared by the libFuzzer targets in tests/fuzz (make fuzz; make test runs each for a
 * few seconds): one runtime per process with tight limits, and inputs as C strings. */
#ifndef LC_FUZZ_H
#define LC_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "luaconn.h"

/* The process's runtime: limits small enough that a hostile input ends quickly. */
static inline lc_runtime *fuzz_runtime(void) {
  static lc_runtime *rt;
  if (!rt) {
    lc_config cfg = {.memory_limit = 64u << 20, .call_timeout = 2, .search_path = ""};
    if (lc_runtime_new(&cfg, &rt) != LC_OK) abort();
  }
  return rt;
}

/* data as a NUL-terminated copy (the caller frees). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) abort();
  memcpy(text, data, size);
  text[size] = '\0';
  return text;
}

/* Reads every batch of conn, releasing them; returns the final status. */
static inline int fuzz_read_all(lc_connector *conn) {
  int rc = lc_read_begin(conn, NULL);
  while (rc == LC_OK) {
    struct ArrowSchema s;
    struct ArrowArray a;
    rc = lc_read_next(conn, &s, &a);
    if (rc == LC_OK) {
      s.release(&s);
      a.release(&a);
    }
  }
  return rc == LC_DONE ? LC_OK : rc;
}

#endif
