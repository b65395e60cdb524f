/*
 * crash.h: naming the plugin that crashed the process.
 *
 * A plugin runs in the host's address space, so a fault in its code kills the
 * run. What the user needs then is to know whose code it was: the host marks
 * every call into a plugin (sx_crash_enter / sx_crash_leave) in a thread-local
 * slot, and a fatal-signal handler reads that slot and prints
 *
 *     siphon: plugin 'NAME' (FILE) crashed with SIGSEGV in CALLBACK of COMPONENT
 *
 * before it ends the process with SX_EXIT_PLUGIN. A fault outside plugin code
 * prints "siphon: internal error: SIGSEGV" and exits with SX_CRASH_EXIT_INTERNAL.
 * The handler uses write(2) and _exit(2) only (async-signal-safe), and prints
 * no configuration value, so no secret can leak through it.
 */
#ifndef SX_CRASH_H
#define SX_CRASH_H

#include "registry.h"

/* The exit code of a crash outside plugin code (EX_SOFTWARE in sysexits.h). */
#define SX_CRASH_EXIT_INTERNAL 70

/*
 * Installs the handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT, and an
 * alternate signal stack for the calling thread (so a stack overflow is
 * reported too). Call once, early in main. Returns 0, or -1 with errno set.
 */
int sx_crash_install(void);

/*
 * Gives the calling thread its own alternate signal stack. Signal stacks are
 * per thread: a worker thread that calls plugins should call this when it
 * starts and sx_crash_thread_fini before it ends; without it, a crash on that
 * thread is still reported unless it is a stack overflow. Returns 0 or -1.
 */
int sx_crash_thread_init(void);

/* Removes and frees the alternate stack of sx_crash_thread_init. */
void sx_crash_thread_fini(void);

/*
 * Marks the calling thread as running plugin code until the matching
 * sx_crash_leave: plugin p (its file, and its name once its descriptor is
 * known), inside callback (e.g. "read") of component (e.g. "contacts"; NULL
 * when the call belongs to the plugin as a whole, like its entry function).
 * The strings are borrowed until sx_crash_leave and must outlive the call.
 * Calls nest (a host service called from a plugin callback may call another
 * plugin callback); the innermost mark is the one reported. Cheap enough to
 * wrap every per-record callback: a few thread-local stores.
 */
void sx_crash_enter(const sx_plugin *p, const char *component, const char *callback);

/* Ends the innermost mark of sx_crash_enter on the calling thread. */
void sx_crash_leave(void);

#endif
