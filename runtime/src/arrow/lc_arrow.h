/*
 * arrow/lc_arrow.h: schemas and Arrow batches, with no Lua. Spark DDL schemas
 * (lc_schema.c), the batch builder's column tree and its typed appends
 * (lc_builder.c), export through the Arrow C Data Interface (lc_export.c), and
 * reading batches that come from elsewhere (lc_batch.c). Includes only base.
 */
#ifndef LC_ARROW_H
#define LC_ARROW_H

#include "base/lc_base.h"

/* ---- lc_schema.c: Spark DDL schemas ------------------------------------------------- */

typedef enum lc_type_id {
  LC_T_BOOLEAN,
  LC_T_INT,
  LC_T_BIGINT,
  LC_T_FLOAT,
  LC_T_DOUBLE,
  LC_T_STRING,
  LC_T_BINARY,
  LC_T_DATE,
  LC_T_TIMESTAMP,
  LC_T_TINYINT,
  LC_T_SMALLINT,
  LC_T_TIMESTAMP_NTZ,
  LC_T_DECIMAL,
  LC_T_ARRAY,
  LC_T_STRUCT,
  LC_T_MAP
} lc_type_id;

struct lc_type;
typedef struct lc_field {
  char *name;
  struct lc_type *type;
  bool nullable;
} lc_field;

/* STRUCT: children are its fields. ARRAY: one child named "element".
 * MAP: two children, "key" and "value". Scalars: none. */
typedef struct lc_type {
  lc_type_id id;
  size_t n_children;
  lc_field *children;
  int precision, scale; /* DECIMAL(precision, scale) */
} lc_type;

/* Parses "id INT, name STRING NOT NULL, tags ARRAY<STRING>" (len bytes, a NUL among
 * them is an error) into a STRUCT type nested at most 100 levels deep. Caller frees
 * *out with lc_type_free. On error, err names the position. */
int lc_schema_parse(const char *ddl, size_t len, lc_type **out, char *err, size_t errlen);
void lc_type_free(lc_type *t);
const char *lc_type_name(lc_type_id id); /* "INT", "ARRAY", ... */
bool lc_type_is_scalar(lc_type_id id);
/* BIGINT values are exact up to 2^53 - 1 in magnitude on every path: a Lua number (a
 * double) past it may be a rounded neighbour (2^53 + 1 reads as 2^53), so a JSON
 * integer beyond it is refused on the C path too rather than read exactly there and
 * rounded on the Lua path. */
#define LC_BIGINT_EXACT_MAX 9007199254740991LL

/* ---- lc_builder.c: a batch being built -------------------------------------------- */

/* One column of the batch being built; the tree mirrors the lc_type tree. */
typedef struct lc_column {
  const lc_type *type;
  const char *name; /* field name, borrowed from the schema */
  bool nullable;
  int preorder; /* 1-based position in a preorder walk of the tree (root = 1) */
  int64_t length;
  int64_t null_count;
  bool has_validity; /* the validity bitmap exists once a null was appended */
  lc_buf validity;
  lc_buf values; /* fixed-size values, BOOLEAN bits, or int32 offsets */
  lc_buf data;   /* STRING/BINARY bytes */
  size_t n_children;
  struct lc_column *children; /* STRUCT fields; ARRAY element; MAP key and value */
} lc_column;

typedef struct lc_builder lc_builder;

/* A builder for batches of rows of schema (a STRUCT type, borrowed: it must outlive
 * the builder). Caller frees with lc_builder_free. */
int lc_builder_new(const lc_type *schema, lc_builder **out);
void lc_builder_free(lc_builder *b);
/* The STRUCT of all columns; its length is the row count. */
lc_column *lc_builder_root(lc_builder *b);
/* Makes the batch ready for a row (a failed reset is retried here); false when out
 * of memory. */
bool lc_builder_ready(lc_builder *b);
/* A row's columns were appended by lc_column_* calls: count it. */
void lc_builder_end_row(lc_builder *b);
/* Drops the rows so far, keeping the buffers for the next batch. */
void lc_builder_clear(lc_builder *b);
int64_t lc_builder_rows(const lc_builder *b);
size_t lc_builder_bytes(const lc_builder *b); /* approximate buffer bytes */
/* The batch holds max_rows rows or (approximately) max_bytes bytes. */
bool lc_builder_full(const lc_builder *b, int64_t max_rows, size_t max_bytes);
/* True when every column is a scalar type (rows can come from lc_scalar values). */
bool lc_builder_flat(const lc_builder *b);
size_t lc_builder_columns(const lc_builder *b);
const char *lc_builder_column_name(const lc_builder *b, size_t i); /* borrowed */
/* Moves the rows so far into *schema and *array (the caller owns both and releases
 * them) and starts an empty batch. */
int lc_builder_finish(lc_builder *b, struct ArrowSchema *schema, struct ArrowArray *array);

/* Appends to one column; each returns false when out of memory. A value is
 * appended (values/data/offsets) and then marked valid; a null is one call. */
bool lc_column_append_null(lc_column *col);
bool lc_column_mark_valid(lc_column *col);
bool lc_column_push_offset(lc_column *col, size_t end);
/* One fixed-width value as a column stores it (the first lc_column_value_width
 * bytes are appended), whichever row path converted it. */
typedef union lc_value {
  int8_t i8;
  int16_t i16;
  int32_t i32;
  int64_t i64;
  float f;
  double d;
  __int128 dec;
} lc_value;
/* Bytes of a fixed-width value of the column's type (0 for others). */
size_t lc_column_value_width(lc_type_id id);

/* One scalar value of a row, as either row path sees it. NUMBER: its JSON text
 * (text, len), or for a Lua number text NULL and the double in number; STRING: the
 * decoded bytes. text is borrowed. */
typedef enum lc_scalar_kind {
  LC_SCALAR_ABSENT,
  LC_SCALAR_NULL,
  LC_SCALAR_FALSE,
  LC_SCALAR_TRUE,
  LC_SCALAR_NUMBER,
  LC_SCALAR_STRING
} lc_scalar_kind;
typedef struct lc_scalar {
  lc_scalar_kind kind;
  const char *text;
  size_t len;
  double number;
} lc_scalar;
/* Appends one row from values[i] for column i (a flat builder), converting each
 * with lc_convert_scalar. LC_ERR_VALUE: some value would not convert and nothing
 * was appended, so the caller gives the record to the Lua row path, which words
 * the error. */
int lc_builder_append_scalars(lc_builder *b, const lc_scalar *values);

/* ---- lc_convert.c: one scalar into one column value, for every row path ------------- */

/* Converts v (neither null nor absent) for a column of scalar type t: fixed-width
 * values into *out; STRING and BINARY are only checked (their bytes are v's).
 * LC_OK; LC_ERR_VALUE with why "" when v is not of a kind t takes, or why saying
 * what is wrong ("out of range", a date's problem); LC_ERR_NOMEM. */
int lc_convert_scalar(const lc_type *t, const lc_scalar *v, lc_value *out, char *why,
                      size_t whylen);
/* What a column of type t takes, for errors: "INT", "DATE (\"YYYY-MM-DD\" or ...)".
 * Static or buf (len bytes). */
const char *lc_convert_expected(const lc_type *t, char *buf, size_t len);
/* False when appending v would take col's bytes past Arrow's 2 GiB offsets. */
bool lc_column_has_room(const lc_column *col, const lc_scalar *v);
/* Appends v, converted by lc_convert_scalar into value, and marks it valid; false
 * when out of memory. */
bool lc_column_append_scalar(lc_column *col, const lc_scalar *v, const lc_value *value);

/* ---- lc_export.c: the Arrow C Data Interface ---------------------------------------- */

/* Fills *out with the schema of a field (name, type, nullability). On failure *out
 * is released and false returned. */
bool lc_export_schema(struct ArrowSchema *out, const char *name, const lc_type *type,
                      bool nullable);
/* Moves col's rows into *out (buffers handed over, col left empty). On failure *out
 * is released, col untouched and false returned. */
bool lc_export_column(struct ArrowArray *out, lc_column *col);

/* ---- lc_batch.c: batches made elsewhere (pyarrow's, for writes) ---------------------- */

/* What an Arrow field holds, from its format (AK_UNSUPPORTED for anything else,
 * dictionary-encoded fields included). */
typedef enum lc_arrow_kind {
  AK_UNSUPPORTED,
  AK_BOOL,
  AK_INT8,
  AK_INT16,
  AK_INT32,
  AK_INT64,
  AK_FLOAT,
  AK_DOUBLE,
  AK_STRING,
  AK_LARGE_STRING,
  AK_BINARY,
  AK_LARGE_BINARY,
  AK_DATE32,
  AK_DATE64,
  AK_TIMESTAMP,
  AK_LIST,
  AK_LARGE_LIST,
  AK_STRUCT,
  AK_MAP
} lc_arrow_kind;
lc_arrow_kind lc_arrow_classify(const struct ArrowSchema *s);
/* Checks that a batch's schema is one the runtime can read (a struct of supported
 * types); err names the first unsupported column. */
int lc_arrow_check_schema(const struct ArrowSchema *schema, char *err, size_t errlen);
/* Physical slot j of a (offset already added) is null. */
bool lc_arrow_is_null(const struct ArrowArray *a, int64_t j);
/* The [start, end) offsets of variable-size slot j (32-bit offsets unless large). */
void lc_arrow_offsets(const struct ArrowArray *a, int64_t j, bool large, int64_t *start,
                      int64_t *end);

#endif /* LC_ARROW_H */
