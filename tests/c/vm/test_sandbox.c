/* The sandbox: what scripts cannot reach, and the limits that stop them. */
#include "lc_test.h"
#include "vm/lc_vm.h"

/* Opens an inline connector whose read runs body; returns the status of reading it
 * to the end and leaves the runtime's error for inspection. */
static int run_read(lc_runtime *rt, const char *body) {
  char script[4096];
  snprintf(script, sizeof script,
           "local C = { schema = 'id INT' }\n"
           "function C.read(opts, partition, emit)\n%s\nend\n"
           "return C\n",
           body);
  lc_connector *conn = NULL;
  int rc = lc_connector_open(rt, LC_SOURCE_INLINE, script, NULL, 0, &conn);
  if (rc != LC_OK) return rc;
  rc = lc_read_begin(conn, NULL);
  while (rc == LC_OK) {
    struct ArrowSchema s;
    struct ArrowArray a;
    rc = lc_read_next(conn, &s, &a);
    if (rc == LC_OK) {
      s.release(&s);
      a.release(&a);
    }
  }
  lc_connector_free(conn);
  return rc == LC_DONE ? LC_OK : rc;
}

static void assert_error_mentions(lc_runtime *rt, const char *needle) {
  const lc_error *e = lc_runtime_error(rt);
  ck_assert_msg(strstr(e->message, needle) != NULL, "error '%s' does not mention '%s'", e->message,
                needle);
}

START_TEST(forbidden_libraries_are_absent) {
  lc_runtime *rt = lc_test_runtime(NULL);
  ck_assert_int_eq(run_read(rt, "require 'ffi'"), LC_ERR_SCRIPT);
  assert_error_mentions(rt, "module 'ffi' not found");
  ck_assert_int_eq(run_read(rt, "require 'debug'"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "io.open('/etc/passwd')"), LC_ERR_SCRIPT);
  assert_error_mentions(rt, "io");
  ck_assert_int_eq(run_read(rt, "os.execute('true')"), LC_ERR_SCRIPT);
  assert_error_mentions(rt, "execute");
  ck_assert_int_eq(run_read(rt, "os.getenv('HOME')"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "string.dump(print)"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "getfenv(1)"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "package.loadlib('libc.so.6', 'system')"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "loadfile('/etc/passwd')"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "require 'jit'"), LC_ERR_SCRIPT);
  ck_assert_int_eq(run_read(rt, "collectgarbage('stop')"), LC_ERR_SCRIPT);
  /* The real globals stay out of reach. */
  ck_assert_int_eq(run_read(rt, "assert(getmetatable(_G) == false)"), LC_OK);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(bytecode_is_refused) {
  lc_runtime *rt = lc_test_runtime(NULL);
  /* A binary chunk header: load must refuse it in text-only mode. */
  ck_assert_int_eq(run_read(rt, "local f, err = load('\\27LJ\\2\\0\\0') assert(f, err)"),
                   LC_ERR_SCRIPT);
  assert_error_mentions(rt, "bytecode is not allowed");
  ck_assert_int_eq(run_read(rt, "local f, err = loadstring('\\27LJ\\2') assert(f, err)"),
                   LC_ERR_SCRIPT);
  /* Text chunks still load, into a sandboxed environment. */
  ck_assert_int_eq(run_read(rt, "assert(load('return io')() == nil)"), LC_OK);
  /* A bytecode connector file is refused too. */
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_INLINE, "\033LJ\002\000junk", NULL, 0, &conn),
                   LC_ERR_SYNTAX);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(memory_cap_stops_unbounded_allocation) {
  lc_config cfg = {0};
  cfg.memory_limit = 32u << 20;
  lc_runtime *rt = lc_test_runtime(&cfg);
  ck_assert_int_eq(run_read(rt,
                            "local t = {} local i = 0\n"
                            "while true do i = i + 1 t[i] = ('x'):rep(64) .. i end"),
                   LC_ERR_MEMORY_LIMIT);
  assert_error_mentions(rt, "memory limit exceeded (32 MiB)");
  /* pcall cannot swallow it. */
  ck_assert_int_eq(
      run_read(rt,
               "local t = {}\n"
               "for j = 1, 100 do pcall(function() local i = 0\n"
               "  while true do i = i + 1 t[#t + 1] = ('y'):rep(64) .. i end end) end"),
      LC_ERR_MEMORY_LIMIT);
  /* The runtime keeps working afterwards. */
  ck_assert_int_eq(run_read(rt, "emit{id = 1}"), LC_OK);
  lc_runtime_free(rt);
}
END_TEST

/* Allocates *ud bytes in one piece (a userdata) inside the sandbox. */
static int allocate(lua_State *L) {
  lua_newuserdata(L, *(size_t *)lua_touserdata(L, 1));
  return 0;
}

/* The cap is the configured size: an allocation 64 KiB short of it succeeds, one
 * 64 KiB past it fails, naming the limit as configured. */
START_TEST(memory_cap_is_the_configured_size) {
  const size_t limit = 24u << 20, margin = 64u << 10;
  lc_config cfg = {.memory_limit = limit};
  lc_runtime *rt = lc_test_runtime(&cfg);
  lc_state *st = NULL;
  ck_assert_int_eq(lc_sandbox_open(rt, "cap", NULL, 0, &st), LC_OK);
  lua_gc(st->L, LUA_GCCOLLECT, 0);
  size_t under = limit - st->mem_used - margin;
  ck_assert_int_eq(lc_sandbox_protected(st, allocate, &under), LC_OK);
  lua_gc(st->L, LUA_GCCOLLECT, 0);
  size_t over = limit - st->mem_used + margin;
  ck_assert_int_eq(lc_sandbox_protected(st, allocate, &over), LC_ERR_MEMORY_LIMIT);
  assert_error_mentions(rt, "memory limit exceeded (24 MiB)");
  lc_sandbox_close(st);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(time_budget_stops_runaway_loops) {
  lc_config cfg = {0};
  cfg.call_timeout = 0.5;
  lc_runtime *rt = lc_test_runtime(&cfg);
  ck_assert_int_eq(run_read(rt, "while true do end"), LC_ERR_TIME_LIMIT);
  assert_error_mentions(rt, "time limit exceeded");
  ck_assert_ptr_nonnull(lc_runtime_error(rt)->script);
  ck_assert_int_eq(lc_runtime_error(rt)->line, 3); /* the loop's line in run_read's script */
  /* Numeric for loops are what the JIT would compile into an uninterruptible trace. */
  ck_assert_int_eq(run_read(rt, "local x = 0 for i = 1, 1e12 do x = x + i end"), LC_ERR_TIME_LIMIT);
  /* pcall cannot swallow the time limit. */
  ck_assert_int_eq(run_read(rt, "while true do pcall(function() while true do end end) end"),
                   LC_ERR_TIME_LIMIT);
  ck_assert_int_eq(run_read(rt, "emit{id = 2}"), LC_OK);
  lc_runtime_free(rt);
}
END_TEST

START_TEST(connectors_do_not_share_globals) {
  lc_runtime *rt = lc_test_runtime(NULL);
  ck_assert_int_eq(run_read(rt, "leaked = 42"), LC_OK);
  ck_assert_int_eq(run_read(rt, "assert(leaked == nil, 'global leaked between connectors')"),
                   LC_OK);
  lc_runtime_free(rt);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sandbox");
  TCase *tc = tcase_create("sandbox");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, forbidden_libraries_are_absent);
  tcase_add_test(tc, bytecode_is_refused);
  tcase_add_test(tc, memory_cap_stops_unbounded_allocation);
  tcase_add_test(tc, memory_cap_is_the_configured_size);
  tcase_add_test(tc, time_budget_stops_runaway_loops);
  tcase_add_test(tc, connectors_do_not_share_globals);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
