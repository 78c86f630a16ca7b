/* The amqp host module and the rabbitmq connector against a real rabbitmq-server
 * the suite starts on a free loopback port (tests/fixtures/broker.py): confirmed publishing,
 * stream consumption from an offset with headers, deliveries received into a reused
 * table, broker errors with reply code and text, connection failures naming
 * host:port, the call's time budget, and the connector's stream offsets through
 * lc_stream_*. */
#include "lc_test.h"

#include "host/lc_host.h"

static char broker_dir[] = "/tmp/luaconn-amqp-test-XXXXXX";
static char broker_url[256];
static lc_runtime *rt;
static lc_state *st;

static void start_broker(void) {
  ck_assert_ptr_nonnull(mkdtemp(broker_dir));
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "python3 %s/tests/fixtures/broker.py start %s", lc_test_source_dir(),
           broker_dir);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  ck_assert_msg(fgets(broker_url, sizeof broker_url, p) != NULL, "broker.py printed no URL");
  ck_assert_int_eq(pclose(p), 0);
  broker_url[strcspn(broker_url, "\n")] = 0;
}

static void stop_broker(void) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "python3 %s/tests/fixtures/broker.py stop %s && rm -rf %s",
           lc_test_source_dir(), broker_dir, broker_dir);
  ck_assert_int_eq(system(cmd), 0);
}

static void open_sandbox(double call_timeout) {
  lc_config cfg = {.call_timeout = call_timeout};
  rt = lc_test_runtime(&cfg);
  ck_assert_int_eq(lc_sandbox_open(rt, "amqp-test", lc_host_modules, lc_host_n_modules, &st),
                   LC_OK);
}

static void setup(void) { open_sandbox(0); }

static void teardown(void) {
  lc_sandbox_close(st);
  lc_runtime_free(rt);
}

/* Runs a script with the broker URL as `...`; returns its status. */
static int run(const char *lua) {
  ck_assert_int_eq(lc_sandbox_load(st, lua, strlen(lua), "=test"), LC_OK);
  lua_pushstring(st->L, broker_url);
  return lc_sandbox_call(st, 1, 0);
}

static void run_ok(const char *lua) {
  int rc = run(lua);
  ck_assert_msg(rc == LC_OK, "script failed: %s", lc_runtime_error(rt)->message);
}

static const char *run_fails(const char *lua, int code) {
  int rc = run(lua);
  ck_assert_msg(rc == code, "expected %s, got %s: %s", lc_status_string(code), lc_status_string(rc),
                rc ? lc_runtime_error(rt)->message : "");
  return lc_runtime_error(rt)->message;
}

START_TEST(publish_with_confirms_then_consume_from_an_offset) {
  run_ok(
      "local amqp = require 'amqp'\n"
      "local c = amqp.connect(..., {timeout = 5})\n"
      "c:declare('s-offsets', {arguments = {['x-queue-type'] = 'stream'}})\n"
      "for i = 0, 199 do\n"
      "  c:publish('s-offsets', 'body ' .. i, {message_id = 'id-' .. i, timestamp = 1700000000 + "
      "i,\n"
      "            headers = {n = i, kind = 'test', flag = true}})\n"
      "end\n"
      "assert(c:wait_confirms(5) == 200, 'every publish confirmed')\n"
      "c:consume('s-offsets', {prefetch = 50, arguments = {['x-stream-offset'] = 150}})\n"
      "local want = 150\n"
      "while want < 200 do\n"
      "  local d = assert(c:receive(5), 'a delivery within 5 s')\n"
      "  local off = d.headers['x-stream-offset']\n"
      "  if off >= 150 then\n"
      "    assert(off == want, 'offset ' .. off .. ', wanted ' .. want)\n"
      "    assert(d.body == 'body ' .. off, d.body)\n"
      "    assert(d.message_id == 'id-' .. off and d.routing_key == 's-offsets')\n"
      "    assert(d.timestamp == 1700000000 + off and d.headers.n == off)\n"
      "    assert(d.headers.kind == 'test' and d.headers.flag == true)\n"
      "    want = want + 1\n"
      "  end\n"
      "  c:ack(d.delivery_tag)\n"
      "end\n"
      "assert(c:receive(0.3) == nil, 'nothing past the tail')\n"
      "c:close()\n"
      "assert(not c:is_open())\n");
}
END_TEST

START_TEST(consume_from_a_timestamp_and_from_last) {
  run_ok(
      "local amqp = require 'amqp'\n"
      "local c = amqp.connect(...)\n"
      "c:declare('s-time', {arguments = {['x-queue-type'] = 'stream'}})\n"
      "for i = 0, 9 do c:publish('s-time', tostring(i)) end\n"
      "c:wait_confirms()\n"
      "c:consume('s-time', {arguments = {['x-stream-offset'] = amqp.timestamp(os.time() - "
      "3600)}})\n"
      "assert(c:receive(5).headers['x-stream-offset'] == 0, 'an hour ago is the start')\n"
      "c:consume('s-time', {arguments = {['x-stream-offset'] = 'last'}})\n"
      "local max = -1\n"
      "for d in function() return c:receive(0.5) end do\n"
      "  max = math.max(max, d.headers['x-stream-offset'])\n"
      "end\n"
      "assert(max == 9, 'the last chunk ends at offset 9, got ' .. max)\n"
      "c:cancel()\n");
}
END_TEST

START_TEST(receive_into_a_reused_delivery_keeps_nothing_of_the_last_one) {
  run_ok(
      "local c = require('amqp').connect(...)\n"
      "c:declare('s-reuse', {arguments = {['x-queue-type'] = 'stream'}})\n"
      "c:publish('s-reuse', 'first', {message_id = 'm1', content_type = 'text/plain',\n"
      "          timestamp = 1700000000, headers = {kind = 'a', n = 1}})\n"
      "c:publish('s-reuse', 'second')\n"
      "c:wait_confirms()\n"
      "c:consume('s-reuse', {arguments = {['x-stream-offset'] = 0}})\n"
      "local d = {}\n"
      "assert(c:receive(5, d) == d, 'the given table is filled and returned')\n"
      "local headers = d.headers\n"
      "assert(d.body == 'first' and d.message_id == 'm1' and d.timestamp == 1700000000)\n"
      "assert(d.content_type == 'text/plain' and headers.kind == 'a' and headers.n == 1)\n"
      "assert(c:receive(5, d) == d)\n"
      "assert(d.body == 'second' and d.headers == headers, 'the headers table is reused too')\n"
      "assert(d.message_id == nil and d.timestamp == nil and d.content_type == nil)\n"
      "local keys = {}\n"
      "for k in pairs(d.headers) do keys[#keys + 1] = k end\n"
      "assert(#keys == 1 and keys[1] == 'x-stream-offset' and d.headers[keys[1]] == 1)\n"
      "assert(c:receive(0.2, d) == nil, 'nil at the tail')\n"
      "assert(not pcall(c.receive, c, 0.1, 'not a table'))\n");
}
END_TEST

START_TEST(broker_errors_carry_reply_code_and_text) {
  const char *msg = run_fails(
      "local c = require('amqp').connect(...)\n"
      "c:declare('s-bad', {arguments = {['x-queue-type'] = 'stream'}})\n"
      "c:declare('s-bad', {arguments = {['x-queue-type'] = 'classic'}})\n",
      LC_ERR_AMQP);
  ck_assert_msg(
      strstr(msg, "amqp: queue.declare failed: broker closed the channel: 406 PRECONDITION_FAILED"),
      "%s", msg);
  ck_assert_msg(strstr(msg, "x-queue-type"), "%s", msg);
  run_ok(
      "local c = require('amqp').connect(...)\n"
      "assert(not pcall(c.declare, c, 's-bad', {arguments = {['x-queue-type'] = 'classic'}}))\n"
      "c:declare('s-bad', {arguments = {['x-queue-type'] = 'stream'}})  -- the connection is still "
      "usable\n");
  msg = run_fails(
      "local c = require('amqp').connect(...)\n"
      "c:consume('no-such-queue')\n",
      LC_ERR_AMQP);
  ck_assert_msg(strstr(msg, "404 NOT_FOUND - no queue 'no-such-queue'"), "%s", msg);
}
END_TEST

START_TEST(broker_down_names_host_and_port) {
  const char *msg =
      run_fails("require('amqp').connect('amqp://guest:s3cret-pw@127.0.0.1:1/%2F')\n", LC_ERR_AMQP);
  ck_assert_str_eq(msg, "amqp: cannot connect to 127.0.0.1:1: connection refused");
  msg = run_fails("require('amqp').connect('http://127.0.0.1:1/')\n", LC_ERR_AMQP);
  ck_assert_msg(strstr(msg, "bad broker URL"), "%s", msg);
}
END_TEST

START_TEST(wrong_password_is_refused_and_never_shown) {
  char lua[512];
  const char *at = strchr(broker_url, '@');
  snprintf(lua, sizeof lua, "require('amqp').connect('amqp://guest:not-the-pw%s')\n", at);
  ck_assert_int_eq(lc_sandbox_load(st, lua, strlen(lua), "=test"), LC_OK);
  ck_assert_int_eq(lc_sandbox_call(st, 0, 0), LC_ERR_AMQP);
  const char *msg = lc_runtime_error(rt)->message;
  ck_assert_msg(strstr(msg, "403 ACCESS_REFUSED"), "%s", msg);
  ck_assert_msg(!strstr(msg, "not-the-pw"), "%s", msg);
}
END_TEST

START_TEST(waits_stop_at_the_call_time_limit) {
  teardown();
  open_sandbox(1.0);
  const char *msg = run_fails(
      "local c = require('amqp').connect(...)\n"
      "c:declare('s-idle', {arguments = {['x-queue-type'] = 'stream'}})\n"
      "c:consume('s-idle', {arguments = {['x-stream-offset'] = 'next'}})\n"
      "c:receive(30)\n",
      LC_ERR_TIME_LIMIT);
  ck_assert_ptr_nonnull(msg);
}
END_TEST

/* Publishes n messages to queue through the rabbitmq connector's write. */
static void connector_publish(const char *queue, int n) {
  const char *opts[] = {"broker", broker_url, "queue", queue, "write_id", "w1"};
  lc_connector *conn;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_NAME, "rabbitmq", opts, 3, &conn), LC_OK);
  size_t cap = (size_t)n * 32 + 1, len = 0;
  char *jsonl = malloc(cap);
  for (int i = 0; i < n; i++) len += snprintf(jsonl + len, cap - len, "{\"body\":\"m%d\"}\n", i);
  struct ArrowSchema schema;
  struct ArrowArray array;
  ck_assert_int_eq(lc_connector_rows_from_json(conn, jsonl, len, 0, &schema, &array), LC_OK);
  free(jsonl);
  ck_assert_int_eq(lc_write_begin(conn), LC_OK);
  ck_assert_int_eq(lc_write_batch(conn, &schema, &array), LC_OK);
  char *message;
  int rc = lc_write_end(conn, &message);
  ck_assert_msg(rc == LC_OK, "%s", lc_runtime_error(rt)->message);
  char rows[32];
  snprintf(rows, sizeof rows, "\"rows\":%d", n);
  ck_assert_msg(strstr(message, rows), "%s", message);
  lc_free(message);
  schema.release(&schema);
  array.release(&array);
  lc_connector_free(conn);
}

START_TEST(connector_offsets_partitions_and_reads) {
  connector_publish("s-conn", 300);
  const char *opts[] = {"broker", broker_url, "queue", "s-conn", "partitions", "3"};
  lc_connector *conn;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_NAME, "rabbitmq", opts, 3, &conn), LC_OK);
  ck_assert(lc_connector_can_stream(conn));
  char *start, *end, *parts;
  ck_assert_int_eq(lc_stream_initial_offset(conn, &start), LC_OK);
  ck_assert_str_eq(start, "{\"next\":0}");
  ck_assert_int_eq(lc_stream_latest_offset(conn, start, "{\"max_rows\":100}", &end), LC_OK);
  ck_assert_str_eq(end, "{\"next\":100}");
  lc_free(end);
  ck_assert_int_eq(lc_stream_latest_offset(conn, start, NULL, &end), LC_OK);
  ck_assert_str_eq(end, "{\"next\":300}");
  ck_assert_int_eq(lc_stream_partitions(conn, start, end, &parts), LC_OK);
  /* Three ranges (key order in the JSON is the encoder's business). */
  int n_parts = 0;
  for (const char *c = parts; *c; c++) n_parts += *c == '\n';
  ck_assert_int_eq(n_parts, 3);
  /* Each range reads exactly its offsets; together they read every message once. */
  int64_t next = 0;
  for (char *line = parts, *eol; (eol = strchr(line, '\n')); line = eol + 1) {
    *eol = 0;
    ck_assert_int_eq(lc_read_begin(conn, line), LC_OK);
    struct ArrowSchema schema;
    struct ArrowArray array;
    int rc;
    while ((rc = lc_read_next(conn, &schema, &array)) == LC_OK) {
      const int64_t *offsets = array.children[0]->buffers[1];
      for (int64_t i = 0; i < array.length; i++) ck_assert_int_eq(offsets[i], next++);
      schema.release(&schema);
      array.release(&array);
    }
    ck_assert_msg(rc == LC_DONE, "%s", lc_runtime_error(rt)->message);
  }
  ck_assert_int_eq(next, 300);
  lc_free(start);
  lc_free(end);
  lc_free(parts);
  lc_connector_free(conn);
}
END_TEST

int main(void) {
  Suite *s = suite_create("amqp");
  TCase *tc = tcase_create("amqp");
  tcase_add_unchecked_fixture(tc, start_broker, stop_broker);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, publish_with_confirms_then_consume_from_an_offset);
  tcase_add_test(tc, consume_from_a_timestamp_and_from_last);
  tcase_add_test(tc, receive_into_a_reused_delivery_keeps_nothing_of_the_last_one);
  tcase_add_test(tc, broker_errors_carry_reply_code_and_text);
  tcase_add_test(tc, broker_down_names_host_and_port);
  tcase_add_test(tc, wrong_password_is_refused_and_never_shown);
  tcase_add_test(tc, waits_stop_at_the_call_time_limit);
  tcase_add_test(tc, connector_offsets_partitions_and_reads);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
