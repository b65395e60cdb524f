/*
 * option_value.c: what a configured value means for an option of a given
 * type. Configs come from hand-written files, environment variables and
 * orchestrators that quote everything, so numbers may arrive as strings
 * ("60") and booleans as "true"/"false"; every such form is accepted and
 * normalised to the typed JSON value.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* Copies s without surrounding whitespace (env values and credential files
 * often end in a newline). Returns 0, or -1 when it does not fit. */
static int trimmed(const char *s, char *out, size_t cap)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int sx_json_to_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return -1;
        *out = (long long)d;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    char buf[64];
    if (trimmed(json_string_value(v), buf, sizeof buf) != 0 || buf[0] == '\0')
        return -1;
    const char *p = buf;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0')
        return -1; /* a sign alone: strtoll would read it as 0 */
    for (; *p != '\0'; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    long long n = strtoll(buf, NULL, 10);
    if (errno != 0)
        return -1;
    *out = n;
    return 0;
}

int sx_json_to_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    char buf[64];
    if (trimmed(json_string_value(v), buf, sizeof buf) != 0 || buf[0] == '\0')
        return -1;
    /* Decimal notation only: strtod would also take "inf", "nan" and hex. */
    for (const char *p = buf; *p != '\0'; p++)
        if (!isdigit((unsigned char)*p) && strchr("+-.eE", *p) == NULL)
            return -1;
    char *end = NULL;
    errno = 0;
    double d = strtod(buf, &end);
    if (errno != 0 || end == buf || *end != '\0' || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

int sx_json_to_bool(const json_t *v, int *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    char buf[16];
    if (trimmed(json_string_value(v), buf, sizeof buf) != 0)
        return -1;
    if (strcasecmp(buf, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(buf, "false") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

void sx_json_describe(const json_t *v, int reveal, char *out, size_t cap)
{
    /* A member that is not there: json_typeof would read through NULL. */
    if (v == NULL) {
        snprintf(out, cap, "nothing");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: snprintf(out, cap, "an object"); return;
    case JSON_ARRAY: snprintf(out, cap, "an array"); return;
    case JSON_NULL: snprintf(out, cap, "null"); return;
    case JSON_TRUE: snprintf(out, cap, reveal ? "true" : "a boolean"); return;
    case JSON_FALSE: snprintf(out, cap, reveal ? "false" : "a boolean"); return;
    case JSON_STRING:
        if (!reveal) {
            snprintf(out, cap, "a string");
            return;
        }
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        if (!reveal) {
            snprintf(out, cap, "a number");
            return;
        }
        break;
    }
    /* Strings and numbers as JSON text, so quotes and escapes show exactly
     * what was there; long values are cut. */
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    if (text == NULL) {
        snprintf(out, cap, "a value");
        return;
    }
    if (strlen(text) > 80)
        snprintf(out, cap, "%.77s...", text);
    else
        snprintf(out, cap, "%s", text);
    free(text);
}

/* The declared spelling of a choice matching s (ignoring case), or NULL. */
static const char *match_choice(const char *choices, const char *s, char *buf, size_t cap)
{
    const char *p = choices;
    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n < cap && strlen(s) == n && strncasecmp(p, s, n) == 0) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            return buf;
        }
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return NULL;
}

/* Appends a did-you-mean over the '|'-separated choices. */
static void suggest_choice(const char *choices, const char *s, char *out, size_t cap)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", choices);
    const char *names[32];
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, "|", &save); tok && n < 32;
         tok = strtok_r(NULL, "|", &save))
        names[n++] = tok;
    sx_suggest(s, names, n, out, cap);
}

int sx_option_value_check(const siphon_option *opt, const json_t *value, json_t **normalized,
                          char *why, size_t cap)
{
    int reveal = (opt->flags & SIPHON_OPT_SECRET) == 0;
    char found[128];
    sx_json_describe(value, reveal, found, sizeof found);
    *normalized = NULL;

    switch (opt->type) {
    case SIPHON_OPT_INT: {
        long long n;
        if (sx_json_to_int(value, &n) != 0) {
            snprintf(why, cap, "expected an integer, found %s", found);
            return -1;
        }
        *normalized = json_integer(n);
        break;
    }
    case SIPHON_OPT_NUMBER: {
        double d;
        if (sx_json_to_number(value, &d) != 0) {
            snprintf(why, cap, "expected a number, found %s", found);
            return -1;
        }
        *normalized = json_is_number(value) ? json_deep_copy(value) : json_real(d);
        break;
    }
    case SIPHON_OPT_BOOL: {
        int b;
        if (sx_json_to_bool(value, &b) != 0) {
            snprintf(why, cap, "expected a boolean (true or false), found %s", found);
            return -1;
        }
        *normalized = json_boolean(b);
        break;
    }
    case SIPHON_OPT_STRING: {
        /* Codes and ids are often written as numbers; their text is meant. */
        if (json_is_number(value)) {
            char *text = json_dumps(value, JSON_ENCODE_ANY);
            *normalized = text ? json_string(text) : NULL;
            free(text);
        } else if (json_is_string(value)) {
            *normalized = json_deep_copy(value);
        } else {
            snprintf(why, cap, "expected a string, found %s", found);
            return -1;
        }
        if (*normalized != NULL && opt->choices != NULL && opt->choices[0] != '\0') {
            char spelled[128];
            const char *s = json_string_value(*normalized);
            const char *match = match_choice(opt->choices, s, spelled, sizeof spelled);
            if (match == NULL) {
                char hint[160];
                suggest_choice(opt->choices, s, hint, sizeof hint);
                snprintf(why, cap, "expected one of %s, found %s%s", opt->choices, found,
                         reveal ? hint : "");
                json_decref(*normalized);
                *normalized = NULL;
                return -1;
            }
            json_decref(*normalized);
            *normalized = json_string(match);
        }
        break;
    }
    case SIPHON_OPT_JSON:
    default:
        *normalized = json_deep_copy(value);
        break;
    }
    if (*normalized == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    return 0;
}
