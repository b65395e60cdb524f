/*
 * http.h: the HTTP(S) server (libmicrohttpd, one thread per connection so a
 * slow answer never blocks other clients), routing /_emulator/ to the control
 * interface and everything else to the API.
 */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stddef.h>

#include "server.h"

struct MHD_Daemon;

/*
 * Starts listening on S->o->bind and S->o->port (HTTPS when cert_pem and
 * key_pem are given; they must outlive the daemon). Sets *port to the port in
 * use. Returns the daemon, or NULL with err set.
 */
struct MHD_Daemon *emu_http_start(emu_server *S, const char *cert_pem, const char *key_pem,
                                  int *port, char *err, size_t errlen);

/* Stops the daemon, waiting for connection threads to finish. */
void emu_http_stop(struct MHD_Daemon *d);

#endif
