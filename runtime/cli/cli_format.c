/*
 * cli_format.c: Arrow batches -> JSON lines, CSV (RFC 4180 quoting) or a text table.
 *
 * Everything is rendered into a row buffer first and written with one fwrite per
 * row, so large reads cost little more than the rendering itself.
 */
#define _GNU_SOURCE /* wcwidth */
#include "cli_format.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "arrow/lc_arrow.h"
#include "cli_buf.h"

#define CLI_TABLE_MAX_WIDTH 40 /* display characters per table cell */

struct cli_output {
  FILE *out;
  cli_format format;
  int started; /* csv header / table header printed */
  size_t n_columns;
  size_t *widths;   /* table: display width of each column; owned */
  int *right_align; /* table: numeric columns; owned */
  cli_buf row;      /* the row being rendered */
  cli_buf cell;     /* the cell being rendered */
};

int cli_format_parse(const char *name, cli_format *out) {
  if (strcmp(name, "jsonl") == 0)
    *out = CLI_FORMAT_JSONL;
  else if (strcmp(name, "csv") == 0)
    *out = CLI_FORMAT_CSV;
  else if (strcmp(name, "table") == 0)
    *out = CLI_FORMAT_TABLE;
  else
    return -1;
  return 0;
}

cli_output *cli_output_new(FILE *out, cli_format format) {
  cli_output *o = calloc(1, sizeof *o);
  if (!o) {
    fputs("luaconn: out of memory\n", stderr);
    exit(1);
  }
  o->out = out;
  o->format = format;
  return o;
}

void cli_output_free(cli_output *o) {
  if (!o) return;
  free(o->widths);
  free(o->right_align);
  cli_buf_free(&o->row);
  cli_buf_free(&o->cell);
  free(o);
}

/* ---- which Arrow formats we print --------------------------------------------- */

static int cli_format_is(const char *format, const char *name) { return strcmp(format, name) == 0; }

/* The scale of a decimal128 format "d:P,S" (S defaults to 0), or -1 for others. */
static int cli_decimal_scale(const char *f) {
  int precision, scale = 0;
  if (f[0] != 'd' || f[1] != ':' || sscanf(f + 2, "%d,%d", &precision, &scale) < 1) return -1;
  return strchr(f + 2, ',') && strchr(strchr(f + 2, ',') + 1, ',') ? -1 : scale; /* not ",bits" */
}

static int cli_is_timestamp(const char *f) {
  return f[0] == 't' && f[1] == 's' && strchr("smun", f[2]) && f[2] && f[3] == ':';
}

/* Returns the first schema node (depth first) that cannot be printed, or NULL. */
static const struct ArrowSchema *cli_unsupported(const struct ArrowSchema *s) {
  const char *f = s->format;
  if (!f || s->dictionary) return s;
  if (f[0] && !f[1] && strchr("nbcCsSiIlLfguUzZ", f[0])) return NULL;
  if (cli_format_is(f, "tdD") || cli_format_is(f, "tdm") || cli_is_timestamp(f)) return NULL;
  if (cli_decimal_scale(f) >= 0) return NULL;
  if (cli_format_is(f, "+l") || cli_format_is(f, "+L")) {
    return s->n_children == 1 ? cli_unsupported(s->children[0]) : s;
  }
  if (cli_format_is(f, "+m")) {
    if (s->n_children != 1 || s->children[0]->n_children != 2) return s;
    return cli_unsupported(s->children[0]);
  }
  if (cli_format_is(f, "+s")) {
    for (int64_t i = 0; i < s->n_children; i++) {
      const struct ArrowSchema *bad = cli_unsupported(s->children[i]);
      if (bad) return bad;
    }
    return NULL;
  }
  return s;
}

/* ---- reading values -------------------------------------------------------------
 * i is a logical index into a; a->offset is added here. Children of a struct are
 * indexed by the parent's physical index (offset + i), as the Arrow format says. */

static int cli_is_null(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i) {
  return cli_format_is(s->format, "n") || lc_arrow_is_null(a, a->offset + i);
}

/* The [start, end) child range of list or map slot i. */
static void cli_list_range(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i,
                           int64_t *start, int64_t *end) {
  lc_arrow_offsets(a, a->offset + i, s->format[1] == 'L', start, end);
}

/* The bytes of string/binary slot i (borrowed from the batch). */
static const char *cli_bytes(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i,
                             size_t *len) {
  int64_t start, end;
  lc_arrow_offsets(a, a->offset + i, s->format[0] == 'U' || s->format[0] == 'Z', &start, &end);
  *len = (size_t)(end - start);
  return a->buffers[2] ? (const char *)a->buffers[2] + start : "";
}

/* ---- rendering scalars ----------------------------------------------------------- */

static void cli_json_string(cli_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  cli_buf_reserve(b, n + 2);
  cli_buf_putc(b, '"');
  size_t run = 0; /* bytes before i that need no escaping */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    cli_buf_add(b, s + run, i - run);
    run = i + 1;
    switch (c) {
    case '"': cli_buf_add(b, "\\\"", 2); break;
    case '\\': cli_buf_add(b, "\\\\", 2); break;
    case '\n': cli_buf_add(b, "\\n", 2); break;
    case '\r': cli_buf_add(b, "\\r", 2); break;
    case '\t': cli_buf_add(b, "\\t", 2); break;
    case '\b': cli_buf_add(b, "\\b", 2); break;
    case '\f': cli_buf_add(b, "\\f", 2); break;
    default: {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      cli_buf_add(b, esc, 6);
    }
    }
  }
  cli_buf_add(b, s + run, n - run);
  cli_buf_putc(b, '"');
}

/* v in decimal (as unsigned when is_unsigned): printf's cost showed in profiles. */
static void cli_integer(cli_buf *b, bool is_unsigned, int64_t v) {
  char text[24];
  char *end = text + sizeof text, *p = lc_int64_text(v, is_unsigned, end);
  cli_buf_add(b, p, (size_t)(end - p));
}

static void cli_base64(cli_buf *b, const unsigned char *s, size_t n) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  cli_buf_reserve(b, (n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16;
    if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
    if (i + 2 < n) v |= s[i + 2];
    char out[4] = {digits[v >> 18], digits[(v >> 12) & 63], i + 1 < n ? digits[(v >> 6) & 63] : '=',
                   i + 2 < n ? digits[v & 63] : '='};
    cli_buf_add(b, out, 4);
  }
}

/* The shortest %g form that reads back to the same value; a ".0" marks integral
 * values as floating point. NaN and infinities are null in JSON. */
static void cli_double(cli_buf *b, double v, int is_float, int json) {
  if (isnan(v) || isinf(v)) {
    cli_buf_puts(b, json ? "null" : isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char text[40];
  for (int precision = is_float ? 6 : 15; precision <= 17; precision++) {
    snprintf(text, sizeof text, "%.*g", precision, v);
    if (is_float ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) break;
  }
  cli_buf_puts(b, text);
  if (strspn(text, "-0123456789") == strlen(text)) cli_buf_add(b, ".0", 2);
}

static void cli_date(cli_buf *b, int64_t days) {
  char text[32];
  cli_buf_add(b, text, lc_date_format(days, text, sizeof text));
}

/* format "ts<unit>:<tz>": value counts units since the epoch, UTC. */
static void cli_timestamp(cli_buf *b, const char *format, int64_t v) {
  static const struct {
    char unit;
    int64_t per_second;
    int digits;
  } units[] = {{'s', 1, 0}, {'m', 1000, 3}, {'u', 1000000, 6}, {'n', 1000000000, 9}};
  int64_t per_second = 1;
  int digits = 0;
  for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
    if (units[k].unit == format[2]) {
      per_second = units[k].per_second;
      digits = units[k].digits;
    }
  }
  char text[64]; /* a timezone: the value is a UTC instant */
  cli_buf_add(b, text,
              lc_timestamp_format(v, per_second, digits, format[4] != '\0', text, sizeof text));
}

/* ---- rendering any value ------------------------------------------------------------ */

/* Appends value i of (s, a): as a JSON value when json is set, else as CSV/table
 * text (strings raw; nested values are JSON either way). A null appends "null" in
 * JSON and nothing in text. */
static void cli_value(cli_buf *b, const struct ArrowSchema *s, const struct ArrowArray *a,
                      int64_t i, int json) {
  if (cli_is_null(s, a, i)) {
    if (json) cli_buf_add(b, "null", 4);
    return;
  }
  const char *f = s->format;
  int64_t p = a->offset + i;
  const void *values = a->n_buffers > 1 ? a->buffers[1] : NULL;
  switch (f[0]) {
  case 'b': cli_buf_puts(b, lc_bitmap_get(values, p) ? "true" : "false"); return;
  case 'c': cli_integer(b, false, ((const int8_t *)values)[p]); return;
  case 'C': cli_integer(b, false, ((const uint8_t *)values)[p]); return;
  case 's': cli_integer(b, false, ((const int16_t *)values)[p]); return;
  case 'S': cli_integer(b, false, ((const uint16_t *)values)[p]); return;
  case 'i': cli_integer(b, false, ((const int32_t *)values)[p]); return;
  case 'I': cli_integer(b, false, ((const uint32_t *)values)[p]); return;
  case 'l': cli_integer(b, false, ((const int64_t *)values)[p]); return;
  case 'L': cli_integer(b, true, (int64_t)((const uint64_t *)values)[p]); return;
  case 'f': cli_double(b, ((const float *)values)[p], 1, json); return;
  case 'g': cli_double(b, ((const double *)values)[p], 0, json); return;
  case 'd': { /* decimal128: exact text, a JSON number */
    __int128 v;
    memcpy(&v, (const char *)values + 16 * p, sizeof v);
    char text[48];
    cli_buf_add(b, text, lc_decimal_text(v, cli_decimal_scale(f), text));
    return;
  }
  case 'u':
  case 'U': {
    size_t len;
    const char *text = cli_bytes(s, a, i, &len);
    if (json)
      cli_json_string(b, text, len);
    else
      cli_buf_add(b, text, len);
    return;
  }
  case 'z':
  case 'Z': {
    size_t len;
    const char *bytes = cli_bytes(s, a, i, &len);
    if (json) cli_buf_putc(b, '"');
    cli_base64(b, (const unsigned char *)bytes, len);
    if (json) cli_buf_putc(b, '"');
    return;
  }
  case 't':
    if (json) cli_buf_putc(b, '"');
    if (cli_format_is(f, "tdD"))
      cli_date(b, ((const int32_t *)values)[p]);
    else if (cli_format_is(f, "tdm"))
      cli_date(b, lc_floor_div(((const int64_t *)values)[p], 86400000));
    else
      cli_timestamp(b, f, ((const int64_t *)values)[p]);
    if (json) cli_buf_putc(b, '"');
    return;
  }
  /* Nested: always JSON. */
  if (f[1] == 's') {
    cli_buf_putc(b, '{');
    for (int64_t c = 0; c < s->n_children; c++) {
      if (c) cli_buf_putc(b, ',');
      const char *name = s->children[c]->name ? s->children[c]->name : "";
      cli_json_string(b, name, strlen(name));
      cli_buf_putc(b, ':');
      cli_value(b, s->children[c], a->children[c], p, 1);
    }
    cli_buf_putc(b, '}');
    return;
  }
  int64_t start, end;
  cli_list_range(s, a, i, &start, &end);
  if (f[1] == 'm') {
    const struct ArrowSchema *entries_s = s->children[0];
    const struct ArrowArray *entries = a->children[0];
    cli_buf key = {0};
    cli_buf_putc(b, '{');
    for (int64_t k = start; k < end; k++) {
      int64_t e = entries->offset + k;
      if (k > start) cli_buf_putc(b, ',');
      cli_buf_clear(&key);
      cli_value(&key, entries_s->children[0], entries->children[0], e, 0);
      cli_json_string(b, cli_buf_cstr(&key), key.len);
      cli_buf_putc(b, ':');
      cli_value(b, entries_s->children[1], entries->children[1], e, 1);
    }
    cli_buf_putc(b, '}');
    cli_buf_free(&key);
    return;
  }
  cli_buf_putc(b, '[');
  for (int64_t k = start; k < end; k++) {
    if (k > start) cli_buf_putc(b, ',');
    cli_value(b, s->children[0], a->children[0], k, 1);
  }
  cli_buf_putc(b, ']');
}

/* ---- csv ----------------------------------------------------------------------------- */

static void cli_csv_field(cli_buf *row, const char *s, size_t n) {
  if (strcspn(s, ",\"\r\n") >= n) {
    cli_buf_add(row, s, n);
    return;
  }
  cli_buf_putc(row, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') cli_buf_putc(row, '"');
    cli_buf_putc(row, s[i]);
  }
  cli_buf_putc(row, '"');
}

static void cli_csv_batch(cli_output *o, const struct ArrowSchema *schema,
                          const struct ArrowArray *array, int64_t n_rows) {
  if (!o->started) {
    cli_buf_clear(&o->row);
    for (int64_t c = 0; c < schema->n_children; c++) {
      if (c) cli_buf_putc(&o->row, ',');
      const char *name = schema->children[c]->name ? schema->children[c]->name : "";
      cli_csv_field(&o->row, name, strlen(name));
    }
    cli_buf_putc(&o->row, '\n');
    fwrite(o->row.data, 1, o->row.len, o->out);
    o->started = 1;
  }
  for (int64_t r = 0; r < n_rows; r++) {
    cli_buf_clear(&o->row);
    for (int64_t c = 0; c < schema->n_children; c++) {
      if (c) cli_buf_putc(&o->row, ',');
      cli_buf_clear(&o->cell);
      cli_value(&o->cell, schema->children[c], array->children[c], array->offset + r, 0);
      cli_csv_field(&o->row, cli_buf_cstr(&o->cell), o->cell.len);
    }
    cli_buf_putc(&o->row, '\n');
    fwrite(o->row.data, 1, o->row.len, o->out);
  }
}

/* ---- jsonl ------------------------------------------------------------------------------ */

static void cli_jsonl_batch(cli_output *o, const struct ArrowSchema *schema,
                            const struct ArrowArray *array, int64_t n_rows) {
  for (int64_t r = 0; r < n_rows; r++) {
    cli_buf_clear(&o->row);
    cli_buf_putc(&o->row, '{');
    for (int64_t c = 0; c < schema->n_children; c++) {
      if (c) cli_buf_putc(&o->row, ',');
      const char *name = schema->children[c]->name ? schema->children[c]->name : "";
      cli_json_string(&o->row, name, strlen(name));
      cli_buf_putc(&o->row, ':');
      cli_value(&o->row, schema->children[c], array->children[c], array->offset + r, 1);
    }
    cli_buf_add(&o->row, "}\n", 2);
    fwrite(o->row.data, 1, o->row.len, o->out);
  }
}

/* ---- table ------------------------------------------------------------------------------ */

/* The display width of the character at s (wcwidth, so CJK and emoji count two
 * columns; needs a UTF-8 LC_CTYPE, which main sets), and its length in *len. Bytes
 * that are not UTF-8 count one column each. */
static size_t cli_char_width(const char *s, size_t n, size_t *len) {
  mbstate_t state = {0};
  wchar_t wc;
  size_t r = mbrtowc(&wc, s, n, &state);
  if (r == 0 || r == (size_t)-1 || r == (size_t)-2) {
    *len = 1;
    return 1;
  }
  *len = r;
  int w = wcwidth(wc);
  return w < 0 ? 1 : (size_t)w;
}

static size_t cli_display_width(const char *s, size_t n) {
  size_t w = 0, len;
  for (size_t i = 0; i < n; i += len) w += cli_char_width(s + i, n - i, &len);
  return w;
}

/* Appends cell text padded or truncated (with "…") to width display columns;
 * right-aligned (numeric) cells are never cut: a wider number shifts its row
 * rather than lose digits. Control characters become spaces so a cell stays on
 * its line. */
static void cli_table_cell(cli_buf *row, const char *s, size_t n, size_t width, int right,
                           int last) {
  size_t w = cli_display_width(s, n), shown = n;
  int truncated = w > width && !right;
  if (w > width && right) width = w;
  if (truncated) {
    size_t len, cw;
    for (shown = 0, w = 1; shown < n; shown += len, w += cw) { /* w counts the "…" */
      cw = cli_char_width(s + shown, n - shown, &len);
      if (w + cw > width) break;
    }
  }
  size_t pad = width - w;
  if (right)
    for (size_t k = 0; k < pad; k++) cli_buf_putc(row, ' ');
  for (size_t i = 0; i < shown; i++) {
    unsigned char c = (unsigned char)s[i];
    cli_buf_putc(row, c < 0x20 || c == 0x7f ? ' ' : (char)c);
  }
  if (truncated) cli_buf_puts(row, "\xe2\x80\xa6"); /* U+2026 HORIZONTAL ELLIPSIS */
  if (!right && !last)
    for (size_t k = 0; k < pad; k++) cli_buf_putc(row, ' ');
}

static void cli_table_render(cli_output *o, const struct ArrowSchema *col_s,
                             const struct ArrowArray *col, int64_t i) {
  cli_buf_clear(&o->cell);
  if (cli_is_null(col_s, col, i))
    cli_buf_puts(&o->cell, "NULL");
  else
    cli_value(&o->cell, col_s, col, i, 0);
}

static size_t cli_min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The first batch sets the column widths: the widest of name and cells, at most
 * CLI_TABLE_MAX_WIDTH. Later batches are truncated to them, so columns stay aligned. */
static void cli_table_start(cli_output *o, const struct ArrowSchema *schema,
                            const struct ArrowArray *array, int64_t n_rows) {
  size_t n = (size_t)schema->n_children;
  o->n_columns = n;
  o->widths = calloc(n ? n : 1, sizeof *o->widths);
  o->right_align = calloc(n ? n : 1, sizeof *o->right_align);
  if (!o->widths || !o->right_align) {
    fputs("luaconn: out of memory\n", stderr);
    exit(1);
  }
  for (size_t c = 0; c < n; c++) {
    const struct ArrowSchema *col_s = schema->children[c];
    const char *name = col_s->name ? col_s->name : "";
    size_t w = cli_display_width(name, strlen(name));
    for (int64_t r = 0; r < n_rows; r++) {
      cli_table_render(o, col_s, array->children[c], array->offset + r);
      size_t cw = cli_display_width(o->cell.data, o->cell.len);
      if (cw > w) w = cw;
    }
    o->widths[c] = cli_min_size(w ? w : 1, CLI_TABLE_MAX_WIDTH);
    o->right_align[c] =
        col_s->format[0] && !col_s->format[1] && strchr("cCsSiIlLfg", col_s->format[0]) != NULL;
  }
  cli_buf_clear(&o->row);
  for (size_t c = 0; c < n; c++) {
    const char *name = schema->children[c]->name ? schema->children[c]->name : "";
    if (c) cli_buf_add(&o->row, " | ", 3);
    cli_table_cell(&o->row, name, strlen(name), o->widths[c], 0, c + 1 == n);
  }
  cli_buf_putc(&o->row, '\n');
  for (size_t c = 0; c < n; c++) {
    if (c) cli_buf_add(&o->row, "-+-", 3);
    for (size_t k = 0; k < o->widths[c]; k++) cli_buf_putc(&o->row, '-');
  }
  cli_buf_putc(&o->row, '\n');
  fwrite(o->row.data, 1, o->row.len, o->out);
  o->started = 1;
}

static void cli_table_batch(cli_output *o, const struct ArrowSchema *schema,
                            const struct ArrowArray *array, int64_t n_rows) {
  if (!o->started) cli_table_start(o, schema, array, n_rows);
  size_t n = cli_min_size(o->n_columns, (size_t)schema->n_children);
  for (int64_t r = 0; r < n_rows; r++) {
    cli_buf_clear(&o->row);
    for (size_t c = 0; c < n; c++) {
      if (c) cli_buf_add(&o->row, " | ", 3);
      cli_table_render(o, schema->children[c], array->children[c], array->offset + r);
      cli_table_cell(&o->row, o->cell.data, o->cell.len, o->widths[c], o->right_align[c],
                     c + 1 == n);
    }
    cli_buf_putc(&o->row, '\n');
    fwrite(o->row.data, 1, o->row.len, o->out);
  }
}

/* ---- entry point ---------------------------------------------------------------------- */

int cli_output_batch(cli_output *o, const struct ArrowSchema *schema,
                     const struct ArrowArray *array, int64_t n_rows, char *err, size_t errlen) {
  if (!cli_format_is(schema->format, "+s") || schema->n_children != array->n_children) {
    snprintf(err, errlen, "a batch must be a struct array of columns, got format '%s'",
             schema->format ? schema->format : "?");
    return -1;
  }
  const struct ArrowSchema *bad = cli_unsupported(schema);
  if (bad) {
    snprintf(err, errlen, "cannot print field '%s': unsupported Arrow format '%s'",
             bad->name ? bad->name : "?", bad->format ? bad->format : "?");
    return -1;
  }
  if (n_rows > array->length) n_rows = array->length;
  switch (o->format) {
  case CLI_FORMAT_JSONL: cli_jsonl_batch(o, schema, array, n_rows); break;
  case CLI_FORMAT_CSV: cli_csv_batch(o, schema, array, n_rows); break;
  case CLI_FORMAT_TABLE: cli_table_batch(o, schema, array, n_rows); break;
  }
  return 0;
}
