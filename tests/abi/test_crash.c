/*
 * A plugin that crashes is reported by name: the fatal-signal handler prints
 * which plugin, file, callback and component were running and exits with
 * SX_EXIT_PLUGIN; a crash in the host's own code is an internal error (70).
 * Every crash happens in crash_host, a process of its own, so the test runner
 * survives it and sees exactly what a user would.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "abi_support.h"
#include "crash.h"
#include "proc.h"
#include "test-paths.h"

static sxt_result crash_host(const char *what, const char *dir, const char *stream)
{
    char *host = sxt_strf("%s/crash_host", SX_TEST_ABI_FIXTURES);
    const char *argv[] = {host, what, dir, stream, NULL};
    sxt_result r = sxt_run(argv, NULL, NULL, 60);
    free(host);
    return r;
}

Test(crash, a_plugin_crashing_in_its_entry_is_named_by_its_file)
{
    const char *names[] = {"good_sink", "segv_in_entry", NULL};
    char *dir = sxt_abi_stage(names);
    sxt_result r = crash_host("load", dir, NULL);
    cr_assert(r.exited, "crash_host died of signal %d instead of reporting", r.signal);
    cr_expect_eq(r.status, SX_EXIT_PLUGIN);
    char *line = sxt_strf("siphon: plugin %s/segv_in_entry.so crashed with SIGSEGV in "
                          "siphon_plugin_entry\n",
                          dir);
    cr_expect(strstr(r.err, line) != NULL, "stderr was: %s", r.err);
    free(line);
    sxt_result_free(&r);
    sxt_rmtree(dir);
    free(dir);
}

Test(crash, loading_without_a_crash_exits_normally)
{
    const char *names[] = {"good_sink", "segv_in_read", NULL};
    char *dir = sxt_abi_stage(names);
    sxt_result r = crash_host("load", dir, NULL);
    cr_expect(r.exited && r.status == 0, "status %d signal %d: %s", r.status, r.signal, r.err);
    cr_expect(strstr(r.err, "crashed") == NULL, "%s", r.err);
    sxt_result_free(&r);
    sxt_rmtree(dir);
    free(dir);
}

Test(crash, a_plugin_crashing_in_a_callback_is_named_with_the_callback_and_component)
{
    const char *names[] = {"segv_in_read", NULL};
    char *dir = sxt_abi_stage(names);
    sxt_result r = crash_host("read", dir, "crashing_items");
    cr_assert(r.exited, "crash_host died of signal %d instead of reporting", r.signal);
    cr_expect_eq(r.status, SX_EXIT_PLUGIN);
    char *line = sxt_strf("siphon: plugin 'abi-crash-read' (%s/segv_in_read.so) crashed with "
                          "SIGSEGV in read of crashing_items\n",
                          dir);
    cr_expect(strstr(r.err, line) != NULL, "stderr was: %s", r.err);
    free(line);
    sxt_result_free(&r);
    sxt_rmtree(dir);
    free(dir);
}

Test(crash, a_crash_outside_plugin_code_is_an_internal_error)
{
    sxt_result r = crash_host("host-fault", NULL, NULL);
    cr_assert(r.exited, "died of signal %d", r.signal);
    cr_expect_eq(r.status, SX_CRASH_EXIT_INTERNAL);
    cr_expect(strstr(r.err, "siphon: internal error: SIGSEGV\n") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "plugin") == NULL, "no plugin is blamed: %s", r.err);
    sxt_result_free(&r);
}

Test(crash, nested_marks_report_the_innermost_call_still_running)
{
    sxt_result r = crash_host("nested-abort", NULL, NULL);
    cr_assert(r.exited, "died of signal %d", r.signal);
    cr_expect_eq(r.status, SX_EXIT_PLUGIN);
    cr_expect(strstr(r.err, "siphon: plugin 'plugin-a' (/plugins/a.so) crashed with SIGABRT in "
                            "read of contacts\n") != NULL,
              "%s", r.err);
    sxt_result_free(&r);
}

Test(crash, marks_belong_to_the_thread_that_made_them)
{
    sxt_result r = crash_host("thread-marks", NULL, NULL);
    cr_assert(r.exited, "died of signal %d", r.signal);
    cr_expect_eq(r.status, SX_EXIT_PLUGIN);
    cr_expect(strstr(r.err, "siphon: plugin 'plugin-a' (/plugins/a.so) crashed with SIGSEGV in "
                            "read of contacts\n") != NULL,
              "a worker's mark leaked into the main thread's report: %s", r.err);
    sxt_result_free(&r);
}

Test(crash, a_thread_stack_can_be_set_up_and_released)
{
    cr_assert_eq(sx_crash_thread_init(), 0);
    cr_assert_eq(sx_crash_thread_init(), 0, "a second call keeps the first stack");
    sx_crash_thread_fini();
    sx_crash_thread_fini();
}
