/*
 * cli_main.c: the luaconn command: argument parsing, help, finding the Lua root,
 * creating the runtime, log and error lines, and dispatch to the subcommands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* ---- help -------------------------------------------------------------------------- */

static const char cli_help_main[] =
    "luaconn " LUACONN_VERSION
    ": run luaconn connector scripts from the command line.\n"
    "\n"
    "Usage: luaconn COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  read CONNECTOR         print the rows a connector reads (JSON lines, CSV, table)\n"
    "  write CONNECTOR        send JSON lines from stdin through a connector's write\n"
    "  partitions CONNECTOR   print the connector's planned partitions, one per line\n"
    "  infer CONNECTOR        print a schema inferred from the first records\n"
    "  watch CONNECTOR        read, then read again each time the script changes\n"
    "  check FILE.lua         check a script against the connector contract\n"
    "  list                   list the connectors on the search path\n"
    "\n"
    "CONNECTOR is a name, looked up in each directory of LUACONN_PATH and then in\n"
    "<lua root>/connectors, or a path to a .lua file.\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --timeout SECONDS      time budget for each call into the script (default 120)\n"
    "  --memory-limit SIZE    memory cap for the script: bytes, or with K, M, G\n"
    "                         (64M, 1G; default 256M)\n"
    "  --batch-rows N         rows per Arrow batch (default 8192)\n"
    "  --record DIR           store every HTTP exchange in DIR (secrets redacted)\n"
    "  --replay DIR           answer HTTP requests from DIR, no network; a request\n"
    "                         that was not recorded fails, naming it\n"
    "  -v, --verbose          show info and debug log lines (retries, requests)\n"
    "  -q, --quiet            show only errors: no warnings, progress or summary\n"
    "  -h, --help             this help; 'luaconn COMMAND --help' for a command\n"
    "  --version              print the version\n"
    "\n"
    "Environment:\n"
    "  LUACONN_PATH           ':'-separated directories searched for connectors first\n"
    "  LUACONN_LUA_ROOT       the directory holding connectors/ and luaconn/\n"
    "                         (default: <prefix>/share/luaconn/lua next to the binary)\n"
    "\n"
    "Examples:\n"
    "  luaconn list\n"
    "  luaconn read rest -o url=http://127.0.0.1:8080/items --limit 10 --format table\n"
    "  luaconn read ./my_source.lua -o token=$TOKEN --format csv > rows.csv\n"
    "  luaconn write rest -o target_url=http://127.0.0.1:8080/sink/demo < rows.jsonl\n"
    "  luaconn check lua/connectors/rest.lua\n"
    "\n"
    "Log lines and errors go to stderr as 'luaconn: ...'. Exit status: 0 on success,\n"
    "1 on an error, 2 on a usage error.\n";

static const char cli_help_read[] =
    "Usage: luaconn read CONNECTOR [-o KEY=VALUE]... [--limit N]\n"
    "                    [--format jsonl|csv|table] [--partition JSON]\n"
    "\n"
    "Reads rows through the connector and prints them on stdout. Without --partition\n"
    "it reads every partition the connector plans, in order.\n"
    "\n"
    "Options:\n"
    "  -o KEY=VALUE           a connector option (repeat for more); see 'luaconn check'\n"
    "  --limit N              stop after N rows (the rest is not fetched)\n"
    "  --format FORMAT        jsonl (default): one JSON object per row;\n"
    "                         csv: a header and RFC 4180 quoted rows, nulls empty;\n"
    "                         table: aligned columns, cells cut at 40 characters\n"
    "  --partition JSON       read only this partition (as 'luaconn partitions' prints)\n"
    "\n"
    "Values: BINARY is base64 (jsonl and csv), DATE is YYYY-MM-DD, TIMESTAMP is\n"
    "YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), NaN and Infinity are null in jsonl, ARRAY,\n"
    "STRUCT and MAP are JSON (nested in jsonl, as text in csv and table cells).\n"
    "A progress line (rows, batches, rows/s) shows on stderr when it is a terminal.\n"
    "\n"
    "Examples:\n"
    "  luaconn read rest -o url=http://127.0.0.1:8080/items\n"
    "  luaconn read rest -o url=http://127.0.0.1:8080/items --limit 5 --format table\n"
    "  luaconn read idrange -o url=http://127.0.0.1:8080/items --partition "
    "'{\"id_gte\":0,\"id_lt\":100}'\n"
    "  luaconn read ./my_source.lua --format csv > rows.csv\n";

static const char cli_help_write[] =
    "Usage: luaconn write CONNECTOR [-o KEY=VALUE]...\n"
    "\n"
    "Reads JSON lines from stdin (one object per line, keys are column names) and\n"
    "writes them through the connector's write in chunks of --batch-rows lines\n"
    "(default 10000), then commits. If anything fails the write is aborted and\n"
    "nothing is committed. Prints 'wrote N rows' on stderr when done.\n"
    "\n"
    "A line that is not a JSON object, or a key that names no column (names are\n"
    "case-sensitive), stops the write.\n"
    "\n"
    "Options:\n"
    "  -o KEY=VALUE           a connector option (repeat for more)\n"
    "  --ignore-unknown       skip keys that name no column instead of failing\n"
    "\n"
    "Examples:\n"
    "  luaconn write rest -o target_url=http://127.0.0.1:8080/sink/demo < rows.jsonl\n"
    "  luaconn read src -o ... | luaconn write dst -o ...\n";

static const char cli_help_partitions[] =
    "Usage: luaconn partitions CONNECTOR [-o KEY=VALUE]...\n"
    "\n"
    "Prints the partitions the connector plans for a read, one JSON value per line.\n"
    "Pass one of them to 'luaconn read --partition' to read just that part.\n"
    "\n"
    "Example:\n"
    "  luaconn partitions idrange -o url=http://127.0.0.1:8080/items\n";

static const char cli_help_infer[] =
    "Usage: luaconn infer CONNECTOR [-o KEY=VALUE]... [--limit N] [--partition JSON]\n"
    "\n"
    "Reads the first N records (default 1000) and prints a Spark DDL schema that fits\n"
    "them: objects as STRUCT, arrays as ARRAY, integers BIGINT, other numbers DOUBLE,\n"
    "ISO-8601 strings TIMESTAMP (DATE when all are dates). Paste it into the schema\n"
    "option, or let a connector say schema = \"infer\". A declared column that no\n"
    "sampled record has is reported as a warning.\n"
    "\n"
    "Example:\n"
    "  luaconn infer rest -o url=https://api.example.com/v1/people -o results_field=data\n";

static const char cli_help_check[] =
    "Usage: luaconn check FILE.lua\n"
    "\n"
    "Loads a connector script without options and checks it against the connector\n"
    "contract (what it returns, its schema, its options). Prints a summary, or the\n"
    "first problem as '<script>:<line>: <message>' with exit status 1.\n"
    "\n"
    "Example:\n"
    "  luaconn check lua/connectors/rest.lua\n";

static const char cli_help_watch[] =
    "Usage: luaconn watch CONNECTOR [-o KEY=VALUE]... [--limit N] [--format FORMAT]\n"
    "                     [--interval SECONDS] [--runs N]\n"
    "\n"
    "Reads like 'luaconn read', then waits for the script (or any module it requires)\n"
    "to change and reads again: the inner loop of writing a connector. A version that\n"
    "does not compile or breaks the contract is reported as '<script>:<line>: ...'\n"
    "and the last good version stays loaded until the next edit. Stop with Ctrl-C.\n"
    "\n"
    "Options (and those of 'luaconn read'):\n"
    "  --interval SECONDS     how often to check for changes (default 0.25)\n"
    "  --runs N               stop after N reads or refused versions (default: never)\n"
    "\n"
    "Example:\n"
    "  luaconn watch ./my_source.lua -o url=http://127.0.0.1:8080/items --limit 5 --format table\n";

static const char cli_help_list[] =
    "Usage: luaconn list\n"
    "\n"
    "Lists the connectors 'luaconn read NAME' can find: each directory of LUACONN_PATH,\n"
    "then <lua root>/connectors. One per line: name, a tab, the script's path. A name\n"
    "found earlier hides the same name later on the path.\n";

/* What each subcommand takes. */
enum {
  CLI_TAKES_TARGET = 1,  /* one positional argument */
  CLI_TAKES_OPTIONS = 2, /* -o KEY=VALUE */
  CLI_TAKES_READ = 4,    /* --limit, --format, --partition */
  CLI_NEEDS_RUNTIME = 8,
  CLI_TAKES_WATCH = 16 /* --runs, --interval */
};

typedef struct cli_command {
  const char *name;
  int (*run)(cli_context *ctx);
  const char *help;
  int takes;
  const char *target_name;
} cli_command;

static const cli_command cli_commands[] = {
    {"read", cli_cmd_read, cli_help_read,
     CLI_TAKES_TARGET | CLI_TAKES_OPTIONS | CLI_TAKES_READ | CLI_NEEDS_RUNTIME, "CONNECTOR"},
    {"write", cli_cmd_write, cli_help_write,
     CLI_TAKES_TARGET | CLI_TAKES_OPTIONS | CLI_NEEDS_RUNTIME, "CONNECTOR"},
    {"partitions", cli_cmd_partitions, cli_help_partitions,
     CLI_TAKES_TARGET | CLI_TAKES_OPTIONS | CLI_NEEDS_RUNTIME, "CONNECTOR"},
    {"infer", cli_cmd_infer, cli_help_infer,
     CLI_TAKES_TARGET | CLI_TAKES_OPTIONS | CLI_TAKES_READ | CLI_NEEDS_RUNTIME, "CONNECTOR"},
    {"watch", cli_cmd_watch, cli_help_watch,
     CLI_TAKES_TARGET | CLI_TAKES_OPTIONS | CLI_TAKES_READ | CLI_TAKES_WATCH | CLI_NEEDS_RUNTIME,
     "CONNECTOR"},
    {"check", cli_cmd_check, cli_help_check, CLI_TAKES_TARGET | CLI_NEEDS_RUNTIME, "FILE.lua"},
    {"list", cli_cmd_list, cli_help_list, 0, NULL},
};

static const cli_command *cli_find_command(const char *name) {
  for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++) {
    if (strcmp(cli_commands[i].name, name) == 0) return &cli_commands[i];
  }
  return NULL;
}

/* ---- errors and logs ---------------------------------------------------------------- */

static void cli_vmessage(cli_context *ctx, const char *fmt, va_list ap) {
  cli_progress_clear(&ctx->progress);
  fputs("luaconn: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int cli_fail(cli_context *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vmessage(ctx, fmt, ap);
  va_end(ap);
  return CLI_EXIT_FAILURE;
}

static int cli_usage(cli_context *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cli_usage(cli_context *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vmessage(ctx, fmt, ap);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

void cli_runtime_error_text(cli_context *ctx, char *buf, size_t len) {
  const lc_error *e = ctx->rt ? lc_runtime_error(ctx->rt) : NULL;
  const char *message = e && e->message && *e->message ? e->message
                        : e                            ? lc_status_string(e->code)
                                                       : "unknown error";
  char prefix[PATH_MAX + 32] = "";
  if (e && e->script && *e->script) {
    if (e->line > 0)
      snprintf(prefix, sizeof prefix, "%s:%d: ", e->script, e->line);
    else
      snprintf(prefix, sizeof prefix, "%s: ", e->script);
  }
  /* A Lua error message may already start with its position. */
  if (strncmp(message, prefix, strlen(prefix)) == 0) prefix[0] = '\0';
  snprintf(buf, len, "%s%s", prefix, message);
  for (char *p = buf; *p; p++) {
    if (*p == '\n' || *p == '\r') *p = ' ';
  }
}

int cli_fail_runtime(cli_context *ctx) {
  char text[4096];
  cli_runtime_error_text(ctx, text, sizeof text);
  cli_fail(ctx, "%s", text);
  const lc_error *e = ctx->rt ? lc_runtime_error(ctx->rt) : NULL;
  if (ctx->verbose && e && e->traceback) fprintf(stderr, "%s\n", e->traceback);
  return CLI_EXIT_FAILURE;
}

static void cli_log(void *log_ctx, int level, const char *connector, const char *message) {
  cli_context *ctx = log_ctx;
  cli_progress_clear(&ctx->progress);
  const char *name = level >= LC_LOG_ERROR  ? "error"
                     : level >= LC_LOG_WARN ? "warn"
                     : level >= LC_LOG_INFO ? "info"
                                            : "debug";
  if (connector && *connector)
    fprintf(stderr, "luaconn: [%s] %s: %s\n", name, connector, message);
  else
    fprintf(stderr, "luaconn: [%s] %s\n", name, message);
}

int cli_flush_stdout(cli_context *ctx) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
  if (errno == EPIPE) return 1;
  cli_fail(ctx, "cannot write the output: %s", strerror(errno));
  return -1;
}

int cli_open_connector(cli_context *ctx, lc_connector **out) {
  int rc = lc_connector_open(ctx->rt, LC_SOURCE_AUTO, ctx->target,
                             (const char *const *)ctx->options, ctx->n_options, out);
  if (rc != LC_OK) cli_fail_runtime(ctx);
  return rc;
}

/* ---- option values ------------------------------------------------------------------- */

static int cli_parse_count(const char *text, int64_t min, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end || v < min) return -1;
  *out = v;
  return 0;
}

/* "1048576", "64K", "64M", "1G", "1GB", "1GiB" (binary multiples). */
static int cli_parse_size(const char *text, size_t *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !(v > 0)) return -1;
  double scale = 1;
  const char *suffix = end;
  if (*suffix) {
    const char *units = "KMGT";
    const char *unit = strchr(units, *suffix & ~0x20);
    if (!unit || !*unit) return -1;
    for (const char *u = units; u <= unit; u++) scale *= 1024;
    suffix++;
    if (strcasecmp(suffix, "") && strcasecmp(suffix, "B") && strcasecmp(suffix, "iB")) return -1;
  }
  double bytes = v * scale;
  if (bytes < 1 || bytes > (double)SIZE_MAX / 2) return -1;
  *out = (size_t)bytes;
  return 0;
}

/* Prints what an unknown or misplaced option is without echoing a value it may carry. */
static int cli_option_name_length(const char *arg) {
  const char *eq = strchr(arg, '=');
  return eq ? (int)(eq - arg) : (int)strlen(arg);
}

static int cli_add_option(cli_context *ctx, const char *pair) {
  const char *eq = strchr(pair, '=');
  /* Not quoted: "-o api_keyT0KEN" is a token with its '=' missing. */
  if (!eq)
    return cli_usage(ctx, "-o expects KEY=VALUE, got %zu characters without '='", strlen(pair));
  if (eq == pair) return cli_usage(ctx, "-o expects KEY=VALUE, got an empty KEY");
  char **options = realloc(ctx->options, (ctx->n_options + 1) * 2 * sizeof *options);
  if (!options) return cli_fail(ctx, "out of memory");
  ctx->options = options;
  char *key = strndup(pair, (size_t)(eq - pair)), *value = strdup(eq + 1);
  if (!key || !value) {
    free(key);
    free(value);
    return cli_fail(ctx, "out of memory");
  }
  options[2 * ctx->n_options] = key;
  options[2 * ctx->n_options + 1] = value;
  ctx->n_options++;
  return 0;
}

/* ---- the command line ------------------------------------------------------------------ */

/* Matches argv[*i] against an option taking a value, in the forms "--name VALUE",
 * "--name=VALUE" and, for a short name, "-nVALUE". Sets *value (NULL when the value
 * is missing) and advances *i past what it used. */
static int cli_match_valued(int argc, char **argv, int *i, const char *long_name,
                            const char *short_name, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(long_name);
  const char *inline_value = NULL;
  if (strncmp(arg, long_name, n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
    if (arg[n] == '=') inline_value = arg + n + 1;
  } else if (short_name && strncmp(arg, short_name, 2) == 0) {
    if (arg[2]) inline_value = arg + 2;
  } else {
    return 0;
  }
  if (inline_value)
    *value = inline_value;
  else
    *value = *i + 1 < argc ? argv[++*i] : NULL;
  return 1;
}

/* Parses argv into ctx. Returns -1 to go on and run the command, or an exit status
 * (after printing help, the version or a usage error). */
static int cli_parse(cli_context *ctx, int argc, char **argv) {
  const cli_command *command = NULL;
  int help = 0, options_done = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value;
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      if (!ctx->command) {
        ctx->command = arg;
        command = cli_find_command(arg);
        if (!command) return cli_usage(ctx, "unknown command '%s' (see luaconn --help)", arg);
      } else if (!ctx->target && (command->takes & CLI_TAKES_TARGET)) {
        ctx->target = arg;
      } else if (strchr(arg, '=')) {
        return cli_usage(ctx,
                         "unexpected argument '%.*s=...'; connector options go in -o KEY=VALUE",
                         cli_option_name_length(arg), arg);
      } else {
        return cli_usage(ctx, "unexpected argument '%s'", arg);
      }
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options_done = 1;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      help = 1;
    } else if (strcmp(arg, "--version") == 0) {
      printf("luaconn %s\n", LUACONN_VERSION);
      return CLI_EXIT_OK;
    } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
      ctx->verbose = 1;
    } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
      ctx->quiet = 1;
    } else if (strcmp(arg, "--ignore-unknown") == 0) {
      if (command && strcmp(command->name, "write") != 0)
        return cli_usage(ctx, "--ignore-unknown is an option of write");
      ctx->ignore_unknown = 1;
    } else if (cli_match_valued(argc, argv, &i, "--option", "-o", &value)) {
      if (!value) return cli_usage(ctx, "-o expects KEY=VALUE");
      if (command && !(command->takes & CLI_TAKES_OPTIONS)) {
        return cli_usage(ctx, "'%s' takes no -o options", command->name);
      }
      int status = cli_add_option(ctx, value);
      if (status) return status;
    } else if (cli_match_valued(argc, argv, &i, "--limit", NULL, &value)) {
      if (!value || cli_parse_count(value, 0, &ctx->limit) != 0) {
        return cli_usage(ctx, "--limit expects a number of rows (0 or more)");
      }
    } else if (cli_match_valued(argc, argv, &i, "--format", NULL, &value)) {
      if (!value || cli_format_parse(value, &ctx->format) != 0) {
        return cli_usage(ctx, "--format expects jsonl, csv or table");
      }
    } else if (cli_match_valued(argc, argv, &i, "--partition", NULL, &value)) {
      if (!value) return cli_usage(ctx, "--partition expects a partition as JSON");
      ctx->partition = value;
    } else if (cli_match_valued(argc, argv, &i, "--runs", NULL, &value)) {
      if (!value || cli_parse_count(value, 1, &ctx->runs) != 0) {
        return cli_usage(ctx, "--runs expects a number of reads (1 or more)");
      }
    } else if (cli_match_valued(argc, argv, &i, "--interval", NULL, &value)) {
      char *end = NULL;
      ctx->interval = value ? strtod(value, &end) : 0;
      if (!value || end == value || *end || !(ctx->interval > 0) || ctx->interval > 3600) {
        return cli_usage(ctx, "--interval expects a number of seconds (greater than 0)");
      }
    } else if (cli_match_valued(argc, argv, &i, "--timeout", NULL, &value)) {
      char *end = NULL;
      ctx->timeout = value ? strtod(value, &end) : 0;
      if (!value || end == value || *end || !(ctx->timeout > 0) || isinf(ctx->timeout)) {
        return cli_usage(ctx, "--timeout expects a number of seconds greater than 0");
      }
    } else if (cli_match_valued(argc, argv, &i, "--memory-limit", NULL, &value)) {
      if (!value || cli_parse_size(value, &ctx->memory_limit) != 0) {
        return cli_usage(ctx, "--memory-limit expects a size such as 67108864, 64M or 1G");
      }
    } else if (cli_match_valued(argc, argv, &i, "--record", NULL, &value)) {
      if (!value || !*value) return cli_usage(ctx, "--record expects a directory");
      ctx->record = value;
    } else if (cli_match_valued(argc, argv, &i, "--replay", NULL, &value)) {
      if (!value || !*value) return cli_usage(ctx, "--replay expects a directory");
      ctx->replay = value;
    } else if (cli_match_valued(argc, argv, &i, "--batch-rows", NULL, &value)) {
      if (!value || cli_parse_count(value, 1, &ctx->batch_rows) != 0) {
        return cli_usage(ctx, "--batch-rows expects a number of rows (1 or more)");
      }
    } else {
      return cli_usage(ctx, "unknown option '%.*s' (see luaconn --help)",
                       cli_option_name_length(arg), arg);
    }
  }
  if (help) {
    fputs(command ? command->help : cli_help_main, stdout);
    return CLI_EXIT_OK;
  }
  if (!command) return cli_usage(ctx, "no command given (see luaconn --help)");
  if ((command->takes & CLI_TAKES_TARGET) && !ctx->target) {
    return cli_usage(ctx, "%s needs a %s (see luaconn %s --help)", command->name,
                     command->target_name, command->name);
  }
  if (!(command->takes & CLI_TAKES_WATCH) && (ctx->runs >= 0 || ctx->interval > 0)) {
    return cli_usage(ctx, "--runs and --interval apply to 'watch' only");
  }
  if (!(command->takes & CLI_TAKES_READ) &&
      (ctx->limit >= 0 || ctx->format != CLI_FORMAT_JSONL || ctx->partition)) {
    return cli_usage(ctx, "--limit, --format and --partition apply to 'read' only");
  }
  if (ctx->n_options && !(command->takes & CLI_TAKES_OPTIONS)) {
    return cli_usage(ctx, "'%s' takes no -o options", command->name);
  }
  return -1;
}

/* ---- the Lua root --------------------------------------------------------------------- */

static int cli_has_connectors_dir(const char *root) {
  char path[PATH_MAX];
  struct stat st;
  if (snprintf(path, sizeof path, "%s/connectors", root) >= (int)sizeof path) return 0;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first of $LUACONN_LUA_ROOT, <exe dir>/../share/luaconn/lua (installed) and
 * <exe dir>/../lua (in the source tree) that has a connectors/ directory, as an
 * absolute path the caller frees; NULL when none has. */
static char *cli_find_lua_root(void) {
  const char *env = getenv("LUACONN_LUA_ROOT");
  if (env && *env && cli_has_connectors_dir(env)) return realpath(env, NULL);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return NULL;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return NULL;
  *slash = '\0';
  static const char *const relative[] = {"/../share/luaconn/lua", "/../lua"};
  for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
    char candidate[PATH_MAX + 32];
    snprintf(candidate, sizeof candidate, "%s%s", exe, relative[i]);
    if (cli_has_connectors_dir(candidate)) return realpath(candidate, NULL);
  }
  return NULL;
}

/* ---- main -------------------------------------------------------------------------------- */

static int cli_run(cli_context *ctx) {
  const cli_command *command = cli_find_command(ctx->command);
  ctx->lua_root = cli_find_lua_root();
  /* A batch never needs more rows than --limit: the runtime fills a whole batch
   * before handing it out, so a smaller one is what stops the read early. */
  if (ctx->limit > 0 && (ctx->batch_rows == 0 || ctx->batch_rows > ctx->limit)) {
    ctx->batch_rows = ctx->limit;
  }
  if (command->takes & CLI_NEEDS_RUNTIME) {
    lc_config config = {
        .memory_limit = ctx->memory_limit,
        .call_timeout = ctx->timeout,
        .lua_root = ctx->lua_root,
        .batch_rows = ctx->batch_rows,
        .log = cli_log,
        .log_ctx = ctx,
        .log_level = ctx->verbose ? LC_LOG_DEBUG
                     : ctx->quiet ? LC_LOG_ERROR
                                  : LC_LOG_WARN,
        .hot_reload = strcmp(command->name, "watch") == 0,
        .http_record = ctx->record,
        .http_replay = ctx->replay,
    };
    int rc = lc_runtime_new(&config, &ctx->rt);
    if (rc != LC_OK) {
      ctx->rt = NULL;
      return cli_fail(ctx, "cannot start the runtime: %s", lc_status_string(rc));
    }
  }
  return command->run(ctx);
}

/* Writes all of buf to stdout's descriptor, waiting whenever it would block. */
static ssize_t cli_write_waiting(void *cookie, const char *buf, size_t len) {
  (void)cookie;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(STDOUT_FILENO, buf + done, len - done);
    if (n >= 0) {
      done += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd ready = {.fd = STDOUT_FILENO, .events = POLLOUT};
      if (poll(&ready, 1, -1) < 0 && errno != EINTR) return -1;
    } else if (errno != EINTR) {
      return done ? (ssize_t)done : -1;
    }
  }
  return (ssize_t)done;
}

/* A stdout left non-blocking by whoever shares the pipe (an event-loop parent) fails
 * stdio's writes with EAGAIN midway: such output goes through a stream that waits
 * instead. The descriptor's flags are the sharer's, so they stay as they are. */
static void cli_wait_on_nonblocking_stdout(void) {
  int flags = fcntl(STDOUT_FILENO, F_GETFL);
  if (flags < 0 || !(flags & O_NONBLOCK)) return;
  FILE *waiting = fopencookie(NULL, "w", (cookie_io_functions_t){.write = cli_write_waiting});
  if (!waiting) return;
  fflush(stdout);
  stdout = waiting;
}

int main(int argc, char **argv) {
  /* A closed pipe (luaconn read ... | head) shows up as EPIPE from fflush, and the
   * read stops quietly; SIGPIPE would kill the process before it cleans up. */
  signal(SIGPIPE, SIG_IGN);
  /* Output is UTF-8 whatever the user's locale; the table measures text with it. */
  if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "");
  cli_wait_on_nonblocking_stdout();
  if (!isatty(STDOUT_FILENO)) setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  cli_context ctx = {.limit = -1, .format = CLI_FORMAT_JSONL, .runs = -1};
  int status = cli_parse(&ctx, argc, argv);
  if (ctx.interval <= 0) ctx.interval = 0.25;
  if (status < 0) status = cli_run(&ctx);
  cli_progress_clear(&ctx.progress);
  if (ctx.rt) lc_runtime_free(ctx.rt);
  for (size_t i = 0; i < 2 * ctx.n_options; i++) free(ctx.options[i]);
  free(ctx.options);
  free(ctx.lua_root);
  if (status == CLI_EXIT_OK && cli_flush_stdout(&ctx) < 0) status = CLI_EXIT_FAILURE;
  return status;
}
