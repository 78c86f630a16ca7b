/* lc_http.c: the "http" host module on libcurl's multi interface.
 *
 * Every request is a transfer (an lc_http_transfer in a userdata: http.start's
 * handle; http.request and friends start one and wait for it), with its own easy
 * handle, header lists and response buffers, driven by the state's one multi handle,
 * whose connection cache keeps connections alive between requests. Several transfers
 * may be in flight; whichever of them a script waits for, all move on. Transient
 * failures (connection errors, timeouts, 408/429/5xx gateway statuses) are retried
 * with exponential backoff that honours Retry-After, inside the call's time budget;
 * a transfer waiting for its retry does not hold up the others.
 * http.configure{rate_limit = N} spaces every attempt's start at least 1/N s apart.
 * Waiting never blocks past the call's deadline: the time limit ends a wait with
 * every transfer still in flight abandoned.
 *
 * Record and replay (lc_config.http_record / http_replay): each request's final
 * response is stored as DIR/<hash of method, URL and body>.json, secrets redacted,
 * when its handle is waited for, or answered from there at start without a network;
 * a request not in the recording fails.
 *
 * Memory a request allocates in C (its header lists, its body, the response) belongs
 * to its userdata, freed by its __gc, so a Lua error raised mid-request leaks nothing;
 * response bodies in flight count against the state's memory cap together.
 */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "host/lc_host.h"

#define LC_HTTP_USER_AGENT "luaconn/" LUACONN_VERSION
#define LC_HTTP_MAX_REDIRECTS 5L
#define LC_HTTP_BODY_IN_ERROR 200 /* bytes of a failed response quoted in the error */
#define LC_HTTP_METHOD_MAX 16
#define LC_HTTP_OK_MAX 16 /* statuses an `ok` list may name */
#define LC_HTTP_HEADER_NAME_MAX 256
#define LC_HTTP_ORIGIN_MAX 512 /* "scheme://host:port" */

typedef struct lc_http_buffer {
  char *data; /* NUL-terminated; owned */
  size_t len;
  size_t cap;
} lc_http_buffer;

typedef struct lc_http_settings {
  double timeout; /* seconds for a whole attempt */
  double connect_timeout;
  int retries;    /* attempts after the first */
  double backoff; /* first wait; doubles each retry */
  double max_backoff;
  long retry_on[LC_HTTP_OK_MAX]; /* statuses retried */
  size_t n_retry_on;
} lc_http_settings;

static const lc_http_settings LC_HTTP_DEFAULTS = {
    30, 10, 3, 0.5, 30, {408, 429, 500, 502, 503, 504}, 6};

typedef struct lc_http_request {
  char method[LC_HTTP_METHOD_MAX];
  const char *url;  /* with the query appended; the transfer's copy */
  const char *body; /* NULL = no body; the transfer's copy */
  size_t body_len;
  lc_http_settings settings;
  bool any_status;                  /* ok = "any": hand back non-2xx responses */
  long ok_statuses[LC_HTTP_OK_MAX]; /* ok = {401, ...}: hand back these non-2xx too */
  size_t n_ok_statuses;
} lc_http_request;

typedef struct lc_http_outcome {
  CURLcode rc;
  long status;
  int attempts;
  double refused_wait; /* > 0: a retry was due after this many seconds, past the budget */
  double limit_reset;  /* > 0: the server's rate limit resets this far ahead, past the
                          budget, so no attempt was made */
} lc_http_outcome;

typedef enum lc_http_phase {
  LC_HTTP_WAITING, /* for its first attempt or a retry to be due */
  LC_HTTP_RUNNING, /* in the multi handle */
  LC_HTTP_DONE,    /* out holds the outcome, or `stopped` says why there is none */
  LC_HTTP_TAKEN    /* its response went to Lua and its memory is freed */
} lc_http_phase;

struct lc_http;

/* One request from start to response: http.start's handle (a userdata). */
typedef struct lc_http_transfer {
  struct lc_http *h; /* the state's http data; NULL once the state closes */
  lc_state *st;
  struct lc_http_transfer *prev, *next; /* h's transfers, oldest first */
  CURL *curl;                           /* owned */
  lc_http_request req;
  char *url;                          /* req.url; owned */
  char *body;                         /* req.body; owned */
  struct curl_slist *request_headers; /* owned */
  struct curl_slist *hop_headers;     /* request_headers without credentials: what a
                                          redirect to another origin carries; owned */
  lc_http_buffer response;            /* the body; owned */
  lc_http_buffer head;                /* the last response's header block; owned */
  bool body_too_large;
  char *replayed_url;  /* the response's URL when replayed; owned */
  const char *stopped; /* why it ended without an outcome (cancelled, abandoned) */
  lc_http_phase phase;
  double ready_at;                 /* lc_now() before which the next attempt waits */
  double attempt_start;            /* lc_now() when the current attempt started */
  char origin[LC_HTTP_ORIGIN_MAX]; /* where the request was made to */
  bool stripped;                   /* credentials are off: a redirect left the origin */
  long hops;                       /* redirects followed in this attempt */
  lc_http_outcome out;
  char error[CURL_ERROR_SIZE];
} lc_http_transfer;

/* Per-state data: a userdata the state holds (lc_state_singleton), freed by __gc. */
typedef struct lc_http {
  CURLM *multi;
  lc_http_transfer *first, *last; /* every transfer whose handle is alive */
  size_t buffered;                /* bytes of response bodies the transfers hold */
  lc_http_settings defaults;      /* set by http.configure */
  double min_interval;            /* seconds between attempts (rate_limit); 0 = none */
  double last_request;            /* lc_now() when the last attempt started */
  double not_before;              /* lc_now() before which no attempt starts: a
                                     rate limit the server said is used up */
  size_t secrets_recorded;        /* the state's secret count when the recording
                                     was last written */
  char *ca_file;                  /* CA bundle HTTPS peers are verified against */
  bool insecure;                  /* http.configure{verify = false} */
} lc_http;

static char lc_http_headers_key; /* registry: default headers from http.configure */

#define LC_HTTP_TRANSFER_MT "luaconn.http.transfer"

/* ---- per-state data and transfers --------------------------------------------- */

static char lc_http_key; /* registry: the state's lc_http */

/* Empties t's response body, giving its bytes back to the state's count. */
static void lc_http_clear_response(lc_http_transfer *t) {
  if (t->h) t->h->buffered -= t->response.len;
  t->response.len = 0;
  if (t->response.data) t->response.data[0] = '\0';
}

/* Takes t out of the multi handle when it is in flight. */
static void lc_http_detach(lc_http_transfer *t) {
  if (t->phase == LC_HTTP_RUNNING && t->h) curl_multi_remove_handle(t->h->multi, t->curl);
  if (t->phase == LC_HTTP_RUNNING || t->phase == LC_HTTP_WAITING) t->phase = LC_HTTP_DONE;
}

/* Ends t without an outcome (why: "cancelled"...): out of the multi handle, its
 * response dropped. Waiting for it then raises. */
static void lc_http_stop(lc_http_transfer *t, const char *why) {
  if (t->phase != LC_HTTP_WAITING && t->phase != LC_HTTP_RUNNING) return;
  lc_http_detach(t);
  t->stopped = why;
  lc_http_clear_response(t);
}

/* Frees everything t owns and unlinks it from the state's list; t stays a valid,
 * spent transfer (phase TAKEN). */
static void lc_http_release(lc_http_transfer *t) {
  lc_http_detach(t);
  lc_http_clear_response(t);
  lc_http *h = t->h;
  if (h) {
    if (t->prev)
      t->prev->next = t->next;
    else if (h->first == t)
      h->first = t->next;
    if (t->next)
      t->next->prev = t->prev;
    else if (h->last == t)
      h->last = t->prev;
  }
  if (t->curl) curl_easy_cleanup(t->curl);
  curl_slist_free_all(t->request_headers);
  curl_slist_free_all(t->hop_headers);
  free(t->url);
  free(t->body);
  free(t->response.data);
  free(t->head.data);
  free(t->replayed_url);
  *t = (lc_http_transfer){.phase = LC_HTTP_TAKEN, .st = t->st};
}

static int lc_http_transfer_gc(lua_State *L) {
  lc_http_release(luaL_checkudata(L, 1, LC_HTTP_TRANSFER_MT));
  return 0;
}

/* The state closes: every transfer still alive lets go of the multi handle first
 * (the order of finalizers is not known), then the multi handle goes. */
static int lc_http_gc(lua_State *L) {
  lc_http *h = lua_touserdata(L, 1);
  for (lc_http_transfer *t = h->first, *next; t; t = next) {
    next = t->next;
    lc_http_detach(t);
    lc_http_clear_response(t);
    t->h = NULL;
    t->prev = t->next = NULL;
  }
  if (h->multi) curl_multi_cleanup(h->multi);
  free(h->ca_file);
  *h = (lc_http){0};
  return 0;
}

static pthread_once_t lc_http_once = PTHREAD_ONCE_INIT;

static void lc_http_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Where TLS peers (HTTPS, amqps) are verified against unless ca_file says otherwise:
 * the bundle a user points SSL_CERT_FILE or CURL_CA_BUNDLE at, else the system's
 * (Debian/Ubuntu, RHEL/Amazon Linux/Fedora, Alpine, SUSE). A bundled libcurl's
 * compiled-in path may not exist on the machine it runs on, and librabbitmq loads no
 * CAs at all, so the runtime always decides. */
const char *lc_tls_default_ca(const char **origin) {
  static const char *const vars[] = {"SSL_CERT_FILE", "CURL_CA_BUNDLE"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *path = getenv(vars[i]);
    if (path && *path) {
      *origin = vars[i];
      return path;
    }
  }
  static const char *const system[] = {
      "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine */
      "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, Amazon Linux, Fedora */
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL, Amazon Linux */
      "/etc/ssl/ca-bundle.pem",                            /* SUSE */
      "/etc/ssl/cert.pem",                                 /* Alpine */
  };
  *origin = "system bundle";
  for (size_t i = 0; i < sizeof system / sizeof *system; i++)
    if (access(system[i], R_OK) == 0) return system[i];
  return NULL;
}

/* Chooses the CA bundle (NULL: the default) for the state's requests, and says which
 * in -v output. */
static void lc_http_use_ca(lua_State *L, lc_http *h, const char *ca_file) {
  lc_state *st = lc_state_get(L);
  const char *origin = "option 'ca_file'";
  const char *path = ca_file ? ca_file : lc_tls_default_ca(&origin);
  if (ca_file && access(ca_file, R_OK) != 0)
    luaL_error(L, "http: ca_file '%s' cannot be read", ca_file);
  char *copy = path ? strdup(path) : NULL;
  if (path && !copy) luaL_error(L, "http: out of memory");
  free(h->ca_file);
  h->ca_file = copy;
  if (path) {
    lc_state_log(st, LC_LOG_DEBUG, "http: verifying TLS peers against %s (%s)", path, origin);
  } else {
    lc_state_log(st, LC_LOG_WARN,
                 "http: no CA bundle found (set ca_file or SSL_CERT_FILE); "
                 "using libcurl's built-in default");
  }
}

/* The state's http data, created on first use. */
static lc_http *lc_http_get(lua_State *L) {
  lc_http *h = lc_state_singleton(L, &lc_http_key, sizeof *h, lc_http_gc);
  if (h->multi) return h;
  pthread_once(&lc_http_once, lc_http_global_init);
  if (!(h->multi = curl_multi_init()))
    luaL_error(L, "http: cannot create a curl multi handle (out of memory)");
  h->defaults = LC_HTTP_DEFAULTS;
  lc_http_use_ca(L, h, NULL);
  return h;
}

/* ---- curl callbacks ------------------------------------------------------------ */

static bool lc_http_buffer_append(lc_http_buffer *b, const char *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + n + 1) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) return false;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return true;
}

/* Response bodies in flight count with the Lua heap against the memory cap: the
 * body becomes a Lua string anyway. */
static size_t lc_http_on_body(char *data, size_t size, size_t nmemb, void *ud) {
  lc_http_transfer *t = ud;
  size_t n = size * nmemb;
  size_t limit = t->st->mem_limit;
  if (limit && t->st->mem_used + t->h->buffered + n > limit) {
    t->body_too_large = true;
    return 0;
  }
  if (!lc_http_buffer_append(&t->response, data, n)) return 0;
  t->h->buffered += n;
  return n;
}

/* Keeps the header block of the last response only (redirects and 100 Continue
 * each start a new one with a status line). */
static size_t lc_http_on_header(char *data, size_t size, size_t nmemb, void *ud) {
  lc_http_transfer *t = ud;
  size_t n = size * nmemb;
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) t->head.len = 0;
  return lc_http_buffer_append(&t->head, data, n) ? n : 0;
}

/* ---- reading options ------------------------------------------------------------ */

static const char *const LC_HTTP_SETTING_KEYS[] = {
    "timeout", "connect_timeout", "retries", "backoff", "max_backoff", "retry_on", NULL};
static const char *const LC_HTTP_REQUEST_KEYS[] = {"query", "headers", "json", "body", "ok", NULL};
static const char *const LC_HTTP_TARGET_KEYS[] = {"method", "url", NULL};
static const char *const LC_HTTP_CONFIGURE_KEYS[] = {"headers", "rate_limit", "ca_file", "verify",
                                                     NULL};

static bool lc_http_in_list(const char *key, const char *const *list) {
  for (; list && *list; list++)
    if (strcmp(key, *list) == 0) return true;
  return false;
}

/* Raises on any key of the options table at idx that no list names. */
static void lc_http_check_keys(lua_State *L, int idx, const char *fname, const char *const *extra1,
                               const char *const *extra2) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!key || !(lc_http_in_list(key, LC_HTTP_SETTING_KEYS) || lc_http_in_list(key, extra1) ||
                  lc_http_in_list(key, extra2)))
      luaL_error(L, "%s: unknown option '%s'", fname, key ? key : luaL_typename(L, -1));
  }
}

static double lc_http_number_option(lua_State *L, int idx, const char *fname, const char *key,
                                    double fallback, double min) {
  lua_getfield(L, idx, key);
  double value = fallback;
  if (!lua_isnil(L, -1)) {
    value = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || !(value >= min))
      luaL_error(L, "%s: option '%s' must be a number >= %g", fname, key, min);
  }
  lua_pop(L, 1);
  return value;
}

/* Reads the list of HTTP statuses on top of the stack into out (at most
 * LC_HTTP_OK_MAX); returns how many. */
static size_t lc_http_read_statuses(lua_State *L, const char *fname, const char *key, long *out) {
  size_t n = lua_objlen(L, -1);
  if (n > LC_HTTP_OK_MAX)
    luaL_error(L, "%s: option '%s' lists more than %d statuses", fname, key, LC_HTTP_OK_MAX);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, (int)i);
    double status = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || status != floor(status) || status < 100 || status > 599)
      luaL_error(L, "%s: option '%s' must list HTTP statuses (100-599)", fname, key);
    out[i - 1] = (long)status;
    lua_pop(L, 1);
  }
  return n;
}

/* Reads the timing and retry options at idx over base. */
static lc_http_settings lc_http_read_settings(lua_State *L, int idx, const char *fname,
                                              const lc_http_settings *base) {
  lc_http_settings s;
  s.timeout = lc_http_number_option(L, idx, fname, "timeout", base->timeout, 0.001);
  s.connect_timeout =
      lc_http_number_option(L, idx, fname, "connect_timeout", base->connect_timeout, 0.001);
  double retries = lc_http_number_option(L, idx, fname, "retries", base->retries, 0);
  if (retries != floor(retries) || retries > 100)
    luaL_error(L, "%s: option 'retries' must be a whole number up to 100", fname);
  s.retries = (int)retries;
  s.backoff = lc_http_number_option(L, idx, fname, "backoff", base->backoff, 0);
  s.max_backoff = lc_http_number_option(L, idx, fname, "max_backoff", base->max_backoff, 0);
  memcpy(s.retry_on, base->retry_on, sizeof s.retry_on);
  s.n_retry_on = base->n_retry_on;
  lua_getfield(L, idx, "retry_on");
  if (lua_istable(L, -1))
    s.n_retry_on = lc_http_read_statuses(L, fname, "retry_on", s.retry_on);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "%s: option 'retry_on' must be a list of statuses", fname);
  lua_pop(L, 1);
  return s;
}

/* ---- the request: URL, headers, body -------------------------------------------- */

static int lc_http_compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Text of a query value at idx: integral numbers print in full (ids, cursors). */
static const char *lc_http_param_text(lua_State *L, int idx, char *buf, size_t buflen) {
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: return lua_tostring(L, idx);
  case LUA_TNUMBER: {
    double n = lua_tonumber(L, idx);
    if (n == floor(n) && fabs(n) < 9.2e18) {
      snprintf(buf, buflen, "%lld", (long long)n);
      return buf;
    }
    return lua_tostring(L, idx);
  }
  case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "true" : "false";
  default: return NULL;
  }
}

/* Adds curl's URL-encoding of text to the buffer. */
static void lc_http_add_escaped(lua_State *L, luaL_Buffer *b, CURL *curl, const char *text) {
  char *escaped = curl_easy_escape(curl, text, (int)strlen(text));
  if (!escaped) luaL_error(L, "http: out of memory");
  luaL_addstring(b, escaped);
  curl_free(escaped);
}

/* Pushes the URL at url_idx with the query table at query_idx (may be nil)
 * merged in, the table's parameters sorted by name so equal requests have equal URLs. */
static const char *lc_http_push_url(lua_State *L, CURL *curl, const char *fname, int url_idx,
                                    int query_idx) {
  if (lua_isnil(L, query_idx)) {
    lua_pushvalue(L, url_idx);
    return lua_tostring(L, -1);
  }
  if (!lua_istable(L, query_idx)) luaL_error(L, "%s: option 'query' must be a table", fname);
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, query_idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: query parameter names must be strings", fname);
    n++;
  }
  const char **names = lua_newuserdata(L, (n ? n : 1) * sizeof *names);
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, query_idx)) {
    lua_pop(L, 1);
    names[i++] = lua_tostring(L, -1);
  }
  qsort(names, n, sizeof *names, lc_http_compare_names);

  /* Parameters the URL already has are kept unless the table names them again:
   * url "...?per_page=50&state=open" with query {per_page = 100} asks per_page=100 once. */
  const char *base = lua_tostring(L, url_idx);
  const char *mark = strchr(base, '?');
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, base, mark ? (size_t)(mark - base) : strlen(base));
  char separator = '?';
  for (const char *p = mark ? mark + 1 : ""; *p;) {
    size_t len = strcspn(p, "&");
    size_t name_len = strcspn(p, "=&");
    int decoded_len = 0;
    char *name = len ? curl_easy_unescape(curl, p, (int)name_len, &decoded_len) : NULL;
    if (len && !name) luaL_error(L, "http: out of memory");
    bool replaced = name && bsearch(&name, names, n, sizeof *names, lc_http_compare_names);
    curl_free(name);
    if (len && !replaced) {
      luaL_addchar(&b, separator);
      luaL_addlstring(&b, p, len);
      separator = '&';
    }
    p += len + (p[len] == '&');
  }
  for (i = 0; i < n; i++) {
    char number[32];
    lua_getfield(L, query_idx, names[i]);
    /* The query table keeps the value's string alive after the pop. */
    const char *value = lc_http_param_text(L, -1, number, sizeof number);
    lua_pop(L, 1);
    if (!value)
      luaL_error(L, "%s: query parameter '%s' must be a string, number or boolean", fname,
                 names[i]);
    luaL_addchar(&b, separator);
    separator = '&';
    lc_http_add_escaped(L, &b, curl, names[i]);
    luaL_addchar(&b, '=');
    lc_http_add_escaped(L, &b, curl, value);
  }
  luaL_pushresult(&b);
  lua_remove(L, -2); /* the names */
  return lua_tostring(L, -1);
}

/* Header names whose values are credentials, whole or in part. */
static bool lc_http_is_credential(const char *name) {
  static const char *const exact[] = {"authorization", "proxy-authorization", "cookie",
                                      "x-api-key"};
  static const char *const parts[] = {"token", "secret", "password", "api-key", "apikey"};
  for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
    if (strcasecmp(name, exact[i]) == 0) return true;
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    if (strcasestr(name, parts[i])) return true;
  return false;
}

/* Registers a credential header's value for redaction, and the token after an
 * auth scheme ("Bearer abc" also hides "abc"). */
static void lc_http_register_credential(lc_state *st, const char *name, const char *value,
                                        size_t len) {
  if (!lc_http_is_credential(name)) return;
  lc_state_add_secret(st, value, len);
  const char *space = memchr(value, ' ', len);
  if (space) lc_state_add_secret(st, space + 1, len - (size_t)(space + 1 - value));
}

/* Checks the header entry on top (key at -2, value at -1): a string name without
 * separators and a string, number or false value. Returns the value or NULL for
 * false. */
static const char *lc_http_header_entry(lua_State *L, const char *fname, size_t *len) {
  if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "%s: header names must be strings", fname);
  const char *name = lua_tostring(L, -2);
  if (!*name || strpbrk(name, ":\r\n \t"))
    luaL_error(L, "%s: invalid header name '%s'", fname, name);
  if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "%s: header '%s' must be a string, a number or false", fname, name);
  const char *value = lua_tolstring(L, -1, len);
  if (memchr(value, '\r', *len) || memchr(value, '\n', *len) || strlen(value) != *len)
    luaL_error(L, "%s: header '%s' contains a line break or NUL", fname, name);
  return value;
}

/* Pushes the key of table idx equal to name ignoring case, or returns false. */
static bool lc_http_find_header(lua_State *L, int idx, const char *name) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && strcasecmp(lua_tostring(L, -1), name) == 0) return true;
  }
  return false;
}

static void lc_http_append_header(lua_State *L, lc_http_transfer *t, const char *line) {
  struct curl_slist *grown = curl_slist_append(t->request_headers, line);
  if (!grown) luaL_error(L, "http: out of memory");
  t->request_headers = grown;
}

/* Adds the header entry on top of the stack (key -2, value -1) to the request. */
static void lc_http_add_header(lua_State *L, lc_http_transfer *t, const char *fname) {
  size_t len;
  const char *value = lc_http_header_entry(L, fname, &len);
  if (!value) return;
  const char *name = lua_tostring(L, -2);
  lc_http_register_credential(t->st, name, value, len);
  /* "Name;" is curl's way to send a header with an empty value. */
  lua_pushfstring(L, len ? "%s: %s" : "%s;", name, value);
  lc_http_append_header(L, t, lua_tostring(L, -1));
  lua_pop(L, 1);
}

/* Builds the request's header list: its own headers (table at idx, may be nil)
 * over the configured defaults. Content-Type defaults to JSON for json bodies. */
static void lc_http_build_headers(lua_State *L, lc_http_transfer *t, const char *fname, int idx,
                                  bool json_body) {
  bool own = !lua_isnil(L, idx);
  if (own && !lua_istable(L, idx)) luaL_error(L, "%s: option 'headers' must be a table", fname);
  bool have_content_type = false;
  if (own) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lc_http_add_header(L, t, fname);
      if (strcasecmp(lua_tostring(L, -2), "content-type") == 0) have_content_type = true;
      lua_pop(L, 1);
    }
  }
  lua_pushlightuserdata(L, &lc_http_headers_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  int defaults = lua_gettop(L);
  if (lua_istable(L, defaults)) {
    lua_pushnil(L);
    while (lua_next(L, defaults)) {
      const char *name = lua_tostring(L, -2);
      if (own && lc_http_find_header(L, idx, name)) {
        lua_pop(L, 2);
        continue;
      }
      lc_http_add_header(L, t, fname);
      if (strcasecmp(name, "content-type") == 0) have_content_type = true;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (json_body && !have_content_type)
    lc_http_append_header(L, t, "Content-Type: application/json");
  /* Without this curl waits for "100 Continue" before sending larger bodies. */
  lc_http_append_header(L, t, "Expect:");
}

/* Reads option `ok`: "any", or a list of statuses handed back instead of raised
 * (e.g. {401} for a caller that refreshes its credentials and asks again). */
static void lc_http_read_ok(lua_State *L, int opts_idx, const char *fname, lc_http_request *req) {
  req->any_status = false;
  req->n_ok_statuses = 0;
  lua_getfield(L, opts_idx, "ok");
  if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "any") == 0) {
    req->any_status = true;
  } else if (lua_istable(L, -1)) {
    req->n_ok_statuses = lc_http_read_statuses(L, fname, "ok", req->ok_statuses);
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "%s: option 'ok' must be \"any\" or a list of statuses", fname);
  }
  lua_pop(L, 1);
}

/* True when the request hands back a response with this status instead of raising. */
static bool lc_http_status_accepted(const lc_http_request *req, long status) {
  if (req->any_status || (status >= 200 && status <= 299)) return true;
  for (size_t i = 0; i < req->n_ok_statuses; i++)
    if (req->ok_statuses[i] == status) return true;
  return false;
}

/* Copies len bytes of text into a new NUL-terminated string; raises when out of memory.
 * The caller owns the copy. */
static char *lc_http_copy(lua_State *L, const char *text, size_t len) {
  char *copy = malloc(len + 1);
  if (!copy) luaL_error(L, "http: out of memory");
  memcpy(copy, text, len);
  copy[len] = '\0';
  return copy;
}

/* Fills t's request from the options at opts_idx; method and url come from the
 * options when method is NULL. The transfer keeps copies of what it sends. */
static void lc_http_read_request(lua_State *L, lc_http *h, lc_http_transfer *t, const char *fname,
                                 const char *method, int url_idx, int opts_idx) {
  lc_http_request *req = &t->req;
  int top = lua_gettop(L);
  lc_http_check_keys(L, opts_idx, fname, LC_HTTP_REQUEST_KEYS, method ? NULL : LC_HTTP_TARGET_KEYS);
  if (!method) {
    lua_getfield(L, opts_idx, "method");
    method = lua_isnil(L, -1) ? "GET" : lua_tostring(L, -1);
    if (!method) luaL_error(L, "%s: option 'method' must be a string", fname);
    lua_getfield(L, opts_idx, "url");
    url_idx = lua_gettop(L);
  }
  size_t mlen = strlen(method);
  if (mlen == 0 || mlen >= LC_HTTP_METHOD_MAX)
    luaL_error(L, "%s: invalid method '%s'", fname, method);
  for (size_t i = 0; i <= mlen; i++) {
    if (method[i] && !isalpha((unsigned char)method[i]))
      luaL_error(L, "%s: invalid method '%s'", fname, method);
    req->method[i] = (char)toupper((unsigned char)method[i]);
  }
  if (lua_type(L, url_idx) != LUA_TSTRING) luaL_error(L, "%s: a url string is required", fname);

  req->settings = lc_http_read_settings(L, opts_idx, fname, &h->defaults);
  lc_http_read_ok(L, opts_idx, fname, req);

  lua_getfield(L, opts_idx, "json");
  lua_getfield(L, opts_idx, "body");
  bool json_body = !lua_isnil(L, -2);
  req->body = NULL;
  if (json_body && !lua_isnil(L, -1))
    luaL_error(L, "%s: give either 'json' or 'body', not both", fname);
  if (json_body) {
    char err[256];
    if (lc_json_encode(L, -2, &t->body, err, sizeof err) != LC_OK)
      luaL_error(L, "%s: cannot encode the json body: %s", fname, err);
    req->body_len = strlen(t->body);
  } else if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: option 'body' must be a string", fname);
    const char *text = lua_tolstring(L, -1, &req->body_len);
    t->body = lc_http_copy(L, text, req->body_len);
  }
  req->body = t->body;
  lua_pop(L, 2);

  lua_getfield(L, opts_idx, "headers");
  lc_http_build_headers(L, t, fname, lua_gettop(L), json_body);
  lua_pop(L, 1);

  lua_getfield(L, opts_idx, "query");
  size_t url_len;
  lc_http_push_url(L, t->curl, fname, url_idx, lua_gettop(L));
  const char *url = lua_tolstring(L, -1, &url_len);
  t->url = lc_http_copy(L, url, url_len);
  req->url = t->url;
  lua_settop(L, top);
}

/* ---- performing ------------------------------------------------------------------ */

/* Sets the easy handle up for a new attempt: URL, headers and method as before any
 * redirect. */
static void lc_http_setup(lc_http *h, lc_http_transfer *t) {
  const lc_http_request *req = &t->req;
  CURL *c = t->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_PRIVATE, t);
  curl_easy_setopt(c, CURLOPT_URL, req->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->error);
  if (h->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
  if (h->insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  /* Scripts must not reach file:// or other protocols through curl. */
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Redirects are followed by lc_http_follow, which drops credentials. */
  curl_easy_setopt(c, CURLOPT_USERAGENT, LC_HTTP_USER_AGENT);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->request_headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, lc_http_on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, lc_http_on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  bool post = strcmp(req->method, "POST") == 0;
  if (req->body || post) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
  }
  if (strcmp(req->method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (!post && (req->body || strcmp(req->method, "GET") != 0))
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
}

static bool lc_http_retried_status(const lc_http_settings *s, long status) {
  for (size_t i = 0; i < s->n_retry_on; i++)
    if (s->retry_on[i] == status) return true;
  return false;
}

/* The value of header `name` (any case) of t's last response into out; false when
 * absent. */
static bool lc_http_header_value(const lc_http_transfer *t, const char *name, char *out,
                                 size_t outlen) {
  size_t name_len = strlen(name);
  for (const char *line = t->head.data; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
      const char *v = line + name_len + 1;
      while (*v == ' ' || *v == '\t') v++;
      size_t n = (size_t)(line + len - v);
      while (n && isspace((unsigned char)v[n - 1])) n--;
      snprintf(out, outlen, "%.*s", (int)n, v);
      return true;
    }
    line = end ? end + 1 : NULL;
  }
  return false;
}

/* The number after `key=` (or `key:`) inside a structured header value such as
 * IETF RateLimit's `limit=100, remaining=0, reset=30` or `"default";r=0;t=30`. */
static bool lc_http_param_number(const char *value, const char *key, double *out) {
  size_t klen = strlen(key);
  for (const char *p = value; (p = strstr(p, key)); p += klen) {
    bool starts = p == value || strchr(" ,;", p[-1]);
    if (starts && p[klen] == '=') {
      char *end;
      *out = strtod(p + klen + 1, &end);
      return end > p + klen + 1;
    }
  }
  return false;
}

/* Seconds until the server's rate limit resets when t's last response says it is
 * used up (X-RateLimit-Remaining: 0 with X-RateLimit-Reset as epoch seconds or
 * seconds, IETF RateLimit-Remaining/-Reset or RateLimit: remaining/r, reset/t);
 * 0 otherwise. */
static double lc_http_rate_limit_wait(const lc_http_transfer *t) {
  char value[256];
  double remaining = -1, reset = -1;
  if (lc_http_header_value(t, "x-ratelimit-remaining", value, sizeof value) ||
      lc_http_header_value(t, "ratelimit-remaining", value, sizeof value))
    remaining = strtod(value, NULL);
  if (lc_http_header_value(t, "x-ratelimit-reset", value, sizeof value) ||
      lc_http_header_value(t, "ratelimit-reset", value, sizeof value))
    reset = strtod(value, NULL);
  if (lc_http_header_value(t, "ratelimit", value, sizeof value)) {
    if (!lc_http_param_number(value, "remaining", &remaining))
      lc_http_param_number(value, "r", &remaining);
    if (!lc_http_param_number(value, "reset", &reset)) lc_http_param_number(value, "t", &reset);
  }
  if (remaining != 0 || !(reset > 0)) return 0;
  /* Large values are epoch seconds (GitHub), small ones a delay. */
  if (reset > 1e9) reset -= (double)time(NULL);
  return reset > 0 ? reset : 0;
}

static bool lc_http_transient_error(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM: return true;
  default: return false;
  }
}

/* What went wrong in a failed transfer, in words. */
static const char *lc_http_failure_text(const lc_http_transfer *t, CURLcode rc) {
  if (t->body_too_large) return "response body exceeds the connector's memory limit";
  if (rc == CURLE_WRITE_ERROR) return "out of memory storing the response";
  return t->error[0] ? t->error : curl_easy_strerror(rc);
}

/* "scheme://host:port" of url, the default port filled in; false when it does not
 * parse. */
static bool lc_http_origin(const char *url, char *out, size_t outlen) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return ok;
}

/* Fills hop_headers with the request's headers minus every credential: a header
 * named like one (lc_http_is_credential) or holding a registered secret. */
static bool lc_http_strip_credentials(lc_http_transfer *t) {
  curl_slist_free_all(t->hop_headers);
  t->hop_headers = NULL;
  for (const struct curl_slist *e = t->request_headers; e; e = e->next) {
    char name[LC_HTTP_HEADER_NAME_MAX];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(e->data, ":;"), e->data);
    char *redacted = lc_state_redact(t->st, e->data);
    bool secret = !redacted || strcmp(redacted, e->data) != 0;
    free(redacted);
    if (secret || lc_http_is_credential(name)) continue;
    struct curl_slist *grown = curl_slist_append(t->hop_headers, e->data);
    if (!grown) return false;
    t->hop_headers = grown;
  }
  return true;
}

/* Sets t up for the redirect its finished hop answered (status, location), or says
 * why not. curl would send every custom header (X-API-Key, a token in X-Whatever) to
 * whatever host a Location names; here credentials stay with the origin the request
 * was made to. */
static CURLcode lc_http_follow(lc_http_transfer *t, long status, const char *location) {
  if (t->hops == LC_HTTP_MAX_REDIRECTS) {
    snprintf(t->error, sizeof t->error, "more than %ld redirects", LC_HTTP_MAX_REDIRECTS);
    return CURLE_TOO_MANY_REDIRECTS;
  }
  char *next = strdup(location), next_origin[LC_HTTP_ORIGIN_MAX];
  if (!next) return CURLE_OUT_OF_MEMORY;
  CURLcode rc = CURLE_OK;
  if (!t->stripped && (!lc_http_origin(next, next_origin, sizeof next_origin) ||
                       strcasecmp(t->origin, next_origin) != 0)) {
    t->stripped = true;
    if (!lc_http_strip_credentials(t)) rc = CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->hop_headers);
  }
  /* 303, and 301/302 after a POST, continue as a GET without the body (as curl does). */
  const char *method = t->req.method;
  if (strcmp(method, "HEAD") != 0 &&
      (status == 303 || ((status == 301 || status == 302) && strcmp(method, "POST") == 0))) {
    curl_easy_setopt(t->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, NULL);
  }
  curl_easy_setopt(t->curl, CURLOPT_URL, next);
  free(next);
  t->hops++;
  lc_http_clear_response(t);
  t->head.len = 0;
  t->error[0] = '\0';
  return rc;
}

/* Starts an attempt of t: into the multi handle, with a timeout that ends it by the
 * call's deadline. */
static void lc_http_begin_attempt(lc_http *h, lc_http_transfer *t, double now) {
  lc_http_setup(h, t);
  double total = fmin(t->req.settings.timeout, lc_state_time_left(t->st));
  double connect = fmin(t->req.settings.connect_timeout, total);
  curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, (long)ceil(total * 1000));
  curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(connect * 1000));
  lc_http_clear_response(t);
  t->head.len = 0;
  t->body_too_large = false;
  t->error[0] = '\0';
  t->stripped = false;
  t->hops = 0;
  t->attempt_start = h->last_request = now;
  t->out.attempts++;
  CURLMcode mc = curl_multi_add_handle(h->multi, t->curl);
  if (mc != CURLM_OK) {
    snprintf(t->error, sizeof t->error, "%s", curl_multi_strerror(mc));
    t->out.rc = CURLE_OUT_OF_MEMORY;
    t->phase = LC_HTTP_DONE;
    return;
  }
  t->phase = LC_HTTP_RUNNING;
}

/* Handles a finished hop of t (rc): follows a redirect, or settles the attempt:
 * done, or a retry due after the backoff (or Retry-After, or the rate limit's reset). */
static void lc_http_end_hop(lc_http *h, lc_http_transfer *t, CURLcode rc) {
  lc_state *st = t->st;
  const lc_http_request *req = &t->req;
  curl_multi_remove_handle(h->multi, t->curl);
  t->phase = LC_HTTP_DONE;
  long status = 0;
  if (rc == CURLE_OK) {
    char *location = NULL;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->curl, CURLINFO_REDIRECT_URL, &location);
    if (status >= 300 && status <= 399 && location) {
      rc = lc_http_follow(t, status, location);
      if (rc == CURLE_OK) {
        if (curl_multi_add_handle(h->multi, t->curl) == CURLM_OK) {
          t->phase = LC_HTTP_RUNNING;
          return;
        }
        rc = CURLE_OUT_OF_MEMORY;
      }
      status = 0;
    }
  }
  lc_http_outcome *out = &t->out;
  out->rc = rc;
  out->status = status;
  double ms = (lc_now() - t->attempt_start) * 1000;
  char result[CURL_ERROR_SIZE + 32];
  if (rc == CURLE_OK)
    snprintf(result, sizeof result, "HTTP %ld, %zu bytes", status, t->response.len);
  else
    snprintf(result, sizeof result, "%s", lc_http_failure_text(t, rc));
  lc_state_log(st, LC_LOG_DEBUG, "%s %s -> %s, %.0f ms", req->method, req->url, result, ms);

  double limit_wait = rc == CURLE_OK ? lc_http_rate_limit_wait(t) : 0;
  bool transient =
      rc == CURLE_OK ? lc_http_retried_status(&req->settings, status) : lc_http_transient_error(rc);
  if (!transient) h->not_before = limit_wait > 0 ? lc_now() + limit_wait : 0;
  if (!transient || out->attempts > req->settings.retries) return;
  double wait = fmin(req->settings.backoff * pow(2, out->attempts - 1), req->settings.max_backoff);
  /* Retry-After in seconds or as an HTTP date (curl turns both into seconds). */
  curl_off_t retry_after = 0;
  if (rc == CURLE_OK && curl_easy_getinfo(t->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
    wait = fmax(wait, (double)retry_after);
  wait = fmax(wait, limit_wait);
  if (wait >= lc_state_time_left(st)) {
    out->refused_wait = wait;
    return;
  }
  lc_state_log(st, LC_LOG_INFO, "%s %s: %s, retrying in %.2f s (attempt %d of %d)", req->method,
               req->url, result, wait, out->attempts + 1, req->settings.retries + 1);
  t->ready_at = lc_now() + wait;
  t->phase = LC_HTTP_WAITING;
}

/* Starts every waiting transfer whose time has come, oldest first, each attempt at
 * least min_interval after the last and none before the server's rate limit resets.
 * Returns when the next waiting one is due (a large number when none waits). */
static double lc_http_start_due(lc_http *h) {
  double next_due = 1e18;
  for (lc_http_transfer *t = h->first; t; t = t->next) {
    if (t->phase != LC_HTTP_WAITING) continue;
    double now = lc_now();
    double left = lc_state_time_left(t->st);
    if (h->not_before - now >= left) {
      /* The server's limit resets past the deadline: waiting is pointless. */
      t->out.limit_reset = h->not_before - now;
      t->phase = LC_HTTP_DONE;
      continue;
    }
    double due = fmax(t->ready_at, h->not_before);
    if (h->min_interval > 0 && h->last_request > 0)
      due = fmax(due, h->last_request + h->min_interval);
    if (due <= now)
      lc_http_begin_attempt(h, t, now);
    else
      next_due = fmin(next_due, due);
  }
  return next_due;
}

/* Moves every transfer on without blocking: starts the due ones, lets curl send and
 * receive, and settles finished hops. Returns when the next waiting one is due. */
static double lc_http_pump(lc_http *h) {
  double next_due = lc_http_start_due(h);
  int running = 0;
  curl_multi_perform(h->multi, &running);
  CURLMsg *msg;
  int queued;
  bool ended = false;
  while ((msg = curl_multi_info_read(h->multi, &queued))) {
    if (msg->msg != CURLMSG_DONE) continue;
    lc_http_transfer *t = NULL;
    CURLcode rc = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    lc_http_end_hop(h, t, rc);
    ended = true;
  }
  /* A redirect or an immediate retry may be ready to go at once. */
  return ended ? fmin(next_due, lc_http_start_due(h)) : next_due;
}

/* The call's time is up: every transfer in flight is abandoned (none goes on into a
 * later call), then the time-limit error is raised. */
static void lc_http_time_up(lua_State *L, lc_http *h) {
  for (lc_http_transfer *t = h->first; t; t = t->next)
    lc_http_stop(t, "abandoned when the call's time limit was reached");
  lc_state_check_deadline(L);
}

void lc_http_abandon_all(lua_State *L, const char *why) {
  lua_pushlightuserdata(L, &lc_http_key); /* only a state that used http has any */
  lua_rawget(L, LUA_REGISTRYINDEX);
  lc_http *h = lua_touserdata(L, -1);
  lua_pop(L, 1);
  for (lc_http_transfer *t = h ? h->first : NULL; t; t = t->next) lc_http_stop(t, why);
}

/* Waits until t is done, moving every transfer on; never past the call's deadline. */
static void lc_http_wait_for(lua_State *L, lc_http *h, lc_http_transfer *t) {
  lc_state *st = lc_state_get(L);
  for (;;) {
    double next_due = lc_http_pump(h);
    if (t->phase != LC_HTTP_WAITING && t->phase != LC_HTTP_RUNNING) return;
    double left = lc_state_time_left(st);
    if (left <= 0) lc_http_time_up(L, h);
    double wait = fmin(fmin(next_due - lc_now(), left), 1.0);
    long curl_ms = -1;
    curl_multi_timeout(h->multi, &curl_ms);
    if (curl_ms >= 0) wait = fmin(wait, (double)curl_ms / 1000);
    if (wait > 0) curl_multi_poll(h->multi, NULL, 0, (int)ceil(wait * 1000), NULL);
  }
}

/* The reason phrase of the status line starting t's header block ("Not Found"). */
static void lc_http_reason(const lc_http_transfer *t, char *out, size_t outlen) {
  out[0] = '\0';
  if (!t->head.data) return;
  const char *p = strchr(t->head.data, ' ');
  if (p) p = strchr(p + 1, ' ');
  if (!p) return;
  p++;
  snprintf(out, outlen, "%.*s", (int)strcspn(p, "\r\n"), p);
}

/* Raises the error for a transfer that failed for good, releasing it first. */
static int lc_http_fail(lua_State *L, lc_http_transfer *t) {
  const lc_http_request *req = &t->req;
  const lc_http_outcome *out = &t->out;
  char message[LC_ERRMSG_MAX], waited[96] = "";
  if (out->refused_wait > 0)
    snprintf(waited, sizeof waited, " (a retry was due in %.1f s, past the call's time limit)",
             out->refused_wait);
  if (t->stopped) {
    snprintf(message, sizeof message, "%s %s: the request was %s", req->method, req->url,
             t->stopped);
  } else if (out->limit_reset > 0) {
    snprintf(message, sizeof message,
             "%s %s: the server's rate limit is used up and resets in %.0f s, past the "
             "call's time limit",
             req->method, req->url, out->limit_reset);
  } else if (out->rc != CURLE_OK) {
    char attempts[48] = "";
    if (out->attempts > 1)
      snprintf(attempts, sizeof attempts, " (after %d attempts)", out->attempts);
    char trust[512] = "";
    if (out->rc == CURLE_PEER_FAILED_VERIFICATION)
      snprintf(trust, sizeof trust,
               " (untrusted certificate: verified against %s; "
               "set ca_file to the CA that signed it)",
               t->h && t->h->ca_file ? t->h->ca_file : "libcurl's default");
    snprintf(message, sizeof message, "%s %s: %s%s%s%s", req->method, req->url,
             lc_http_failure_text(t, out->rc), trust, attempts, waited);
  } else {
    char attempts[48] = "";
    if (out->attempts > 1) snprintf(attempts, sizeof attempts, " after %d attempts", out->attempts);
    char reason[64], excerpt[LC_HTTP_BODY_IN_ERROR + 1];
    lc_http_reason(t, reason, sizeof reason);
    const lc_http_buffer *body = &t->response;
    size_t n = body->len < LC_HTTP_BODY_IN_ERROR ? body->len : LC_HTTP_BODY_IN_ERROR;
    /* Cut at a character boundary and keep the message on one line. */
    while (n < body->len && n > 0 && ((unsigned char)body->data[n] & 0xC0) == 0x80) n--;
    for (size_t i = 0; i < n; i++) {
      unsigned char ch = (unsigned char)body->data[i];
      excerpt[i] = ch < 0x20 ? ' ' : (char)ch;
    }
    excerpt[n] = '\0';
    snprintf(message, sizeof message, "%s %s: HTTP %ld%s%s%s%s%s%s", req->method, req->url,
             out->status, reason[0] ? " " : "", reason, attempts, waited, n ? ": " : "", excerpt);
  }
  lc_http_release(t);
  return lc_state_raise(L, LC_ERR_HTTP, "%s", message);
}

/* Pushes t's response headers as {lowercase-name = value}; repeated headers are
 * joined with ", ". */
static void lc_http_push_headers(lua_State *L, lc_http_transfer *t) {
  lua_newtable(L);
  if (!t->head.data) return;
  char *line = strstr(t->head.data, "\n"); /* skip the status line */
  while (line && *++line) {
    char *end = strchr(line, '\n');
    char *colon = memchr(line, ':', end ? (size_t)(end - line) : strlen(line));
    if (colon) {
      for (char *p = line; p < colon; p++) *p = (char)tolower((unsigned char)*p);
      char *value = colon + 1;
      char *stop = end ? end : value + strlen(value);
      while (value < stop && (*value == ' ' || *value == '\t')) value++;
      while (stop > value && isspace((unsigned char)stop[-1])) stop--;
      lua_pushlstring(L, line, (size_t)(colon - line));
      lua_pushvalue(L, -1);
      lua_rawget(L, -3);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, value, (size_t)(stop - value));
      } else {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, value, (size_t)(stop - value));
        lua_concat(L, 3);
      }
      lua_rawset(L, -3);
    }
    line = end;
  }
}

/* Pushes {status, body, headers, url, attempts, new_connections}. */
static void lc_http_push_response(lua_State *L, lc_http_transfer *t) {
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, t->out.status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, t->response.data ? t->response.data : "", t->response.len);
  lua_setfield(L, -2, "body");
  lc_http_push_headers(L, t);
  lua_setfield(L, -2, "headers");
  char *url = t->replayed_url;
  if (!url) curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_URL, &url);
  lua_pushstring(L, url ? url : "");
  lua_setfield(L, -2, "url");
  lua_pushinteger(L, t->out.attempts);
  lua_setfield(L, -2, "attempts");
  /* 0 when the request went over a connection kept alive from an earlier one. */
  long connects = 0;
  if (!t->replayed_url) curl_easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, &connects);
  lua_pushinteger(L, connects);
  lua_setfield(L, -2, "new_connections");
}

/* ---- record and replay ------------------------------------------------------------ */

static char lc_http_tape_key; /* registry: request key -> {file, data, used} */

static void lc_http_push_tape(lua_State *L) {
  lua_pushlightuserdata(L, &lc_http_tape_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_isnil(L, -1)) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushlightuserdata(L, &lc_http_tape_key);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

/* Pushes the request's key (method, URL and body, secrets redacted) and writes the
 * file holding its exchanges into path. */
static void lc_http_push_tape_key(lua_State *L, lc_state *st, const lc_http_request *req,
                                  const char *dir, char *path, size_t pathlen) {
  lua_pushfstring(L, "%s %s", req->method, req->url);
  if (req->body) {
    lua_pushliteral(L, "\n");
    lua_pushlstring(L, req->body, req->body_len);
    lua_concat(L, 3);
  }
  char *clean = lc_state_redact(st, lua_tostring(L, -1));
  lua_pop(L, 1);
  if (!clean) luaL_error(L, "http: out of memory");
  lua_pushstring(L, clean);
  free(clean);
  size_t len;
  const char *key = lua_tolstring(L, -1, &len);
  snprintf(path, pathlen, "%s/%016llx.json", dir,
           (unsigned long long)lc_hash_bytes(LC_HASH_SEED, key, len));
}

/* Writes tape entry {file, data} at idx: its data as JSON, secrets redacted. */
static void lc_http_write_entry(lua_State *L, lc_state *st, int idx) {
  idx = lc_absindex(L, idx);
  lua_getfield(L, idx, "file");
  lua_getfield(L, idx, "data");
  char *text = NULL, err[256];
  if (lc_json_encode(L, -1, &text, err, sizeof err) != LC_OK)
    luaL_error(L, "http: cannot record %s: %s", lua_tostring(L, -2), err);
  char *clean = lc_state_redact(st, text);
  free(text);
  FILE *f = clean ? fopen(lua_tostring(L, -2), "w") : NULL;
  bool ok = f && fputs(clean, f) >= 0;
  int saved = errno;
  if (f && fclose(f) != 0) ok = false;
  free(clean);
  if (!ok)
    luaL_error(L, "http: cannot write the recording %s: %s", lua_tostring(L, -2), strerror(saved));
  lua_pop(L, 2);
}

/* Pushes the tape, the request's key and the key's entry (nil when there is none
 * yet); returns the tape's stack index. path gets the entry's file name. */
static int lc_http_push_tape_entry(lua_State *L, lc_state *st, const lc_http_request *req,
                                   const char *dir, char *path, size_t pathlen) {
  lc_http_push_tape(L);
  int tape = lua_gettop(L);
  lc_http_push_tape_key(L, st, req, dir, path, pathlen);
  lua_pushvalue(L, -1);
  lua_rawget(L, tape);
  return tape;
}

/* Stores t's response under dir. A secret first seen since the last write (an
 * OAuth2 token that arrived in a response) rewrites every file. */
static void lc_http_record(lua_State *L, lc_state *st, lc_http *h, const lc_http_transfer *t,
                           const char *dir) {
  const lc_http_request *req = &t->req;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    luaL_error(L, "http: cannot create the recording directory %s: %s", dir, strerror(errno));
  char path[4096];
  int tape = lc_http_push_tape_entry(L, st, req, dir, path, sizeof path);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, path);
    lua_setfield(L, -2, "file");
    lua_createtable(L, 0, 2);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, req->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, req->url);
    lua_setfield(L, -2, "url");
    if (req->body) {
      lua_pushlstring(L, req->body, req->body_len);
      lua_setfield(L, -2, "body");
    }
    lua_setfield(L, -2, "request");
    lua_newtable(L);
    lua_setfield(L, -2, "responses");
    lua_setfield(L, -2, "data");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, tape);
  }
  lua_getfield(L, -1, "data");
  lua_getfield(L, -1, "responses");
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, t->out.status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, t->head.data ? t->head.data : "", t->head.len);
  lua_setfield(L, -2, "head");
  lua_pushlstring(L, t->response.data ? t->response.data : "", t->response.len);
  lua_setfield(L, -2, "body");
  char *url = NULL;
  curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_URL, &url);
  lua_pushstring(L, url ? url : req->url);
  lua_setfield(L, -2, "url");
  lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
  lua_pop(L, 2);
  if (st->n_secrets == h->secrets_recorded) {
    lc_http_write_entry(L, st, -1);
  } else {
    lua_pushnil(L);
    while (lua_next(L, tape)) {
      lc_http_write_entry(L, st, -1);
      lua_pop(L, 1);
    }
    h->secrets_recorded = st->n_secrets;
  }
  lua_settop(L, tape - 1);
}

/* Raises for a request the recording in dir does not hold, naming it and up to
 * three recorded requests to the same path (what changed is then plain to see). */
static void lc_http_not_recorded(lua_State *L, const lc_http_request *req, const char *dir,
                                 const char *why) {
  size_t path_len = strcspn(req->url, "?");
  char listing[1024] = "";
  size_t used = 0;
  int listed = 0;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && listed < 3 && (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
    char file[4096], *text = NULL, err[64];
    size_t len = 0;
    snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
    if (lc_file_read(file, &text, &len) != LC_OK) continue;
    int top = lua_gettop(L);
    if (lc_json_decode(L, text, len, err, sizeof err) == LC_OK && lua_istable(L, -1)) {
      lua_getfield(L, -1, "request");
      if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "method");
        lua_getfield(L, -2, "url");
        const char *method = lua_tostring(L, -2), *url = lua_tostring(L, -1);
        if (method && url && strncmp(url, req->url, path_len) == 0 &&
            (url[path_len] == '\0' || url[path_len] == '?') && used < sizeof listing) {
          used += (size_t)snprintf(listing + used, sizeof listing - used, "%s%s %s",
                                   listed++ ? "; " : "; recorded for this path: ", method, url);
        }
      }
    }
    free(text);
    lua_settop(L, top);
  }
  if (d) closedir(d);
  lc_state_raise(L, LC_ERR_HTTP, "%s %s: %s the recording %s (replay)%s", req->method, req->url,
                 why, dir, listing);
}

/* Answers t's request from the recording in dir: fills its response and outcome. */
static void lc_http_replay(lua_State *L, lc_state *st, lc_http_transfer *t, const char *dir) {
  const lc_http_request *req = &t->req;
  lc_http_outcome *out = &t->out;
  char path[4096];
  int tape = lc_http_push_tape_entry(L, st, req, dir, path, sizeof path);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    char *text = NULL, err[256];
    size_t len = 0;
    if (lc_file_read(path, &text, &len) != LC_OK) lc_http_not_recorded(L, req, dir, "not in");
    int rc = lc_json_decode(L, text, len, err, sizeof err);
    free(text);
    if (rc != LC_OK) luaL_error(L, "http: the recording %s is not valid JSON: %s", path, err);
    lua_createtable(L, 0, 2);
    lua_insert(L, -2);
    lua_setfield(L, -2, "data");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, tape);
  }
  lua_getfield(L, -1, "used");
  int used = (int)lua_tointeger(L, -1) + 1;
  lua_pop(L, 1);
  lua_pushinteger(L, used);
  lua_setfield(L, -2, "used");
  lua_getfield(L, -1, "data");
  lua_getfield(L, -1, "responses");
  lua_rawgeti(L, -1, used);
  if (!lua_istable(L, -1)) lc_http_not_recorded(L, req, dir, "asked more often than recorded in");
  memset(out, 0, sizeof *out);
  lua_getfield(L, -1, "status");
  out->status = (long)lua_tointeger(L, -1);
  out->attempts = 1;
  size_t len;
  const char *text;
  lua_getfield(L, -2, "head");
  text = lua_tolstring(L, -1, &len);
  if (text && !lc_http_buffer_append(&t->head, text, len)) luaL_error(L, "http: out of memory");
  lua_getfield(L, -3, "body");
  text = lua_tolstring(L, -1, &len);
  if (text && !lc_http_buffer_append(&t->response, text, len)) luaL_error(L, "http: out of memory");
  if (text) t->h->buffered += len;
  lua_getfield(L, -4, "url");
  t->replayed_url = strdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : req->url);
  if (!t->replayed_url) luaL_error(L, "http: out of memory");
  t->phase = LC_HTTP_DONE;
  lc_state_log(st, LC_LOG_DEBUG, "%s %s -> HTTP %ld, %zu bytes (replayed)", req->method, req->url,
               out->status, t->response.len);
  lua_settop(L, tape - 1);
}

/* Pushes a new transfer (http.start's handle) for the request the arguments
 * describe and starts it: answered from the recording when replaying, else queued
 * and given to curl at once when the rate limit allows (so the request is on its
 * way while the script does other work). */
static lc_http_transfer *lc_http_start(lua_State *L, const char *fname, const char *method,
                                       int url_idx, int opts_idx) {
  lc_state *st = lc_state_get(L);
  lc_http *h = lc_http_get(L);
  lc_http_transfer *t = lua_newuserdata(L, sizeof *t);
  /* Not startable until its request is read: bad options raise before that. */
  *t = (lc_http_transfer){
      .h = h, .st = st, .phase = LC_HTTP_DONE, .stopped = "never started", .prev = h->last};
  if (h->last)
    h->last->next = t;
  else
    h->first = t;
  h->last = t;
  luaL_getmetatable(L, LC_HTTP_TRANSFER_MT);
  lua_setmetatable(L, -2);
  if (!(t->curl = curl_easy_init()))
    luaL_error(L, "http: cannot create a curl handle (out of memory)");
  lc_http_read_request(L, h, t, fname, method, url_idx, opts_idx);
  lc_http_origin(t->url, t->origin, sizeof t->origin);
  t->stopped = NULL;
  const lc_config *cfg = &st->rt->config;
  if (cfg->http_replay) {
    lc_http_replay(L, st, t, cfg->http_replay);
  } else {
    t->phase = LC_HTTP_WAITING;
    lc_http_pump(h);
  }
  return t;
}

/* Waits for t and pushes its response (recording it when recording), or raises its
 * error. Its memory is freed either way. */
static int lc_http_finish(lua_State *L, lc_http_transfer *t) {
  if (t->phase == LC_HTTP_TAKEN) luaL_error(L, "http: this request's response was already taken");
  lc_http *h = t->h;
  lc_http_wait_for(L, h, t);
  lc_state *st = t->st;
  /* A timeout cut short by the call's budget is the budget's error. */
  if (t->out.rc != CURLE_OK && lc_state_time_left(st) <= 0) lc_http_time_up(L, h);
  const lc_config *cfg = &st->rt->config;
  if (cfg->http_record && !t->stopped && !t->out.limit_reset && t->out.rc == CURLE_OK)
    lc_http_record(L, st, h, t, cfg->http_record);
  if (t->stopped || t->out.limit_reset || t->out.rc != CURLE_OK ||
      !lc_http_status_accepted(&t->req, t->out.status))
    return lc_http_fail(L, t);
  lc_http_push_response(L, t);
  lc_http_release(t);
  return 1;
}

/* Performs one request and pushes the response table, or raises. */
static int lc_http_run(lua_State *L, const char *fname, const char *method, int url_idx,
                       int opts_idx) {
  return lc_http_finish(L, lc_http_start(L, fname, method, url_idx, opts_idx));
}

/* ---- Lua functions ------------------------------------------------------------------ */

/* Options at idx, or an empty table pushed in their place when absent. */
static int lc_http_options(lua_State *L, int idx, const char *fname) {
  if (lua_isnoneornil(L, idx)) {
    lua_newtable(L);
    return lua_gettop(L);
  }
  if (!lua_istable(L, idx)) luaL_error(L, "%s: options must be a table", fname);
  return idx;
}

static int lc_http_request_fn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  return lc_http_run(L, "http.request", NULL, 0, 1);
}

/* http.start(request): http.request's request started, not waited for; returns its
 * handle. */
static int lc_http_start_fn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lc_http_start(L, "http.start", NULL, 0, 1);
  return 1;
}

/* handle:wait(): the response http.request would return (or its error); once. */
static int lc_http_wait_fn(lua_State *L) {
  return lc_http_finish(L, luaL_checkudata(L, 1, LC_HTTP_TRANSFER_MT));
}

/* handle:cancel(): stops the request (a response not yet read is dropped) and frees
 * its memory; waiting for it afterwards raises. */
static int lc_http_cancel_fn(lua_State *L) {
  lc_http_transfer *t = luaL_checkudata(L, 1, LC_HTTP_TRANSFER_MT);
  lc_http_stop(t, "cancelled");
  return 0;
}

/* Pushes the decoded body of the response at idx (nil when empty); raises "<method>
 * <url>: response is not valid JSON: ..." when it does not parse. */
static void lc_http_push_decoded(lua_State *L, int idx, const char *method) {
  lua_getfield(L, idx, "body");
  if (!lua_isstring(L, -1) || lua_objlen(L, -1) == 0) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  lua_pushcfunction(L, lc_json_lua_decode);
  lua_insert(L, -2);
  int status = lua_pcall(L, 1, 1, 0);
  if (status == LUA_ERRMEM) lua_error(L);
  if (status != 0) {
    const char *err = lua_tostring(L, -1);
    lua_getfield(L, idx, "url");
    char what[LC_ERRMSG_MAX];
    snprintf(what, sizeof what, "%s %s", method, lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    lc_json_raise_invalid(L, what, err ? err : "?");
  }
}

/* http.decode_json(response [, method]): the decoded body of a response an earlier
 * call returned (nil when empty), with get_json's error when it is not JSON. */
static int lc_http_decode_json(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lc_http_push_decoded(L, 1, luaL_optstring(L, 2, "GET"));
  return 1;
}

/* http.get(url, opts) and friends; upvalues: method, function name, decode flag.
 * The _json variants return the decoded body (nil when empty) and the response. */
static int lc_http_method_fn(lua_State *L) {
  const char *method = lua_tostring(L, lua_upvalueindex(1));
  const char *fname = lua_tostring(L, lua_upvalueindex(2));
  bool decode = lua_toboolean(L, lua_upvalueindex(3));
  int opts = lc_http_options(L, 2, fname);
  lc_http_run(L, fname, method, 1, opts);
  if (!decode) return 1;
  lc_http_push_decoded(L, lua_gettop(L), method);
  lua_insert(L, -2);
  return 2;
}

static int lc_http_configure(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lc_state *st = lc_state_get(L);
  lc_http *h = lc_http_get(L);
  lc_http_check_keys(L, 1, "http.configure", LC_HTTP_CONFIGURE_KEYS, NULL);
  lc_http_settings settings = lc_http_read_settings(L, 1, "http.configure", &h->defaults);
  double rate = lc_http_number_option(L, 1, "http.configure", "rate_limit",
                                      h->min_interval > 0 ? 1 / h->min_interval : 0, 0);
  lua_getfield(L, 1, "headers");
  if (!lua_isnil(L, -1)) {
    int given = lua_gettop(L);
    if (!lua_istable(L, given)) luaL_error(L, "http.configure: option 'headers' must be a table");
    lua_pushlightuserdata(L, &lc_http_headers_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushlightuserdata(L, &lc_http_headers_key);
      lua_pushvalue(L, -2);
      lua_rawset(L, LUA_REGISTRYINDEX);
    }
    int defaults = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, given)) {
      size_t len;
      const char *value = lc_http_header_entry(L, "http.configure", &len);
      const char *name = lua_tostring(L, -2);
      if (value) lc_http_register_credential(st, name, value, len);
      /* One entry per name whatever its case; false removes the default. */
      if (lc_http_find_header(L, defaults, name)) {
        lua_pushnil(L);
        lua_rawset(L, defaults);
      }
      if (value) {
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_rawset(L, defaults);
      }
      lua_pop(L, 1);
    }
  }
  lua_getfield(L, 1, "ca_file");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "http.configure: option 'ca_file' must be a path");
    lc_http_use_ca(L, h, lua_tostring(L, -1));
  }
  lua_getfield(L, 1, "verify");
  if (!lua_isnil(L, -1)) {
    if (!lua_isboolean(L, -1)) luaL_error(L, "http.configure: option 'verify' must be a boolean");
    h->insecure = !lua_toboolean(L, -1);
    if (h->insecure)
      lc_state_log(st, LC_LOG_WARN,
                   "http: TLS certificate verification is OFF (verify = false): "
                   "any server can pose as the one you asked for");
  }
  h->defaults = settings;
  h->min_interval = rate > 0 ? 1 / rate : 0; /* rate_limit = 0 turns the limit off */
  return 0;
}

int lc_open_http(lua_State *L) {
  static const luaL_Reg handle_methods[] = {
      {"wait", lc_http_wait_fn}, {"cancel", lc_http_cancel_fn}, {NULL, NULL}};
  if (luaL_newmetatable(L, LC_HTTP_TRANSFER_MT)) {
    lua_newtable(L);
    luaL_register(L, NULL, handle_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lc_http_transfer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  lua_createtable(L, 0, 12);
  lua_pushcfunction(L, lc_http_request_fn);
  lua_setfield(L, -2, "request");
  lua_pushcfunction(L, lc_http_start_fn);
  lua_setfield(L, -2, "start");
  lua_pushcfunction(L, lc_http_configure);
  lua_setfield(L, -2, "configure");
  lua_pushcfunction(L, lc_http_decode_json);
  lua_setfield(L, -2, "decode_json");
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
    char name[LC_HTTP_METHOD_MAX + 8];
    size_t n = strlen(methods[i]);
    for (size_t k = 0; k <= n; k++) name[k] = (char)tolower((unsigned char)methods[i][k]);
    for (int json = 0; json <= 1; json++) {
      if (json) strcat(name, "_json");
      lua_pushstring(L, methods[i]);
      lua_pushfstring(L, "http.%s", name);
      lua_pushboolean(L, json);
      lua_pushcclosure(L, lc_http_method_fn, 3);
      lua_setfield(L, -2, name);
    }
  }
  return 1;
}
