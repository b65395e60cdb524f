/*
 * dinamize-emulator: a stand-in for the Dinamize API for tests, demos and
 * benchmarks. See README.md next to this file for the command line, the
 * control interface and the choices the emulator makes where the real API is
 * unknown.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "options.h"
#include "server.h"
#include "tls.h"

/* Writes the port through a temporary file and a rename, so a reader never
 * sees a half-written number. */
static int write_port_file(const char *path, int port)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f) {
        int w = fprintf(f, "%d\n", port);
        if (fclose(f) == 0 && w > 0 && rename(tmp, path) == 0)
            rc = 0;
    }
    if (rc != 0) {
        fprintf(stderr, "dinamize-emulator: cannot write --port-file %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    emu_options o;
    int prc = emu_options_parse(&o, argc, argv);
    if (prc != 0) {
        emu_options_free(&o);
        return prc > 0 ? 0 : 2;
    }

    /* Signals are taken by sigwait in this thread only: block them before any
     * thread starts so every thread inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    char err[1024] = "";
    char *cert = NULL, *key = NULL;
    emu_server S;
    struct MHD_Daemon *d = NULL;
    if (emu_server_init(&S, &o, err, sizeof err) != 0) {
        fprintf(stderr, "dinamize-emulator: %s\n", err);
        emu_server_free(&S);
        emu_options_free(&o);
        return 2;
    }
    if (o.tls_self_signed) {
        if (emu_tls_self_signed(o.tls_self_signed, &cert, &key, err, sizeof err) != 0)
            goto out;
    } else if (o.tls_cert) {
        cert = emu_tls_read(o.tls_cert, err, sizeof err);
        key = cert ? emu_tls_read(o.tls_key, err, sizeof err) : NULL;
        if (key == NULL)
            goto out;
    }
    int port = 0;
    d = emu_http_start(&S, cert, key, &port, err, sizeof err);
    if (d == NULL)
        goto out;
    if (o.port_file && write_port_file(o.port_file, port) != 0)
        goto out;
    int v6 = strchr(o.bind, ':') != NULL;
    printf("listening on %s://%s%s%s:%d\n", cert ? "https" : "http", v6 ? "[" : "", o.bind,
           v6 ? "]" : "", port);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    S.stopping = 1;
    fprintf(stderr, "dinamize-emulator: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
out:
    if (rc != 0 && err[0])
        fprintf(stderr, "dinamize-emulator: %s\n", err);
    if (d)
        emu_http_stop(d);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    free(cert);
    emu_server_free(&S);
    emu_options_free(&o);
    return rc;
}
