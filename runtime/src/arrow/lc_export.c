/*
 * lc_export.c: a built batch through the Arrow C Data Interface. Every exported
 * ArrowSchema/ArrowArray node owns what it points to; its release callback frees
 * it, so the consumer (pyarrow, the CLI) decides when the memory goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/lc_arrow.h"

/* ---- export: ArrowSchema ----------------------------------------------------------- */

/* private_data of every ArrowSchema we export. */
typedef struct exported_schema {
  char *name;
  char format[24]; /* a format made for this node ("d:10,2"); the rest are static */
  struct ArrowSchema **children;
  struct ArrowSchema *child_structs;
} exported_schema;

static void release_schema(struct ArrowSchema *s) {
  if (!s->release) return;
  for (int64_t i = 0; i < s->n_children; i++)
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
  exported_schema *ex = s->private_data;
  free(ex->name);
  free(ex->children);
  free(ex->child_structs);
  free(ex);
  s->release = NULL;
}

static const char *arrow_format(lc_type_id id) {
  static const char *const formats[] = {
      [LC_T_BOOLEAN] = "b", [LC_T_INT] = "i",      [LC_T_BIGINT] = "l",
      [LC_T_FLOAT] = "f",   [LC_T_DOUBLE] = "g",   [LC_T_STRING] = "u",
      [LC_T_BINARY] = "z",  [LC_T_DATE] = "tdD",   [LC_T_TIMESTAMP] = "tsu:UTC",
      [LC_T_TINYINT] = "c", [LC_T_SMALLINT] = "s", [LC_T_TIMESTAMP_NTZ] = "tsu:",
      [LC_T_ARRAY] = "+l",  [LC_T_STRUCT] = "+s",  [LC_T_MAP] = "+m",
  };
  return formats[id];
}

/* Fills *out with a schema node of n_children empty children. On failure *out is
 * left released (release == NULL) and false is returned. */
static bool schema_node(struct ArrowSchema *out, const char *format, const char *name,
                        bool nullable, size_t n_children) {
  memset(out, 0, sizeof *out);
  exported_schema *ex = calloc(1, sizeof *ex);
  if (!ex) return false;
  ex->name = strdup(name);
  ex->children = calloc(n_children ? n_children : 1, sizeof *ex->children);
  ex->child_structs = calloc(n_children ? n_children : 1, sizeof *ex->child_structs);
  if (!ex->name || !ex->children || !ex->child_structs) {
    free(ex->name);
    free(ex->children);
    free(ex->child_structs);
    free(ex);
    return false;
  }
  for (size_t i = 0; i < n_children; i++) ex->children[i] = &ex->child_structs[i];
  snprintf(ex->format, sizeof ex->format, "%s", format);
  *out = (struct ArrowSchema){
      .format = ex->format,
      .name = ex->name,
      .flags = nullable ? ARROW_FLAG_NULLABLE : 0,
      .n_children = 0,
      .children = ex->children,
      .release = release_schema,
      .private_data = ex,
  };
  return true;
}

/* Children are counted in n_children as they are filled, so releasing a half-built
 * tree frees exactly what exists. */
static bool schema_tree(struct ArrowSchema *out, const char *name, const lc_type *type,
                        bool nullable) {
  if (type->id == LC_T_MAP) {
    if (!schema_node(out, "+m", name, nullable, 1)) return false;
    struct ArrowSchema *entries = out->children[0];
    if (!schema_node(entries, "+s", "entries", false, 2)) return false;
    out->n_children = 1;
    for (size_t i = 0; i < 2; i++) {
      const lc_field *f = &type->children[i];
      if (!schema_tree(entries->children[i], f->name, f->type, f->nullable)) return false;
      entries->n_children++;
    }
    return true;
  }
  char decimal[24];
  if (type->id == LC_T_DECIMAL)
    snprintf(decimal, sizeof decimal, "d:%d,%d", type->precision, type->scale);
  const char *format = type->id == LC_T_DECIMAL ? decimal : arrow_format(type->id);
  if (!schema_node(out, format, name, nullable, type->n_children)) return false;
  for (size_t i = 0; i < type->n_children; i++) {
    const lc_field *f = &type->children[i];
    if (!schema_tree(out->children[i], f->name, f->type, f->nullable)) return false;
    out->n_children++;
  }
  return true;
}

/* ---- export: ArrowArray ------------------------------------------------------------ */

typedef struct exported_array {
  const void *buffers[3];
  struct ArrowArray **children;
  struct ArrowArray *child_structs;
} exported_array;

static void release_array(struct ArrowArray *a) {
  if (!a->release) return;
  for (int64_t i = 0; i < a->n_children; i++)
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
  exported_array *ex = a->private_data;
  for (int i = 0; i < 3; i++) free((void *)ex->buffers[i]);
  free(ex->children);
  free(ex->child_structs);
  free(ex);
  a->release = NULL;
}

static bool array_node(struct ArrowArray *out, int64_t length, int64_t null_count,
                       int64_t n_buffers, size_t n_children) {
  memset(out, 0, sizeof *out);
  exported_array *ex = calloc(1, sizeof *ex);
  if (!ex) return false;
  ex->children = calloc(n_children ? n_children : 1, sizeof *ex->children);
  ex->child_structs = calloc(n_children ? n_children : 1, sizeof *ex->child_structs);
  if (!ex->children || !ex->child_structs) {
    free(ex->children);
    free(ex->child_structs);
    free(ex);
    return false;
  }
  for (size_t i = 0; i < n_children; i++) ex->children[i] = &ex->child_structs[i];
  *out = (struct ArrowArray){
      .length = length,
      .null_count = null_count,
      .n_buffers = n_buffers,
      .n_children = 0,
      .buffers = ex->buffers,
      .children = ex->children,
      .release = release_array,
      .private_data = ex,
  };
  return true;
}

/* Hands buf's memory over (to an exported array) and leaves buf empty. */
static void *take_buffer(lc_buf *buf) {
  void *data = buf->data;
  *buf = (lc_buf){0};
  return data;
}

/* Builds the ArrowArray nodes of col's tree; buffers are attached afterwards by
 * move_buffers, so a failure here leaves the builder's rows untouched. */
static bool export_array_nodes(struct ArrowArray *out, const lc_column *col) {
  lc_type_id id = col->type->id;
  int64_t n_buffers = id == LC_T_STRUCT ? 1 : (id == LC_T_STRING || id == LC_T_BINARY) ? 3 : 2;
  if (id == LC_T_MAP) {
    if (!array_node(out, col->length, col->null_count, 2, 1)) return false;
    struct ArrowArray *entries = out->children[0];
    if (!array_node(entries, col->children[0].length, 0, 1, 2)) return false;
    out->n_children = 1;
    for (size_t i = 0; i < 2; i++) {
      if (!export_array_nodes(entries->children[i], &col->children[i])) return false;
      entries->n_children++;
    }
    return true;
  }
  if (!array_node(out, col->length, col->null_count, n_buffers, col->n_children)) return false;
  for (size_t i = 0; i < col->n_children; i++) {
    if (!export_array_nodes(out->children[i], &col->children[i])) return false;
    out->n_children++;
  }
  return true;
}

static void move_buffers(struct ArrowArray *out, lc_column *col) {
  exported_array *ex = out->private_data;
  lc_type_id id = col->type->id;
  /* The bitmap exists only once a null was appended, so it travels only with nulls. */
  if (col->has_validity) ex->buffers[0] = take_buffer(&col->validity);
  if (id == LC_T_STRING || id == LC_T_BINARY) {
    ex->buffers[1] = take_buffer(&col->values);
    ex->buffers[2] = take_buffer(&col->data);
  } else if (id != LC_T_STRUCT) {
    ex->buffers[1] = take_buffer(&col->values);
  }
  if (id == LC_T_MAP) {
    struct ArrowArray *entries = out->children[0];
    for (size_t i = 0; i < 2; i++) move_buffers(entries->children[i], &col->children[i]);
    return;
  }
  for (size_t i = 0; i < col->n_children; i++) move_buffers(out->children[i], &col->children[i]);
}

bool lc_export_schema(struct ArrowSchema *out, const char *name, const lc_type *type,
                      bool nullable) {
  if (schema_tree(out, name, type, nullable)) return true;
  release_schema(out);
  return false;
}

bool lc_export_column(struct ArrowArray *out, lc_column *col) {
  if (!export_array_nodes(out, col)) {
    release_array(out);
    return false;
  }
  move_buffers(out, col);
  return true;
}
