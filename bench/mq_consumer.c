/* mq_consumer.c: the limit of a RabbitMQ stream read, a bare librabbitmq consumer that
 * reads a stream range as rabbitmq.lua does (one connection, basic.consume at
 * x-stream-offset = START with the same prefetch, one multiple-ack per half prefetch)
 * and does nothing with the messages: no conversion, no Lua, no rows.
 *
 * usage: mq-consumer AMQP_URL QUEUE START COUNT PREFETCH
 * prints: messages seconds   (from connecting to the COUNT-th delivery)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

static void die(const char *what, const char *detail) {
  fprintf(stderr, "mq-consumer: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static void check_reply(amqp_rpc_reply_t reply, const char *what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
    die(what, amqp_error_string2(reply.library_error));
  die(what, "the broker refused it");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 6) die("usage: mq-consumer AMQP_URL QUEUE START COUNT PREFETCH", NULL);
  struct amqp_connection_info info;
  char *url = strdup(argv[1]); /* amqp_parse_url points info into it; freed at exit */
  if (!url || amqp_parse_url(url, &info) != AMQP_STATUS_OK) die("bad AMQP URL", NULL);
  const char *queue = argv[2];
  int64_t start = strtoll(argv[3], NULL, 10);
  long count = strtol(argv[4], NULL, 10);
  int prefetch = atoi(argv[5]);
  if (count <= 0 || prefetch <= 0 || prefetch > 65535)
    die("COUNT and PREFETCH must be positive", NULL);

  double began = now(); /* as luaconn's read: connecting counts */
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t *socket = amqp_tcp_socket_new(conn);
  if (!socket || amqp_socket_open(socket, info.host, info.port) != AMQP_STATUS_OK)
    die("cannot connect to the broker", NULL);
  check_reply(
      amqp_login(conn, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password),
      "login");
  amqp_channel_open(conn, 1);
  check_reply(amqp_get_rpc_reply(conn), "channel.open");
  amqp_basic_qos(conn, 1, 0, (uint16_t)prefetch, 0);
  check_reply(amqp_get_rpc_reply(conn), "basic.qos");

  amqp_table_entry_t offset_arg = {.key = amqp_cstring_bytes("x-stream-offset"),
                                   .value = {.kind = AMQP_FIELD_KIND_I64, .value.i64 = start}};
  amqp_table_t arguments = {.num_entries = 1, .entries = &offset_arg};
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, arguments);
  check_reply(amqp_get_rpc_reply(conn), "basic.consume");

  int ack_every = prefetch / 2 > 0 ? prefetch / 2 : 1;
  int unacked = 0;
  for (long received = 0; received < count; received++) {
    amqp_envelope_t envelope;
    struct timeval timeout = {.tv_sec = 30}; /* a stream shorter than COUNT fails, not hangs */
    amqp_maybe_release_buffers(conn);
    amqp_rpc_reply_t reply = amqp_consume_message(conn, &envelope, &timeout, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_TIMEOUT)
      die("no message within 30 s", NULL);
    check_reply(reply, "receiving a message");
    if (++unacked >= ack_every) {
      amqp_basic_ack(conn, 1, envelope.delivery_tag, 1);
      unacked = 0;
    }
    amqp_destroy_envelope(&envelope);
  }
  double seconds = now() - began;
  printf("%ld %.6f\n", count, seconds);

  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
  free(url);
  return 0;
}
