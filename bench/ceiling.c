/* ceiling.c: the ceiling of a luaconn read, lua-cjson alone decoding the same page
 * bytes, in a Lua state set up as the runtime sets up a connector's (LuaJIT, a
 * malloc-backed allocator, the JIT off unless --jit), with every page already in memory.
 *
 * usage: ceiling FILELIST RESULTS_FIELD [--jit]   (FILELIST: one page path a line;
 *        RESULTS_FIELD "" when a page is the records array itself)
 * prints: rows seconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

extern int luaopen_cjson(lua_State *L);

typedef struct page {
  char *text; /* owned by the pages array */
  size_t len;
} page;

static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

/* The whole file at path, or exits. Caller frees page.text. */
static page read_page(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  page p = {NULL, (size_t)ftell(f)};
  fseek(f, 0, SEEK_SET);
  p.text = malloc(p.len);
  if (!p.text || fread(p.text, 1, p.len, f) != p.len) {
    perror(path);
    exit(1);
  }
  fclose(f);
  return p;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ceiling FILELIST RESULTS_FIELD [--jit]\n");
    return 2;
  }
  FILE *list = fopen(argv[1], "r");
  if (!list) {
    perror(argv[1]);
    return 1;
  }
  size_t count = 0, cap = 1024;
  page *pages = malloc(cap * sizeof *pages);
  char path[4096];
  while (fgets(path, sizeof path, list)) {
    path[strcspn(path, "\n")] = 0;
    if (!*path) continue;
    if (count == cap) pages = realloc(pages, (cap *= 2) * sizeof *pages);
    pages[count++] = read_page(path);
  }
  fclose(list);

  lua_State *L = lua_newstate(plain_alloc, NULL);
  luaL_openlibs(L);
  luaJIT_setmode(L, 0, (argc > 3 && !strcmp(argv[3], "--jit")) ? LUAJIT_MODE_ON : LUAJIT_MODE_OFF);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "decode");
  int decode = lua_gettop(L);
  const char *field = argv[2];

  long long rows = 0;
  double start = now(), elapsed;
  do { /* at least half a second of work, whole passes over the pages */
    for (size_t i = 0; i < count; i++) {
      lua_pushvalue(L, decode);
      lua_pushlstring(L, pages[i].text, pages[i].len);
      if (lua_pcall(L, 1, 1, 0) != 0) {
        fprintf(stderr, "page %zu: %s\n", i, lua_tostring(L, -1));
        return 1;
      }
      if (*field) lua_getfield(L, -1, field);
      rows += (long long)lua_objlen(L, -1);
      lua_settop(L, decode);
    }
    elapsed = now() - start;
  } while (elapsed < 0.5);
  printf("%lld %f\n", rows, elapsed);
  lua_close(L);
  for (size_t i = 0; i < count; i++) free(pages[i].text);
  free(pages);
  return 0;
}
