/*
 * siphon-plugin.h: what a siphon plugin declares.
 *
 * A plugin is a shared object that exports exactly one function,
 * siphon_plugin_entry(), which returns a constant descriptor. The descriptor
 * names the plugin and lists its components: streams (a source of records, one
 * API resource each) and sinks (one destination each). The host checks the
 * descriptor before it calls anything else in the plugin: magic, ABI major
 * (equal), ABI minor (not newer than the host), the size of every struct, and
 * the callbacks each kind requires. Every refusal names the file, the field and
 * both values.
 *
 * Growth rules, which are the ABI promise:
 *  - every struct here that carries a struct_size is append-only: new members go
 *    at the end, and the host reads a member only when struct_size covers it
 *    (SIPHON_HAS below);
 *  - option arrays are strided by the option_size the plugin declares, so the
 *    option struct can grow too;
 *  - unknown capability bits are ignored.
 *
 * Ownership: every string and table a descriptor points to is static and must
 * stay valid while the plugin is loaded (the host never unloads a plugin).
 * Records cross the boundary as jansson values; both sides link the same shared
 * libjansson, so references may be passed and released on either side.
 */
#ifndef SIPHON_PLUGIN_H
#define SIPHON_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <siphon/siphon-version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "SIPH" in ASCII: the first field of every descriptor. */
#define SIPHON_PLUGIN_MAGIC 0x53495048u

/*
 * SIPHON_BUILD_SIG: the build facts that change the binary interface without
 * changing the source (pointer width, jansson's major version). The host
 * compares it to its own and refuses a plugin built differently.
 */
#define SIPHON_BUILD_SIG_STR2(x) #x
#define SIPHON_BUILD_SIG_STR(x) SIPHON_BUILD_SIG_STR2(x)
#define SIPHON_BUILD_SIG                                                       \
    "ptr" SIPHON_BUILD_SIG_STR(__SIZEOF_POINTER__) ";jansson" SIPHON_BUILD_SIG_STR(JANSSON_MAJOR_VERSION)

/* Marks the one symbol a plugin exports; build plugins with hidden visibility. */
#if defined(__GNUC__) || defined(__clang__)
#define SIPHON_EXPORT __attribute__((visibility("default")))
#else
#define SIPHON_EXPORT
#endif

/*
 * SIPHON_HAS(ptr, type, member): true when a struct of the given type, whose
 * size the other side declared in ptr->struct_size, is large enough to hold
 * member and that member is set. Use it before reading a member added in a
 * later minor version (the OBS HAS_VAL pattern).
 */
#define SIPHON_HAS(ptr, type, member)                                          \
    ((ptr) != NULL &&                                                          \
     offsetof(type, member) + sizeof(((type *)0)->member) <= (ptr)->struct_size && \
     (ptr)->member)

/*
 * Status codes returned by plugin callbacks and host services. Zero is success,
 * SIPHON_DONE a successful "nothing more", negatives are failures. A plugin that
 * fails should also call siphon_host_api.set_error so the message names what
 * went wrong; the code only tells the host how to treat it.
 */
typedef enum siphon_status {
    SIPHON_OK = 0,
    SIPHON_DONE = 1,             /* success, and nothing further (skip, end) */
    SIPHON_E_INVALID = -1,       /* a bad argument or malformed data */
    SIPHON_E_NOMEM = -2,         /* out of memory */
    SIPHON_E_IO = -3,            /* a local read or write failed */
    SIPHON_E_TRANSPORT = -4,     /* the remote could not be reached; retries exhausted */
    SIPHON_E_AUTH = -5,          /* credentials rejected: fails the whole source */
    SIPHON_E_API = -6,           /* the API answered an error fatal for this stream */
    SIPHON_E_CONFIG = -7,        /* a configuration value is missing or wrong */
    SIPHON_E_CANCELLED = -8,     /* the run is stopping; return promptly */
    SIPHON_E_NOT_OWNER = -9,     /* a record for a stream the caller does not own */
    SIPHON_E_UNSUPPORTED = -10,  /* the operation is not offered */
    SIPHON_E_INTERNAL = -11      /* a bug; the message says where */
} siphon_status;

/* Component kinds. */
typedef enum siphon_kind {
    SIPHON_KIND_STREAM = 1,
    SIPHON_KIND_SINK = 2
} siphon_kind;

/*
 * Capability bits (siphon_component.caps). Bits 48 to 63 are reserved for
 * experiments; the host ignores bits it does not know.
 */
/* Stream: discover() computes the schema at run time (e.g. custom fields). */
#define SIPHON_CAP_DISCOVER (UINT64_C(1) << 0)
/* Stream: partitions of this stream may be read concurrently. */
#define SIPHON_CAP_PARALLEL_SAFE (UINT64_C(1) << 1)
/* Sink: commit() makes everything written so far durable, all or nothing. */
#define SIPHON_CAP_TRANSACTIONAL (UINT64_C(1) << 16)
/* Sink: commit() stores the run state in the same transaction as the rows, and
 * load_state() gives it back; the host then keeps no separate state file. */
#define SIPHON_CAP_STATE_IN_SINK (UINT64_C(1) << 17)
/* Sink: a FULL_TABLE stream replaces the destination table atomically when
 * end_stream() reports success, so rows deleted at the source disappear. */
#define SIPHON_CAP_ATOMIC_REPLACE (UINT64_C(1) << 18)
/* Sink: writes raw Singer messages and needs no schema-derived layout. */
#define SIPHON_CAP_SCHEMALESS (UINT64_C(1) << 19)
/* Sink: write_record accepts a record given as JSON text (siphon_record.json,
 * with siphon_record.record NULL), so the host need not parse text a stream
 * emitted with emit_raw. A sink whose options decide it (a CSV writer needs
 * trees) narrows it per instance with siphon_sink_vtable.instance_caps. */
#define SIPHON_CAP_RAW_RECORDS (UINT64_C(1) << 20)

/* Option value types (siphon_option.type). */
typedef enum siphon_option_type {
    SIPHON_OPT_STRING = 1,
    SIPHON_OPT_INT = 2,      /* a JSON integer, or a string holding one */
    SIPHON_OPT_NUMBER = 3,   /* a JSON number, or a string holding one */
    SIPHON_OPT_BOOL = 4,     /* true/false, or the strings "true"/"false" */
    SIPHON_OPT_JSON = 5      /* any JSON value, passed through as is */
} siphon_option_type;

/* Option flags (siphon_option.flags). */
#define SIPHON_OPT_REQUIRED 0x1u    /* the run fails with a config error without it */
#define SIPHON_OPT_SECRET 0x2u      /* masked in every output; never logged */
#define SIPHON_OPT_PER_STREAM 0x4u  /* may also be set under "streams": {"NAME": {...}} */
#define SIPHON_OPT_DEPRECATED 0x8u  /* accepted with a warning */

/*
 * One configuration option a component declares. The host validates the config
 * against these declarations (types, required, unknown keys with a
 * did-you-mean), masks secrets, and documents them in `siphon plugins inspect`
 * and `siphon about`. Arrays of options end with an entry whose name is NULL.
 */
typedef struct siphon_option {
    const char *name;          /* the config key, e.g. "page_size" */
    uint32_t type;             /* a siphon_option_type */
    uint32_t flags;            /* SIPHON_OPT_* bits */
    const char *default_json;  /* the default as JSON text ("60", "\"UTC\""), or NULL */
    const char *description;   /* one sentence for users */
    const char *env;           /* an environment variable that may supply it, or NULL */
    const char *choices;       /* for strings: allowed values separated by '|', or NULL */
} siphon_option;

/*
 * The header every component vtable starts with. struct_size is the size of
 * the whole concrete vtable (siphon_stream_vtable or siphon_sink_vtable) as the
 * plugin was compiled; the host copies min(struct_size, its own size) into a
 * zeroed copy and refuses a vtable larger than it knows.
 */
typedef struct siphon_component {
    uint32_t struct_size;
    uint32_t kind;                 /* a siphon_kind */
    const char *name;              /* unique among loaded components of its kind */
    const char *description;
    uint64_t caps;                 /* SIPHON_CAP_* bits */
    const siphon_option *options;  /* NULL-name terminated, or NULL */
    uint32_t option_size;          /* sizeof(siphon_option) as compiled */
} siphon_component;

/* The opaque per-call context the host passes to every callback. */
typedef struct siphon_ctx siphon_ctx;

/*
 * A source groups the streams of one API: they share the flat top-level
 * config, one auth session, and one request budget. Every stream of a source
 * points at an identical siphon_source (the Dinamize modules each compile in
 * the same one); the host keeps the first it loads and checks the others have
 * the same name and option names.
 */
typedef struct siphon_source {
    uint32_t struct_size;
    const char *name;                /* e.g. "dinamize" */
    const char *description;
    const siphon_option *options;    /* top-level options of the source */
    uint32_t option_size;
    /* Option holding the base URL that relative request paths are joined to. */
    const char *base_url_option;
    /* Option holding the request budget per window (e.g. "requests_per_minute"),
     * or NULL for no budget; the window length is rate_window_ms. */
    const char *rate_limit_option;
    uint32_t rate_window_ms;
    /* The header that carries the session token ("auth-token"), or NULL when
     * the source has no session. */
    const char *auth_header;
    /* Renew the session after this many seconds of age or idleness, before the
     * server would reject it; 0 means no limit. */
    uint32_t auth_max_age_s;
    uint32_t auth_max_idle_s;
    /*
     * Performs the login handshake through the host's HTTP service (with
     * use_session = 0) and writes the token, NUL-terminated, into token. The
     * host calls it at most once at a time per source and shares the token
     * with every stream. Returns SIPHON_OK, SIPHON_E_AUTH when the
     * credentials are rejected, or another failure.
     */
    int (*login)(siphon_ctx *ctx, char *token, size_t token_cap);
    /* Optional: proves credentials and connectivity for `siphon check` with as
     * few requests as possible. NULL means the host only logs in. */
    int (*check)(siphon_ctx *ctx);
} siphon_source;

/* How a stream is synchronised in a run. */
typedef enum siphon_sync_mode {
    SIPHON_SYNC_FULL_TABLE = 1,
    SIPHON_SYNC_INCREMENTAL = 2
} siphon_sync_mode;

/*
 * A stream component: one API resource. The plugin declares what to request
 * and how to map the answer; the host decides when, how often, how many at
 * once, and what happens on failure. A stream never sleeps, retries or
 * authenticates by itself.
 */
typedef struct siphon_stream_vtable {
    siphon_component base;           /* base.kind == SIPHON_KIND_STREAM */
    const siphon_source *source;     /* required */
    const char *const *key_properties;  /* NULL-terminated primary key */
    /* The replication key, compared with >= as a string; NULL when the stream
     * can only be read FULL_TABLE. */
    const char *replication_key;
    /* The name of the parent stream of the same source, or NULL. The host reads
     * the parent once per run, calls partition() for each of its records, and
     * reads this stream once per partition. */
    const char *parent;
    const char *const *groups;       /* NULL-terminated group names, or NULL */
    const char *schema_json;         /* the JSON Schema of a record, as text */
    /*
     * Required when parent is set: builds the partition context for one
     * parent record. Return SIPHON_OK with *context set to a new JSON object
     * (ownership passes to the host), SIPHON_DONE to skip this parent record,
     * or a failure. Every key of the context is added to each record the
     * partition emits, so children carry their parents' codes.
     */
    int (*partition)(siphon_ctx *ctx, const json_t *parent_record, json_t **context);
    /*
     * Optional, with SIPHON_CAP_DISCOVER: computes the schema at run time.
     * Return SIPHON_OK with *schema set to a new reference.
     */
    int (*discover)(siphon_ctx *ctx, json_t **schema);
    /*
     * Required: reads one partition (context is NULL for a stream without a
     * parent) and hands every record to siphon_host_api.emit_record, calling
     * checkpoint() at each page boundary. Returns SIPHON_OK when the partition
     * was read to its end.
     */
    int (*read)(siphon_ctx *ctx, const json_t *context);
} siphon_stream_vtable;

/* What the host tells a sink about a stream before its records arrive. */
typedef struct siphon_stream_desc {
    uint32_t struct_size;
    const char *stream;                 /* the output name (after any alias) */
    const json_t *schema;               /* JSON Schema (after transforms) */
    const char *const *key_properties;  /* NULL-terminated */
    const char *replication_key;        /* NULL for FULL_TABLE-only streams */
    uint32_t mode;                      /* a siphon_sync_mode for this run */
    int64_t version;                    /* table version (epoch ms) for FULL_TABLE */
} siphon_stream_desc;

/* One record on its way to a sink. */
typedef struct siphon_record {
    uint32_t struct_size;
    const char *stream;        /* the output name, as in begin_stream */
    /* borrowed for the duration of the call; NULL when the record comes as
     * text (json below), which happens only to SIPHON_CAP_RAW_RECORDS sinks */
    const json_t *record;
    int64_t extracted_at_ms;   /* wall clock when the record was emitted */
    int64_t version;           /* the table version for FULL_TABLE, else 0 */
    /* The record as compact JSON text of one object, when record is NULL
     * (not NUL-terminated; borrowed for the call): valid UTF-8 that jansson
     * accepts, no whitespace between tokens, and top-level keys written
     * without escapes (a record whose keys need one comes as a tree), so a
     * sink may look for a top-level key by its plain bytes. */
    const char *json;
    size_t json_len;
} siphon_record;

/* How a stream ended (siphon_sink_vtable.end_stream). */
typedef enum siphon_stream_end {
    SIPHON_END_COMPLETE = 0,   /* every partition read to its end */
    SIPHON_END_FAILED = 1      /* the stream failed; FULL_TABLE must not replace */
} siphon_stream_end;

/*
 * A sink component: one destination. The host calls a sink from a single
 * writer thread, so a sink needs no locking. Order: open, load_state (with
 * SIPHON_CAP_STATE_IN_SINK), then per stream begin_stream, write_record...,
 * end_stream, with commit() at checkpoints in between, and close at the end.
 */
typedef struct siphon_sink_vtable {
    siphon_component base;   /* base.kind == SIPHON_KIND_SINK */
    /* Required: connects or opens; *self is the sink's instance. */
    int (*open)(siphon_ctx *ctx, void **self);
    /* Optional (SIPHON_CAP_STATE_IN_SINK): the last committed state, or *state
     * set to NULL when none was ever committed. New reference. */
    int (*load_state)(void *self, json_t **state);
    /* Required: a stream's records are about to arrive (may be called again
     * with a new schema). */
    int (*begin_stream)(void *self, const siphon_stream_desc *desc);
    /* Required. */
    int (*write_record)(void *self, const siphon_record *record);
    /*
     * Required: makes every record written so far durable. state is the run
     * state to persist with them (SIPHON_CAP_STATE_IN_SINK sinks store it in
     * the same transaction; others may ignore or echo it). The host persists
     * state elsewhere only after this returns SIPHON_OK.
     */
    int (*commit)(void *self, const json_t *state);
    /* Required: a stream ended; with SIPHON_END_COMPLETE a FULL_TABLE stream
     * takes effect (atomic replace), with SIPHON_END_FAILED it is discarded. */
    int (*end_stream)(void *self, const char *stream, int how);
    /* Required: releases everything; called once, even after failures. */
    void (*close)(void *self);
    /* Optional: why the last failing callback failed (names the table, file or
     * server, never a password), or NULL. Valid until the next callback. */
    const char *(*last_error)(void *self);
    /*
     * Optional: the capabilities of this open instance, when its options
     * change them (the file sink takes text records when it writes JSON
     * Lines, but needs trees for CSV). The host calls it once, after open,
     * and uses base.caps & instance_caps(self); NULL means base.caps.
     */
    uint64_t (*instance_caps)(void *self);
} siphon_sink_vtable;

/* What the host tells a plugin about itself when it calls the entry function. */
struct siphon_host_api;
typedef struct siphon_host_info {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *host_version;             /* e.g. "0.1.0" */
    const struct siphon_host_api *api;    /* the services table, also reachable from every ctx */
} siphon_host_info;

/*
 * The descriptor siphon_plugin_entry() returns. Fields up to components are
 * mandatory; the host refuses a descriptor with a NULL name, version, license
 * or description.
 */
typedef struct siphon_plugin_desc {
    uint32_t magic;            /* SIPHON_PLUGIN_MAGIC */
    uint16_t abi_major;        /* SIPHON_ABI_MAJOR at build time */
    uint16_t abi_minor;        /* SIPHON_ABI_MINOR at build time */
    uint32_t struct_size;      /* sizeof(siphon_plugin_desc) at build time */
    const char *build_sig;     /* SIPHON_BUILD_SIG */
    const char *name;          /* unique among loaded plugins, e.g. "dinamize-contacts" */
    const char *version;
    const char *license;       /* SPDX identifier */
    const char *description;
    const siphon_component *const *components;  /* NULL-terminated, at least one */
} siphon_plugin_desc;

/*
 * The one function a plugin exports. The host calls it once after dlopen and
 * before anything else; it must not do any work beyond returning its constant
 * descriptor (it may return NULL to refuse a host it cannot work with).
 */
typedef const siphon_plugin_desc *(*siphon_plugin_entry_fn)(const siphon_host_info *host);
#define SIPHON_PLUGIN_ENTRY_SYMBOL "siphon_plugin_entry"

/*
 * SIPHON_PLUGIN_DEFINE declares the descriptor and the exported entry
 * function in one go:
 *
 *     static const siphon_component *const my_components[] = { &my_stream.base, NULL };
 *     SIPHON_PLUGIN_DEFINE("example-stream", "1.0.0", "MIT",
 *                          "Synthetic records for tests", my_components);
 */
#define SIPHON_PLUGIN_DEFINE(name_, version_, license_, description_, components_) \
    static const siphon_plugin_desc siphon_plugin_desc_ = {                    \
        SIPHON_PLUGIN_MAGIC, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR,               \
        (uint32_t)sizeof(siphon_plugin_desc), SIPHON_BUILD_SIG,                \
        (name_), (version_), (license_), (description_), (components_)};       \
    SIPHON_EXPORT const siphon_plugin_desc *siphon_plugin_entry(const siphon_host_info *host); \
    SIPHON_EXPORT const siphon_plugin_desc *siphon_plugin_entry(const siphon_host_info *host) \
    {                                                                          \
        (void)host;                                                            \
        return &siphon_plugin_desc_;                                           \
    }                                                                          \
    extern int siphon_plugin_define_needs_a_semicolon_

#ifdef __cplusplus
}
#endif

#endif
