/* lc_http.c: the "http" host module on libcurl.
 *
 * One curl easy handle per lua_State (in the state's lc_http singleton) so connections stay
 * alive between requests; curl_easy_reset before each request clears options but
 * keeps the connection cache. Response bodies land in a buffer reused across
 * requests and reach Lua as one string. Transient failures (connection errors,
 * timeouts, 408/429/5xx gateway statuses) are retried with exponential backoff that
 * honours Retry-After, inside the call's time budget. http.configure{rate_limit = N}
 * spaces every request (retries included) at least 1/N s apart, by sleeping.
 *
 * Record and replay (lc_config.http_record / http_replay): each request's final
 * response is stored as DIR/<hash of method, URL and body>.json, secrets redacted,
 * or answered from there without a network; a request not in the recording fails.
 *
 * Memory a request allocates in C (its header list, its encoded JSON body) hangs
 * off the per-state data until the next request or the state closes, so a Lua error
 * raised mid-request leaks nothing.
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

/* Per-state data: a userdata the state holds (lc_state_singleton), freed by __gc. */
typedef struct lc_http {
  CURL *curl;
  lc_http_buffer body; /* last response's body */
  lc_http_buffer head; /* last response's header block */
  size_t body_limit;   /* the state's memory cap; 0 = none */
  bool body_too_large;
  struct curl_slist *request_headers; /* the current request's */
  struct curl_slist *hop_headers;     /* request_headers without credentials: what a
                                          redirect to another origin carries */
  char *request_json;                 /* the current request's encoded json body */
  lc_http_settings defaults;          /* set by http.configure */
  double min_interval;                /* seconds between requests (rate_limit); 0 = none */
  double last_request;                /* lc_now() when the last request started */
  double not_before;                  /* lc_now() before which no request starts: a
                                          rate limit the server said is used up */
  char *replayed_url;                 /* the last response's URL when replayed; owned */
  size_t secrets_recorded;            /* the state's secret count when the recording
                                          was last written */
  char *ca_file;                      /* CA bundle HTTPS peers are verified against */
  bool insecure;                      /* http.configure{verify = false} */
  char error[CURL_ERROR_SIZE];
} lc_http;

typedef struct lc_http_request {
  char method[LC_HTTP_METHOD_MAX];
  const char *url;  /* with the query appended; a string on the Lua stack */
  const char *body; /* NULL = no body */
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
} lc_http_outcome;

static char lc_http_headers_key; /* registry: default headers from http.configure */

/* ---- per-state data --------------------------------------------------------- */

static char lc_http_key; /* registry: the state's lc_http */

static int lc_http_gc(lua_State *L) {
  lc_http *h = lua_touserdata(L, 1);
  if (h->curl) curl_easy_cleanup(h->curl);
  curl_slist_free_all(h->request_headers);
  curl_slist_free_all(h->hop_headers);
  free(h->request_json);
  free(h->replayed_url);
  free(h->ca_file);
  free(h->body.data);
  free(h->head.data);
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
  if (h->curl) return h;
  pthread_once(&lc_http_once, lc_http_global_init);
  if (!(h->curl = curl_easy_init()))
    luaL_error(L, "http: cannot create a curl handle (out of memory)");
  h->defaults = LC_HTTP_DEFAULTS;
  lc_http_use_ca(L, h, NULL);
  return h;
}

/* Frees what the previous request allocated. */
static void lc_http_forget_request(lc_http *h) {
  curl_slist_free_all(h->request_headers);
  h->request_headers = NULL;
  curl_slist_free_all(h->hop_headers);
  h->hop_headers = NULL;
  free(h->request_json);
  h->request_json = NULL;
  free(h->replayed_url);
  h->replayed_url = NULL;
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

static size_t lc_http_on_body(char *data, size_t size, size_t nmemb, void *ud) {
  lc_http *h = ud;
  size_t n = size * nmemb;
  if (h->body_limit && h->body.len + n > h->body_limit) {
    h->body_too_large = true;
    return 0;
  }
  return lc_http_buffer_append(&h->body, data, n) ? n : 0;
}

/* Keeps the header block of the last response only (redirects and 100 Continue
 * each start a new one with a status line). */
static size_t lc_http_on_header(char *data, size_t size, size_t nmemb, void *ud) {
  lc_http *h = ud;
  size_t n = size * nmemb;
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) h->head.len = 0;
  return lc_http_buffer_append(&h->head, data, n) ? n : 0;
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

static void lc_http_append_header(lua_State *L, lc_http *h, const char *line) {
  struct curl_slist *grown = curl_slist_append(h->request_headers, line);
  if (!grown) luaL_error(L, "http: out of memory");
  h->request_headers = grown;
}

/* Adds the header entry on top of the stack (key -2, value -1) to the request. */
static void lc_http_add_header(lua_State *L, lc_http *h, lc_state *st, const char *fname) {
  size_t len;
  const char *value = lc_http_header_entry(L, fname, &len);
  if (!value) return;
  const char *name = lua_tostring(L, -2);
  lc_http_register_credential(st, name, value, len);
  /* "Name;" is curl's way to send a header with an empty value. */
  lua_pushfstring(L, len ? "%s: %s" : "%s;", name, value);
  lc_http_append_header(L, h, lua_tostring(L, -1));
  lua_pop(L, 1);
}

/* Builds the request's header list: its own headers (table at idx, may be nil)
 * over the configured defaults. Content-Type defaults to JSON for json bodies. */
static void lc_http_build_headers(lua_State *L, lc_http *h, lc_state *st, const char *fname,
                                  int idx, bool json_body) {
  bool own = !lua_isnil(L, idx);
  if (own && !lua_istable(L, idx)) luaL_error(L, "%s: option 'headers' must be a table", fname);
  bool have_content_type = false;
  if (own) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lc_http_add_header(L, h, st, fname);
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
      lc_http_add_header(L, h, st, fname);
      if (strcasecmp(name, "content-type") == 0) have_content_type = true;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (json_body && !have_content_type)
    lc_http_append_header(L, h, "Content-Type: application/json");
  /* Without this curl waits for "100 Continue" before sending larger bodies. */
  lc_http_append_header(L, h, "Expect:");
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

/* Fills req from the options at opts_idx; method and url come from the options
 * when method is NULL. Leaves the final URL on the stack. */
static void lc_http_read_request(lua_State *L, lc_http *h, lc_state *st, const char *fname,
                                 const char *method, int url_idx, int opts_idx,
                                 lc_http_request *req) {
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
    if (lc_json_encode(L, -2, &h->request_json, err, sizeof err) != LC_OK)
      luaL_error(L, "%s: cannot encode the json body: %s", fname, err);
    req->body = h->request_json;
    req->body_len = strlen(h->request_json);
  } else if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: option 'body' must be a string", fname);
    /* The options table keeps the string alive for the request. */
    req->body = lua_tolstring(L, -1, &req->body_len);
  }
  lua_pop(L, 2);

  lua_getfield(L, opts_idx, "headers");
  lc_http_build_headers(L, h, st, fname, lua_gettop(L), json_body);
  lua_pop(L, 1);

  lua_getfield(L, opts_idx, "query");
  req->url = lc_http_push_url(L, h->curl, fname, url_idx, lua_gettop(L));
  lua_remove(L, -2);
}

/* ---- performing ------------------------------------------------------------------ */

static void lc_http_setup(lc_http *h, const lc_http_request *req) {
  CURL *c = h->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, req->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->error);
  if (h->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
  if (h->insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  /* Scripts must not reach file:// or other protocols through curl. */
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Redirects are followed by lc_http_transfer, which drops credentials. */
  curl_easy_setopt(c, CURLOPT_USERAGENT, LC_HTTP_USER_AGENT);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->request_headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, lc_http_on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, lc_http_on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
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

/* The value of the last response's header `name` (any case) into out; false when
 * absent. */
static bool lc_http_header_value(const lc_http *h, const char *name, char *out, size_t outlen) {
  size_t name_len = strlen(name);
  for (const char *line = h->head.data; line && *line;) {
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

/* Seconds until the server's rate limit resets when the last response says it is
 * used up (X-RateLimit-Remaining: 0 with X-RateLimit-Reset as epoch seconds or
 * seconds, IETF RateLimit-Remaining/-Reset or RateLimit: remaining/r, reset/t);
 * 0 otherwise. */
static double lc_http_rate_limit_wait(const lc_http *h) {
  char value[256];
  double remaining = -1, reset = -1;
  if (lc_http_header_value(h, "x-ratelimit-remaining", value, sizeof value) ||
      lc_http_header_value(h, "ratelimit-remaining", value, sizeof value))
    remaining = strtod(value, NULL);
  if (lc_http_header_value(h, "x-ratelimit-reset", value, sizeof value) ||
      lc_http_header_value(h, "ratelimit-reset", value, sizeof value))
    reset = strtod(value, NULL);
  if (lc_http_header_value(h, "ratelimit", value, sizeof value)) {
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
static const char *lc_http_failure_text(const lc_http *h, CURLcode rc) {
  if (h->body_too_large) return "response body exceeds the connector's memory limit";
  if (rc == CURLE_WRITE_ERROR) return "out of memory storing the response";
  return h->error[0] ? h->error : curl_easy_strerror(rc);
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
static bool lc_http_strip_credentials(lc_state *st, lc_http *h) {
  curl_slist_free_all(h->hop_headers);
  h->hop_headers = NULL;
  for (const struct curl_slist *e = h->request_headers; e; e = e->next) {
    char name[LC_HTTP_HEADER_NAME_MAX];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(e->data, ":;"), e->data);
    char *redacted = lc_state_redact(st, e->data);
    bool secret = !redacted || strcmp(redacted, e->data) != 0;
    free(redacted);
    if (secret || lc_http_is_credential(name)) continue;
    struct curl_slist *grown = curl_slist_append(h->hop_headers, e->data);
    if (!grown) return false;
    h->hop_headers = grown;
  }
  return true;
}

/* Performs the request set up on the handle and follows its redirects. curl would
 * send every custom header (X-API-Key, a token in X-Whatever) to whatever host a
 * Location names; here credentials stay with the origin the request was made to. */
static CURLcode lc_http_transfer(lc_state *st, lc_http *h, const lc_http_request *req) {
  char origin[LC_HTTP_ORIGIN_MAX] = "", next_origin[LC_HTTP_ORIGIN_MAX];
  lc_http_origin(req->url, origin, sizeof origin);
  bool stripped = false;
  CURLcode rc = curl_easy_perform(h->curl);
  for (long hops = 0; rc == CURLE_OK; hops++) {
    long status = 0;
    char *location = NULL;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &location);
    if (status < 300 || status > 399 || !location) return rc;
    if (hops == LC_HTTP_MAX_REDIRECTS) {
      snprintf(h->error, sizeof h->error, "more than %ld redirects", LC_HTTP_MAX_REDIRECTS);
      return CURLE_TOO_MANY_REDIRECTS;
    }
    char *next = strdup(location);
    if (!next) return CURLE_OUT_OF_MEMORY;
    if (!stripped && (!lc_http_origin(next, next_origin, sizeof next_origin) ||
                      strcasecmp(origin, next_origin) != 0)) {
      stripped = true;
      if (!lc_http_strip_credentials(st, h)) rc = CURLE_OUT_OF_MEMORY;
      curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hop_headers);
    }
    /* 303, and 301/302 after a POST, continue as a GET without the body (as curl does). */
    if (strcmp(req->method, "HEAD") != 0 &&
        (status == 303 || ((status == 301 || status == 302) && strcmp(req->method, "POST") == 0))) {
      curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
    }
    curl_easy_setopt(h->curl, CURLOPT_URL, next);
    free(next);
    if (rc != CURLE_OK) return rc;
    h->body.len = h->head.len = 0;
    h->error[0] = '\0';
    rc = curl_easy_perform(h->curl);
  }
  return rc;
}

/* Waits until the rate limit allows the next request (never a busy loop: one sleep,
 * which raises instead of sleeping past the call's deadline). */
static void lc_http_pace(lua_State *L, lc_state *st, lc_http *h, const lc_http_request *req) {
  double wait = h->not_before - lc_now();
  if (wait > 0 && wait >= lc_state_time_left(st))
    lc_state_raise(L, LC_ERR_HTTP,
                   "%s %s: the server's rate limit is used up and resets in %.0f s, past the "
                   "call's time limit",
                   req->method, req->url, wait);
  if (h->min_interval > 0 && h->last_request > 0)
    wait = fmax(wait, h->last_request + h->min_interval - lc_now());
  if (wait > 0) lc_state_sleep(L, wait);
  h->last_request = lc_now();
}

/* Runs the request, retrying transient failures. Raises only for the time budget. */
static void lc_http_perform(lua_State *L, lc_state *st, lc_http *h, const lc_http_request *req,
                            lc_http_outcome *out) {
  memset(out, 0, sizeof *out);
  h->body_limit = st->mem_limit;
  for (int attempt = 1;; attempt++) {
    lc_state_check_deadline(L);
    lc_http_pace(L, st, h, req);
    lc_http_setup(h, req); /* URL, headers and method as before any redirect */
    double total = fmin(req->settings.timeout, lc_state_time_left(st));
    double connect = fmin(req->settings.connect_timeout, total);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)ceil(total * 1000));
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(connect * 1000));
    h->body.len = h->head.len = 0;
    h->body_too_large = false;
    h->error[0] = '\0';
    double start = lc_now();
    out->rc = lc_http_transfer(st, h, req);
    out->attempts = attempt;
    out->status = 0;
    if (out->rc == CURLE_OK) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &out->status);
    double ms = (lc_now() - start) * 1000;
    char result[CURL_ERROR_SIZE + 32];
    if (out->rc == CURLE_OK)
      snprintf(result, sizeof result, "HTTP %ld, %zu bytes", out->status, h->body.len);
    else
      snprintf(result, sizeof result, "%s", lc_http_failure_text(h, out->rc));
    lc_state_log(st, LC_LOG_DEBUG, "%s %s -> %s, %.0f ms", req->method, req->url, result, ms);
    /* A timeout cut short by the call's budget is the budget's error. */
    if (out->rc != CURLE_OK) lc_state_check_deadline(L);

    double limit_wait = out->rc == CURLE_OK ? lc_http_rate_limit_wait(h) : 0;
    bool transient = out->rc == CURLE_OK ? lc_http_retried_status(&req->settings, out->status)
                                         : lc_http_transient_error(out->rc);
    if (!transient) h->not_before = limit_wait > 0 ? lc_now() + limit_wait : 0;
    if (!transient || attempt > req->settings.retries) return;
    double wait = fmin(req->settings.backoff * pow(2, attempt - 1), req->settings.max_backoff);
    /* Retry-After in seconds or as an HTTP date (curl turns both into seconds). */
    curl_off_t retry_after = 0;
    if (out->rc == CURLE_OK &&
        curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
      wait = fmax(wait, (double)retry_after);
    wait = fmax(wait, limit_wait);
    if (wait >= lc_state_time_left(st)) {
      out->refused_wait = wait;
      return;
    }
    lc_state_log(st, LC_LOG_INFO, "%s %s: %s, retrying in %.2f s (attempt %d of %d)", req->method,
                 req->url, result, wait, attempt + 1, req->settings.retries + 1);
    lc_state_sleep(L, wait);
  }
}

/* The reason phrase of the status line starting the header block ("Not Found"). */
static void lc_http_reason(const lc_http *h, char *out, size_t outlen) {
  out[0] = '\0';
  if (!h->head.data) return;
  const char *p = strchr(h->head.data, ' ');
  if (p) p = strchr(p + 1, ' ');
  if (!p) return;
  p++;
  snprintf(out, outlen, "%.*s", (int)strcspn(p, "\r\n"), p);
}

/* Raises the error for a request that failed for good. */
static int lc_http_fail(lua_State *L, lc_state *st, const lc_http *h, const lc_http_request *req,
                        const lc_http_outcome *out) {
  char message[LC_ERRMSG_MAX], waited[96] = "";
  if (out->refused_wait > 0)
    snprintf(waited, sizeof waited, " (a retry was due in %.1f s, past the call's time limit)",
             out->refused_wait);
  if (out->rc != CURLE_OK) {
    char attempts[48] = "";
    if (out->attempts > 1)
      snprintf(attempts, sizeof attempts, " (after %d attempts)", out->attempts);
    char trust[512] = "";
    if (out->rc == CURLE_PEER_FAILED_VERIFICATION)
      snprintf(trust, sizeof trust,
               " (untrusted certificate: verified against %s; "
               "set ca_file to the CA that signed it)",
               h->ca_file ? h->ca_file : "libcurl's default");
    snprintf(message, sizeof message, "%s %s: %s%s%s%s", req->method, req->url,
             lc_http_failure_text(h, out->rc), trust, attempts, waited);
    return lc_state_raise(L, LC_ERR_HTTP, "%s", message);
  }
  char attempts[48] = "";
  if (out->attempts > 1) snprintf(attempts, sizeof attempts, " after %d attempts", out->attempts);
  char reason[64], excerpt[LC_HTTP_BODY_IN_ERROR + 1];
  lc_http_reason(h, reason, sizeof reason);
  size_t n = h->body.len < LC_HTTP_BODY_IN_ERROR ? h->body.len : LC_HTTP_BODY_IN_ERROR;
  /* Cut at a character boundary and keep the message on one line. */
  while (n < h->body.len && n > 0 && ((unsigned char)h->body.data[n] & 0xC0) == 0x80) n--;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)h->body.data[i];
    excerpt[i] = ch < 0x20 ? ' ' : (char)ch;
  }
  excerpt[n] = '\0';
  snprintf(message, sizeof message, "%s %s: HTTP %ld%s%s%s%s%s%s", req->method, req->url,
           out->status, reason[0] ? " " : "", reason, attempts, waited, n ? ": " : "", excerpt);
  return lc_state_raise(L, LC_ERR_HTTP, "%s", message);
}

/* Pushes the last response's headers as {lowercase-name = value}; repeated
 * headers are joined with ", ". */
static void lc_http_push_headers(lua_State *L, lc_http *h) {
  lua_newtable(L);
  if (!h->head.data) return;
  char *line = strstr(h->head.data, "\n"); /* skip the status line */
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
static void lc_http_push_response(lua_State *L, lc_http *h, const lc_http_outcome *out) {
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, out->status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, h->body.data ? h->body.data : "", h->body.len);
  lua_setfield(L, -2, "body");
  lc_http_push_headers(L, h);
  lua_setfield(L, -2, "headers");
  char *url = h->replayed_url;
  if (!url) curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &url);
  lua_pushstring(L, url ? url : "");
  lua_setfield(L, -2, "url");
  lua_pushinteger(L, out->attempts);
  lua_setfield(L, -2, "attempts");
  /* 0 when the request went over a connection kept alive from an earlier one. */
  long connects = 0;
  if (!h->replayed_url) curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects);
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

/* Stores the response of req (out, h) under dir. A secret first seen since the
 * last write (an OAuth2 token that arrived in a response) rewrites every file. */
static void lc_http_record(lua_State *L, lc_state *st, lc_http *h, const lc_http_request *req,
                           const lc_http_outcome *out, const char *dir) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    luaL_error(L, "http: cannot create the recording directory %s: %s", dir, strerror(errno));
  char path[4096];
  lc_http_push_tape(L);
  int tape = lua_gettop(L);
  lc_http_push_tape_key(L, st, req, dir, path, sizeof path);
  lua_pushvalue(L, -1);
  lua_rawget(L, tape);
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
  lua_pushinteger(L, out->status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, h->head.data ? h->head.data : "", h->head.len);
  lua_setfield(L, -2, "head");
  lua_pushlstring(L, h->body.data ? h->body.data : "", h->body.len);
  lua_setfield(L, -2, "body");
  char *url = NULL;
  curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &url);
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

/* Answers req from the recording in dir: fills h's body and header block and out. */
static void lc_http_replay(lua_State *L, lc_state *st, lc_http *h, const lc_http_request *req,
                           lc_http_outcome *out, const char *dir) {
  char path[4096];
  lc_http_push_tape(L);
  int tape = lua_gettop(L);
  lc_http_push_tape_key(L, st, req, dir, path, sizeof path);
  lua_pushvalue(L, -1);
  lua_rawget(L, tape);
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
  h->body.len = h->head.len = 0;
  size_t len;
  const char *text;
  lua_getfield(L, -2, "head");
  text = lua_tolstring(L, -1, &len);
  if (text && !lc_http_buffer_append(&h->head, text, len)) luaL_error(L, "http: out of memory");
  lua_getfield(L, -3, "body");
  text = lua_tolstring(L, -1, &len);
  if (text && !lc_http_buffer_append(&h->body, text, len)) luaL_error(L, "http: out of memory");
  lua_getfield(L, -4, "url");
  h->replayed_url = strdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : req->url);
  if (!h->replayed_url) luaL_error(L, "http: out of memory");
  lc_state_log(st, LC_LOG_DEBUG, "%s %s -> HTTP %ld, %zu bytes (replayed)", req->method, req->url,
               out->status, h->body.len);
  lua_settop(L, tape - 1);
}

/* Performs one request and pushes the response table, or raises. */
static int lc_http_run(lua_State *L, const char *fname, const char *method, int url_idx,
                       int opts_idx) {
  lc_state *st = lc_state_get(L);
  lc_http *h = lc_http_get(L);
  lc_http_forget_request(h);
  lc_http_request req;
  lc_http_read_request(L, h, st, fname, method, url_idx, opts_idx, &req);
  lc_http_outcome out;
  const lc_config *cfg = &st->rt->config;
  if (cfg->http_replay) {
    lc_http_replay(L, st, h, &req, &out, cfg->http_replay);
  } else {
    lc_http_perform(L, st, h, &req, &out);
    if (cfg->http_record && out.rc == CURLE_OK)
      lc_http_record(L, st, h, &req, &out, cfg->http_record);
  }
  if (out.rc != CURLE_OK || !lc_http_status_accepted(&req, out.status))
    return lc_http_fail(L, st, h, &req, &out);
  lc_http_push_response(L, h, &out);
  lua_remove(L, -2); /* the URL */
  return 1;
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
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  lua_createtable(L, 0, 12);
  lua_pushcfunction(L, lc_http_request_fn);
  lua_setfield(L, -2, "request");
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
