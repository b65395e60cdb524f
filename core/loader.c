#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core-config.h"
#include "crash.h"
#include "plugin_check.h"
#include "registry.h"

/* Folders and files already searched, by identity, so a folder named twice
 * (or both in SIPHON_PLUGIN_PATH and as the system folder) is not loaded twice
 * into a wall of duplicate refusals. */
typedef struct seen_file {
    dev_t dev;
    ino_t ino;
} seen_file;

typedef struct loader {
    sx_registry *reg;
    const siphon_host_info *host_info;
    seen_file *seen;
    size_t n_seen;
    int nomem;
} loader;

static void note_nomem(loader *ld, int rc)
{
    if (rc != 0)
        ld->nomem = 1;
}

/* Returns 1 when st was seen before, else records it and returns 0. */
static int seen_before(loader *ld, const struct stat *st)
{
    for (size_t i = 0; i < ld->n_seen; i++)
        if (ld->seen[i].dev == st->st_dev && ld->seen[i].ino == st->st_ino)
            return 1;
    seen_file *grown = realloc(ld->seen, (ld->n_seen + 1) * sizeof *grown);
    if (grown == NULL) {
        ld->nomem = 1;
        return 0;
    }
    ld->seen = grown;
    ld->seen[ld->n_seen].dev = st->st_dev;
    ld->seen[ld->n_seen].ino = st->st_ino;
    ld->n_seen++;
    return 0;
}

/* Anyone who can write the file, or the folder it sits in, can run code in
 * every siphon run: refuse both, as sshd's StrictModes does. */
static int writable_by_others(loader *ld, const char *path, const struct stat *st)
{
    if (!(st->st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    note_nomem(ld, sx_registry_refuse(ld->reg, path, "mode %04o is writable by group or others",
                                      (unsigned)(st->st_mode & 07777)));
    return 1;
}

static int ends_with_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

/* Runs the plugin's entry function and checks what it returned. The handle
 * is kept whatever happens: the plugin's constructors and entry have run, so
 * its code may be referenced from places we cannot see. */
static void open_plugin(loader *ld, const char *path)
{
    char why[2048];
    /* A path without a slash would make dlopen search the library path. */
    char *dl_path = strchr(path, '/') != NULL ? strdup(path) : NULL;
    if (dl_path == NULL && asprintf(&dl_path, "./%s", path) < 0)
        dl_path = NULL;
    if (dl_path == NULL) {
        ld->nomem = 1;
        return;
    }
    dlerror();
    void *handle = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *msg = dlerror();
        note_nomem(ld, sx_registry_refuse(ld->reg, path,
                                          "cannot load: %s (check its libraries with 'ldd %s')",
                                          msg != NULL ? msg : "unknown dlopen error", dl_path));
        free(dl_path);
        return;
    }
    free(dl_path);
    dlerror();
    void *sym = dlsym(handle, SIPHON_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        note_nomem(ld, sx_registry_refuse(ld->reg, path,
                                          "not a siphon plugin: no " SIPHON_PLUGIN_ENTRY_SYMBOL));
        return;
    }
    siphon_plugin_entry_fn entry;
    /* POSIX dlsym returns functions as void *; this copy is the sanctioned way. */
    memcpy(&entry, &sym, sizeof entry);

    sx_plugin *plugin = calloc(1, sizeof *plugin);
    if (plugin == NULL || (plugin->path = strdup(path)) == NULL) {
        free(plugin);
        ld->nomem = 1;
        return;
    }
    plugin->handle = handle;

    sx_crash_enter(plugin, NULL, SIPHON_PLUGIN_ENTRY_SYMBOL);
    const siphon_plugin_desc *desc = entry(ld->host_info);
    sx_crash_leave();
    if (desc == NULL) {
        note_nomem(ld, sx_registry_refuse(ld->reg, path,
                                          SIPHON_PLUGIN_ENTRY_SYMBOL " returned NULL (the plugin "
                                          "declined to load in this host)"));
        free(plugin->path);
        free(plugin);
        return;
    }

    sx_pending pending;
    /* The checks read plugin memory: a wild pointer in a descriptor faults
     * here, and the report must name the plugin, not the host. */
    sx_crash_enter(plugin, NULL, "the descriptor it returned");
    int rc = sx_plugin_check(desc, &pending, why, sizeof why);
    sx_crash_leave();
    if (rc == SX_ADMIT_OK) {
        plugin->desc = desc;
        rc = sx_registry_admit(ld->reg, plugin, &pending, why, sizeof why);
        if (rc != SX_ADMIT_OK)
            sx_pending_free(&pending);
    }
    if (rc == SX_ADMIT_OK)
        return;
    if (rc == SX_ADMIT_NOMEM)
        ld->nomem = 1;
    else
        note_nomem(ld, sx_registry_refuse(ld->reg, path, "%s", why));
    free(plugin->path);
    free(plugin);
}

/* A file found in a folder or named in the path. lstat: a symbolic link is
 * refused rather than followed, so the checks above are about the file that
 * is really opened. */
static void consider_file(loader *ld, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        note_nomem(ld, sx_registry_refuse(ld->reg, path, "cannot read: %s", strerror(errno)));
        return;
    }
    if (S_ISLNK(st.st_mode)) {
        note_nomem(ld, sx_registry_refuse(ld->reg, path,
                                          "is a symbolic link (plugins are loaded from regular "
                                          "files only)"));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        note_nomem(ld, sx_registry_refuse(ld->reg, path, "is not a regular file"));
        return;
    }
    if (writable_by_others(ld, path, &st) || seen_before(ld, &st))
        return;
    open_plugin(ld, path);
}

static int so_entry(const struct dirent *e)
{
    return ends_with_so(e->d_name);
}

/* strcmp, not the locale's collation: the load order (and so which of two
 * duplicates wins) must not depend on LC_COLLATE. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void scan_folder(loader *ld, const char *dir)
{
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, so_entry, by_name);
    if (n < 0) {
        note_nomem(ld, sx_registry_refuse(ld->reg, dir, "cannot list: %s", strerror(errno)));
        return;
    }
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (int i = 0; i < n; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s%s%s", dir, slash ? "" : "/", entries[i]->d_name) < 0)
            ld->nomem = 1;
        else
            consider_file(ld, path);
        free(path);
        free(entries[i]);
    }
    free(entries);
}

/* A file named on its own is as exposed as its folder: whoever may write
 * the folder may swap the file. */
static int folder_is_private(loader *ld, const char *file)
{
    const char *slash = strrchr(file, '/');
    char *folder = slash == NULL ? strdup(".")
                   : slash == file ? strdup("/")
                                   : strndup(file, (size_t)(slash - file));
    if (folder == NULL) {
        ld->nomem = 1;
        return 0;
    }
    struct stat st;
    int ok = 1;
    if (stat(folder, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        note_nomem(ld, sx_registry_refuse(ld->reg, file,
                                          "its folder %s has mode %04o, writable by group or "
                                          "others",
                                          folder, (unsigned)(st.st_mode & 07777)));
        ok = 0;
    }
    free(folder);
    return ok;
}

/* One component of a search list: a folder or a single ".so" file. The folder
 * itself may be reached through symbolic links (merged /usr, /lib64 ->
 * lib...); its mode is checked where it leads. */
static void scan_component(loader *ld, const char *entry, int report_missing)
{
    struct stat st;
    if (stat(entry, &st) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            if (report_missing)
                note_nomem(ld, sx_registry_refuse(ld->reg, entry, "no such directory"));
        } else {
            note_nomem(ld, sx_registry_refuse(ld->reg, entry, "cannot read: %s", strerror(e)));
        }
        return;
    }
    note_nomem(ld, sx_registry_note_searched(ld->reg, entry));
    if (!S_ISDIR(st.st_mode)) {
        if (!ends_with_so(entry)) {
            note_nomem(ld, sx_registry_refuse(ld->reg, entry,
                                              "not a plugin folder or \".so\" file"));
            return;
        }
        if (!folder_is_private(ld, entry))
            return;
        consider_file(ld, entry);
        return;
    }
    if (writable_by_others(ld, entry, &st) || seen_before(ld, &st))
        return;
    scan_folder(ld, entry);
}

static void scan_list(loader *ld, const char *list, int report_missing)
{
    if (list == NULL)
        return;
    const char *p = list;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (len > 0) {
            char *entry = strndup(p, len);
            if (entry == NULL) {
                ld->nomem = 1;
                return;
            }
            scan_component(ld, entry, report_missing);
            free(entry);
        }
        if (colon == NULL)
            return;
        p = colon + 1;
    }
}

int sx_registry_load(sx_registry *reg, const siphon_host_info *host_info, const char *plugin_path,
                     const char *system_dir, sx_error *err)
{
    memset(reg, 0, sizeof *reg);
    loader ld;
    memset(&ld, 0, sizeof ld);
    ld.reg = reg;
    ld.host_info = host_info;

    const char *user = plugin_path != NULL ? plugin_path : getenv("SIPHON_PLUGIN_PATH");
    /* Only the compiled-in folder may be missing quietly: a folder someone
     * named and that is not there is a mistake worth showing. */
    const char *system = system_dir;
    int system_named = 1;
    if (system == NULL)
        system = getenv("SIPHON_PLUGIN_SYSTEM_PATH");
    if (system == NULL) {
        system = SIPHON_PLUGINDIR;
        system_named = 0;
    }
    scan_list(&ld, user, 1);
    scan_list(&ld, system, system_named);
    free(ld.seen);
    if (ld.nomem) {
        sx_error_set(err, SX_EXIT_FAILURE, "out of memory while loading plugins");
        return -1;
    }
    return 0;
}
