/* lc_sandbox.c: a sandboxed lua_State per connector. Libraries are opened by allow
 * list, memory is capped by the allocator, and every call into Lua runs under a
 * time budget and a traceback handler that records where the error was raised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>
#include <luajit.h>

#include "vm/lc_vm.h"

/* Head room the allocator grants after refusing, so the error can still be reported. */
#define MEMORY_RESERVE ((size_t)4 << 20)
/* Instructions between deadline checks: frequent enough to stop within
 * milliseconds, rare enough to cost nothing measurable. */
#define HOOK_INSTRUCTIONS 10000

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lc_state *st = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    st->mem_used -= old;
    return NULL;
  }
  if (nsize > old) {
    size_t limit = st->mem_refused ? st->mem_limit + MEMORY_RESERVE : st->mem_limit;
    if (st->mem_used + (nsize - old) > limit) {
      st->mem_refused = true;
      return NULL;
    }
  }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  st->mem_used = st->mem_used - old + nsize;
  return p;
}

static void deadline_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lc_state_check_deadline(L);
}

/* The configured cap as the user wrote it: "64 MiB", "1 KiB", "1000 bytes". */
static void describe_limit(size_t limit, char out[32]) {
  if (limit % (1u << 20) == 0)
    snprintf(out, 32, "%zu MiB", limit >> 20);
  else if (limit % 1024 == 0)
    snprintf(out, 32, "%zu KiB", limit >> 10);
  else
    snprintf(out, 32, "%zu bytes", limit);
}

/* ---- error location ------------------------------------------------------------ */

/* Finds the frame that raised msg: the Lua frame whose "short_src:line:" prefixes
 * the message (error(msg, 2) points at a caller), else the innermost Lua frame
 * outside the bundled helpers (an error(msg, 0) in luaconn.paginate belongs to the
 * connector line that called it), else the innermost one. Records its full chunk
 * name, which short_src may have truncated. */
static void locate_error(lua_State *L, const char *msg, lc_state *st) {
  lua_Debug ar;
  bool have_fallback = false, have_helper_fallback = false;
  st->err_source[0] = '\0';
  st->err_line = 0;
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    if (strncmp(ar.source, "=luaconn.", 9) == 0) continue; /* the sandbox's own chunks */
    char prefix[LUA_IDSIZE + 32];
    snprintf(prefix, sizeof prefix, "%s:%d:", ar.short_src, ar.currentline);
    bool matches = msg && strncmp(msg, prefix, strlen(prefix)) == 0;
    bool helper = lc_state_helper_chunk(ar.source);
    if (matches || !have_fallback || (have_helper_fallback && !helper)) {
      snprintf(st->err_source, sizeof st->err_source, "%s", ar.source);
      st->err_line = ar.currentline;
      have_helper_fallback = !matches && !have_fallback && helper;
      have_fallback = true;
    }
    if (matches) return;
  }
  /* The raising frame is gone (an error re-raised after pcall): trust the
   * "source:line:" the message starts with. */
  const char *colon = msg ? strchr(msg, ':') : NULL;
  char *end = NULL;
  long line = colon ? strtol(colon + 1, &end, 10) : 0;
  if (colon && end != colon + 1 && *end == ':' && line > 0 &&
      !memchr(msg, ' ', (size_t)(colon - msg))) {
    snprintf(st->err_source, sizeof st->err_source, "@%.*s", (int)(colon - msg), msg);
    st->err_line = (int)line;
  }
}

/* Message handler under every pcall: records the position, adds a traceback. */
static int traceback_handler(lua_State *L) {
  lc_state *st = lc_state_get(L);
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  locate_error(L, msg, st);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* "@path" → "path", "=name" → "name". */
static const char *display_source(const char *chunkname) {
  return (chunkname[0] == '@' || chunkname[0] == '=') ? chunkname + 1 : chunkname;
}

/* Strips the "short_src:line: " prefix the message repeats from script and line. */
static const char *strip_position(const char *msg, int line) {
  char tag[32];
  snprintf(tag, sizeof tag, ":%d: ", line);
  const char *hit = line > 0 ? strstr(msg, tag) : NULL;
  if (hit && !memchr(msg, '\n', (size_t)(hit - msg))) return hit + strlen(tag);
  return msg;
}

/* Turns the Lua error value on top of L's stack (or of co, when the error happened
 * in a coroutine) into rt->error; returns its lc_status. */
static int sandbox_error(lc_state *st, lua_State *co, int lua_status) {
  lua_State *L = co ? co : st->L;
  const char *raw = lua_tostring(L, -1);
  if (!raw) raw = "(error object is not a string)";
  int code = LC_ERR_SCRIPT;
  if (st->timed_out)
    code = LC_ERR_TIME_LIMIT;
  else if (st->mem_refused || lua_status == LUA_ERRMEM)
    code = LC_ERR_MEMORY_LIMIT;
  else if (lua_status == LUA_ERRSYNTAX)
    code = LC_ERR_SYNTAX;
  else if (st->pending_code)
    code = st->pending_code;

  char *traceback = NULL;
  if (lua_status == LUA_ERRRUN) {
    /* The handler put message + traceback in one string; keep the first line. */
    traceback = lc_state_redact(st, raw);
  } else if (lua_status != LUA_ERRSYNTAX) { /* lc_sandbox_load set the chunk name */
    st->err_source[0] = '\0';
    st->err_line = 0;
  }
  if (code == LC_ERR_MEMORY_LIMIT && !st->err_line) raw = "not enough memory";

  /* The first line is the message; the rest (if any) is the traceback. */
  const char *nl = strchr(raw, '\n');
  char *first = nl ? strndup(raw, (size_t)(nl - raw)) : strdup(raw);
  int line = st->err_line;
  const char *script = st->err_source[0] ? display_source(st->err_source) : NULL;
  if (lua_status == LUA_ERRSYNTAX && first) {
    /* Syntax errors come from the parser, not a frame: "chunk:LINE: ...". */
    const char *p = first;
    while ((p = strchr(p, ':'))) {
      char *end;
      long n = strtol(p + 1, &end, 10);
      if (end != p + 1 && *end == ':') {
        line = (int)n;
        break;
      }
      p++;
    }
  }
  char *message = lc_state_redact(st, first ? strip_position(first, line) : "out of memory");
  if (code == LC_ERR_MEMORY_LIMIT) {
    char buf[LC_ERRMSG_MAX], limit[32];
    describe_limit(st->mem_limit, limit);
    snprintf(buf, sizeof buf, "memory limit exceeded (%s): %s", limit, message ? message : "");
    free(message);
    message = strdup(buf);
  }
  lc_error_set_full(&st->rt->error, code, message, script, line, traceback);
  free(first);
  free(message);
  free(traceback);
  lua_pop(L, 1);
  return code;
}

/* ---- calls under the time budget ----------------------------------------------- */

static void arm(lc_state *st) {
  st->deadline = lc_now() + st->call_timeout;
  st->timed_out = false;
  st->mem_refused = false;
  st->pending_code = 0;
  st->final_error = false;
}

static void disarm(lc_state *st) { st->deadline = 0; }

int lc_sandbox_call(lc_state *st, int nargs, int nresults) {
  lua_State *L = st->L;
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback_handler);
  lua_insert(L, base);
  arm(st);
  int status = lua_pcall(L, nargs, nresults, base);
  disarm(st);
  lua_remove(L, base);
  if (status == 0) return LC_OK;
  return sandbox_error(st, NULL, status);
}

/* The body of every coroutine the runtime starts: xpcall keeps the stack intact
 * for the traceback handler, which a finished coroutine no longer has. */
static const char COROUTINE_BODY[] =
    "local xpcall = ...\n"
    "return function(handler, f, ...) return xpcall(f, handler, ...) end\n";

void lc_sandbox_push_coroutine(lc_state *st, lua_State *co) {
  lua_rawgeti(st->L, LUA_REGISTRYINDEX, st->registry_coroutine_body);
  lua_pushcfunction(st->L, traceback_handler);
  lua_xmove(st->L, co, 2);
}

int lc_sandbox_resume(lc_state *st, lua_State *co, int nargs) {
  arm(st);
  int status = lua_resume(co, nargs);
  disarm(st);
  if (status == LUA_YIELD) return LC_OK;
  if (status == 0 && lua_toboolean(co, 1)) {
    lua_remove(co, 1); /* xpcall's true: leave just the function's results */
    return LC_DONE;
  }
  if (status == 0) {
    /* xpcall caught the error: (false, message with traceback). Memory errors
     * skip the handler, so their position is unknown. */
    lua_settop(co, 2);
    int code = sandbox_error(st, co, st->mem_refused ? LUA_ERRMEM : LUA_ERRRUN);
    lua_settop(co, 0);
    return code;
  }
  return sandbox_error(st, co, status);
}

int lc_sandbox_protected(lc_state *st, lua_CFunction f, void *ud) {
  lua_pushcfunction(st->L, f);
  lua_pushlightuserdata(st->L, ud);
  return lc_sandbox_call(st, 1, 0);
}

/* ---- loading ------------------------------------------------------------------- */

int lc_sandbox_load(lc_state *st, const char *source, size_t len, const char *chunkname) {
  lua_State *L = st->L;
  st->mem_refused = false;
  int status = luaL_loadbufferx(L, source, len, chunkname, "t");
  if (status != 0) {
    snprintf(st->err_source, sizeof st->err_source, "%s", chunkname);
    if (len && source[0] == '\033') {
      lua_pop(L, 1);
      lua_pushstring(L, "bytecode is not allowed: connectors are loaded from Lua source only");
    }
    return sandbox_error(st, NULL, status);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, st->registry_env); /* new_env */
  if (lua_pcall(L, 0, 1, 0) != 0) return sandbox_error(st, NULL, LUA_ERRMEM);
  lua_setfenv(L, -2);
  return LC_OK;
}

/* fatal(message): false unless the current call was stopped by the time budget, the
 * memory cap or a final error; then the message to re-raise, so a script cannot
 * swallow such errors. An error raised in a message handler reaches xpcall as
 * "error in error handling", so the time limit's message is put back. */
static int sandbox_fatal(lua_State *L) {
  lc_state *st = lc_state_get(L);
  const char *msg = lua_tostring(L, 1);
  if (st->timed_out && !(msg && strstr(msg, "time limit exceeded"))) {
    lua_pushfstring(L, "time limit exceeded: the call ran longer than %s s",
                    lua_tostring(L, (lua_pushnumber(L, st->call_timeout), -1)));
    return 1;
  }
  if (st->timed_out || st->mem_refused || st->final_error)
    lua_pushvalue(L, 1);
  else
    lua_pushboolean(L, 0);
  return 1;
}

static int sandbox_forget_code(lua_State *L) {
  lc_state_get(L)->pending_code = 0;
  return 0;
}

/* os.sleep(seconds): waits without spinning; a wait past the call's time budget
 * raises the budget's error at once instead of sleeping into it. */
static int sandbox_sleep(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  if (!(seconds >= 0)) luaL_error(L, "os.sleep: seconds must be a number >= 0");
  lc_state_sleep(L, seconds);
  return 0;
}

static int sandbox_print(lua_State *L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lc_state_log(lc_state_get(L), LC_LOG_INFO, "%s", lua_tostring(L, -1));
  return 0;
}

/* Builds the allow-listed base environment from the full globals (which scripts
 * never see) and returns new_env(), which makes a fresh environment per chunk. */
static const char SANDBOX_PRELUDE[] =
    "local host = ...\n"
    "local G = _G\n"
    "local raw_pcall, raw_xpcall, raw_load, error = G.pcall, G.xpcall, G.load, G.error\n"
    "local fatal, forget = host.fatal, host.forget\n"
    "local function pass(ok, ...)\n"
    "  if not ok then\n"
    "    local final = fatal((...))\n"
    "    if final ~= false then error(final, 0) end\n"
    "    forget()\n"
    "  end\n"
    "  return ok, ...\n"
    "end\n"
    "local base = {}\n"
    "for _, k in G.ipairs{'assert','error','ipairs','next','pairs','rawequal','rawget',\n"
    "    'rawset','select','tonumber','tostring','type','unpack','setmetatable',\n"
    "    'getmetatable','_VERSION'} do base[k] = G[k] end\n"
    "base.string, base.table, base.math, base.bit = G.string, G.table, G.math, G.bit\n"
    "base.os = { time = G.os.time, clock = G.os.clock, date = G.os.date, difftime = G.os.difftime "
    "}\n"
    "base.pcall = function(f, ...) return pass(raw_pcall(f, ...)) end\n"
    /* A limit error is raised inside the count hook, and LuaJIT runs the message
     * handler before leaving the hook: hooks cannot fire there, so the script's
     * handler is skipped (it could loop forever or replace the message). */
    "base.xpcall = function(f, h, ...)\n"
    "  return pass(raw_xpcall(f, function(e) if fatal(e) ~= false then return e end return h(e) "
    "end, ...))\n"
    "end\n"
    "local co = {}\n"
    "for k, v in G.pairs(G.coroutine) do co[k] = v end\n"
    "local raw_resume = co.resume\n"
    "co.resume = function(c, ...) return pass(raw_resume(c, ...)) end\n"
    "base.coroutine = co\n"
    "base.os.sleep = host.sleep\n"
    "base.require, base.print = host.require, host.print\n"
    "base.collectgarbage = function(opt, ...)\n"
    "  if opt == nil or opt == 'collect' or opt == 'count' or opt == 'step' then\n"
    "    return G.collectgarbage(opt, ...) end\n"
    "  error(\"collectgarbage: option '\" .. G.tostring(opt) .. \"' is not allowed in a "
    "connector\", 2)\n"
    "end\n"
    "local env_meta = { __index = base, __metatable = false }\n"
    "local function new_env()\n"
    "  local env = G.setmetatable({}, env_meta)\n"
    "  env._G = env\n"
    "  return env\n"
    "end\n"
    /* A reader function runs here, in Lua, not inside lua_load: LuaJIT's lua_load
     * does not leave the count hook when an error raised in it unwinds, which would
     * switch the time budget off for the rest of the state's life. */
    "local function read_chunk(reader)\n"
    "  local parts = {}\n"
    "  while true do\n"
    "    local piece = reader()\n"
    "    if piece == nil or piece == '' then return G.table.concat(parts) end\n"
    "    if G.type(piece) ~= 'string' then return nil, 'reader function must return a string' end\n"
    "    parts[#parts + 1] = piece\n"
    "  end\n"
    "end\n"
    "local function load_text(chunk, name, env)\n"
    "  if G.type(chunk) == 'function' then\n"
    "    local text, err = read_chunk(chunk)\n"
    "    if not text then return nil, err end\n"
    "    chunk = text\n"
    "  end\n"
    "  if G.type(chunk) == 'string' and chunk:byte(1) == 27 then\n"
    "    return nil, 'bytecode is not allowed: load accepts Lua source only' end\n"
    "  local f, err = raw_load(chunk, name, 't', env or new_env())\n"
    "  if not f and fatal(err) ~= false then error(fatal(err), 0) end\n"
    "  return f, err\n"
    "end\n"
    "base.load = function(chunk, name, mode, env) return load_text(chunk, name, env) end\n"
    "base.loadstring = function(s, name) return load_text(s, name) end\n"
    "return new_env\n";

static int open_libraries(lua_State *L) {
  static const luaL_Reg libs[] = {{"", luaopen_base},
                                  {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_BITLIBNAME, luaopen_bit},
                                  {LUA_OSLIBNAME, luaopen_os}};
  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    lua_pushcfunction(L, libs[i].func);
    lua_pushstring(L, libs[i].name);
    lua_call(L, 1, 0);
  }
  /* string.dump would hand out bytecode; bytecode can escape the sandbox. */
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lc_pattern_install(L);
  lua_pop(L, 1);

  lc_state *st = lc_state_get(L);
  lua_newtable(L);
  st->registry_loaded = luaL_ref(L, LUA_REGISTRYINDEX);
  if (luaL_loadbuffer(L, SANDBOX_PRELUDE, sizeof SANDBOX_PRELUDE - 1, "=luaconn.sandbox") != 0)
    return lua_error(L);
  lua_newtable(L);
  lua_pushcfunction(L, sandbox_fatal);
  lua_setfield(L, -2, "fatal");
  lua_pushcfunction(L, sandbox_forget_code);
  lua_setfield(L, -2, "forget");
  lua_pushcfunction(L, lc_require);
  lua_setfield(L, -2, "require");
  lua_pushcfunction(L, sandbox_print);
  lua_setfield(L, -2, "print");
  lua_pushcfunction(L, sandbox_sleep);
  lua_setfield(L, -2, "sleep");
  lua_call(L, 1, 1);
  st->registry_env = luaL_ref(L, LUA_REGISTRYINDEX);
  if (luaL_loadbuffer(L, COROUTINE_BODY, sizeof COROUTINE_BODY - 1, "=luaconn.coroutine") != 0)
    return lua_error(L);
  lua_getglobal(L, "xpcall");
  lua_call(L, 1, 1);
  st->registry_coroutine_body = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int lc_sandbox_open(lc_runtime *rt, const char *name, const lc_module *modules, size_t n_modules,
                    lc_state **out) {
  *out = NULL;
  lc_state *st = calloc(1, sizeof *st);
  if (!st) return lc_error_set(&rt->error, LC_ERR_NOMEM, "out of memory creating a connector");
  st->rt = rt;
  st->mem_limit = rt->config.memory_limit;
  st->call_timeout = rt->config.call_timeout;
  st->name = strdup(name ? name : "connector");
  st->modules = modules;
  st->n_modules = n_modules;
  st->L = lua_newstate(capped_alloc, st);
  if (!st->L || !st->name) {
    bool refused = st->mem_refused;
    char limit[32];
    describe_limit(st->mem_limit, limit);
    lc_sandbox_close(st);
    if (refused)
      return lc_error_set(&rt->error, LC_ERR_MEMORY_LIMIT,
                          "memory limit exceeded (%s): too small to create a Lua state", limit);
    return lc_error_set(&rt->error, LC_ERR_NOMEM, "cannot create a Lua state");
  }
  /* JIT-compiled loops never run hooks, so the time budget needs the interpreter. */
  luaJIT_setmode(st->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  lua_sethook(st->L, deadline_hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
  lua_pushcfunction(st->L, open_libraries);
  int rc = lc_sandbox_call(st, 0, 0);
  if (rc != LC_OK) {
    lc_sandbox_close(st);
    return rc;
  }
  *out = st;
  return LC_OK;
}

void lc_sandbox_close(lc_state *st) {
  if (!st) return;
  if (st->L) lua_close(st->L);
  for (size_t i = 0; i < st->n_watched; i++) free(st->watched[i].path);
  free(st->watched);
  for (size_t i = 0; i < st->n_secrets; i++) free(st->secrets[i]);
  free(st->secrets);
  free(st->name);
  free(st);
}
