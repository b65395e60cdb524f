/*
 * test_deadline.c: the tests' own deadline (tests/support/deadline.h) ends a
 * stuck test process by SIGALRM, after saying so.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"

Test(deadline, stuck_process_dies_by_sigalrm_and_says_why)
{
    int err[2];
    cr_assert_eq(pipe(err), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(err[1], STDERR_FILENO);
        close(err[0]);
        sxt_deadline_arm(1);
        for (;;)
            pause();
    }
    close(err[1]);
    char said[256] = "";
    size_t len = 0;
    ssize_t n;
    while (len < sizeof said - 1 && (n = read(err[0], said + len, sizeof said - 1 - len)) > 0)
        len += (size_t)n;
    close(err[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status), "the stuck process was not killed (status %d)", status);
    cr_assert_eq(WTERMSIG(status), SIGALRM);
    cr_assert(strstr(said, "test deadline of 1 s passed") != NULL, "stderr: %s", said);
}
