/* Loading connectors, options, errors with script and line, and the read/write
 * contract through the public API. */
#include "lc_test.h"

static const char *const NO_OPTIONS[] = {NULL};

static const char COUNTER[] =
    "local C = {\n"
    "  description = 'counts',\n"
    "  schema = 'id BIGINT, label STRING',\n"
    "  options = { n = { type = 'integer', default = 25 },\n"
    "              token = { type = 'string', secret = true },\n"
    "              sink = { type = 'string', required = 'write' },\n"
    "              ratio = { type = 'number' }, flag = { type = 'boolean' } },\n"
    "}\n"
    "function C.partitions(opts) return { { lo = 1 }, { lo = 101 } } end\n"
    "function C.read(opts, partition, emit)\n"
    "  for i = partition.lo or 1, (partition.lo or 1) + opts.n - 1 do\n"
    "    emit { id = i, label = 'row ' .. i }\n"
    "  end\n"
    "end\n"
    "function C.write(opts, rows)\n"
    "  local n, sum = 0, 0\n"
    "  for row in rows do n = n + 1 sum = sum + row.id end\n"
    "  return { rows = n, sum = sum }\n"
    "end\n"
    "committed = nil\n"
    "function C.commit(opts, messages)\n"
    "  if #messages ~= 2 or messages[1].rows ~= 3 then error('bad messages') end\n"
    "end\n"
    "function C.abort(opts, messages) error('abort saw ' .. #messages .. ' messages') end\n"
    "return C\n";

static int64_t read_all(lc_connector *conn, const char *partition, int *batches) {
  ck_assert_int_eq(lc_read_begin(conn, partition), LC_OK);
  int64_t rows = 0;
  *batches = 0;
  for (;;) {
    struct ArrowSchema s;
    struct ArrowArray a;
    int rc = lc_read_next(conn, &s, &a);
    if (rc == LC_DONE) break;
    ck_assert_int_eq(rc, LC_OK);
    ck_assert_str_eq(s.format, "+s");
    ck_assert_int_eq(s.n_children, 2);
    ck_assert_str_eq(s.children[0]->name, "id");
    const int64_t *ids = a.children[0]->buffers[1];
    ck_assert_int_eq(ids[a.children[0]->offset], rows + (partition ? 101 : 1));
    rows += a.length;
    (*batches)++;
    s.release(&s);
    a.release(&a);
  }
  return rows;
}

START_TEST(reads_in_bounded_batches) {
  lc_config cfg = {0};
  cfg.batch_rows = 10;
  lc_runtime *rt = lc_test_runtime(&cfg);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COUNTER, NO_OPTIONS, 0, &conn), LC_OK);
  ck_assert_str_eq(lc_connector_schema(conn), "id BIGINT, label STRING");
  int batches;
  ck_assert_int_eq(read_all(conn, NULL, &batches), 25);
  ck_assert_int_eq(batches, 3);
  ck_assert_int_eq(read_all(conn, "{\"lo\": 101}", &batches), 25);
  char *parts = NULL;
  ck_assert_int_eq(lc_connector_partitions(conn, &parts), LC_OK);
  ck_assert_str_eq(parts, "{\"lo\":1}\n{\"lo\":101}\n");
  lc_free(parts);
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(an_abandoned_read_does_not_leak_into_the_next) {
  lc_config cfg = {0};
  cfg.batch_rows = 10;
  lc_runtime *rt = lc_test_runtime(&cfg);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COUNTER, NO_OPTIONS, 0, &conn), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_OK);
  s.release(&s);
  a.release(&a);
  int batches;
  ck_assert_int_eq(read_all(conn, NULL, &batches), 25);
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(options_are_typed_and_every_problem_is_named) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  const char *bad[] = {"n", "ten",  "cout",  "1",     "ratio",
                       "x", "flag", "maybe", "token", "s3cr3t-value"};
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COUNTER, bad, 5, &conn), LC_ERR_OPTION);
  const char *msg = lc_runtime_error(rt)->message;
  ck_assert_ptr_nonnull(strstr(msg, "option 'n' must be an integer (the value is not shown)"));
  ck_assert_ptr_nonnull(strstr(msg, "unknown option 'cout'"));
  ck_assert_ptr_nonnull(strstr(msg, "option 'ratio' must be a number"));
  ck_assert_ptr_nonnull(strstr(msg, "option 'flag' must be a boolean"));
  ck_assert_ptr_null(strstr(msg, "s3cr3t-value"));
  /* Keys are case-insensitive (Spark lower-cases them); typed values reach Lua. */
  const char *good[] = {"N", "3", "Flag", "yes", "ratio", "0.5"};
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COUNTER, good, 3, &conn), LC_OK);
  int batches;
  ck_assert_int_eq(read_all(conn, NULL, &batches), 3);
  /* `sink` is required to write, not to read. */
  ck_assert_int_eq(lc_write_begin(conn), LC_ERR_OPTION);
  ck_assert_ptr_nonnull(
      strstr(lc_runtime_error(rt)->message, "option 'sink' is required to write"));
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(bad_declarations_and_hostile_tables_fail_cleanly) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  /* Non-string field names used to escape every protected call (the process died). */
  const char *bad_keys =
      "return { schema = 'id INT', options = { url = { type = 'string', [true] = 1, [2] = 3 } },\n"
      "  read = function(o, p, emit) end }\n";
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, bad_keys, NULL, 0, &conn),
                   LC_ERR_CONTRACT);
  const char *msg = lc_runtime_error(rt)->message;
  ck_assert_ptr_nonnull(strstr(msg, "option 'url': field names must be strings, not a boolean"));
  ck_assert_ptr_nonnull(strstr(msg, "option 'url': field names must be strings, not a number"));
  /* The contract check runs protected: a metamethod that raises is a script error. */
  const char *hostile =
      "return setmetatable({ schema = 'id INT', read = function(o, p, emit) end },\n"
      "  { __index = function(t, k) error('no field ' .. k) end })\n";
  ck_assert_int_ne(lc_connector_open(rt, LC_SOURCE_INLINE, hostile, NULL, 0, &conn), LC_OK);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "no field"));
  lc_runtime_free(rt);
}
END_TEST

START_TEST(script_errors_carry_file_and_line) {
  lc_runtime *rt = lc_test_runtime(NULL);
  char path[] = "/tmp/lc_test_errXXXXXX.lua";
  int fd = mkstemps(path, 4);
  const char *src =
      "local C = { schema = 'id INT' }\n"
      "local function helper(x)\n"
      "  return x.missing.field\n"
      "end\n"
      "function C.read(opts, partition, emit)\n"
      "  helper({})\n"
      "end\n"
      "return C\n";
  ck_assert_int_eq(write(fd, src, strlen(src)), (ssize_t)strlen(src));
  close(fd);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, path, NULL, 0, &conn), LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_ERR_SCRIPT);
  const lc_error *e = lc_runtime_error(rt);
  ck_assert_str_eq(e->script, path);
  ck_assert_int_eq(e->line, 3);
  ck_assert_ptr_nonnull(strstr(e->message, "attempt to index field 'missing'"));
  ck_assert_ptr_nonnull(strstr(e->traceback, "stack traceback"));
  lc_connector_free(conn);

  /* A syntax error names the file and line too. */
  fd = open(path, O_WRONLY | O_TRUNC);
  const char *broken = "local C = { schema = 'id INT' }\n\nfunction C.read(\nreturn C\n";
  ck_assert_int_eq(write(fd, broken, strlen(broken)), (ssize_t)strlen(broken));
  close(fd);
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, path, NULL, 0, &conn), LC_ERR_SYNTAX);
  e = lc_runtime_error(rt);
  ck_assert_str_eq(e->script, path);
  ck_assert_int_eq(e->line, 4);
  unlink(path);

  /* Source shipped from elsewhere keeps its original name in errors. */
  ck_assert_int_eq(lc_connector_open_source(rt, "/driver/path/src.lua", src, NULL, 0, &conn),
                   LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_ERR_SCRIPT);
  ck_assert_str_eq(lc_runtime_error(rt)->script, "/driver/path/src.lua");
  ck_assert_int_eq(lc_runtime_error(rt)->line, 3);
  lc_connector_free(conn);

  /* error(msg, 2) blames the caller's line. */
  ck_assert_int_eq(
      lc_connector_open(rt, LC_SOURCE_INLINE,
                        "local C = { schema = 'id INT' }\n"
                        "local function check(x) if not x then error('need x', 2) end end\n"
                        "function C.read(opts, p, emit)\n"
                        "  check(nil)\n"
                        "end\nreturn C\n",
                        NULL, 0, &conn),
      LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_ERR_SCRIPT);
  ck_assert_int_eq(lc_runtime_error(rt)->line, 4);
  ck_assert_str_eq(lc_runtime_error(rt)->message, "need x");
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(values_that_do_not_fit_name_column_and_row) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE,
                                     "local C = { schema = 'id INT' }\n"
                                     "function C.read(opts, p, emit)\n"
                                     "  emit{id = 1} emit{id = 2}\n"
                                     "  emit{id = 'three'}\n"
                                     "end\nreturn C\n",
                                     NULL, 0, &conn),
                   LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_ERR_VALUE);
  const lc_error *e = lc_runtime_error(rt);
  ck_assert_ptr_nonnull(strstr(e->message, "column 'id'"));
  ck_assert_ptr_nonnull(strstr(e->message, "row 3"));
  ck_assert_int_eq(e->line, 4);
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(contract_violations_are_named) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, "return 42", NULL, 0, &conn),
                   LC_ERR_CONTRACT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "must return a table"));
  ck_assert_int_eq(
      lc_connector_open(rt, LC_SOURCE_INLINE, "return { schema = 'id INT', raed = function() end }",
                        NULL, 0, &conn),
      LC_ERR_CONTRACT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "did you mean 'read'"));
  ck_assert_int_eq(
      lc_connector_open(rt, LC_SOURCE_INLINE,
                        "return { schema = 'id INTT', read = function() end }", NULL, 0, &conn),
      LC_ERR_CONTRACT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "INTT"));
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_NAME, "no_such_connector", NULL, 0, &conn),
                   LC_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "no_such_connector.lua"));
  char *summary = NULL;
  ck_assert_int_eq(lc_connector_check(rt, LC_SOURCE_INLINE, COUNTER, &summary), LC_OK);
  ck_assert_ptr_nonnull(strstr(summary, "\"description\":\"counts\""));
  lc_free(summary);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(writes_stream_rows_and_commit) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  const char *opts[] = {"sink", "memory"};
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COUNTER, opts, 1, &conn), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  const char lines[] =
      "{\"id\": 1, \"label\": \"a\"}\n{\"id\": 2, \"label\": null}\n\n{\"id\": 3}\n";
  ck_assert_int_eq(lc_connector_rows_from_json(conn, lines, strlen(lines), 0, &s, &a), LC_OK);
  ck_assert_int_eq(a.length, 3);
  ck_assert_int_eq(lc_write_begin(conn), LC_OK);
  ck_assert_int_eq(lc_write_batch(conn, &s, &a), LC_OK);
  char *message = NULL;
  ck_assert_int_eq(lc_write_end(conn, &message), LC_OK);
  ck_assert_ptr_nonnull(strstr(message, "\"rows\":3"));
  ck_assert_ptr_nonnull(strstr(message, "\"sum\":6"));
  s.release(&s);
  a.release(&a);
  char both[256];
  snprintf(both, sizeof both, "[%s, %s]", message, message);
  ck_assert_int_eq(lc_connector_commit(conn, both), LC_OK);
  ck_assert_int_eq(lc_connector_abort(conn, "[null]"), LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "abort saw 1 messages"));
  lc_free(message);
  /* A bad JSON line is named by its number. */
  const char badlines[] = "{\"id\": 1}\n{\"id\": \"x\"}\n";
  ck_assert_int_eq(lc_connector_rows_from_json(conn, badlines, strlen(badlines), 0, &s, &a),
                   LC_ERR_VALUE);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "line 2"));
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(a_write_that_skips_rows_fails) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE,
                                     "return { schema = 'id INT', write = function(opts, rows)\n"
                                     "  local first = rows() return { got = first.id } end }",
                                     NULL, 0, &conn),
                   LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  const char lines[] = "{\"id\": 1}\n{\"id\": 2}\n";
  ck_assert_int_eq(lc_connector_rows_from_json(conn, lines, strlen(lines), 0, &s, &a), LC_OK);
  ck_assert_int_eq(lc_write_begin(conn), LC_OK);
  ck_assert_int_eq(lc_write_batch(conn, &s, &a), LC_ERR_CONTRACT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "before reading every row"));
  s.release(&s);
  a.release(&a);
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(helpers_load_from_the_lua_root) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE,
                                     "local batch = require 'luaconn.batch'\n"
                                     "local C = { schema = 'n INT' }\n"
                                     "function C.read(opts, p, emit)\n"
                                     "  local list = {}\n"
                                     "  for i = 1, 7 do list[i] = i end\n"
                                     "  local i = 0\n"
                                     "  local rows = function() i = i + 1 return list[i] end\n"
                                     "  batch.each(rows, 3, function(b) emit{ n = #b } end)\n"
                                     "end\nreturn C\n",
                                     NULL, 0, &conn),
                   LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_OK);
  ck_assert_int_eq(a.length, 3); /* batches of 3, 3, 1 */
  const int32_t *n = a.children[0]->buffers[1];
  ck_assert_int_eq(n[0] + n[1] + n[2], 7);
  s.release(&s);
  a.release(&a);
  lc_connector_free(conn);
  ck_assert_int_eq(
      lc_connector_open(rt, LC_SOURCE_INLINE, "require 'luaconn.nope'", NULL, 0, &conn),
      LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "module 'luaconn.nope' not found"));
  lc_runtime_free(rt);
}
END_TEST

static const char TICKER[] =
    "local C = { description = 'ids 0..99 as a stream', schema = 'id INT' }\n"
    "function C.initial_offset(opts) return { next = 0 } end\n"
    "function C.latest_offset(opts, start, limit)\n"
    "  local tail = 100\n"
    "  if limit and limit.max_rows then return { next = math.min(start.next + limit.max_rows, "
    "tail) } end\n"
    "  return { next = tail }\n"
    "end\n"
    "function C.stream_partitions(opts, start, stop)\n"
    "  local mid = math.floor((start.next + stop.next) / 2)\n"
    "  return { { lo = start.next, hi = mid }, { lo = mid, hi = stop.next } }\n"
    "end\n"
    "function C.read(opts, p, emit) for i = p.lo, p.hi - 1 do emit{ id = i } end end\n"
    "function C.stream_commit(opts, stop) committed = stop.next end\n"
    "return C\n";

START_TEST(streams_plan_ranges_from_json_offsets) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, TICKER, NULL, 0, &conn), LC_OK);
  ck_assert(lc_connector_can_stream(conn));
  char *start = NULL, *end = NULL, *parts = NULL;
  ck_assert_int_eq(lc_stream_initial_offset(conn, &start), LC_OK);
  ck_assert_str_eq(start, "{\"next\":0}");
  ck_assert_int_eq(lc_stream_latest_offset(conn, start, "{\"max_rows\": 30}", &end), LC_OK);
  ck_assert_str_eq(end, "{\"next\":30}");
  ck_assert_int_eq(lc_stream_partitions(conn, start, end, &parts), LC_OK);
  /* Two lines, [0, 15) then [15, 30) (lua-cjson does not keep key order). */
  char *second = strchr(parts, '\n');
  ck_assert_ptr_nonnull(second);
  *second++ = '\0';
  ck_assert_ptr_nonnull(strstr(parts, "\"lo\":0") && strstr(parts, "\"hi\":15") ? parts : NULL);
  ck_assert_ptr_nonnull(strstr(second, "\"lo\":15") && strstr(second, "\"hi\":30") ? second : NULL);
  ck_assert_str_eq(strchr(second, '\n'), "\n");
  lc_free(parts);
  ck_assert_int_eq(lc_stream_commit(conn, end), LC_OK);
  lc_free(end);
  ck_assert_int_eq(lc_stream_latest_offset(conn, start, NULL, &end), LC_OK);
  ck_assert_str_eq(end, "{\"next\":100}");
  ck_assert_int_eq(lc_stream_latest_offset(conn, "{bad", NULL, &parts), LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "not valid JSON"));
  lc_free(start);
  lc_free(end);
  lc_connector_free(conn);
  /* A batch connector cannot stream, and says so. */
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, COUNTER, NULL, 0, &conn), LC_OK);
  ck_assert(!lc_connector_can_stream(conn));
  ck_assert_int_eq(lc_stream_initial_offset(conn, &start), LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "cannot stream"));
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

static const char FILTERED[] =
    "local C = { schema = 'v BIGINT', options = { col = { type = 'string', default = 'id' } } }\n"
    "function C.filters(opts)\n"
    "  if opts.col == 'boom' then error('no filters for boom') end\n"
    "  if opts.col == 'odd' then return 42 end\n"
    "  return { [opts.col] = { exact = { '>=' }, inexact = { 'in' } } }\n"
    "end\n"
    "function C.read(opts, p, emit)\n"
    "  for _, f in ipairs(opts.filters) do emit { v = f.op == 'in' and #f.value or f.value } end\n"
    "end\n"
    "return C\n";

/* Opens FILTERED with option col and pushed filters (NULL: none); returns the status. */
static int open_filtered(lc_runtime *rt, const char *col, const char *pushed, lc_connector **out) {
  const char *kv[] = {"col", col, "FILTERS", pushed};
  return lc_connector_open(rt, LC_SOURCE_INLINE, FILTERED, kv, pushed ? 2 : 1, out);
}

START_TEST(pushed_filters_are_checked_and_reach_opts) {
  lc_runtime *rt = lc_test_runtime(NULL);
  lc_connector *conn = NULL;
  ck_assert_int_eq(open_filtered(rt, "key", NULL, &conn), LC_OK);
  char *declared = NULL;
  ck_assert_int_eq(lc_connector_filters(conn, &declared), LC_OK);
  /* {"key": {">=": "exact", "in": "inexact"}}, keys in any order */
  ck_assert_ptr_nonnull(strstr(declared, "{\"key\":{"));
  ck_assert_ptr_nonnull(strstr(declared, "\">=\":\"exact\""));
  ck_assert_ptr_nonnull(strstr(declared, "\"in\":\"inexact\""));
  lc_free(declared);
  lc_connector_free(conn);
  /* Pushed filters arrive in order as opts.filters. */
  ck_assert_int_eq(open_filtered(rt, "key",
                                 "[{\"column\":\"key\",\"op\":\">=\",\"value\":7},"
                                 "{\"column\":\"key\",\"op\":\"in\",\"value\":[1,2,3]}]",
                                 &conn),
                   LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_OK);
  ck_assert_int_eq(a.length, 2);
  const int64_t *values = a.children[0]->buffers[1];
  ck_assert_int_eq(values[0], 7);
  ck_assert_int_eq(values[1], 3);
  s.release(&s);
  a.release(&a);
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_DONE);
  lc_connector_free(conn);
  /* Every bad filter is named; the declaration's errors are the script's. */
  ck_assert_int_eq(open_filtered(rt, "key",
                                 "[{\"column\":\"id\",\"op\":\">=\",\"value\":1},"
                                 "{\"column\":\"key\",\"op\":\"<\",\"value\":1}, 5]",
                                 &conn),
                   LC_ERR_OPTION);
  const char *msg = lc_runtime_error(rt)->message;
  ck_assert_ptr_nonnull(strstr(msg, "option 'filters', filter 1: column 'id' takes no filters"));
  ck_assert_ptr_nonnull(strstr(msg, "filter 2: column 'key' takes no '<' filter"));
  ck_assert_ptr_nonnull(strstr(msg, "filter 3: must be an object"));
  ck_assert_int_eq(open_filtered(rt, "key", "{\"nested\": [[[[", &conn), LC_ERR_OPTION);
  ck_assert_ptr_nonnull(
      strstr(lc_runtime_error(rt)->message, "option 'filters' is not valid JSON"));
  ck_assert_int_eq(open_filtered(rt, "odd", NULL, &conn), LC_ERR_CONTRACT);
  ck_assert_ptr_nonnull(
      strstr(lc_runtime_error(rt)->message, "filters(opts) must return a table, got number"));
  ck_assert_int_ne(open_filtered(rt, "boom", NULL, &conn), LC_OK);
  ck_assert_int_eq(lc_runtime_error(rt)->line, 3);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(every_status_has_a_name) {
  for (int code = LC_ERR_STATE; code <= LC_DONE; code++)
    ck_assert_msg(strcmp(lc_status_string(code), "unknown status") != 0, "status %d has no name",
                  code);
  ck_assert_str_eq(lc_status_string(LC_ERR_TIME_LIMIT), "time limit exceeded");
  ck_assert_str_eq(lc_status_string(12345), "unknown status");
}
END_TEST

int main(void) {
  Suite *s = suite_create("connector");
  TCase *tc = tcase_create("connector");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, reads_in_bounded_batches);
  tcase_add_test(tc, an_abandoned_read_does_not_leak_into_the_next);
  tcase_add_test(tc, options_are_typed_and_every_problem_is_named);
  tcase_add_test(tc, script_errors_carry_file_and_line);
  tcase_add_test(tc, bad_declarations_and_hostile_tables_fail_cleanly);
  tcase_add_test(tc, values_that_do_not_fit_name_column_and_row);
  tcase_add_test(tc, contract_violations_are_named);
  tcase_add_test(tc, writes_stream_rows_and_commit);
  tcase_add_test(tc, a_write_that_skips_rows_fails);
  tcase_add_test(tc, helpers_load_from_the_lua_root);
  tcase_add_test(tc, every_status_has_a_name);
  tcase_add_test(tc, streams_plan_ranges_from_json_offsets);
  tcase_add_test(tc, pushed_filters_are_checked_and_reach_opts);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
