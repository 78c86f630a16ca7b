/* lc_status.c: a string for every lc_status value. */
#include "base/lc_base.h"

const char *lc_status_string(int status) {
  switch ((lc_status)status) {
  case LC_OK: return "ok";
  case LC_DONE: return "done";
  case LC_ERR_NOMEM: return "out of memory";
  case LC_ERR_ARGUMENT: return "bad argument";
  case LC_ERR_NOT_FOUND: return "not found";
  case LC_ERR_IO: return "i/o error";
  case LC_ERR_SYNTAX: return "syntax error";
  case LC_ERR_CONTRACT: return "contract violation";
  case LC_ERR_OPTION: return "bad option";
  case LC_ERR_SCHEMA: return "bad schema";
  case LC_ERR_VALUE: return "value does not fit its column";
  case LC_ERR_SCRIPT: return "script error";
  case LC_ERR_MEMORY_LIMIT: return "memory limit exceeded";
  case LC_ERR_TIME_LIMIT: return "time limit exceeded";
  case LC_ERR_HTTP: return "http error";
  case LC_ERR_STATE: return "call out of order";
  case LC_ERR_AMQP: return "amqp error";
  }
  return "unknown status";
}
