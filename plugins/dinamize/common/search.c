/*
 * search.c: search request bodies (see search.h).
 */
#include "search.h"

#include <string.h>

static int add_condition(json_t *search, const char *field, const char *op, const char *value)
{
    return json_array_append_new(search, json_pack("{s:s, s:s, s:s}", "field", field, "operator",
                                                   op, "value", value));
}

static int add_order(json_t *order, const char *field)
{
    return json_array_append_new(order, json_pack("{s:s, s:s}", "field", field, "type", "ASC"));
}

json_t *dz_search_body(const dz_search *s)
{
    json_t *body = json_object();
    json_t *search = json_array();
    json_t *order = json_array();
    int bad = body == NULL || search == NULL || order == NULL;
    /* page_number first, so a logged body reads naturally */
    bad = bad || json_object_set_new(body, "page_number", json_integer(1)) != 0 ||
          json_object_set_new(body, "page_size", json_integer(s->page_size)) != 0;
    const char *key;
    json_t *value;
    if (!bad && s->context != NULL) {
        json_object_foreach((json_t *)s->context, key, value) {
            if (json_object_set(body, key, value) != 0)
                bad = 1;
        }
    }
    if (!bad && s->replication_key != NULL) {
        if (s->from != NULL)
            bad = bad || add_condition(search, s->replication_key, ">=", s->from) != 0;
        if (s->until != NULL)
            bad = bad || add_condition(search, s->replication_key, "<=", s->until) != 0;
        bad = bad || add_order(order, s->replication_key) != 0;
    }
    for (const char *const *k = s->keys; !bad && k != NULL && *k != NULL; k++) {
        if (s->replication_key != NULL && strcmp(*k, s->replication_key) == 0)
            continue;
        bad = add_order(order, *k) != 0;
    }
    if (!bad && json_array_size(search) > 0)
        bad = json_object_set(body, "search", search) != 0;
    if (!bad && json_array_size(order) > 0)
        bad = json_object_set(body, "order", order) != 0;
    json_decref(search);
    json_decref(order);
    if (bad) {
        json_decref(body);
        return NULL;
    }
    return body;
}

char *dz_search_page(json_t *body, int64_t page_number)
{
    if (json_object_set_new(body, "page_number", json_integer(page_number)) != 0)
        return NULL;
    return json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
