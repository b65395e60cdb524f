#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "siphon_cli.h"
#include "test-paths.h"

const char *sxt_plugins_sinks(void) { return SX_TEST_PLUGINS_SINKS; }
const char *sxt_plugins_lab(void) { return SX_TEST_PLUGINS_LAB; }
const char *sxt_plugins_dinamize(void) { return SX_TEST_PLUGINS_DINAMIZE; }

#define MAX_ARGS 64
#define MAX_ENV 32

/* argv with the siphon binary in front; env with the plugin path in front. */
static void prepare(const char *plugin_path, const char *const env[], const char *const argv[],
                    const char **full_argv, const char **full_env, char **path_entry)
{
    size_t a = 0;
    full_argv[a++] = SX_TEST_SIPHON;
    for (size_t i = 0; argv[i] != NULL && a < MAX_ARGS - 1; i++)
        full_argv[a++] = argv[i];
    full_argv[a] = NULL;
    size_t e = 0;
    *path_entry = sxt_strf("SIPHON_PLUGIN_PATH=%s", plugin_path ? plugin_path : "");
    full_env[e++] = *path_entry;
    full_env[e++] = "SIPHON_PLUGIN_SYSTEM_PATH="; /* set and empty: no system plugins */
    for (size_t i = 0; env != NULL && env[i] != NULL && e < MAX_ENV - 1; i++)
        full_env[e++] = env[i];
    full_env[e] = NULL;
}

sxt_result sxt_siphon_argv(const char *plugin_path, const char *const env[], const char *input,
                           int timeout_s, const char *const argv[])
{
    const char *full_argv[MAX_ARGS], *full_env[MAX_ENV];
    char *path_entry;
    prepare(plugin_path, env, argv, full_argv, full_env, &path_entry);
    sxt_result r = sxt_run(full_argv, full_env, input, timeout_s);
    free(path_entry);
    return r;
}

sxt_result sxt_siphon(const char *plugin_path, const char *const env[], int timeout_s, ...)
{
    const char *argv[MAX_ARGS];
    size_t n = 0;
    va_list ap;
    va_start(ap, timeout_s);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1)
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    return sxt_siphon_argv(plugin_path, env, NULL, timeout_s, argv);
}

pid_t sxt_siphon_spawn(const char *plugin_path, const char *const env[], const char *out_path,
                       const char *err_path, const char *const argv[])
{
    const char *full_argv[MAX_ARGS], *full_env[MAX_ENV];
    char *path_entry;
    prepare(plugin_path, env, argv, full_argv, full_env, &path_entry);
    pid_t pid = sxt_spawn(full_argv, full_env, out_path, err_path);
    free(path_entry);
    return pid;
}
