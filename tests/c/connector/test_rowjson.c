/* json.encode_rows: a write's rows as JSON text encoded in C, across batches, with
 * rows only the Lua path can write mixed in. (tests/python compares it value for
 * value with the Lua path; this suite runs it under the sanitizers.) */
#include "lc_test.h"

/* Collects each text json.encode_rows gives, with its row count, in the commit
 * message. */
static const char COLLECTOR[] =
    "local json = require 'json'\n"
    "local batch = require 'luaconn.batch'\n"
    "return {\n"
    "  schema = 'id INT, name STRING, ok BOOLEAN, x DOUBLE, tags ARRAY<STRING>',\n"
    "  options = { size = { type = 'integer', default = 2 } },\n"
    "  write = function(opts, rows)\n"
    "    local texts = {}\n"
    "    batch.each_json(rows, opts.size, function(text, n) texts[#texts + 1] = n .. ' ' .. text "
    "end)\n"
    "    return texts\n"
    "  end,\n"
    "}\n";

static void write_jsonl(lc_connector *conn, const char *jsonl) {
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_connector_rows_from_json(conn, jsonl, strlen(jsonl), 0, &s, &a), LC_OK);
  ck_assert_int_eq(lc_write_batch(conn, &s, &a), LC_OK);
  s.release(&s);
  a.release(&a);
}

START_TEST(rows_cross_batches_in_runs_of_the_asked_size) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  const char *opts[] = {"size", "2"};
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COLLECTOR, opts, 1, &conn), LC_OK);
  ck_assert_int_eq(lc_write_begin(conn), LC_OK);
  write_jsonl(conn,
              "{\"id\": 1, \"name\": \"a/b \\\"q\\\"\", \"ok\": true, \"x\": 0.1}\n"
              "{\"id\": 2, \"name\": null, \"x\": 123456789.123456789}\n"
              "{\"id\": 3, \"ok\": false, \"tags\": [\"t\"]}\n");
  write_jsonl(conn, "{\"id\": 4, \"x\": 1e300}\n");
  char *message = NULL;
  ck_assert_int_eq(lc_write_end(conn, &message), LC_OK);
  /* Row 3 has a nested column: the Lua path writes it (its key order is lua-cjson's). */
  ck_assert_ptr_nonnull(
      strstr(message,
             "\"2 [{\\\"id\\\":1,\\\"name\\\":\\\"a\\\\\\/b \\\\\\\"q\\\\\\\"\\\",\\\"ok\\\":true,"
             "\\\"x\\\":0.1,\\\"tags\\\":null},{\\\"id\\\":2,\\\"name\\\":null,\\\"ok\\\":null,"
             "\\\"x\\\":123456789.12345679,\\\"tags\\\":null}]\""));
  ck_assert_ptr_nonnull(strstr(message, "\"2 [{"));
  ck_assert_ptr_nonnull(strstr(message, "\\\"x\\\":1e+300"));
  ck_assert_ptr_nonnull(strstr(message, "\\\"tags\\\":[\\\"t\\\"]"));
  lc_free(message);
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(encode_rows_takes_only_writes_own_rows) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  const char *src =
      "local json = require 'json'\n"
      "return { schema = 'id INT', write = function(opts, rows)\n"
      "  local first  -- false until write_batch brings rows\n"
      "  repeat first = json.encode_rows(rows, 1) until first ~= false\n"
      "  return { own = json.encodes_rows(rows), other = json.encodes_rows(pairs),\n"
      "           ok = pcall(json.encode_rows, function() end, 3), first = first,\n"
      "           after = json.encode_rows(rows, 1) }\n"
      "end }\n";
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, src, NULL, 0, &conn), LC_OK);
  ck_assert_int_eq(lc_write_begin(conn), LC_OK);
  write_jsonl(conn, "{\"id\": 5}\n");
  char *message = NULL;
  ck_assert_int_eq(lc_write_end(conn, &message), LC_OK);
  ck_assert_ptr_nonnull(strstr(message, "\"own\":true"));
  ck_assert_ptr_nonnull(strstr(message, "\"other\":false"));
  ck_assert_ptr_nonnull(strstr(message, "\"ok\":false"));
  ck_assert_ptr_nonnull(strstr(message, "\"first\":\"[{\\\"id\\\":5}]\""));
  /* The rows ended while it waited: false (ask again, and get nil). */
  ck_assert_ptr_nonnull(strstr(message, "\"after\":false"));
  lc_free(message);
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rowjson");
  TCase *tc = tcase_create("encode_rows");
  tcase_add_test(tc, rows_cross_batches_in_runs_of_the_asked_size);
  tcase_add_test(tc, encode_rows_takes_only_writes_own_rows);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
