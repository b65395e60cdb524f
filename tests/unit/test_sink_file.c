/*
 * The file sink through its real module: JSONL and CSV files, gzip members,
 * the manifest as the commit point, crash recovery, FULL_TABLE swaps, and
 * stream names that must never leave the output folder.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "proc.h"
#include "sink_host.h"

#define CONTACTS_SCHEMA                                                                        \
    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},"                     \
    "\"name\":{\"type\":[\"null\",\"string\"]},\"custom_fields\":{\"type\":\"object\"}}}"

static sxt_sink *open_file_sink(const char *dir, const char *more)
{
    char *config = sxt_strf("{\"path\":\"%s\"%s%s}", dir, more ? "," : "", more ? more : "");
    sxt_sink *s = sxt_sink_load("file", config);
    free(config);
    cr_assert_not_null(s, "the file sink module loads");
    cr_assert_eq(sxt_sink_open(s), SIPHON_OK, "open: %s", sxt_sink_error(s));
    return s;
}

static char *read_in(const char *dir, const char *name, size_t *len)
{
    char *path = sxt_strf("%s/%s", dir, name);
    char *text = sxt_read_file(path, len);
    free(path);
    return text;
}

static off_t size_of(const char *dir, const char *name)
{
    char *path = sxt_strf("%s/%s", dir, name);
    struct stat st;
    off_t size = stat(path, &st) == 0 ? st.st_size : -1;
    free(path);
    return size;
}

static json_t *manifest_of(const char *dir)
{
    char *text = read_in(dir, ".siphon-manifest.json", NULL);
    cr_assert_not_null(text, "a manifest exists in %s", dir);
    json_t *m = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(m, "the manifest is JSON");
    return m;
}

static size_t count_entries(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (len >= slen && strcmp(e->d_name + len - slen, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void write_contacts(sxt_sink *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        char *rec = sxt_strf("{\"code\":\"%d\",\"name\":\"contact %d\"}", i, i);
        cr_assert_eq(sxt_sink_write(s, "contacts", rec), SIPHON_OK);
        free(rec);
    }
}

Test(sink_file, jsonl_rows_carry_extracted_at_and_commit_records_their_length)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    cr_assert(sxt_sink_caps(s) & SIPHON_CAP_TRANSACTIONAL);
    cr_assert(sxt_sink_caps(s) & SIPHON_CAP_STATE_IN_SINK);
    cr_assert(sxt_sink_caps(s) & SIPHON_CAP_ATOMIC_REPLACE);
    cr_assert_eq(sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    cr_assert_eq(sxt_sink_write(s, "contacts", "{\"code\":\"1\",\"name\":\"Ana\"}"), SIPHON_OK);
    cr_assert_eq(sxt_sink_write(s, "contacts", "{}"), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{\"bookmarks\":{}}"), SIPHON_OK);
    sxt_sink_free(s);

    size_t len = 0;
    char *text = read_in(dir, "contacts.jsonl", &len);
    cr_assert_str_eq(text, "{\"code\":\"1\",\"name\":\"Ana\",\"_sdc_extracted_at\":"
                           "\"2024-05-01T10:00:00.000Z\"}\n"
                           "{\"_sdc_extracted_at\":\"2024-05-01T10:00:00.000Z\"}\n");
    json_t *m = manifest_of(dir);
    json_t *entry = json_object_get(json_object_get(m, "files"), "contacts.jsonl");
    cr_assert_eq(json_integer_value(json_object_get(entry, "committed_bytes")), (json_int_t)len);
    cr_assert_str_eq(json_string_value(json_object_get(entry, "stream")), "contacts");
    json_decref(m);
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, state_round_trips_through_the_manifest)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    json_t *state = NULL;
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    cr_assert_null(state, "a new folder has no state");
    const char *committed = "{\"bookmarks\":{\"contacts\":{\"replication_key\":\"insert_date\","
                            "\"replication_key_value\":\"2024-05-01 10:00:00\"}}}";
    cr_assert_eq(sxt_sink_commit(s, committed), SIPHON_OK);
    sxt_sink_free(s);

    s = open_file_sink(dir, NULL);
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK, "a commit without state keeps the state");
    sxt_sink_free(s);
    s = open_file_sink(dir, NULL);
    cr_assert_eq(sxt_sink_load_state(s, &state), SIPHON_OK);
    json_t *expected = json_loads(committed, 0, NULL);
    cr_assert(json_equal(state, expected), "the state read back is the state committed");
    json_decref(expected);
    json_decref(state);
    sxt_sink_free(s);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, incremental_appends_across_runs)
{
    char *dir = sxt_tmpdir("file");
    for (int run = 0; run < 3; run++) {
        sxt_sink *s = open_file_sink(dir, NULL);
        sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
        write_contacts(s, run * 2, run * 2 + 2);
        cr_assert_eq(sxt_sink_end(s, "contacts", SIPHON_END_COMPLETE), SIPHON_OK);
        cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
        sxt_sink_free(s);
    }
    char *text = read_in(dir, "contacts.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 6);
    cr_assert_eq(sxt_count(text, "\"code\":\"5\""), 1);
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

/* The child writes and commits 3 records, then writes far more than the
 * sink buffers (so the uncommitted tail reaches the disk) and dies without a
 * commit: the crash the manifest must undo. */
static void crash_after_commit(const char *dir, const char *more)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        sxt_sink *s = open_file_sink(dir, more);
        sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
        write_contacts(s, 0, 3);
        if (sxt_sink_commit(s, "{\"n\":3}") != SIPHON_OK)
            _exit(1);
        for (int i = 3; i < 20000; i++) {
            /* Varied text, so even gzip output grows past zlib's buffers. */
            char *rec = sxt_strf("{\"code\":\"%d\",\"name\":\"%x-%x\"}", i, rand(), rand());
            sxt_sink_write(s, "contacts", rec);
            free(rec);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child committed");
}

Test(sink_file, crash_after_commit_keeps_exactly_the_committed_rows_and_state)
{
    char *dir = sxt_tmpdir("file");
    crash_after_commit(dir, NULL);
    json_t *m = manifest_of(dir);
    json_int_t committed = json_integer_value(json_object_get(
        json_object_get(json_object_get(m, "files"), "contacts.jsonl"), "committed_bytes"));
    json_decref(m);
    cr_assert_gt(size_of(dir, "contacts.jsonl"), committed,
                 "the crash left an uncommitted tail on disk");

    sxt_sink *s = open_file_sink(dir, NULL);
    json_t *state = NULL;
    sxt_sink_load_state(s, &state);
    cr_assert_eq(json_integer_value(json_object_get(state, "n")), 3);
    json_decref(state);
    cr_assert_eq(size_of(dir, "contacts.jsonl"), committed, "open cut the tail off");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_contacts(s, 3, 4);
    cr_assert_eq(sxt_sink_commit(s, "{\"n\":4}"), SIPHON_OK);
    sxt_sink_free(s);

    char *text = read_in(dir, "contacts.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 4, "3 committed rows and the new one:\n%s", text);
    for (int i = 0; i < 4; i++) {
        char *needle = sxt_strf("\"code\":\"%d\"", i);
        cr_assert_eq(sxt_count(text, needle), 1, "row %d exactly once", i);
        free(needle);
    }
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, gzip_output_is_readable_by_gzip_and_cut_back_after_a_crash)
{
    char *dir = sxt_tmpdir("file");
    crash_after_commit(dir, "\"gzip\":true");
    sxt_sink *s = open_file_sink(dir, "\"gzip\":true");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    write_contacts(s, 3, 5);
    cr_assert_eq(sxt_sink_commit(s, "{\"n\":5}"), SIPHON_OK);
    sxt_sink_free(s);

    char *path = sxt_strf("%s/contacts.jsonl.gz", dir);
    const char *argv[] = {"gzip", "-dc", path, NULL};
    sxt_result r = sxt_run(argv, NULL, NULL, 30);
    cr_assert(r.exited && r.status == 0, "gzip -dc reads the file: %s", r.err);
    cr_assert_eq(sxt_count(r.out, "\n"), 5, "two members, five rows:\n%s", r.out);
    cr_assert_eq(sxt_count(r.out, "\"code\":\"4\""), 1);
    cr_assert_eq(sxt_count(r.out, "\"code\":\"5\""), 0);
    sxt_result_free(&r);
    free(path);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, csv_quotes_fields_per_rfc4180)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, "\"format\":\"csv\"");
    const char *schema = "{\"properties\":{\"code\":{\"type\":\"string\"},\"text\":{},"
                         "\"n\":{\"type\":\"number\"},\"ok\":{\"type\":\"boolean\"},"
                         "\"obj\":{\"type\":\"object\"}}}";
    cr_assert_eq(sxt_sink_begin(s, "notes", schema, "code", SIPHON_SYNC_INCREMENTAL, 0),
                 SIPHON_OK);
    sxt_sink_write(s, "notes", "{\"code\":\"a,b\",\"text\":\"say \\\"hi\\\"\",\"n\":1.5,"
                               "\"ok\":true,\"obj\":{\"k\":[1,\"x\"]}}");
    sxt_sink_write(s, "notes", "{\"code\":\"line\\r\\nbreak\",\"text\":\"\",\"n\":null}");
    sxt_sink_write(s, "notes", "{\"code\":\"plain\",\"text\":\"lf\\nonly\",\"ok\":false}");
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK);
    sxt_sink_free(s);

    char *text = read_in(dir, "notes.csv", NULL);
    cr_assert_str_eq(text,
                     "code,text,n,ok,obj,_sdc_extracted_at,_sdc_extra\r\n"
                     "\"a,b\",\"say \"\"hi\"\"\",1.5,true,\"{\"\"k\"\":[1,\"\"x\"\"]}\","
                     "2024-05-01T10:00:00.000Z,\r\n"
                     "\"line\r\nbreak\",\"\",,,,2024-05-01T10:00:00.000Z,\r\n"
                     "plain,\"lf\nonly\",,false,,2024-05-01T10:00:00.000Z,\r\n");
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, csv_keeps_keys_the_header_lacks_in_sdc_extra)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, "\"format\":\"csv\"");
    sxt_sink_begin(s, "contacts", CONTACTS_SCHEMA, "code", SIPHON_SYNC_INCREMENTAL, 0);
    sxt_sink_write(s, "contacts", "{\"code\":\"1\",\"status\":\"V\",\"total_clicks\":3}");
    sxt_sink_commit(s, NULL);
    sxt_sink_free(s);

    /* A later run with a wider schema appends under the file's own header. */
    s = open_file_sink(dir, "\"format\":\"csv\"");
    sxt_sink_begin(s, "contacts",
                   "{\"properties\":{\"code\":{},\"name\":{},\"custom_fields\":{},\"email\":{}}}",
                   "code", SIPHON_SYNC_INCREMENTAL, 0);
    sxt_sink_write(s, "contacts", "{\"code\":\"2\",\"email\":\"a@b.c\"}");
    sxt_sink_commit(s, NULL);
    sxt_sink_free(s);

    char *text = read_in(dir, "contacts.csv", NULL);
    cr_assert_str_eq(text, "code,name,custom_fields,_sdc_extracted_at,_sdc_extra\r\n"
                           "1,,,2024-05-01T10:00:00.000Z,\"{\"\"status\"\":\"\"V\"\","
                           "\"\"total_clicks\"\":3}\"\r\n"
                           "2,,,2024-05-01T10:00:00.000Z,\"{\"\"email\"\":\"\"a@b.c\"\"}\"\r\n");
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

static void full_table_load(sxt_sink *s, int64_t version, const char *const *codes)
{
    cr_assert_eq(sxt_sink_begin(s, "teams", "{\"properties\":{\"code\":{\"type\":\"string\"}}}",
                                "code", SIPHON_SYNC_FULL_TABLE, version),
                 SIPHON_OK);
    for (; *codes; codes++) {
        char *rec = sxt_strf("{\"code\":\"%s\"}", *codes);
        cr_assert_eq(sxt_sink_write(s, "teams", rec), SIPHON_OK);
        free(rec);
    }
}

Test(sink_file, full_table_replaces_the_file_once_the_commit_after_complete_lands)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    full_table_load(s, 1, (const char *const[]){"a", "b", "c", NULL});
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_COMPLETE), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    char *text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 3);
    free(text);

    full_table_load(s, 2, (const char *const[]){"a", "c", NULL});
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK, "a checkpoint in the middle of the load");
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_COMPLETE), SIPHON_OK);
    text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 3, "nothing changes before the commit");
    free(text);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);

    text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 2, "the deleted row is gone:\n%s", text);
    cr_assert_eq(sxt_count(text, "\"code\":\"b\""), 0);
    free(text);
    cr_assert_eq(count_entries(dir, ".tmp-1") + count_entries(dir, ".tmp-2"), 0,
                 "no temporary file is left");
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, full_table_failed_keeps_the_old_file)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    full_table_load(s, 1, (const char *const[]){"a", "b", NULL});
    sxt_sink_end(s, "teams", SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    full_table_load(s, 2, (const char *const[]){"z", NULL});
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    cr_assert_eq(sxt_sink_end(s, "teams", SIPHON_END_FAILED), SIPHON_OK);
    cr_assert_eq(sxt_sink_commit(s, "{}"), SIPHON_OK);
    sxt_sink_free(s);

    char *text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 2);
    cr_assert_eq(sxt_count(text, "\"code\":\"z\""), 0);
    free(text);
    cr_assert_eq(count_entries(dir, ".tmp-2"), 0, "the failed load's file is deleted");
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, crash_between_end_and_commit_keeps_the_old_file)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    full_table_load(s, 1, (const char *const[]){"a", "b", NULL});
    sxt_sink_end(s, "teams", SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{\"v\":1}");
    sxt_sink_free(s);

    pid_t pid = fork();
    if (pid == 0) {
        sxt_sink *c = open_file_sink(dir, NULL);
        full_table_load(c, 2, (const char *const[]){"x", NULL});
        sxt_sink_end(c, "teams", SIPHON_END_COMPLETE);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert_eq(count_entries(dir, ".tmp-2"), 1, "the crash left the new load behind");

    s = open_file_sink(dir, NULL);
    json_t *state = NULL;
    sxt_sink_load_state(s, &state);
    cr_assert_eq(json_integer_value(json_object_get(state, "v")), 1);
    json_decref(state);
    sxt_sink_free(s);
    char *text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 2);
    cr_assert_eq(sxt_count(text, "\"code\":\"x\""), 0);
    free(text);
    cr_assert_eq(count_entries(dir, ".tmp-2"), 0, "open removed the uncommitted load");
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, a_rename_the_last_commit_owed_is_finished_at_open)
{
    /* The folder as a crash leaves it between the manifest's rename and the
     * FULL_TABLE file's rename: the manifest counts the new file. */
    char *dir = sxt_tmpdir("file");
    const char *fresh = "{\"code\":\"new1\"}\n{\"code\":\"new2\"}\n";
    char *p = sxt_strf("%s/teams.jsonl", dir);
    sxt_write_file(p, "{\"code\":\"old\"}\n");
    free(p);
    p = sxt_strf("%s/teams.jsonl.tmp-7", dir);
    sxt_write_file(p, fresh);
    free(p);
    p = sxt_strf("%s/.siphon-manifest.json", dir);
    char *manifest = sxt_strf("{\"siphon_manifest\":1,\"files\":{\"teams.jsonl\":{\"stream\":"
                              "\"teams\",\"committed_bytes\":%zu}},\"replace\":{\"teams.jsonl\":"
                              "\"teams.jsonl.tmp-7\"},\"state\":{\"v\":7}}",
                              strlen(fresh));
    sxt_write_file(p, manifest);
    free(manifest);
    free(p);

    sxt_sink *s = open_file_sink(dir, NULL);
    sxt_sink_free(s);
    char *text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_str_eq(text, fresh);
    free(text);
    cr_assert_eq(count_entries(dir, ".tmp-7"), 0);
    json_t *m = manifest_of(dir);
    cr_assert_eq(json_object_size(json_object_get(m, "replace")), 0, "nothing is owed any more");
    json_decref(m);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, full_table_resumes_its_load_of_the_same_version)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    full_table_load(s, 9, (const char *const[]){"a", "b", NULL});
    sxt_sink_commit(s, "{\"resume\":true}");
    sxt_sink_free(s);

    s = open_file_sink(dir, NULL);
    full_table_load(s, 9, (const char *const[]){"c", NULL});
    sxt_sink_end(s, "teams", SIPHON_END_COMPLETE);
    sxt_sink_commit(s, "{}");
    sxt_sink_free(s);
    char *text = read_in(dir, "teams.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 3, "the rows committed before the restart stay:\n%s",
                 text);
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, hostile_stream_names_stay_in_the_folder)
{
    char *root = sxt_tmpdir("file");
    char *dir = sxt_strf("%s/out", root);
    sxt_sink *s = open_file_sink(dir, NULL);
    const char *names[] = {"../escape", "/etc/passwd", "a/b", "..", ".", ".hidden",
                           "ctl\001\n", "per%2Fcent", "ção", "x.jsonl.tmp-1", "a b;c'\"", NULL};
    size_t n = 0;
    for (; names[n]; n++) {
        cr_assert_eq(sxt_sink_begin(s, names[n], NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0),
                     SIPHON_OK, "stream %zu", n);
        cr_assert_eq(sxt_sink_write(s, names[n], "{\"k\":1}"), SIPHON_OK);
    }
    cr_assert_neq(sxt_sink_begin(s, "", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0), SIPHON_OK,
                  "an empty stream name is refused");
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK);
    sxt_sink_free(s);

    cr_assert_eq(count_entries(root, ""), 1, "nothing but out/ was created beside it");
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t files = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, ".siphon-manifest.json") == 0)
            continue;
        files++;
        cr_assert_neq(e->d_name[0], '.', "no hidden file: %s", e->d_name);
        for (const char *c = e->d_name; *c; c++)
            cr_assert((unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f,
                      "plain printable names only: %s", e->d_name);
        char *path = sxt_strf("%s/%s", dir, e->d_name);
        struct stat st;
        cr_assert_eq(lstat(path, &st), 0);
        cr_assert(S_ISREG(st.st_mode));
        free(path);
    }
    closedir(d);
    cr_assert_eq(files, n, "one file per stream, none shared");
    cr_assert_eq(access("/etc/passwd.jsonl", F_OK), -1);
    sxt_rmtree(root);
    free(root);
    free(dir);
}

Test(sink_file, a_symbolic_link_under_a_stream_file_name_is_not_followed)
{
    char *root = sxt_tmpdir("file");
    char *dir = sxt_strf("%s/out", root);
    char *victim = sxt_strf("%s/victim.txt", root);
    char *link = sxt_strf("%s/contacts.jsonl", dir);
    sxt_write_file(victim, "precious\n");
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(symlink(victim, link), 0);
    sxt_sink *s = open_file_sink(dir, NULL);
    cr_assert_neq(sxt_sink_begin(s, "contacts", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0), SIPHON_OK);
    sxt_sink_free(s);
    char *text = sxt_read_file(victim, NULL);
    cr_assert_str_eq(text, "precious\n");
    free(text);
    free(victim);
    free(link);
    free(dir);
    sxt_rmtree(root);
    free(root);
}

Test(sink_file, a_manifest_that_is_not_json_is_a_clear_error_and_nothing_is_touched)
{
    char *dir = sxt_tmpdir("file");
    char *p = sxt_strf("%s/.siphon-manifest.json", dir);
    sxt_write_file(p, "{\"files\": {\n  \"contacts.jsonl\": oops\n}}\n");
    free(p);
    p = sxt_strf("%s/contacts.jsonl", dir);
    sxt_write_file(p, "{\"code\":\"1\"}\n");
    free(p);
    char *config = sxt_strf("{\"path\":\"%s\"}", dir);
    sxt_sink *s = sxt_sink_load("file", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_INVALID);
    cr_assert(strstr(sxt_sink_error(s), ".siphon-manifest.json' line 2") != NULL, "error: %s",
              sxt_sink_error(s));
    sxt_sink_free(s);
    cr_assert_eq(size_of(dir, "contacts.jsonl"), 13);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, a_file_shorter_than_its_committed_length_is_refused)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *s = open_file_sink(dir, NULL);
    sxt_sink_begin(s, "contacts", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    write_contacts(s, 0, 5);
    sxt_sink_commit(s, NULL);
    sxt_sink_free(s);
    char *p = sxt_strf("%s/contacts.jsonl", dir);
    cr_assert_eq(truncate(p, 10), 0);
    free(p);
    char *config = sxt_strf("{\"path\":\"%s\"}", dir);
    s = sxt_sink_load("file", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_IO);
    cr_assert(strstr(sxt_sink_error(s), "contacts.jsonl' is shorter (10 bytes)") != NULL,
              "error: %s", sxt_sink_error(s));
    sxt_sink_free(s);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, a_file_present_before_the_first_run_is_kept_and_appended_to)
{
    char *dir = sxt_tmpdir("file");
    char *p = sxt_strf("%s/contacts.jsonl", dir);
    sxt_write_file(p, "{\"code\":\"from before\"}\n");
    free(p);
    sxt_sink *s = open_file_sink(dir, NULL);
    sxt_sink_begin(s, "contacts", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    write_contacts(s, 0, 1);
    sxt_sink_commit(s, NULL);
    sxt_sink_free(s);
    char *text = read_in(dir, "contacts.jsonl", NULL);
    cr_assert_eq(sxt_count(text, "\n"), 2);
    cr_assert_eq(sxt_count(text, "from before"), 1);
    free(text);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, one_folder_has_one_writer_at_a_time)
{
    char *dir = sxt_tmpdir("file");
    sxt_sink *first = open_file_sink(dir, NULL);
    char *config = sxt_strf("{\"path\":\"%s\"}", dir);
    sxt_sink *second = sxt_sink_load("file", config);
    free(config);
    cr_assert_eq(sxt_sink_open(second), SIPHON_E_IO);
    cr_assert(strstr(sxt_sink_error(second), "in use by another siphon run") != NULL, "error: %s",
              sxt_sink_error(second));
    sxt_sink_free(second);
    sxt_sink_free(first);
    sxt_rmtree(dir);
    free(dir);
}

Test(sink_file, bad_options_and_protocol_misuse_are_refused_with_a_reason)
{
    char *dir = sxt_tmpdir("file");
    char *config = sxt_strf("{\"path\":\"%s\",\"format\":\"xml\"}", dir);
    sxt_sink *s = sxt_sink_load("file", config);
    free(config);
    cr_assert_eq(sxt_sink_open(s), SIPHON_E_CONFIG);
    cr_assert(strstr(sxt_sink_error(s), "format") && strstr(sxt_sink_error(s), "xml"), "error: %s",
              sxt_sink_error(s));
    sxt_sink_free(s);

    cr_assert_null(sxt_sink_load("file", "{\"paht\":\"x\"}"), "an unknown option is refused");

    s = open_file_sink(dir, NULL);
    cr_assert_eq(sxt_sink_write(s, "never_begun", "{}"), SIPHON_E_INVALID);
    sxt_sink_begin(s, "contacts", NULL, NULL, SIPHON_SYNC_INCREMENTAL, 0);
    cr_assert_eq(sxt_sink_write(s, "contacts", "[1,2]"), SIPHON_E_INVALID);
    cr_assert_eq(sxt_sink_commit(s, NULL), SIPHON_OK);
    sxt_sink_free(s);
    sxt_rmtree(dir);
    free(dir);
}
