/*
 * main.c: process-wide setup around the command line, and nothing else.
 */
#include "cli.h"
#include "crash.h"
#include "http.h"
#include "mask.h"

int main(int argc, char **argv)
{
    sx_crash_install();
    if (sx_http_global_init() != 0)
        return SX_EXIT_FAILURE;
    int code = sx_cli_main(argc, argv);
    sx_http_global_cleanup();
    sx_mask_reset();
    return code;
}
