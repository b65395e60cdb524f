/*
 * options.h: the emulator's command line. The names are a contract: tests,
 * benchmarks and the README demo of the whole project start the emulator with
 * them (see README.md next to this file).
 */
#ifndef EMU_OPTIONS_H
#define EMU_OPTIONS_H

#include <stdint.h>

typedef struct emu_options {
    char *bind;              /* listening address (IPv4 or IPv6 literal) */
    int port;                /* 0: any free port */
    char *port_file;         /* where to write the chosen port, or NULL */

    uint64_t seed;
    /* Data scale; the per-list counts apply to every list that has data. */
    uint64_t lists, contacts, actions, campaigns, messages, transactions, users, teams;
    uint64_t optouts, fields, filters, field_groups;
    int64_t lov_values;      /* values per LV field; -1: varies per field (7, 250, 40) */

    char *user, *password, *client_code;

    uint64_t rate_limit;     /* requests per window per client code; 0: off */
    double rate_window;      /* seconds */
    double token_idle;       /* seconds */
    double token_max_age;    /* seconds */
    uint64_t page_cap;
    uint64_t latency_ms, jitter_ms;

    char **faults;           /* --fault specs, in order */
    int nfaults;
    uint64_t fault_seed;

    char *tls_cert, *tls_key, *tls_self_signed;
} emu_options;

/*
 * Fills o from argv. Returns 0 to run, 1 when --help was printed, -1 after
 * printing an error that names the bad option to stderr.
 */
int emu_options_parse(emu_options *o, int argc, char **argv);

/* Frees what emu_options_parse allocated. */
void emu_options_free(emu_options *o);

/* The usage text. */
extern const char emu_usage[];

#endif
