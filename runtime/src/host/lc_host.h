/*
 * host/lc_host.h: the host modules scripts require (json, http, amqp, log, env,
 * secrets). Each file exports only its opener, which pushes the module table;
 * lc_host_modules lists them for the sandbox. Includes only vm (and so base).
 * http and amqp share one more function: the default CA bundle for TLS.
 */
#ifndef LC_HOST_H
#define LC_HOST_H

#include "vm/lc_vm.h"

int lc_open_http(lua_State *L);    /* lc_http.c */
int lc_open_json(lua_State *L);    /* lc_json.c */
int lc_open_log(lua_State *L);     /* lc_log.c */
int lc_open_env(lua_State *L);     /* lc_env.c */
int lc_open_amqp(lua_State *L);    /* lc_amqp.c */
int lc_open_secrets(lua_State *L); /* lc_secrets.c */
int lc_open_hash(lua_State *L);    /* lc_hash.c */

/* The CA bundle TLS peers are verified against when no ca_file is given (NULL: none
 * found); *origin says where it came from ("SSL_CERT_FILE", "system bundle"...). */
const char *lc_tls_default_ca(const char **origin); /* lc_http.c */
/* Stops every HTTP transfer of L's state still in flight (why: what waiting for one
 * then raises), so none goes on retrying into later calls. lc_http.c */
void lc_http_abandon_all(lua_State *L, const char *why);

/* Every host module, for lc_sandbox_open (lc_modules.c). */
extern const lc_module lc_host_modules[];
extern const size_t lc_host_n_modules;

#endif /* LC_HOST_H */
