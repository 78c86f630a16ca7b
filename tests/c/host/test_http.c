/* The http host module against the real test server (tests/fixtures/api_server.py):
 * requests, keep-alive, retries with backoff and Retry-After, errors a user can
 * act on, time limits, and credentials kept out of errors and logs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lc_test.h"

#include "host/lc_host.h"

#define MAX_LINES 64

typedef struct captured_log {
  int n;
  char line[MAX_LINES][512];
} captured_log;

static lc_test_server server;
static captured_log logged;
static lc_runtime *rt;
static lc_state *st;

static void capture(void *ctx, int level, const char *connector, const char *message) {
  captured_log *log = ctx;
  if (log->n < MAX_LINES) snprintf(log->line[log->n++], sizeof log->line[0], "%s", message);
}

static void start_server(void) { lc_test_server_start(&server, NULL); }
static void stop_server(void) { lc_test_server_stop(&server); }

static void open_sandbox(double call_timeout) {
  memset(&logged, 0, sizeof logged);
  lc_config cfg = {
      .log = capture, .log_ctx = &logged, .log_level = LC_LOG_DEBUG, .call_timeout = call_timeout};
  rt = lc_test_runtime(&cfg);
  ck_assert_int_eq(lc_sandbox_open(rt, "http-test", lc_host_modules, lc_host_n_modules, &st),
                   LC_OK);
}

static void setup(void) { open_sandbox(0); }

static void open_sandbox_with_memory(size_t memory_limit) {
  memset(&logged, 0, sizeof logged);
  lc_config cfg = {.log = capture, .log_ctx = &logged, .memory_limit = memory_limit};
  rt = lc_test_runtime(&cfg);
  ck_assert_int_eq(lc_sandbox_open(rt, "http-test", lc_host_modules, lc_host_n_modules, &st),
                   LC_OK);
}

static void teardown(void) {
  lc_sandbox_close(st);
  lc_runtime_free(rt);
}

/* Runs a script with the server's base URL as its argument; one result stays on
 * the stack when it succeeds. */
static int run(const char *lua) {
  ck_assert_int_eq(lc_sandbox_load(st, lua, strlen(lua), "=test"), LC_OK);
  lua_pushstring(st->L, server.base_url);
  return lc_sandbox_call(st, 1, 1);
}

static void run_ok(const char *lua) {
  int rc = run(lua);
  ck_assert_msg(rc == LC_OK, "script failed: %s", lc_runtime_error(rt)->message);
  lua_pop(st->L, 1);
}

/* Runs a script that must fail with code; returns its error message. */
static const char *run_fails(const char *lua, int code) {
  int rc = run(lua);
  ck_assert_msg(rc == code, "expected %s, got %s: %s", lc_status_string(code), lc_status_string(rc),
                rc ? lc_runtime_error(rt)->message : "");
  return lc_runtime_error(rt)->message;
}

static bool logged_line_containing(const char *text) {
  for (int i = 0; i < logged.n; i++)
    if (strstr(logged.line[i], text)) return true;
  return false;
}

/* The Lua helper every timing test uses: the server's arrival times for a key. */
#define ATTEMPTS_LUA                                                                 \
  "local function attempts(key)\n"                                                   \
  "  return require('http').get_json(base .. '/_attempts', {query = {key = key}})\n" \
  "end\n"

START_TEST(get_sends_query_and_headers) {
  run_ok(
      "local base = ...\n"
      "local http, json = require 'http', require 'json'\n"
      "local r = http.get(base .. '/echo', {\n"
      "  query = {q = 'a b&c=d/\\195\\169', id = 1700000000123456, flag = true, z = 1},\n"
      "  headers = {['X-Trace'] = 't-1'}})\n"
      "assert(r.status == 200, r.status)\n"
      "assert(r.url == base .. "
      "'/echo?flag=true&id=1700000000123456&q=a%20b%26c%3Dd%2F%C3%A9&z=1',\n"
      "       'parameters encoded and sorted: ' .. r.url)\n"
      "assert(r.headers['content-type'] == 'application/json; charset=utf-8', 'lowercase header "
      "names')\n"
      "local e = json.decode(r.body)\n"
      "assert(e.method == 'GET')\n"
      "assert(e.query.q == 'a b&c=d/\\195\\169', e.query.q)\n"
      "assert(e.query.id == '1700000000123456', 'integers in full: ' .. e.query.id)\n"
      "assert(e.query.flag == 'true' and e.query.z == '1')\n"
      "assert(e.headers['x-trace'] == 't-1')\n"
      "assert(e.headers['user-agent'] == 'luaconn/" LUACONN_VERSION
      "', e.headers['user-agent'])\n"
      "local again = http.get(base .. '/echo?x=1', {query = {y = 2}})\n"
      "assert(again.url == base .. '/echo?x=1&y=2', again.url)\n"
      "local merged = http.get(base .. '/echo?per_page=50&state=open&a%5Bb%5D=1&', {\n"
      "  query = {per_page = 100, ['a[b]'] = 2}})\n"
      "assert(merged.url == base .. '/echo?state=open&a%5Bb%5D=2&per_page=100',\n"
      "       'the query table replaces the URL\\'s own parameters: ' .. merged.url)\n");
  ck_assert(logged_line_containing("GET "));
  ck_assert(logged_line_containing("/echo?flag=true&id=1700000000123456"));
  ck_assert(logged_line_containing("-> HTTP 200, "));
}
END_TEST

START_TEST(retry_on_names_the_retried_statuses) {
  run_ok(
      "local base = ...\n"
      "local http = require 'http'\n"
      "local r = http.get(base .. '/items?key=ro1&fail=403&times=1',\n"
      "                   {retry_on = {403}, backoff = 0.01})\n"
      "assert(r.status == 200 and r.attempts == 2, r.attempts)\n"
      "http.configure{retry_on = {500}, backoff = 0.01}\n"
      "local ok, err = pcall(http.get, base .. '/items?key=ro2&fail=503&times=1')\n"
      "assert(not ok and err:find('HTTP 503', 1, true), err)\n");
}
END_TEST

START_TEST(bodies_and_methods_round_trip) {
  run_ok(
      "local base = ...\n"
      "local http, json = require 'http', require 'json'\n"
      "local doc = {name = 'Zo\\195\\171 \"q\" \\\\ \\n', id = 1700000000123456,\n"
      "             ratio = 0.1, list = {1, 2, 3}, nested = {ok = true, none = json.null}}\n"
      "local e = http.post_json(base .. '/echo', {json = doc})\n"
      "assert(e.method == 'POST')\n"
      "assert(e.headers['content-type'] == 'application/json', e.headers['content-type'])\n"
      "local back = json.decode(e.body)\n"
      "assert(back.name == doc.name and back.id == doc.id and back.ratio == 0.1)\n"
      "assert(#back.list == 3 and back.nested.ok == true and back.nested.none == json.null)\n"
      "local put = http.put_json(base .. '/echo', {body = 'raw text',\n"
      "                          headers = {['Content-Type'] = 'text/plain'}})\n"
      "assert(put.method == 'PUT' and put.body == 'raw text')\n"
      "assert(put.headers['content-type'] == 'text/plain')\n"
      "assert(http.delete_json(base .. '/echo').method == 'DELETE')\n"
      "local patched, r = http.patch_json(base .. '/echo', {json = {1, 2}})\n"
      "assert(patched.method == 'PATCH' and patched.body == '[1,2]' and r.status == 200)\n"
      "local req = http.request{method = 'post', url = base .. '/sink/t1', json = {{a = 1}, {a = "
      "2}}}\n"
      "assert(req.status == 200 and json.decode(req.body).received == 2)\n"
      "local sink = http.get_json(base .. '/sink/t1')\n"
      "assert(#sink.rows == 2 and sink.rows[2].a == 2)\n");
}
END_TEST

START_TEST(connections_are_kept_alive) {
  run_ok(
      "local base = ...\n"
      "local http = require 'http'\n"
      "local first = http.get(base .. '/echo')\n"
      "local second = http.get(base .. '/items', {query = {limit = 1}})\n"
      "assert(first.new_connections == 1, 'first request connects')\n"
      "assert(second.new_connections == 0, 'second request reuses the connection')\n");
}
END_TEST

START_TEST(retries_503_then_succeeds) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "local page, r = http.get_json(base .. '/items',\n"
         "  {query = {limit = 2, fail = 503, times = 1, key = 'r503'}, backoff = 0.05})\n"
         "assert(#page.results == 2 and page.results[1].id == 1, 'the retried result is right')\n"
         "assert(r.attempts == 2, r.attempts)\n"
         "assert(attempts('r503').count == 2)\n");
  ck_assert(logged_line_containing("-> HTTP 503, "));
  ck_assert(logged_line_containing("retrying in 0.05 s (attempt 2 of 4)"));
}
END_TEST

START_TEST(retry_after_is_honoured) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "local r = http.get(base .. '/echo',\n"
         "  {query = {fail = 429, times = 1, retry_after = 1, key = 'r429'}, backoff = 0.01})\n"
         "assert(r.status == 200 and r.attempts == 2)\n"
         "local t = attempts('r429').times\n"
         "assert(#t == 2 and t[2] - t[1] >= 1.0, 'waited ' .. (t[2] - t[1]) .. ' s')\n");
}
END_TEST

START_TEST(retry_after_zero_still_backs_off) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "local r = http.get(base .. '/echo',\n"
         "  {query = {fail = 429, times = 2, retry_after = 0, key = 'r429z'}, backoff = 0.2})\n"
         "assert(r.status == 200 and r.attempts == 3)\n"
         "local t = attempts('r429z').times\n"
         "assert(t[2] - t[1] >= 0.2, 'first wait ' .. (t[2] - t[1]))\n"
         "assert(t[3] - t[2] >= 0.4, 'second wait doubles: ' .. (t[3] - t[2]))\n");
}
END_TEST

START_TEST(persistent_500_fails_after_retries) {
  char expected[256];
  const char *msg = run_fails(
      "local base = ...\n"
      "require('http').get(base .. '/items?fail=500&key=r500',\n"
      "                    {retries = 3, backoff = 0.01})\n",
      LC_ERR_HTTP);
  snprintf(expected, sizeof expected,
           "GET %s/items?fail=500&key=r500: HTTP 500 Internal Server Error after 4 attempts: "
           "{\"error\": \"boom\"}",
           server.base_url);
  ck_assert_str_eq(msg, expected);
  run_ok("local base = ...\n" ATTEMPTS_LUA "assert(attempts('r500').count == 4)\n");
}
END_TEST

START_TEST(ok_list_hands_back_those_statuses_only) {
  run_ok(
      "local base = ...\n"
      "local http = require 'http'\n"
      "local r = http.request{url = base .. '/auth/bearer/items', ok = {401, 403}}\n"
      "assert(r.status == 401, r.status)\n"
      "assert(r.headers['www-authenticate'], 'the 401 response comes back whole')\n"
      "assert(http.request{url = base .. '/echo', ok = {401}}.status == 200)\n"
      "local ok, err = pcall(http.request, {url = base .. '/nowhere', ok = {401}})\n"
      "assert(not ok and err:find('HTTP 404'), 'a status not listed still raises: ' .. "
      "tostring(err))\n"
      "local bad, msg = pcall(http.request, {url = base .. '/echo', ok = {42}})\n"
      "assert(not bad and msg:find('list HTTP statuses'), msg)\n");
}
END_TEST

START_TEST(rate_limit_spaces_requests) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "http.configure{rate_limit = 10}\n"
         "for i = 1, 6 do http.get(base .. '/echo', {query = {key = 'rate10'}}) end\n"
         "local t = attempts('rate10').times\n"
         "assert(#t == 6)\n"
         /* The server stamps arrivals, which a loaded machine delays unevenly (one
          * gap of 0.079 s was seen): the whole span holds the five 0.1 s intervals,
          * and no gap comes near an unlimited client's ~1 ms. */
         "assert(t[6] - t[1] >= 0.47, 'span ' .. (t[6] - t[1]))\n"
         "for i = 2, 6 do assert(t[i] - t[i - 1] >= 0.06, 'gap ' .. (t[i] - t[i - 1])) end\n"
         "http.configure{rate_limit = 0}\n"
         "for i = 1, 5 do http.get(base .. '/echo', {query = {key = 'rate0'}}) end\n"
         "local u = attempts('rate0').times\n"
         "assert(u[5] - u[1] < 0.3, 'rate_limit = 0 turns the limit off: ' .. (u[5] - u[1]))\n");
}
END_TEST

START_TEST(rate_limit_never_sleeps_past_the_deadline) {
  teardown();
  open_sandbox(0.5);
  const char *msg = run_fails(
      "local base = ...\n"
      "local http = require 'http'\n"
      "http.configure{rate_limit = 0.5}\n"
      "http.get(base .. '/echo')\n"
      "http.get(base .. '/echo')\n",
      LC_ERR_TIME_LIMIT);
  ck_assert_ptr_nonnull(msg);
}
END_TEST

START_TEST(client_errors_are_not_retried) {
  char expected[256];
  const char *msg = run_fails(
      "local base = ...\n"
      "require('http').get(base .. '/nowhere', {query = {key = 'r404'}})\n",
      LC_ERR_HTTP);
  snprintf(
      expected, sizeof expected,
      "GET %s/nowhere?key=r404: HTTP 404 Not Found: {\"error\": \"no route for GET /nowhere\"}",
      server.base_url);
  ck_assert_str_eq(msg, expected);
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "assert(attempts('r404').count == 1, 'a 404 is final')\n"
         "local r = require('http').get(base .. '/nowhere', {ok = 'any'})\n"
         "assert(r.status == 404 and r.body:find('no route'), 'ok = \"any\" hands it back')\n");
}
END_TEST

START_TEST(connection_refused_is_a_clear_error) {
  /* A port that was just free and has no listener. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  close(fd);
  char lua[256], url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/items", ntohs(addr.sin_port));
  snprintf(lua, sizeof lua, "require('http').get('%s', {retries = 2, backoff = 0.01})", url);
  const char *msg = run_fails(lua, LC_ERR_HTTP);
  ck_assert_msg(strncmp(msg, "GET ", 4) == 0 && strstr(msg, url), "%s", msg);
  ck_assert_msg(strstr(msg, "Couldn't connect to server (after 3 attempts)"), "%s", msg);
}
END_TEST

START_TEST(malformed_json_names_the_url) {
  char expected[256];
  const char *msg = run_fails(
      "local base = ...\n"
      "require('http').get_json(base .. '/items', {query = {malformed = 1}})\n",
      LC_ERR_HTTP);
  snprintf(expected, sizeof expected,
           "GET %s/items?malformed=1: response is not valid JSON: "
           "unexpected end of data at character 19",
           server.base_url);
  ck_assert_str_eq(msg, expected);
}
END_TEST

START_TEST(slow_responses_time_out_and_retry) {
  double start = lc_now();
  const char *msg = run_fails(
      "local base = ...\n"
      "require('http').get(base .. '/echo?slow=3&key=slow1',\n"
      "                    {timeout = 0.3, retries = 0})\n",
      LC_ERR_HTTP);
  ck_assert_msg(strstr(msg, "timed out"), "%s", msg);
  ck_assert_double_lt(lc_now() - start, 1.5);
  run_ok(
      "local base = ...\n"
      "local r = require('http').get(base .. '/echo?slow=3&times=1&key=slow2',\n"
      "                              {timeout = 0.3, backoff = 0.01})\n"
      "assert(r.status == 200 and r.attempts == 2, 'the second attempt is fast')\n");
}
END_TEST

START_TEST(requests_stay_within_the_call_time_limit) {
  teardown();
  open_sandbox(1.0);
  double start = lc_now();
  run_fails(
      "local base = ...\n"
      "require('http').get(base .. '/echo?slow=5&key=budget', {timeout = 30})\n",
      LC_ERR_TIME_LIMIT);
  double elapsed = lc_now() - start;
  ck_assert_msg(elapsed >= 0.9 && elapsed < 2.0, "stopped after %.2f s", elapsed);
}
END_TEST

START_TEST(credentials_never_appear_in_errors_or_logs) {
  const char *token = "tok-5e1f9a77c2", *api_key = "key-8d3b0c6a41";
  char lua[1024];
  /* The API puts the credential into the URL, as some do; the header registered it. */
  snprintf(lua, sizeof lua,
           "local base = ...\n"
           "local http = require 'http'\n"
           "local ok, err = pcall(http.get, base .. '/echo?fail=401&key=%s',\n"
           "                      {headers = {Authorization = 'Bearer %s'}})\n"
           "assert(not ok)\n"
           "assert(not err:find('%s', 1, true), 'a caught error is redacted: ' .. err)\n"
           "assert(err:find('key=***', 1, true), err)\n"
           "http.configure{headers = {['X-Api-Key'] = '%s'}}\n"
           "http.get(base .. '/echo?fail=500&key=%s', {retries = 0})\n",
           token, token, token, api_key, api_key);
  const char *msg = run_fails(lua, LC_ERR_HTTP);
  ck_assert_msg(!strstr(msg, api_key) && strstr(msg, "key=***"), "%s", msg);
  ck_assert(logged.n > 0);
  for (int i = 0; i < logged.n; i++)
    ck_assert_msg(!strstr(logged.line[i], token) && !strstr(logged.line[i], api_key),
                  "log leaks: %s", logged.line[i]);
}
END_TEST

START_TEST(configure_sets_defaults_requests_override) {
  run_ok(
      "local base = ...\n"
      "local http = require 'http'\n"
      "http.configure{headers = {Accept = 'application/json', ['X-Team'] = 'data'}, retries = 0}\n"
      "local e = http.get_json(base .. '/echo', {headers = {accept = 'text/plain'}})\n"
      "assert(e.headers.accept == 'text/plain', 'request headers win: ' .. e.headers.accept)\n"
      "assert(e.headers['x-team'] == 'data')\n"
      "http.configure{headers = {['x-team'] = false}}\n"
      "e = http.get_json(base .. '/echo')\n"
      "assert(e.headers['x-team'] == nil and e.headers.accept == 'application/json')\n"
      "local ok, err = pcall(http.get, base .. '/echo?fail=503&key=cfg')\n"
      "assert(not ok and err:find('HTTP 503 Service Unavailable: '), 'retries = 0: ' .. err)\n"
      "ok, err = pcall(http.get, base .. '/echo', {tiemout = 1})\n"
      "assert(not ok and err:find(\"http.get: unknown option 'tiemout'\", 1, true), err)\n"
      "ok, err = pcall(http.get, 'file:///etc/passwd')\n"
      "assert(not ok and err:find('not supported', 1, true), 'only http(s): ' .. err)\n");
}
END_TEST

/* ---- several requests in flight (http.start) -------------------------------------- */

START_TEST(started_requests_overlap_and_are_taken_in_any_order) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http, json = require 'http', require 'json'\n"
         "local handles = {}\n"
         "for i = 1, 4 do\n"
         "  handles[i] = http.start{url = base .. '/echo',\n"
         "                          query = {key = 'multi1', slow = (5 - i) * 0.1, n = i}}\n"
         "end\n"
         "for i = 4, 1, -1 do\n"
         "  local r = handles[i]:wait()\n"
         "  assert(r.status == 200 and json.decode(r.body).query.n == tostring(i), i)\n"
         "end\n"
         "local seen = attempts('multi1')\n"
         "assert(seen.count == 4, seen.count)\n"
         "assert(seen.max_in_flight == 4, 'in flight together: ' .. seen.max_in_flight)\n"
         "local ok, err = pcall(handles[1].wait, handles[1])\n"
         "assert(not ok and err:find('already taken', 1, true), err)\n");
}
END_TEST

START_TEST(each_started_request_keeps_its_retry_policy) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "local limited = http.start{url = base .. '/echo',\n"
         "  query = {fail = 429, times = 1, retry_after = 1, key = 'mr429'}, backoff = 0.01}\n"
         "local failing = http.start{url = base .. '/echo',\n"
         "  query = {fail = 503, times = 1, key = 'mr503'}, backoff = 0.01}\n"
         "local broken = http.start{url = base .. '/echo',\n"
         "  query = {fail = 500, key = 'mr500'}, retries = 1, backoff = 0.01}\n"
         "assert(limited:wait().attempts == 2 and failing:wait().attempts == 2)\n"
         "local ok, err = pcall(broken.wait, broken)\n"
         "assert(not ok and err:find('HTTP 500 Internal Server Error after 2 attempts', 1, true),"
         " err)\n"
         "local t = attempts('mr429').times\n"
         "assert(#t == 2 and t[2] - t[1] >= 1.0, 'Retry-After obeyed: ' .. (t[2] - t[1]))\n"
         "assert(attempts('mr503').count == 2 and attempts('mr500').count == 2)\n");
}
END_TEST

/* Handles cancelled, collected and left in flight when the state closes: ASan's leak
 * check (the test runs under it) finds nothing, and later requests are unaffected. */
START_TEST(handles_freed_mid_flight_leak_nothing) {
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "local function slow() return http.start{url = base .. '/echo?slow=2&key=gc1'} end\n"
         "local cancelled, dropped, left = slow(), slow(), slow()\n"
         "local posted = http.start{method = 'POST', url = base .. '/echo?slow=2&key=gc1',\n"
         "  json = {a = 1}, headers = {['X-Token-Test'] = 'secret-value-123'}}\n"
         "cancelled:cancel()\n"
         "local ok, err = pcall(cancelled.wait, cancelled)\n"
         "assert(not ok and err:find('the request was cancelled', 1, true), err)\n"
         "dropped, posted = nil, nil\n"
         "collectgarbage(); collectgarbage()\n"
         "assert(http.get(base .. '/echo').status == 200)\n"
         "_G.left = left -- still in flight when the state closes\n");
}
END_TEST

START_TEST(time_limit_ends_a_wait_with_requests_in_flight) {
  teardown();
  open_sandbox(1.0);
  run_fails(
      "local base = ...\n"
      "local http = require 'http'\n"
      "local handles = {}\n"
      "for i = 1, 3 do handles[i] = http.start{url = base .. '/echo?slow=5&key=tl' .. i} end\n"
      "handles[2]:wait()\n",
      LC_ERR_TIME_LIMIT);
  /* The abandoned requests do not carry on into the next call. */
  run_ok("local base = ...\n" ATTEMPTS_LUA
         "local http = require 'http'\n"
         "assert(http.get(base .. '/echo?key=tl4').status == 200)\n"
         "assert(attempts('tl1').count == 1 and attempts('tl3').count == 1)\n");
}
END_TEST

/* Each 3 MB response fits the 14 MB cap on its own; four (distinct, kept) do not: the
 * bodies being received count with the heap, so the one that would overflow fails as a
 * request, with the cap named, instead of the state running out of memory. */
START_TEST(responses_in_flight_count_against_the_memory_cap_together) {
  teardown();
  open_sandbox_with_memory(14u << 20);
  run_ok(
      "local base = ...\n"
      "local http = require 'http'\n"
      "local big = string.rep('x', 3000000)\n"
      "local function echo(n) return http.start{method = 'POST', url = base .. '/echo',\n"
      "                                         query = {n = n}, body = big, retries = 0} end\n"
      "assert(#echo(0):wait().body > 3000000, 'one fits')\n"
      "collectgarbage(); collectgarbage()\n"
      "local handles, kept, failed = {echo(1), echo(2), echo(3), echo(4)}, {}, 0\n"
      "for i = 1, 4 do\n"
      "  local ok, r = pcall(handles[i].wait, handles[i])\n"
      "  if ok then kept[i] = r else\n"
      "    assert(r:find(\"response body exceeds the connector's memory limit\", 1, true), r)\n"
      "    failed = failed + 1\n"
      "  end\n"
      "end\n"
      "assert(failed >= 1, 'four 3 MB bodies exceed 14 MB together')\n");
}
END_TEST

int main(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("http");
  tcase_add_unchecked_fixture(tc, start_server, stop_server);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, get_sends_query_and_headers);
  tcase_add_test(tc, bodies_and_methods_round_trip);
  tcase_add_test(tc, retry_on_names_the_retried_statuses);
  tcase_add_test(tc, connections_are_kept_alive);
  tcase_add_test(tc, retries_503_then_succeeds);
  tcase_add_test(tc, retry_after_is_honoured);
  tcase_add_test(tc, retry_after_zero_still_backs_off);
  tcase_add_test(tc, persistent_500_fails_after_retries);
  tcase_add_test(tc, client_errors_are_not_retried);
  tcase_add_test(tc, ok_list_hands_back_those_statuses_only);
  tcase_add_test(tc, rate_limit_spaces_requests);
  tcase_add_test(tc, rate_limit_never_sleeps_past_the_deadline);
  tcase_add_test(tc, connection_refused_is_a_clear_error);
  tcase_add_test(tc, malformed_json_names_the_url);
  tcase_add_test(tc, slow_responses_time_out_and_retry);
  tcase_add_test(tc, requests_stay_within_the_call_time_limit);
  tcase_add_test(tc, credentials_never_appear_in_errors_or_logs);
  tcase_add_test(tc, configure_sets_defaults_requests_override);
  tcase_add_test(tc, started_requests_overlap_and_are_taken_in_any_order);
  tcase_add_test(tc, each_started_request_keeps_its_retry_policy);
  tcase_add_test(tc, handles_freed_mid_flight_leak_nothing);
  tcase_add_test(tc, time_limit_ends_a_wait_with_requests_in_flight);
  tcase_add_test(tc, responses_in_flight_count_against_the_memory_cap_together);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
