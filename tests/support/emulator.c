#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h"
#include "proc.h"
#include "test-paths.h"

struct sxt_emulator {
    pid_t pid;
    int port;
    char url[128];
    char *dir;
};

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    sxt_http *h = ud;
    size_t add = size * n;
    char *nb = realloc(h->body, h->len + add + 1);
    if (nb == NULL)
        return 0;
    h->body = nb;
    memcpy(h->body + h->len, data, add);
    h->len += add;
    h->body[h->len] = '\0';
    return add;
}

sxt_http sxt_emulator_raw(sxt_emulator *e, const char *method, const char *path,
                          const char *token, const char *body, long timeout_ms,
                          const char *ca_file)
{
    sxt_http h = {0};
    h.body = calloc(1, 1);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        h.curl_code = CURLE_FAILED_INIT;
        return h;
    }
    char *url = sxt_strf("%s%s", e->url, path);
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
    char *tok = NULL;
    if (token) {
        tok = sxt_strf("auth-token: %s", token);
        hdr = curl_slist_append(hdr, tok);
    }
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    h.curl_code = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h.status);
    char *ct = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        h.ctype = strdup(ct);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(tok);
    free(url);
    return h;
}

void sxt_http_free(sxt_http *h)
{
    free(h->body);
    free(h->ctype);
    h->body = h->ctype = NULL;
}

static json_t *parsed(sxt_http h)
{
    json_t *j = NULL;
    if (h.curl_code == 0 && h.body)
        j = json_loads(h.body, JSON_DECODE_ANY, NULL);
    sxt_http_free(&h);
    return j;
}

json_t *sxt_emulator_call(sxt_emulator *e, const char *path, const char *json_body)
{
    return parsed(sxt_emulator_raw(e, "POST", path, NULL, json_body ? json_body : "{}", 0, NULL));
}

json_t *sxt_emulator_call_auth(sxt_emulator *e, const char *token, const char *path,
                               const char *json_body)
{
    return parsed(
        sxt_emulator_raw(e, "POST", path, token, json_body ? json_body : "{}", 0, NULL));
}

json_t *sxt_emulator_get(sxt_emulator *e, const char *path)
{
    return parsed(sxt_emulator_raw(e, "GET", path, NULL, NULL, 0, NULL));
}

char *sxt_emulator_token(sxt_emulator *e)
{
    json_t *a = sxt_emulator_call(e, "/auth",
                                  "{\"user\":\"demo@siphon.test\",\"password\":\"demo-secret-pw\","
                                  "\"client_code\":\"100001\"}");
    const char *t = json_string_value(json_object_get(json_object_get(a, "body"), "auth-token"));
    char *tok = t ? strdup(t) : NULL;
    json_decref(a);
    return tok;
}

json_t *sxt_emulator_dump(sxt_emulator *e, const char *stream)
{
    char *path = sxt_strf("/_emulator/dump?stream=%s", stream);
    sxt_http h = sxt_emulator_raw(e, "GET", path, NULL, NULL, 120000, NULL);
    free(path);
    json_t *arr = NULL;
    if (h.curl_code == 0 && h.status == 200) {
        arr = json_array();
        char *save = NULL;
        for (char *line = strtok_r(h.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            json_t *j = json_loads(line, 0, NULL);
            if (j == NULL) {
                json_decref(arr);
                arr = NULL;
                break;
            }
            json_array_append_new(arr, j);
        }
    }
    sxt_http_free(&h);
    return arr;
}

/* Like sxt_spawn, but the emulator gets SIGTERM when the test process ends:
 * a failed assertion ends a test before sxt_emulator_stop, and must not leave
 * an emulator running. */
static pid_t spawn_tied(const char *const argv[], const char *out_path, const char *err_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int first_line_port(const char *out_path, char *url, size_t urllen)
{
    char *text = sxt_read_file(out_path, NULL);
    int port = -1;
    char *nl = text ? strchr(text, '\n') : NULL;
    if (nl) {
        *nl = '\0';
        const char *p = strstr(text, "://");
        const char *colon = strrchr(text, ':');
        if (strncmp(text, "listening on ", 13) == 0 && p && colon > p) {
            port = atoi(colon + 1);
            snprintf(url, urllen, "%s", text + 13);
        }
    }
    free(text);
    return port;
}

sxt_emulator *sxt_emulator_start(const char *const extra_args[])
{
    if (SX_TEST_EMULATOR[0] == '\0') {
        fprintf(stderr, "sxt_emulator_start: the emulator was not built\n");
        return NULL;
    }
    sxt_emulator *e = calloc(1, sizeof *e);
    e->dir = sxt_tmpdir("emulator");
    size_t n = 0, w = 0;
    while (extra_args && extra_args[n])
        n++;
    const char *wrap_env = getenv("SXT_EMULATOR_WRAP");
    char *wrap = strdup(wrap_env ? wrap_env : "");
    const char **argv = calloc(n + strlen(wrap) / 2 + 6, sizeof *argv);
    char *save = NULL;
    for (char *word = strtok_r(wrap, " ", &save); word; word = strtok_r(NULL, " ", &save))
        argv[w++] = word;
    argv[w++] = SX_TEST_EMULATOR;
    argv[w++] = "--port";
    argv[w++] = "0";
    for (size_t i = 0; i < n; i++)
        argv[w++] = extra_args[i];
    char *out = sxt_strf("%s/stdout", e->dir), *err = sxt_strf("%s/stderr", e->dir);
    e->pid = spawn_tied(argv, out, err);
    free(argv);
    free(wrap);
    for (int i = 0; i < 3000 && e->port <= 0; i++) {
        e->port = first_line_port(out, e->url, sizeof e->url);
        if (e->port > 0)
            break;
        int st;
        if (waitpid(e->pid, &st, WNOHANG) == e->pid) {
            e->pid = -1;
            break;
        }
        nap_ms(10);
    }
    int up = 0;
    if (e->port > 0) {
        if (strncmp(e->url, "https", 5) == 0) {
            up = sxt_wait_port(e->port, 10000) == 0;
        } else {
            for (int i = 0; i < 500 && !up; i++) {
                json_t *h = sxt_emulator_get(e, "/_emulator/health");
                up = json_is_true(json_object_get(h, "ok"));
                json_decref(h);
                if (!up)
                    nap_ms(20);
            }
        }
    }
    if (!up) {
        char *text = sxt_read_file(err, NULL);
        fprintf(stderr, "sxt_emulator_start: the emulator did not come up: %s\n",
                text ? text : "(no stderr)");
        free(text);
        free(out);
        free(err);
        sxt_emulator_stop(e);
        return NULL;
    }
    free(out);
    free(err);
    return e;
}

const char *sxt_emulator_url(const sxt_emulator *e)
{
    return e->url;
}

int sxt_emulator_port(const sxt_emulator *e)
{
    return e->port;
}

int sxt_emulator_pid(const sxt_emulator *e)
{
    return (int)e->pid;
}

int sxt_emulator_stop_status(sxt_emulator *e)
{
    if (e == NULL)
        return -1;
    int status = -1;
    if (e->pid > 0) {
        status = sxt_stop(e->pid, SIGTERM);
        /* A dirty exit (a sanitizer report, a crash) must not go unseen. */
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char *path = sxt_strf("%s/stderr", e->dir);
            char *text = sxt_read_file(path, NULL);
            fprintf(stderr, "sxt_emulator_stop: the emulator exited with wait status %d:\n%s\n",
                    status, text ? text : "(no stderr)");
            free(text);
            free(path);
        }
    }
    if (e->dir) {
        sxt_rmtree(e->dir);
        free(e->dir);
    }
    free(e);
    return status;
}

void sxt_emulator_stop(sxt_emulator *e)
{
    sxt_emulator_stop_status(e);
}
