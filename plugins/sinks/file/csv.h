/*
 * csv.h: RFC 4180 text for the file sink's CSV format.
 *
 * Lines end with CRLF. A field is quoted when it holds a comma, a double
 * quote, CR or LF (quotes inside are doubled), or when it is an empty string,
 * so that an empty string ("") and a missing value (nothing between the
 * commas) stay apart.
 */
#ifndef FILE_CSV_H
#define FILE_CSV_H

#include <stddef.h>

#include "sink_buf.h"

/* Appends one field (len bytes of s); s NULL writes a missing value. */
int csv_field(sink_buf *b, const char *s, size_t len);

/*
 * Parses the first record of text (the header of an existing file) into
 * malloc'd fields. Returns the number of fields, or -1 when text holds no
 * complete line or its quoting is broken. Free with csv_fields_free.
 */
long csv_parse_line(const char *text, size_t len, char ***fields);

/* Frees n fields and their array. */
void csv_fields_free(char **fields, size_t n);

#endif
