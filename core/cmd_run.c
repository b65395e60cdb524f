/*
 * cmd_run.c: `siphon run`, and the Singer tap convention's sync mode.
 *
 * SIGINT and SIGTERM ask the run to stop at the next safe point: streams
 * return, what was written is committed with its state, and the exit code is
 * 130. A second signal ends the process at once (the state on disk is still
 * never ahead of the data).
 */
#include <signal.h>
#include <string.h>

#include "cli.h"

/* The run signals are delivered to; main has at most one. */
static sx_run *signalled_run;

static void on_stop_signal(int sig)
{
    if (signalled_run != NULL)
        sx_run_request_stop(signalled_run);
    signal(sig, SIG_DFL);
}

int sx_cmd_run(sx_cli *cli)
{
    static sx_run run;
    sx_error err = {0};
    int code;
    if (sx_run_open(&run, &cli->run, &err) != 0) {
        code = sx_cli_fail(&err);
        sx_run_close(&run);
        return code;
    }
    signalled_run = &run;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed stdout is a write error of the sink, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    code = sx_run_execute(&run, &err);
    if (err.exit_code != SX_EXIT_OK)
        sx_cli_fail(&err);
    signalled_run = NULL;
    sx_run_close(&run);
    return code;
}
