/* lc_runtime.c: creating and freeing a runtime; its configuration and last error. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vm/lc_vm.h"

#define DEFAULT_MEMORY_LIMIT ((size_t)256 << 20)
#define DEFAULT_CALL_TIMEOUT 120.0
#define DEFAULT_BATCH_ROWS 8192
#define DEFAULT_BATCH_BYTES ((int64_t)16 << 20)

void lc_free(void *p) { free(p); }

/* The installed scripts of the library (or program) this code is part of:
 * <its dir>/../share/luaconn/lua, as `make install` lays them out, when that
 * directory exists; else NULL. Found at run time, so an install moved elsewhere (or
 * staged under DESTDIR) still finds its own. */
static char *lc_runtime_installed_root(void) {
  Dl_info info;
  if (!dladdr((void *)lc_runtime_installed_root, &info) || !info.dli_fname) return NULL;
  char *self = realpath(info.dli_fname, NULL);
  char *slash = self ? strrchr(self, '/') : NULL;
  char *root = NULL;
  struct stat st;
  if (slash && (*slash = '\0', asprintf(&root, "%s/../share/luaconn/lua", self) < 0)) root = NULL;
  free(self);
  if (root && (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))) {
    free(root);
    root = NULL;
  }
  return root;
}

int lc_runtime_new(const lc_config *config, lc_runtime **out) {
  if (!out) return LC_ERR_ARGUMENT;
  *out = NULL;
  lc_runtime *rt = calloc(1, sizeof *rt);
  if (!rt) return LC_ERR_NOMEM;
  if (config) rt->config = *config;
  lc_config *c = &rt->config;
  if (!c->memory_limit) c->memory_limit = DEFAULT_MEMORY_LIMIT;
  if (c->call_timeout <= 0) c->call_timeout = DEFAULT_CALL_TIMEOUT;
  if (c->batch_rows <= 0) c->batch_rows = DEFAULT_BATCH_ROWS;
  if (c->batch_bytes <= 0) c->batch_bytes = DEFAULT_BATCH_BYTES;
  if (!c->log_level) c->log_level = LC_LOG_INFO;
  const char *search = c->search_path ? c->search_path : getenv("LUACONN_PATH");
  rt->search_path = strdup(search ? search : "");
  rt->lua_root = c->lua_root ? strdup(c->lua_root) : lc_runtime_installed_root();
  rt->http_record = c->http_record ? strdup(c->http_record) : NULL;
  rt->http_replay = c->http_replay ? strdup(c->http_replay) : NULL;
  if (!rt->search_path || (c->lua_root && !rt->lua_root) || (c->http_record && !rt->http_record) ||
      (c->http_replay && !rt->http_replay)) {
    lc_runtime_free(rt);
    return LC_ERR_NOMEM;
  }
  c->search_path = rt->search_path;
  c->lua_root = rt->lua_root;
  c->http_record = rt->http_record;
  c->http_replay = rt->http_replay;
  lc_error_clear(&rt->error);
  *out = rt;
  return LC_OK;
}

void lc_runtime_free(lc_runtime *rt) {
  if (!rt) return;
  lc_error_clear(&rt->error);
  free(rt->lua_root);
  free(rt->search_path);
  free(rt->http_record);
  free(rt->http_replay);
  free(rt);
}

const lc_error *lc_runtime_error(const lc_runtime *rt) { return rt ? &rt->error.pub : NULL; }
