/* test_arrow.c: Lua rows become Arrow C Data Interface batches with the right
 * buffers, bad values are refused with column and row named, and batches (also
 * pyarrow-shaped ones with offsets) turn back into the same Lua rows. */
#include "lc_test.h"

#include <lualib.h>
#include <math.h>

#include "connector/lc_connector.h"

/* ---- helpers ----------------------------------------------------------------------- */

/* A Lua state with `null` (what cjson.null is: a NULL light userdata) and `same`,
 * a deep comparison that explains the first difference. */
static lua_State *new_lua(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushlightuserdata(L, NULL);
  lua_setglobal(L, "null");
  const char *same =
      "function same(a, b, path)\n"
      "  path = path or 'row'\n"
      "  if type(a) ~= 'table' or type(b) ~= 'table' then\n"
      "    if a == b then return true end\n"
      "    return false, path .. ': ' .. tostring(a) .. ' ~= ' .. tostring(b)\n"
      "  end\n"
      "  for k, v in pairs(a) do\n"
      "    local ok, why = same(v, b[k], path .. '.' .. tostring(k))\n"
      "    if not ok then return false, why end\n"
      "  end\n"
      "  for k in pairs(b) do\n"
      "    if a[k] == nil then return false, path .. '.' .. tostring(k) .. ' unexpected' end\n"
      "  end\n"
      "  return true\n"
      "end\n";
  ck_assert_int_eq(luaL_dostring(L, same), 0);
  return L;
}

/* Runs Lua source and leaves its one result on the stack. */
static void eval(lua_State *L, const char *src) {
  int rc = luaL_loadstring(L, src) || lua_pcall(L, 0, 1, 0);
  ck_assert_msg(rc == 0, "lua: %s", lua_tostring(L, -1));
}

typedef struct fixture {
  lua_State *L;
  lc_type *schema;
  lc_rows *b;
  struct ArrowSchema s;
  struct ArrowArray a;
  char err[LC_ERRMSG_MAX];
} fixture;

static void setup(fixture *f, const char *ddl) {
  memset(f, 0, sizeof *f);
  f->L = new_lua();
  ck_assert_msg(lc_schema_parse(ddl, strlen(ddl), &f->schema, f->err, sizeof f->err) == LC_OK, "%s",
                f->err);
  ck_assert_int_eq(lc_rows_new(f->schema, f->L, &f->b), LC_OK);
}

static void teardown(fixture *f) {
  if (f->a.release) f->a.release(&f->a);
  if (f->s.release) f->s.release(&f->s);
  lc_rows_free(f->b);
  lc_type_free(f->schema);
  lua_close(f->L);
}

/* Appends every row of the Lua list `rows_src` returns, numbering rows from 1.
 * Returns the first error (f->err holds its message). */
static int append_rows(fixture *f, const char *rows_src) {
  eval(f->L, rows_src);
  int n = (int)lua_objlen(f->L, -1), rc = LC_OK;
  for (int i = 1; i <= n && rc == LC_OK; i++) {
    lua_rawgeti(f->L, -1, i);
    int top = lua_gettop(f->L);
    rc = lc_rows_append(f->b, f->L, -1, i, f->err, sizeof f->err);
    ck_assert_int_eq(lua_gettop(f->L), top); /* append leaves the stack as it was */
    lua_pop(f->L, 1);
  }
  lua_pop(f->L, 1);
  return rc;
}

static void build(fixture *f, const char *rows_src) {
  int rc = append_rows(f, rows_src);
  ck_assert_msg(rc == LC_OK, "append failed: %s", f->err);
  ck_assert_int_eq(lc_builder_finish(lc_rows_builder(f->b), &f->s, &f->a), LC_OK);
}

static const struct ArrowArray *col(const fixture *f, int i) { return f->a.children[i]; }

static bool valid(const struct ArrowArray *a, int64_t i) {
  const uint8_t *bm = a->buffers[0];
  return !bm || ((bm[i >> 3] >> (i & 7)) & 1);
}

#define I32(a, n) (((const int32_t *)(a)->buffers[1])[n])
#define I64(a, n) (((const int64_t *)(a)->buffers[1])[n])
#define BIT(a, buf, n) ((((const uint8_t *)(a)->buffers[buf])[(n) >> 3] >> ((n)&7)) & 1)

static void assert_string(const struct ArrowArray *a, int64_t i, const char *want) {
  const int32_t *off = a->buffers[1];
  size_t len = (size_t)(off[i + 1] - off[i]);
  ck_assert_uint_eq(len, strlen(want));
  ck_assert_int_eq(memcmp((const char *)a->buffers[2] + off[i], want, len), 0);
}

/* ---- building batches ------------------------------------------------------------- */

START_TEST(scalar_columns_export_arrow_buffers) {
  fixture f;
  setup(&f,
        "b BOOLEAN, i INT NOT NULL, l BIGINT, fl FLOAT, d DOUBLE, s STRING, bin BINARY, "
        "dt DATE, ts TIMESTAMP");
  build(&f,
        "return {"
        " {b=true, i=1, l=2^53-1, fl=1.5, d=0.25, s='héllo', bin='\\0\\255',"
        "  dt='2024-02-29', ts='2024-01-02T03:04:05.5Z'},"
        " {b=null, i=-2147483648, l=nil, fl=null, s='', dt=0, ts=0},"
        " {b=false, i=2147483647, l=-9007199254740991, fl=-0.5, d=1e300, s='x', bin='',"
        "  dt=-1, ts=-1.5},"
        "}");
  ck_assert_str_eq(f.s.format, "+s");
  ck_assert_int_eq(f.s.n_children, 9);
  ck_assert_int_eq(f.a.length, 3);
  ck_assert_int_eq(f.a.null_count, 0);
  ck_assert_int_eq(f.a.n_children, 9);
  ck_assert_int_eq(f.a.n_buffers, 1);

  static const char *const formats[] = {"b", "i", "l", "f", "g", "u", "z", "tdD", "tsu:UTC"};
  static const char *const names[] = {"b", "i", "l", "fl", "d", "s", "bin", "dt", "ts"};
  static const int64_t null_counts[] = {1, 0, 1, 1, 1, 0, 1, 0, 0};
  for (int i = 0; i < 9; i++) {
    ck_assert_str_eq(f.s.children[i]->format, formats[i]);
    ck_assert_str_eq(f.s.children[i]->name, names[i]);
    ck_assert_int_eq(f.s.children[i]->flags, i == 1 ? 0 : ARROW_FLAG_NULLABLE);
    ck_assert_int_eq(col(&f, i)->length, 3);
    ck_assert_int_eq(col(&f, i)->offset, 0);
    ck_assert_msg(col(&f, i)->null_count == null_counts[i], "column %s null_count %lld", names[i],
                  (long long)col(&f, i)->null_count);
    /* A validity bitmap only travels with nulls, and then marks exactly them. */
    if (null_counts[i] == 0)
      ck_assert_ptr_null(col(&f, i)->buffers[0]);
    else
      ck_assert_ptr_nonnull(col(&f, i)->buffers[0]);
  }

  const struct ArrowArray *b = col(&f, 0);
  ck_assert_int_eq(b->n_buffers, 2);
  ck_assert(valid(b, 0) && !valid(b, 1) && valid(b, 2));
  ck_assert_int_eq(BIT(b, 1, 0), 1);
  ck_assert_int_eq(BIT(b, 1, 2), 0);

  const struct ArrowArray *i = col(&f, 1);
  ck_assert_int_eq(I32(i, 0), 1);
  ck_assert_int_eq(I32(i, 1), INT32_MIN);
  ck_assert_int_eq(I32(i, 2), INT32_MAX);

  const struct ArrowArray *l = col(&f, 2);
  ck_assert_int_eq(I64(l, 0), INT64_C(9007199254740991));
  ck_assert(!valid(l, 1));
  ck_assert_int_eq(I64(l, 2), INT64_C(-9007199254740991));

  const struct ArrowArray *fl = col(&f, 3);
  ck_assert(((const float *)fl->buffers[1])[0] == 1.5f);
  ck_assert(((const float *)fl->buffers[1])[2] == -0.5f);
  const struct ArrowArray *d = col(&f, 4);
  ck_assert(((const double *)d->buffers[1])[0] == 0.25);
  ck_assert(!valid(d, 1));
  ck_assert(((const double *)d->buffers[1])[2] == 1e300);

  const struct ArrowArray *s = col(&f, 5);
  ck_assert_int_eq(s->n_buffers, 3);
  assert_string(s, 0, "héllo");
  assert_string(s, 1, "");
  assert_string(s, 2, "x");
  const struct ArrowArray *bin = col(&f, 6);
  const int32_t *boff = bin->buffers[1];
  ck_assert_int_eq(boff[1] - boff[0], 2);
  ck_assert_int_eq(((const uint8_t *)bin->buffers[2])[1], 0xFF);
  ck_assert(!valid(bin, 1));
  ck_assert_int_eq(boff[2], boff[1]); /* a null takes no bytes */

  const struct ArrowArray *dt = col(&f, 7);
  ck_assert_int_eq(I32(dt, 0), 19782); /* 2024-02-29 */
  ck_assert_int_eq(I32(dt, 1), 0);
  ck_assert_int_eq(I32(dt, 2), -1);

  const struct ArrowArray *ts = col(&f, 8);
  ck_assert_int_eq(I64(ts, 0), INT64_C(1704164645500000));
  ck_assert_int_eq(I64(ts, 1), 0);
  ck_assert_int_eq(I64(ts, 2), INT64_C(-1500000));
  teardown(&f);
}
END_TEST

START_TEST(nested_columns_export_arrow_children) {
  fixture f;
  setup(&f,
        "tags ARRAY<STRING>, addr STRUCT<city: STRING, zip INT NOT NULL>, "
        "attrs MAP<STRING, BIGINT>");
  build(&f,
        "return {"
        " {tags={'a','b'}, addr={city='Oslo', zip=150}, attrs={n=1}},"
        " {tags={}, addr=null, attrs={}},"
        " {tags=null, addr={zip=7}, attrs=null},"
        " {tags={'c', null}, addr={city='Rome', zip=1}, attrs={m=null}},"
        "}");
  ck_assert_int_eq(f.a.length, 4);

  const struct ArrowSchema *tags_s = f.s.children[0];
  ck_assert_str_eq(tags_s->format, "+l");
  ck_assert_int_eq(tags_s->n_children, 1);
  ck_assert_str_eq(tags_s->children[0]->name, "element");
  ck_assert_str_eq(tags_s->children[0]->format, "u");
  ck_assert_int_eq(tags_s->children[0]->flags, ARROW_FLAG_NULLABLE);
  const struct ArrowArray *tags = col(&f, 0);
  ck_assert_int_eq(tags->n_buffers, 2);
  ck_assert_int_eq(tags->null_count, 1);
  static const int32_t tag_offsets[] = {0, 2, 2, 2, 4};
  for (int i = 0; i < 5; i++) ck_assert_int_eq(I32(tags, i), tag_offsets[i]);
  ck_assert(!valid(tags, 2) && valid(tags, 1));
  const struct ArrowArray *elements = tags->children[0];
  ck_assert_int_eq(elements->length, 4);
  ck_assert_int_eq(elements->null_count, 1);
  assert_string(elements, 2, "c");
  ck_assert(!valid(elements, 3));

  const struct ArrowSchema *addr_s = f.s.children[1];
  ck_assert_str_eq(addr_s->format, "+s");
  ck_assert_str_eq(addr_s->children[0]->name, "city");
  ck_assert_str_eq(addr_s->children[1]->name, "zip");
  ck_assert_int_eq(addr_s->children[1]->flags, 0);
  const struct ArrowArray *addr = col(&f, 1);
  ck_assert_int_eq(addr->n_buffers, 1);
  ck_assert_int_eq(addr->null_count, 1);
  ck_assert(!valid(addr, 1));
  const struct ArrowArray *city = addr->children[0], *zip = addr->children[1];
  ck_assert_int_eq(city->length, 4);
  ck_assert_int_eq(zip->length, 4);
  assert_string(city, 0, "Oslo");
  ck_assert(!valid(city, 2));
  ck_assert_int_eq(zip->null_count, 0); /* a null struct's NOT NULL field is not null */
  ck_assert_int_eq(I32(zip, 0), 150);
  ck_assert_int_eq(I32(zip, 2), 7);

  const struct ArrowSchema *attrs_s = f.s.children[2];
  ck_assert_str_eq(attrs_s->format, "+m");
  ck_assert_int_eq(attrs_s->n_children, 1);
  const struct ArrowSchema *entries_s = attrs_s->children[0];
  ck_assert_str_eq(entries_s->name, "entries");
  ck_assert_str_eq(entries_s->format, "+s");
  ck_assert_int_eq(entries_s->flags, 0);
  ck_assert_str_eq(entries_s->children[0]->name, "key");
  ck_assert_int_eq(entries_s->children[0]->flags, 0);
  ck_assert_str_eq(entries_s->children[1]->name, "value");
  ck_assert_str_eq(entries_s->children[1]->format, "l");
  ck_assert_int_eq(entries_s->children[1]->flags, ARROW_FLAG_NULLABLE);
  const struct ArrowArray *attrs = col(&f, 2);
  ck_assert_int_eq(attrs->null_count, 1);
  static const int32_t attr_offsets[] = {0, 1, 1, 1, 2};
  for (int i = 0; i < 5; i++) ck_assert_int_eq(I32(attrs, i), attr_offsets[i]);
  const struct ArrowArray *entries = attrs->children[0];
  ck_assert_int_eq(entries->length, 2);
  ck_assert_int_eq(entries->null_count, 0);
  assert_string(entries->children[0], 0, "n");
  assert_string(entries->children[0], 1, "m");
  ck_assert_int_eq(I64(entries->children[1], 0), 1);
  ck_assert(!valid(entries->children[1], 1));
  teardown(&f);
}
END_TEST

START_TEST(accepted_dates_and_timestamps) {
  fixture f;
  setup(&f, "dt DATE, ts TIMESTAMP");
  build(&f,
        "return {"
        " {dt='2000-02-29', ts='2024-01-02 03:04:05'},"
        " {dt='1969-12-31', ts='2024-01-02T03:04:05.123456789+01:00'},"
        " {dt='9999-12-31', ts='2024-01-02T03:04:05-0130'},"
        " {dt=19000, ts='1970-01-01T00:00:00.1z'},"
        " {ts=1700000000.123456},"
        "}");
  const struct ArrowArray *dt = col(&f, 0), *ts = col(&f, 1);
  ck_assert_int_eq(I32(dt, 0), 11016);
  ck_assert_int_eq(I32(dt, 1), -1);
  ck_assert_int_eq(I32(dt, 2), 2932896);
  ck_assert_int_eq(I32(dt, 3), 19000);
  ck_assert_int_eq(I64(ts, 0), INT64_C(1704164645000000));
  ck_assert_int_eq(I64(ts, 1), INT64_C(1704164645000000) - INT64_C(3600000000) + 123456);
  ck_assert_int_eq(I64(ts, 2), INT64_C(1704164645000000) + INT64_C(5400000000));
  ck_assert_int_eq(I64(ts, 3), 100000);
  ck_assert_int_eq(I64(ts, 4), INT64_C(1700000000123456));
  teardown(&f);
}
END_TEST

/* Each bad row and the exact message naming column and row. */
static const struct {
  const char *ddl, *rows, *message;
} bad_values[] = {
    {"id INT", "return {{id=1}, {id='abc'}}",
     "column 'id', row 2: expected INT, got string \"abc\""},
    {"id INT", "return {{id=3.5}}", "column 'id', row 1: expected INT, got 3.5"},
    {"id INT", "return {{id=2^31}}",
     "column 'id', row 1: expected INT, got 2147483648 (out of range)"},
    {"id INT", "return {{id=0/0}}", "column 'id', row 1: expected INT, got nan"},
    {"id INT", "return {{id=true}}", "column 'id', row 1: expected INT, got boolean true"},
    {"id INT", "return {{id={}}}", "column 'id', row 1: expected INT, got table"},
    {"id BIGINT", "return {{id=2^63}}",
     "column 'id', row 1: expected BIGINT, got 9.2233720368547758e+18 (out of range: beyond "
     "+-(2^53 - 1))"},
    {"id BIGINT", "return {{id='12'}}", "column 'id', row 1: expected BIGINT, got string \"12\""},
    {"b BOOLEAN", "return {{b=1}}", "column 'b', row 1: expected BOOLEAN, got 1"},
    {"b BOOLEAN", "return {{b='true'}}",
     "column 'b', row 1: expected BOOLEAN, got string \"true\""},
    {"x DOUBLE", "return {{x='1.5'}}", "column 'x', row 1: expected DOUBLE, got string \"1.5\""},
    {"x FLOAT", "return {{x=false}}", "column 'x', row 1: expected FLOAT, got boolean false"},
    {"s STRING", "return {{s=42}}", "column 's', row 1: expected STRING, got 42"},
    {"s STRING", "return {{s='ok\\255no'}}",
     "column 's', row 1: expected STRING, got string \"ok\\xffno\" (invalid UTF-8 at byte 3)"},
    {"s STRING", "return {{s='\\237\\160\\128'}}", /* an encoded surrogate */
     "column 's', row 1: expected STRING, got string \"\\xed\\xa0\\x80\" (invalid UTF-8 at byte "
     "1)"},
    {"s STRING", "return {{s=string.rep('abcdefghij', 10) .. '\\255'}}",
     "column 's', row 1: expected STRING, got string "
     "\"abcdefghijabcdefghijabcdefghijabcdefghij\"... (invalid UTF-8 at byte 101)"},
    {"bin BINARY", "return {{bin=7}}", "column 'bin', row 1: expected BINARY, got 7"},
    {"id INT NOT NULL", "return {{id=1}, {id=null}}",
     "column 'id', row 2: expected INT, got null (the column is NOT NULL)"},
    {"id INT NOT NULL", "return {{}}",
     "column 'id', row 1: expected INT, got null (the column is NOT NULL)"},
    {"d DATE", "return {{d='2023-02-29'}}",
     "column 'd', row 1: expected DATE (\"YYYY-MM-DD\" or days since 1970-01-01), got string "
     "\"2023-02-29\" (day out of range for the month)"},
    {"d DATE", "return {{d='2023-13-01'}}",
     "column 'd', row 1: expected DATE (\"YYYY-MM-DD\" or days since 1970-01-01), got string "
     "\"2023-13-01\" (month out of range)"},
    {"d DATE", "return {{d='2023-1-01'}}",
     "column 'd', row 1: expected DATE (\"YYYY-MM-DD\" or days since 1970-01-01), got string "
     "\"2023-1-01\" (not YYYY-MM-DD)"},
    {"d DATE", "return {{d=1.5}}",
     "column 'd', row 1: expected DATE (\"YYYY-MM-DD\" or days since 1970-01-01), got 1.5"},
    {"t TIMESTAMP", "return {{t='2023-02-28 24:00:00'}}",
     "column 't', row 1: expected TIMESTAMP (ISO-8601 string or seconds since epoch), got string "
     "\"2023-02-28 24:00:00\" (time of day out of range)"},
    {"t TIMESTAMP", "return {{t='2023-02-28T10:00'}}",
     "column 't', row 1: expected TIMESTAMP (ISO-8601 string or seconds since epoch), got string "
     "\"2023-02-28T10:00\" (not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"},
    {"t TIMESTAMP", "return {{t='2023-02-29'}}",
     "column 't', row 1: expected TIMESTAMP (ISO-8601 string or seconds since epoch), got string "
     "\"2023-02-29\" (day out of range for the month)"},
    {"t TIMESTAMP", "return {{t='2023-02-28T10:00:00.1234567890Z'}}",
     "column 't', row 1: expected TIMESTAMP (ISO-8601 string or seconds since epoch), got string "
     "\"2023-02-28T10:00:00.1234567890Z\" (fraction must have 1 to 9 digits)"},
    {"t TIMESTAMP", "return {{t='2023-02-28T10:00:00+1'}}",
     "column 't', row 1: expected TIMESTAMP (ISO-8601 string or seconds since epoch), got string "
     "\"2023-02-28T10:00:00+1\" (zone offset must be Z, +HH:MM or +HHMM)"},
    {"t TIMESTAMP", "return {{t=true}}",
     "column 't', row 1: expected TIMESTAMP (ISO-8601 string or seconds since epoch), got "
     "boolean true"},
    {"tags ARRAY<INT>", "return {{tags={1, 2, 'x'}}}",
     "column 'tags[3]', row 1: expected INT, got string \"x\""},
    {"tags ARRAY<INT>", "return {{tags={1, 2, n=3}}}",
     "column 'tags', row 1: expected ARRAY (a sequence table), got a table with key string \"n\""},
    {"tags ARRAY<INT>", "return {{tags={[1]=1, [3]=3}}}",
     "column 'tags', row 1: expected ARRAY (a sequence table), got a table with key 3"},
    {"tags ARRAY<INT>", "return {{tags='a,b'}}",
     "column 'tags', row 1: expected ARRAY, got string \"a,b\""},
    {"addr STRUCT<city: STRING>", "return {{addr={city=1}}}",
     "column 'addr.city', row 1: expected STRING, got 1"},
    {"a STRUCT<b: ARRAY<STRUCT<c: INT NOT NULL>>>", "return {{a={b={{c=1}, {}}}}}",
     "column 'a.b[2].c', row 1: expected INT, got null (the column is NOT NULL)"},
    {"addr STRUCT<city: STRING>", "return {{addr=5}}",
     "column 'addr', row 1: expected STRUCT, got 5"},
    {"m MAP<STRING, INT>", "return {{m={k='v'}}}",
     "column 'm[\"k\"]', row 1: expected INT, got string \"v\""},
    {"m MAP<STRING, INT>", "return {{m={[1]=2}}}", "column 'm.key', row 1: expected STRING, got 1"},
    {"m MAP<INT, INT>", "return {{m={[1.5]=2}}}", "column 'm.key', row 1: expected INT, got 1.5"},
    {"m MAP<STRING, INT>", "return {{m={[null]=2}}}",
     "column 'm.key', row 1: expected STRING, got null (the column is NOT NULL)"},
    {"id INT", "return {{id=1}, 'not a row'}",
     "row 2: expected a table keyed by column name, got string \"not a row\""},
};

START_TEST(bad_values_name_column_and_row) {
  fixture f;
  setup(&f, bad_values[_i].ddl);
  int rc = append_rows(&f, bad_values[_i].rows);
  ck_assert_msg(rc == LC_ERR_VALUE, "rows of %s accepted", bad_values[_i].ddl);
  ck_assert_str_eq(f.err, bad_values[_i].message);
  teardown(&f);
}
END_TEST

START_TEST(an_error_discards_the_batch_in_progress) {
  fixture f;
  setup(&f, "id INT, tags ARRAY<STRING>, s STRUCT<x: STRING>");
  ck_assert_int_eq(append_rows(&f,
                               "return {{id=1, tags={'a'}, s={x='p'}}, {id=2},"
                               " {id=3, tags={'b', 4}}}"),
                   LC_ERR_VALUE);
  ck_assert_int_eq(lc_builder_rows(lc_rows_builder(f.b)), 0);
  build(&f, "return {{id=10, tags={'z'}, s={x='q'}}}");
  ck_assert_int_eq(f.a.length, 1);
  ck_assert_int_eq(I32(col(&f, 0), 0), 10);
  const struct ArrowArray *tags = col(&f, 1);
  ck_assert_int_eq(I32(tags, 1), 1);
  ck_assert_int_eq(tags->children[0]->length, 1);
  assert_string(tags->children[0], 0, "z");
  ck_assert_int_eq(col(&f, 2)->children[0]->length, 1);
  assert_string(col(&f, 2)->children[0], 0, "q");
  teardown(&f);
}
END_TEST

START_TEST(many_rows_then_an_empty_second_batch) {
  fixture f;
  setup(&f, "id BIGINT, name STRING, score DOUBLE, tags ARRAY<INT>");
  const int n = 100000;
  size_t bytes_before = lc_builder_bytes(lc_rows_builder(f.b));
  for (int i = 1; i <= n; i++) {
    lua_createtable(f.L, 0, 4);
    lua_pushnumber(f.L, i);
    lua_setfield(f.L, -2, "id");
    if (i % 10 != 0) {
      char name[32];
      snprintf(name, sizeof name, "name-%d", i);
      lua_pushstring(f.L, name);
      lua_setfield(f.L, -2, "name");
    }
    lua_pushnumber(f.L, i / 4.0);
    lua_setfield(f.L, -2, "score");
    lua_createtable(f.L, 2, 0);
    lua_pushnumber(f.L, i);
    lua_rawseti(f.L, -2, 1);
    lua_pushnumber(f.L, -i);
    lua_rawseti(f.L, -2, 2);
    lua_setfield(f.L, -2, "tags");
    ck_assert_int_eq(lc_rows_append(f.b, f.L, -1, i, f.err, sizeof f.err), LC_OK);
    lua_pop(f.L, 1);
  }
  ck_assert_int_eq(lc_builder_rows(lc_rows_builder(f.b)), n);
  /* 8 + ~10 + 4 + 8 + 4 + 2 * 4 bytes a row, give or take the buffers' slack. */
  size_t bytes = lc_builder_bytes(lc_rows_builder(f.b));
  ck_assert_uint_gt(bytes, bytes_before + (size_t)n * 35);
  ck_assert_uint_lt(bytes, (size_t)n * 60);

  ck_assert_int_eq(lc_builder_finish(lc_rows_builder(f.b), &f.s, &f.a), LC_OK);
  ck_assert_int_eq(f.a.length, n);
  ck_assert_int_eq(col(&f, 0)->null_count, 0);
  ck_assert_int_eq(col(&f, 1)->null_count, n / 10);
  ck_assert_int_eq(I64(col(&f, 0), n - 1), n);
  assert_string(col(&f, 1), 12344, "name-12345");
  ck_assert(!valid(col(&f, 1), 9));
  ck_assert(((const double *)col(&f, 2)->buffers[1])[n - 1] == n / 4.0);
  ck_assert_int_eq(col(&f, 3)->children[0]->length, 2 * n);
  ck_assert_int_eq(I32(col(&f, 3)->children[0], 2 * n - 1), -n);

  ck_assert_int_eq(lc_builder_rows(lc_rows_builder(f.b)), 0);
  ck_assert_uint_lt(lc_builder_bytes(lc_rows_builder(f.b)), 1024);
  struct ArrowSchema s2;
  struct ArrowArray a2;
  ck_assert_int_eq(lc_builder_finish(lc_rows_builder(f.b), &s2, &a2), LC_OK);
  ck_assert_int_eq(a2.length, 0);
  ck_assert_int_eq(a2.n_children, 4);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(a2.children[i]->length, 0);
    ck_assert_ptr_nonnull(a2.children[i]->buffers[1]);
  }
  ck_assert_int_eq(((const int32_t *)a2.children[1]->buffers[1])[0], 0);
  a2.release(&a2);
  s2.release(&s2);
  ck_assert_ptr_null(a2.release);
  ck_assert_ptr_null(s2.release);
  teardown(&f);
}
END_TEST

/* A consumer may move a child out of a batch and release it on its own (the C Data
 * Interface allows it); both halves must still free everything exactly once. */
START_TEST(moved_children_are_released_separately) {
  fixture f;
  setup(&f, "s STRUCT<a: STRING>, m MAP<STRING, STRING>");
  build(&f, "return {{s={a='x'}, m={k='v'}}}");
  struct ArrowArray moved_array = *f.a.children[1];
  struct ArrowSchema moved_schema = *f.s.children[1];
  f.a.children[1]->release = NULL;
  f.s.children[1]->release = NULL;
  f.a.release(&f.a);
  f.s.release(&f.s);
  ck_assert_str_eq(moved_schema.format, "+m");
  ck_assert_int_eq(moved_array.length, 1);
  moved_array.release(&moved_array);
  moved_schema.release(&moved_schema);
  teardown(&f);
}
END_TEST

/* ---- batches back into Lua rows --------------------------------------------------- */

/* Pushes every row of the built batch and compares it with the Lua list `want_src`. */
static void assert_rows(fixture *f, const struct ArrowSchema *s, const struct ArrowArray *a,
                        const char *want_src) {
  ck_assert_msg(lc_arrow_check_schema(s, f->err, sizeof f->err) == LC_OK, "%s", f->err);
  eval(f->L, want_src);
  int want = lua_gettop(f->L);
  ck_assert_int_eq((int)lua_objlen(f->L, want), (int)a->length);
  for (int64_t r = 0; r < a->length; r++) {
    lua_getglobal(f->L, "same");
    int rc = lc_rows_push(f->L, s, a, r, f->err, sizeof f->err);
    ck_assert_msg(rc == LC_OK, "row %lld: %s", (long long)r, f->err);
    lua_rawgeti(f->L, want, (int)r + 1);
    ck_assert_int_eq(lua_pcall(f->L, 2, 2, 0), 0);
    ck_assert_msg(lua_toboolean(f->L, -2), "row %lld differs: %s", (long long)r,
                  lua_tostring(f->L, -1));
    lua_pop(f->L, 2);
  }
  lua_settop(f->L, want - 1);
}

START_TEST(round_trip_gives_back_the_rows) {
  fixture f;
  setup(&f,
        "b BOOLEAN, i INT, l BIGINT, fl FLOAT, d DOUBLE, s STRING, bin BINARY, dt DATE,"
        " ts TIMESTAMP, tags ARRAY<STRING>, grid ARRAY<ARRAY<INT>>,"
        " addr STRUCT<city: STRING, geo: STRUCT<lat: DOUBLE, lon: DOUBLE>>,"
        " attrs MAP<STRING, ARRAY<BIGINT>>, codes MAP<INT, STRING>");
  const char *rows =
      "return {"
      " {b=true, i=-7, l=2^53-1, fl=0.5, d=-1.25, s='ünïcode ✓', bin='\\0\\1\\255', "
      "dt='2024-02-29',"
      "  ts='2024-03-01T12:30:45.123456Z', tags={'a','b'}, grid={{1,2},{},{3}},"
      "  addr={city='Oslo', geo={lat=59.9, lon=10.75}}, attrs={x={1,2}, y={}}, codes={[200]='ok'}},"
      " {b=false, i=0, l=-1, s='', bin='', dt=0, ts=0, tags={}, grid={{null}},"
      "  addr={geo=null}, attrs={z=null}, codes={}},"
      " {},"
      " {b=null, tags={null, 'q'}, addr={city='Rome', geo={lat=null, lon=1}}},"
      "}";
  build(&f, rows);
  const char *want =
      "return {"
      " {b=true, i=-7, l=2^53-1, fl=0.5, d=-1.25, s='ünïcode ✓', bin='\\0\\1\\255', "
      "dt='2024-02-29',"
      "  ts='2024-03-01T12:30:45.123456Z', tags={'a','b'}, grid={{1,2},{},{3}},"
      "  addr={city='Oslo', geo={lat=59.9, lon=10.75}}, attrs={x={1,2}, y={}}, codes={[200]='ok'}},"
      " {b=false, i=0, l=-1, fl=null, d=null, s='', bin='', dt='1970-01-01',"
      "  ts='1970-01-01T00:00:00.000000Z', tags={}, grid={{null}},"
      "  addr={city=null, geo=null}, attrs={z=null}, codes={}},"
      " {b=null, i=null, l=null, fl=null, d=null, s=null, bin=null, dt=null, ts=null, tags=null,"
      "  grid=null, addr=null, attrs=null, codes=null},"
      " {b=null, i=null, l=null, fl=null, d=null, s=null, bin=null, dt=null, ts=null,"
      "  tags={null, 'q'}, grid=null, addr={city='Rome', geo={lat=null, lon=1}}, attrs=null,"
      "  codes=null},"
      "}";
  assert_rows(&f, &f.s, &f.a, want);
  teardown(&f);
}
END_TEST

START_TEST(push_row_rejects_rows_outside_the_batch) {
  fixture f;
  setup(&f, "id INT");
  build(&f, "return {{id=1}}");
  ck_assert_int_eq(lc_rows_push(f.L, &f.s, &f.a, 1, f.err, sizeof f.err), LC_ERR_ARGUMENT);
  ck_assert_str_eq(f.err, "row 1 is outside the batch of 1 rows");
  teardown(&f);
}
END_TEST

/* A batch shaped the way pyarrow hands out slices: offsets on the batch and on
 * children, a bitmap whose leading bits belong to rows before the slice, a column
 * with nulls but no bitmap needed, and types the builder never produces. */
START_TEST(push_row_honours_offsets_and_bitmaps) {
  fixture f;
  setup(&f, "unused INT");
  /* int8 "c" with its own offset of 1 on top of the batch's. */
  static const int8_t i8[] = {99, 1, 2, 3, 4};
  static const uint8_t i8_valid[] = {0x17}; /* 10111: physical slot 3 is null */
  /* large_string "U" without a validity buffer. */
  static const int64_t big_off[] = {0, 1, 3, 6, 10, 15};
  static const char big_data[] = "abbcccddddeeeee";
  /* int16 "s" */
  static const int16_t i16[] = {0, -300, 300, 7, 8};
  /* timestamps in ns with a zone, s, ms */
  static const int64_t ns[] = {0, 1700000000123456789, -1, 5, 6};
  static const int64_t secs[] = {0, 86400, -86401, 0, 0};
  static const int64_t ms[] = {0, 1500, -1, 0, 0};
  /* list<int64> "+l"; its values array has an offset of 2. */
  static const int32_t list_off[] = {0, 1, 3, 3, 5, 6};
  static const int64_t list_vals[] = {-1, -2, 10, 11, 12, 13, 14, 15};
  static const uint8_t list_valid[] = {0x17}; /* 10111: physical slot 3 is null */

  const void *b_i8[] = {i8_valid, i8}, *b_big[] = {NULL, big_off, big_data};
  const void *b_i16[] = {NULL, i16}, *b_ns[] = {NULL, ns}, *b_s[] = {NULL, secs};
  const void *b_ms[] = {NULL, ms}, *b_list[] = {list_valid, list_off};
  const void *b_vals[] = {NULL, list_vals}, *b_struct[] = {NULL};
  struct ArrowArray a_i8 = {
      .length = 4, .null_count = 1, .offset = 1, .n_buffers = 2, .buffers = b_i8};
  struct ArrowArray a_big = {.length = 5, .null_count = 0, .n_buffers = 3, .buffers = b_big};
  struct ArrowArray a_i16 = {.length = 5, .n_buffers = 2, .buffers = b_i16};
  struct ArrowArray a_ns = {.length = 5, .n_buffers = 2, .buffers = b_ns};
  struct ArrowArray a_s = {.length = 5, .n_buffers = 2, .buffers = b_s};
  struct ArrowArray a_ms = {.length = 5, .n_buffers = 2, .buffers = b_ms};
  struct ArrowArray a_vals = {.length = 6, .offset = 2, .n_buffers = 2, .buffers = b_vals};
  struct ArrowArray *list_children[] = {&a_vals};
  struct ArrowArray a_list = {.length = 5,
                              .null_count = -1,
                              .n_buffers = 2,
                              .buffers = b_list,
                              .n_children = 1,
                              .children = list_children};
  struct ArrowArray *cols[] = {&a_i8, &a_big, &a_i16, &a_ns, &a_s, &a_ms, &a_list};
  struct ArrowArray batch = {.length = 3,
                             .offset = 1,
                             .n_buffers = 1,
                             .buffers = b_struct,
                             .n_children = 7,
                             .children = cols};

  struct ArrowSchema s_i8 = {.format = "c", .name = "tiny"};
  struct ArrowSchema s_big = {.format = "U", .name = "big"};
  struct ArrowSchema s_i16 = {.format = "s", .name = "small"};
  struct ArrowSchema s_ns = {.format = "tsn:Europe/Oslo", .name = "ns"};
  struct ArrowSchema s_s = {.format = "tss:", .name = "secs"};
  struct ArrowSchema s_ms = {.format = "tsm:UTC", .name = "ms"};
  struct ArrowSchema s_item = {.format = "l", .name = "item"};
  struct ArrowSchema *item_children[] = {&s_item};
  struct ArrowSchema s_list = {
      .format = "+l", .name = "list", .n_children = 1, .children = item_children};
  struct ArrowSchema *scols[] = {&s_i8, &s_big, &s_i16, &s_ns, &s_s, &s_ms, &s_list};
  struct ArrowSchema schema = {.format = "+s", .name = "", .n_children = 7, .children = scols};

  /* Batch row r is physical slot r + 1 of each column (+1 more for tiny). */
  assert_rows(&f, &schema, &batch,
              "return {"
              " {tiny=2, big='bb', small=-300, ns='2023-11-14T22:13:20.123456Z',"
              "  secs='1970-01-02T00:00:00.000000Z', ms='1970-01-01T00:00:01.500000Z',"
              "  list={11, 12}},"
              " {tiny=null, big='ccc', small=300, ns='1969-12-31T23:59:59.999999Z',"
              "  secs='1969-12-30T23:59:59.000000Z', ms='1969-12-31T23:59:59.999000Z',"
              "  list={}},"
              " {tiny=4, big='dddd', small=7, ns='1970-01-01T00:00:00.000000Z',"
              "  secs='1970-01-01T00:00:00.000000Z', ms='1970-01-01T00:00:00.000000Z',"
              "  list=null},"
              "}");
  teardown(&f);
}
END_TEST

START_TEST(check_schema_names_unsupported_columns) {
  char err[LC_ERRMSG_MAX];
  struct ArrowSchema dec = {.format = "d:10,2", .name = "price"};
  struct ArrowSchema ok = {.format = "u", .name = "name"};
  struct ArrowSchema *top_children[] = {&ok, &dec};
  struct ArrowSchema top = {.format = "+s", .name = "", .n_children = 2, .children = top_children};
  ck_assert_int_eq(lc_arrow_check_schema(&top, err, sizeof err), LC_ERR_SCHEMA);
  ck_assert_str_eq(err, "column 'price': unsupported Arrow type 'd:10,2'");

  struct ArrowSchema duration = {.format = "tDs", .name = "item"};
  struct ArrowSchema *list_children[] = {&duration};
  struct ArrowSchema list = {
      .format = "+l", .name = "waits", .n_children = 1, .children = list_children};
  struct ArrowSchema inner_children_dummy = {.format = "i", .name = "n"};
  struct ArrowSchema *struct_children[] = {&inner_children_dummy, &list};
  struct ArrowSchema nested = {
      .format = "+s", .name = "info", .n_children = 2, .children = struct_children};
  struct ArrowSchema *top2_children[] = {&nested};
  struct ArrowSchema top2 = {
      .format = "+s", .name = "", .n_children = 1, .children = top2_children};
  ck_assert_int_eq(lc_arrow_check_schema(&top2, err, sizeof err), LC_ERR_SCHEMA);
  ck_assert_str_eq(err, "column 'info.waits[]': unsupported Arrow type 'tDs'");

  struct ArrowSchema dict_values = {.format = "u", .name = ""};
  struct ArrowSchema dict = {.format = "i", .name = "city", .dictionary = &dict_values};
  struct ArrowSchema *top3_children[] = {&dict};
  struct ArrowSchema top3 = {
      .format = "+s", .name = "", .n_children = 1, .children = top3_children};
  ck_assert_int_eq(lc_arrow_check_schema(&top3, err, sizeof err), LC_ERR_SCHEMA);
  ck_assert_str_eq(err, "column 'city': unsupported Arrow type 'i' (dictionary-encoded)");

  ck_assert_int_eq(lc_arrow_check_schema(&ok, err, sizeof err), LC_ERR_SCHEMA);
  ck_assert_str_eq(err, "a batch must be a struct of columns, got Arrow type 'u'");
}
END_TEST

int main(void) {
  Suite *s = suite_create("arrow");
  TCase *build_case = tcase_create("build");
  tcase_set_timeout(build_case, 60);
  tcase_add_test(build_case, scalar_columns_export_arrow_buffers);
  tcase_add_test(build_case, nested_columns_export_arrow_children);
  tcase_add_test(build_case, accepted_dates_and_timestamps);
  tcase_add_loop_test(build_case, bad_values_name_column_and_row, 0,
                      (int)(sizeof bad_values / sizeof bad_values[0]));
  tcase_add_test(build_case, an_error_discards_the_batch_in_progress);
  tcase_add_test(build_case, many_rows_then_an_empty_second_batch);
  tcase_add_test(build_case, moved_children_are_released_separately);
  suite_add_tcase(s, build_case);
  TCase *read_case = tcase_create("push_row");
  tcase_add_test(read_case, round_trip_gives_back_the_rows);
  tcase_add_test(read_case, push_row_rejects_rows_outside_the_batch);
  tcase_add_test(read_case, push_row_honours_offsets_and_bitmaps);
  tcase_add_test(read_case, check_schema_names_unsupported_columns);
  suite_add_tcase(s, read_case);
  return lc_test_run(s);
}
