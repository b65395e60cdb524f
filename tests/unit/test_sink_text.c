/*
 * Records given to sinks as text (SIPHON_CAP_RAW_RECORDS): the file sink's
 * JSON Lines take the text as it is and stamp it; its CSV asks for trees
 * (instance_caps) and still copes with text; the stdout sink copies the text
 * into its RECORD line. Real modules, real files.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proc.h"
#include "sink_host.h"

#define NOTES_SCHEMA                                                                           \
    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"                     \
    "\"n\":{\"type\":[\"null\",\"number\"]},\"note\":{\"type\":[\"null\",\"string\"]}}}"

static char *dir;

static void setup(void)
{
    dir = sxt_tmpdir("sink-text");
}

static void teardown(void)
{
    sxt_rmtree(dir);
    free(dir);
}

TestSuite(sink_text, .init = setup, .fini = teardown);

static sxt_sink *open_sink(const char *name, const char *config)
{
    sxt_sink *s = sxt_sink_load(name, config);
    cr_assert_not_null(s, "the %s sink module loads", name);
    cr_assert_eq(sxt_sink_open(s), SIPHON_OK, "open: %s", sxt_sink_error(s));
    return s;
}

static char *file_text(const char *name)
{
    char *path = sxt_strf("%s/%s", dir, name);
    char *text = sxt_read_file(path, NULL);
    free(path);
    cr_assert_not_null(text, "no file %s", name);
    return text;
}

Test(sink_text, jsonl_writes_the_text_as_given_with_its_stamp)
{
    char *config = sxt_strf("{\"path\":\"%s\"}", dir);
    sxt_sink *s = open_sink("file", config);
    cr_assert(sxt_sink_instance_caps(s) & SIPHON_CAP_RAW_RECORDS, "JSONL takes text");
    cr_assert_eq(sxt_sink_begin(s, "notes", NOTES_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    cr_assert_eq(sxt_sink_write_text(s, "notes", "{\"code\":\"1\",\"n\":1.50}"), SIPHON_OK);
    cr_assert_eq(sxt_sink_write_text(s, "notes", "{}"), SIPHON_OK);
    /* a record that carries the stamp's key gets ours instead, once */
    cr_assert_eq(sxt_sink_write_text(s, "notes",
                                     "{\"code\":\"3\",\"_sdc_extracted_at\":\"theirs\",\"x\":1}"),
                 SIPHON_OK);
    /* the key's bytes nested deeper do not count as the key */
    cr_assert_eq(sxt_sink_write_text(s, "notes",
                                     "{\"code\":\"4\",\"o\":{\"_sdc_extracted_at\":1}}"),
                 SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK);
    char *text = file_text("notes.jsonl");
    cr_assert_str_eq(text,
                     "{\"code\":\"1\",\"n\":1.50,\"_sdc_extracted_at\":\"2024-05-01T10:00:00.000Z\"}\n"
                     "{\"_sdc_extracted_at\":\"2024-05-01T10:00:00.000Z\"}\n"
                     "{\"code\":\"3\",\"x\":1,\"_sdc_extracted_at\":\"2024-05-01T10:00:00.000Z\"}\n"
                     "{\"code\":\"4\",\"o\":{\"_sdc_extracted_at\":1},"
                     "\"_sdc_extracted_at\":\"2024-05-01T10:00:00.000Z\"}\n");
    free(text);
    sxt_sink_free(s);
    free(config);
}

Test(sink_text, csv_asks_for_trees_but_copes_with_text)
{
    char *config = sxt_strf("{\"path\":\"%s\",\"format\":\"csv\"}", dir);
    sxt_sink *s = open_sink("file", config);
    cr_assert_eq(sxt_sink_instance_caps(s) & SIPHON_CAP_RAW_RECORDS, 0,
                 "CSV must not be handed text by the host");
    cr_assert_eq(sxt_sink_begin(s, "notes", NOTES_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    cr_assert_eq(sxt_sink_write_text(s, "notes", "{\"code\":\"1\",\"note\":\"a,b\",\"z\":true}"),
                 SIPHON_OK);
    cr_assert_eq(sxt_sink_write(s, "notes", "{\"code\":\"2\",\"n\":2}"), SIPHON_OK);
    cr_assert_eq(sxt_sink_write_text(s, "notes", "[1]"), SIPHON_E_INVALID);
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK);
    char *text = file_text("notes.csv");
    cr_assert_str_eq(text, "code,n,note,_sdc_extracted_at,_sdc_extra\r\n"
                           "1,,\"a,b\",2024-05-01T10:00:00.000Z,\"{\"\"z\"\":true}\"\r\n"
                           "2,2,,2024-05-01T10:00:00.000Z,\r\n");
    free(text);
    sxt_sink_free(s);
    free(config);
}

Test(sink_text, stdout_copies_the_text_into_its_record_line)
{
    /* the stdout sink writes to descriptor 1: point it at a file meanwhile */
    char *path = sxt_strf("%s/out.jsonl", dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    dup2(fileno(f), STDOUT_FILENO);
    sxt_sink *s = open_sink("stdout", NULL);
    cr_assert(sxt_sink_instance_caps(s) & SIPHON_CAP_RAW_RECORDS);
    int rc = sxt_sink_begin(s, "notes", NOTES_SCHEMA, "code", SIPHON_SYNC_FULL_TABLE, 1714557600000);
    int rc2 = sxt_sink_write_text(s, "notes", "{\"code\":\"1\",\"n\":1.50}");
    int rc3 = sxt_sink_write(s, "notes", "{\"code\":\"2\",\"note\":\"S\\u00e3o\"}");
    int rc4 = sxt_sink_commit(s, "{\"bookmarks\":{}}");
    sxt_sink_free(s);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fclose(f);
    cr_assert_eq(rc, SIPHON_OK);
    cr_assert_eq(rc2, SIPHON_OK);
    cr_assert_eq(rc3, SIPHON_OK);
    cr_assert_eq(rc4, SIPHON_OK);
    char *text = sxt_read_file(path, NULL);
    cr_assert_not_null(strstr(text,
        "{\"type\":\"RECORD\",\"stream\":\"notes\",\"record\":{\"code\":\"1\",\"n\":1.50},"
        "\"version\":1714557600000,\"time_extracted\":\"2024-05-01T10:00:00.000Z\"}\n"
        "{\"type\":\"RECORD\",\"stream\":\"notes\",\"record\":{\"code\":\"2\",\"note\":\"S\xc3\xa3o\"},"
        "\"version\":1714557600000,\"time_extracted\":\"2024-05-01T10:00:00.000Z\"}\n"
        "{\"type\":\"STATE\",\"value\":{\"bookmarks\":{}}}\n"), "%s", text);
    free(text);
    free(path);
}
