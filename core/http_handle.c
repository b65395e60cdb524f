#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "http.h"
#include "http_handle.h"

struct sx_http_share {
    CURLSH *curlsh;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    atomic_int refs;      /* the owner's plus one per easy handle */
    atomic_int closed;    /* the owner freed its service */
};

/* One thread's handles: a short list, since a process has a handful of
 * sources at most. */
typedef struct handle_entry {
    sx_http_share *share;
    CURL *easy;
} handle_entry;

typedef struct thread_handles {
    handle_entry *entries;
    size_t count;
    size_t cap;
} thread_handles;

static pthread_key_t handles_key;
static pthread_once_t handles_once = PTHREAD_ONCE_INIT;

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *user)
{
    sx_http_share *s = user;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *user)
{
    sx_http_share *s = user;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&s->locks[data]);
}

static void share_unref(sx_http_share *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    curl_share_cleanup(s->curlsh);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&s->locks[i]);
    free(s);
}

sx_http_share *sx_http_share_new(void)
{
    sx_http_share *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->curlsh = curl_share_init();
    if (s->curlsh == NULL) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&s->locks[i], NULL);
    atomic_init(&s->refs, 1);
    atomic_init(&s->closed, 0);
    curl_share_setopt(s->curlsh, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(s->curlsh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(s->curlsh, CURLSHOPT_USERDATA, s);
    /* Not CURL_LOCK_DATA_CONNECT: libcurl documents its shared connection
     * pool as unsafe between concurrent threads (known bug "A shared
     * connection cache is not thread-safe", open through 8.x) and it has
     * crashed users who tried. Connections stay in each thread's own handle
     * instead, which keeps them alive from one request to the next. */
    if (curl_share_setopt(s->curlsh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(s->curlsh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        share_unref(s);
        return NULL;
    }
    return s;
}

static void free_entry(handle_entry *e)
{
    curl_easy_cleanup(e->easy); /* detaches from the share: it must still live */
    share_unref(e->share);
}

static void free_thread_handles(void *p)
{
    thread_handles *t = p;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++)
        free_entry(&t->entries[i]);
    free(t->entries);
    free(t);
}

static void make_key(void)
{
    /* The destructor releases a worker's handles when it exits, even if it
     * never called sx_http_thread_cleanup. */
    pthread_key_create(&handles_key, free_thread_handles);
}

static thread_handles *this_thread(int create)
{
    pthread_once(&handles_once, make_key);
    thread_handles *t = pthread_getspecific(handles_key);
    if (t == NULL && create) {
        t = calloc(1, sizeof *t);
        if (t != NULL && pthread_setspecific(handles_key, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

static void remove_at(thread_handles *t, size_t i)
{
    free_entry(&t->entries[i]);
    t->entries[i] = t->entries[t->count - 1];
    t->count--;
}

CURL *sx_http_share_handle(sx_http_share *share)
{
    thread_handles *t = this_thread(1);
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < t->count;) {
        if (t->entries[i].share == share)
            return t->entries[i].easy;
        /* Handles of services freed elsewhere: drop them now that we are here. */
        if (atomic_load(&t->entries[i].share->closed))
            remove_at(t, i);
        else
            i++;
    }
    if (t->count == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4;
        handle_entry *grown = realloc(t->entries, ncap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        t->entries = grown;
        t->cap = ncap;
    }
    CURL *easy = curl_easy_init();
    if (easy == NULL)
        return NULL;
    if (curl_easy_setopt(easy, CURLOPT_SHARE, share->curlsh) != CURLE_OK) {
        curl_easy_cleanup(easy);
        return NULL;
    }
    atomic_fetch_add(&share->refs, 1);
    t->entries[t->count++] = (handle_entry){.share = share, .easy = easy};
    return easy;
}

void sx_http_share_close(sx_http_share *share)
{
    if (share == NULL)
        return;
    atomic_store(&share->closed, 1);
    thread_handles *t = this_thread(0);
    for (size_t i = 0; t != NULL && i < t->count; i++) {
        if (t->entries[i].share == share) {
            remove_at(t, i);
            break;
        }
    }
    share_unref(share);
}

void sx_http_thread_cleanup(void)
{
    thread_handles *t = this_thread(0);
    if (t == NULL)
        return;
    pthread_setspecific(handles_key, NULL);
    free_thread_handles(t);
}
