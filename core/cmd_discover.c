/*
 * cmd_discover.c: `siphon discover` and `siphon --config C --discover`: the
 * Singer catalog of every stream of the source on stdout, with dynamic
 * schemas (such as the account's custom fields) computed through the API.
 */
#include <stdio.h>

#include "cli.h"

int sx_cmd_discover(sx_cli *cli)
{
    static sx_run run;
    sx_error err = {0};
    cli->run.no_sink = 1;
    cli->run.sink = cli->run.sink ? cli->run.sink : "stdout";
    int code = SX_EXIT_OK;
    if (sx_run_open(&run, &cli->run, &err) != 0) {
        code = sx_cli_fail(&err);
        sx_run_close(&run);
        return code;
    }
    for (size_t i = 0; i < run.catalog.n && code == SX_EXIT_OK; i++) {
        if (sx_run_discover_entry(&run, &run.catalog.entries[i], 1, &err) != 0)
            code = sx_cli_fail(&err);
    }
    if (code == SX_EXIT_OK) {
        json_t *doc = sx_catalog_to_json(&run.catalog);
        if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 ||
            fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
            sx_error_set(&err, SX_EXIT_FAILURE, "cannot write the catalog to stdout");
            code = sx_cli_fail(&err);
        }
        json_decref(doc);
    }
    sx_run_close(&run);
    return code;
}
