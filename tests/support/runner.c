/*
 * runner.c: the leak check of the Criterion runner process.
 *
 * Every test runs in a worker process of its own (Criterion 2.4 has no
 * in-process mode), and each worker, like each siphon the tests start, is
 * leak-checked at its exit. The runner process runs Criterion alone, and
 * Criterion 2.4.1's sandbox library loses some of the timeout requests it
 * allocates for tests declared with .timeout (48 bytes each, allocated and
 * dropped inside the library; the whole suite's own tests with .timeout
 * show it without any other test). LeakSanitizer would report them at the
 * end of every sanitizer run, where a real report must stand out. So the
 * runner process, and it alone, skips the leak check; its other sanitizer
 * checks stay on.
 */
#include <sys/types.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#if defined(__has_include)
#if __has_include(<sanitizer/lsan_interface.h>)
#include <sanitizer/lsan_interface.h>
#endif
#endif

/* The runner's pid, set when it starts the tests; workers never run this
 * hook, and a worker forked from the runner has another pid. */
static pid_t runner_pid;

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    runner_pid = getpid();
}

/* LeakSanitizer asks this at exit; non-zero skips the leak check. Without
 * a sanitizer nothing calls it. */
int __lsan_is_turned_off(void)
{
    return runner_pid != 0 && getpid() == runner_pid;
}
