/*
 * cli.h: the command line — subcommands, the Singer tap calling convention,
 * and the options they share.
 */
#ifndef SX_CLI_H
#define SX_CLI_H

#include "run.h"

/* Options shared by run, discover, check and about. */
typedef struct sx_cli {
    sx_run_options run;
    const char *format;     /* about: "json" or "markdown" */
    const char *log_level;
    int quiet;
    int discover;           /* Singer: --discover */
    int about;              /* Singer: --about */
} sx_cli;

/* The whole program below main(): returns the exit code. */
int sx_cli_main(int argc, char **argv);

/* Parses the shared options from argv[first..]; returns 0, or SX_EXIT_USAGE
 * after printing the problem. */
int sx_cli_parse(sx_cli *cli, int argc, char **argv, const char *command);

int sx_cmd_run(sx_cli *cli);
int sx_cmd_discover(sx_cli *cli);
int sx_cmd_check(sx_cli *cli);
int sx_cmd_about(sx_cli *cli);

/* Prints an error for the user (masked) and returns its exit code. */
int sx_cli_fail(const sx_error *err);

#endif
