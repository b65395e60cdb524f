#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi_support.h"
#include "cmd_plugins.h"
#include "proc.h"
#include "test-paths.h"

const siphon_host_info sxt_abi_host_info = {
    .struct_size = sizeof(siphon_host_info),
    .abi_major = SIPHON_ABI_MAJOR,
    .abi_minor = SIPHON_ABI_MINOR,
    .host_version = "test",
    .api = NULL,
};

char *sxt_abi_fixture(const char *name)
{
    return sxt_strf("%s/%s.so", SX_TEST_ABI_FIXTURES, name);
}

void sxt_abi_copy(const char *name, const char *dir, const char *file_name, mode_t mode)
{
    char *src = sxt_abi_fixture(name);
    char *dst = sxt_strf("%s/%s", dir, file_name);
    size_t len = 0;
    char *bytes = NULL;
    FILE *in = fopen(src, "rb");
    cr_assert_not_null(in, "fixture %s is not built: %s", src, strerror(errno));
    char chunk[65536];
    size_t got;
    FILE *mem = open_memstream(&bytes, &len);
    while ((got = fread(chunk, 1, sizeof chunk, in)) > 0)
        fwrite(chunk, 1, got, mem);
    fclose(mem);
    fclose(in);
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert(fd >= 0, "cannot create %s: %s", dst, strerror(errno));
    cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
    /* fchmod, not the open mode: the umask must not decide the test. */
    cr_assert_eq(fchmod(fd, mode), 0);
    cr_assert_eq(close(fd), 0);
    free(bytes);
    free(src);
    free(dst);
}

char *sxt_abi_stage(const char *const *names)
{
    char *dir = sxt_tmpdir("abi");
    cr_assert_not_null(dir);
    cr_assert_eq(chmod(dir, 0755), 0);
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        char *file = sxt_strf("%s.so", names[i]);
        sxt_abi_copy(names[i], dir, file, 0644);
        free(file);
    }
    return dir;
}

void sxt_abi_load(sx_registry *reg, const char *plugin_path)
{
    sx_error err;
    sx_error_clear(&err);
    int rc = sx_registry_load(reg, &sxt_abi_host_info, plugin_path, "", &err);
    cr_assert_eq(rc, 0, "sx_registry_load failed: %s", err.msg);
}

const sx_refusal *sxt_abi_refusal(const sx_registry *reg, const char *path)
{
    for (size_t i = 0; i < reg->n_refusals; i++)
        if (strcmp(reg->refusals[i].path, path) == 0)
            return &reg->refusals[i];
    return NULL;
}

sxt_cmd_output sxt_abi_plugins_cmd(const sx_registry *reg, const char *const *argv)
{
    sxt_cmd_output o = {0, NULL, NULL};
    size_t out_len = 0, err_len = 0;
    FILE *out = open_memstream(&o.out, &out_len);
    FILE *err = open_memstream(&o.err, &err_len);
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    o.rc = sx_cmd_plugins_io(argc, (char **)argv, reg, out, err);
    fclose(out);
    fclose(err);
    return o;
}

void sxt_cmd_output_free(sxt_cmd_output *o)
{
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
}
