/*
 * proc.h: helpers the tests share for running real programs (siphon, the
 * emulator, sqlite3, psql) and handling real files. No mocks: tests drive the
 * built binaries the way a user would.
 */
#ifndef SXT_PROC_H
#define SXT_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct sxt_result {
    int exited;        /* non-zero when the process exited normally */
    int status;        /* exit status, when exited */
    int signal;        /* terminating signal, when not exited */
    char *out;         /* everything written to stdout (NUL-terminated) */
    size_t out_len;
    char *err;         /* everything written to stderr */
    size_t err_len;
} sxt_result;

/*
 * Runs argv[0] (a path, or a name looked up in PATH) with argv, the current
 * environment plus env (NULL-terminated "NAME=value" entries, which override;
 * a bare "NAME" without '=' removes NAME), stdin fed from input (NULL: /dev/null),
 * and kills it after timeout_s seconds (the result then has signal SIGKILL).
 * Output is captured in memory. Free with sxt_result_free.
 */
sxt_result sxt_run(const char *const argv[], const char *const env[], const char *input,
                   int timeout_s);
void sxt_result_free(sxt_result *r);

/* Starts a background process with stdout and stderr sent to files (NULL:
 * /dev/null). Returns its pid, or -1. */
pid_t sxt_spawn(const char *const argv[], const char *const env[], const char *out_path,
                const char *err_path);
/* Sends sig and waits for the process; returns its wait status. */
int sxt_stop(pid_t pid, int sig);

/* A fresh temporary directory (malloc'd path); sxt_rmtree removes it. */
char *sxt_tmpdir(const char *tag);
void sxt_rmtree(const char *path);

/* Whole-file helpers; read returns malloc'd NUL-terminated text or NULL. */
char *sxt_read_file(const char *path, size_t *len);
int sxt_write_file(const char *path, const char *text);

/* printf into a malloc'd string. */
char *sxt_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int sxt_free_port(void);

/* Waits until something accepts TCP connections on 127.0.0.1:port; 0 on
 * success, -1 after timeout_ms. */
int sxt_wait_port(int port, int timeout_ms);

/* Counts occurrences of needle in haystack. */
size_t sxt_count(const char *haystack, const char *needle);

#endif
