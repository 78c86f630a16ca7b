/* Option parsing: the input's lines are KEY=VALUE pairs given to a connector whose
 * options cover every declared type, secret included, and which takes pushed filters
 * (the reserved option "filters"). */
#include "fuzz.h"

static const char CONNECTOR[] =
    "return { schema = 'x INT', options = {\n"
    "  s = { type = 'string' }, i = { type = 'integer', default = 1 },\n"
    "  n = { type = 'number' }, b = { type = 'boolean' }, j = { type = 'json' },\n"
    "  key = { type = 'string', secret = true }, need = { type = 'string', required = 'read' } },\n"
    "  filters = { x = { exact = { '=', 'is_null' }, inexact = { 'in', 'starts_with' } } },\n"
    "  read = function(opts, p, emit) emit{x = opts.i + #opts.filters} end }\n";

#define MAX_OPTIONS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  const char *pairs[2 * MAX_OPTIONS];
  size_t n = 0;
  for (char *line = strtok(text, "\n"); line && n < MAX_OPTIONS; line = strtok(NULL, "\n")) {
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    pairs[2 * n] = line;
    pairs[2 * n + 1] = eq + 1;
    n++;
  }
  lc_connector *conn = NULL;
  if (lc_connector_open(fuzz_runtime(), LC_SOURCE_INLINE, CONNECTOR, pairs, n, &conn) == LC_OK)
    fuzz_read_all(conn);
  lc_connector_free(conn);
  free(text);
  return 0;
}
