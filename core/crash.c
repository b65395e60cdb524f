#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"

/*
 * Marks nest only as deep as a host service that calls back into a plugin
 * (an HTTP classifier inside read); eight is far beyond that. Deeper marks are
 * counted but not stored, so the report then names an outer call.
 */
#define CRASH_MAX_DEPTH 8

typedef struct crash_mark {
    const sx_plugin *plugin;
    const char *component;
    const char *callback;
} crash_mark;

/* Thread-local so every worker reports its own plugin; read by the handler on
 * the faulting thread. volatile: the handler reads them behind the compiler's
 * back. initial-exec: the core is linked into executables only, and the
 * default model for position-independent code would make every mark a call
 * to __tls_get_addr (marks wrap per-record callbacks, so they must be a few
 * stores). */
#define CRASH_TLS _Thread_local __attribute__((tls_model("initial-exec")))
static CRASH_TLS crash_mark volatile crash_marks[CRASH_MAX_DEPTH];
static CRASH_TLS unsigned volatile crash_depth;

/* A thread's alternate stack must hold the handler even when the fault was a
 * stack overflow; 64 KiB is several times what the handler needs. */
#define CRASH_STACK_SIZE (64u * 1024u)
static char crash_main_stack[CRASH_STACK_SIZE];
static _Thread_local void *crash_thread_stack;

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

void sx_crash_enter(const sx_plugin *p, const char *component, const char *callback)
{
    unsigned depth = crash_depth;
    if (depth < CRASH_MAX_DEPTH) {
        crash_marks[depth].plugin = p;
        crash_marks[depth].component = component;
        crash_marks[depth].callback = callback;
    }
    /* The mark must be complete before the depth makes it visible. */
    atomic_signal_fence(memory_order_seq_cst);
    crash_depth = depth + 1;
}

void sx_crash_leave(void)
{
    if (crash_depth > 0)
        crash_depth = crash_depth - 1;
}

/* strsignal() is not async-signal-safe; these are the only signals we catch. */
static const char *crash_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
    }
}

typedef struct crash_text {
    char buf[4608];   /* a PATH_MAX file name plus the rest of the line */
    size_t len;
} crash_text;

static void crash_append(crash_text *t, const char *s)
{
    if (s == NULL)
        s = "?";
    while (*s != '\0' && t->len < sizeof t->buf - 1)
        t->buf[t->len++] = *s++;
}

static void crash_write(const crash_text *t)
{
    size_t off = 0;
    while (off < t->len) {
        ssize_t n = write(STDERR_FILENO, t->buf + off, t->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

static void crash_handler(int sig, siginfo_t *info, void *uctx)
{
    (void)info;
    (void)uctx;
    crash_text t;
    t.len = 0;
    unsigned depth = crash_depth;
    if (depth == 0) {
        crash_append(&t, "siphon: internal error: ");
        crash_append(&t, crash_signal_name(sig));
        crash_append(&t, "\n");
        crash_write(&t);
        _exit(SX_CRASH_EXIT_INTERNAL);
    }
    unsigned top = (depth > CRASH_MAX_DEPTH ? CRASH_MAX_DEPTH : depth) - 1;
    const crash_mark volatile *m = &crash_marks[top];
    const sx_plugin *p = m->plugin;
    /* Before its descriptor is checked a plugin has no trusted name: the file
     * alone names it then. */
    const char *name = p != NULL && p->desc != NULL ? p->desc->name : NULL;
    crash_append(&t, "siphon: plugin ");
    if (name != NULL) {
        crash_append(&t, "'");
        crash_append(&t, name);
        crash_append(&t, "' (");
        crash_append(&t, p->path);
        crash_append(&t, ")");
    } else {
        crash_append(&t, p != NULL ? p->path : NULL);
    }
    crash_append(&t, " crashed with ");
    crash_append(&t, crash_signal_name(sig));
    if (m->callback != NULL) {
        crash_append(&t, " in ");
        crash_append(&t, m->callback);
    }
    if (m->component != NULL) {
        crash_append(&t, " of ");
        crash_append(&t, m->component);
    }
    crash_append(&t, "\n");
    crash_write(&t);
    _exit(SX_EXIT_PLUGIN);
}

static int crash_set_stack(void *stack, size_t size)
{
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = stack;
    ss.ss_size = size;
    ss.ss_flags = 0;
    return sigaltstack(&ss, NULL);
}

int sx_crash_install(void)
{
    if (crash_set_stack(crash_main_stack, sizeof crash_main_stack) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = crash_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    /* A second fatal signal while reporting the first would garble the line;
     * block them all until _exit. */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigaddset(&sa.sa_mask, crash_signals[i]);
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        if (sigaction(crash_signals[i], &sa, NULL) != 0)
            return -1;
    return 0;
}

int sx_crash_thread_init(void)
{
    if (crash_thread_stack != NULL)
        return 0;
    void *stack = malloc(CRASH_STACK_SIZE);
    if (stack == NULL)
        return -1;
    if (crash_set_stack(stack, CRASH_STACK_SIZE) != 0) {
        free(stack);
        return -1;
    }
    crash_thread_stack = stack;
    return 0;
}

void sx_crash_thread_fini(void)
{
    if (crash_thread_stack == NULL)
        return;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    free(crash_thread_stack);
    crash_thread_stack = NULL;
}
