/* The Spark DDL schema parser on arbitrary bytes: no crash, no leak, bounded depth. */
#include "arrow/lc_arrow.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *ddl = fuzz_text(data, size);
  lc_type *schema = NULL;
  char err[256];
  if (lc_schema_parse(ddl, size, &schema, err, sizeof err) == LC_OK && !schema) abort();
  lc_type_free(schema);
  free(ddl);
  return 0;
}
