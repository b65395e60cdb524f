/*
 * The SDK promise: a third party builds a plugin knowing nothing but the
 * installed SDK. siphon is installed into a staging root (meson install
 * --destdir), contrib/example-stream is configured and built as its own meson
 * project against that root's siphon-plugin.pc only, and the installed
 * siphon loads it and syncs with it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "siphon_cli.h"
#include "test-paths.h"

static sxt_result run(const char *const argv[], const char *const env[])
{
    sxt_result r = sxt_run(argv, env, NULL, 600);
    cr_assert(r.exited && r.status == 0, "%s failed (%d):\n%s\n%s", argv[0], r.status, r.out,
              r.err);
    return r;
}

/* The folder under root of the first file whose path matches pattern (find -path). */
static char *find_dir(const char *root, const char *name)
{
    const char *argv[] = {"find", root, "-type", "f", "-path", name, "-printf", "%h\\n", "-quit",
                          NULL};
    sxt_result r = run(argv, NULL);
    char *nl = strchr(r.out, '\n');
    if (nl)
        *nl = '\0';
    cr_assert(r.out[0] != '\0', "%s not installed under %s", name, root);
    char *dir = strdup(r.out);
    sxt_result_free(&r);
    return dir;
}

Test(sdk, the_example_plugin_builds_against_the_installed_sdk_alone_and_runs)
{
    char *tmp = sxt_tmpdir("sdk");
    char *root = sxt_strf("%s/root", tmp);
    /* --no-rebuild: the suite is running from this very build */
    const char *install[] = {"meson", "install", "-C", SX_TEST_BUILD_ROOT, "--destdir", root,
                             "--no-rebuild", "--quiet", NULL};
    sxt_result r = run(install, NULL);
    sxt_result_free(&r);

    char *pcdir = find_dir(root, "*/pkgconfig/siphon-plugin.pc");
    char *bindir = find_dir(root, "*/bin/siphon");
    char *plugdir = find_dir(root, "*/siphon-sink-stdout.so");
    /* the staged SDK and the system's own .pc files (jansson), nothing from
     * the build tree; the sysroot makes the SDK's absolute paths point into
     * the stage */
    const char *pcq[] = {"pkg-config", "--variable", "pc_path", "pkg-config", NULL};
    sxt_result q = run(pcq, NULL);
    char *nl = strchr(q.out, '\n');
    if (nl)
        *nl = '\0';
    char *pc_path = sxt_strf("PKG_CONFIG_LIBDIR=%s:%s", pcdir, q.out);
    sxt_result_free(&q);
    char *pc_root = sxt_strf("PKG_CONFIG_SYSROOT_DIR=%s", root);
    const char *env[] = {pc_path, pc_root, "PKG_CONFIG_PATH", NULL};

    char *src = sxt_strf("%s/contrib/example-stream", SX_TEST_SOURCE_ROOT);
    char *build = sxt_strf("%s/example-build", tmp);
    char *out = sxt_strf("-Dplugindir=%s/plugins", tmp);
    const char *setup[] = {"meson", "setup", build, src, out, NULL};
    r = run(setup, env);
    sxt_result_free(&r);
    const char *compile[] = {"ninja", "-C", build, NULL};
    r = run(compile, env);
    sxt_result_free(&r);
    const char *inst[] = {"meson", "install", "-C", build, "--quiet", NULL};
    r = run(inst, env);
    sxt_result_free(&r);

    /* the installed host, its installed sinks, and the new plugin */
    char *siphon = sxt_strf("%s/siphon", bindir);
    char *path = sxt_strf("SIPHON_PLUGIN_PATH=%s/plugins:%s", tmp, plugdir);
    const char *host_env[] = {path, "SIPHON_PLUGIN_SYSTEM_PATH=", NULL};
    const char *inspect[] = {siphon, "plugins", "inspect", "example-stream", NULL};
    r = run(inspect, host_env);
    cr_assert_not_null(strstr(r.out, "synthetic"), "%s", r.out);
    sxt_result_free(&r);

    char *cfg = sxt_strf("%s/config.json", tmp);
    sxt_write_file(cfg, "{\"source\":\"example\",\"record_count\":7}");
    const char *sync[] = {siphon, "--config", cfg, NULL};
    r = run(sync, host_env);
    cr_assert_eq(sxt_count(r.out, "\"type\":\"RECORD\""), 7, "%s", r.out);
    sxt_result_free(&r);

    sxt_rmtree(tmp);
    free(cfg);
    free(path);
    free(siphon);
    free(out);
    free(build);
    free(src);
    free(pc_path);
    free(pc_root);
    free(plugdir);
    free(bindir);
    free(pcdir);
    free(root);
    free(tmp);
}
