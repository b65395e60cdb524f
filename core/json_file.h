/*
 * json_file.h: reading JSON input files with precise errors, and writing files
 * atomically.
 */
#ifndef SX_JSON_FILE_H
#define SX_JSON_FILE_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/*
 * Reads and parses the JSON file at path. what names the file's role in
 * messages ("config", "catalog", "state"). On failure returns NULL and sets err
 * (SX_EXIT_CONFIG) to e.g.
 *   config file 'x.json', line 3, column 7: expected ',' or '}' near '"b"'
 *   config file 'x.json': No such file or directory
 * When want_object is non-zero, a top level that is not an object is an error
 * too ("config file 'x.json': expected a JSON object at the top level, found an array").
 */
json_t *sx_json_load_file(const char *path, const char *what, int want_object, sx_error *err);

/*
 * The same for a file that may hold secrets (the config): where the parser
 * stopped on a value rather than on punctuation, the "near '...'" excerpt is
 * left out of the message, since that value could be a password. Line and
 * column still say where. An empty file is an error in both forms.
 */
json_t *sx_json_load_secret_file(const char *path, const char *what, int want_object,
                                 sx_error *err);

/* The same for a string already in memory; origin names it in messages. */
json_t *sx_json_load_string(const char *text, size_t len, const char *what,
                            const char *origin, int want_object, sx_error *err);

/*
 * Replaces the file at path with data, atomically: writes a temporary file
 * in the same directory, fsyncs it, renames it over path and fsyncs the
 * directory. A crash at any instant leaves either the old or the new content.
 * Returns 0, or -1 with err set (SX_EXIT_FAILURE) naming the path.
 */
int sx_write_file_atomic(const char *path, const char *data, size_t len, sx_error *err);

#endif
