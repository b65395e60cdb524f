#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tls.h"

char *emu_tls_read(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + got + 1 > cap) {
            cap = (n + got + 1) * 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "out of memory reading %s", path);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(f);
    if (buf == NULL || strstr(buf, "-----BEGIN") == NULL) {
        free(buf);
        snprintf(err, errlen, "%s holds no PEM data", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Writes text to dir/name through a temporary file and a rename. */
static int write_file(const char *dir, const char *name, const char *text, size_t len,
                      mode_t mode, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

#define TRY(call, what)                                                                \
    do {                                                                               \
        int rc_ = (call);                                                              \
        if (rc_ < 0) {                                                                 \
            snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc_));               \
            goto out;                                                                  \
        }                                                                              \
    } while (0)

int emu_tls_self_signed(const char *dir, char **cert_pem, char **key_pem, char *err,
                        size_t errlen)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
    int ok = -1;
    *cert_pem = *key_pem = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    TRY(gnutls_x509_privkey_init(&key), "key");
    TRY(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        "generating the key");
    TRY(gnutls_x509_crt_init(&crt), "certificate");
    TRY(gnutls_x509_crt_set_version(crt, 3), "version");
    unsigned char serial[16];
    TRY(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial), "serial");
    serial[0] &= 0x7f;
    TRY(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), "serial");
    time_t now = time(NULL);
    TRY(gnutls_x509_crt_set_activation_time(crt, now - 86400), "activation time");
    TRY(gnutls_x509_crt_set_expiration_time(crt, now + 365L * 86400), "expiration time");
    TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9),
        "subject");
    TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                      "dinamize-emulator", 17),
        "subject");
    TRY(gnutls_x509_crt_set_key(crt, key), "public key");
    /* Its own CA, so a client can trust exactly this file as its CA bundle. */
    TRY(gnutls_x509_crt_set_basic_constraints(crt, 1, -1), "basic constraints");
    TRY(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                               GNUTLS_KEY_KEY_CERT_SIGN),
        "key usage");
    TRY(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "purpose");
    TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                             GNUTLS_FSAN_APPEND),
        "alt name");
    static const unsigned char v4[4] = {127, 0, 0, 1};
    static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, 4,
                                             GNUTLS_FSAN_APPEND),
        "alt name");
    TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, 16,
                                             GNUTLS_FSAN_APPEND),
        "alt name");
    unsigned char kid[64];
    size_t kidlen = sizeof kid;
    TRY(gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen), "key id");
    TRY(gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen), "key id");
    TRY(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "signing");
    TRY(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd), "exporting the certificate");
    TRY(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd), "exporting the key");
    if (write_file(dir, "key.pem", (const char *)kd.data, kd.size, 0600, err, errlen) != 0 ||
        write_file(dir, "cert.pem", (const char *)cd.data, cd.size, 0644, err, errlen) != 0)
        goto out;
    *cert_pem = strndup((const char *)cd.data, cd.size);
    *key_pem = strndup((const char *)kd.data, kd.size);
    ok = *cert_pem && *key_pem ? 0 : -1;
out:
    if (cd.data)
        gnutls_free(cd.data);
    if (kd.data) {
        memset(kd.data, 0, kd.size);
        gnutls_free(kd.data);
    }
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    if (ok != 0) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
    }
    return ok;
}
