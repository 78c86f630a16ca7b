/* Shared helpers for the Check suites in tests/c. Header-only: each test is one file. */
#ifndef LC_TEST_H
#define LC_TEST_H

#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "luaconn.h"

/* The repository root (the Makefile exports LUACONN_SOURCE_DIR). */
static inline const char *lc_test_source_dir(void) {
  const char *dir = getenv("LUACONN_SOURCE_DIR");
  return dir ? dir : ".";
}

/* A runtime whose lua_root is the repository's lua/ directory. */
static inline lc_runtime *lc_test_runtime(const lc_config *base) {
  static char root[4096];
  snprintf(root, sizeof root, "%s/lua", lc_test_source_dir());
  lc_config cfg = {0};
  if (base) cfg = *base;
  if (!cfg.lua_root) cfg.lua_root = root;
  if (!cfg.search_path) cfg.search_path = "";
  lc_runtime *rt = NULL;
  ck_assert_int_eq(lc_runtime_new(&cfg, &rt), LC_OK);
  return rt;
}

/* The test HTTP server (tests/fixtures/api_server.py) on a free 127.0.0.1 port. */
typedef struct lc_test_server {
  pid_t pid;
  int port;
  char base_url[64];
} lc_test_server;

static inline void lc_test_server_start(lc_test_server *s, const char *extra_args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "exec python3 %s/tests/fixtures/api_server.py --port 0 %s",
           lc_test_source_dir(), extra_args ? extra_args : "");
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  s->pid = fork();
  ck_assert_int_ge(s->pid, 0);
  if (s->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  char line[256] = {0};
  ck_assert_msg(fgets(line, sizeof line, f) != NULL, "test server printed no port");
  fclose(f);
  /* The server prints "listening on http://127.0.0.1:PORT" once it accepts. */
  const char *colon = strrchr(line, ':');
  ck_assert_ptr_nonnull(colon);
  s->port = atoi(colon + 1);
  snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", s->port);
}

static inline void lc_test_server_stop(lc_test_server *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
}

/* Runs every suite given, returns a process exit status. */
static inline int lc_test_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
