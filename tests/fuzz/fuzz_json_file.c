/*
 * fuzz_json_file.c: the JSON reader every input file goes through
 * (core/json_file.c), on arbitrary bytes.
 *
 * Each input is read four ways: from memory (sx_json_load_string) and from a
 * file through the secret-aware reader the config uses
 * (sx_json_load_secret_file), each wanting any value and wanting an object.
 * Invariants:
 *  - the four agree with jansson itself on whether the text parses, and
 *    on the value;
 *  - an error is a config error whose message starts with the file's label
 *    and, for a syntax error, says "line L, column C" with L and C inside
 *    the input;
 *  - the secret-aware reader never quotes a value: a "near" excerpt in its
 *    messages is punctuation or the end of the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "json_file.h"

static const char *const HARMLESS[] = {"'end of file'", "end of file", "'{'", "'}'",  "'['",
                                       "']'",           "','",         "':'", NULL};

static int only_whitespace(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
            return 0;
    return 1;
}

/* The line and column a message gives, checked against the input. */
static void check_position(const char *msg, const uint8_t *data, size_t size)
{
    const char *at = strstr(msg, ", line ");
    if (at == NULL)
        return;
    int line = 0, column = -1;
    SXT_FUZZ_CHECK(sscanf(at, ", line %d, column %d:", &line, &column) == 2, "%s", msg);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    SXT_FUZZ_CHECK(line >= 1 && (size_t)line <= lines, "line %d of %zu: %s", line, lines, msg);
    SXT_FUZZ_CHECK(column >= 0 && (size_t)column <= size, "column %d: %s", column, msg);
}

static void check_error(const sx_error *err, const char *label, const uint8_t *data, size_t size,
                        int hides_values)
{
    SXT_FUZZ_CHECK(err->exit_code == SX_EXIT_CONFIG, "exit code %d: %s", err->exit_code,
                   err->msg);
    SXT_FUZZ_CHECK(strncmp(err->msg, label, strlen(label)) == 0, "[%s] does not start with [%s]",
                   err->msg, label);
    check_position(err->msg, data, size);
    if (!hides_values)
        return;
    const char *near = strstr(err->msg, " near ");
    if (near == NULL)
        return;
    near += strlen(" near ");
    int harmless = 0;
    for (size_t i = 0; HARMLESS[i] != NULL; i++)
        harmless |= strcmp(near, HARMLESS[i]) == 0;
    SXT_FUZZ_CHECK(harmless, "the secret-aware reader quotes input: %s", err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = sxt_fuzz_path("input.json");
    sxt_fuzz_write(path, data, size);
    char file_label[600];
    snprintf(file_label, sizeof file_label, "config file '%s'", path);

    json_error_t jerr;
    json_t *truth = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                               &jerr);
    if (only_whitespace(data, size)) {
        json_decref(truth);
        truth = NULL;
    }

    for (int want_object = 0; want_object <= 1; want_object++) {
        sx_error err_mem, err_file;
        sx_error_clear(&err_mem);
        sx_error_clear(&err_file);
        json_t *mem = sx_json_load_string((const char *)data, size, "config", "fuzz-input",
                                          want_object, &err_mem);
        json_t *file = sx_json_load_secret_file(path, "config", want_object, &err_file);
        int expect = truth != NULL && (!want_object || json_is_object(truth));

        SXT_FUZZ_CHECK((mem != NULL) == expect, "from memory: %s", err_mem.msg);
        SXT_FUZZ_CHECK((file != NULL) == expect, "from a file: %s", err_file.msg);
        if (expect) {
            SXT_FUZZ_CHECK(json_equal(mem, truth) && json_equal(file, truth), "values differ");
            SXT_FUZZ_CHECK(err_mem.exit_code == SX_EXIT_OK && err_file.exit_code == SX_EXIT_OK,
                           "an error set on success: %s / %s", err_mem.msg, err_file.msg);
        } else {
            check_error(&err_mem, "config fuzz-input", data, size, 0);
            check_error(&err_file, file_label, data, size, 1);
        }
        json_decref(mem);
        json_decref(file);
    }
    json_decref(truth);
    sxt_fuzz_end_input();
    return 0;
}
