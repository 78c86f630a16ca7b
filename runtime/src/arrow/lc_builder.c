/*
 * lc_builder.c: the batch being built. A column tree mirroring the lc_type tree
 * holds typed buffers (validity bitmap, values or offsets, bytes); rows arrive
 * either column by column from the Lua row path (connector/lc_rows.c) or as a
 * record of JSON scalars from the page path (lc_builder_append_scalars).
 * Conversions are strict: a value that does not fit its column is refused, never
 * silently cast.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/lc_arrow.h"

struct lc_builder {
  const lc_type *schema;
  bool ready;     /* false when starting a fresh batch ran out of memory */
  lc_column root; /* the STRUCT of all columns; its length is the row count */
};

/* ---- the column tree --------------------------------------------------------------- */

static bool uses_offsets(lc_type_id id) {
  return id == LC_T_STRING || id == LC_T_BINARY || id == LC_T_ARRAY || id == LC_T_MAP;
}

size_t lc_column_value_width(lc_type_id id) {
  switch (id) {
  case LC_T_TINYINT: return 1;
  case LC_T_SMALLINT: return 2;
  case LC_T_INT:
  case LC_T_FLOAT:
  case LC_T_DATE: return 4;
  case LC_T_BIGINT:
  case LC_T_DOUBLE:
  case LC_T_TIMESTAMP:
  case LC_T_TIMESTAMP_NTZ: return 8;
  case LC_T_DECIMAL: return 16;
  default: return 0;
  }
}

/* Empties the column tree. The first offset (0) and a minimal values buffer are
 * written so exported buffers are never NULL. */
static bool column_reset(lc_column *col) {
  col->length = 0;
  col->null_count = 0;
  col->has_validity = false;
  col->validity.len = col->values.len = col->data.len = 0;
  lc_type_id id = col->type->id;
  bool ok = (id == LC_T_STRUCT || lc_buf_reserve(&col->values, 8)) &&
            ((id != LC_T_STRING && id != LC_T_BINARY) || lc_buf_reserve(&col->data, 8));
  if (ok && uses_offsets(id)) {
    int32_t zero = 0;
    ok = lc_buf_append(&col->values, &zero, sizeof zero);
  }
  for (size_t i = 0; i < col->n_children; i++) ok = column_reset(&col->children[i]) && ok;
  return ok;
}

static void column_free(lc_column *col) {
  for (size_t i = 0; i < col->n_children; i++) column_free(&col->children[i]);
  free(col->children);
  lc_buf_free(&col->validity);
  lc_buf_free(&col->values);
  lc_buf_free(&col->data);
}

/* Builds the column tree for type, numbering columns in preorder. */
static bool column_init(lc_column *col, int *preorder, const char *name, const lc_type *type,
                        bool nullable) {
  *col = (lc_column){.type = type, .name = name, .nullable = nullable, .preorder = ++*preorder};
  if (type->n_children) {
    col->children = calloc(type->n_children, sizeof *col->children);
    if (!col->children) return false;
    col->n_children = type->n_children;
    for (size_t i = 0; i < type->n_children; i++) {
      const lc_field *f = &type->children[i];
      if (!column_init(&col->children[i], preorder, f->name, f->type, f->nullable)) return false;
    }
  }
  return true;
}

static size_t column_bytes(const lc_column *col) {
  size_t n = col->validity.len + col->values.len + col->data.len;
  for (size_t i = 0; i < col->n_children; i++) n += column_bytes(&col->children[i]);
  return n;
}

bool lc_column_push_offset(lc_column *col, size_t end) {
  int32_t off = (int32_t)end;
  return lc_buf_append(&col->values, &off, sizeof off);
}

bool lc_column_mark_valid(lc_column *col) {
  if (col->has_validity && !lc_bitmap_push(&col->validity, col->length, true)) return false;
  col->length++;
  return true;
}

static bool mark_null(lc_column *col) {
  if (!col->has_validity) {
    /* First null: materialise the bitmap with every earlier row valid. */
    size_t full = (size_t)col->length / 8, bits = (size_t)col->length % 8;
    if (!lc_buf_reserve(&col->validity, full + 2)) return false;
    memset(col->validity.data, 0xFF, full);
    if (bits) col->validity.data[full] = (uint8_t)((1u << bits) - 1);
    col->validity.len = full + (bits != 0);
    col->has_validity = true;
  }
  if (!lc_bitmap_push(&col->validity, col->length, false)) return false;
  col->null_count++;
  col->length++;
  return true;
}

/* Writes the storage of one slot with no value in it (zero, empty string, empty
 * list, a STRUCT of such): what a null holds, and what a null STRUCT's fields hold. */
static bool write_empty_slot(lc_column *col) {
  lc_type_id id = col->type->id;
  if (id == LC_T_BOOLEAN) return lc_bitmap_push(&col->values, col->length, false);
  size_t width = lc_column_value_width(id);
  if (width) {
    static const uint8_t zeros[16]; /* the widest value: DECIMAL */
    return lc_buf_append(&col->values, zeros, width);
  }
  if (uses_offsets(id)) {
    int32_t last;
    memcpy(&last, col->values.data + col->values.len - sizeof last, sizeof last);
    return lc_buf_append(&col->values, &last, sizeof last);
  }
  for (size_t i = 0; i < col->n_children; i++)
    if (!write_empty_slot(&col->children[i]) || !lc_column_mark_valid(&col->children[i]))
      return false;
  return true;
}

bool lc_column_append_null(lc_column *col) { return write_empty_slot(col) && mark_null(col); }

/* ---- builder API ------------------------------------------------------------------- */

int lc_builder_new(const lc_type *schema, lc_builder **out) {
  *out = NULL;
  if (!schema || schema->id != LC_T_STRUCT) return LC_ERR_ARGUMENT;
  lc_builder *b = calloc(1, sizeof *b);
  if (!b) return LC_ERR_NOMEM;
  b->schema = schema;
  int preorder = 0;
  bool ok = column_init(&b->root, &preorder, "", schema, false);
  b->ready = ok && column_reset(&b->root);
  if (!b->ready) {
    lc_builder_free(b);
    return LC_ERR_NOMEM;
  }
  *out = b;
  return LC_OK;
}

void lc_builder_free(lc_builder *b) {
  if (!b) return;
  column_free(&b->root);
  free(b);
}

lc_column *lc_builder_root(lc_builder *b) { return &b->root; }

bool lc_builder_ready(lc_builder *b) { return b->ready || (b->ready = column_reset(&b->root)); }

void lc_builder_end_row(lc_builder *b) { b->root.length++; }

int64_t lc_builder_rows(const lc_builder *b) { return b->root.length; }

size_t lc_builder_bytes(const lc_builder *b) { return column_bytes(&b->root); }

void lc_builder_clear(lc_builder *b) { b->ready = column_reset(&b->root); }

bool lc_builder_full(const lc_builder *b, int64_t max_rows, size_t max_bytes) {
  return b->root.length >= max_rows || lc_builder_bytes(b) >= max_bytes;
}

int lc_builder_finish(lc_builder *b, struct ArrowSchema *schema, struct ArrowArray *array) {
  if (!lc_builder_ready(b)) return LC_ERR_NOMEM;
  if (!lc_export_schema(schema, "", b->schema, false)) return LC_ERR_NOMEM;
  if (!lc_export_column(array, &b->root)) {
    schema->release(schema);
    return LC_ERR_NOMEM;
  }
  /* A failed reset is retried by the next append or finish. */
  b->ready = column_reset(&b->root);
  return LC_OK;
}

/* ---- appending rows of JSON scalars (the page path) --------------------------------- */

bool lc_type_is_scalar(lc_type_id id) {
  return id != LC_T_ARRAY && id != LC_T_STRUCT && id != LC_T_MAP;
}

bool lc_builder_flat(const lc_builder *b) {
  for (size_t i = 0; i < b->root.n_children; i++)
    if (!lc_type_is_scalar(b->root.children[i].type->id)) return false;
  return true;
}

size_t lc_builder_columns(const lc_builder *b) { return b->root.n_children; }

const char *lc_builder_column_name(const lc_builder *b, size_t i) {
  return b->root.children[i].name;
}

int lc_builder_append_scalars(lc_builder *b, const lc_scalar *values) {
  if (!lc_builder_ready(b)) return LC_ERR_NOMEM;
  size_t n = b->root.n_children;
  lc_value converted[n ? n : 1];
  char why[96];
  /* Everything is checked before anything is appended: a record either goes in
   * whole or is left, untouched, to the Lua path. */
  for (size_t i = 0; i < n; i++) {
    const lc_column *col = &b->root.children[i];
    bool missing = values[i].kind == LC_SCALAR_ABSENT || values[i].kind == LC_SCALAR_NULL;
    if (missing ? !col->nullable
                : lc_convert_scalar(col->type, &values[i], &converted[i], why, sizeof why) ||
                      !lc_column_has_room(col, &values[i]))
      return LC_ERR_VALUE;
  }
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    lc_column *col = &b->root.children[i];
    const lc_scalar *v = &values[i];
    ok = v->kind == LC_SCALAR_ABSENT || v->kind == LC_SCALAR_NULL
             ? lc_column_append_null(col)
             : lc_column_append_scalar(col, v, &converted[i]);
  }
  if (!ok) {
    b->ready = column_reset(&b->root);
    return LC_ERR_NOMEM;
  }
  b->root.length++;
  return LC_OK;
}
