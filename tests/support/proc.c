#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's environment: ours, with env's entries replacing or removing. */
static char **build_env(const char *const env[])
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (env && env[m])
        m++;
    char **out = calloc(n + m + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int overridden = 0;
        for (size_t j = 0; j < m; j++)
            if (strncmp(env[j], environ[i], klen) == 0 &&
                (env[j][klen] == '=' || env[j][klen] == '\0'))
                overridden = 1;
        if (!overridden)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++) {
        if (strchr(env[j], '=') != NULL)
            out[k++] = (char *)env[j];
    }
    out[k] = NULL;
    return out;
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        while (ncap < *len + n + 1)
            ncap *= 2;
        *buf = realloc(*buf, ncap);
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

sxt_result sxt_run(const char *const argv[], const char *const env[], const char *input,
                   int timeout_s)
{
    sxt_result r = {0};
    int out_pipe[2], err_pipe[2], in_pipe[2];
    if (pipe(out_pipe) || pipe(err_pipe) || pipe(in_pipe)) {
        r.signal = -1;
        return r;
    }
    char **child_env = build_env(env);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(in_pipe[0]); close(in_pipe[1]);
        close(out_pipe[0]); close(out_pipe[1]);
        close(err_pipe[0]); close(err_pipe[1]);
        setpgid(0, 0);
        execvpe(argv[0], (char *const *)argv, child_env);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(child_env);
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);

    size_t in_len = input ? strlen(input) : 0, in_off = 0;
    if (in_len == 0) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
    } else {
        fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    }
    size_t out_cap = 0, err_cap = 0;
    append(&r.out, &r.out_len, &out_cap, "", 0);
    append(&r.err, &r.err_len, &err_cap, "", 0);
    int open_fds = 2;
    long long deadline = now_ms() + (long long)timeout_s * 1000;
    int killed = 0;
    char buf[65536];
    while (open_fds > 0) {
        struct pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0},
                                {in_pipe[1], POLLOUT, 0}};
        int nfds = in_pipe[1] >= 0 ? 3 : 2;
        long long left = deadline - now_ms();
        if (left <= 0 && !killed) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = 1;
        }
        int pr = poll(fds, nfds, left > 0 ? (int)(left > 200 ? 200 : left) : 200);
        if (pr < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = read(fds[i].fd, buf, sizeof buf);
                if (n > 0) {
                    if (i == 0)
                        append(&r.out, &r.out_len, &out_cap, buf, (size_t)n);
                    else
                        append(&r.err, &r.err_len, &err_cap, buf, (size_t)n);
                } else if (n == 0 || errno != EINTR) {
                    close(fds[i].fd);
                    if (i == 0)
                        out_pipe[0] = -1;
                    else
                        err_pipe[0] = -1;
                    open_fds--;
                }
            }
        }
        if (nfds == 3 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in_pipe[1], input + in_off, in_len - in_off);
            if (n > 0)
                in_off += (size_t)n;
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                in_off = in_len;
            if (in_off >= in_len) {
                close(in_pipe[1]);
                in_pipe[1] = -1;
            }
        }
    }
    if (in_pipe[1] >= 0)
        close(in_pipe[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        r.exited = 1;
        r.status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
    }
    return r;
}

void sxt_result_free(sxt_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

pid_t sxt_spawn(const char *const argv[], const char *const env[], const char *out_path,
                const char *err_path)
{
    char **child_env = build_env(env);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execvpe(argv[0], (char *const *)argv, child_env);
        _exit(127);
    }
    free(child_env);
    return pid;
}

int sxt_stop(pid_t pid, int sig)
{
    int status = 0;
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

char *sxt_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = sxt_strf("%s/siphon-test-%s-XXXXXX", base && *base ? base : "/tmp",
                          tag ? tag : "t");
    if (mkdtemp(tmpl) == NULL) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

void sxt_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *child = sxt_strf("%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                sxt_rmtree(child);
            else
                unlink(child);
            free(child);
        }
        closedir(d);
    }
    rmdir(path);
}

char *sxt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(&buf, &n, &cap, chunk, got);
    fclose(f);
    if (buf == NULL)
        buf = calloc(1, 1);
    if (len)
        *len = n;
    return buf;
}

int sxt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

char *sxt_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

int sxt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t alen = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int sxt_wait_port(int port, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((unsigned short)port);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return 0;
        usleep(20000);
    }
    return -1;
}

size_t sxt_count(const char *haystack, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    if (nl == 0)
        return 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += nl)
        n++;
    return n;
}
