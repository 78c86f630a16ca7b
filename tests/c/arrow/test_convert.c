/* test_convert.c: the one conversion core. A number arrives as JSON text (page path)
 * or as the double a JSON decoder makes of that text (Lua path); both forms must
 * convert to the same column value or be refused with the same reason, for every
 * scalar type. Dates, timestamps and decimals from text convert one way for both. */
#include <math.h>

#include "lc_test.h"

#include "arrow/lc_arrow.h"

static lc_type *column_type(const char *ddl, lc_type **schema) {
  char err[LC_ERRMSG_MAX] = "";
  ck_assert_msg(lc_schema_parse(ddl, strlen(ddl), schema, err, sizeof err) == LC_OK, "%s", err);
  return (*schema)->children[0].type;
}

typedef struct converted {
  int rc;
  char why[128];
  lc_value value;
} converted;

static converted convert(const lc_type *t, lc_scalar v) {
  converted c;
  memset(&c, 0, sizeof c);
  c.rc = lc_convert_scalar(t, &v, &c.value, c.why, sizeof c.why);
  return c;
}

static const char *const types[] = {"TINYINT",   "SMALLINT",     "INT",           "BIGINT",
                                    "FLOAT",     "DOUBLE",       "DECIMAL(20,4)", "DATE",
                                    "TIMESTAMP", "TIMESTAMP_NTZ"};

static const char *const numbers[] = {"0",
                                      "-0",
                                      "1",
                                      "-1",
                                      "127",
                                      "128",
                                      "-128",
                                      "-129",
                                      "32767",
                                      "32768",
                                      "-32769",
                                      "2147483647",
                                      "2147483648",
                                      "-2147483648",
                                      "-2147483649",
                                      "1.0",
                                      "1.5",
                                      "-2.5",
                                      "1e3",
                                      "1E+2",
                                      "2.5e-3",
                                      "9007199254740991",
                                      "-9007199254740991",
                                      "9007199254740992",
                                      "9007199254740993",
                                      "-9007199254740993",
                                      "9.007199254740993e15",
                                      "123456789012345",
                                      "1234567890123456",
                                      "0.1",
                                      "1e300",
                                      "-1e300",
                                      "1e-400",
                                      "12345678901234567890",
                                      "99999999999999999999999999999999999999999999999999999999999"
                                      "99999999999999999999"};

START_TEST(a_number_converts_alike_from_its_text_and_from_its_double) {
  lc_type *schema = NULL;
  char ddl[64];
  snprintf(ddl, sizeof ddl, "x %s", types[_i]);
  const lc_type *t = column_type(ddl, &schema);
  for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
    const char *text = numbers[i];
    converted from_text =
        convert(t, (lc_scalar){.kind = LC_SCALAR_NUMBER, .text = text, .len = strlen(text)});
    converted from_double =
        convert(t, (lc_scalar){.kind = LC_SCALAR_NUMBER, .number = strtod(text, NULL)});
    ck_assert_msg(from_text.rc == from_double.rc, "%s %s: text rc %d (%s), double rc %d (%s)",
                  types[_i], text, from_text.rc, from_text.why, from_double.rc, from_double.why);
    ck_assert_msg(!strcmp(from_text.why, from_double.why), "%s %s: '%s' vs '%s'", types[_i], text,
                  from_text.why, from_double.why);
    size_t width = lc_column_value_width(t->id);
    ck_assert_msg(from_text.rc || !memcmp(&from_text.value, &from_double.value, width),
                  "%s %s: the two forms convert to different values", types[_i], text);
  }
  lc_type_free(schema);
}
END_TEST

START_TEST(bigint_is_exact_to_2_pow_53_minus_1_and_refused_beyond) {
  lc_type *schema = NULL;
  const lc_type *t = column_type("x BIGINT", &schema);
  converted c =
      convert(t, (lc_scalar){.kind = LC_SCALAR_NUMBER, .text = "-9007199254740991", .len = 17});
  ck_assert_int_eq(c.rc, LC_OK);
  ck_assert(c.value.i64 == -INT64_C(9007199254740991));
  /* 2^53 as a double may be 2^53 + 1 rounded: refused, not silently kept. */
  c = convert(t, (lc_scalar){.kind = LC_SCALAR_NUMBER, .number = 9007199254740992.0});
  ck_assert_int_eq(c.rc, LC_ERR_VALUE);
  ck_assert_str_eq(c.why, "out of range: beyond +-(2^53 - 1)");
  lc_type_free(schema);
}
END_TEST

START_TEST(kinds_a_type_does_not_take_are_refused_without_a_reason) {
  static const struct {
    const char *ddl;
    lc_scalar v;
  } cases[] = {
      {"x INT", {.kind = LC_SCALAR_STRING, .text = "1", .len = 1}},
      {"x INT", {.kind = LC_SCALAR_NUMBER, .text = "1.5", .len = 3}},
      {"x BOOLEAN", {.kind = LC_SCALAR_NUMBER, .number = 1}},
      {"x STRING", {.kind = LC_SCALAR_NUMBER, .number = 1}},
      {"x BINARY", {.kind = LC_SCALAR_TRUE}},
      {"x DATE", {.kind = LC_SCALAR_FALSE}},
      {"x DECIMAL(5,2)", {.kind = LC_SCALAR_TRUE}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    lc_type *schema = NULL;
    converted c = convert(column_type(cases[i].ddl, &schema), cases[i].v);
    ck_assert_msg(c.rc == LC_ERR_VALUE && c.why[0] == '\0', "%s: rc %d why '%s'", cases[i].ddl,
                  c.rc, c.why);
    lc_type_free(schema);
  }
}
END_TEST

/* Text values: the parse a date, timestamp or decimal gets, with the reason words. */
START_TEST(text_values_convert_or_say_why) {
  static const struct {
    const char *ddl, *text, *why;
    int64_t want; /* DATE: days; TIMESTAMP: microseconds */
  } cases[] = {
      {"x DATE", "2024-02-29", "", 19782},
      {"x DATE", "1969-12-31", "", -1},
      {"x DATE", "2023-02-29", "day out of range for the month", 0},
      {"x TIMESTAMP", "1970-01-01T00:00:01.5Z", "", 1500000},
      {"x TIMESTAMP", "1970-01-01T02:00:00+02:00", "", 0},
      {"x TIMESTAMP_NTZ", "1970-01-01T00:00:00.000001", "", 1},
      {"x STRING", "caf\xc3", "invalid UTF-8 at byte 4", 0},
      {"x STRING", "\xed\xa0\x80", "invalid UTF-8 at byte 1", 0}, /* an encoded surrogate */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    lc_type *schema = NULL;
    const lc_type *t = column_type(cases[i].ddl, &schema);
    converted c = convert(
        t,
        (lc_scalar){.kind = LC_SCALAR_STRING, .text = cases[i].text, .len = strlen(cases[i].text)});
    ck_assert_msg(!strcmp(c.why, cases[i].why), "%s '%s': why '%s', want '%s'", cases[i].ddl,
                  cases[i].text, c.why, cases[i].why);
    if (!cases[i].why[0]) {
      ck_assert_int_eq(c.rc, LC_OK);
      int64_t got = t->id == LC_T_DATE ? c.value.i32 : t->id == LC_T_STRING ? 0 : c.value.i64;
      ck_assert_msg(got == cases[i].want, "%s '%s': %lld", cases[i].ddl, cases[i].text,
                    (long long)got);
    } else {
      ck_assert_int_eq(c.rc, LC_ERR_VALUE);
    }
    lc_type_free(schema);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("convert");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, a_number_converts_alike_from_its_text_and_from_its_double, 0,
                      (int)(sizeof types / sizeof *types));
  tcase_add_test(tc, bigint_is_exact_to_2_pow_53_minus_1_and_refused_beyond);
  tcase_add_test(tc, kinds_a_type_does_not_take_are_refused_without_a_reason);
  tcase_add_test(tc, text_values_convert_or_say_why);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
