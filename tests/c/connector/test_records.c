/* json.page: records parsed in C must come out exactly as the Lua path (json.decode,
 * one emit per record) makes them: the same rows, in the same batches, the
 * same errors; and the C path must actually be the one taken for ordinary pages. */
#include <stdarg.h>

#include "lc_test.h"

/* mode=page reads `pages` copies of `text` through json.page; mode=lua decodes
 * them with json.decode and emits record by record. A log line reports what the
 * page saw. */
static const char READER[] =
    "local json = require 'json'\n"
    "local log = require 'log'\n"
    "local C = { options = {\n"
    "  text = { type = 'string', required = 'read' },\n"
    "  path = { type = 'string', default = 'results' },\n"
    "  schema = { type = 'string', required = 'read' },\n"
    "  mode = { type = 'string', default = 'page' },\n"
    "  pages = { type = 'integer', default = 1 },\n"
    "  cursor = { type = 'string', default = 'next_cursor' } } }\n"
    "function C.schema(o) return o.schema end\n"
    "local function field(doc, path)\n"
    "  for part in path:gmatch('[^.]+') do doc = type(doc) == 'table' and doc[part] or nil end\n"
    "  return doc\n"
    "end\n"
    "function C.read(o, _, emit)\n"
    "  for _ = 1, o.pages do\n"
    "    if o.mode == 'page' then\n"
    "      local p = json.page(o.text, o.path, 'GET test')\n"
    "      repeat emit(p) until p:done()\n"
    "      local cursor = field(p:doc(), o.cursor)\n"
    "      local last = p:last() or {}\n"
    "      log.info('count=%s in_c=%d cursor=%s last=%s', tostring(p:count()), p:count_in_c(),\n"
    "               cursor == json.null and 'null' or tostring(cursor), tostring(last.id or "
    "last.i))\n"
    "    else\n"
    "      local records = field(json.decode(o.text), o.path)\n"
    "      for i = 1, #records do emit(records[i]) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return C\n";

static char last_log[512];

static void keep_log(void *ctx, int level, const char *connector, const char *message) {
  snprintf(last_log, sizeof last_log, "%s", message);
}

typedef struct text {
  char *data;
  size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (t->len + (size_t)n + 1 > t->cap) {
    t->cap = (t->len + (size_t)n + 1) * 2;
    t->data = realloc(t->data, t->cap);
    ck_assert_ptr_nonnull(t->data);
  }
  va_start(ap, fmt);
  vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
}

/* One value of a flat column as text ("null" for nulls). */
static void put_value(text *t, const struct ArrowSchema *s, const struct ArrowArray *a,
                      int64_t row) {
  int64_t i = a->offset + row;
  const uint8_t *validity = a->buffers[0];
  if (validity && !((validity[i >> 3] >> (i & 7)) & 1)) {
    put(t, "null");
    return;
  }
  const char *f = s->format;
  if (!strcmp(f, "i") || !strcmp(f, "tdD"))
    put(t, "%d", ((const int32_t *)a->buffers[1])[i]);
  else if (!strcmp(f, "l") || !strncmp(f, "ts", 2))
    put(t, "%lld", (long long)((const int64_t *)a->buffers[1])[i]);
  else if (!strcmp(f, "f"))
    put(t, "%.9g", ((const float *)a->buffers[1])[i]);
  else if (!strcmp(f, "g"))
    put(t, "%.17g", ((const double *)a->buffers[1])[i]);
  else if (!strcmp(f, "b"))
    put(t, "%d", (((const uint8_t *)a->buffers[1])[i >> 3] >> (i & 7)) & 1);
  else if (!strncmp(f, "d:", 2)) {
    char digits[48];
    lc_decimal_text(((const __int128 *)a->buffers[1])[i], atoi(strchr(f, ',') + 1), digits);
    put(t, "%s", digits);
  } else if (!strcmp(f, "u") || !strcmp(f, "z")) {
    const int32_t *off = a->buffers[1];
    put(t, "'%.*s'", off[i + 1] - off[i], (const char *)a->buffers[2] + off[i]);
  } else if (!strcmp(f, "+l")) {
    const int32_t *off = a->buffers[1];
    put(t, "[");
    for (int32_t k = off[i]; k < off[i + 1]; k++) {
      put_value(t, s->children[0], a->children[0], k);
      put(t, " ");
    }
    put(t, "]");
  } else {
    ck_abort_msg("format %s not rendered by this test", f);
  }
}

typedef struct outcome {
  int rc;      /* LC_OK or the read's error */
  char *rows;  /* every row, batches separated by " | "; owned */
  char *error; /* owned */
  char log[512];
} outcome;

static void outcome_free(outcome *o) {
  free(o->rows);
  free(o->error);
}

static outcome run(const char *mode, const char *schema, const char *path, const char *json,
                   int pages, int64_t batch_rows) {
  lc_config cfg = {.log = keep_log, .batch_rows = batch_rows};
  lc_runtime *rt = lc_test_runtime(&cfg);
  char n[16];
  snprintf(n, sizeof n, "%d", pages);
  const char *opts[] = {"mode", mode,     "schema",
                        schema, "path",   path,
                        "text", json,     "pages",
                        n,      "cursor", strcmp(path, "data.items") ? "next_cursor" : "meta.next"};
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, READER, opts, 6, &conn), LC_OK);
  last_log[0] = '\0';
  outcome out = {0};
  text t = {0};
  put(&t, "%s", "");
  out.rc = lc_read_begin(conn, NULL);
  while (out.rc == LC_OK) {
    struct ArrowSchema s;
    struct ArrowArray a;
    out.rc = lc_read_next(conn, &s, &a);
    if (out.rc != LC_OK) break;
    ck_assert_int_le(a.length, batch_rows ? batch_rows : 8192);
    for (int64_t r = 0; r < a.length; r++) {
      for (int64_t c = 0; c < s.n_children; c++) {
        put(&t, c ? "," : "");
        put_value(&t, s.children[c], a.children[c], r);
      }
      put(&t, ";");
    }
    put(&t, " | ");
    s.release(&s);
    a.release(&a);
  }
  if (out.rc == LC_DONE)
    out.rc = LC_OK;
  else
    out.error = strdup(lc_runtime_error(rt)->message);
  out.rows = t.data;
  snprintf(out.log, sizeof out.log, "%s", last_log);
  lc_connector_free(conn);
  lc_runtime_free(rt);
  return out;
}

/* Reads json both ways; they must agree. Returns the page's outcome (caller frees). */
static outcome both_agree(const char *schema, const char *path, const char *json, int pages,
                          int64_t batch_rows) {
  outcome lua = run("lua", schema, path, json, pages, batch_rows);
  outcome page = run("page", schema, path, json, pages, batch_rows);
  ck_assert_int_eq(page.rc, lua.rc);
  if (lua.rc == LC_OK)
    ck_assert_str_eq(page.rows, lua.rows);
  else
    ck_assert_str_eq(page.error, lua.error);
  outcome_free(&lua);
  return page;
}

static const char SCALARS[] =
    "i INT, l BIGINT, d DOUBLE, f FLOAT, b BOOLEAN, s STRING, bin BINARY, dt DATE, ts TIMESTAMP";

START_TEST(every_scalar_type_reads_as_the_lua_path_reads_it) {
  const char *json =
      "{\"next_cursor\": \"c2\", \"results\": [\n"
      " {\"i\": 1, \"l\": -9007199254740991, \"d\": 2.5e-3, \"f\": 0.1, \"b\": true,\n"
      "  \"s\": \"plain\", \"bin\": \"raw\", \"dt\": \"2024-02-29\", \"ts\": "
      "\"2024-05-01T12:00:00.25Z\"},\n"
      " {\"i\": -2147483648, \"l\": 0, \"d\": -1E+300, \"f\": 3, \"b\": false,\n"
      "  \"s\": \"tab\\there \\\"q\\\" \\u00e9 \\ud83d\\ude80 \\/\", \"dt\": 19000, \"ts\": 1.5},\n"
      " {\"i\": 1.0, \"l\": 1e3, \"d\": 7, \"s\": null, \"extra\": {\"deep\": [1, {\"x\": "
      "null}]},\n"
      "  \"n\\u0061me\": 3, \"dt\": null, \"ts\": \"2024-05-01 12:00:00+02:00\"},\n"
      " {}, {\"s\": \"Zo\\u00eb \xc3\x85ngstr\xc3\xb6m \xe6\x9d\xb1\xe4\xba\xac\", \"other\": "
      "[[[]]]}\n"
      "]}";
  outcome page = both_agree(SCALARS, "results", json, 1, 0);
  ck_assert_ptr_nonnull(strstr(page.rows, "'tab\there \"q\" \xc3\xa9 \xf0\x9f\x9a\x80 /'"));
  ck_assert_str_eq(page.log, "count=5 in_c=5 cursor=c2 last=nil");
  outcome_free(&page);
}
END_TEST

/* A Lua number cannot hold 2^53 + 1 (it reads as 2^53): BIGINT is exact to 2^53 - 1
 * in magnitude on both paths, and anything beyond, 2^53 itself included, is out of
 * range on both rather than exact on one and rounded on the other. */
START_TEST(bigint_is_exact_to_2_pow_53_minus_1_on_both_paths) {
  outcome page = both_agree("id BIGINT", "",
                            "[{\"id\": 9007199254740991}, {\"id\": -9007199254740991}]", 1, 0);
  ck_assert_str_eq(page.rows, "9007199254740991;-9007199254740991; | ");
  outcome_free(&page);
  static const char *const beyond[] = {"9007199254740992", "9007199254740993", "-9007199254740993",
                                       "9007199254740996", "9.007199254740993e15"};
  for (size_t i = 0; i < sizeof beyond / sizeof *beyond; i++) {
    char json[96];
    snprintf(json, sizeof json, "[{\"id\": -12}, {\"id\": %s}]", beyond[i]);
    page = both_agree("id BIGINT", "", json, 1, 0);
    ck_assert_msg(page.rc == LC_ERR_VALUE, "%s: rc %d", beyond[i], page.rc);
    ck_assert_msg(strstr(page.error, "out of range: beyond +-(2^53 - 1)"), "%s: %s", beyond[i],
                  page.error);
    outcome_free(&page);
  }
}
END_TEST

/* Dates, timestamps and decimals: each value alone on a page, read by both paths,
 * converts to the same value or fails with the same error. */
START_TEST(dates_timestamps_and_decimals_read_alike_on_both_paths) {
  static const char *const values[] = {"\"2024-02-29\"",
                                       "\"2023-02-29\"",
                                       "\"1969-12-31\"",
                                       "19000",
                                       "19000.5",
                                       "-1",
                                       "1e3",
                                       "2147483648",
                                       "\"2024-05-01T12:00:00.25Z\"",
                                       "\"2024-05-01 12:00:00+02:00\"",
                                       "\"2024-05-01T12:00:00\"",
                                       "\"2024-13-01T00:00:00Z\"",
                                       "1.5",
                                       "-1.5e-6",
                                       "1e300",
                                       "\"12.345\"",
                                       "12.345",
                                       "0.1",
                                       "1234567890123456",
                                       "\"1234567890123456.5\"",
                                       "true"};
  static const char *const columns[] = {"v DATE", "v TIMESTAMP", "v TIMESTAMP_NTZ",
                                        "v DECIMAL(20,3)"};
  for (size_t c = 0; c < sizeof columns / sizeof *columns; c++) {
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
      char json[128];
      snprintf(json, sizeof json, "[{\"v\": %s}]", values[i]);
      outcome page = both_agree(columns[c], "", json, 1, 0);
      outcome_free(&page);
    }
  }
}
END_TEST

/* Escaped surrogates: a valid pair is one character on both paths, a lone or
 * doubled high surrogate and a lone low one are refused on both. */
START_TEST(surrogate_escapes_read_as_the_lua_path_reads_them) {
  outcome page = both_agree("s STRING", "", "[{\"s\": \"\\ud83d\\ude80\"}]", 1, 0);
  ck_assert_str_eq(page.rows, "'\xf0\x9f\x9a\x80'; | ");
  outcome_free(&page);
  static const char *const broken[] = {"[{\"s\": \"a\\ud800\"}]", "[{\"s\": \"\\ud800\\ud800\"}]",
                                       "[{\"s\": \"\\uDC00x\"}]",
                                       "[{\"s\": \"ok\"}, {\"s\": \"\\ud800z\"}]"};
  for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
    page = run("page", "s STRING", "", broken[i], 1, 0);
    ck_assert_msg(page.rc != LC_OK && strstr(page.error, "not valid JSON"), "%s: %s", broken[i],
                  page.rows);
    outcome_free(&page);
  }
}
END_TEST

START_TEST(batches_end_where_the_lua_path_ends_them) {
  /* 50 records a page, 3 pages, batches of 7: pauses inside pages and across them. */
  text t = {0};
  put(&t, "{\"results\": [");
  for (int i = 1; i <= 50; i++)
    put(&t, "%s{\"id\": %d, \"name\": \"row %d with a long enough name to cross chunks %0400d\"}",
        i > 1 ? ", " : "", i, i, i);
  put(&t, "], \"next_cursor\": null}");
  outcome page = both_agree("id INT, name STRING", "results", t.data, 3, 7);
  ck_assert_str_eq(page.log, "count=50 in_c=50 cursor=null last=50");
  int separators = 0;
  for (const char *p = page.rows; (p = strstr(p, " | ")); p += 3) separators++;
  ck_assert_int_eq(separators, (150 + 6) / 7);
  outcome_free(&page);
  free(t.data);
}
END_TEST

START_TEST(records_under_a_nested_path_or_at_the_root) {
  outcome page = both_agree("id INT", "data.items",
                            "{\"data\": {\"count\": 2, \"items\": [{\"id\": 1}, {\"id\": 2}]},"
                            " \"meta\": {\"next\": \"p2\"}, \"items\": [{\"id\": 99}]}",
                            1, 0);
  ck_assert_str_eq(page.rows, "1;2; | ");
  ck_assert_str_eq(page.log, "count=2 in_c=2 cursor=p2 last=2");
  outcome_free(&page);
  page = both_agree("id INT", "", " [ {\"id\": 5} , {\"id\": 6} ] ", 1, 0);
  ck_assert_str_eq(page.rows, "5;6; | ");
  ck_assert_str_eq(page.log, "count=2 in_c=2 cursor=nil last=6");
  outcome_free(&page);
}
END_TEST

START_TEST(unusual_records_take_the_lua_path_with_the_same_result) {
  /* A duplicate key (json.decode keeps the last), after records the C path read. */
  outcome page =
      both_agree("id INT", "results",
                 "{\"results\": [{\"id\": 1}, {\"id\": 2, \"id\": 3}, {\"id\": 4}]}", 1, 0);
  ck_assert_str_eq(page.rows, "1;3;4; | ");
  ck_assert_str_eq(page.log, "count=3 in_c=1 cursor=nil last=4");
  outcome_free(&page);
  /* A nested column needs Lua values: the whole page goes that way. */
  page = both_agree("id INT, tags ARRAY<STRING>", "results",
                    "{\"results\": [{\"id\": 1, \"tags\": [\"a\", \"b\"]}, {\"id\": 2}]}", 1, 0);
  ck_assert_str_eq(page.rows, "1,['a' 'b' ];2,null; | ");
  ck_assert_str_eq(page.log, "count=2 in_c=0 cursor=nil last=2");
  outcome_free(&page);
  /* An object where the records should be: Lua sees a table with no sequence. */
  page = both_agree("id INT", "results", "{\"results\": {\"id\": 1}}", 1, 0);
  ck_assert_str_eq(page.log, "count=0 in_c=0 cursor=nil last=nil");
  outcome_free(&page);
}
END_TEST

START_TEST(bad_records_fail_with_the_lua_paths_error) {
  static const char *const cases[][2] = {
      {"id INT, s STRING", "{\"results\": [{\"id\": 1}, {\"id\": 2}, {\"id\": \"three\"}]}"},
      {"id INT, s STRING", "{\"results\": [{\"id\": 1}, {\"id\": {\"nested\": true}}]}"},
      {"id INT, s STRING", "{\"results\": [{\"id\": 1.5}]}"},
      {"id INT, s STRING", "{\"results\": [{\"id\": 2147483648}]}"},
      {"id INT, s STRING", "{\"results\": [{\"id\": 1, \"s\": \"bad \xff byte\"}]}"},
      {"id INT NOT NULL", "{\"results\": [{\"id\": 1}, {\"id\": null}]}"},
      {"id INT NOT NULL", "{\"results\": [{\"id\": 1}, {}]}"},
      {"d DATE", "{\"results\": [{\"d\": \"2024-13-01\"}]}"},
      {"b BOOLEAN", "{\"results\": [{\"b\": 1}]}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    outcome page = both_agree(cases[i][0], "results", cases[i][1], 1, 0);
    ck_assert_msg(page.rc == LC_ERR_VALUE, "case %zu: %s", i, lc_status_string(page.rc));
    ck_assert_msg(strstr(page.error, "row ") != NULL, "case %zu: %s", i, page.error);
    outcome_free(&page);
  }
}
END_TEST

START_TEST(invalid_json_and_missing_records_are_named) {
  /* A record that is not an object is bad data (emit(7) would be a script error). */
  outcome page = run("page", "id INT", "results", "{\"results\": [{\"id\": 1}, 7]}", 1, 0);
  ck_assert_int_eq(page.rc, LC_ERR_VALUE);
  ck_assert_str_eq(page.error, "row 2: expected a table keyed by column name, got 7");
  outcome_free(&page);
  page = run("page", "id INT", "results", "{\"results\": [{\"id\": 1}, {\"id\"", 1, 0);
  ck_assert_int_eq(page.rc, LC_ERR_HTTP);
  ck_assert_ptr_nonnull(strstr(page.error, "GET test: response is not valid JSON"));
  outcome_free(&page);
  page = run("page", "id INT", "items", "{\"results\": [{\"id\": 1}]}", 1, 0);
  ck_assert_int_eq(page.rc, LC_OK);
  ck_assert_str_eq(page.log, "count=nil in_c=0 cursor=nil last=nil");
  outcome_free(&page);
  page = run("page", "id INT", "results", "", 1, 0);
  ck_assert_int_eq(page.rc, LC_OK);
  ck_assert_str_eq(page.log, "count=nil in_c=0 cursor=nil last=nil");
  outcome_free(&page);
}
END_TEST

int main(void) {
  Suite *s = suite_create("records");
  TCase *tc = tcase_create("page");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_scalar_type_reads_as_the_lua_path_reads_it);
  tcase_add_test(tc, bigint_is_exact_to_2_pow_53_minus_1_on_both_paths);
  tcase_add_test(tc, dates_timestamps_and_decimals_read_alike_on_both_paths);
  tcase_add_test(tc, surrogate_escapes_read_as_the_lua_path_reads_them);
  tcase_add_test(tc, batches_end_where_the_lua_path_ends_them);
  tcase_add_test(tc, records_under_a_nested_path_or_at_the_root);
  tcase_add_test(tc, unusual_records_take_the_lua_path_with_the_same_result);
  tcase_add_test(tc, bad_records_fail_with_the_lua_paths_error);
  tcase_add_test(tc, invalid_json_and_missing_records_are_named);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
