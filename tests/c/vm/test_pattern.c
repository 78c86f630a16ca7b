/* string.find/match/gmatch/gsub under the time budget (vm/lc_pattern.c) give what
 * LuaJIT's own functions give, and a catastrophic pattern stops at the deadline. */
#include <lualib.h>

#include "lc_test.h"
#include "vm/lc_vm.h"

/* Every case's results (or error), one line each: run in a plain LuaJIT state and
 * in a sandbox state, the texts must be equal. */
static const char CASES[] =
    "local out = {}\n"
    "local function add(ok, ...)\n"
    "  local t = {tostring(ok)}\n"
    "  for i = 1, select('#', ...) do t[#t + 1] = tostring((select(i, ...))) end\n"
    "  out[#out + 1] = table.concat(t, ',')\n"
    "end\n"
    "local function all(f, ...) local r = {} for a, b in f(...) do r[#r + 1] = tostring(a) .. '=' "
    ".. tostring(b) end return table.concat(r, ';') end\n"
    "local s = 'The (quick) brown fox, 42 jumps; over [the] lazy dog %d \\0 end'\n"
    "for _, p in ipairs{'o', 'o w', '(o)(%s)', '^The', 'dog$', '%d+', '%a-', '%a*', '%a+', "
    "'(%a+)%s*',\n"
    "    '%b()', '%b[]', '%f[%a]%a+', '%f[%d]', '[%w_]+', '[^%s]+', '[a-f]', '%%d', '(h)(.-)()', "
    "'()',\n"
    "    '%u%l+', '%p', '%c', '%x+', '%z', '%g+', '(%a)%1', '.-%s', 'x*', '[]]', '[%]]', '%S+$',\n"
    "    '%', '[a', '(()', '%1', '%b', '%f', '(', ')'} do\n"
    "  add(pcall(string.find, s, p)) add(pcall(string.find, s, p, 10)) add(pcall(string.find, s, "
    "p, -8))\n"
    "  add(pcall(string.match, s, p)) add(pcall(string.find, s, p, 1, true))\n"
    "  add(pcall(all, string.gmatch, s, p))\n"
    "  add(pcall(string.gsub, s, p, '<%0>')) add(pcall(string.gsub, s, p, '%1', 2))\n"
    "  add(pcall(string.gsub, s, p, {The = 'A', o = false}))\n"
    "  add(pcall(string.gsub, s, p, function(c) return c and #c > 2 and c:upper() end))\n"
    "end\n"
    "add(pcall(string.gsub, 'abc', '', '-')) add(pcall(string.gsub, 'abc', 'b', 7))\n"
    "add(pcall(string.gsub, 'abc', 'b', true)) add(pcall(string.gsub, 'abc', '%w', '%2'))\n"
    "add(pcall(string.find, 'abc', 'b', 10)) add(pcall(string.find, '', ''))\n"
    "return table.concat(out, '\\n')\n";

static char *run_cases(lua_State *L) {
  ck_assert_int_eq(luaL_loadstring(L, CASES), 0);
  ck_assert_msg(lua_pcall(L, 0, 1, 0) == 0, "%s", lua_tostring(L, -1));
  char *text = strdup(lua_tostring(L, -1));
  lua_pop(L, 1);
  return text;
}

START_TEST(patterns_match_as_luajit_does) {
  lua_State *plain = luaL_newstate();
  luaL_openlibs(plain);
  char *expected = run_cases(plain);
  lua_close(plain);

  lc_runtime *rt = lc_test_runtime(NULL);
  lc_state *st = NULL;
  ck_assert_int_eq(lc_sandbox_open(rt, "patterns", NULL, 0, &st), LC_OK);
  char *got = run_cases(st->L);
  ck_assert_str_eq(got, expected);
  free(got);
  free(expected);
  lc_sandbox_close(st);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(a_catastrophic_pattern_stops_at_the_deadline) {
  lc_config cfg = {.call_timeout = 0.5};
  lc_runtime *rt = lc_test_runtime(&cfg);
  lc_connector *conn = NULL;
  ck_assert_int_eq(
      lc_connector_open(rt, LC_SOURCE_INLINE,
                        "return { schema = 'x INT', read = function(o, p, emit)\n"
                        "  local s = ('a'):rep(30)\n"
                        "  emit{x = s:find(('a?'):rep(30) .. ('a'):rep(30) .. 'b') or 0}\n"
                        "end }\n",
                        NULL, 0, &conn),
      LC_OK);
  double started = lc_now();
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  ck_assert_int_eq(lc_read_next(conn, &s, &a), LC_ERR_TIME_LIMIT);
  ck_assert_double_lt(lc_now() - started, 2.0);
  ck_assert_ptr_nonnull(strstr(lc_runtime_error(rt)->message, "time limit exceeded"));
  lc_connector_free(conn);
  lc_runtime_free(rt);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pattern");
  TCase *tc = tcase_create("pattern");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, patterns_match_as_luajit_does);
  tcase_add_test(tc, a_catastrophic_pattern_stops_at_the_deadline);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
