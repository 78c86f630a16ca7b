/* Hot reload: edits take effect at the next safe point, broken edits leave the last
 * good version running, helpers are watched too, and a read never mixes versions. */
#include <time.h>

#include "lc_test.h"

static char dir[64];
static char script_path[128];
static char module_path[128];
static char log_lines[8192];

static void capture_log(void *ctx, int level, const char *connector, const char *message) {
  (void)ctx;
  size_t used = strlen(log_lines);
  snprintf(log_lines + used, sizeof log_lines - used, "%d %s\n", level, message);
}

/* Writes a file and moves its mtime forward, so an edit within the same clock tick
 * as the previous one is still seen by the stat check. */
static void write_file(const char *path, const char *text) {
  static time_t bump = 0;
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  struct timespec times[2] = {{time(NULL) + (++bump), 0}, {time(NULL) + bump, 0}};
  utimensat(AT_FDCWD, path, times, 0);
}

static void write_version(const char *schema, const char *label) {
  char text[1024];
  snprintf(text, sizeof text,
           "local helper = require 'reload_helper'\n"
           "local C = { description = 'v', schema = '%s' }\n"
           "function C.read(opts, p, emit)\n"
           "  for i = 1, 30 do emit { id = i, label = helper.tag('%s') } end\n"
           "end\n"
           "return C\n",
           schema, label);
  write_file(script_path, text);
}

static lc_runtime *setup(void) {
  snprintf(dir, sizeof dir, "/tmp/lc_reloadXXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(script_path, sizeof script_path, "%s/ticker.lua", dir);
  snprintf(module_path, sizeof module_path, "%s/reload_helper.lua", dir);
  write_file(module_path, "return { tag = function(s) return s end }\n");
  write_version("id INT, label STRING", "v1");
  log_lines[0] = '\0';
  lc_config cfg = {0};
  cfg.hot_reload = 1;
  cfg.batch_rows = 10;
  cfg.search_path = dir;
  cfg.log = capture_log;
  cfg.log_level = LC_LOG_INFO;
  return lc_test_runtime(&cfg);
}

static void teardown(lc_runtime *rt) {
  unlink(script_path);
  unlink(module_path);
  rmdir(dir);
  lc_runtime_free(rt);
}

/* Reads one whole partition and returns the label every row had ("mixed" if not). */
static const char *read_label(lc_connector *conn, char *buf, size_t len) {
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  buf[0] = '\0';
  struct ArrowSchema s;
  struct ArrowArray a;
  while (lc_read_next(conn, &s, &a) == LC_OK) {
    const int32_t *offsets = a.children[1]->buffers[1];
    const char *data = a.children[1]->buffers[2];
    for (int64_t i = 0; i < a.length; i++) {
      char label[64];
      snprintf(label, sizeof label, "%.*s", offsets[i + 1] - offsets[i], data + offsets[i]);
      if (!buf[0])
        snprintf(buf, len, "%s", label);
      else if (strcmp(buf, label) != 0)
        snprintf(buf, len, "mixed");
    }
    s.release(&s);
    a.release(&a);
  }
  return buf;
}

START_TEST(an_edit_applies_at_the_next_call) {
  lc_runtime *rt = setup();
  lc_connector *conn = NULL;
  char label[64];
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, script_path, NULL, 0, &conn), LC_OK);
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v1");
  ck_assert_int_eq(lc_connector_generation(conn), 1);
  write_version("id INT, label STRING", "v2");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v2");
  ck_assert_int_eq(lc_connector_generation(conn), 2);
  ck_assert_ptr_null(lc_connector_reload_error(conn));
  ck_assert_ptr_nonnull(strstr(log_lines, "reloaded"));
  ck_assert_ptr_nonnull(strstr(lc_connector_source(conn, NULL), "'v2'"));
  /* Touching the file without changing it is not a new version. */
  write_version("id INT, label STRING", "v2");
  ck_assert_int_eq(lc_connector_reload(conn), LC_OK);
  ck_assert_int_eq(lc_connector_generation(conn), 2);
  lc_connector_free(conn);
  teardown(rt);
}
END_TEST

START_TEST(a_broken_edit_keeps_the_last_good_version) {
  lc_runtime *rt = setup();
  lc_connector *conn = NULL;
  char label[64];
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, script_path, NULL, 0, &conn), LC_OK);
  write_file(script_path,
             "local C = { schema = 'id INT' }\nfunction C.read(opts, p, emit)\n  emit({ id = 1 "
             "}\nend\nreturn C\n");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v1");
  ck_assert_int_eq(lc_connector_generation(conn), 1);
  const lc_error *e = lc_connector_reload_error(conn);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->code, LC_ERR_SYNTAX);
  ck_assert_str_eq(e->script, script_path);
  ck_assert_int_eq(e->line, 4);
  ck_assert_ptr_nonnull(strstr(log_lines, "reload refused, generation 1 keeps running"));
  ck_assert_ptr_nonnull(strstr(log_lines, "ticker.lua:4:"));
  /* A contract violation is refused the same way. */
  write_file(script_path, "return { schema = 'id INT' }\n");
  ck_assert_int_eq(lc_connector_reload(conn), LC_ERR_CONTRACT);
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v1");
  /* Fixing the script applies it. */
  write_version("id INT, label STRING", "v3");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v3");
  ck_assert_int_eq(lc_connector_generation(conn), 2);
  ck_assert_ptr_null(lc_connector_reload_error(conn));
  lc_connector_free(conn);
  teardown(rt);
}
END_TEST

START_TEST(an_edited_helper_module_reloads_the_connector) {
  lc_runtime *rt = setup();
  lc_connector *conn = NULL;
  char label[64];
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, script_path, NULL, 0, &conn), LC_OK);
  write_file(module_path, "return { tag = function(s) return s .. '+helper2' end }\n");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v1+helper2");
  ck_assert_int_eq(lc_connector_generation(conn), 2);
  lc_connector_free(conn);
  teardown(rt);
}
END_TEST

START_TEST(a_read_in_progress_never_mixes_versions) {
  lc_runtime *rt = setup();
  lc_connector *conn = NULL;
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, script_path, NULL, 0, &conn), LC_OK);
  ck_assert_int_eq(lc_read_begin(conn, NULL), LC_OK);
  struct ArrowSchema s;
  struct ArrowArray a;
  int64_t rows = 0;
  for (int batch = 0; lc_read_next(conn, &s, &a) == LC_OK; batch++) {
    if (batch == 0) write_version("id INT, label STRING", "v2"); /* edit mid-read */
    const int32_t *offsets = a.children[1]->buffers[1];
    const char *data = a.children[1]->buffers[2];
    for (int64_t i = 0; i < a.length; i++) ck_assert_int_eq(strncmp(data + offsets[i], "v1", 2), 0);
    rows += a.length;
    s.release(&s);
    a.release(&a);
  }
  ck_assert_int_eq(rows, 30);
  ck_assert_int_eq(lc_connector_generation(conn), 1);
  char label[64];
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v2");
  lc_connector_free(conn);
  teardown(rt);
}
END_TEST

START_TEST(a_locked_schema_refuses_schema_changes_only) {
  lc_runtime *rt = setup();
  lc_connector *conn = NULL;
  char label[64];
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, script_path, NULL, 0, &conn), LC_OK);
  lc_connector_lock_schema(conn, 1);
  write_version("id BIGINT, label STRING", "wide");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v1");
  const lc_error *e = lc_connector_reload_error(conn);
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_nonnull(strstr(e->message, "changes the schema"));
  ck_assert_str_eq(lc_connector_schema(conn), "id INT, label STRING");
  write_version("id INT, label STRING", "same-schema");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "same-schema");
  lc_connector_free(conn);
  teardown(rt);
}
END_TEST

START_TEST(hot_reload_off_keeps_the_loaded_version) {
  lc_runtime *rt = setup();
  rt = (lc_runtime_free(rt), lc_test_runtime(&(lc_config){.search_path = dir, .batch_rows = 10}));
  lc_connector *conn = NULL;
  char label[64];
  ck_assert_int_eq(lc_connector_open(rt, LC_SOURCE_FILE, script_path, NULL, 0, &conn), LC_OK);
  write_version("id INT, label STRING", "v2");
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v1");
  /* An explicit check still reloads. */
  ck_assert_int_eq(lc_connector_reload(conn), LC_OK);
  ck_assert_str_eq(read_label(conn, label, sizeof label), "v2");
  lc_connector_free(conn);
  teardown(rt);
}
END_TEST

int main(void) {
  Suite *s = suite_create("reload");
  TCase *tc = tcase_create("reload");
  tcase_add_test(tc, an_edit_applies_at_the_next_call);
  tcase_add_test(tc, a_broken_edit_keeps_the_last_good_version);
  tcase_add_test(tc, an_edited_helper_module_reloads_the_connector);
  tcase_add_test(tc, a_read_in_progress_never_mixes_versions);
  tcase_add_test(tc, a_locked_schema_refuses_schema_changes_only);
  tcase_add_test(tc, hot_reload_off_keeps_the_loaded_version);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
