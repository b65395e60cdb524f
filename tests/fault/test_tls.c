/*
 * test_tls.c: TLS verification is on by default. Against the emulator
 * serving HTTPS with a self-signed certificate, siphon fails at once with a
 * message naming TLS and the certificate, sends nothing and commits nothing;
 * with ca_bundle set to that certificate the same sync succeeds and holds
 * exactly the emulator's records; a trusted certificate issued for another
 * name, and a CA bundle that cannot be read, fail as clearly.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"
#include "siphon_cli.h"
#include "deadline.h"

SXT_DEADLINE(120)

TestSuite(tls_verify, .init = sxt_deadline_120s);

typedef struct tls_rig {
    sxt_dz t;
    char *dir;   /* where the emulator put its certificate */
    char *ca;    /* dir/certs/cert.pem */
} tls_rig;

/* An emulator serving HTTPS with a certificate it made for localhost,
 * 127.0.0.1 and ::1, listening on bind. */
static void start_tls(tls_rig *g, const char *bind)
{
    g->dir = sxt_tmpdir("tls");
    char *certs = sxt_strf("%s/certs", g->dir);
    const char *args[] = {SXT_FZ_EMULATOR, "--tls-self-signed", certs, "--bind", bind, NULL};
    sxt_dz_start(&g->t, args, NULL);
    cr_assert(strncmp(sxt_emulator_url(g->t.emu), "https://", 8) == 0, "%s",
              sxt_emulator_url(g->t.emu));
    g->ca = sxt_strf("%s/cert.pem", certs);
    free(certs);
}

static void stop_tls(tls_rig *g)
{
    sxt_dz_stop(&g->t);
    sxt_rmtree(g->dir);
    free(g->dir);
    free(g->ca);
}

/* The emulator counted no request (its stats are read over TLS with its own
 * certificate, so only when the URL's name is one the certificate holds),
 * and the destination holds no row. */
static void assert_nothing_sent_or_committed(sxt_dz *t, sxt_dest *d, int stats_readable)
{
    if (stats_readable) {
        json_t *stats = sxt_dz_stats(t);
        cr_assert_eq(json_integer_value(json_object_get(stats, "total")), 0,
                     "a request passed an unverified server");
        json_decref(stats);
    }
    json_t *rows = sxt_dest_rows(d);
    const char *stream;
    json_t *rs;
    json_object_foreach(rows, stream, rs)
        cr_assert_eq(json_array_size(rs), 0, "%s has rows from an unverified server", stream);
    json_decref(rows);
}

Test(tls_verify, a_self_signed_server_fails_naming_tls_and_the_certificate)
{
    tls_rig g;
    start_tls(&g, "127.0.0.1");
    sxt_dz *t = &g.t;
    sxt_dest *d = sxt_dest_new("sqlite", t->dir, NULL, "untrusted");
    sxt_result r = sxt_fz_run(t, d, NULL, NULL, NULL);
    cr_assert(r.exited && r.status == 1, "exit %d (signal %d), want 1:\n%s", r.status, r.signal,
              r.err);
    cr_assert_not_null(strstr(r.err, "TLS: the server's certificate is not trusted"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "self-signed certificate"), "%s", r.err);
    cr_assert_null(strstr(r.err, "gave up"), "a verification failure is not retried:\n%s", r.err);
    assert_nothing_sent_or_committed(t, d, 1);
    sxt_result_free(&r);

    /* `check` says the same */
    r = sxt_siphon_argv(t->plugin_path, NULL, NULL, 60,
                        (const char *[]){"check", "--config", t->config_path, NULL});
    cr_assert(r.exited && r.status != 0, "check passed against an untrusted server");
    cr_assert_not_null(strstr(r.err, "certificate is not trusted"), "%s", r.err);
    sxt_result_free(&r);
    sxt_dest_free(d);
    stop_tls(&g);
}

Test(tls_verify, the_certificate_as_ca_bundle_makes_the_sync_succeed)
{
    tls_rig g;
    start_tls(&g, "127.0.0.1");
    sxt_dz *t = &g.t;
    const char *ca = g.ca;
    char *config = sxt_strf("{\"ca_bundle\":\"%s\"}", ca);
    for (size_t s = 0; s < 2; s++) {
        const char *sink = s == 0 ? "stdout" : "sqlite";
        sxt_dest *d = sxt_dest_new(sink, t->dir, NULL, "trusted");
        sxt_result r = sxt_fz_run(t, d, config, NULL, NULL);
        cr_assert(r.exited && r.status == 0, "%s: %s", sink, r.err);
        json_t *rows = sxt_dest_rows(d);
        sxt_fz_assert_emulator(t, d, rows, NULL, 0);
        json_decref(rows);
        sxt_result_free(&r);
        sxt_dest_free(d);
    }
    free(config);
    stop_tls(&g);
}

Test(tls_verify, a_trusted_certificate_for_another_name_is_refused)
{
    tls_rig g;
    /* the certificate names localhost, 127.0.0.1 and ::1, not 127.0.0.2 */
    start_tls(&g, "127.0.0.2");
    sxt_dz *t = &g.t;
    const char *ca = g.ca;
    char *config = sxt_strf("{\"ca_bundle\":\"%s\"}", ca);
    sxt_dest *d = sxt_dest_new("sqlite", t->dir, NULL, "misnamed");
    sxt_result r = sxt_fz_run(t, d, config, NULL, NULL);
    cr_assert(r.exited && r.status == 1, "exit %d (signal %d), want 1:\n%s", r.status, r.signal,
              r.err);
    cr_assert_not_null(strstr(r.err, "not valid for the host name"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "127.0.0.2"), "%s", r.err);
    assert_nothing_sent_or_committed(t, d, 0);
    sxt_result_free(&r);
    free(config);
    sxt_dest_free(d);
    stop_tls(&g);
}

Test(tls_verify, a_ca_bundle_that_cannot_be_read_is_named)
{
    tls_rig g;
    start_tls(&g, "127.0.0.1");
    sxt_dz *t = &g.t;
    char *garbage = sxt_strf("%s/garbage.pem", t->dir);
    sxt_write_file(garbage, "not a certificate\n");
    const char *bundles[] = {"/nonexistent/ca.pem", garbage};
    for (size_t i = 0; i < 2; i++) {
        char *config = sxt_strf("{\"ca_bundle\":\"%s\"}", bundles[i]);
        sxt_dest *d = sxt_dest_new("stdout", t->dir, NULL, "x");
        sxt_result r = sxt_fz_run(t, d, config, NULL, NULL);
        cr_assert(r.exited && r.status == 1, "exit %d, want 1:\n%s", r.status, r.err);
        cr_assert_not_null(strstr(r.err, "TLS: the CA bundle cannot be read"), "%s", r.err);
        cr_assert_not_null(strstr(r.err, bundles[i]), "%s", r.err);
        sxt_result_free(&r);
        sxt_dest_free(d);
        free(config);
    }
    free(garbage);
    stop_tls(&g);
}
