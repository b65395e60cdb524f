/*
 * tls.h: certificates for serving HTTPS, so clients' TLS verification and
 * custom CA bundles can be tested against the emulator.
 */
#ifndef EMU_TLS_H
#define EMU_TLS_H

#include <stddef.h>

/*
 * Generates a self-signed ECDSA P-256 certificate valid for 127.0.0.1, ::1
 * and localhost, writes dir/cert.pem and dir/key.pem (the key 0600), and
 * returns both PEM texts (malloc'd). 0, or -1 with err set.
 */
int emu_tls_self_signed(const char *dir, char **cert_pem, char **key_pem, char *err,
                        size_t errlen);

/* Reads a whole PEM file (malloc'd text) or returns NULL with err set. */
char *emu_tls_read(const char *path, char *err, size_t errlen);

#endif
