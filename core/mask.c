#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"

/* The one process-wide secret list: secrets come from config and sessions on
 * any thread, and every printed line must see all of them. */
static pthread_mutex_t mask_lock = PTHREAD_MUTEX_INITIALIZER;
static char **mask_secrets;
static size_t mask_count;
static size_t mask_cap;

static const char MASK_TEXT[] = "********";

void sx_mask_add(const char *secret)
{
    if (secret == NULL || strlen(secret) < 3)
        return;
    pthread_mutex_lock(&mask_lock);
    for (size_t i = 0; i < mask_count; i++) {
        if (strcmp(mask_secrets[i], secret) == 0) {
            pthread_mutex_unlock(&mask_lock);
            return;
        }
    }
    if (mask_count == mask_cap) {
        size_t ncap = mask_cap ? mask_cap * 2 : 8;
        char **grown = realloc(mask_secrets, ncap * sizeof *grown);
        if (grown == NULL) {
            pthread_mutex_unlock(&mask_lock);
            return;
        }
        mask_secrets = grown;
        mask_cap = ncap;
    }
    char *copy = strdup(secret);
    if (copy != NULL)
        mask_secrets[mask_count++] = copy;
    pthread_mutex_unlock(&mask_lock);
}

void sx_mask_reset(void)
{
    pthread_mutex_lock(&mask_lock);
    for (size_t i = 0; i < mask_count; i++)
        free(mask_secrets[i]);
    free(mask_secrets);
    mask_secrets = NULL;
    mask_count = mask_cap = 0;
    pthread_mutex_unlock(&mask_lock);
}

/* The longest secret starting at p, or 0. Longest first, so a secret that
 * contains a shorter one is masked whole. Caller holds mask_lock. */
static size_t match_secret(const char *p)
{
    size_t best = 0;
    for (size_t i = 0; i < mask_count; i++) {
        size_t n = strlen(mask_secrets[i]);
        if (n > best && strncmp(p, mask_secrets[i], n) == 0)
            best = n;
    }
    return best;
}

size_t sx_mask(const char *text, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    if (text == NULL)
        text = "";
    size_t o = 0;
    pthread_mutex_lock(&mask_lock);
    for (const char *p = text; *p != '\0' && o + 1 < cap;) {
        size_t n = mask_count ? match_secret(p) : 0;
        if (n > 0) {
            for (size_t k = 0; MASK_TEXT[k] != '\0' && o + 1 < cap; k++)
                out[o++] = MASK_TEXT[k];
            p += n;
        } else {
            out[o++] = *p++;
        }
    }
    pthread_mutex_unlock(&mask_lock);
    out[o] = '\0';
    return o;
}

int sx_mask_contains_secret(const char *text)
{
    int found = 0;
    pthread_mutex_lock(&mask_lock);
    for (size_t i = 0; i < mask_count && !found; i++)
        found = strstr(text, mask_secrets[i]) != NULL;
    pthread_mutex_unlock(&mask_lock);
    return found;
}
