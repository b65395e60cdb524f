/*
 * cmd_check.c: `siphon check`: proves the credentials and the connection with
 * as few requests as possible (a login, then the source's own check if it
 * declares one), so a scheduler can test a config before the night's run.
 */
#include <stdio.h>

#include "cli.h"
#include "crash.h"

int sx_cmd_check(sx_cli *cli)
{
    static sx_run run;
    sx_error err = {0};
    cli->run.no_sink = 1;
    cli->run.sink = cli->run.sink ? cli->run.sink : "stdout";
    if (sx_run_open(&run, &cli->run, &err) != 0) {
        int code = sx_cli_fail(&err);
        sx_run_close(&run);
        return code;
    }
    sx_source *src = run.config.source;
    siphon_ctx ctx;
    sx_ctx_init(&ctx, &run, SX_CTX_STREAM);
    ctx.stream = src->n_streams ? src->streams[0] : NULL;
    int rc = SIPHON_OK;
    if (src->decl.auth_header != NULL && ctx.stream != NULL) {
        char token[4096];
        rc = ctx.api->session_token(&ctx, token, sizeof token);
    }
    if (rc == SIPHON_OK && src->decl.check != NULL) {
        sx_crash_enter(ctx.stream ? ctx.stream->plugin : NULL, src->name, "check");
        rc = src->decl.check(&ctx);
        sx_crash_leave();
    }
    int code = SX_EXIT_OK;
    if (rc == SIPHON_OK) {
        printf("ok: source '%s' accepted the credentials and answered\n", src->name);
    } else {
        sx_error_set(&err, rc == SIPHON_E_AUTH ? SX_EXIT_AUTH
                           : rc == SIPHON_E_CONFIG ? SX_EXIT_CONFIG : SX_EXIT_FAILURE,
                     "check of source '%s' failed: %s", src->name,
                     ctx.error[0] ? ctx.error : "no details given");
        code = sx_cli_fail(&err);
    }
    sx_ctx_release(&ctx);
    sx_run_close(&run);
    return code;
}
