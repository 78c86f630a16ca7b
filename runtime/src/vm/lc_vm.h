/*
 * vm/lc_vm.h: sandboxed Lua states. A runtime's configuration (lc_runtime.c), the
 * context each lua_State carries (lc_state.c: memory, deadline, secrets, logging,
 * the files it was built from), creating and calling into a sandbox (lc_sandbox.c),
 * string patterns under the time budget (lc_pattern.c), require and the modules it
 * finds (lc_require.c), and JSON text <-> Lua values
 * (lc_codec.c). Knows no connector and no host module: the layer above hands it the
 * modules scripts may require. Includes only base.
 */
#ifndef LC_VM_H
#define LC_VM_H

#include <lauxlib.h>
#include <lua.h>

#include <yyjson.h>

#include "base/lc_base.h"

/* Lua 5.2's lua_absindex, which LuaJIT lacks. */
#define lc_absindex(L, i) ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)

/* ---- lc_runtime.c --------------------------------------------------------------------- */

struct lc_runtime {
  lc_config config; /* strings below are owned copies */
  char *lua_root;
  char *search_path;
  char *http_record;
  char *http_replay;
  lc_error_buf error;
};

/* ---- lc_require.c: modules a script can require --------------------------------------- */

/* A module implemented in C: open pushes its table. */
typedef struct lc_module {
  const char *name;
  lua_CFunction open;
} lc_module;

/* Called with a freshly opened C module's table on top of the stack, so a higher
 * layer can add functions to it (json.page, json.encode_rows) without the module
 * knowing that layer. */
typedef void (*lc_module_extend_fn)(lua_State *L, const char *module);

/* ---- lc_state.c: per-connector Lua state context ---------------------------------------- */

/* One per lua_State (one per connector). Reached from Lua with lc_state_get. */
typedef struct lc_state {
  lc_runtime *rt;
  lua_State *L;
  char *name; /* connector name for log lines; owned */
  size_t mem_used;
  size_t mem_limit;
  bool mem_refused;    /* the cap refused an allocation during this call */
  double deadline;     /* lc_now() value after which scripts are stopped; 0 = none */
  double call_timeout; /* seconds each call may take */
  bool timed_out;      /* the deadline stopped a script during this call */
  char **secrets;      /* values never to be shown in logs or errors; owned */
  size_t n_secrets;
  int pending_code;     /* lc_status a host function set before raising (e.g. LC_ERR_HTTP) */
  bool final_error;     /* an error of this call must not be caught (lc_state_raise_final) */
  char err_source[512]; /* where the last error was raised (chunk name), set by the */
  int err_line;         /* traceback handler */
  int registry_env;     /* registry refs held by lc_sandbox.c */
  int registry_loaded;
  int registry_coroutine_body;
  const lc_module *modules; /* what require finds before files; borrowed */
  size_t n_modules;
  lc_module_extend_fn extend; /* NULL = none */
  lc_file_sig *watched;       /* the script and every module it required; owned */
  size_t n_watched;
} lc_state;

/* True for a chunk of the bundled helpers (modules luaconn.*, "@.../luaconn/x.lua"):
 * errors raised inside them are placed at the connector's line that called them. */
bool lc_state_helper_chunk(const char *source);
/* Pushes "where: " for an error raised by the running C function: the innermost Lua
 * frame outside the helpers and the sandbox (luaL_where(L, 1) when there is none). */
void lc_state_where(lua_State *L);
lc_state *lc_state_get(lua_State *L);
double lc_now(void); /* monotonic seconds */
/* Seconds left before the deadline (a large number when there is none). */
double lc_state_time_left(const lc_state *st);
/* Raises a Lua error if the call's time budget is spent. Call it in long C loops. */
void lc_state_check_deadline(lua_State *L);
/* Sleeps up to seconds, but raises the time-limit error instead of sleeping past
 * the deadline. */
void lc_state_sleep(lua_State *L, double seconds);
/* Registers a value to redact (ignores NULL and values shorter than 4 bytes). */
void lc_state_add_secret(lc_state *st, const char *value, size_t len);
/* Returns a malloc'd copy of text with every secret replaced by "***". Caller frees. */
char *lc_state_redact(const lc_state *st, const char *text);
/* Logs through the runtime's callback; redacts. */
void lc_state_log(lc_state *st, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raises a Lua error carrying an lc_status code (e.g. LC_ERR_HTTP, LC_ERR_VALUE)
 * that the runtime reports instead of LC_ERR_SCRIPT unless the script catches it.
 * The message is redacted here: a script that catches it sees it first. */
int lc_state_raise(lua_State *L, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like lc_state_raise, but final for the call: the sandbox's pcall, xpcall and
 * coroutine.resume re-raise it, as they do the limits' errors (a row that failed
 * to convert must fail the read, not vanish). */
int lc_state_raise_final(lua_State *L, int code, const char *message);
/* Records path (whose content is data) as something st was built from. */
void lc_state_watch(lc_state *st, const char *path, const char *data, size_t len);
/* C state a Lua state holds lives in a full userdata whose __gc frees it, so
 * lua_close frees it with everything else. This one is the state's single instance
 * for key, zero-filled and created on first use with gc as its finalizer; raises
 * when out of memory. */
void *lc_state_singleton(lua_State *L, const void *key, size_t size, lua_CFunction gc);

/* ---- lc_sandbox.c: creating and calling into a sandboxed state ------------------------- */

/* Creates a capped, sandboxed lua_State whose require finds modules (borrowed: they
 * must outlive the state). On success *out is owned by the caller (lc_sandbox_close). */
int lc_sandbox_open(lc_runtime *rt, const char *name, const lc_module *modules, size_t n_modules,
                    lc_state **out);
void lc_sandbox_close(lc_state *st);
/* Loads text-only Lua source into the sandbox environment and leaves the chunk on
 * the stack. chunkname follows lua_load conventions ("@path" or "=name"). */
int lc_sandbox_load(lc_state *st, const char *source, size_t len, const char *chunkname);
/* Calls the function below nargs arguments with the time budget armed and a
 * traceback handler; on error fills rt->error (script, line, traceback, redacted)
 * and returns its code, leaving nothing on the stack for the call. */
int lc_sandbox_call(lc_state *st, int nargs, int nresults);
/* Runs f(L) with ud as its only argument under lc_sandbox_call. */
int lc_sandbox_protected(lc_state *st, lua_CFunction f, void *ud);
/* Pushes the coroutine body and traceback handler onto co; push the function and
 * its arguments after them, then lc_sandbox_resume with nargs counting those. */
void lc_sandbox_push_coroutine(lc_state *st, lua_State *co);
/* Resumes coroutine co (nargs values on co's stack) with the time budget armed.
 * Returns LC_OK when it yielded, LC_DONE when it finished, or an error code with
 * rt->error filled. */
int lc_sandbox_resume(lc_state *st, lua_State *co, int nargs);

/* ---- lc_pattern.c ---------------------------------------------------------------------- */

/* Sets find, match, gmatch and gsub in the table on top (the string library) to
 * versions whose matcher checks the call's deadline as it backtracks. */
void lc_pattern_install(lua_State *L);

/* ---- lc_require.c ---------------------------------------------------------------------- */

/* require(name): a C module of the state's list (extended by st->extend), else
 * "a/b.lua" for "a.b" in the search path, then lua_root. */
int lc_require(lua_State *L);

/* ---- lc_codec.c: JSON text <-> Lua values (yyjson) ---------------------------------------- */

/* Encode the value at idx into a malloc'd string (caller frees); decode text and
 * push the value. Both return LC_OK or set an error message in err. */
int lc_json_encode(lua_State *L, int idx, char **out, char *err, size_t errlen);
int lc_json_decode(lua_State *L, const char *text, size_t len, char *err, size_t errlen);
/* yyjson's memory from L's allocator, so the state's memory cap counts it. */
yyjson_alc lc_json_allocator(lua_State *L);
/* Pushes v (read with YYJSON_READ_NUMBER_AS_RAW) as json.decode would, the array skip
 * as an empty table (NULL: none); false, with nothing pushed, when v nests too deep. */
bool lc_json_push_value(lua_State *L, yyjson_val *v, yyjson_val *skip);
/* n as json.encode prints it: 14 significant digits, or the shortest exact text
 * when 14 would change it. n must be finite. */
void lc_json_number_text(double n, char out[32]);
/* How json.encode (and json.encode_rows, which must match it) writes text: '/'
 * escaped as lua-cjson did before it, strings byte for byte. */
#define LC_JSON_WRITE_FLAGS (YYJSON_WRITE_ESCAPE_SLASHES | YYJSON_WRITE_ALLOW_INVALID_UNICODE)
int lc_json_lua_encode(lua_State *L); /* json.encode: encodes value 1 or raises */
int lc_json_lua_decode(lua_State *L); /* json.decode: decodes string 1 or raises */
void lc_json_push_null(lua_State *L); /* json.null */
/* "<what>: response is not valid JSON: <reason>", raised with LC_ERR_HTTP: what
 * every reader of an HTTP body says when the body does not parse. */
int lc_json_raise_invalid(lua_State *L, const char *what, const char *reason);

#endif /* LC_VM_H */
