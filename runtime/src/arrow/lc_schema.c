/*
 * lc_schema.c: parses Spark DDL schema strings ("id INT, tags ARRAY<STRING>") into
 * lc_type trees. A recursive-descent parser over the text; errors name the column
 * and the 1-based character where parsing stopped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arrow/lc_arrow.h"

typedef struct schema_parser {
  const char *src;
  size_t pos;
  char *err;
  size_t errlen;
  int depth; /* types open around the current one */
} schema_parser;

/* Nesting deeper than this is refused: the parser and everything that walks a
 * type recurse once per level. */
#define LC_SCHEMA_MAX_DEPTH 100

static const char *const type_names[] = {
    [LC_T_BOOLEAN] = "BOOLEAN",     [LC_T_INT] = "INT",
    [LC_T_BIGINT] = "BIGINT",       [LC_T_FLOAT] = "FLOAT",
    [LC_T_DOUBLE] = "DOUBLE",       [LC_T_STRING] = "STRING",
    [LC_T_BINARY] = "BINARY",       [LC_T_DATE] = "DATE",
    [LC_T_TIMESTAMP] = "TIMESTAMP", [LC_T_TINYINT] = "TINYINT",
    [LC_T_SMALLINT] = "SMALLINT",   [LC_T_TIMESTAMP_NTZ] = "TIMESTAMP_NTZ",
    [LC_T_DECIMAL] = "DECIMAL",     [LC_T_ARRAY] = "ARRAY",
    [LC_T_STRUCT] = "STRUCT",       [LC_T_MAP] = "MAP",
};

/* Every spelling the parser accepts, mapped to its type. VARCHAR(n) and CHAR(n)
 * take a length and are plain STRINGs here. */
static const struct {
  const char *word;
  lc_type_id id;
  bool takes_length;
} type_words[] = {
    {"BOOLEAN", LC_T_BOOLEAN, false},
    {"INT", LC_T_INT, false},
    {"INTEGER", LC_T_INT, false},
    {"BIGINT", LC_T_BIGINT, false},
    {"LONG", LC_T_BIGINT, false},
    {"FLOAT", LC_T_FLOAT, false},
    {"REAL", LC_T_FLOAT, false},
    {"DOUBLE", LC_T_DOUBLE, false},
    {"STRING", LC_T_STRING, false},
    {"VARCHAR", LC_T_STRING, true},
    {"CHAR", LC_T_STRING, true},
    {"BINARY", LC_T_BINARY, false},
    {"DATE", LC_T_DATE, false},
    {"TIMESTAMP", LC_T_TIMESTAMP, false},
    {"TIMESTAMP_LTZ", LC_T_TIMESTAMP, false},
    {"TIMESTAMP_NTZ", LC_T_TIMESTAMP_NTZ, false},
    {"TINYINT", LC_T_TINYINT, false},
    {"BYTE", LC_T_TINYINT, false},
    {"SMALLINT", LC_T_SMALLINT, false},
    {"SHORT", LC_T_SMALLINT, false},
    {"DECIMAL", LC_T_DECIMAL, false},
    {"DEC", LC_T_DECIMAL, false},
    {"NUMERIC", LC_T_DECIMAL, false},
    {"ARRAY", LC_T_ARRAY, false},
    {"STRUCT", LC_T_STRUCT, false},
    {"MAP", LC_T_MAP, false},
};

const char *lc_type_name(lc_type_id id) {
  if ((size_t)id < sizeof type_names / sizeof type_names[0] && type_names[id])
    return type_names[id];
  return "UNKNOWN";
}

static void free_fields(lc_field *fields, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(fields[i].name);
    lc_type_free(fields[i].type);
  }
  free(fields);
}

void lc_type_free(lc_type *t) {
  if (!t) return;
  free_fields(t->children, t->n_children);
  free(t);
}

/* ---- lexing helpers ----------------------------------------------------------- */

static void skip_space(schema_parser *p) {
  while (isspace((unsigned char)p->src[p->pos])) p->pos++;
}

static bool is_word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Describes what sits at the current position, for "found ..." in errors. */
static void describe_here(const schema_parser *p, char *out, size_t outlen) {
  const char *s = p->src + p->pos;
  if (!*s) {
    snprintf(out, outlen, "end of schema");
    return;
  }
  size_t n = 0;
  while (is_word_char(s[n]) && n < 40) n++;
  snprintf(out, outlen, "'%.*s'", n ? (int)n : 1, s);
}

static int fail(schema_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(schema_parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, p->errlen, fmt, ap);
  va_end(ap);
  return LC_ERR_SCHEMA;
}

/* Consumes c (after spaces) if present. */
static bool accept_char(schema_parser *p, char c) {
  skip_space(p);
  if (p->src[p->pos] != c) return false;
  p->pos++;
  return true;
}

/* Consumes the case-insensitive keyword kw if it is the next whole word. */
static bool accept_keyword(schema_parser *p, const char *kw) {
  skip_space(p);
  size_t n = strlen(kw);
  if (strncasecmp(p->src + p->pos, kw, n) != 0 || is_word_char(p->src[p->pos + n])) return false;
  p->pos += n;
  return true;
}

static int expect_char(schema_parser *p, char c, const char *context) {
  if (accept_char(p, c)) return LC_OK;
  char found[64];
  describe_here(p, found, sizeof found);
  return fail(p, "expected '%c' %s at character %zu, found %s", c, context, p->pos + 1, found);
}

/* Reads a plain or `back-quoted` identifier into a malloc'd string (caller frees).
 * what names the identifier's role in errors. */
static int parse_identifier(schema_parser *p, const char *what, char **out) {
  skip_space(p);
  size_t start = p->pos;
  const char *s = p->src;
  if (s[start] == '`') {
    /* `` inside back quotes is one literal back quote. */
    size_t len = 0, i = start + 1;
    for (;; i++) {
      if (!s[i]) return fail(p, "unterminated back-quoted name at character %zu", start + 1);
      if (s[i] == '`') {
        if (s[i + 1] != '`') break;
        i++;
      }
      len++;
    }
    if (len == 0) return fail(p, "empty %s at character %zu", what, start + 1);
    char *name = malloc(len + 1);
    if (!name) return LC_ERR_NOMEM;
    size_t o = 0;
    for (size_t j = start + 1; j < i; j++) {
      name[o++] = s[j];
      if (s[j] == '`') j++;
    }
    name[o] = '\0';
    p->pos = i + 1;
    *out = name;
    return LC_OK;
  }
  size_t end = start;
  while (is_word_char(s[end])) end++;
  if (end == start) {
    char found[64];
    describe_here(p, found, sizeof found);
    return fail(p, "expected a %s at character %zu, found %s", what, start + 1, found);
  }
  *out = strndup(s + start, end - start);
  if (!*out) return LC_ERR_NOMEM;
  p->pos = end;
  return LC_OK;
}

/* Skips a COMMENT's string literal: '...' or "..." with backslash escapes. */
static int skip_string_literal(schema_parser *p, const char *column) {
  skip_space(p);
  char quote = p->src[p->pos];
  if (quote != '\'' && quote != '"')
    return fail(p, "expected a quoted string after COMMENT for column '%s' at character %zu",
                column, p->pos + 1);
  size_t start = p->pos;
  for (p->pos++; p->src[p->pos] != quote; p->pos++) {
    if (p->src[p->pos] == '\\' && p->src[p->pos + 1]) p->pos++;
    if (!p->src[p->pos])
      return fail(p, "unterminated comment string for column '%s' at character %zu", column,
                  start + 1);
  }
  p->pos++;
  return LC_OK;
}

/* ---- grammar ----------------------------------------------------------------- */

static int parse_type(schema_parser *p, const char *column, lc_type **out);
static int parse_type_at_depth(schema_parser *p, const char *column, lc_type **out);

static lc_type *new_type(lc_type_id id, size_t n_children) {
  lc_type *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->id = id;
  if (n_children) {
    t->children = calloc(n_children, sizeof *t->children);
    if (!t->children) {
      free(t);
      return NULL;
    }
    t->n_children = n_children;
  }
  return t;
}

static int compare_names(const void *a, const void *b) {
  return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* Fails on two fields of t whose names differ only in case: sorted, they are
 * neighbours (a pairwise check takes minutes on a schema of 50,000 columns). */
static int check_unique(schema_parser *p, const lc_type *t, const char *what) {
  if (t->n_children < 2) return LC_OK;
  char **names = malloc(t->n_children * sizeof *names);
  if (!names) return LC_ERR_NOMEM;
  for (size_t i = 0; i < t->n_children; i++) names[i] = t->children[i].name;
  qsort(names, t->n_children, sizeof *names, compare_names);
  int rc = LC_OK;
  for (size_t i = 1; i < t->n_children && rc == LC_OK; i++)
    if (strcasecmp(names[i - 1], names[i]) == 0) rc = fail(p, "duplicate %s '%s'", what, names[i]);
  free(names);
  return rc;
}

/* Fields of a schema (closer '\0') or of a STRUCT<...> (closer '>'), appended to
 * t's children. In a STRUCT a ':' may separate name and type, as in Spark. */
static int parse_fields(schema_parser *p, lc_type *t, char closer) {
  size_t cap = 0;
  skip_space(p);
  if (closer == '>' && p->src[p->pos] == '>') return LC_OK; /* STRUCT<> */
  for (;;) {
    char *name = NULL;
    int rc = parse_identifier(p, closer ? "field name" : "column name", &name);
    if (rc) return rc;
    if (t->n_children == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      lc_field *grown = realloc(t->children, ncap * sizeof *grown);
      if (!grown) {
        free(name);
        return LC_ERR_NOMEM;
      }
      t->children = grown;
      cap = ncap;
    }
    lc_field *f = &t->children[t->n_children++];
    *f = (lc_field){.name = name, .type = NULL, .nullable = true};
    if (closer == '>') accept_char(p, ':');
    if ((rc = parse_type(p, name, &f->type))) return rc;
    if (accept_keyword(p, "NOT")) {
      if (!accept_keyword(p, "NULL"))
        return fail(p, "expected NULL after NOT for column '%s' at character %zu", name,
                    p->pos + 1);
      f->nullable = false;
    }
    if (accept_keyword(p, "COMMENT") && (rc = skip_string_literal(p, name))) return rc;
    if (accept_char(p, ',')) continue;
    skip_space(p);
    if (p->src[p->pos] == closer) return check_unique(p, t, closer ? "field" : "column");
    char found[64];
    describe_here(p, found, sizeof found);
    if (closer)
      return fail(p, "expected ',' or '>' after field '%s' at character %zu, found %s", name,
                  p->pos + 1, found);
    return fail(p, "expected ',' or end of schema after column '%s' at character %zu, found %s",
                name, p->pos + 1, found);
  }
}

/* Reads the optional "(n)" of VARCHAR(n) / CHAR(n). */
static int parse_length(schema_parser *p, const char *column) {
  if (!accept_char(p, '(')) return LC_OK;
  skip_space(p);
  if (!isdigit((unsigned char)p->src[p->pos]))
    return fail(p, "expected a length for column '%s' at character %zu", column, p->pos + 1);
  while (isdigit((unsigned char)p->src[p->pos])) p->pos++;
  return expect_char(p, ')', "after the length");
}

/* DECIMAL[(precision[, scale])]: Spark's default is (10, 0); precision 1..38. */
static int parse_decimal(schema_parser *p, const char *column, lc_type *t) {
  t->precision = 10;
  t->scale = 0;
  if (!accept_char(p, '(')) return LC_OK;
  long values[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    skip_space(p);
    if (!isdigit((unsigned char)p->src[p->pos]))
      return fail(p,
                  "expected a number in DECIMAL(precision, scale) for column '%s' at "
                  "character %zu",
                  column, p->pos + 1);
    values[k] = strtol(p->src + p->pos, NULL, 10);
    while (isdigit((unsigned char)p->src[p->pos])) p->pos++;
    skip_space(p);
    if (k == 0 && !accept_char(p, ',')) break;
  }
  if (values[0] < 1 || values[0] > 38 || values[1] > values[0])
    return fail(p,
                "DECIMAL(%ld, %ld) for column '%s': precision must be 1 to 38 and scale "
                "0 to the precision",
                values[0], values[1], column);
  t->precision = (int)values[0];
  t->scale = (int)values[1];
  return expect_char(p, ')', "after DECIMAL's precision and scale");
}

static int parse_type(schema_parser *p, const char *column, lc_type **out) {
  if (p->depth >= LC_SCHEMA_MAX_DEPTH)
    return fail(p, "type of column '%s' nests deeper than %d levels at character %zu", column,
                LC_SCHEMA_MAX_DEPTH, p->pos + 1);
  p->depth++;
  int rc = parse_type_at_depth(p, column, out);
  p->depth--;
  return rc;
}

static int parse_type_at_depth(schema_parser *p, const char *column, lc_type **out) {
  skip_space(p);
  size_t start = p->pos;
  size_t end = start;
  while (is_word_char(p->src[end])) end++;
  if (end == start) {
    char found[64];
    describe_here(p, found, sizeof found);
    return fail(p, "expected a type for column '%s' at character %zu, found %s", column, start + 1,
                found);
  }
  size_t word = 0, n_words = sizeof type_words / sizeof type_words[0];
  while (word < n_words && !(strlen(type_words[word].word) == end - start &&
                             strncasecmp(type_words[word].word, p->src + start, end - start) == 0))
    word++;
  if (word == n_words)
    return fail(p, "unknown type '%.*s' for column '%s' at character %zu", (int)(end - start),
                p->src + start, column, start + 1);
  p->pos = end;

  lc_type_id id = type_words[word].id;
  size_t n_children = id == LC_T_ARRAY ? 1 : id == LC_T_MAP ? 2 : 0;
  lc_type *t = new_type(id, n_children);
  if (!t) return LC_ERR_NOMEM;
  *out = t; /* the caller's tree owns t from here, so errors below free it with the rest */
  int rc = LC_OK;
  char context[64];
  snprintf(context, sizeof context, "after %s", lc_type_name(t->id));
  switch (t->id) {
  case LC_T_STRING:
    if (type_words[word].takes_length) rc = parse_length(p, column);
    break;
  case LC_T_DECIMAL: rc = parse_decimal(p, column, t); break;
  case LC_T_ARRAY:
    t->children[0] = (lc_field){.name = strdup("element"), .nullable = true};
    if (!t->children[0].name) return LC_ERR_NOMEM;
    if ((rc = expect_char(p, '<', context)) || (rc = parse_type(p, column, &t->children[0].type)))
      break;
    rc = expect_char(p, '>', "to close ARRAY<");
    break;
  case LC_T_MAP:
    t->children[0] = (lc_field){.name = strdup("key"), .nullable = false};
    t->children[1] = (lc_field){.name = strdup("value"), .nullable = true};
    if (!t->children[0].name || !t->children[1].name) return LC_ERR_NOMEM;
    if ((rc = expect_char(p, '<', context)) || (rc = parse_type(p, column, &t->children[0].type)) ||
        (rc = expect_char(p, ',', "between MAP key and value types")) ||
        (rc = parse_type(p, column, &t->children[1].type)))
      break;
    rc = expect_char(p, '>', "to close MAP<");
    break;
  case LC_T_STRUCT:
    if ((rc = expect_char(p, '<', context)) || (rc = parse_fields(p, t, '>'))) break;
    rc = expect_char(p, '>', "to close STRUCT<");
    break;
  default: break;
  }
  return rc;
}

int lc_schema_parse(const char *ddl, size_t len, lc_type **out, char *err, size_t errlen) {
  *out = NULL;
  schema_parser p = {.src = ddl ? ddl : "", .err = err, .errlen = errlen};
  const char *nul = ddl ? memchr(ddl, '\0', len) : NULL;
  if (nul)
    return fail(&p, "the schema contains a NUL byte at character %zu", (size_t)(nul - ddl) + 1);
  skip_space(&p);
  if (!p.src[p.pos]) return fail(&p, "empty schema: expected at least one column");
  lc_type *t = new_type(LC_T_STRUCT, 0);
  if (!t) return LC_ERR_NOMEM;
  int rc = parse_fields(&p, t, '\0');
  if (rc) {
    if (rc == LC_ERR_NOMEM) snprintf(err, errlen, "out of memory parsing the schema");
    lc_type_free(t);
    return rc;
  }
  *out = t;
  return LC_OK;
}
