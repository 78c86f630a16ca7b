/*
 * bench/parse.c: how fast a JSON library reads a page of records, the work
 * json.page does before any column is built. Usage: parse FILE... ; prints, per file,
 * MB/s and pages/s of parsing it REPEAT times with each library (yajl's event
 * parser, as lc_records.c used it until yyjson replaced it; yyjson reading into a
 * document with numbers kept as text, then visiting every value).
 * Built by hand (it is the measurement that chose the parser, kept so it can be
 * repeated):
 *   cc -O2 -Iruntime/third_party/yyjson bench/parse.c runtime/third_party/yyjson/yyjson.c \
 *      -lyajl -o build/bench-parse
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

#include <yyjson.h>

#define REPEAT 2000

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long values; /* scalars seen, so neither loop is optimised away */

static int on_scalar(void *ctx) {
  values++;
  return 1;
}
static int on_bool(void *ctx, int v) { return on_scalar(ctx); }
static int on_text(void *ctx, const unsigned char *t, size_t n) { return on_scalar(ctx); }
static int on_number(void *ctx, const char *t, size_t n) { return on_scalar(ctx); }
static int on_other(void *ctx) { return 1; }

static const yajl_callbacks events = {.yajl_null = on_scalar,
                                      .yajl_boolean = on_bool,
                                      .yajl_number = on_number,
                                      .yajl_string = on_text,
                                      .yajl_start_map = on_other,
                                      .yajl_map_key = on_text,
                                      .yajl_end_map = on_other,
                                      .yajl_start_array = on_other,
                                      .yajl_end_array = on_other};

static void parse_yajl(const char *text, size_t len) {
  yajl_handle h = yajl_alloc(&events, NULL, NULL);
  yajl_config(h, yajl_dont_validate_strings, 1);
  if (yajl_parse(h, (const unsigned char *)text, len) != yajl_status_ok ||
      yajl_complete_parse(h) != yajl_status_ok)
    abort();
  yajl_free(h);
}

static void visit(yyjson_val *v) {
  if (yyjson_is_arr(v)) {
    yyjson_val *e;
    yyjson_arr_iter it = yyjson_arr_iter_with(v);
    while ((e = yyjson_arr_iter_next(&it))) visit(e);
  } else if (yyjson_is_obj(v)) {
    yyjson_val *k;
    yyjson_obj_iter it = yyjson_obj_iter_with(v);
    while ((k = yyjson_obj_iter_next(&it))) visit(yyjson_obj_iter_get_val(k));
  } else {
    values++;
  }
}

static void parse_yyjson(const char *text, size_t len, const yyjson_alc *alc) {
  yyjson_doc *doc = yyjson_read_opts((char *)text, len, YYJSON_READ_NUMBER_AS_RAW, alc, NULL);
  if (!doc) abort();
  visit(yyjson_doc_get_root(doc));
  yyjson_doc_free(doc);
}

int main(int argc, char **argv) {
  yyjson_alc *reused = yyjson_alc_dyn_new();
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    char *text = malloc(len);
    if (fread(text, 1, len, f) != len) return 1;
    fclose(f);
    const char *names[] = {"yajl events", "yyjson (malloc)", "yyjson (reused allocator)"};
    for (int lib = 0; lib < 3; lib++) {
      values = 0;
      double t0 = now();
      for (int r = 0; r < REPEAT; r++) {
        if (lib == 0)
          parse_yajl(text, len);
        else
          parse_yyjson(text, len, lib == 2 ? reused : NULL);
      }
      double s = now() - t0;
      printf("%s  %-26s %7.0f MB/s  %8.0f pages/s\n", argv[i], names[lib],
             (double)len * REPEAT / s / 1e6, REPEAT / s);
    }
    free(text);
  }
  yyjson_alc_dyn_free(reused);
  return 0;
}
