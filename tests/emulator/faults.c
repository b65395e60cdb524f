#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"

const char *const emu_fault_names[EMU_F_NKINDS] = {
    "http500", "http502", "http503", "reset", "truncate", "badjson", "slow", "ratelimit-burst",
    "token-expire", "insert-between-pages", "apierror",
};

static int num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int whole(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Splits args at commas into at most max parts (modifies args). */
static size_t split(char *args, char **parts, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(args, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        parts[n++] = t;
    return n;
}

static int parse_one(const char *spec, emu_fault *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    f->kind = -1;
    for (int k = 0; k < EMU_F_NKINDS; k++)
        if (strlen(emu_fault_names[k]) == klen && strncmp(spec, emu_fault_names[k], klen) == 0)
            f->kind = k;
    if (f->kind < 0) {
        snprintf(err, errlen, "fault '%s': unknown kind '%.*s'", spec, (int)klen, spec);
        return -1;
    }
    char *args = strdup(colon ? colon + 1 : "");
    char *p[4];
    size_t np = split(args, p, 4);
    int ok = 0;
    const char *want = "";
    switch (f->kind) {
    case EMU_F_HTTP500: case EMU_F_HTTP502: case EMU_F_HTTP503: case EMU_F_RESET:
    case EMU_F_TRUNCATE: case EMU_F_BADJSON:
        want = "RATE (a probability from 0 to 1)";
        ok = np == 1 && num(p[0], &f->rate) == 0 && f->rate >= 0 && f->rate <= 1;
        break;
    case EMU_F_SLOW:
        want = "RATE,MS";
        ok = np == 2 && num(p[0], &f->rate) == 0 && f->rate >= 0 && f->rate <= 1 &&
             whole(p[1], &f->a) == 0 && f->a <= 3600000;
        break;
    case EMU_F_RATELIMIT_BURST:
        want = "EVERY,LEN[,SECONDS] (EVERY >= 1)";
        f->c = 1;
        ok = (np == 2 || np == 3) && whole(p[0], &f->a) == 0 && f->a >= 1 &&
             whole(p[1], &f->b) == 0 && (np == 2 || (whole(p[2], &f->c) == 0 && f->c >= 1));
        break;
    case EMU_F_TOKEN_EXPIRE: case EMU_F_INSERT_BETWEEN_PAGES:
        want = "EVERY (>= 1)";
        ok = np == 1 && whole(p[0], &f->a) == 0 && f->a >= 1;
        break;
    case EMU_F_APIERROR:
        want = "PATH,CODE (e.g. /emkt/contact/search,240100)";
        ok = np == 2 && p[0][0] == '/' && p[1][0] != '\0' && strcmp(p[1], "480001") != 0;
        if (ok) {
            f->path = strdup(p[0]);
            f->code = strdup(p[1]);
        }
        break;
    }
    free(args);
    if (!ok) {
        snprintf(err, errlen, "fault '%s': %s wants %s", spec, emu_fault_names[f->kind], want);
        free(f->path);
        free(f->code);
        return -1;
    }
    f->spec = strdup(spec);
    return 0;
}

int emu_faults_parse(const char *const *specs, size_t n, emu_faults *out, char *err,
                     size_t errlen)
{
    out->f = calloc(n + 1, sizeof *out->f);
    out->n = 0;
    if (out->f == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (parse_one(specs[i], &out->f[out->n], err, errlen) != 0) {
            emu_faults_free(out);
            return -1;
        }
        out->n++;
    }
    return 0;
}

void emu_faults_free(emu_faults *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->f[i].spec);
        free(fs->f[i].path);
        free(fs->f[i].code);
    }
    free(fs->f);
    fs->f = NULL;
    fs->n = 0;
}
