/*
 * cmd_plugins.h: `siphon plugins`, what the loader found and why it refused.
 *
 *   siphon plugins [list] [--json] [--strict]
 *       the loaded plugins (name, version, kind:component list, file), then
 *       the refused files with their reasons. Exit 0 even when some were
 *       refused; with --strict, exit 6 (SX_EXIT_PLUGIN) when any was.
 *   siphon plugins inspect NAME [--json]
 *       NAME is a plugin, stream or sink name (or "stream:NAME", "sink:NAME"):
 *       the plugin's descriptor, each component (capabilities, keys, parent,
 *       groups, source) and every option declaration with its type, default,
 *       flags, environment variable and choices. Declarations only: no
 *       configured value is ever shown, and the default of a secret option is
 *       hidden. NAME may also be a refused file (path, file name, or file
 *       name without ".so"): its refusal is shown and the exit is 6. An
 *       unknown NAME exits 2 with a did-you-mean from the loaded names.
 *   siphon plugins exists NAME [--atleast-version V]
 *       no output; exit 0 when NAME is loaded (and its plugin's version is at
 *       least V, compared numerically part by part, "1.0.0-rc1" < "1.0.0"),
 *       else 1. For scripts and package tests.
 *
 * --help (or -h) prints each form's usage and exits 0; a bad command line
 * prints a message on stderr and exits 2.
 *
 * The JSON shapes (stable; fields are only ever added):
 *   list:    {"search_path": [PATH...],
 *             "plugins": [{"name", "version", "license", "description", "file",
 *                          "abi": {"major", "minor"}, "build_signature",
 *                          "components": [{"kind", "name"}...]}...],
 *             "refused": [{"file", "reason"}...]}
 *   inspect: the plugin object above, whose components carry "description",
 *            "capabilities" [NAME...], "options" [OPTION...] and, for streams,
 *            "key_properties", "replication_key", "parent", "groups",
 *            "source"; plus "sources": [{"name", "description", "options"}].
 *            OPTION: {"name", "type", "required", "secret", "per_stream",
 *            "deprecated", "has_default", "default" (null when none or
 *            secret), "env", "choices" [..] or null, "description"}.
 *   inspect of a refused file: {"file", "refused": REASON}.
 */
#ifndef SX_CMD_PLUGINS_H
#define SX_CMD_PLUGINS_H

#include <stdio.h>

#include "registry.h"

/* Runs `siphon plugins ...` (argv[0] is "plugins") over reg, printing on
 * stdout and stderr. Returns the process exit code. */
int sx_cmd_plugins(int argc, char **argv, const sx_registry *reg);

/* The same, printing on out and err (for tests and embedding). */
int sx_cmd_plugins_io(int argc, char **argv, const sx_registry *reg, FILE *out, FILE *err);

/*
 * Compares two version strings part by part ("1.10" > "1.9"): the numeric
 * prefixes of each dot-separated part, missing parts counting as 0; at equal
 * numbers, a part with a suffix ("0-rc1") is older than one without.
 * Returns <0, 0 or >0 like strcmp.
 */
int sx_version_compare(const char *a, const char *b);

#endif
