/*
 * stream.c: the search-and-page loop every Dinamize stream runs, and the
 * partitions of the child streams (see stream.h).
 */
#include "stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "dates.h"
#include "envelope.h"
#include "normalize.h"
#include "search.h"

/* Everything one read needs, gathered before the first request. */
typedef struct read_plan {
    const dz_stream_def *def;
    int64_t page_size;
    const char *path;
    const char *items_key;
    const char *from;             /* RK >= from: the bookmark, or start_date; or NULL */
    char from_buf[DZ_API_DATE_CAP];
    char until[DZ_API_DATE_CAP];  /* the signpost */
    int has_until;
} read_plan;

static int config_error(siphon_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int config_error(siphon_ctx *ctx, const char *fmt, ...)
{
    char text[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    siphon_set_error(ctx, "%s", text);
    return SIPHON_E_CONFIG;
}

/* The bounds of an INCREMENTAL read, and the signpost of any read with a
 * replication key (bookmarks never pass it). */
static int plan_bounds(siphon_ctx *ctx, read_plan *plan)
{
    const siphon_host_api *api = siphon_api(ctx);
    const char *zone = api->config_string(ctx, "timezone");
    char why[300];
    dz_tz *tz = dz_tz_load(zone ? zone : "America/Sao_Paulo", why, sizeof why);
    if (tz == NULL)
        return config_error(ctx, "option 'timezone': %s", why);

    dz_api_time(tz, api->now_ms(ctx), plan->until);
    int rc = api->set_signpost(ctx, plan->until);
    /* start_date is checked on every read, so a typo shows on the first run
     * whatever its mode, not on the first INCREMENTAL one. */
    const char *start_date = api->config_string(ctx, "start_date");
    int has_start = start_date != NULL && start_date[0] != '\0';
    if (rc == SIPHON_OK && has_start &&
        dz_start_date_to_api(tz, start_date, plan->from_buf, why, sizeof why) != 0)
        rc = config_error(ctx, "option 'start_date': %s", why);
    if (rc == SIPHON_OK && api->sync_mode(ctx) == SIPHON_SYNC_INCREMENTAL) {
        plan->has_until = 1;
        const char *bookmark = api->start_value(ctx);
        if (bookmark != NULL)
            plan->from = bookmark; /* sent verbatim: the API wrote it */
        else if (has_start)
            plan->from = plan->from_buf;
    }
    dz_tz_free(tz);
    return rc;
}

static int plan_read(siphon_ctx *ctx, const dz_stream_def *def, read_plan *plan)
{
    const siphon_host_api *api = siphon_api(ctx);
    memset(plan, 0, sizeof *plan);
    plan->def = def;
    if (api->config_int(ctx, "page_size", &plan->page_size) != SIPHON_OK ||
        plan->page_size < 1)
        return config_error(ctx, "option 'page_size' of stream %s: expected an integer of at "
                                 "least 1", def->name);
    plan->path = api->config_string(ctx, "path");
    if (plan->path == NULL || plan->path[0] == '\0')
        plan->path = def->path;
    plan->items_key = api->config_string(ctx, "items_key");
    if (plan->items_key == NULL || plan->items_key[0] == '\0')
        plan->items_key = def->items_key;
    if (def->replication_key == NULL)
        return SIPHON_OK;
    return plan_bounds(ctx, plan);
}

/* Hands one item to the host: as the API's own text when its values already
 * have the schema's types (the common case: the API sends strings), so a
 * page of 10 000 contacts needs no tree at all; as a normalised tree
 * otherwise. */
static int emit_item(siphon_ctx *ctx, const dz_shape *shape, dz_item_spans *spans,
                     const dz_item_span *span, const char *text, size_t len)
{
    const siphon_host_api *api = siphon_api(ctx);
    int plain = span->plain;
    /* the page's scan checked the item already (dz_envelope_scan_items),
     * and noted its members */
    if (plain && SIPHON_HOST_HAS(api, emit_raw_checked)) {
        const siphon_json_member *members = span->has_members ? dz_item_members(spans, span) : NULL;
        if (span->has_members && members == NULL)
            return SIPHON_E_NOMEM;
        return api->emit_raw_checked(ctx, text, len, members, span->n_members, span->compact);
    }
    if (plain && SIPHON_HOST_HAS(api, emit_raw))
        return api->emit_raw(ctx, text, len);
    json_error_t e;
    json_t *item = json_loadb(text, len, JSON_ALLOW_NUL, &e);
    if (item == NULL) /* validated, so only out of memory */
        return SIPHON_E_INTERNAL;
    int rc = dz_normalize(shape, item);
    if (rc != SIPHON_OK) {
        json_decref(item);
        return rc;
    }
    return api->emit_record(ctx, NULL, item);
}

/* One page's request and what its classifier found: the page loop keeps two,
 * the page being emitted and the one asked for ahead of it. */
typedef struct page_slot {
    dz_call call;
    dz_item_spans spans;
} page_slot;

/* Asks for a page: through http() when now is set (the answer is in *resp on
 * return), else through http_start (collected by http_finish). The
 * classifier validates the page and notes where its items are in slot. */
static int request_page(siphon_ctx *ctx, const read_plan *plan, json_t *body,
                        const dz_shape *shape, int64_t page, page_slot *slot, int now,
                        siphon_http_response *resp)
{
    const siphon_host_api *api = siphon_api(ctx);
    char *text = dz_search_page(body, page);
    if (text == NULL)
        return SIPHON_E_NOMEM;
    slot->call = (dz_call){.path = plan->path, .items_key = plan->items_key, .shape = shape,
                           .spans = &slot->spans};
    siphon_http_request req = {
        .struct_size = sizeof req,
        .method = "POST",
        .path = plan->path,
        .body = text,
        .body_len = strlen(text),
        .use_session = 1,
        .classify = dz_classify,
        .classify_user = &slot->call,
        .metric_tag = plan->def->name,
    };
    int rc = now ? api->http(ctx, &req, resp) : api->http_start(ctx, &req);
    free(text); /* http_start copied it */
    return rc; /* on failure the host's message names the request and the verdict */
}

/* Emits the items of one page and marks the page boundary. */
static int emit_page(siphon_ctx *ctx, const read_plan *plan, const dz_shape *shape,
                     int64_t page, page_slot *slot, const siphon_http_response *resp)
{
    const siphon_host_api *api = siphon_api(ctx);
    dz_item_spans *spans = &slot->spans;
    int rc = SIPHON_OK;
    for (size_t i = 0; i < spans->n && rc == SIPHON_OK; i++) {
        const dz_item_span *item = &spans->v[i];
        rc = emit_item(ctx, shape, spans, item, resp->body + item->off, item->len);
        if (rc == SIPHON_E_INTERNAL)
            siphon_set_error(ctx, "page %lld of %s: item %zu could not be parsed",
                             (long long)page, plan->path, i + 1);
    }
    return rc == SIPHON_OK ? api->checkpoint(ctx) : rc;
}

/*
 * Reads pages until the API says there are no more. When the host can send
 * a request ahead (ABI 1.2), the next page is asked for as soon as this one
 * says it is not the last, before its items are emitted: the API prepares
 * page N+1 while the sink takes page N, instead of the two waiting on each
 * other. The answer says "next" before any item is emitted, so the request
 * ahead is never a guess.
 */
static int read_pages(siphon_ctx *ctx, const read_plan *plan, json_t *body, const dz_shape *shape)
{
    const siphon_host_api *api = siphon_api(ctx);
    int can_ahead = SIPHON_HOST_HAS(api, http_start) && SIPHON_HOST_HAS(api, http_finish);
    page_slot slots[2];
    memset(slots, 0, sizeof slots);
    int started = 0; /* the current page was asked for ahead */
    int rc = SIPHON_OK;
    for (int64_t page = 1; rc == SIPHON_OK; page++) {
        page_slot *slot = &slots[(page - 1) & 1];
        siphon_http_response resp = {.struct_size = sizeof resp};
        if (api->should_stop(ctx))
            rc = SIPHON_E_CANCELLED; /* a page asked for ahead is cancelled below */
        else if (started) {
            rc = api->http_finish(ctx, &resp);
            started = 0;
        } else
            rc = request_page(ctx, plan, body, shape, page, slot, 1, &resp);
        if (rc == SIPHON_OK && slot->spans.failed)
            rc = SIPHON_E_NOMEM;
        if (rc != SIPHON_OK)
            break;

        const dz_envelope *env = &slot->call.env;
        if (page == 1 && env->items_kind == DZ_JSON_NONE && env->other_array[0] != '\0')
            siphon_log(ctx, SIPHON_LOG_WARN,
                       "the answer of %s has no '%s' but has an array '%s'; if the records "
                       "are there, set the stream's items_key option to '%s'",
                       plan->path, plan->items_key, env->other_array, env->other_array);
        int last = env->next == DZ_NEXT_FALSE || env->n_items == 0;
        if (!last && can_ahead) {
            rc = request_page(ctx, plan, body, shape, page + 1, &slots[page & 1], 0, NULL);
            started = rc == SIPHON_OK;
        }
        if (rc == SIPHON_OK)
            rc = emit_page(ctx, plan, shape, page, slot, &resp);
        if (rc == SIPHON_OK && last) {
            if (env->n_items == 0 && env->next == DZ_NEXT_TRUE)
                siphon_log(ctx, SIPHON_LOG_WARN,
                           "page %lld of %s came back empty but claims a next page; stopping "
                           "here rather than asking forever", (long long)page, plan->path);
            rc = SIPHON_DONE;
        }
    }
    /* stopped early with a page asked for: the classifier must be done with
     * its slot before the slot goes */
    if (started)
        api->http_finish(ctx, NULL);
    dz_item_spans_free(&slots[0].spans);
    dz_item_spans_free(&slots[1].spans);
    return rc == SIPHON_DONE ? SIPHON_OK : rc;
}

int dz_stream_read(siphon_ctx *ctx, const dz_stream_def *def, const json_t *context)
{
    read_plan plan;
    int rc = plan_read(ctx, def, &plan);
    if (rc != SIPHON_OK)
        return rc;
    dz_search search = {
        .page_size = plan.page_size,
        .context = context,
        .replication_key = def->replication_key,
        .keys = def->keys,
        .from = plan.from,
        .until = plan.has_until ? plan.until : NULL,
    };
    char why[300];
    json_t *body = dz_search_body(&search);
    dz_shape *shape = dz_shape_from_schema(def->schema_json, why, sizeof why);
    if (body == NULL || shape == NULL) {
        if (shape == NULL)
            siphon_set_error(ctx, "stream %s: %s", def->name, why);
        json_decref(body);
        dz_shape_free(shape);
        return shape == NULL ? SIPHON_E_INTERNAL : SIPHON_E_NOMEM;
    }
    rc = read_pages(ctx, &plan, body, shape);
    json_decref(body);
    dz_shape_free(shape);
    return rc;
}

/* A code as a string: the API sends strings, but a number means its text. */
static json_t *code_value(const json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0)
        return json_incref((json_t *)v);
    if (json_is_integer(v)) {
        char text[32];
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return json_string(text);
    }
    return NULL;
}

int dz_partition_by_list(siphon_ctx *ctx, const json_t *list, json_t **context)
{
    json_t *code = code_value(json_object_get(list, "code"));
    if (code == NULL) {
        siphon_set_error(ctx, "a contact list record has no usable 'code', so its contacts, "
                              "fields, filters and opt-outs cannot be read");
        return SIPHON_E_INVALID;
    }
    *context = json_object();
    if (*context == NULL || json_object_set_new(*context, "contact-list_code", code) != 0) {
        json_decref(*context);
        *context = NULL;
        return SIPHON_E_NOMEM;
    }
    return SIPHON_OK;
}

int dz_partition_by_lv_field(siphon_ctx *ctx, const json_t *field, json_t **context)
{
    const char *type = json_string_value(json_object_get(field, "type"));
    if (type == NULL || strcasecmp(type, "LV") != 0)
        return SIPHON_DONE; /* only list-of-values fields have values to list */
    json_t *list = code_value(json_object_get(field, "contact-list_code"));
    json_t *code = code_value(json_object_get(field, "code"));
    if (list == NULL || code == NULL) {
        json_decref(list);
        json_decref(code);
        siphon_set_error(ctx, "a field record of type LV lacks its 'code' or "
                              "'contact-list_code', so its values cannot be read");
        return SIPHON_E_INVALID;
    }
    *context = json_object();
    if (*context == NULL || json_object_set_new(*context, "contact-list_code", list) != 0 ||
        json_object_set_new(*context, "field_code", code) != 0) {
        json_decref(*context);
        *context = NULL;
        return SIPHON_E_NOMEM;
    }
    return SIPHON_OK;
}
