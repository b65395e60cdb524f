#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "mask.h"

/* Process-wide: one stderr, one level, one progress line. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_min_level = SIPHON_LOG_INFO;
static void (*progress_redraw)(void *);
static void (*progress_clear)(void *);
static void *progress_user;

void sx_log_set_level(int level)
{
    log_min_level = level;
}

int sx_log_level(void)
{
    return log_min_level;
}

int sx_log_level_parse(const char *name)
{
    static const struct { const char *name; int level; } levels[] = {
        {"debug", SIPHON_LOG_DEBUG}, {"info", SIPHON_LOG_INFO},
        {"warn", SIPHON_LOG_WARN}, {"warning", SIPHON_LOG_WARN}, {"error", SIPHON_LOG_ERROR},
    };
    for (size_t i = 0; name != NULL && i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(name, levels[i].name) == 0)
            return levels[i].level;
    return -1;
}

static const char *level_name(int level)
{
    if (level >= SIPHON_LOG_ERROR)
        return "ERROR";
    if (level >= SIPHON_LOG_WARN)
        return "WARN";
    if (level >= SIPHON_LOG_INFO)
        return "INFO";
    return "DEBUG";
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void emit_locked(const char *masked, size_t len)
{
    if (progress_clear)
        progress_clear(progress_user);
    write_all(masked, len);
    if (progress_redraw)
        progress_redraw(progress_user);
}

void sx_log_line(const char *line)
{
    char masked[8192];
    size_t n = sx_mask(line, masked, sizeof masked - 1);
    if (n == 0 || masked[n - 1] != '\n')
        masked[n++] = '\n';
    masked[n] = '\0';
    pthread_mutex_lock(&log_lock);
    emit_locked(masked, n);
    pthread_mutex_unlock(&log_lock);
}

void sx_vlog(int level, const char *component, const char *fmt, va_list ap)
{
    if (level < log_min_level)
        return;
    char raw[8192];
    int off = component ? snprintf(raw, sizeof raw, "%s [%s] ", level_name(level), component)
                        : snprintf(raw, sizeof raw, "%s ", level_name(level));
    if (off < 0 || (size_t)off >= sizeof raw)
        off = 0;
    vsnprintf(raw + off, sizeof raw - (size_t)off, fmt, ap);
    sx_log_line(raw);
}

void sx_log(int level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sx_vlog(level, component, fmt, ap);
    va_end(ap);
}

void sx_log_set_progress(void (*redraw)(void *user), void (*clear)(void *user), void *user)
{
    pthread_mutex_lock(&log_lock);
    progress_redraw = redraw;
    progress_clear = clear;
    progress_user = user;
    pthread_mutex_unlock(&log_lock);
}

void sx_log_redraw_progress(void)
{
    pthread_mutex_lock(&log_lock);
    if (progress_clear)
        progress_clear(progress_user);
    if (progress_redraw)
        progress_redraw(progress_user);
    pthread_mutex_unlock(&log_lock);
}
