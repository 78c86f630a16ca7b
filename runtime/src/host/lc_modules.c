/* lc_modules.c: the list of host modules, in the order `require` names them when a
 * module is not found. */
#include "host/lc_host.h"

const lc_module lc_host_modules[] = {
    {"http", lc_open_http}, {"json", lc_open_json}, {"log", lc_open_log},
    {"env", lc_open_env},   {"amqp", lc_open_amqp}, {"secrets", lc_open_secrets},
    {"hash", lc_open_hash},
};
const size_t lc_host_n_modules = sizeof lc_host_modules / sizeof lc_host_modules[0];
