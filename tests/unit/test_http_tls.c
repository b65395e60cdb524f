#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <siphon/siphon.h>

#include "http.h"
#include "httpd.h"
#include "proc.h"
#include "deadline.h"

SXT_DEADLINE(300)

/*
 * A self-signed certificate for the address 127.0.0.1 only (EC P-256, valid
 * 2000-2125), made for these tests and trusted nowhere else; its key is
 * public on purpose. "localhost" reaches the same server under a name the
 * certificate does not hold.
 */
static const char TEST_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBfjCCASSgAwIBAgIBATAKBggqhkjOPQQDAjAdMRswGQYDVQQDDBJzaXBob24g\n"
    "dGVzdCBzZXJ2ZXIwIBcNMDAwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBaMB0x\n"
    "GzAZBgNVBAMMEnNpcGhvbiB0ZXN0IHNlcnZlcjBZMBMGByqGSM49AgEGCCqGSM49\n"
    "AwEHA0IABMGPxkhxRMt3okTFFrwwMu71BFi38r0LjDn7QjS6kKSpi8KgPZIq1WQl\n"
    "oTyhuQoRrJlOwDCaX675naNd39UdxiijUzBRMA8GA1UdEwEB/wQFMAMBAf8wDwYD\n"
    "VR0RBAgwBocEfwAAATAdBgNVHQ4EFgQUDMT9kNeN70K1aYd9ETBGGT/xaNgwDgYD\n"
    "VR0PAQH/BAQDAgKEMAoGCCqGSM49BAMCA0gAMEUCIQCw0FFPa3jDV+vN/Ywxvqkg\n"
    "WXBsZ5siM5LHol4HvKdBpAIgbq/YAjL1qX350tNPKobaadClSV46TuWAxKVmkPYS\n"
    "+cE=\n"
    "-----END CERTIFICATE-----\n";

static const char TEST_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc1b1k67tpjxoe1BR\n"
    "0QgvfpbVmGE5DIMhrHd9oXWNtz6hRANCAATBj8ZIcUTLd6JExRa8MDLu9QRYt/K9\n"
    "C4w5+0I0upCkqYvCoD2SKtVkJaE8obkKEayZTsAwml+u+Z2jXd/VHcYo\n"
    "-----END PRIVATE KEY-----\n";

typedef struct tls_rig {
    sxt_httpd *server;
    char *dir;
    char *ca_path;
} tls_rig;

static void tls_start(tls_rig *t)
{
    cr_assert_eq(sx_http_global_init(), 0);
    t->server = sxt_httpd_start_tls(TEST_CERT, TEST_KEY);
    cr_assert_not_null(t->server, "the scripted server could not start over TLS");
    t->dir = sxt_tmpdir("tls");
    cr_assert_not_null(t->dir);
    t->ca_path = sxt_strf("%s/ca.pem", t->dir);
    cr_assert_eq(sxt_write_file(t->ca_path, TEST_CERT), 0);
    sxt_reply ok = {.body = "secure ok"};
    sxt_httpd_set_default(t->server, "/p", &ok);
}

static void tls_stop(tls_rig *t)
{
    sxt_httpd_stop(t->server);
    sxt_rmtree(t->dir);
    free(t->dir);
    free(t->ca_path);
    sx_http_global_cleanup();
}

typedef struct outcome {
    int rc;
    long status;
    char text[128];
    char message[1024];
} outcome;

static outcome fetch(const char *base_url, const char *ca_bundle)
{
    sx_http_config cfg = {
        .base_url = base_url,
        .ca_bundle = ca_bundle,
        /* Generous: loading the system CA store and the handshake are slow
         * under valgrind, and a timeout would hide the failure under test. */
        .timeout_ms = 120000,
        .connect_timeout_ms = 120000,
        .retry = {.max_attempts = 3, .base_ms = 10, .max_ms = 20},
    };
    sx_http *h = sx_http_new(&cfg, NULL);
    cr_assert_not_null(h);
    siphon_http_request req = {.struct_size = sizeof req, .path = "/p", .body = "{}"};
    siphon_http_response resp = {.struct_size = sizeof resp};
    sx_http_buffer body = {0};
    outcome o = {0};
    o.rc = sx_http_perform(h, &req, NULL, &body, &resp, NULL, o.message, sizeof o.message);
    o.status = resp.status;
    snprintf(o.text, sizeof o.text, "%s", resp.body != NULL ? resp.body : "");
    sx_http_buffer_free(&body);
    sx_http_free(h);
    return o;
}

Test(http_tls, ca_bundle_makes_a_private_certificate_trusted, .init = sxt_deadline_300s)
{
    tls_rig t;
    tls_start(&t);
    outcome o = fetch(sxt_httpd_url(t.server), t.ca_path);
    cr_assert_eq(o.rc, SIPHON_OK, "%s", o.message);
    cr_assert_eq(o.status, 200);
    cr_assert_str_eq(o.text, "secure ok");
    tls_stop(&t);
}

Test(http_tls, untrusted_certificate_fails_at_once_and_says_why, .init = sxt_deadline_300s)
{
    tls_rig t;
    tls_start(&t);
    outcome o = fetch(sxt_httpd_url(t.server), NULL);
    cr_assert_eq(o.rc, SIPHON_E_TRANSPORT);
    char *prefix = sxt_strf("POST %s/p: ", sxt_httpd_url(t.server));
    cr_assert(strncmp(o.message, prefix, strlen(prefix)) == 0, "message: %s", o.message);
    cr_assert(strstr(o.message, "certificate") != NULL, "message: %s", o.message);
    cr_assert_null(strstr(o.message, "gave up"), "verification failures are not retried: %s",
                   o.message);
    cr_assert_eq(sxt_httpd_count(t.server, NULL), 0, "no request may pass an unverified peer");
    free(prefix);
    tls_stop(&t);
}

Test(http_tls, host_name_must_match_the_certificate, .init = sxt_deadline_300s)
{
    tls_rig t;
    tls_start(&t);
    const char *url = sxt_httpd_url(t.server);
    char *by_name = sxt_strf("https://localhost%s", strrchr(url, ':'));
    outcome o = fetch(by_name, t.ca_path);
    cr_assert_eq(o.rc, SIPHON_E_TRANSPORT, "%s", o.message);
    cr_assert(strstr(o.message, "localhost") != NULL, "message: %s", o.message);
    cr_assert_null(strstr(o.message, "gave up"), "a name mismatch is not retried: %s", o.message);
    cr_assert_eq(sxt_httpd_count(t.server, NULL), 0);
    free(by_name);
    tls_stop(&t);
}

Test(http_tls, missing_ca_bundle_file_is_named_in_the_error, .init = sxt_deadline_300s)
{
    tls_rig t;
    tls_start(&t);
    char *missing = sxt_strf("%s/no-such-ca.pem", t.dir);
    outcome o = fetch(sxt_httpd_url(t.server), missing);
    cr_assert_eq(o.rc, SIPHON_E_TRANSPORT);
    cr_assert(strstr(o.message, missing) != NULL, "message: %s", o.message);
    cr_assert_null(strstr(o.message, "gave up"), "message: %s", o.message);
    free(missing);
    tls_stop(&t);
}
