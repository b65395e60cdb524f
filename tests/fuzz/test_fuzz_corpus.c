/*
 * The checked-in fuzz corpus, replayed by every build: each harness's
 * replay-NAME runs every file of tests/fuzz/corpus/NAME through the same
 * code the fuzzer drives, so an input that once crashed, leaked or broke an
 * invariant keeps being tried (under AddressSanitizer in the sanitizer
 * suite).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proc.h"
#include "test-paths.h"
#include "test_fuzz_corpus.h"

static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no corpus folder %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

void sxt_fuzz_replay_corpus(const char *harness)
{
    char *exe = sxt_strf("%s/tests/fuzz/replay-%s", SX_TEST_BUILD_ROOT, harness);
    char *corpus = sxt_strf("%s/tests/fuzz/corpus/%s", SX_TEST_SOURCE_ROOT, harness);
    size_t files = count_files(corpus);
    cr_assert_gt(files, 0, "the %s corpus is empty", harness);

    const char *argv[] = {exe, corpus, NULL};
    sxt_result r = sxt_run(argv, NULL, NULL, 600);
    cr_assert(r.exited && r.status == 0,
              "replay-%s failed (exit %d, signal %d); the last input named on stderr is the "
              "one that broke it:\n%s",
              harness, r.exited ? r.status : -1, r.signal,
              r.err_len > 4000 ? r.err + r.err_len - 4000 : r.err);
    char *want = sxt_strf("replayed %zu inputs\n", files);
    cr_assert_str_eq(r.out, want);
    free(want);
    sxt_result_free(&r);
    free(corpus);
    free(exe);
}

Test(fuzz_corpus, config_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("config"); }
Test(fuzz_corpus, catalog_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("catalog"); }
Test(fuzz_corpus, state_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("state"); }
Test(fuzz_corpus, json_file_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("json_file"); }
Test(fuzz_corpus, plugin_descriptor_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("plugin_desc"); }
Test(fuzz_corpus, stream_map_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("stream_map"); }
