#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Longest name compared; longer ones are never close to a typo anyway. */
#define DYM_MAX 128

/* Levenshtein distance ignoring ASCII case, so "PASSWORD" finds "password". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > DYM_MAX || lb > DYM_MAX)
        return (size_t)-1;
    size_t prev[DYM_MAX + 1], cur[DYM_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

const char *sx_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    if (word == NULL || candidates == NULL)
        return NULL;
    size_t len = strlen(word);
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (candidates[i] == NULL)
            continue;
        size_t d = distance(word, candidates[i]);
        /* A suggestion must keep something of the word: replacing a short
         * word wholesale ("ab" -> "xyz") is not a typo. */
        if (d <= 3 && d < len && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

void sx_suggest(const char *word, const char *const *candidates, size_t n, char *out, size_t cap)
{
    const char *s = sx_did_you_mean(word, candidates, n);
    if (s != NULL)
        snprintf(out, cap, " (did you mean '%s'?)", s);
    else if (cap > 0)
        out[0] = '\0';
}

void sx_name_list(const char *const *names, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - used) {
            /* Truncated: say so rather than end mid-name. */
            if (cap > 4)
                snprintf(out + (cap > 5 ? cap - 5 : 0), 5, " ...");
            return;
        }
        used += (size_t)w;
    }
    if (n == 0)
        snprintf(out, cap, "(none)");
}
