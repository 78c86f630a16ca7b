/* test_schema.c: Spark DDL strings parse into the type trees the builder uses, and
 * every mistake is reported with what and where. */
#include "lc_test.h"

#include "arrow/lc_arrow.h"

static lc_type *parse_ok(const char *ddl) {
  char err[LC_ERRMSG_MAX] = "";
  lc_type *t = NULL;
  int rc = lc_schema_parse(ddl, strlen(ddl), &t, err, sizeof err);
  ck_assert_msg(rc == LC_OK, "parsing \"%s\" failed: %s", ddl, err);
  ck_assert_int_eq(t->id, LC_T_STRUCT);
  return t;
}

static void assert_field(const lc_field *f, const char *name, lc_type_id id, bool nullable) {
  ck_assert_str_eq(f->name, name);
  ck_assert_msg(f->type->id == id, "field %s is %s, expected %s", name, lc_type_name(f->type->id),
                lc_type_name(id));
  ck_assert_msg(f->nullable == nullable, "field %s nullable=%d", name, f->nullable);
}

START_TEST(every_scalar_type_and_spelling) {
  lc_type *t = parse_ok(
      "a BOOLEAN, b INT, c INTEGER, d BIGINT, e LONG, f FLOAT, g REAL, h DOUBLE, i STRING, "
      "j VARCHAR(10), k CHAR(3), l BINARY, m DATE, n TIMESTAMP, o boolean, p bigInt");
  static const lc_type_id want[] = {LC_T_BOOLEAN, LC_T_INT,       LC_T_INT,     LC_T_BIGINT,
                                    LC_T_BIGINT,  LC_T_FLOAT,     LC_T_FLOAT,   LC_T_DOUBLE,
                                    LC_T_STRING,  LC_T_STRING,    LC_T_STRING,  LC_T_BINARY,
                                    LC_T_DATE,    LC_T_TIMESTAMP, LC_T_BOOLEAN, LC_T_BIGINT};
  ck_assert_uint_eq(t->n_children, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < t->n_children; i++) {
    char name[2] = {(char)('a' + i), 0};
    assert_field(&t->children[i], name, want[i], true);
    ck_assert_uint_eq(t->children[i].type->n_children, 0);
  }
  lc_type_free(t);
}
END_TEST

START_TEST(nested_types) {
  lc_type *t = parse_ok(
      "tags ARRAY<STRING>, addr STRUCT<city: STRING, zip INT NOT NULL, geo STRUCT<lat: DOUBLE>>,"
      " attrs MAP<STRING, ARRAY<BIGINT>>, grid ARRAY<ARRAY<INT>>, empty STRUCT<>");
  ck_assert_uint_eq(t->n_children, 5);

  const lc_type *tags = t->children[0].type;
  assert_field(&t->children[0], "tags", LC_T_ARRAY, true);
  ck_assert_uint_eq(tags->n_children, 1);
  assert_field(&tags->children[0], "element", LC_T_STRING, true);

  const lc_type *addr = t->children[1].type;
  ck_assert_uint_eq(addr->n_children, 3);
  assert_field(&addr->children[0], "city", LC_T_STRING, true);
  assert_field(&addr->children[1], "zip", LC_T_INT, false);
  assert_field(&addr->children[2], "geo", LC_T_STRUCT, true);
  assert_field(&addr->children[2].type->children[0], "lat", LC_T_DOUBLE, true);

  const lc_type *attrs = t->children[2].type;
  assert_field(&t->children[2], "attrs", LC_T_MAP, true);
  ck_assert_uint_eq(attrs->n_children, 2);
  assert_field(&attrs->children[0], "key", LC_T_STRING, false);
  assert_field(&attrs->children[1], "value", LC_T_ARRAY, true);
  assert_field(&attrs->children[1].type->children[0], "element", LC_T_BIGINT, true);

  const lc_type *grid = t->children[3].type;
  assert_field(&grid->children[0], "element", LC_T_ARRAY, true);
  assert_field(&grid->children[0].type->children[0], "element", LC_T_INT, true);

  assert_field(&t->children[4], "empty", LC_T_STRUCT, true);
  ck_assert_uint_eq(t->children[4].type->n_children, 0);
  lc_type_free(t);
}
END_TEST

START_TEST(not_null_and_comments) {
  lc_type *t = parse_ok(
      "  id INT NOT NULL COMMENT 'primary, key',name STRING comment \"it's \\\" quoted\","
      " s STRUCT<x: INT NOT NULL COMMENT 'inner'> not null , last DATE  ");
  ck_assert_uint_eq(t->n_children, 4);
  assert_field(&t->children[0], "id", LC_T_INT, false);
  assert_field(&t->children[1], "name", LC_T_STRING, true);
  assert_field(&t->children[2], "s", LC_T_STRUCT, false);
  assert_field(&t->children[2].type->children[0], "x", LC_T_INT, false);
  assert_field(&t->children[3], "last", LC_T_DATE, true);
  lc_type_free(t);
}
END_TEST

START_TEST(back_quoted_names) {
  lc_type *t = parse_ok(
      "`first name` STRING, `a``b` INT, `select` DATE, "
      "s STRUCT<`inner field`: INT>, 1col INT");
  assert_field(&t->children[0], "first name", LC_T_STRING, true);
  assert_field(&t->children[1], "a`b", LC_T_INT, true);
  assert_field(&t->children[2], "select", LC_T_DATE, true);
  assert_field(&t->children[3].type->children[0], "inner field", LC_T_INT, true);
  assert_field(&t->children[4], "1col", LC_T_INT, true);
  lc_type_free(t);
}
END_TEST

START_TEST(type_names_are_ddl_names) {
  ck_assert_str_eq(lc_type_name(LC_T_BOOLEAN), "BOOLEAN");
  ck_assert_str_eq(lc_type_name(LC_T_INT), "INT");
  ck_assert_str_eq(lc_type_name(LC_T_BIGINT), "BIGINT");
  ck_assert_str_eq(lc_type_name(LC_T_FLOAT), "FLOAT");
  ck_assert_str_eq(lc_type_name(LC_T_DOUBLE), "DOUBLE");
  ck_assert_str_eq(lc_type_name(LC_T_STRING), "STRING");
  ck_assert_str_eq(lc_type_name(LC_T_BINARY), "BINARY");
  ck_assert_str_eq(lc_type_name(LC_T_DATE), "DATE");
  ck_assert_str_eq(lc_type_name(LC_T_TIMESTAMP), "TIMESTAMP");
  ck_assert_str_eq(lc_type_name(LC_T_ARRAY), "ARRAY");
  ck_assert_str_eq(lc_type_name(LC_T_STRUCT), "STRUCT");
  ck_assert_str_eq(lc_type_name(LC_T_MAP), "MAP");
}
END_TEST

/* Each bad schema and the exact message a user sees. */
static const struct {
  const char *ddl;
  const char *message;
} bad_schemas[] = {
    {"id INTT", "unknown type 'INTT' for column 'id' at character 4"},
    {"id INT, name STRNG", "unknown type 'STRNG' for column 'name' at character 14"},
    {"id INT, ID STRING", "duplicate column 'ID'"},
    {"s STRUCT<a: INT, a: STRING>", "duplicate field 'a'"},
    {"", "empty schema: expected at least one column"},
    {"   \n ", "empty schema: expected at least one column"},
    {"tags ARRAY<STRING", "expected '>' to close ARRAY< at character 18, found end of schema"},
    {"tags ARRAY<STRING, x INT", "expected '>' to close ARRAY< at character 18, found ','"},
    {"m MAP<STRING INT>",
     "expected ',' between MAP key and value types at character 14, found 'INT'"},
    {"m MAP<STRING, INT", "expected '>' to close MAP< at character 18, found end of schema"},
    {"s STRUCT<a INT", "expected ',' or '>' after field 'a' at character 15, found end of schema"},
    {"tags ARRAY STRING", "expected '<' after ARRAY at character 12, found 'STRING'"},
    {"id INT,", "expected a column name at character 8, found end of schema"},
    {", id INT", "expected a column name at character 1, found ','"},
    {"id", "expected a type for column 'id' at character 3, found end of schema"},
    {"id INT name STRING",
     "expected ',' or end of schema after column 'id' at character 8, found 'name'"},
    {"id INT NOT", "expected NULL after NOT for column 'id' at character 11"},
    {"id INT COMMENT", "expected a quoted string after COMMENT for column 'id' at character 15"},
    {"id INT COMMENT 'open", "unterminated comment string for column 'id' at character 16"},
    {"`id INT", "unterminated back-quoted name at character 1"},
    {"`` INT", "empty column name at character 1"},
    {"v VARCHAR(x)", "expected a length for column 'v' at character 11"},
    {"d DECIMAL(39,2)",
     "DECIMAL(39, 2) for column 'd': precision must be 1 to 38 and scale 0 to "
     "the precision"},
    {"d DECIMAL(4,5)",
     "DECIMAL(4, 5) for column 'd': precision must be 1 to 38 and scale 0 to "
     "the precision"},
    {"d DECIMAL(4,)",
     "expected a number in DECIMAL(precision, scale) for column 'd' at character 13"},
    {"a ARRAY<FOO>", "unknown type 'FOO' for column 'a' at character 9"},
};

START_TEST(errors_name_what_and_where) {
  char err[LC_ERRMSG_MAX];
  lc_type *t = (lc_type *)1;
  strcpy(err, "");
  int rc = lc_schema_parse(bad_schemas[_i].ddl, strlen(bad_schemas[_i].ddl), &t, err, sizeof err);
  ck_assert_msg(rc == LC_ERR_SCHEMA, "\"%s\" parsed (rc %d)", bad_schemas[_i].ddl, rc);
  ck_assert_ptr_null(t);
  ck_assert_str_eq(err, bad_schemas[_i].message);
}
END_TEST

START_TEST(null_ddl_is_an_empty_schema) {
  char err[LC_ERRMSG_MAX];
  lc_type *t = NULL;
  ck_assert_int_eq(lc_schema_parse(NULL, 0, &t, err, sizeof err), LC_ERR_SCHEMA);
  ck_assert_str_eq(err, "empty schema: expected at least one column");
}
END_TEST

int main(void) {
  Suite *s = suite_create("schema");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, every_scalar_type_and_spelling);
  tcase_add_test(tc, nested_types);
  tcase_add_test(tc, not_null_and_comments);
  tcase_add_test(tc, back_quoted_names);
  tcase_add_test(tc, type_names_are_ddl_names);
  tcase_add_loop_test(tc, errors_name_what_and_where, 0,
                      (int)(sizeof bad_schemas / sizeof bad_schemas[0]));
  tcase_add_test(tc, null_ddl_is_an_empty_schema);
  suite_add_tcase(s, tc);
  return lc_test_run(s);
}
