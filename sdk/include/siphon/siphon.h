/*
 * siphon.h: everything a siphon plugin needs, in one include.
 *
 *   siphon-version.h  the ABI and release numbers the plugin is built against
 *   siphon-plugin.h   the descriptor, components, options and vtables it declares
 *   siphon-host.h     the services the host offers it
 *
 * Build a plugin against the installed SDK with `pkg-config --cflags --libs
 * siphon-plugin`, install it into `pkg-config --variable=plugindir
 * siphon-plugin`, and check it loads with `siphon plugins inspect NAME`.
 */
#ifndef SIPHON_H
#define SIPHON_H

#include <siphon/siphon-version.h>
#include <siphon/siphon-plugin.h>
#include <siphon/siphon-host.h>

#endif
