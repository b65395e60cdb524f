#include "deadline.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned armed_seconds;

static void on_deadline(int sig)
{
    char line[96];
    int n = snprintf(line, sizeof line,
                     "test deadline of %u s passed: the test is stuck\n", armed_seconds);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n);
    /* Die by the signal itself, so the runner reports a crash. */
    signal(sig, SIG_DFL);
    raise(sig);
}

void sxt_deadline_arm(unsigned seconds)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deadline;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    armed_seconds = seconds;
    alarm(seconds);
}
