/* The conformance suite: every connector in lua/connectors follows the contract in
 * spec/CONTRACT.md. */
#include <dirent.h>

#include "lc_test.h"

/* Opens path with no options: a connector whose options are all optional or only
 * required for one operation must open, and compute its schema, without any. */
static void open_without_options(lc_runtime *rt, const char *path, const char *summary) {
  if (strstr(summary, "\"required\":true")) return; /* needs options to open at all */
  lc_connector *conn = NULL;
  int rc = lc_connector_open(rt, LC_SOURCE_FILE, path, NULL, 0, &conn);
  ck_assert_msg(rc == LC_OK, "%s does not open: %s", path, lc_runtime_error(rt)->message);
  ck_assert_ptr_nonnull(lc_connector_schema(conn));
  ck_assert_msg(lc_connector_can_read(conn) || lc_connector_can_write(conn),
                "%s neither reads nor writes", path);
  lc_connector_free(conn);
}

START_TEST(every_connector_follows_the_contract) {
  lc_runtime *rt = lc_test_runtime(NULL);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/lua/connectors", lc_test_source_dir());
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int checked = 0;
  struct dirent *entry;
  while ((entry = readdir(d))) {
    size_t len = strlen(entry->d_name);
    if (len < 5 || strcmp(entry->d_name + len - 4, ".lua") != 0) continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    char *summary = NULL;
    int rc = lc_connector_check(rt, LC_SOURCE_FILE, path, &summary);
    ck_assert_msg(rc == LC_OK, "%s: %s", path, lc_runtime_error(rt)->message);
    ck_assert_msg(strstr(summary, "\"description\":\"") != NULL, "%s has no description", path);
    open_without_options(rt, path, summary);
    lc_free(summary);
    checked++;
  }
  closedir(d);
  ck_assert_int_ge(checked, 1);
  lc_runtime_free(rt);
}
END_TEST

int main(void) {
  Suite *s = suite_create("conformance");
  TCase *tc = tcase_create("conformance");
  tcase_add_test(tc, every_connector_follows_the_contract);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
