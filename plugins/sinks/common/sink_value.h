/*
 * sink_value.h: one record value converted for a column of a given type.
 *
 * The mapping is the project's contract with the API, which sends most
 * numbers as strings: an integer column takes 12, 12.0 and "12"; a number
 * column takes 1.5 and "1.5" (kept as the exact decimal text); a boolean
 * column takes true, 1, "true", "t" and "1"; an empty string in a numeric or
 * boolean column means no value. A string column takes any scalar as its
 * text; a JSON column takes anything as compact JSON text. null is NULL
 * everywhere.
 */
#ifndef SINK_VALUE_H
#define SINK_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sink_buf.h"

/* Column types, from the schema (or from the value, for drifted keys). */
typedef enum sink_type {
    SINK_STRING = 0,
    SINK_INTEGER = 1,
    SINK_NUMBER = 2,
    SINK_BOOLEAN = 3,
    SINK_JSON = 4
} sink_type;

/* What a cell holds. Numbers from strings stay TEXT so no digit is lost. */
typedef enum sink_cell_kind {
    SINK_CELL_NULL = 0,
    SINK_CELL_INT = 1,
    SINK_CELL_REAL = 2,
    SINK_CELL_BOOL = 3,
    SINK_CELL_TEXT = 4
} sink_cell_kind;

typedef struct sink_cell {
    int kind;        /* a sink_cell_kind */
    int64_t i;       /* INT, and BOOL as 0 or 1 */
    double d;        /* REAL */
    size_t off;      /* TEXT: where the text starts in the row's text buffer */
    size_t len;      /* TEXT: its length */
} sink_cell;

/* The type a JSON Schema property asks for: "type" as a string or an array
 * (with "null" ignored), or the union of anyOf / oneOf members. No type at
 * all, or object / array, is JSON; several scalar types are STRING, except
 * integer with number, which is NUMBER. */
sink_type sink_type_of_schema(const json_t *property);

/* The type of a value, for a key the schema did not name; -1 for null. */
int sink_type_of_value(const json_t *value);

/* The name of a type in messages ("integer"). */
const char *sink_type_name(sink_type type);

/*
 * Converts v for a column of type; text goes to the end of text (the cell
 * records where). Returns 0, or -1 when the value does not fit the type (an
 * integer column given "abc"); the cell is then NULL.
 */
int sink_cell_from_json(sink_cell *cell, const json_t *v, sink_type type, sink_buf *text);

/* Appends the shortest text that reads back as exactly d. */
int sink_format_real(sink_buf *b, double d);

/* Appends v as compact JSON (any value, scalars included). */
int sink_json_dump(sink_buf *b, const json_t *v);

/* Appends a short preview of v for error messages (at most about 60 bytes). */
void sink_json_preview(sink_buf *b, const json_t *v);

#endif
