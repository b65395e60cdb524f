/*
 * faults.h: the faults the emulator injects into API answers (never into
 * /_emulator), each written `KIND:ARGS` on the command line or in
 * POST /_emulator/faults. README.md lists them.
 */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include <stddef.h>
#include <stdint.h>

enum emu_fault_kind {
    EMU_F_HTTP500, EMU_F_HTTP502, EMU_F_HTTP503, EMU_F_RESET, EMU_F_TRUNCATE, EMU_F_BADJSON,
    EMU_F_SLOW, EMU_F_RATELIMIT_BURST, EMU_F_TOKEN_EXPIRE, EMU_F_INSERT_BETWEEN_PAGES,
    EMU_F_APIERROR, EMU_F_NKINDS
};

/* The spelling of each kind, as in specs and in the stats. */
extern const char *const emu_fault_names[EMU_F_NKINDS];

typedef struct emu_fault {
    int kind;
    char *spec;        /* as given, for GET /_emulator/faults */
    double rate;       /* rate faults: probability per request */
    uint64_t a, b;     /* slow: ms; burst: every, len, secs in c; token-expire/insert: every */
    uint64_t c;
    char *path, *code; /* apierror */
    uint64_t counter;  /* requests seen by a schedule */
    uint64_t left;     /* burst: answers still to refuse */
} emu_fault;

typedef struct emu_faults {
    emu_fault *f;
    size_t n;
} emu_faults;

/* Parses specs into out; on error writes a message naming the spec and
 * returns -1 (out is left empty). */
int emu_faults_parse(const char *const *specs, size_t n, emu_faults *out, char *err,
                     size_t errlen);
/* Frees a fault set and empties it. */
void emu_faults_free(emu_faults *fs);

#endif
