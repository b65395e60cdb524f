#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "json_file.h"
#include "proc.h"

#define expect_contains(text, needle)                                                      \
    cr_assert(strstr((text), (needle)) != NULL, "expected [%s] in [%s]", (needle), (text))

static char *dir;

static void setup(void)
{
    dir = sxt_tmpdir("json-file");
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    sxt_rmtree(dir);
    free(dir);
}

TestSuite(json_file, .init = setup, .fini = teardown);

static char *file_with(const char *name, const char *text)
{
    char *path = sxt_strf("%s/%s", dir, name);
    cr_assert_eq(sxt_write_file(path, text), 0);
    return path;
}

/* Entries of dir other than "." and "..", to see stray temporary files. */
static int entries_in(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

Test(json_file, syntax_error_names_file_line_column_and_what_was_expected)
{
    char *path = file_with("c.json", "{\"a\": 1,\n  \"b\" 2}\n");
    sx_error err = {0};
    json_t *v = sx_json_load_file(path, "config", 1, &err);
    cr_assert_null(v);
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    char *want = sxt_strf("config file '%s', line 2, column 7: expected ':' near '2'", path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    free(path);
}

Test(json_file, missing_file_names_the_file_and_the_system_error)
{
    char *path = sxt_strf("%s/nope.json", dir);
    sx_error err = {0};
    cr_assert_null(sx_json_load_file(path, "catalog", 1, &err));
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
    char *want = sxt_strf("catalog file '%s': No such file or directory", path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    free(path);
}

Test(json_file, top_level_must_be_an_object_when_asked)
{
    char *path = file_with("a.json", "[1, 2]");
    sx_error err = {0};
    cr_assert_null(sx_json_load_file(path, "state", 1, &err));
    expect_contains(err.msg, "': expected a JSON object at the top level, found an array");
    sx_error_clear(&err);
    json_t *v = sx_json_load_file(path, "state", 0, &err);
    cr_assert(json_is_array(v));
    json_decref(v);
    free(path);
}

Test(json_file, empty_file_is_an_error_that_says_so)
{
    char *path = file_with("e.json", " \n");
    sx_error err = {0};
    cr_assert_null(sx_json_load_file(path, "config", 1, &err));
    expect_contains(err.msg, "': the file is empty (expected a JSON object)");
    free(path);
}

Test(json_file, directory_is_refused_by_name)
{
    sx_error err = {0};
    cr_assert_null(sx_json_load_file(dir, "config", 1, &err));
    expect_contains(err.msg, "': is a directory, expected a JSON file");
    cr_assert_eq(err.exit_code, SX_EXIT_CONFIG);
}

Test(json_file, duplicate_keys_are_refused_with_their_place)
{
    char *path = file_with("d.json", "{\"user\": \"a\",\n \"user\": \"b\"}");
    sx_error err = {0};
    cr_assert_null(sx_json_load_file(path, "config", 1, &err));
    expect_contains(err.msg, ", line 2, column 7: duplicate object key near '\"user\"'");
    free(path);
}

Test(json_file, unicode_escapes_are_decoded)
{
    char *path = file_with("u.json", "{\"name\": \"Jos\\u00e9 \\\"Zé\\\"\"}");
    sx_error err = {0};
    json_t *v = sx_json_load_file(path, "config", 1, &err);
    cr_assert_not_null(v, "%s", err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(v, "name")), "José \"Zé\"");
    json_decref(v);
    free(path);
}

Test(json_file, files_with_secrets_do_not_quote_the_value_where_parsing_stopped)
{
    char *path = file_with("s.json", "{\"password\": hunter2secret}");
    sx_error err = {0};
    cr_assert_null(sx_json_load_secret_file(path, "config", 1, &err));
    expect_contains(err.msg, ", line 1, column 19: invalid token");
    cr_assert_null(strstr(err.msg, "hunter"), "%s", err.msg);

    /* Punctuation is still quoted: it cannot be a secret and it helps. */
    char *other = file_with("p.json", "{\"password\": \"x\" \"user\": 1}");
    sx_error_clear(&err);
    cr_assert_null(sx_json_load_secret_file(other, "config", 1, &err));
    cr_assert_null(strstr(err.msg, "near"), "%s", err.msg);
    expect_contains(err.msg, "expected '}'");

    /* Ordinary files keep the excerpt. */
    sx_error_clear(&err);
    cr_assert_null(sx_json_load_file(path, "catalog", 1, &err));
    expect_contains(err.msg, "invalid token near 'hunter'");
    free(path);
    free(other);
}

Test(json_file, strings_in_memory_are_named_by_their_origin)
{
    sx_error err = {0};
    const char *text = "{\"a\": }";
    cr_assert_null(sx_json_load_string(text, strlen(text), "state", "from sink 'pg'", 1, &err));
    cr_assert_str_eq(err.msg, "state from sink 'pg', line 1, column 7: unexpected token near '}'");
}

Test(json_file, atomic_write_creates_and_replaces_the_file_keeping_its_mode)
{
    char *path = sxt_strf("%s/state.json", dir);
    sx_error err = {0};
    cr_assert_eq(sx_write_file_atomic(path, "first\n", 6, &err), 0, "%s", err.msg);
    char *got = sxt_read_file(path, NULL);
    cr_assert_str_eq(got, "first\n");
    free(got);

    cr_assert_eq(chmod(path, 0640), 0);
    cr_assert_eq(sx_write_file_atomic(path, "second", 6, &err), 0, "%s", err.msg);
    got = sxt_read_file(path, NULL);
    cr_assert_str_eq(got, "second");
    free(got);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0640);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    free(path);
}

Test(json_file, atomic_write_into_a_missing_directory_fails_naming_the_path)
{
    char *path = sxt_strf("%s/no/such/dir/state.json", dir);
    sx_error err = {0};
    cr_assert_eq(sx_write_file_atomic(path, "x", 1, &err), -1);
    cr_assert_eq(err.exit_code, SX_EXIT_FAILURE);
    char *want = sxt_strf("cannot write '%s': creating a temporary file in '%s/no/such/dir': No "
                          "such file or directory", path, dir);
    cr_assert_str_eq(err.msg, want);
    free(want);
    free(path);
}

Test(json_file, failed_write_leaves_the_old_file_intact_and_no_temporary_file)
{
    char *path = file_with("state.json", "{\"bookmarks\": {\"old\": {}}}\n");
    /* A real write failure: the file-size limit makes the kernel refuse the
     * write part-way (EFBIG), as a full disk would (ENOSPC). In a child, so
     * the limit stays there. */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {16, 16};
        setrlimit(RLIMIT_FSIZE, &lim);
        char big[4096];
        memset(big, 'x', sizeof big);
        sx_error err = {0};
        int rc = sx_write_file_atomic(path, big, sizeof big, &err);
        int ok = rc == -1 && err.exit_code == SX_EXIT_FAILURE &&
                 strstr(err.msg, ": write: File too large") != NULL &&
                 strstr(err.msg, path) != NULL;
        free(path); /* this copy of it ends here */
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the write did not fail as expected");
    char *got = sxt_read_file(path, NULL);
    cr_assert_str_eq(got, "{\"bookmarks\": {\"old\": {}}}\n");
    free(got);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    free(path);
}

Test(json_file, failed_rename_leaves_the_target_alone_and_no_temporary_file)
{
    /* The target is a directory: rename(2) refuses to replace it. */
    char *path = sxt_strf("%s/taken", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    char *inside = sxt_strf("%s/keep", path);
    cr_assert_eq(sxt_write_file(inside, "kept"), 0);
    sx_error err = {0};
    cr_assert_eq(sx_write_file_atomic(path, "x", 1, &err), -1);
    expect_contains(err.msg, ": rename: Is a directory");
    char *got = sxt_read_file(inside, NULL);
    cr_assert_str_eq(got, "kept");
    free(got);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    free(inside);
    free(path);
}
