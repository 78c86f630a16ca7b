/* lc_amqp.c: the "amqp" host module on librabbitmq (rabbitmq-c 0.11).
 *
 * amqp.connect(url, opts) returns a connection object (a userdata whose __gc closes
 * the socket, so a script error or lua_close never leaks it) with one channel for
 * declares and publishes and, while consuming, a second channel for the consumer.
 * Closing the consumer channel is how a consumer stops: deliveries still in flight
 * arrive tagged with the old channel and are dropped, so a new consumer never sees
 * another's messages.
 *
 * Every wait is bounded by its own timeout and by the call's time budget. Broker
 * errors carry the reply code and text ("404 NOT_FOUND - no queue 'x'"); connection
 * failures name host:port. All errors are raised with LC_ERR_AMQP.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "host/lc_host.h"

#define LC_AMQP_CONN_MT "luaconn.amqp.connection"
#define LC_AMQP_TIMESTAMP_MT "luaconn.amqp.timestamp"
#define LC_AMQP_FRAME_MAX 131072
#define LC_AMQP_CHANNEL 1

/* A connection: owned by its Lua userdata; lc_amqp_shutdown frees everything. */
typedef struct lc_amqp {
  amqp_connection_state_t conn;    /* NULL once closed */
  char where[300];                 /* "host:port" for error messages */
  double rpc_timeout;              /* seconds per broker round trip */
  amqp_channel_t consumer_channel; /* 0 = not consuming */
  amqp_channel_t next_channel;
  bool confirming;          /* confirm.select done on LC_AMQP_CHANNEL */
  uint64_t published;       /* delivery tags handed out in confirm mode */
  uint64_t confirmed_below; /* every tag < this is confirmed */
  unsigned char *acked;     /* acked[tag - confirmed_below]: acks out of order */
  size_t acked_cap;
} lc_amqp;

/* ---- errors ------------------------------------------------------------------ */

/* Closes and frees the connection; the close waits one second at most, whatever
 * the budget (it also runs from __gc). */
static void lc_amqp_shutdown(lc_amqp *a) {
  if (a->conn) {
    struct timeval tv = {1, 0};
    amqp_set_rpc_timeout(a->conn, &tv);
    amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(a->conn);
    a->conn = NULL;
  }
  free(a->acked);
  a->acked = NULL;
  a->acked_cap = 0;
}

/* Writes "CODE TEXT" of a channel.close or connection.close into buf. */
static void lc_amqp_close_reason(const amqp_method_t *m, char *buf, size_t len) {
  if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
    const amqp_channel_close_t *c = m->decoded;
    snprintf(buf, len, "%u %.*s", c->reply_code, (int)c->reply_text.len,
             (const char *)c->reply_text.bytes);
  } else if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
    const amqp_connection_close_t *c = m->decoded;
    snprintf(buf, len, "%u %.*s", c->reply_code, (int)c->reply_text.len,
             (const char *)c->reply_text.bytes);
  } else {
    snprintf(buf, len, "unexpected method 0x%08x", m->id);
  }
}

/* Acknowledges a broker's close so the connection (or at least the other channel)
 * stays consistent; a closed connection is unusable afterwards. */
static void lc_amqp_ack_close(lc_amqp *a, amqp_channel_t channel, const amqp_method_t *m) {
  if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
    amqp_channel_close_ok_t ok = {0};
    amqp_send_method(a->conn, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    if (channel == LC_AMQP_CHANNEL) {
      /* The main channel is gone: reopen it so the connection stays usable. */
      amqp_channel_open(a->conn, LC_AMQP_CHANNEL);
      a->confirming = false;
    } else if (channel == a->consumer_channel) {
      a->consumer_channel = 0;
    }
  } else if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
    amqp_connection_close_ok_t ok = {0};
    amqp_send_method(a->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    amqp_destroy_connection(a->conn);
    a->conn = NULL;
  }
}

/* Raises the error a close frame or a library status describes. */
static int lc_amqp_raise_close(lua_State *L, lc_amqp *a, amqp_channel_t channel,
                               const amqp_method_t *m, const char *what) {
  char reason[400];
  lc_amqp_close_reason(m, reason, sizeof reason);
  bool whole = m->id == AMQP_CONNECTION_CLOSE_METHOD;
  lc_amqp_ack_close(a, channel, m);
  return lc_state_raise(L, LC_ERR_AMQP, "amqp: %s failed: broker closed the %s: %s", what,
                        whole ? "connection" : "channel", reason);
}

static int lc_amqp_raise_status(lua_State *L, lc_amqp *a, int status, const char *what) {
  /* After a socket error, timeout or heartbeat loss the framing state is unknown. */
  lc_amqp_shutdown(a);
  return lc_state_raise(L, LC_ERR_AMQP, "amqp: %s failed on %s: %s", what, a->where,
                        amqp_error_string2(status));
}

/* Raises unless reply is a normal reply. */
static void lc_amqp_check_reply(lua_State *L, lc_amqp *a, amqp_rpc_reply_t reply,
                                amqp_channel_t channel, const char *what) {
  switch (reply.reply_type) {
  case AMQP_RESPONSE_NORMAL: return;
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    lc_amqp_raise_close(L, a, channel, &reply.reply, what);
    return;
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    lc_amqp_raise_status(L, a, reply.library_error, what);
    return;
  default: lc_amqp_raise_status(L, a, AMQP_STATUS_UNEXPECTED_STATE, what);
  }
}

static void lc_amqp_check_status(lua_State *L, lc_amqp *a, int status, const char *what) {
  if (status != AMQP_STATUS_OK) lc_amqp_raise_status(L, a, status, what);
}

/* ---- time -------------------------------------------------------------------- */

/* The smaller of seconds and the call's time left; raises when the budget is spent. */
static struct timeval lc_amqp_budget(lua_State *L, double seconds) {
  lc_state_check_deadline(L);
  double left = lc_state_time_left(lc_state_get(L));
  if (seconds > left) seconds = left;
  if (seconds < 0) seconds = 0;
  struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - floor(seconds)) * 1e6)};
  return tv;
}

static void lc_amqp_arm_rpc(lua_State *L, lc_amqp *a) {
  struct timeval tv = lc_amqp_budget(L, a->rpc_timeout);
  amqp_set_rpc_timeout(a->conn, &tv);
}

/* ---- Lua values <-> AMQP field tables ---------------------------------------- */

static amqp_bytes_t lc_amqp_bytes(lua_State *L, int idx) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  return (amqp_bytes_t){len, (void *)s};
}

static amqp_bytes_t lc_amqp_check_bytes(lua_State *L, int idx) {
  luaL_checkstring(L, idx);
  return lc_amqp_bytes(L, idx);
}

/* Fills *v from the Lua value at idx (kept on the stack by the caller, since
 * strings point into it). Integral numbers become I64, others F64. */
static void lc_amqp_to_field(lua_State *L, int idx, const char *key, amqp_field_value_t *v) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN:
    v->kind = AMQP_FIELD_KIND_BOOLEAN;
    v->value.boolean = lua_toboolean(L, idx);
    return;
  case LUA_TNUMBER: {
    double d = lua_tonumber(L, idx);
    if (d == floor(d) && fabs(d) < 9.2e18) {
      v->kind = AMQP_FIELD_KIND_I64;
      v->value.i64 = (int64_t)d;
    } else {
      v->kind = AMQP_FIELD_KIND_F64;
      v->value.f64 = d;
    }
    return;
  }
  case LUA_TSTRING:
    v->kind = AMQP_FIELD_KIND_UTF8;
    v->value.bytes = lc_amqp_bytes(L, idx);
    return;
  case LUA_TTABLE:
    if (lua_getmetatable(L, idx)) {
      luaL_getmetatable(L, LC_AMQP_TIMESTAMP_MT);
      bool stamp = lua_rawequal(L, -1, -2);
      lua_pop(L, 2);
      if (stamp) {
        lua_rawgeti(L, idx, 1);
        v->kind = AMQP_FIELD_KIND_TIMESTAMP;
        v->value.u64 = (uint64_t)lua_tonumber(L, -1);
        lua_pop(L, 1);
        return;
      }
    }
    /* fall through */
  default:
    luaL_error(L, "amqp: argument '%s' must be a string, number, boolean or amqp.timestamp, got %s",
               key, luaL_typename(L, idx));
  }
}

/* Builds a field table from the Lua table at idx (nil = empty). Entries live in a
 * userdata left on the stack, so they are collected even if a later step raises. */
static amqp_table_t lc_amqp_to_table(lua_State *L, int idx) {
  amqp_table_t t = {0, NULL};
  idx = lc_absindex(L, idx);
  if (lua_isnoneornil(L, idx)) {
    lua_pushnil(L);
    return t;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) n++;
  t.entries = lua_newuserdata(L, (n ? n : 1) * sizeof *t.entries);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "amqp: argument names must be strings");
    amqp_table_entry_t *e = &t.entries[t.num_entries++];
    e->key = lc_amqp_bytes(L, -2);
    lc_amqp_to_field(L, -1, lua_tostring(L, -2), &e->value);
  }
  return t;
}

static void lc_amqp_push_table(lua_State *L, const amqp_table_t *t);

static void lc_amqp_push_field(lua_State *L, const amqp_field_value_t *v) {
  switch (v->kind) {
  case AMQP_FIELD_KIND_BOOLEAN: lua_pushboolean(L, v->value.boolean); break;
  case AMQP_FIELD_KIND_I8: lua_pushnumber(L, v->value.i8); break;
  case AMQP_FIELD_KIND_U8: lua_pushnumber(L, v->value.u8); break;
  case AMQP_FIELD_KIND_I16: lua_pushnumber(L, v->value.i16); break;
  case AMQP_FIELD_KIND_U16: lua_pushnumber(L, v->value.u16); break;
  case AMQP_FIELD_KIND_I32: lua_pushnumber(L, v->value.i32); break;
  case AMQP_FIELD_KIND_U32: lua_pushnumber(L, v->value.u32); break;
  case AMQP_FIELD_KIND_I64: lua_pushnumber(L, (double)v->value.i64); break;
  case AMQP_FIELD_KIND_U64:
  case AMQP_FIELD_KIND_TIMESTAMP: lua_pushnumber(L, (double)v->value.u64); break;
  case AMQP_FIELD_KIND_F32: lua_pushnumber(L, v->value.f32); break;
  case AMQP_FIELD_KIND_F64: lua_pushnumber(L, v->value.f64); break;
  case AMQP_FIELD_KIND_DECIMAL:
    lua_pushnumber(L, v->value.decimal.value / pow(10, v->value.decimal.decimals));
    break;
  case AMQP_FIELD_KIND_UTF8:
  case AMQP_FIELD_KIND_BYTES: lua_pushlstring(L, v->value.bytes.bytes, v->value.bytes.len); break;
  case AMQP_FIELD_KIND_TABLE: lc_amqp_push_table(L, &v->value.table); break;
  case AMQP_FIELD_KIND_ARRAY:
    lua_createtable(L, v->value.array.num_entries, 0);
    for (int i = 0; i < v->value.array.num_entries; i++) {
      lc_amqp_push_field(L, &v->value.array.entries[i]);
      lua_rawseti(L, -2, i + 1);
    }
    break;
  default: lua_pushnil(L); /* void */
  }
}

/* Adds the entries of t to the Lua table on top of the stack. */
static void lc_amqp_add_entries(lua_State *L, const amqp_table_t *t) {
  for (int i = 0; i < t->num_entries; i++) {
    lua_pushlstring(L, t->entries[i].key.bytes, t->entries[i].key.len);
    lc_amqp_push_field(L, &t->entries[i].value);
    lua_rawset(L, -3);
  }
}

static void lc_amqp_push_table(lua_State *L, const amqp_table_t *t) {
  lua_createtable(L, 0, t->num_entries);
  lc_amqp_add_entries(L, t);
}

/* ---- option helpers ---------------------------------------------------------- */

static double lc_amqp_opt_number(lua_State *L, int opts, const char *name, double dflt) {
  if (lua_isnoneornil(L, opts)) return dflt;
  lua_getfield(L, opts, name);
  double v = lua_isnil(L, -1) ? dflt : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static bool lc_amqp_opt_bool(lua_State *L, int opts, const char *name, bool dflt) {
  if (lua_isnoneornil(L, opts)) return dflt;
  lua_getfield(L, opts, name);
  bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Pushes opts[name] when it is a string and returns it, else pushes nothing. */
static const char *lc_amqp_opt_string(lua_State *L, int opts, const char *name) {
  if (lua_isnoneornil(L, opts)) return NULL;
  lua_getfield(L, opts, name);
  if (lua_isstring(L, -1)) return lua_tostring(L, -1);
  lua_pop(L, 1);
  return NULL;
}

static lc_amqp *lc_amqp_check(lua_State *L) {
  lc_amqp *a = luaL_checkudata(L, 1, LC_AMQP_CONN_MT);
  if (!a->conn) lc_state_raise(L, LC_ERR_AMQP, "amqp: the connection to %s is closed", a->where);
  return a;
}

/* ---- connect ----------------------------------------------------------------- */

/* Why a connection failed. rabbitmq-c reports a refused or unreachable peer only
 * as "a socket error", so one plain connect to the first address recovers the
 * system's reason ("connection refused"). */
static void lc_amqp_connect_reason(const char *host, int port, int status, char *buf, size_t len) {
  snprintf(buf, len, "%s", amqp_error_string2(status));
  if (status != AMQP_STATUS_SOCKET_ERROR) return;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  if (getaddrinfo(host, service, &hints, &ai) != 0 || !ai) return;
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  int err = 0;
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    err = errno;
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    socklen_t err_len = sizeof err;
    if (err == EINPROGRESS && poll(&pfd, 1, 1000) == 1)
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(ai);
  if (err && err != EINPROGRESS) {
    snprintf(buf, len, "%s", strerror(err));
    buf[0] = (char)tolower((unsigned char)buf[0]);
  }
}

/* Sets up certificate checks on an amqps socket: peers are verified against option
 * ca_file, else the default bundle (lc_tls_default_ca); verify = false turns the
 * checks off, with a warning. Returns the bundle used (NULL: none). */
static const char *lc_amqp_use_tls(lua_State *L, amqp_socket_t *sock, bool verify,
                                   const char *where) {
  lc_state *st = lc_state_get(L);
  amqp_ssl_socket_set_verify_peer(sock, verify);
  amqp_ssl_socket_set_verify_hostname(sock, verify);
  if (!verify)
    lc_state_log(st, LC_LOG_WARN,
                 "amqp: TLS certificate verification is OFF for %s (verify = false): "
                 "any server can pose as the broker",
                 where);
  const char *origin = "option 'ca_file'";
  const char *ca_file = lc_amqp_opt_string(L, 2, "ca_file");
  if (ca_file)
    lua_pop(L, 1); /* the string stays referenced by the options table */
  else
    ca_file = lc_tls_default_ca(&origin);
  if (!ca_file) return NULL;
  if (amqp_ssl_socket_set_cacert(sock, ca_file) != AMQP_STATUS_OK)
    lc_state_raise(L, LC_ERR_AMQP, "amqp: cannot load CA certificates from %s (%s)", ca_file,
                   origin);
  lc_state_log(st, LC_LOG_DEBUG, "amqp: verifying TLS peers against %s (%s)", ca_file, origin);
  return ca_file;
}

/* amqp.connect(url [, {timeout=, heartbeat=, ca_file=, verify=}]) -> connection */
static int lc_amqp_connect(lua_State *L) {
  size_t url_len;
  const char *url = luaL_checklstring(L, 1, &url_len);
  double timeout = lc_amqp_opt_number(L, 2, "timeout", 10);
  int heartbeat = (int)lc_amqp_opt_number(L, 2, "heartbeat", 30);
  bool verify = lc_amqp_opt_bool(L, 2, "verify", true);

  /* amqp_parse_url writes into its argument: parse a copy on the Lua stack. */
  char *copy = lua_newuserdata(L, url_len + 1);
  memcpy(copy, url, url_len + 1);
  struct amqp_connection_info info;
  if (amqp_parse_url(copy, &info) != AMQP_STATUS_OK)
    return lc_state_raise(
        L, LC_ERR_AMQP,
        "amqp: bad broker URL (expected amqp://user:pass@host:port/vhost or amqps://...)");
  lc_state_add_secret(lc_state_get(L), info.password, strlen(info.password));

  lc_amqp *a = lua_newuserdata(L, sizeof *a);
  memset(a, 0, sizeof *a);
  luaL_getmetatable(L, LC_AMQP_CONN_MT);
  lua_setmetatable(L, -2);
  snprintf(a->where, sizeof a->where, "%s:%d", info.host, info.port);
  a->rpc_timeout = timeout;
  a->next_channel = LC_AMQP_CHANNEL + 1;
  a->conn = amqp_new_connection();
  if (!a->conn) return lc_state_raise(L, LC_ERR_NOMEM, "amqp: out of memory");

  amqp_socket_t *sock = info.ssl ? amqp_ssl_socket_new(a->conn) : amqp_tcp_socket_new(a->conn);
  if (!sock) return lc_state_raise(L, LC_ERR_NOMEM, "amqp: cannot create a socket");
  const char *ca_file = NULL;
  if (info.ssl) ca_file = lc_amqp_use_tls(L, sock, verify, a->where);
  struct timeval tv = lc_amqp_budget(L, timeout);
  int status = amqp_socket_open_noblock(sock, info.host, info.port, &tv);
  if (status != AMQP_STATUS_OK) {
    char reason[200];
    lc_amqp_connect_reason(info.host, info.port, status, reason, sizeof reason);
    lc_amqp_shutdown(a);
    if (status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED ||
        status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED)
      return lc_state_raise(L, LC_ERR_AMQP,
                            "amqp: cannot connect to %s: %s (untrusted certificate: "
                            "verified against %s; set ca_file to the CA that signed it)",
                            a->where, reason, ca_file ? ca_file : "no CA bundle");
    return lc_state_raise(L, LC_ERR_AMQP, "amqp: cannot connect to %s: %s", a->where, reason);
  }
  amqp_set_handshake_timeout(a->conn, &tv);
  lc_amqp_arm_rpc(L, a);
  amqp_rpc_reply_t reply = amqp_login(a->conn, info.vhost, 0, LC_AMQP_FRAME_MAX, heartbeat,
                                      AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      reply.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
    lc_amqp_shutdown(a);
    return lc_state_raise(
        L, LC_ERR_AMQP, "amqp: %s refused the login as '%s' (wrong user, password or vhost '%s'?)",
        a->where, info.user, info.vhost);
  }
  lc_amqp_check_reply(L, a, reply, 0, "login");
  amqp_channel_open(a->conn, LC_AMQP_CHANNEL);
  lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), LC_AMQP_CHANNEL, "channel.open");
  return 1;
}

/* ---- queues and publishing --------------------------------------------------- */

/* conn:declare(queue [, {durable=, passive=, exclusive=, auto_delete=, arguments=}])
 * -> message_count, consumer_count */
static int lc_amqp_declare(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  amqp_bytes_t queue = lc_amqp_check_bytes(L, 2);
  bool passive = lc_amqp_opt_bool(L, 3, "passive", false);
  bool durable = lc_amqp_opt_bool(L, 3, "durable", true);
  bool exclusive = lc_amqp_opt_bool(L, 3, "exclusive", false);
  bool auto_delete = lc_amqp_opt_bool(L, 3, "auto_delete", false);
  if (!lua_isnoneornil(L, 3))
    lua_getfield(L, 3, "arguments");
  else
    lua_pushnil(L);
  amqp_table_t args = lc_amqp_to_table(L, -1);
  lc_amqp_arm_rpc(L, a);
  amqp_queue_declare_ok_t *ok = amqp_queue_declare(a->conn, LC_AMQP_CHANNEL, queue, passive,
                                                   durable, exclusive, auto_delete, args);
  lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), LC_AMQP_CHANNEL, "queue.declare");
  lua_pushnumber(L, ok->message_count);
  lua_pushnumber(L, ok->consumer_count);
  return 2;
}

/* conn:delete(queue) */
static int lc_amqp_delete(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  amqp_bytes_t queue = lc_amqp_check_bytes(L, 2);
  lc_amqp_arm_rpc(L, a);
  amqp_queue_delete(a->conn, LC_AMQP_CHANNEL, queue, 0, 0);
  lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), LC_AMQP_CHANNEL, "queue.delete");
  return 0;
}

/* Records a basic.ack / basic.nack for tag (all tags up to it when multiple). */
static void lc_amqp_record_ack(lua_State *L, lc_amqp *a, uint64_t tag, bool multiple, bool nack) {
  if (nack)
    lc_state_raise(L, LC_ERR_AMQP, "amqp: the broker refused (nacked) message %llu%s",
                   (unsigned long long)tag, multiple ? " and earlier ones" : "");
  if (tag < a->confirmed_below || tag > a->published) return;
  if (multiple) {
    uint64_t shift = tag + 1 - a->confirmed_below;
    memmove(a->acked, a->acked + shift, a->published + 1 - (tag + 1));
    a->confirmed_below = tag + 1;
  } else {
    a->acked[tag - a->confirmed_below] = 1;
  }
  size_t done = 0;
  while (a->confirmed_below + done <= a->published && a->acked[done]) done++;
  if (done) {
    memmove(a->acked, a->acked + done, a->published + 1 - a->confirmed_below - done);
    a->confirmed_below += done;
  }
}

/* conn:publish(routing_key, body [, {exchange=, message_id=, timestamp=, headers=,
 * content_type=, persistent=}]) -> delivery tag in confirm mode (else 0).
 * Confirms are on from the first publish; conn:wait_confirms() waits for them. */
static int lc_amqp_publish(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  amqp_bytes_t routing_key = lc_amqp_check_bytes(L, 2);
  amqp_bytes_t body = lc_amqp_check_bytes(L, 3);
  bool confirm = lc_amqp_opt_bool(L, 4, "confirm", true);
  const char *exchange = lc_amqp_opt_string(L, 4, "exchange");
  amqp_basic_properties_t props = {0};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = lc_amqp_opt_bool(L, 4, "persistent", true) ? 2 : 1;
  const char *s;
  if ((s = lc_amqp_opt_string(L, 4, "message_id"))) {
    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = amqp_cstring_bytes(s);
  }
  if ((s = lc_amqp_opt_string(L, 4, "content_type"))) {
    props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.content_type = amqp_cstring_bytes(s);
  }
  double stamp = lc_amqp_opt_number(L, 4, "timestamp", -1);
  if (stamp >= 0) {
    props._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    props.timestamp = (uint64_t)stamp;
  }
  if (!lua_isnoneornil(L, 4)) {
    lua_getfield(L, 4, "headers");
    if (!lua_isnil(L, -1)) {
      props._flags |= AMQP_BASIC_HEADERS_FLAG;
      props.headers = lc_amqp_to_table(L, -1);
    }
  }
  if (confirm && !a->confirming) {
    lc_amqp_arm_rpc(L, a);
    amqp_confirm_select(a->conn, LC_AMQP_CHANNEL);
    lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), LC_AMQP_CHANNEL, "confirm.select");
    a->confirming = true;
    a->published = 0;
    a->confirmed_below = 1;
  }
  if (a->confirming) {
    size_t need = a->published + 2 - a->confirmed_below;
    if (need > a->acked_cap) {
      size_t cap = a->acked_cap ? a->acked_cap * 2 : 1024;
      while (cap < need) cap *= 2;
      unsigned char *grown = realloc(a->acked, cap);
      if (!grown) return lc_state_raise(L, LC_ERR_NOMEM, "amqp: out of memory");
      memset(grown + a->acked_cap, 0, cap - a->acked_cap);
      a->acked = grown;
      a->acked_cap = cap;
    }
  }
  int status = amqp_basic_publish(a->conn, LC_AMQP_CHANNEL,
                                  exchange ? amqp_cstring_bytes(exchange) : amqp_empty_bytes,
                                  routing_key, 0, 0, &props, body);
  lc_amqp_check_status(L, a, status, "basic.publish");
  if (!a->confirming) {
    lua_pushnumber(L, 0);
    return 1;
  }
  a->published++;
  a->acked[a->published - a->confirmed_below] = 0;
  lua_pushnumber(L, (double)a->published);
  return 1;
}

/* Reads one frame with the given timeout; returns false on timeout. Handles acks,
 * nacks and closes; other frames (deliveries on a closed consumer channel) are
 * dropped. */
static bool lc_amqp_wait_frame(lua_State *L, lc_amqp *a, struct timeval *tv, const char *what) {
  amqp_frame_t frame;
  int status = amqp_simple_wait_frame_noblock(a->conn, &frame, tv);
  if (status == AMQP_STATUS_TIMEOUT) return false;
  lc_amqp_check_status(L, a, status, what);
  if (frame.frame_type != AMQP_FRAME_METHOD) return true;
  switch (frame.payload.method.id) {
  case AMQP_BASIC_ACK_METHOD: {
    const amqp_basic_ack_t *ack = frame.payload.method.decoded;
    lc_amqp_record_ack(L, a, ack->delivery_tag, ack->multiple, false);
    break;
  }
  case AMQP_BASIC_NACK_METHOD: {
    const amqp_basic_nack_t *nack = frame.payload.method.decoded;
    lc_amqp_record_ack(L, a, nack->delivery_tag, nack->multiple, true);
    break;
  }
  case AMQP_CHANNEL_CLOSE_METHOD:
  case AMQP_CONNECTION_CLOSE_METHOD:
    lc_amqp_raise_close(L, a, frame.channel, &frame.payload.method, what);
    break;
  default: break;
  }
  return true;
}

/* conn:wait_confirms([timeout]): waits until the broker confirmed every publish;
 * raises on a nack or when timeout (default: the RPC timeout) passes first. */
static int lc_amqp_wait_confirms(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  double timeout = luaL_optnumber(L, 2, a->rpc_timeout);
  double deadline = lc_now() + timeout;
  while (a->confirming && a->confirmed_below <= a->published) {
    double left = deadline - lc_now();
    if (left <= 0)
      return lc_state_raise(L, LC_ERR_AMQP,
                            "amqp: %llu of %llu messages unconfirmed by %s after %.3g s",
                            (unsigned long long)(a->published + 1 - a->confirmed_below),
                            (unsigned long long)a->published, a->where, timeout);
    struct timeval tv = lc_amqp_budget(L, left);
    lc_amqp_wait_frame(L, a, &tv, "waiting for publisher confirms");
    amqp_maybe_release_buffers(a->conn);
  }
  lua_pushnumber(L, (double)a->published);
  return 1;
}

/* ---- consuming ---------------------------------------------------------------- */

static void lc_amqp_close_consumer(lc_amqp *a) {
  if (a->conn && a->consumer_channel)
    amqp_channel_close(a->conn, a->consumer_channel, AMQP_REPLY_SUCCESS);
  a->consumer_channel = 0;
}

/* conn:consume(queue [, {prefetch=, arguments=, consumer_tag=}]) -> consumer tag.
 * Replaces a previous consumer of this connection. */
static int lc_amqp_consume(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  amqp_bytes_t queue = lc_amqp_check_bytes(L, 2);
  int prefetch = (int)lc_amqp_opt_number(L, 3, "prefetch", 500);
  if (!lua_isnoneornil(L, 3))
    lua_getfield(L, 3, "arguments");
  else
    lua_pushnil(L);
  amqp_table_t args = lc_amqp_to_table(L, -1);
  lc_amqp_arm_rpc(L, a);
  lc_amqp_close_consumer(a);
  amqp_channel_t ch = a->next_channel++;
  amqp_channel_open(a->conn, ch);
  lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), ch, "channel.open");
  a->consumer_channel = ch;
  amqp_basic_qos(a->conn, ch, 0, (uint16_t)prefetch, 0);
  lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), ch, "basic.qos");
  amqp_basic_consume_ok_t *ok =
      amqp_basic_consume(a->conn, ch, queue, amqp_empty_bytes, 0, 0, 0, args);
  lc_amqp_check_reply(L, a, amqp_get_rpc_reply(a->conn), ch, "basic.consume");
  lua_pushlstring(L, ok->consumer_tag.bytes, ok->consumer_tag.len);
  return 1;
}

/* Removes every key of the table at absolute index t. */
static void lc_amqp_clear(lua_State *L, int t) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, t);
  }
}

/* Sets t[key] to bytes, or to nil when flag is not among the properties' flags. */
static void lc_amqp_set_optional(lua_State *L, int t, const char *key, amqp_flags_t flags,
                                 amqp_flags_t flag, amqp_bytes_t bytes) {
  if (flags & flag)
    lua_pushlstring(L, bytes.bytes, bytes.len);
  else
    lua_pushnil(L);
  lua_setfield(L, t, key);
}

/* Fills the table at absolute index t (a fresh one, or a delivery table being
 * reused, together with its headers table) with a delivery: {delivery_tag, body,
 * routing_key, exchange, redelivered, message_id, timestamp, content_type, headers}.
 * Fields a message lacks are nil, so nothing of a previous delivery survives. */
static void lc_amqp_fill_delivery(lua_State *L, int t, const amqp_envelope_t *env) {
  const amqp_basic_properties_t *p = &env->message.properties;
  lua_pushnumber(L, (double)env->delivery_tag);
  lua_setfield(L, t, "delivery_tag");
  lua_pushlstring(L, env->message.body.bytes, env->message.body.len);
  lua_setfield(L, t, "body");
  lua_pushlstring(L, env->routing_key.bytes, env->routing_key.len);
  lua_setfield(L, t, "routing_key");
  lua_pushlstring(L, env->exchange.bytes, env->exchange.len);
  lua_setfield(L, t, "exchange");
  lua_pushboolean(L, env->redelivered);
  lua_setfield(L, t, "redelivered");
  lc_amqp_set_optional(L, t, "message_id", p->_flags, AMQP_BASIC_MESSAGE_ID_FLAG, p->message_id);
  lc_amqp_set_optional(L, t, "content_type", p->_flags, AMQP_BASIC_CONTENT_TYPE_FLAG,
                       p->content_type);
  if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG)
    lua_pushnumber(L, (double)p->timestamp);
  else
    lua_pushnil(L);
  lua_setfield(L, t, "timestamp");
  lua_getfield(L, t, "headers");
  if (lua_istable(L, -1)) {
    lc_amqp_clear(L, lc_absindex(L, -1));
  } else {
    lua_pop(L, 1);
    lua_createtable(L, 0, (p->_flags & AMQP_BASIC_HEADERS_FLAG) ? p->headers.num_entries : 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, t, "headers");
  }
  if (p->_flags & AMQP_BASIC_HEADERS_FLAG) lc_amqp_add_entries(L, &p->headers);
  lua_pop(L, 1);
}

/* conn:receive([timeout [, into]]) -> the next delivery of the current consumer, or
 * nil when none arrived within timeout seconds (default 5). With `into` (a delivery
 * table this call returned before) the delivery is written into that table and its
 * headers table instead of new ones: a reader of many messages then allocates no
 * tables per message, but must not keep a delivery past the next receive. */
static int lc_amqp_receive(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  double timeout = luaL_optnumber(L, 2, 5);
  bool reuse = !lua_isnoneornil(L, 3);
  if (reuse) luaL_checktype(L, 3, LUA_TTABLE);
  if (!a->consumer_channel)
    return lc_state_raise(L, LC_ERR_AMQP, "amqp: receive without a consumer (call consume first)");
  double deadline = lc_now() + timeout;
  for (;;) {
    double left = deadline - lc_now();
    if (left <= 0) return 0;
    struct timeval tv = lc_amqp_budget(L, left);
    amqp_maybe_release_buffers(a->conn);
    amqp_envelope_t env;
    amqp_rpc_reply_t reply = amqp_consume_message(a->conn, &env, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
      if (env.channel != a->consumer_channel) { /* from a consumer closed earlier */
        amqp_destroy_envelope(&env);
        continue;
      }
      if (reuse)
        lua_pushvalue(L, 3);
      else
        lua_createtable(L, 0, 9);
      lc_amqp_fill_delivery(L, lua_gettop(L), &env);
      amqp_destroy_envelope(&env);
      return 1;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      if (reply.library_error == AMQP_STATUS_TIMEOUT) continue;
      if (reply.library_error != AMQP_STATUS_UNEXPECTED_STATE)
        return lc_amqp_raise_status(L, a, reply.library_error, "receive");
    }
    /* A frame other than a delivery (a close, a cancel, a late ack): handle it. */
    struct timeval now = {0, 0};
    amqp_frame_t frame;
    int status = amqp_simple_wait_frame_noblock(a->conn, &frame, &now);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    lc_amqp_check_status(L, a, status, "receive");
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    amqp_method_number_t id = frame.payload.method.id;
    if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD)
      return lc_amqp_raise_close(L, a, frame.channel, &frame.payload.method, "receive");
    if (id == AMQP_BASIC_CANCEL_METHOD && frame.channel == a->consumer_channel)
      return lc_state_raise(L, LC_ERR_AMQP,
                            "amqp: the broker cancelled the consumer (queue deleted?)");
  }
}

/* conn:ack(delivery_tag [, multiple]): on a stream queue this only grants credit. */
static int lc_amqp_ack(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  uint64_t tag = (uint64_t)luaL_checknumber(L, 2);
  if (!a->consumer_channel) return lc_state_raise(L, LC_ERR_AMQP, "amqp: ack without a consumer");
  lc_amqp_check_status(L, a, amqp_basic_ack(a->conn, a->consumer_channel, tag, lua_toboolean(L, 3)),
                       "basic.ack");
  return 0;
}

/* conn:cancel(): stops the consumer; deliveries still in flight are dropped. */
static int lc_amqp_cancel(lua_State *L) {
  lc_amqp *a = lc_amqp_check(L);
  lc_amqp_arm_rpc(L, a);
  lc_amqp_close_consumer(a);
  return 0;
}

static int lc_amqp_close(lua_State *L) {
  lc_amqp_shutdown(luaL_checkudata(L, 1, LC_AMQP_CONN_MT));
  return 0;
}

/* conn:is_open(): false once closed, by the script or by a failure. */
static int lc_amqp_is_open(lua_State *L) {
  lc_amqp *a = luaL_checkudata(L, 1, LC_AMQP_CONN_MT);
  lua_pushboolean(L, a->conn != NULL);
  return 1;
}

static int lc_amqp_tostring(lua_State *L) {
  lc_amqp *a = luaL_checkudata(L, 1, LC_AMQP_CONN_MT);
  lua_pushfstring(L, "amqp connection to %s%s", a->where, a->conn ? "" : " (closed)");
  return 1;
}

/* amqp.timestamp(seconds): a value sent as an AMQP timestamp (e.g. x-stream-offset). */
static int lc_amqp_timestamp(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  lua_createtable(L, 1, 0);
  lua_pushnumber(L, floor(seconds));
  lua_rawseti(L, -2, 1);
  luaL_getmetatable(L, LC_AMQP_TIMESTAMP_MT);
  lua_setmetatable(L, -2);
  return 1;
}

int lc_open_amqp(lua_State *L) {
  static const luaL_Reg methods[] = {{"declare", lc_amqp_declare},
                                     {"delete", lc_amqp_delete},
                                     {"publish", lc_amqp_publish},
                                     {"wait_confirms", lc_amqp_wait_confirms},
                                     {"consume", lc_amqp_consume},
                                     {"receive", lc_amqp_receive},
                                     {"ack", lc_amqp_ack},
                                     {"cancel", lc_amqp_cancel},
                                     {"close", lc_amqp_close},
                                     {"is_open", lc_amqp_is_open},
                                     {NULL, NULL}};
  luaL_newmetatable(L, LC_AMQP_TIMESTAMP_MT);
  lua_pop(L, 1);
  if (luaL_newmetatable(L, LC_AMQP_CONN_MT)) {
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lc_amqp_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lc_amqp_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, lc_amqp_connect);
  lua_setfield(L, -2, "connect");
  lua_pushcfunction(L, lc_amqp_timestamp);
  lua_setfield(L, -2, "timestamp");
  return 1;
}
