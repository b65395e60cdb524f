/*
 * abi_support.h: what the loader tests share: staging fixture plugins into a
 * fresh temporary folder (so the folder's mode and contents are the test's),
 * loading a registry from it, finding a refusal, and running
 * `siphon plugins` with its output captured.
 */
#ifndef SXT_ABI_SUPPORT_H
#define SXT_ABI_SUPPORT_H

#include <sys/types.h>

#include "registry.h"

/* The host info every test passes to the entry functions (no services: the
 * fixtures' entries never call any). */
extern const siphon_host_info sxt_abi_host_info;

/* The built fixture module NAME (without ".so"), malloc'd path. */
char *sxt_abi_fixture(const char *name);

/* Copies the fixture NAME into dir as FILE_NAME with the given mode; aborts
 * the test on failure. */
void sxt_abi_copy(const char *name, const char *dir, const char *file_name, mode_t mode);

/* A new temporary folder holding a 0644 copy of each fixture named in the
 * NULL-terminated names. Remove it with sxt_rmtree. */
char *sxt_abi_stage(const char *const *names);

/* Loads reg from plugin_path only (no system folder); the load must not fail
 * for lack of memory. */
void sxt_abi_load(sx_registry *reg, const char *plugin_path);

/* The refusal of path in reg, or NULL. */
const sx_refusal *sxt_abi_refusal(const sx_registry *reg, const char *path);

/* `siphon plugins ARGS...` over reg, with stdout and stderr captured. */
typedef struct sxt_cmd_output {
    int rc;
    char *out;
    char *err;
} sxt_cmd_output;

/* argv is NULL-terminated and starts with "plugins". Free with
 * sxt_cmd_output_free. */
sxt_cmd_output sxt_abi_plugins_cmd(const sx_registry *reg, const char *const *argv);
void sxt_cmd_output_free(sxt_cmd_output *o);

#endif
