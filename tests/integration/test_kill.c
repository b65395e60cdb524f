/*
 * SIGKILL at many points of a run: the state file is never corrupt and never
 * ahead of what the sink committed (for the stdout sink: the records written
 * to stdout before it).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "siphon_cli.h"

/* The updated_at of every complete RECORD line in out, as a JSON set. */
static json_t *written_values(const char *out)
{
    json_t *seen = json_object();
    const char *p = out;
    const char *nl;
    while ((nl = strchr(p, '\n')) != NULL) {
        json_t *msg = json_loadb(p, (size_t)(nl - p), 0, NULL);
        if (msg != NULL && strcmp(json_string_value(json_object_get(msg, "type")), "RECORD") == 0) {
            const char *v = json_string_value(
                json_object_get(json_object_get(msg, "record"), "updated_at"));
            if (v)
                json_object_set_new(seen, v, json_true());
        }
        json_decref(msg);
        p = nl + 1;
    }
    return seen;
}

Test(kill, sigkill_never_leaves_a_state_ahead_of_the_data)
{
    char *tmp = sxt_tmpdir("kill");
    char *pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
    unsigned seed = 20261204;
    int with_state = 0;
    for (int point = 0; point < 30; point++) {
        char *state = sxt_strf("%s/state-%d.json", tmp, point);
        char *out = sxt_strf("%s/out-%d.jsonl", tmp, point);
        char *cfg = sxt_strf("%s/config.json", tmp);
        char *json = sxt_strf("{\"source\":\"example\",\"record_count\":3000000,\"record_size\":8,"
                              "\"checkpoint_records\":2000,\"state_path\":\"%s\"}", state);
        sxt_write_file(cfg, json);
        const char *argv[] = {"run", "-c", cfg, "-q", NULL};
        pid_t pid = sxt_siphon_spawn(pp, NULL, out, NULL, argv);
        /* kill points spread over the run, from its start to well inside it */
        long delay_us = 5000 + (long)(rand_r(&seed) % 1500000);
        usleep((useconds_t)delay_us);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);

        char *state_text = sxt_read_file(state, NULL);
        char *out_text = sxt_read_file(out, NULL);
        cr_assert_not_null(out_text);
        if (state_text != NULL) {
            json_error_t e;
            json_t *st = json_loads(state_text, 0, &e);
            cr_assert_not_null(st, "kill point %d (%ld us): corrupt state: %s", point, delay_us,
                               e.text);
            const char *bookmark = json_string_value(json_object_get(
                json_object_get(json_object_get(st, "bookmarks"), "synthetic"),
                "replication_key_value"));
            cr_assert_not_null(bookmark, "kill point %d: a state without a bookmark", point);
            json_t *seen = written_values(out_text);
            cr_assert_not_null(json_object_get(seen, bookmark),
                               "kill point %d (%ld us): the state's bookmark %s is ahead of "
                               "the records written", point, delay_us, bookmark);
            json_decref(seen);
            json_decref(st);
            with_state++;
        }
        free(state_text);
        free(out_text);
        free(state);
        free(out);
        free(cfg);
        free(json);
    }
    cr_assert_gt(with_state, 5, "too few kill points came after the first commit (%d)", with_state);
    sxt_rmtree(tmp);
    free(tmp);
    free(pp);
}
