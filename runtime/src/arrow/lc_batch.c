/* lc_batch.c: reading batches made elsewhere (pyarrow's, handed to a write):
 * which types they hold, whether the runtime can read them, and where a slot's
 * validity bit and offsets are. */
#include <stdio.h>
#include <string.h>

#include "arrow/lc_arrow.h"

lc_arrow_kind lc_arrow_classify(const struct ArrowSchema *s) {
  static const struct {
    const char *format;
    lc_arrow_kind kind;
  } exact[] = {
      {"b", AK_BOOL},         {"c", AK_INT8},   {"s", AK_INT16},        {"i", AK_INT32},
      {"l", AK_INT64},        {"f", AK_FLOAT},  {"g", AK_DOUBLE},       {"u", AK_STRING},
      {"U", AK_LARGE_STRING}, {"z", AK_BINARY}, {"Z", AK_LARGE_BINARY}, {"tdD", AK_DATE32},
      {"tdm", AK_DATE64},     {"+l", AK_LIST},  {"+L", AK_LARGE_LIST},  {"+s", AK_STRUCT},
      {"+m", AK_MAP},
  };
  const char *f = s->format;
  if (!f || s->dictionary) return AK_UNSUPPORTED;
  if (f[0] == 't' && f[1] == 's' && strchr("smun", f[2]) && f[2] && f[3] == ':')
    return AK_TIMESTAMP;
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strcmp(f, exact[i].format) == 0) return exact[i].kind;
  return AK_UNSUPPORTED;
}

static int check_field(const struct ArrowSchema *s, const char *path, char *err, size_t errlen) {
  lc_arrow_kind kind = lc_arrow_classify(s);
  int64_t want_children = kind == AK_LIST || kind == AK_LARGE_LIST || kind == AK_MAP ? 1 : 0;
  if (kind == AK_UNSUPPORTED || (kind != AK_STRUCT && s->n_children != want_children)) {
    snprintf(err, errlen, "column '%s': unsupported Arrow type '%s'%s", path,
             s->format ? s->format : "(none)", s->dictionary ? " (dictionary-encoded)" : "");
    return LC_ERR_SCHEMA;
  }
  if (kind == AK_MAP &&
      (lc_arrow_classify(s->children[0]) != AK_STRUCT || s->children[0]->n_children != 2)) {
    snprintf(err, errlen, "column '%s': map entries are not a struct of key and value", path);
    return LC_ERR_SCHEMA;
  }
  for (int64_t i = 0; i < s->n_children; i++) {
    const struct ArrowSchema *child = s->children[i];
    char child_path[512];
    if (kind == AK_STRUCT)
      snprintf(child_path, sizeof child_path, "%s%s%s", path, *path ? "." : "",
               child->name ? child->name : "");
    else
      snprintf(child_path, sizeof child_path, "%s[]", path);
    /* A map's entries struct is checked through its key and value. */
    int rc = kind == AK_MAP ? check_field(child->children[0], child_path, err, errlen) ||
                                  check_field(child->children[1], child_path, err, errlen)
                            : check_field(child, child_path, err, errlen);
    if (rc) return LC_ERR_SCHEMA;
  }
  return LC_OK;
}

int lc_arrow_check_schema(const struct ArrowSchema *schema, char *err, size_t errlen) {
  if (!schema || lc_arrow_classify(schema) != AK_STRUCT) {
    snprintf(err, errlen, "a batch must be a struct of columns, got Arrow type '%s'",
             schema && schema->format ? schema->format : "(none)");
    return LC_ERR_SCHEMA;
  }
  return check_field(schema, "", err, errlen);
}

bool lc_arrow_is_null(const struct ArrowArray *a, int64_t j) {
  return a->n_buffers > 0 && a->buffers[0] && a->null_count != 0 &&
         !lc_bitmap_get(a->buffers[0], j);
}

void lc_arrow_offsets(const struct ArrowArray *a, int64_t j, bool large, int64_t *start,
                      int64_t *end) {
  if (large) {
    const int64_t *o = a->buffers[1];
    *start = o[j];
    *end = o[j + 1];
  } else {
    const int32_t *o = a->buffers[1];
    *start = o[j];
    *end = o[j + 1];
  }
}
