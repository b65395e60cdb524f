#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

const char emu_usage[] =
    "usage: dinamize-emulator [options]\n"
    "  --bind ADDR              listening address (default 127.0.0.1)\n"
    "  --port N                 port (default 0: any free port)\n"
    "  --port-file FILE         write the chosen port to FILE once listening\n"
    "  --seed N                 data seed (default 1)\n"
    "  --lists N                contact lists (default 4; the last is empty when N >= 2)\n"
    "  --contacts N             contacts over all lists (default 1000)\n"
    "  --actions N --campaigns N --messages N --transactions N --users N --teams N\n"
    "  --optouts N --fields N --filters N --field-groups N   per contact list\n"
    "  --lov-values N           values per LV field (default: 7, 250 or 40 by field)\n"
    "  --user U --password P --client-code C   accepted credentials\n"
    "  --rate-limit N           requests per window per client code (default 60; 0: off)\n"
    "  --rate-window SECONDS    sliding window (default 60; fractions allowed)\n"
    "  --token-idle SECONDS     (default 3600)   --token-max-age SECONDS (default 86400)\n"
    "  --page-cap N             largest page_size served (default 10000)\n"
    "  --latency-ms N --jitter-ms N   delay added to every API answer\n"
    "  --fault KIND:ARGS        inject a fault (repeatable; see README.md)\n"
    "  --fault-seed N           seed of the fault decisions (default: --seed)\n"
    "  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM certificate and key\n"
    "  --tls-self-signed DIR    generate DIR/cert.pem and DIR/key.pem and serve HTTPS\n"
    "  --help\n";

enum {
    O_BIND = 256, O_PORT, O_PORT_FILE, O_SEED, O_LISTS, O_CONTACTS, O_ACTIONS, O_CAMPAIGNS,
    O_MESSAGES, O_TRANSACTIONS, O_USERS, O_TEAMS, O_OPTOUTS, O_FIELDS, O_FILTERS,
    O_FIELD_GROUPS, O_LOV, O_USER, O_PASSWORD, O_CLIENT, O_RATE, O_WINDOW, O_IDLE, O_AGE,
    O_PAGE_CAP, O_LATENCY, O_JITTER, O_FAULT, O_FAULT_SEED, O_CERT, O_KEY, O_SELF, O_HELP
};

static const struct option longopts[] = {
    {"bind", required_argument, 0, O_BIND},
    {"port", required_argument, 0, O_PORT},
    {"port-file", required_argument, 0, O_PORT_FILE},
    {"seed", required_argument, 0, O_SEED},
    {"lists", required_argument, 0, O_LISTS},
    {"contacts", required_argument, 0, O_CONTACTS},
    {"actions", required_argument, 0, O_ACTIONS},
    {"campaigns", required_argument, 0, O_CAMPAIGNS},
    {"messages", required_argument, 0, O_MESSAGES},
    {"transactions", required_argument, 0, O_TRANSACTIONS},
    {"users", required_argument, 0, O_USERS},
    {"teams", required_argument, 0, O_TEAMS},
    {"optouts", required_argument, 0, O_OPTOUTS},
    {"fields", required_argument, 0, O_FIELDS},
    {"filters", required_argument, 0, O_FILTERS},
    {"field-groups", required_argument, 0, O_FIELD_GROUPS},
    {"lov-values", required_argument, 0, O_LOV},
    {"user", required_argument, 0, O_USER},
    {"password", required_argument, 0, O_PASSWORD},
    {"client-code", required_argument, 0, O_CLIENT},
    {"rate-limit", required_argument, 0, O_RATE},
    {"rate-window", required_argument, 0, O_WINDOW},
    {"token-idle", required_argument, 0, O_IDLE},
    {"token-max-age", required_argument, 0, O_AGE},
    {"page-cap", required_argument, 0, O_PAGE_CAP},
    {"latency-ms", required_argument, 0, O_LATENCY},
    {"jitter-ms", required_argument, 0, O_JITTER},
    {"fault", required_argument, 0, O_FAULT},
    {"fault-seed", required_argument, 0, O_FAULT_SEED},
    {"tls-cert", required_argument, 0, O_CERT},
    {"tls-key", required_argument, 0, O_KEY},
    {"tls-self-signed", required_argument, 0, O_SELF},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0') {
        fprintf(stderr, "dinamize-emulator: --%s wants a whole number >= 0, got '%s'\n", opt, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max) {
        fprintf(stderr, "dinamize-emulator: --%s wants a whole number from 0 to %llu, got '%s'\n",
                opt, (unsigned long long)max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_secs(const char *opt, const char *s, int allow_zero, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= 0) || v > 1e9 || (!allow_zero && v == 0)) {
        fprintf(stderr, "dinamize-emulator: --%s wants a number of seconds%s, got '%s'\n", opt,
                allow_zero ? " >= 0" : " > 0", s);
        return -1;
    }
    *out = v;
    return 0;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
}

int emu_options_parse(emu_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->bind = strdup("127.0.0.1");
    o->seed = 1;
    o->lists = 4;
    o->contacts = 1000;
    o->actions = 40;
    o->campaigns = 12;
    o->messages = 30;
    o->transactions = 300;
    o->users = 6;
    o->teams = 5;
    o->optouts = 30;
    o->fields = 12;
    o->filters = 5;
    o->field_groups = 3;
    o->lov_values = -1;
    o->user = strdup("demo@siphon.test");
    o->password = strdup("demo-secret-pw");
    o->client_code = strdup("100001");
    o->rate_limit = 60;
    o->rate_window = 60;
    o->token_idle = 3600;
    o->token_max_age = 86400;
    o->page_cap = 10000;
    int fault_seed_set = 0;

    const uint64_t big = 1000000000ULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        int rc = 0;
        uint64_t v = 0;
        switch (c) {
        case O_BIND: set_str(&o->bind, optarg); break;
        case O_PORT:
            rc = parse_u64("port", optarg, 65535, &v);
            o->port = (int)v;
            break;
        case O_PORT_FILE: set_str(&o->port_file, optarg); break;
        case O_SEED: rc = parse_u64("seed", optarg, UINT64_MAX, &o->seed); break;
        case O_LISTS: rc = parse_u64("lists", optarg, 100000, &o->lists); break;
        case O_CONTACTS: rc = parse_u64("contacts", optarg, 100 * big, &o->contacts); break;
        case O_ACTIONS: rc = parse_u64("actions", optarg, big, &o->actions); break;
        case O_CAMPAIGNS: rc = parse_u64("campaigns", optarg, big, &o->campaigns); break;
        case O_MESSAGES: rc = parse_u64("messages", optarg, big, &o->messages); break;
        case O_TRANSACTIONS: rc = parse_u64("transactions", optarg, big, &o->transactions); break;
        case O_USERS: rc = parse_u64("users", optarg, big, &o->users); break;
        case O_TEAMS: rc = parse_u64("teams", optarg, big, &o->teams); break;
        case O_OPTOUTS: rc = parse_u64("optouts", optarg, big, &o->optouts); break;
        /* Fields become a JSON object on every contact: keep them to a size a
         * record buffer holds. */
        case O_FIELDS: rc = parse_u64("fields", optarg, 500, &o->fields); break;
        case O_FILTERS: rc = parse_u64("filters", optarg, big, &o->filters); break;
        case O_FIELD_GROUPS: rc = parse_u64("field-groups", optarg, big, &o->field_groups); break;
        case O_LOV:
            /* LOV codes are field_code * 10^7 + index, so an index must stay below 10^7. */
            rc = parse_u64("lov-values", optarg, 9999999, &v);
            o->lov_values = (int64_t)v;
            break;
        case O_USER: set_str(&o->user, optarg); break;
        case O_PASSWORD: set_str(&o->password, optarg); break;
        case O_CLIENT: set_str(&o->client_code, optarg); break;
        case O_RATE: rc = parse_u64("rate-limit", optarg, big, &o->rate_limit); break;
        case O_WINDOW: rc = parse_secs("rate-window", optarg, 0, &o->rate_window); break;
        case O_IDLE: rc = parse_secs("token-idle", optarg, 0, &o->token_idle); break;
        case O_AGE: rc = parse_secs("token-max-age", optarg, 0, &o->token_max_age); break;
        case O_PAGE_CAP: rc = parse_u64("page-cap", optarg, big, &o->page_cap); break;
        case O_LATENCY: rc = parse_u64("latency-ms", optarg, 3600000, &o->latency_ms); break;
        case O_JITTER: rc = parse_u64("jitter-ms", optarg, 3600000, &o->jitter_ms); break;
        case O_FAULT: {
            char **nf = realloc(o->faults, sizeof *nf * (size_t)(o->nfaults + 1));
            if (nf == NULL)
                return -1;
            o->faults = nf;
            o->faults[o->nfaults++] = strdup(optarg);
            break;
        }
        case O_FAULT_SEED:
            rc = parse_u64("fault-seed", optarg, UINT64_MAX, &o->fault_seed);
            fault_seed_set = 1;
            break;
        case O_CERT: set_str(&o->tls_cert, optarg); break;
        case O_KEY: set_str(&o->tls_key, optarg); break;
        case O_SELF: set_str(&o->tls_self_signed, optarg); break;
        case O_HELP: fputs(emu_usage, stdout); return 1;
        case ':':
            fprintf(stderr, "dinamize-emulator: %s needs a value\n%s", name, emu_usage);
            return -1;
        default:
            fprintf(stderr, "dinamize-emulator: unknown option '%s'\n%s", name, emu_usage);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "dinamize-emulator: unexpected argument '%s'\n%s", argv[optind], emu_usage);
        return -1;
    }
    if (o->page_cap == 0) {
        fprintf(stderr, "dinamize-emulator: --page-cap must be at least 1\n");
        return -1;
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "dinamize-emulator: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (o->tls_cert && o->tls_self_signed) {
        fprintf(stderr, "dinamize-emulator: choose --tls-cert/--tls-key or --tls-self-signed\n");
        return -1;
    }
    if (!fault_seed_set)
        o->fault_seed = o->seed;
    return 0;
}

void emu_options_free(emu_options *o)
{
    free(o->bind);
    free(o->port_file);
    free(o->user);
    free(o->password);
    free(o->client_code);
    for (int i = 0; i < o->nfaults; i++)
        free(o->faults[i]);
    free(o->faults);
    free(o->tls_cert);
    free(o->tls_key);
    free(o->tls_self_signed);
    memset(o, 0, sizeof *o);
}
