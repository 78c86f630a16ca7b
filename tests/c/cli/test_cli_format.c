/*
 * test_cli_format.c: what `luaconn read` prints for Arrow batches, byte for byte:
 * every column type, nulls, offsets on arrays and children, nested values, CSV
 * quoting, the text table, and --limit's row count.
 *
 * The CLI is not part of the library the Makefile links tests against, so the
 * formatter's source is compiled into this test directly.
 */
#include "lc_test.h"

#include <locale.h>
#include <math.h>

#include "../../../runtime/cli/cli_format.c"

/* A hand-built Arrow column: the schema and array the formatter borrows. Nothing
 * here is heap memory, so release stays NULL. */
typedef struct test_col {
  struct ArrowSchema s;
  struct ArrowArray a;
  const void *buffers[3];
  struct ArrowSchema *schema_children[8];
  struct ArrowArray *array_children[8];
} test_col;

static void test_col_init(test_col *c, const char *format, const char *name, int64_t length,
                          int64_t null_count, int64_t offset, const void *b0, const void *b1,
                          const void *b2) {
  memset(c, 0, sizeof *c);
  c->s.format = format;
  c->s.name = name;
  c->s.flags = ARROW_FLAG_NULLABLE;
  c->buffers[0] = b0;
  c->buffers[1] = b1;
  c->buffers[2] = b2;
  c->a.length = length;
  c->a.null_count = null_count;
  c->a.offset = offset;
  c->a.n_buffers = format[0] == '+' && format[1] == 's'   ? 1
                   : format[0] == 'u' || format[0] == 'z' ? 3
                                                          : 2;
  c->a.buffers = c->buffers;
  c->s.children = c->schema_children;
  c->a.children = c->array_children;
}

static void test_col_child(test_col *parent, test_col *child) {
  parent->schema_children[parent->s.n_children++] = &child->s;
  parent->array_children[parent->a.n_children++] = &child->a;
}

/* Renders n_rows rows of the batch in fmt. Caller frees the text. */
static char *test_render(cli_format fmt, test_col *batch, int64_t n_rows) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  cli_output *o = cli_output_new(f, fmt);
  char err[256] = "";
  ck_assert_msg(cli_output_batch(o, &batch->s, &batch->a, n_rows, err, sizeof err) == 0, "%s", err);
  cli_output_free(o);
  fclose(f);
  return text;
}

/* ---- every scalar type, with nulls ------------------------------------------------ */

static const uint8_t flag_valid[] = {0x03}, flag_bits[] = {0x01};
static const uint8_t n_valid[] = {0x05};
static const int32_t n_values[] = {1, 0, -7};
static const int64_t big_values[] = {9007199254740993LL, -1, 0};
static const double x_values[] = {1.0, 0.1, NAN};
static const int32_t s_offsets[] = {0, 5, 19, 25};
static const char s_data[] = "a\"b\\cline\nnext\ttab\x01h\xc3\xa9llo";
static const int32_t bin_offsets[] = {0, 2, 2, 5};
static const char bin_data[] =
    "\x00\xff"
    "abc";
static const int32_t d_values[] = {0, 19723, -1};
static const int64_t ts_values[] = {0, 1704067200123456LL, -1};

typedef struct scalar_batch {
  test_col batch, flag, n, big, x, s, bin, d, ts;
} scalar_batch;

static void scalar_batch_init(scalar_batch *b) {
  test_col_init(&b->batch, "+s", "", 3, 0, 0, NULL, NULL, NULL);
  test_col_init(&b->flag, "b", "flag", 3, 1, 0, flag_valid, flag_bits, NULL);
  test_col_init(&b->n, "i", "n", 3, 1, 0, n_valid, n_values, NULL);
  test_col_init(&b->big, "l", "big", 3, 0, 0, NULL, big_values, NULL);
  test_col_init(&b->x, "g", "x", 3, 0, 0, NULL, x_values, NULL);
  test_col_init(&b->s, "u", "s", 3, 0, 0, NULL, s_offsets, s_data);
  test_col_init(&b->bin, "z", "bin", 3, 0, 0, NULL, bin_offsets, bin_data);
  test_col_init(&b->d, "tdD", "d", 3, 0, 0, NULL, d_values, NULL);
  test_col_init(&b->ts, "tsu:UTC", "ts", 3, 0, 0, NULL, ts_values, NULL);
  test_col *cols[] = {&b->flag, &b->n, &b->big, &b->x, &b->s, &b->bin, &b->d, &b->ts};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) test_col_child(&b->batch, cols[i]);
}

START_TEST(jsonl_prints_every_scalar_type) {
  scalar_batch b;
  scalar_batch_init(&b);
  char *text = test_render(CLI_FORMAT_JSONL, &b.batch, 3);
  ck_assert_str_eq(
      text,
      "{\"flag\":true,\"n\":1,\"big\":9007199254740993,\"x\":1.0,\"s\":\"a\\\"b\\\\c\","
      "\"bin\":\"AP8=\",\"d\":\"1970-01-01\",\"ts\":\"1970-01-01T00:00:00.000000Z\"}\n"
      "{\"flag\":false,\"n\":null,\"big\":-1,\"x\":0.1,"
      "\"s\":\"line\\nnext\\ttab\\u0001\",\"bin\":\"\",\"d\":\"2024-01-01\","
      "\"ts\":\"2024-01-01T00:00:00.123456Z\"}\n"
      "{\"flag\":null,\"n\":-7,\"big\":0,\"x\":null,\"s\":\"h\xc3\xa9llo\","
      "\"bin\":\"YWJj\",\"d\":\"1969-12-31\",\"ts\":\"1969-12-31T23:59:59.999999Z\"}\n");
  free(text);
}
END_TEST

static const int64_t extreme_signed[] = {INT64_MIN, INT64_MAX};
static const uint64_t extreme_unsigned[] = {UINT64_MAX, 0};
static const int8_t extreme_small[] = {-128, 127};

START_TEST(integers_print_their_extremes) {
  test_col batch, l, u, c;
  test_col_init(&batch, "+s", "", 2, 0, 0, NULL, NULL, NULL);
  test_col_init(&l, "l", "l", 2, 0, 0, NULL, extreme_signed, NULL);
  test_col_init(&u, "L", "u", 2, 0, 0, NULL, extreme_unsigned, NULL);
  test_col_init(&c, "c", "c", 2, 0, 0, NULL, extreme_small, NULL);
  test_col_child(&batch, &l);
  test_col_child(&batch, &u);
  test_col_child(&batch, &c);
  char *text = test_render(CLI_FORMAT_JSONL, &batch, 2);
  ck_assert_str_eq(text,
                   "{\"l\":-9223372036854775808,\"u\":18446744073709551615,\"c\":-128}\n"
                   "{\"l\":9223372036854775807,\"u\":0,\"c\":127}\n");
  free(text);
}
END_TEST

START_TEST(csv_quotes_fields_and_leaves_nulls_empty) {
  scalar_batch b;
  scalar_batch_init(&b);
  char *text = test_render(CLI_FORMAT_CSV, &b.batch, 3);
  ck_assert_str_eq(text,
                   "flag,n,big,x,s,bin,d,ts\n"
                   "true,1,9007199254740993,1.0,\"a\"\"b\\c\",AP8=,1970-01-01,"
                   "1970-01-01T00:00:00.000000Z\n"
                   "false,,-1,0.1,\"line\nnext\ttab\x01\",,2024-01-01,2024-01-01T00:00:00.123456Z\n"
                   ",-7,0,NaN,h\xc3\xa9llo,YWJj,1969-12-31,1969-12-31T23:59:59.999999Z\n");
  free(text);
}
END_TEST

START_TEST(limit_prints_only_the_first_rows) {
  scalar_batch b;
  scalar_batch_init(&b);
  char *text = test_render(CLI_FORMAT_JSONL, &b.batch, 1);
  ck_assert_int_eq((int)strlen(text) - 1, (int)(strchr(text, '\n') - text));
  ck_assert_ptr_nonnull(strstr(text, "\"n\":1,"));
  free(text);
}
END_TEST

/* ---- floats ------------------------------------------------------------------------------ */

START_TEST(floats_print_shortest_round_trip_form) {
  static const float f_values[] = {0.1f, 1.5f, 3.0f, -INFINITY};
  static const double g_values[] = {1e300, -0.0, 123456789.125, 1.0 / 3.0};
  test_col batch, f, g;
  test_col_init(&batch, "+s", "", 4, 0, 0, NULL, NULL, NULL);
  test_col_init(&f, "f", "f", 4, 0, 0, NULL, f_values, NULL);
  test_col_init(&g, "g", "g", 4, 0, 0, NULL, g_values, NULL);
  test_col_child(&batch, &f);
  test_col_child(&batch, &g);
  char *jsonl = test_render(CLI_FORMAT_JSONL, &batch, 4);
  ck_assert_str_eq(jsonl,
                   "{\"f\":0.1,\"g\":1e+300}\n"
                   "{\"f\":1.5,\"g\":-0.0}\n"
                   "{\"f\":3.0,\"g\":123456789.125}\n"
                   "{\"f\":null,\"g\":0.3333333333333333}\n");
  char *csv = test_render(CLI_FORMAT_CSV, &batch, 4);
  ck_assert_ptr_nonnull(strstr(csv, "\n-Infinity,0.3333333333333333\n"));
  free(jsonl);
  free(csv);
}
END_TEST

/* ---- offsets ---------------------------------------------------------------------------- */

/* Physical string slots: "zero", "one", null, "three"; ints 10, 20, 30. */
static const uint8_t word_valid[] = {0x0B};
static const int32_t word_offsets[] = {0, 4, 7, 7, 12};
static const int32_t num_values[] = {10, 20, 30};

START_TEST(offsets_on_columns_and_on_the_batch_are_honoured) {
  test_col batch, word, num;
  test_col_init(&batch, "+s", "", 2, 0, 0, NULL, NULL, NULL);
  /* null_count -1 ("unknown") makes the bitmap the only source of truth. */
  test_col_init(&word, "u", "word", 2, -1, 2, word_valid, word_offsets, "zeroonethree");
  test_col_init(&num, "i", "num", 2, 0, 1, NULL, num_values, NULL);
  test_col_child(&batch, &word);
  test_col_child(&batch, &num);
  char *text = test_render(CLI_FORMAT_JSONL, &batch, 2);
  ck_assert_str_eq(text, "{\"word\":null,\"num\":20}\n{\"word\":\"three\",\"num\":30}\n");
  free(text);

  batch.a.offset = 1;
  batch.a.length = 1;
  text = test_render(CLI_FORMAT_JSONL, &batch, 1);
  ck_assert_str_eq(text, "{\"word\":\"three\",\"num\":30}\n");
  free(text);
}
END_TEST

/* ---- nested ---------------------------------------------------------------------------- */

/* tags ARRAY<INT>: [1,2], null, [], [null,3]; the element array starts at offset 1. */
static const uint8_t tags_valid[] = {0x0D};
static const int32_t tags_offsets[] = {0, 2, 2, 2, 4};
static const uint8_t tag_valid[] = {0x17};
static const int32_t tag_values[] = {99, 1, 2, 0, 3};
/* pt STRUCT<x INT, name STRING>: {1,"a"}, {2,null}, null, {4,"d"} */
static const uint8_t pt_valid[] = {0x0B};
static const int32_t pt_x[] = {1, 2, 0, 4};
static const uint8_t pt_name_valid[] = {0x0D};
static const int32_t pt_name_offsets[] = {0, 1, 1, 1, 2};
/* m MAP<STRING, INT>: {"k":1}, {}, {"a":2,"b":null}, null */
static const uint8_t m_valid[] = {0x07};
static const int32_t m_offsets[] = {0, 1, 1, 3, 3};
static const int32_t m_key_offsets[] = {0, 1, 2, 3};
static const uint8_t m_value_valid[] = {0x03};
static const int32_t m_values[] = {1, 2, 0};

typedef struct nested_batch {
  test_col batch, tags, tag, pt, pt_x, pt_name, m, entries, key, value;
} nested_batch;

static void nested_batch_init(nested_batch *b) {
  test_col_init(&b->batch, "+s", "", 4, 0, 0, NULL, NULL, NULL);
  test_col_init(&b->tags, "+l", "tags", 4, 1, 0, tags_valid, tags_offsets, NULL);
  test_col_init(&b->tag, "i", "element", 4, 1, 1, tag_valid, tag_values, NULL);
  test_col_child(&b->tags, &b->tag);
  test_col_init(&b->pt, "+s", "pt", 4, 1, 0, pt_valid, NULL, NULL);
  test_col_init(&b->pt_x, "i", "x", 4, 0, 0, NULL, pt_x, NULL);
  test_col_init(&b->pt_name, "u", "name", 4, 1, 0, pt_name_valid, pt_name_offsets, "ad");
  test_col_child(&b->pt, &b->pt_x);
  test_col_child(&b->pt, &b->pt_name);
  test_col_init(&b->m, "+m", "m", 4, 1, 0, m_valid, m_offsets, NULL);
  test_col_init(&b->entries, "+s", "entries", 3, 0, 0, NULL, NULL, NULL);
  test_col_init(&b->key, "u", "key", 3, 0, 0, NULL, m_key_offsets, "kab");
  test_col_init(&b->value, "i", "value", 3, 1, 0, m_value_valid, m_values, NULL);
  test_col_child(&b->entries, &b->key);
  test_col_child(&b->entries, &b->value);
  test_col_child(&b->m, &b->entries);
  test_col_child(&b->batch, &b->tags);
  test_col_child(&b->batch, &b->pt);
  test_col_child(&b->batch, &b->m);
}

START_TEST(jsonl_nests_arrays_structs_and_maps) {
  nested_batch b;
  nested_batch_init(&b);
  char *text = test_render(CLI_FORMAT_JSONL, &b.batch, 4);
  ck_assert_str_eq(text,
                   "{\"tags\":[1,2],\"pt\":{\"x\":1,\"name\":\"a\"},\"m\":{\"k\":1}}\n"
                   "{\"tags\":null,\"pt\":{\"x\":2,\"name\":null},\"m\":{}}\n"
                   "{\"tags\":[],\"pt\":null,\"m\":{\"a\":2,\"b\":null}}\n"
                   "{\"tags\":[null,3],\"pt\":{\"x\":4,\"name\":\"d\"},\"m\":null}\n");
  free(text);
}
END_TEST

START_TEST(csv_prints_nested_values_as_quoted_json) {
  nested_batch b;
  nested_batch_init(&b);
  char *text = test_render(CLI_FORMAT_CSV, &b.batch, 4);
  ck_assert_str_eq(text,
                   "tags,pt,m\n"
                   "\"[1,2]\",\"{\"\"x\"\":1,\"\"name\"\":\"\"a\"\"}\",\"{\"\"k\"\":1}\"\n"
                   ",\"{\"\"x\"\":2,\"\"name\"\":null}\",{}\n"
                   "[],,\"{\"\"a\"\":2,\"\"b\"\":null}\"\n"
                   "\"[null,3]\",\"{\"\"x\"\":4,\"\"name\"\":\"\"d\"\"}\",\n");
  free(text);
}
END_TEST

/* ---- table ------------------------------------------------------------------------------ */

START_TEST(table_aligns_columns_and_truncates_long_cells) {
  static const int32_t ids[] = {1, 22, 3};
  static const uint8_t name_valid[] = {0x05};
  static const char names[] =
      "alpha"
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX";
  static const int32_t name_offsets[] = {0, 5, 5, 55};
  test_col batch, id, name;
  test_col_init(&batch, "+s", "", 3, 0, 0, NULL, NULL, NULL);
  test_col_init(&id, "i", "id", 3, 0, 0, NULL, ids, NULL);
  test_col_init(&name, "u", "name", 3, 1, 0, name_valid, name_offsets, names);
  test_col_child(&batch, &id);
  test_col_child(&batch, &name);
  char *text = test_render(CLI_FORMAT_TABLE, &batch, 3);
  ck_assert_str_eq(text,
                   "id | name\n"
                   "---+-----------------------------------------\n"
                   " 1 | alpha\n"
                   "22 | NULL\n"
                   " 3 | abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM\xe2\x80\xa6\n");
  free(text);
}
END_TEST

START_TEST(table_measures_wide_characters_in_columns) {
  static const char text[] =
      "\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xae\xe7\x8c\xab"                         /* 東京の猫 */
      "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab" /* 猫 x 30 */
      "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab"
      "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab"
      "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab"
      "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab";
  static const int32_t offsets[] = {0, 12, 102};
  static const int32_t ids[] = {1, 2};
  test_col batch, w, id;
  test_col_init(&batch, "+s", "", 2, 0, 0, NULL, NULL, NULL);
  test_col_init(&w, "u", "w", 2, 0, 0, NULL, offsets, text);
  test_col_init(&id, "i", "id", 2, 0, 0, NULL, ids, NULL);
  test_col_child(&batch, &w);
  test_col_child(&batch, &id);
  char *out = test_render(CLI_FORMAT_TABLE, &batch, 2);
  /* CJK characters take two columns: 19 of them and the ellipsis fill 39 of 40. */
  char expected[1024];
  snprintf(expected, sizeof expected,
           "w%39s | id\n%s-+---\n%.12s%32s |  1\n%.57s\xe2\x80\xa6  |  2\n", "",
           "----------------------------------------", text, "", text + 12);
  ck_assert_str_eq(out, expected);
  free(out);
}
END_TEST

/* ---- errors ----------------------------------------------------------------------------- */

START_TEST(unsupported_types_are_named_in_the_error) {
  static const int64_t raw[] = {1, 0};
  test_col batch, dec;
  test_col_init(&batch, "+s", "", 1, 0, 0, NULL, NULL, NULL);
  test_col_init(&dec, "d:10,2,256", "price", 1, 0, 0, NULL, raw, NULL); /* decimal256 */
  test_col_child(&batch, &dec);
  cli_output *o = cli_output_new(stdout, CLI_FORMAT_JSONL);
  char err[256] = "";
  ck_assert_int_eq(cli_output_batch(o, &batch.s, &batch.a, 1, err, sizeof err), -1);
  ck_assert_str_eq(err, "cannot print field 'price': unsupported Arrow format 'd:10,2,256'");
  cli_output_free(o);
}
END_TEST

START_TEST(format_names_parse) {
  cli_format f;
  ck_assert_int_eq(cli_format_parse("csv", &f), 0);
  ck_assert_int_eq(f, CLI_FORMAT_CSV);
  ck_assert_int_eq(cli_format_parse("table", &f), 0);
  ck_assert_int_eq(f, CLI_FORMAT_TABLE);
  ck_assert_int_eq(cli_format_parse("jsonl", &f), 0);
  ck_assert_int_eq(f, CLI_FORMAT_JSONL);
  ck_assert_int_eq(cli_format_parse("xml", &f), -1);
}
END_TEST

int main(void) {
  setlocale(LC_CTYPE, "C.UTF-8"); /* as luaconn's main does */
  Suite *s = suite_create("cli_format");
  TCase *tc = tcase_create("format");
  tcase_add_test(tc, jsonl_prints_every_scalar_type);
  tcase_add_test(tc, integers_print_their_extremes);
  tcase_add_test(tc, csv_quotes_fields_and_leaves_nulls_empty);
  tcase_add_test(tc, limit_prints_only_the_first_rows);
  tcase_add_test(tc, floats_print_shortest_round_trip_form);
  tcase_add_test(tc, offsets_on_columns_and_on_the_batch_are_honoured);
  tcase_add_test(tc, jsonl_nests_arrays_structs_and_maps);
  tcase_add_test(tc, csv_prints_nested_values_as_quoted_json);
  tcase_add_test(tc, table_aligns_columns_and_truncates_long_cells);
  tcase_add_test(tc, table_measures_wide_characters_in_columns);
  tcase_add_test(tc, unsupported_types_are_named_in_the_error);
  tcase_add_test(tc, format_names_parse);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
