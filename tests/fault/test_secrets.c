/*
 * test_secrets.c: no secret leaves siphon except to the API it belongs to.
 *
 * The emulator accepts a distinctive password (with a quote, a backslash, a
 * slash, a plus, a percent sign and a non-ASCII letter, so an escaped form
 * would differ from the raw one); the PostgreSQL DSN carries a password too.
 * Every channel siphon writes to is collected — stdout, stderr with debug
 * logs and metrics, the state, every file of the file sink, the SQLite
 * database and its WAL, every table of the PostgreSQL schema, `about`,
 * `plugins inspect`, `discover`, `check`, the messages of failed runs and
 * bad configs, a crash report, and the command line of a running siphon —
 * and searched for the passwords and for every token the emulator issued.
 * The needles are the secrets' distinctive cores, so an escaped, quoted or
 * truncated copy is found as well as the raw one.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "fz.h"
#include "siphon_cli.h"
#include "deadline.h"

SXT_DEADLINE(240)

TestSuite(secrets, .init = sxt_deadline_240s);

/* The core is what any copy of the password holds, however it is escaped. */
#define PASSWORD_CORE "sxtPASSWORD7731"
#define PASSWORD PASSWORD_CORE "\"q\\u/+%\xc3\xa9x"
#define WRONG_CORE "sxtWRONGPW5512"
#define WRONG WRONG_CORE "\"/+"
#define PG_PASSWORD "sxtPGPASS4471"
#define LAB_SECRET "sxtLABSECRET2093"

/* --- the channels --- */

typedef struct channel {
    char *name;
    char *data;
    size_t len;
} channel;

typedef struct hunt {
    channel *ch;
    size_t n, cap;
} hunt;

static void add(hunt *h, const char *name, const char *data, size_t len)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->ch = realloc(h->ch, h->cap * sizeof *h->ch);
    }
    channel *c = &h->ch[h->n++];
    c->name = strdup(name);
    c->data = malloc(len + 1);
    memcpy(c->data, data, len);
    c->data[len] = '\0';
    c->len = len;
}

static void add_result(hunt *h, const char *what, const sxt_result *r)
{
    char *name = sxt_strf("%s: stdout", what);
    add(h, name, r->out, r->out_len);
    free(name);
    name = sxt_strf("%s: stderr", what);
    add(h, name, r->err, r->err_len);
    free(name);
}

static void add_file(hunt *h, const char *path)
{
    size_t len = 0;
    char *data = sxt_read_file(path, &len);
    if (data != NULL)
        add(h, path, data, len);
    free(data);
}

/* Every file under dir (hidden ones included). */
static void add_tree(hunt *h, const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = sxt_strf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            add_tree(h, path);
        else if (S_ISREG(st.st_mode))
            add_file(h, path);
        free(path);
    }
    closedir(d);
}

/* Every table of a PostgreSQL schema, as text, state included. */
static void add_schema(hunt *h, sxt_pg *pg, const char *schema)
{
    char *sql = sxt_strf("SELECT coalesce(string_agg(format('SELECT coalesce(string_agg(t::text, "
                         "E''\\n''), '''') FROM %%I.%%I t', table_schema, table_name), ' UNION ALL "
                         "'), '') FROM information_schema.tables WHERE table_schema = '%s'", schema);
    char *union_sql = sxt_pg_query1(pg, sql);
    cr_assert(union_sql != NULL && union_sql[0] != '\0', "no tables in schema %s", schema);
    char *all = sxt_strf("SELECT string_agg(x, E'\\n') FROM (%s) AS u(x)", union_sql);
    char *text = sxt_pg_query1(pg, all);
    cr_assert_not_null(text);
    char *name = sxt_strf("PostgreSQL schema %s", schema);
    add(h, name, text, strlen(text));
    free(name);
    free(text);
    free(all);
    free(union_sql);
    free(sql);
}

static void hunt_free(hunt *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->ch[i].name);
        free(h->ch[i].data);
    }
    free(h->ch);
}

/* The longest run of letters and digits of a token: found in any escaped
 * or encoded copy of it ('+' and '/' are what escaping changes). */
static char *token_core(const char *token)
{
    const char *best = token, *p = token;
    size_t best_n = 0;
    while (*p) {
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
        if (n > best_n) {
            best = p;
            best_n = n;
        }
        p += n ? n : 1;
    }
    return strndup(best, best_n);
}

/* Asserts no channel holds a needle; returns how many channels were searched. */
static size_t assert_clean(const hunt *h, const char *const needles[], size_t n_needles)
{
    for (size_t i = 0; i < h->n; i++)
        for (size_t k = 0; k < n_needles; k++) {
            const char *at = memmem(h->ch[i].data, h->ch[i].len, needles[k], strlen(needles[k]));
            if (at != NULL) {
                size_t off = (size_t)(at - h->ch[i].data);
                size_t from = off > 60 ? off - 60 : 0;
                cr_assert_fail("the secret '%s' is in %s (offset %zu): ...%.*s...", needles[k],
                               h->ch[i].name, off, (int)(off - from + strlen(needles[k]) + 20),
                               h->ch[i].data + from);
            }
        }
    return h->n;
}

/* The emulator's tokens, as needles (full and core), plus the given ones. */
static size_t assert_clean_of_all(sxt_dz *t, const hunt *h, const char *const extra[],
                                  size_t *n_tokens)
{
    json_t *r = sxt_emulator_get(t->emu, "/_emulator/tokens");
    json_t *tokens = json_object_get(r, "tokens");
    cr_assert_gt(json_array_size(tokens), 0, "siphon never logged in");
    size_t n = 0;
    const char *needles[256];
    char *owned[256];
    size_t n_owned = 0;
    for (size_t i = 0; extra[i] != NULL; i++)
        needles[n++] = extra[i];
    size_t i;
    json_t *tok;
    json_array_foreach(tokens, i, tok) {
        if (n + 2 > 256)
            break;
        needles[n++] = json_string_value(tok);
        owned[n_owned] = token_core(json_string_value(tok));
        cr_assert_geq(strlen(owned[n_owned]), 8, "token %s has no long core",
                      json_string_value(tok));
        needles[n++] = owned[n_owned++];
    }
    *n_tokens = json_array_size(tokens);
    size_t searched = assert_clean(h, needles, n);
    for (size_t k = 0; k < n_owned; k++)
        free(owned[k]);
    json_decref(r);
    return searched;
}

static const char *const all_secrets[] = {PASSWORD_CORE, WRONG_CORE, PG_PASSWORD, LAB_SECRET,
                                          NULL};

/* An emulator that accepts only the distinctive password; the config holds none. */
static void start(sxt_dz *t, const char *const extra_emulator[])
{
    const char *args[24] = {SXT_FZ_EMULATOR, "--password", PASSWORD};
    size_t n = 4;
    for (size_t i = 0; extra_emulator != NULL && extra_emulator[i] != NULL; i++)
        args[n++] = extra_emulator[i];
    args[n] = NULL;
    sxt_dz_start(t, args, NULL);
}

static char *env_entry(const char *name, const char *value)
{
    return sxt_strf("%s=%s", name, value);
}

/* Writes the config (no password in it unless in_config), for the sink of d. */
static void configure(sxt_dz *t, sxt_dest *d, int in_config, const char *extra)
{
    json_t *cfg = json_pack("{s:b, s:s}", "metrics", 1, "log_level", "debug");
    if (extra) {
        json_t *more = json_loads(extra, 0, NULL);
        json_object_update(cfg, more);
        json_decref(more);
    }
    if (in_config)
        json_object_set_new(cfg, "password", json_string(PASSWORD));
    char *text = json_dumps(cfg, JSON_COMPACT);
    sxt_fz_write_config(t, d, text);
    free(text);
    json_decref(cfg);
    /* sxt_dz_config always writes the harness's own password: take it out */
    json_t *file = json_load_file(t->config_path, 0, NULL);
    if (!in_config)
        json_object_del(file, "password");
    json_dump_file(file, t->config_path, JSON_INDENT(1));
    json_decref(file);
}

static sxt_result siphon_with(sxt_dz *t, const char *const env[], const char *const args[])
{
    const char *argv[24];
    size_t n = 0;
    for (size_t i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return sxt_siphon_argv(t->plugin_path, env, NULL, 120, argv);
}

Test(secrets, no_output_of_a_sync_into_any_sink_holds_a_password_or_a_token)
{
    sxt_dz t;
    /* a token that expires now and then: several tokens to look for */
    start(&t, (const char *[]){"--fault", "token-expire:25", NULL});
    sxt_pg *pg = sxt_pg_new();
    cr_assert_not_null(pg, "no PostgreSQL server (see tests/support/pg.h)");
    hunt h = {0};
    char *pw_env = env_entry("DINAMIZE_PASSWORD", PASSWORD);
    char *dsn = sxt_strf("%s password=%s", sxt_pg_dsn(pg), PG_PASSWORD);
    char *dsn_env = env_entry("SIPHON_PG_DSN", dsn);
    const char *env[] = {pw_env, dsn_env, NULL};

    for (size_t s = 0; s < 4; s++) {
        const char *sink = sxt_dest_sinks[s];
        sxt_dest *d = sxt_dest_new(sink, t.dir, pg, "secrets");
        char *state_path = sxt_strf("%s/state.json", t.dir);
        char *extra = sxt_strf("{\"state_path\":\"%s\",\"workers\":1}", state_path);
        configure(&t, d, 0, extra);
        if (strcmp(sink, "postgres") == 0) {
            /* the DSN comes from the environment, password and all */
            json_t *file = json_load_file(t.config_path, 0, NULL);
            json_object_del(json_object_get(file, "sink"), "dsn");
            json_dump_file(file, t.config_path, JSON_INDENT(1));
            json_decref(file);
        }
        sxt_result r = siphon_with(&t, env, (const char *[]){"run", "--config", t.config_path,
                                                             NULL});
        cr_assert(r.exited && r.status == 0, "%s run failed:\n%s", sink, r.err);
        char *what = sxt_strf("run into %s", sink);
        add_result(&h, what, &r);
        free(what);
        sxt_result_free(&r);
        if (strcmp(sink, "postgres") == 0)
            add_schema(&h, pg, "secrets");
        free(extra);
        free(state_path);
        sxt_dest_free(d);
    }
    /* the file sink's folder, the SQLite database and its WAL, the state
     * file of the stdout run: everything the runs left */
    add_tree(&h, t.dir);

    /* the password in the config file instead of the environment */
    sxt_dest *d = sxt_dest_new("sqlite", t.dir, NULL, "from_config");
    configure(&t, d, 1, NULL);
    sxt_result r = siphon_with(&t, NULL, (const char *[]){"run", "--config", t.config_path, NULL});
    cr_assert(r.exited && r.status == 0, "%s", r.err);
    add_result(&h, "run with the password in the config", &r);
    sxt_result_free(&r);
    char *db = sxt_strf("%s/from_config.db", t.dir);
    add_file(&h, db);
    free(db);
    sxt_dest_free(d);

    size_t tokens = 0;
    size_t searched = assert_clean_of_all(&t, &h, all_secrets, &tokens);
    cr_assert_gt(tokens, 1, "the token fault never fired: only one token to look for");
    cr_log_info("secrets: syncs into every sink: %zu channels searched for 3 passwords and %zu "
                "tokens: none found\n", searched, tokens);
    hunt_free(&h);
    free(pw_env);
    free(dsn);
    free(dsn_env);
    sxt_pg_free(pg);
    sxt_dz_stop(&t);
}

Test(secrets, about_inspect_discover_and_check_show_no_secret)
{
    sxt_dz t;
    start(&t, NULL);
    hunt h = {0};
    sxt_dest *d = sxt_dest_new("stdout", t.dir, NULL, "x");
    configure(&t, d, 1, NULL);
    const char *const commands[][8] = {
        {"about", "--config", t.config_path, NULL},
        {"about", "--format", "json", "--config", t.config_path, NULL},
        {"--about", "--config", t.config_path, NULL},
        {"plugins", "list", NULL},
        {"plugins", "list", "--json", NULL},
        {"plugins", "inspect", "dinamize-contacts", NULL},
        {"plugins", "inspect", "dinamize-users", "--json", NULL},
        {"plugins", "inspect", "sink-postgres", NULL},
        {"discover", "--config", t.config_path, NULL},
        {"--discover", "--config", t.config_path, NULL},
        {"check", "--config", t.config_path, NULL},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        sxt_result r = siphon_with(&t, NULL, commands[i]);
        cr_assert(r.exited && r.status == 0, "siphon %s %s failed: %s", commands[i][0],
                  commands[i][1], r.err);
        char *what = sxt_strf("siphon %s %s", commands[i][0], commands[i][1]);
        add_result(&h, what, &r);
        free(what);
        sxt_result_free(&r);
    }
    size_t tokens = 0;
    size_t searched = assert_clean_of_all(&t, &h, all_secrets, &tokens);
    cr_log_info("secrets: about, plugins, discover, check: %zu channels, %zu tokens: none "
                "found\n", searched, tokens);
    hunt_free(&h);
    sxt_dest_free(d);
    sxt_dz_stop(&t);
}

/* A config file with the given text (written as is). */
static char *raw_config(sxt_dz *t, const char *name, const char *text)
{
    char *path = sxt_strf("%s/%s", t->dir, name);
    cr_assert_eq(sxt_write_file(path, text), 0);
    return path;
}

Test(secrets, no_error_message_shows_a_secret)
{
    sxt_dz t;
    start(&t, NULL);
    hunt h = {0};
    char *url = strdup(sxt_emulator_url(t.emu));

    /* a wrong password (from the environment), which the API rejects */
    sxt_dest *d = sxt_dest_new("stdout", t.dir, NULL, "x");
    configure(&t, d, 0, NULL);
    char *wrong = env_entry("DINAMIZE_PASSWORD", WRONG);
    sxt_result r = siphon_with(&t, (const char *[]){wrong, NULL},
                               (const char *[]){"run", "--config", t.config_path, NULL});
    cr_assert(r.exited && r.status == 4, "exit %d: %s", r.status, r.err);
    add_result(&h, "wrong password", &r);
    sxt_result_free(&r);
    r = siphon_with(&t, (const char *[]){wrong, NULL},
                    (const char *[]){"check", "--config", t.config_path, NULL});
    cr_assert(r.exited && r.status == 4, "exit %d: %s", r.status, r.err);
    add_result(&h, "check with a wrong password", &r);
    sxt_result_free(&r);

    /* configs that are wrong right next to, or inside, a secret */
    const char *pre = "{\"source\":\"dinamize\",\"user\":\"u\",\"client_code\":\"1\",";
    const char *bad[] = {
        "\"passwrod\":\"" PASSWORD_CORE "\"}",                     /* a misspelt secret */
        "\"password\":\"" PASSWORD_CORE "\",\"pasword2\":1}",      /* unknown key beside it */
        "\"password\":\"" PASSWORD_CORE " \"base_url\":\"x\"}",     /* a missing comma */
        "\"password\":" PASSWORD_CORE "}",                          /* not quoted */
        "\"password\":\"" PASSWORD_CORE,                            /* cut off inside it */
        "\"password\":[\"" PASSWORD_CORE "\"]}",                    /* the wrong type */
        "\"password\":\"" PASSWORD_CORE "\",\"workers\":\"" PASSWORD_CORE "\"}",
        "\"password\":\"" PASSWORD_CORE "\",\"streams\":{\"contacts\":{\"page_size\":\"" PASSWORD_CORE
        "\"}}}",
        "\"password\":\"x\",\"sink\":{\"type\":\"postgres\",\"dsn\":\"host=127.0.0.1 port=1 "
        "password=" PG_PASSWORD "\"}}",                              /* unreachable server */
        "\"password\":\"x\",\"sink\":{\"type\":\"postgres\",\"dsn\":\"host=127.0.0.1 password="
        PG_PASSWORD " nonsense\"}}",                                 /* a DSN libpq refuses */
        "\"password\":\"x\",\"sink\":{\"type\":\"postgres\",\"password\":\"" PG_PASSWORD "\","
        "\"pasword\":\"" PG_PASSWORD "\"}}",                         /* misspelt beside it */
        NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        char *text = sxt_strf("%s\"base_url\":\"%s\",%s", pre, url, bad[i]);
        char name[32];
        snprintf(name, sizeof name, "bad%zu.json", i);
        char *path = raw_config(&t, name, text);
        r = siphon_with(&t, NULL, (const char *[]){"run", "--config", path, NULL});
        cr_assert(r.exited && r.status != 0, "config %zu was accepted: %s", i, text);
        cr_assert_gt(r.err_len, 0, "config %zu failed without a message", i);
        char *what = sxt_strf("bad config %zu", i);
        add_result(&h, what, &r);
        free(what);
        sxt_result_free(&r);
        free(path);
        free(text);
    }

    /* the password given as a command-line flag: refused without echoing it */
    r = siphon_with(&t, NULL, (const char *[]){"run", "--password", PASSWORD, "--config",
                                               t.config_path, NULL});
    cr_assert(r.exited && r.status == 2, "a --password flag was not refused: %s", r.err);
    cr_assert_null(strstr(r.err, PASSWORD_CORE), "%s", r.err);
    sxt_result_free(&r);

    /* a plugin that crashes after logging its secret: the crash report */
    char *lab_cfg = raw_config(&t, "lab.json", "{\"source\":\"lab\",\"lab_records\":3}");
    char *lab_env = env_entry("LAB_SECRET", LAB_SECRET);
    char *pp = sxt_strf("%s:%s", sxt_plugins_sinks(), sxt_plugins_lab());
    r = sxt_siphon(pp, (const char *[]){lab_env, NULL}, 60, "run", "--config", lab_cfg,
                   "--select", "crashing,failing", "--log-level", "debug", NULL);
    cr_assert(r.exited && r.status == 6, "exit %d: %s", r.status, r.err);
    cr_assert_not_null(strstr(r.err, "SIGSEGV"), "%s", r.err);
    add_result(&h, "a crashing plugin", &r);
    sxt_result_free(&r);

    /* interrupted by SIGTERM in the middle of a sync */
    json_decref(sxt_emulator_call(t.emu, "/_emulator/faults", "{\"spec\":[\"slow:1,400\"]}"));
    char *ok_pw = env_entry("DINAMIZE_PASSWORD", PASSWORD);
    char *out = sxt_strf("%s/term.out", t.dir), *err = sxt_strf("%s/term.err", t.dir);
    pid_t pid = sxt_siphon_spawn(t.plugin_path, (const char *[]){ok_pw, NULL}, out, err,
                                 (const char *[]){"run", "--config", t.config_path, NULL});
    usleep(900 * 1000);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status), "siphon did not exit after SIGTERM (status %#x)", status);
    add_file(&h, out);
    add_file(&h, err);

    size_t tokens = 0;
    size_t searched = assert_clean_of_all(&t, &h, all_secrets, &tokens);
    cr_log_info("secrets: failed runs, bad configs, a crash, an interrupted run: %zu channels, "
                "%zu tokens: none found\n", searched, tokens);
    free(out);
    free(err);
    free(ok_pw);
    free(pp);
    free(lab_env);
    free(lab_cfg);
    free(wrong);
    free(url);
    sxt_dest_free(d);
    hunt_free(&h);
    sxt_dz_stop(&t);
}

/* The command line (NUL-separated arguments) of a process. */
static char *cmdline_of(pid_t pid, size_t *len)
{
    char *path = sxt_strf("/proc/%d/cmdline", (int)pid);
    char *text = sxt_read_file(path, len);
    free(path);
    return text;
}

Test(secrets, the_command_line_of_a_running_siphon_holds_no_secret)
{
    sxt_dz t;
    /* every answer takes 150 ms, so the run is still going when we look */
    start(&t, (const char *[]){"--latency-ms", "150", NULL});
    sxt_dest *d = sxt_dest_new("stdout", t.dir, NULL, "x");
    configure(&t, d, 0, "{\"workers\":1}");
    char *pw = env_entry("DINAMIZE_PASSWORD", PASSWORD);
    pid_t pid = sxt_siphon_spawn(t.plugin_path, (const char *[]){pw, NULL}, NULL, NULL,
                                 (const char *[]){"run", "--config", t.config_path, NULL});
    /* wait until it is logged in and reading */
    json_int_t seen = 0;
    for (int i = 0; i < 200 && seen < 3; i++) {
        usleep(20 * 1000);
        json_t *stats = sxt_dz_stats(&t);
        seen = json_integer_value(json_object_get(stats, "total"));
        json_decref(stats);
    }
    cr_assert_geq(seen, 3, "siphon never got going");
    size_t len = 0;
    char *cmd = cmdline_of(pid, &len);
    cr_assert_not_null(cmd, "siphon already ended");
    hunt h = {0};
    add(&h, "/proc/PID/cmdline of a running siphon", cmd, len);
    cr_assert_not_null(memmem(cmd, len, "run", 4), "not siphon's command line");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    size_t tokens = 0;
    assert_clean_of_all(&t, &h, all_secrets, &tokens);
    free(cmd);
    free(pw);
    hunt_free(&h);
    sxt_dest_free(d);
    sxt_dz_stop(&t);
}
