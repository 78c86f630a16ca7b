/* The json, log and env host modules, as connector scripts see them, and the JSON
 * functions the runtime's C code uses. */
#include "lc_test.h"

#include "host/lc_host.h"

#define MAX_LINES 16

typedef struct captured_log {
  int n;
  int level[MAX_LINES];
  char connector[MAX_LINES][64];
  char line[MAX_LINES][256];
} captured_log;

static captured_log logged;
static lc_runtime *rt;
static lc_state *st;

static void capture(void *ctx, int level, const char *connector, const char *message) {
  captured_log *log = ctx;
  if (log->n == MAX_LINES) return;
  log->level[log->n] = level;
  snprintf(log->connector[log->n], sizeof log->connector[0], "%s", connector);
  snprintf(log->line[log->n], sizeof log->line[0], "%s", message);
  log->n++;
}

static void setup(void) {
  memset(&logged, 0, sizeof logged);
  lc_config cfg = {.log = capture, .log_ctx = &logged, .log_level = LC_LOG_INFO};
  rt = lc_test_runtime(&cfg);
  ck_assert_int_eq(lc_sandbox_open(rt, "hostmods", lc_host_modules, lc_host_n_modules, &st), LC_OK);
}

static void teardown(void) {
  lc_sandbox_close(st);
  lc_runtime_free(rt);
}

/* Runs a script in the sandbox; its first result stays on the stack. */
static int run(const char *lua) {
  ck_assert_int_eq(lc_sandbox_load(st, lua, strlen(lua), "=test"), LC_OK);
  return lc_sandbox_call(st, 0, 1);
}

static void run_ok(const char *lua) {
  int rc = run(lua);
  ck_assert_msg(rc == LC_OK, "script failed: %s", lc_runtime_error(rt)->message);
  lua_pop(st->L, 1);
}

/* Runs a script returning a string; returns a copy (static buffer). */
static const char *run_string(const char *lua) {
  static char out[1024];
  int rc = run(lua);
  ck_assert_msg(rc == LC_OK, "script failed: %s", lc_runtime_error(rt)->message);
  ck_assert_msg(lua_type(st->L, -1) == LUA_TSTRING, "script returned no string");
  snprintf(out, sizeof out, "%s", lua_tostring(st->L, -1));
  lua_pop(st->L, 1);
  return out;
}

/* ---- json ------------------------------------------------------------------------ */

START_TEST(json_null_differs_from_missing) {
  run_ok(
      "local json = require 'json'\n"
      "local t = json.decode('{\"a\": null, \"list\": [1, null, 3]}')\n"
      "assert(t.a == json.null, 'a is json.null')\n"
      "assert(t.b == nil, 'b is missing')\n"
      "assert(t.a ~= nil)\n"
      "assert(#t.list == 3 and t.list[2] == json.null, 'null keeps its array slot')\n"
      "assert(json.encode({a = json.null}) == '{\"a\":null}', json.encode({a = json.null}))\n"
      "assert(json.encode(json.null) == 'null')\n");
}
END_TEST

START_TEST(json_round_trips_unicode_escapes_and_numbers) {
  run_ok(
      "local json = require 'json'\n"
      "local doc = {\n"
      "  text = 'Zo\\195\\171 \\226\\156\\147 \\240\\159\\152\\128 \"q\" "
      "back\\\\slash\\n\\r\\t/\\1',\n"
      "  id = 1700000000123456, big = 2^53, neg = -9007199254740991,\n"
      "  tenth = 0.1, third = 1/3, tiny = -1.5e-300, int = 42, zero = 0,\n"
      "  list = {1, 'two', {three = true}, false}, empty = {},\n"
      "}\n"
      "local text = json.encode(doc)\n"
      "local back = json.decode(text)\n"
      "for k, v in pairs(doc) do\n"
      "  if type(v) ~= 'table' then assert(back[k] == v, k .. ' changed: ' .. tostring(back[k])) "
      "end\n"
      "end\n"
      "assert(back.list[2] == 'two' and back.list[3].three == true and back.list[4] == false)\n"
      "assert(json.encode(1700000000123456) == '1700000000123456', json.encode(1700000000123456))\n"
      "assert(json.encode(0.1) == '0.1', json.encode(0.1))\n"
      "assert(json.encode(1/3) == '0.3333333333333333', json.encode(1/3))\n"
      "assert(json.encode({1, 2.5, 'x'}) == '[1,2.5,\"x\"]')\n"
      "assert(json.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"') == '\\195\\169\\240\\159\\152\\128',\n"
      "       'unicode escapes, surrogate pairs')\n"
      "local sparse = json.decode(json.encode({[1] = 'a', [1000] = 'b'}))\n"
      "assert(sparse['1'] == 'a' and sparse['1000'] == 'b', 'sparse arrays become objects')\n");
}
END_TEST

START_TEST(json_numbers_round_trip_exactly) {
  run_ok(
      "local json = require 'json'\n"
      "for _, n in ipairs({0.1, 1/3, 2^53, 2^53 + 2, 2^63, 123456789012345, -1.5e-7, 1e300,\n"
      "                    5e-324, 1.7976931348623157e308, 9007199254740993}) do\n"
      "  local text = json.encode(n)\n"
      "  assert(json.decode(text) == n, text)\n"
      "  assert(json.decode(json.encode({n}))[1] == n, text)\n"
      "end\n"
      "assert(json.encode(2^53) == '9007199254740992', json.encode(2^53))\n"
      "assert(json.encode(-0.0) == '-0', json.encode(-0.0))\n");
}
END_TEST

START_TEST(json_encodes_what_data_holds_and_nothing_else) {
  /* A string shaped like the old wide-number placeholder is a string; holes are
   * nulls; an empty table is an object; json.null is null. */
  ck_assert_str_eq(run_string("return require('json').encode({s = '\\1lc-number:1abc'})"),
                   "{\"s\":\"\\u0001lc-number:1abc\"}");
  ck_assert_str_eq(run_string("return require('json').encode({1, nil, 3})"), "[1,null,3]");
  ck_assert_str_eq(run_string("return require('json').encode({{}, require('json').null})"),
                   "[{},null]");
  ck_assert_str_eq(run_string("return require('json').encode({a = '</x>'})"), "{\"a\":\"<\\/x>\"}");
}
END_TEST

START_TEST(json_errors_name_the_problem) {
  ck_assert_int_eq(run("return require('json').decode('{\"a\": [1, 2,, 3]}')"), LC_ERR_SCRIPT);
  ck_assert_str_eq(lc_runtime_error(rt)->message,
                   "invalid JSON: unexpected character, expected a JSON value at character 13");
  ck_assert_int_eq(run("return require('json').decode('')"), LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "invalid JSON: "));
  ck_assert_int_eq(run("return require('json').encode({f = print})"), LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "Cannot serialise function"));
  ck_assert_int_eq(run("return require('json').encode(0/0)"), LC_ERR_SCRIPT);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "NaN or Inf"));
}
END_TEST

START_TEST(json_c_functions) {
  lua_State *L = st->L;
  int top = lua_gettop(L);
  char err[256], *text = NULL;
  const char *doc = "{\"rows\": [{\"id\": 1700000000123456, \"name\": \"\\u00e9\"}], \"n\": null}";
  ck_assert_int_eq(lc_json_decode(L, doc, strlen(doc), err, sizeof err), LC_OK);
  ck_assert_int_eq(lua_gettop(L), top + 1);
  lua_getfield(L, -1, "rows");
  lua_rawgeti(L, -1, 1);
  lua_getfield(L, -1, "name");
  ck_assert_str_eq(lua_tostring(L, -1), "\xc3\xa9");
  lua_pop(L, 3);

  ck_assert_int_eq(lc_json_encode(L, -1, &text, err, sizeof err), LC_OK);
  /* Key order follows the Lua table; check the pieces. */
  ck_assert_ptr_nonnull(strstr(text, "\"n\":null"));
  ck_assert_ptr_nonnull(strstr(text, "\"id\":1700000000123456"));
  ck_assert_ptr_nonnull(strstr(text, "\"name\":\"\xc3\xa9\""));
  free(text);
  lua_pop(L, 1);

  ck_assert_int_eq(lc_json_decode(L, "[1, 2", 5, err, sizeof err), LC_ERR_VALUE);
  ck_assert_str_eq(err, "invalid JSON: unexpected end of data at character 6");
  lua_pushcfunction(L, lc_open_json);
  ck_assert_int_eq(lc_json_encode(L, -1, &text, err, sizeof err), LC_ERR_VALUE);
  ck_assert_ptr_null(text);
  ck_assert_ptr_nonnull(strstr(err, "Cannot serialise function"));
  lua_pop(L, 1);
  ck_assert_int_eq(lua_gettop(L), top);
}
END_TEST

/* ---- log --------------------------------------------------------------------------- */

START_TEST(log_formats_filters_and_redacts) {
  run_ok(
      "local log = require 'log'\n"
      "log.info('fetched %d rows from %s', 25, 'items')\n"
      "log.debug('not shown at INFO')\n"
      "log.secret('hunter2-pass')\n"
      "log.warn('login with hunter2-pass failed')\n"
      "log.error({page = 3})\n"
      "log.info('100%')\n");
  ck_assert_int_eq(logged.n, 4);
  ck_assert_int_eq(logged.level[0], LC_LOG_INFO);
  ck_assert_str_eq(logged.line[0], "fetched 25 rows from items");
  ck_assert_str_eq(logged.connector[0], "hostmods");
  ck_assert_int_eq(logged.level[1], LC_LOG_WARN);
  ck_assert_str_eq(logged.line[1], "login with *** failed");
  ck_assert_int_eq(logged.level[2], LC_LOG_ERROR);
  ck_assert_str_eq(logged.line[2], "{\"page\":3}");
  ck_assert_str_eq(logged.line[3], "100%");
}
END_TEST

START_TEST(log_secret_redacts_errors_too) {
  ck_assert_int_eq(run("local log = require 'log'\n"
                       "log.secret('tok-829fa0')\n"
                       "error('request with tok-829fa0 refused')\n"),
                   LC_ERR_SCRIPT);
  ck_assert_str_eq(lc_runtime_error(rt)->message, "request with *** refused");
}
END_TEST

/* ---- env --------------------------------------------------------------------------- */

START_TEST(env_get_returns_value_or_default) {
  setenv("LUACONN_TEST_ENV", "value-1", 1);
  unsetenv("LUACONN_TEST_MISSING");
  ck_assert_str_eq(run_string("local env = require 'env'\n"
                              "assert(env.get('LUACONN_TEST_MISSING') == nil)\n"
                              "assert(env.get('LUACONN_TEST_MISSING', 'dflt') == 'dflt')\n"
                              "return env.get('LUACONN_TEST_ENV', 'dflt')\n"),
                   "value-1");
}
END_TEST

/* ---- secrets ----------------------------------------------------------------------- */

static void secrets_file(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/lc_secretsXXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  setenv("LUACONN_SECRETS_FILE", path, 1);
}

START_TEST(secrets_come_from_the_operators_file_and_are_redacted) {
  secrets_file("{\"billing\": {\"token\": \"s3cr3t-json-value\"}}");
  ck_assert_str_eq(run_string("return require('secrets').get('billing', 'token')"),
                   "s3cr3t-json-value");
  ck_assert_int_eq(run("local v = require('secrets').get('billing', 'token')\n"
                       "error('server refused ' .. v)\n"),
                   LC_ERR_SCRIPT);
  ck_assert_str_eq(lc_runtime_error(rt)->message, "server refused ***");
  unlink(getenv("LUACONN_SECRETS_FILE"));

  secrets_file("# key=value lines\nbilling.token=s3cr3t-line-value\r\nother.x=y\n");
  ck_assert_str_eq(run_string("return require('secrets').get('billing', 'token')"),
                   "s3cr3t-line-value");
  run_ok("assert(require('secrets').get('billing', 'missing') == nil)");
  unlink(getenv("LUACONN_SECRETS_FILE"));
  unsetenv("LUACONN_SECRETS_FILE");
}
END_TEST

int main(void) {
  Suite *s = suite_create("hostmods");
  TCase *json = tcase_create("json");
  tcase_add_checked_fixture(json, setup, teardown);
  tcase_add_test(json, json_null_differs_from_missing);
  tcase_add_test(json, json_round_trips_unicode_escapes_and_numbers);
  tcase_add_test(json, json_numbers_round_trip_exactly);
  tcase_add_test(json, json_encodes_what_data_holds_and_nothing_else);
  tcase_add_test(json, json_errors_name_the_problem);
  tcase_add_test(json, json_c_functions);
  suite_add_tcase(s, json);
  TCase *log = tcase_create("log");
  tcase_add_checked_fixture(log, setup, teardown);
  tcase_add_test(log, log_formats_filters_and_redacts);
  tcase_add_test(log, log_secret_redacts_errors_too);
  suite_add_tcase(s, log);
  TCase *env = tcase_create("env");
  tcase_add_checked_fixture(env, setup, teardown);
  tcase_add_test(env, env_get_returns_value_or_default);
  suite_add_tcase(s, env);
  TCase *secrets = tcase_create("secrets");
  tcase_add_checked_fixture(secrets, setup, teardown);
  tcase_add_test(secrets, secrets_come_from_the_operators_file_and_are_redacted);
  suite_add_tcase(s, secrets);
  return lc_test_run(s);
}
