/*
 * cli_format.h: prints Arrow batches (the rows luaconn reads) as JSON lines, CSV or
 * a text table.
 *
 * Value rendering: strings as text (JSON-escaped in jsonl), BINARY as base64, DATE as
 * YYYY-MM-DD, TIMESTAMP as YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), doubles in the shortest
 * form that reads back to the same value, NaN/Infinity as null in jsonl. Nested
 * values (ARRAY, STRUCT, MAP) are JSON arrays/objects in jsonl and JSON text in csv
 * and table cells; map keys become JSON object keys (as text).
 */
#ifndef CLI_FORMAT_H
#define CLI_FORMAT_H

#include <stdint.h>
#include <stdio.h>

#include "luaconn.h"

typedef enum cli_format { CLI_FORMAT_JSONL, CLI_FORMAT_CSV, CLI_FORMAT_TABLE } cli_format;

/* Parses "jsonl", "csv" or "table". Returns 0, or -1 for any other name. */
int cli_format_parse(const char *name, cli_format *out);

typedef struct cli_output cli_output;

/* An output in format writing to out (borrowed). Caller frees with cli_output_free. */
cli_output *cli_output_new(FILE *out, cli_format format);
void cli_output_free(cli_output *o);

/* Prints the first n_rows rows of a batch (a struct array whose children are the
 * columns). The batch is borrowed. The first batch decides the csv header and the
 * table's column widths. Returns 0, or -1 with err naming the column whose Arrow
 * type cannot be printed. Write errors are left on the FILE (check ferror). */
int cli_output_batch(cli_output *o, const struct ArrowSchema *schema,
                     const struct ArrowArray *array, int64_t n_rows, char *err, size_t errlen);

#endif /* CLI_FORMAT_H */
