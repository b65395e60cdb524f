/* HTTPS with a generated self-signed certificate. */
#include <curl/curl.h>
#include <sys/stat.h>

#include "emu_test.h"

static const char good[] =
    "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\",\"client_code\":\"100001\"}";

Test(tls, a_self_signed_certificate_verifies_against_itself_and_nothing_else)
{
    char *dir = sxt_tmpdir("emu-tls");
    char *certs = sxt_strf("%s/certs", dir);
    sxt_emulator *e = emu_up(EMU_START("--tls-self-signed", certs));
    cr_assert_eq(strncmp(sxt_emulator_url(e), "https://", 8), 0, "%s", sxt_emulator_url(e));
    char *cert = sxt_strf("%s/cert.pem", certs), *key = sxt_strf("%s/key.pem", certs);
    struct stat st;
    cr_assert_eq(stat(key, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "the key is private to its owner");
    sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, cert);
    cr_assert_eq(h.curl_code, 0, "curl error %d", h.curl_code);
    json_t *env = json_loads(h.body, 0, NULL);
    cr_assert_str_eq(emu_code(env), "480001");
    json_decref(env);
    sxt_http_free(&h);
    /* With the system's CA bundle, verification fails. */
    h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, NULL);
    cr_assert_eq(h.curl_code, CURLE_PEER_FAILED_VERIFICATION, "curl said %d", h.curl_code);
    sxt_http_free(&h);
    sxt_emulator_stop(e);

    /* The same files serve again through --tls-cert/--tls-key. */
    e = emu_up(EMU_START("--tls-cert", cert, "--tls-key", key));
    h = sxt_emulator_raw(e, "POST", "/auth", NULL, good, 0, cert);
    cr_assert_eq(h.curl_code, 0);
    cr_assert_eq(h.status, 200);
    sxt_http_free(&h);
    sxt_emulator_stop(e);
    free(cert);
    free(key);
    free(certs);
    sxt_rmtree(dir);
    free(dir);
}
