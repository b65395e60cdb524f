/*
 * kill_shim.c: an LD_PRELOAD library that SIGKILLs the process it is loaded
 * into at an exact point of a commit, for the crash-and-resume tests.
 *
 * A timer kill lands wherever the process happens to be, which is rarely
 * inside the few milliseconds a commit takes. This library counts the calls
 * that make data durable and kills the process at the Nth of them:
 *
 *   SXT_KILL_AT=write:N     the Nth write to a data file (write, pwrite, writev)
 *   SXT_KILL_AT=fsync:N     the Nth fsync or fdatasync
 *   SXT_KILL_AT=rename:N    the Nth rename
 *   SXT_KILL_AT=commit:N    the Nth COMMIT sent to a PostgreSQL server
 *
 * optionally followed by ":after" to let the call finish first (the COMMIT
 * reaches the server, the rename is done) and kill right after it. The
 * process gets SIGKILL from itself: no handler runs, nothing is flushed,
 * exactly as when the machine's operator kills it.
 *
 * With SXT_KILL_COUNT=FILE the library instead counts every event and writes
 * "write N\nfsync N\nrename N\ncommit N\n" to FILE at exit, so a test can
 * draw its kill points from an uninterrupted run.
 *
 * Only the calls the process makes through libc's dynamic symbols are seen;
 * that is every call of siphon, its plugins, SQLite and libpq.
 */
/* Both pwrite and pwrite64 are wrapped: the build's 64-bit file offsets
 * would make the first a second definition of the other. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { EV_WRITE, EV_FSYNC, EV_RENAME, EV_COMMIT, EV_COUNT };
static const char *const ev_names[EV_COUNT] = {"write", "fsync", "rename", "commit"};

static atomic_long counts[EV_COUNT];
static int kill_event = -1;
static long kill_at;
static int kill_after;
static const char *count_file;

__attribute__((constructor)) static void shim_init(void)
{
    count_file = getenv("SXT_KILL_COUNT");
    const char *spec = getenv("SXT_KILL_AT");
    if (spec == NULL)
        return;
    for (int e = 0; e < EV_COUNT; e++) {
        size_t n = strlen(ev_names[e]);
        if (strncmp(spec, ev_names[e], n) == 0 && spec[n] == ':') {
            char *end;
            kill_at = strtol(spec + n + 1, &end, 10);
            kill_after = strcmp(end, ":after") == 0;
            kill_event = kill_at > 0 ? e : -1;
        }
    }
}

__attribute__((destructor)) static void shim_report(void)
{
    if (count_file == NULL)
        return;
    FILE *f = fopen(count_file, "w");
    if (f == NULL)
        return;
    for (int e = 0; e < EV_COUNT; e++)
        fprintf(f, "%s %ld\n", ev_names[e], atomic_load(&counts[e]));
    fclose(f);
}

/* Counts one event; non-zero when this is the one to die at. */
static int hit(int event)
{
    long n = atomic_fetch_add(&counts[event], 1) + 1;
    return event == kill_event && n == kill_at;
}

static void die(void)
{
    raise(SIGKILL);
    for (;;)
        pause();
}

static void *next(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL)
        abort();
    return fn;
}

/* A data file: regular, and not stdout or stderr sent to a file. */
static int regular(int fd)
{
    struct stat st;
    return fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

#define AROUND(event, call)                                                    \
    do {                                                                       \
        int dying = hit(event);                                                \
        if (dying && !kill_after)                                              \
            die();                                                             \
        __typeof__(call) result_ = call;                                       \
        if (dying)                                                             \
            die();                                                             \
        return result_;                                                        \
    } while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (real == NULL)
        real = next("write");
    if (!regular(fd))
        return real(fd, buf, n);
    AROUND(EV_WRITE, real(fd, buf, n));
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (real == NULL)
        real = next("pwrite");
    AROUND(EV_WRITE, real(fd, buf, n, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off64_t);
    if (real == NULL)
        real = next("pwrite64");
    AROUND(EV_WRITE, real(fd, buf, n, off));
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (real == NULL)
        real = next("writev");
    if (!regular(fd))
        return real(fd, iov, n);
    AROUND(EV_WRITE, real(fd, iov, n));
}

int fsync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        real = next("fsync");
    AROUND(EV_FSYNC, real(fd));
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        real = next("fdatasync");
    AROUND(EV_FSYNC, real(fd));
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (real == NULL)
        real = next("rename");
    AROUND(EV_RENAME, real(from, to));
}

int renameat(int fromdir, const char *from, int todir, const char *to)
{
    static int (*real)(int, const char *, int, const char *);
    if (real == NULL)
        real = next("renameat");
    AROUND(EV_RENAME, real(fromdir, from, todir, to));
}

/* A simple-query message ('Q', length, text) whose text is COMMIT. */
static int pg_commit(const void *buf, size_t n)
{
    static const char text[] = "COMMIT";
    const unsigned char *p = buf;
    return n >= 5 + sizeof text && p[0] == 'Q' && memcmp(p + 5, text, sizeof text) == 0;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    if (real == NULL)
        real = next("send");
    if (!pg_commit(buf, n))
        return real(fd, buf, n, flags);
    AROUND(EV_COMMIT, real(fd, buf, n, flags));
}
