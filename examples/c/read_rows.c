/* read_rows: reads every row of a REST API through the installed rest.lua and prints
 * how many rows and batches arrived. Built against an installed luaconn:
 *
 *     cc -o read_rows read_rows.c $(pkg-config --cflags --libs luaconn)
 *     ./read_rows http://127.0.0.1:8000/items
 *
 * No lua_root is set: the runtime finds the connectors installed next to it
 * (<prefix>/share/luaconn/lua). */
#include <inttypes.h>
#include <stdio.h>

#include <luaconn.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s URL\n", argv[0]);
    return 2;
  }
  lc_runtime *rt = NULL;
  lc_connector *conn = NULL;
  int status = lc_runtime_new(NULL, &rt);
  const char *options[] = {"url", argv[1]};
  if (status == LC_OK) status = lc_connector_open(rt, LC_SOURCE_NAME, "rest", options, 1, &conn);
  if (status == LC_OK) status = lc_read_begin(conn, NULL);
  int64_t rows = 0, batches = 0;
  while (status == LC_OK) {
    struct ArrowSchema schema;
    struct ArrowArray array;
    status = lc_read_next(conn, &schema, &array);
    if (status != LC_OK) break;
    rows += array.length;
    batches++;
    array.release(&array);
    schema.release(&schema);
  }
  if (status != LC_DONE) {
    fprintf(stderr, "read_rows: %s\n",
            rt ? lc_runtime_error(rt)->message : lc_status_string(status));
    lc_connector_free(conn);
    lc_runtime_free(rt);
    return 1;
  }
  printf("luaconn %s: %" PRId64 " rows in %" PRId64 " batches\n", LUACONN_VERSION, rows, batches);
  lc_connector_free(conn);
  lc_runtime_free(rt);
  return 0;
}
