/* test_base.c: the base layer on its own: dates and timestamps both ways, UTF-8
 * validity, integer text, problem lists, growable buffers and file signatures. */
#include "lc_test.h"

#include "base/lc_base.h"

START_TEST(dates_parse_and_format_round_trip) {
  static const struct {
    const char *text;
    int64_t days;
  } dates[] = {{"1970-01-01", 0},     {"1969-12-31", -1},      {"2000-02-29", 11016},
               {"2024-12-31", 20088}, {"0001-01-01", -719162}, {"9999-12-31", 2932896}};
  for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
    int64_t days = 12345;
    ck_assert_ptr_null(lc_date_parse(dates[i].text, strlen(dates[i].text), &days));
    ck_assert_int_eq(days, dates[i].days);
    char out[32];
    ck_assert_uint_eq(lc_date_format(days, out, sizeof out), 10);
    ck_assert_str_eq(out, dates[i].text);
  }
}
END_TEST

START_TEST(bad_dates_say_what_is_wrong) {
  int64_t days;
  ck_assert_str_eq(lc_date_parse("2023-02-29", 10, &days), "day out of range for the month");
  ck_assert_str_eq(lc_date_parse("2023-13-01", 10, &days), "month out of range");
  ck_assert_str_eq(lc_date_parse("2023-1-01", 9, &days), "not YYYY-MM-DD");
  ck_assert_str_eq(lc_date_parse("2023/01/01", 10, &days), "not YYYY-MM-DD");
}
END_TEST

START_TEST(timestamps_with_zones_and_fractions) {
  int64_t us;
  ck_assert_ptr_null(lc_timestamp_parse("1970-01-01T00:00:01.5Z", 22, &us));
  ck_assert_int_eq(us, 1500000);
  ck_assert_ptr_null(lc_timestamp_parse("1970-01-01 02:00:00+02:00", 25, &us));
  ck_assert_int_eq(us, 0);
  ck_assert_ptr_null(lc_timestamp_parse("1969-12-31T23:59:59.999999999-0000", 34, &us));
  ck_assert_int_eq(us, -1); /* digits past microseconds are truncated */
  ck_assert_str_eq(lc_timestamp_parse("1970-01-01T24:00:00Z", 20, &us), "time of day out of range");
  ck_assert_str_eq(lc_timestamp_parse("1970-01-01T00:00:00+25:00", 25, &us),
                   "zone offset out of range");

  char out[64];
  lc_timestamp_format(-1, 1000000, 6, true, out, sizeof out);
  ck_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
  lc_timestamp_format(1500, 1000, 3, false, out, sizeof out);
  ck_assert_str_eq(out, "1970-01-01T00:00:01.500");
  lc_timestamp_format(86400, 1, 0, true, out, sizeof out);
  ck_assert_str_eq(out, "1970-01-02T00:00:00Z");
  /* A buffer too small is cut, never overrun, and stays NUL-terminated. */
  char small[12];
  ck_assert_uint_eq(lc_timestamp_format(0, 1, 0, true, small, sizeof small), 11);
  ck_assert_str_eq(small, "1970-01-01T");
}
END_TEST

START_TEST(utf8_validity_rules) {
  static const struct {
    const char *s;
    size_t valid;
  } cases[] = {
      {"plain ascii text", 16}, {"caf\xc3\xa9", 5}, {"\xc0\xaf", 0}, /* overlong '/' */
      {"ab\xed\xa0\x80", 2},                                         /* UTF-16 surrogate */
      {"\xf4\x90\x80\x80", 0},                                       /* above U+10FFFF */
      {"ok\xe2\x82", 2},                                             /* cut short */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_uint_eq(lc_utf8_valid_prefix((const unsigned char *)cases[i].s, strlen(cases[i].s)),
                      cases[i].valid);
}
END_TEST

START_TEST(integers_as_text) {
  char buf[24], *end = buf + sizeof buf;
  char *p = lc_int64_text(INT64_MIN, false, end);
  ck_assert_int_eq((int)(end - p), 20);
  ck_assert(memcmp(p, "-9223372036854775808", 20) == 0);
  p = lc_int64_text(-1, true, end);
  ck_assert(memcmp(p, "18446744073709551615", (size_t)(end - p)) == 0);
  p = lc_int64_text(0, false, end);
  ck_assert(end - p == 1 && *p == '0');
}
END_TEST

START_TEST(problems_are_listed_and_bounded) {
  char err[32] = "";
  lc_problem_add(err, sizeof err, "option '%s' is required", "url");
  lc_problem_add(err, sizeof err, "unknown option 'x'");
  ck_assert_str_eq(err, "option 'url' is required; unkno");
  lc_problem_add(err, sizeof err, "more"); /* full: nothing more, no overrun */
  ck_assert_uint_eq(strlen(err), sizeof err - 1);
}
END_TEST

START_TEST(buffers_and_bitmaps_grow) {
  lc_buf b = {0}, bits = {0};
  for (int i = 0; i < 1000; i++) ck_assert(lc_buf_append(&b, &i, sizeof i));
  ck_assert_uint_eq(b.len, 1000 * sizeof(int));
  ck_assert_int_eq(((int *)b.data)[999], 999);
  for (int64_t i = 0; i < 77; i++) ck_assert(lc_bitmap_push(&bits, i, i % 3 == 0));
  ck_assert_uint_eq(bits.len, 10);
  for (int64_t i = 0; i < 77; i++) ck_assert_int_eq(lc_bitmap_get(bits.data, i), i % 3 == 0);
  lc_buf_free(&b);
  lc_buf_free(&bits);
  ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(file_signatures_notice_content_changes_only) {
  char path[] = "/tmp/lc_base_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "one", 3), 3);
  close(fd);
  char *data = NULL;
  size_t len = 0;
  ck_assert_int_eq(lc_file_read(path, &data, &len), LC_OK);
  ck_assert_str_eq(data, "one");
  lc_file_sig sig;
  ck_assert(lc_file_sig_init(&sig, path, data, len));
  free(data);
  bool gone;
  ck_assert(lc_file_sig_current(&sig, &gone) == sig.hash && !gone);

  /* Rewritten with the same bytes: the stat changes, the hash does not. */
  struct timespec later[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
  ck_assert_int_eq(utimensat(AT_FDCWD, path, later, 0), 0);
  ck_assert(lc_file_sig_current(&sig, &gone) == sig.hash && !gone);

  FILE *f = fopen(path, "w");
  fputs("two", f);
  fclose(f);
  ck_assert(lc_file_sig_current(&sig, &gone) != sig.hash);
  unlink(path);
  lc_file_sig_current(&sig, &gone);
  ck_assert(gone);
  ck_assert_int_eq(lc_file_read(path, &data, &len), LC_ERR_IO);
  free(sig.path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("base");
  TCase *tc = tcase_create("base");
  tcase_add_test(tc, dates_parse_and_format_round_trip);
  tcase_add_test(tc, bad_dates_say_what_is_wrong);
  tcase_add_test(tc, timestamps_with_zones_and_fractions);
  tcase_add_test(tc, utf8_validity_rules);
  tcase_add_test(tc, integers_as_text);
  tcase_add_test(tc, problems_are_listed_and_bounded);
  tcase_add_test(tc, buffers_and_bitmaps_grow);
  tcase_add_test(tc, file_signatures_notice_content_changes_only);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
