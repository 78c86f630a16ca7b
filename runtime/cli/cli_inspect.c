/* cli_inspect.c: luaconn check and luaconn list. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_cmd_check(cli_context *ctx) {
  char *summary = NULL;
  if (lc_connector_check(ctx->rt, LC_SOURCE_AUTO, ctx->target, &summary) != LC_OK) {
    return cli_fail_runtime(ctx);
  }
  printf("ok: %s\n%s\n", ctx->target, summary);
  lc_free(summary);
  return cli_flush_stdout(ctx) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

typedef struct cli_names {
  char **names; /* owned strings */
  size_t n, cap;
} cli_names;

static int cli_names_has(const cli_names *set, const char *name) {
  for (size_t i = 0; i < set->n; i++) {
    if (strcmp(set->names[i], name) == 0) return 1;
  }
  return 0;
}

static void cli_names_add(cli_names *set, const char *name, size_t len) {
  if (set->n == set->cap) {
    set->cap = set->cap ? set->cap * 2 : 16;
    set->names = realloc(set->names, set->cap * sizeof *set->names);
  }
  char *copy = set->names ? strndup(name, len) : NULL;
  if (!copy) {
    fputs("luaconn: out of memory\n", stderr);
    exit(1);
  }
  set->names[set->n++] = copy;
}

static void cli_names_free(cli_names *set) {
  for (size_t i = 0; i < set->n; i++) free(set->names[i]);
  free(set->names);
  *set = (cli_names){0};
}

static int cli_name_order(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints "name<TAB>path" for each NAME.lua in dir not already in seen, sorted. */
static void cli_list_dir(const char *dir, cli_names *seen) {
  DIR *d = opendir(dir);
  if (!d) return;
  cli_names here = {0};
  struct dirent *entry;
  while ((entry = readdir(d))) {
    size_t len = strlen(entry->d_name);
    if (entry->d_name[0] == '.' || len <= 4 || strcmp(entry->d_name + len - 4, ".lua")) continue;
    cli_names_add(&here, entry->d_name, len - 4);
  }
  closedir(d);
  if (here.n) qsort(here.names, here.n, sizeof *here.names, cli_name_order);
  for (size_t i = 0; i < here.n; i++) {
    if (cli_names_has(seen, here.names[i])) continue;
    printf("%s\t%s/%s.lua\n", here.names[i], dir, here.names[i]);
    cli_names_add(seen, here.names[i], strlen(here.names[i]));
  }
  cli_names_free(&here);
}

int cli_cmd_list(cli_context *ctx) {
  cli_names seen = {0};
  const char *path = getenv("LUACONN_PATH");
  char *dirs = strdup(path ? path : "");
  if (!dirs) return cli_fail(ctx, "out of memory");
  char *save = NULL;
  for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    cli_list_dir(dir, &seen);
  }
  free(dirs);
  if (ctx->lua_root) {
    char connectors[4096];
    snprintf(connectors, sizeof connectors, "%s/connectors", ctx->lua_root);
    cli_list_dir(connectors, &seen);
  }
  if (!seen.n && !ctx->quiet) {
    fputs("luaconn: no connectors found (set LUACONN_PATH or LUACONN_LUA_ROOT)\n", stderr);
  }
  cli_names_free(&seen);
  return cli_flush_stdout(ctx) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
