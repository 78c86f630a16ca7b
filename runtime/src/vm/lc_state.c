/* lc_state.c: the context each connector's lua_State carries: memory accounting,
 * the per-call deadline, the secrets to redact, logging, the files the state was
 * built from, and the C state it holds. */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/lc_vm.h"

/* The state is the allocator's userdata, so finding it costs no table lookup. */
lc_state *lc_state_get(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return ud;
}

double lc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double lc_state_time_left(const lc_state *st) {
  if (st->deadline <= 0) return 1e9;
  return st->deadline - lc_now();
}

static void raise_time_limit(lua_State *L, lc_state *st) {
  st->timed_out = true;
  luaL_error(L, "time limit exceeded: the call ran longer than %g s", st->call_timeout);
}

void lc_state_check_deadline(lua_State *L) {
  lc_state *st = lc_state_get(L);
  if (lc_state_time_left(st) <= 0) raise_time_limit(L, st);
}

void lc_state_sleep(lua_State *L, double seconds) {
  lc_state *st = lc_state_get(L);
  if (seconds > lc_state_time_left(st)) raise_time_limit(L, st);
  if (seconds <= 0) return;
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void add_secret_form(lc_state *st, const char *value, size_t len) {
  for (size_t i = 0; i < st->n_secrets; i++)
    if (strlen(st->secrets[i]) == len && memcmp(st->secrets[i], value, len) == 0) return;
  char **grown = realloc(st->secrets, (st->n_secrets + 1) * sizeof *grown);
  if (!grown) return;
  st->secrets = grown;
  char *copy = strndup(value, len);
  if (copy) st->secrets[st->n_secrets++] = copy;
}

/* value as a URL query carries it: curl_easy_escape's (and auth.lua's) %XX for every
 * byte but the unreserved ones. Returns the length written to out (3 * len + 1). */
static size_t url_encoded(const char *value, size_t len, char *out) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if (isalnum(c) || strchr("-._~", c))
      out[n++] = (char)c;
    else
      n += (size_t)sprintf(out + n, "%%%02X", c);
  }
  out[n] = '\0';
  return n;
}

/* value inside JSON text as json.encode writes it ("/" as "\/", controls as \u00XX).
 * Returns the length written to out (6 * len + 1). */
static size_t json_escaped(const char *value, size_t len, char *out) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    const char *short_form = c == '"'    ? "\\\""
                             : c == '\\' ? "\\\\"
                             : c == '/'  ? "\\/"
                             : c == '\n' ? "\\n"
                             : c == '\r' ? "\\r"
                             : c == '\t' ? "\\t"
                             : c == '\b' ? "\\b"
                             : c == '\f' ? "\\f"
                                         : NULL;
    if (short_form)
      n += (size_t)sprintf(out + n, "%s", short_form);
    else if (c < 0x20)
      n += (size_t)sprintf(out + n, "\\u%04X", c);
    else
      out[n++] = (char)c;
  }
  out[n] = '\0';
  return n;
}

void lc_state_add_secret(lc_state *st, const char *value, size_t len) {
  /* Very short values would redact ordinary text everywhere. */
  if (!value || len < 4) return;
  add_secret_form(st, value, len);
  /* The forms the value takes on its way out are the same secret. */
  char *form = malloc(6 * len + 1);
  if (!form) return;
  size_t n = url_encoded(value, len, form);
  if (n != len) add_secret_form(st, form, n);
  n = json_escaped(value, len, form);
  if (n != len) add_secret_form(st, form, n);
  free(form);
}

/* Replaces every occurrence of needle in text (malloc'd, freed here) by "***",
 * in any ASCII case: a script's string.upper/lower of a secret is the same secret. */
static char *redact_one(char *text, const char *needle) {
  size_t nlen = strlen(needle), count = 0;
  for (const char *p = text; (p = strcasestr(p, needle)); p += nlen) count++;
  if (!count) return text;
  size_t len = strlen(text);
  char *out = malloc(len - count * nlen + count * 3 + 1);
  if (!out) {
    /* Cannot redact: hide the whole text rather than leak a secret. */
    free(text);
    return strdup("(message hidden: it contained a secret)");
  }
  char *w = out;
  const char *r = text, *hit;
  while ((hit = strcasestr(r, needle))) {
    memcpy(w, r, (size_t)(hit - r));
    w += hit - r;
    memcpy(w, "***", 3);
    w += 3;
    r = hit + nlen;
  }
  strcpy(w, r);
  free(text);
  return out;
}

/* Hides the password of every "scheme://user:password@host" in text (malloc'd,
 * freed here): a URL's userinfo is a credential whether or not it was registered. */
static char *redact_userinfo(char *text) {
  for (char *p = text; text && (p = strstr(p, "://"));) {
    char *authority = p + 3;
    size_t span = strcspn(authority, "/?#@ \t\r\n\"'<>");
    p = authority + span;
    if (*p != '@') continue;
    char *colon = memchr(authority, ':', span);
    if (!colon) continue;
    size_t head = (size_t)(colon + 1 - text), tail = strlen(p);
    char *out = malloc(head + 3 + tail + 1);
    if (!out) {
      free(text);
      return strdup("(message hidden: it contained a secret)");
    }
    memcpy(out, text, head);
    memcpy(out + head, "***", 3);
    memcpy(out + head + 3, p, tail + 1);
    free(text);
    text = out;
    p = out + head + 3;
  }
  return text;
}

char *lc_state_redact(const lc_state *st, const char *text) {
  char *out = strdup(text ? text : "");
  for (size_t i = 0; out && st && i < st->n_secrets; i++) out = redact_one(out, st->secrets[i]);
  return out ? redact_userinfo(out) : NULL;
}

void lc_state_log(lc_state *st, int level, const char *fmt, ...) {
  const lc_config *cfg = &st->rt->config;
  if (!cfg->log || level < cfg->log_level) return;
  char message[LC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  char *clean = lc_state_redact(st, message);
  cfg->log(cfg->log_ctx, level, st->name ? st->name : "luaconn", clean ? clean : "");
  free(clean);
}

bool lc_state_helper_chunk(const char *source) {
  return source[0] == '@' && strstr(source, "/luaconn/") != NULL;
}

void lc_state_where(lua_State *L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    if (strncmp(ar.source, "=luaconn.", 9) == 0 || lc_state_helper_chunk(ar.source)) continue;
    lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
    return;
  }
  luaL_where(L, 1);
}

int lc_state_raise(lua_State *L, int code, const char *fmt, ...) {
  char message[LC_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  lc_state *st = lc_state_get(L);
  /* Redacted here: a script that catches the error sees it before the runtime's
   * own redaction of errors that reach the host. */
  char *clean = lc_state_redact(st, message);
  st->pending_code = code;
  lc_state_where(L);
  lua_pushstring(L, clean ? clean : "error (message hidden: out of memory redacting it)");
  free(clean);
  lua_concat(L, 2);
  return lua_error(L);
}

int lc_state_raise_final(lua_State *L, int code, const char *message) {
  lc_state_get(L)->final_error = true;
  return lc_state_raise(L, code, "%s", message);
}

void lc_state_watch(lc_state *st, const char *path, const char *data, size_t len) {
  lc_file_sig *grown = realloc(st->watched, (st->n_watched + 1) * sizeof *grown);
  if (!grown) return;
  st->watched = grown;
  if (lc_file_sig_init(&st->watched[st->n_watched], path, data, len)) st->n_watched++;
}

void *lc_state_singleton(lua_State *L, const void *key, size_t size, lua_CFunction gc) {
  lua_pushlightuserdata(L, (void *)key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  void *data = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (data) return data;
  data = lua_newuserdata(L, size);
  memset(data, 0, size);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pushlightuserdata(L, (void *)key);
  lua_insert(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  return data;
}
