/*
 * The loader's search rules and what it builds from good plugins: where it
 * looks, which files it will not open, the order that decides duplicates,
 * and the host-side copies (zeroed past what a plugin declared, options
 * normalised, schema parsed, sources shared).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi_support.h"
#include "core-config.h"
#include "plugin_check.h"
#include "proc.h"

static int has_plugin(const sx_registry *reg, const char *path)
{
    for (size_t i = 0; i < reg->n_plugins; i++)
        if (strcmp(reg->plugins[i]->path, path) == 0)
            return 1;
    return 0;
}

static void expect_refusal(const sx_registry *reg, const char *path, const char *reason)
{
    const sx_refusal *r = sxt_abi_refusal(reg, path);
    cr_assert_not_null(r, "%s was not refused", path);
    cr_expect_str_eq(r->reason, reason);
}

Test(loader, good_plugins_load_with_host_copies_of_their_components)
{
    const char *names[] = {"good_stream", "good_sink", NULL};
    char *dir = sxt_abi_stage(names);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    cr_assert_eq(reg.n_refusals, 0, "unexpected refusal: %s",
                 reg.n_refusals ? reg.refusals[0].reason : "");
    cr_assert_eq(reg.n_plugins, 2);
    cr_assert_eq(reg.n_streams, 2);
    cr_assert_eq(reg.n_sinks, 1);
    cr_assert_eq(reg.n_sources, 1);

    const sx_plugin *p = sx_registry_plugin(&reg, "abi-good-stream");
    cr_assert_not_null(p);
    char *path = sxt_strf("%s/good_stream.so", dir);
    cr_expect_str_eq(p->path, path);
    cr_expect_not_null(p->handle);
    cr_expect_str_eq(p->desc->version, "1.2.3");

    sx_stream *items = sx_registry_stream(&reg, "good_items");
    cr_assert_not_null(items);
    cr_expect_eq(items->plugin, p);
    cr_expect_not_null(items->vt.read);
    cr_expect_str_eq(items->vt.replication_key, "updated_at");
    cr_assert_not_null(items->schema);
    cr_expect(json_is_object(json_object_get(items->schema, "properties")));
    cr_expect_str_eq(items->source->name, "abi-src");

    /* Defaults are parsed and converted to the declared type. */
    cr_assert_eq(items->options.n, 5);
    const json_t *page = sx_options_default(&items->options, "page_size");
    cr_assert(json_is_integer(page), "the string default \"50\" of an int option becomes 50");
    cr_expect_eq(json_integer_value(page), 50);
    cr_expect(json_is_true(sx_options_default(&items->options, "verbose")));
    cr_expect_float_eq(json_number_value(sx_options_default(&items->options, "ratio")), 0.5, 1e-9);
    const json_t *extra = sx_options_default(&items->options, "extra");
    cr_assert(json_is_object(extra));
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(extra, "a"), 1)),
                     "\xc3\xa9");
    cr_expect_null(sx_options_default(&items->options, "token"));
    const siphon_option *token = sx_options_find(&items->options, "token");
    cr_assert_not_null(token);
    cr_expect_str_eq(token->env, "ABI_TOKEN");
    cr_expect_null(sx_options_find(&items->options, "nope"));

    /* A child stream with DISCOVER may leave its schema to run time. */
    sx_stream *children = sx_registry_stream(&reg, "good_children");
    cr_assert_not_null(children);
    cr_expect_null(children->schema);
    cr_expect_str_eq(children->vt.parent, "good_items");
    cr_expect_eq(children->source, items->source, "streams of one source share one sx_source");
    cr_assert_eq(items->source->n_streams, 2);
    cr_expect_eq(items->source->streams[0], items);
    cr_expect_eq(items->source->streams[1], children);
    cr_expect_eq(sx_registry_source(&reg, "abi-src"), items->source);
    cr_expect_str_eq(json_string_value(sx_options_default(&items->source->options, "region")),
                     "eu");

    sx_sink *sink = sx_registry_sink(&reg, "good_sink");
    cr_assert_not_null(sink);
    cr_expect_not_null(sink->vt.commit);
    cr_expect_str_eq(sink->plugin->desc->name, "abi-good-sink");
    cr_expect_null(sx_registry_sink(&reg, "good_items"), "streams and sinks are looked up apart");
    cr_expect_null(sx_registry_stream(&reg, "good_sink"));

    free(path);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, an_older_plugin_loads_and_nothing_past_its_declared_sizes_is_read)
{
    const char *names[] = {"older_layouts", NULL};
    char *dir = sxt_abi_stage(names);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    cr_assert_eq(reg.n_refusals, 0, "refused: %s", reg.n_refusals ? reg.refusals[0].reason : "");
    sx_stream *s = sx_registry_stream(&reg, "older_items");
    cr_assert_not_null(s);
    cr_expect_eq(s->plugin->desc->abi_minor, 0);

    /* The source ends before check: the function stored there is unseen. */
    cr_expect_null(s->source->decl.check);
    cr_expect_str_eq(s->source->decl.description,
                     "The fixtures' source, as an older plugin declares it.");

    /* Options strided by the plugin's smaller entry size. */
    cr_assert_eq(s->source->options.n, 3);
    cr_expect_str_eq(s->source->options.items[2].name, "region");
    cr_expect_null(s->source->options.items[2].env);
    cr_expect_null(s->source->options.items[2].choices);
    cr_expect_str_eq(json_string_value(s->source->options.defaults[2]), "us");
    cr_assert_eq(s->options.n, 2);
    cr_expect_str_eq(s->options.items[1].name, "since");
    cr_expect_eq(s->options.items[1].flags, SIPHON_OPT_PER_STREAM);
    cr_expect_eq(json_integer_value(s->options.defaults[0]), 10);

    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_source_declared_by_two_plugins_is_one_source_with_both_streams)
{
    const char *names[] = {"good_stream", "older_layouts", NULL};
    char *dir = sxt_abi_stage(names);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    cr_assert_eq(reg.n_refusals, 0, "refused: %s", reg.n_refusals ? reg.refusals[0].reason : "");
    cr_assert_eq(reg.n_sources, 1);
    sx_source *src = reg.sources[0];
    cr_expect_eq(src->n_streams, 3);
    /* The first declaration loaded is the one kept. */
    cr_expect_str_eq(src->decl.description, "The fixtures' source.");
    cr_expect_eq(sx_registry_stream(&reg, "older_items")->source, src);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, files_load_in_name_order_so_the_later_duplicate_is_refused)
{
    char *dir = sxt_abi_stage(NULL);
    /* Same plugin twice under two names: "a_copy.so" sorts first and wins. */
    sxt_abi_copy("good_stream", dir, "good_stream.so", 0644);
    sxt_abi_copy("good_stream", dir, "a_copy.so", 0644);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    char *first = sxt_strf("%s/a_copy.so", dir), *later = sxt_strf("%s/good_stream.so", dir);
    cr_expect(has_plugin(&reg, first));
    char *why = sxt_strf("duplicate plugin 'abi-good-stream': already provided by %s", first);
    expect_refusal(&reg, later, why);
    free(why);
    free(first);
    free(later);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, earlier_path_components_win_over_later_ones)
{
    const char *names[] = {"good_stream", NULL};
    char *a = sxt_abi_stage(names), *b = sxt_abi_stage(names);
    char *path = sxt_strf("%s:%s", b, a);
    sx_registry reg;
    sxt_abi_load(&reg, path);
    char *in_a = sxt_strf("%s/good_stream.so", a), *in_b = sxt_strf("%s/good_stream.so", b);
    cr_expect(has_plugin(&reg, in_b));
    char *why = sxt_strf("duplicate plugin 'abi-good-stream': already provided by %s", in_b);
    expect_refusal(&reg, in_a, why);
    cr_assert_eq(reg.n_search_path, 2);
    cr_expect_str_eq(reg.search_path[0], b);
    cr_expect_str_eq(reg.search_path[1], a);
    free(why);
    free(in_a);
    free(in_b);
    free(path);
    sx_registry_free(&reg);
    sxt_rmtree(a);
    sxt_rmtree(b);
    free(a);
    free(b);
}

Test(loader, empty_components_are_skipped_and_a_folder_named_twice_loads_once)
{
    const char *names[] = {"good_sink", NULL};
    char *dir = sxt_abi_stage(names);
    char *path = sxt_strf("::%s::%s/:", dir, dir);
    sx_registry reg;
    sxt_abi_load(&reg, path);
    cr_expect_eq(reg.n_plugins, 1);
    cr_expect_eq(reg.n_refusals, 0, "refused: %s", reg.n_refusals ? reg.refusals[0].reason : "");
    free(path);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_missing_folder_is_refused_and_the_rest_still_loads)
{
    const char *names[] = {"good_sink", NULL};
    char *dir = sxt_abi_stage(names);
    char *absent = sxt_strf("%s/absent", dir);
    char *path = sxt_strf("%s:%s", absent, dir);
    sx_registry reg;
    sxt_abi_load(&reg, path);
    expect_refusal(&reg, absent, "no such directory");
    cr_expect_eq(reg.n_plugins, 1);
    free(path);
    free(absent);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_component_may_name_one_so_file)
{
    const char *names[] = {"good_sink", "good_stream", NULL};
    char *dir = sxt_abi_stage(names);
    char *file = sxt_strf("%s/good_sink.so", dir);
    char *readme = sxt_strf("%s/README", dir);
    cr_assert_eq(sxt_write_file(readme, "not a plugin\n"), 0);
    char *path = sxt_strf("%s:%s", file, readme);
    sx_registry reg;
    sxt_abi_load(&reg, path);
    cr_expect_eq(reg.n_plugins, 1, "only the named file loads, not its neighbours");
    cr_expect(has_plugin(&reg, file));
    expect_refusal(&reg, readme, "not a plugin folder or \".so\" file");
    free(path);
    free(readme);
    free(file);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_file_named_alone_is_refused_when_its_folder_is_writable_by_others)
{
    char *dir = sxt_abi_stage(NULL);
    sxt_abi_copy("good_sink", dir, "good_sink.so", 0644);
    cr_assert_eq(chmod(dir, 0775), 0);
    char *file = sxt_strf("%s/good_sink.so", dir);
    sx_registry reg;
    sxt_abi_load(&reg, file);
    char *why = sxt_strf("its folder %s has mode 0775, writable by group or others", dir);
    expect_refusal(&reg, file, why);
    cr_expect_eq(reg.n_plugins, 0);
    free(why);
    free(file);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, files_not_ending_in_so_are_ignored)
{
    const char *names[] = {"good_sink", NULL};
    char *dir = sxt_abi_stage(names);
    sxt_abi_copy("good_stream", dir, "good_stream.so.bak", 0644);
    sxt_abi_copy("good_stream", dir, "good_stream", 0644);
    sxt_abi_copy("good_stream", dir, ".so", 0644);
    char *notes = sxt_strf("%s/notes.txt", dir);
    cr_assert_eq(sxt_write_file(notes, "hello\n"), 0);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    cr_expect_eq(reg.n_plugins, 1);
    cr_expect_eq(reg.n_refusals, 0, "refused: %s %s", reg.n_refusals ? reg.refusals[0].path : "",
                 reg.n_refusals ? reg.refusals[0].reason : "");
    free(notes);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_file_that_is_not_elf_is_refused_with_the_dlopen_error)
{
    char *dir = sxt_abi_stage(NULL);
    char *path = sxt_strf("%s/not_elf.so", dir);
    /* Longer than an ELF header, so the loader reads it and finds no magic. */
    cr_assert_eq(sxt_write_file(path, "This is a text file that happens to be named like a plugin,"
                                      " and it is long enough to hold an ELF header.\n"),
                 0);
    cr_assert_eq(chmod(path, 0644), 0);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    char *why = sxt_strf("cannot load: %s: invalid ELF header (check its libraries with 'ldd %s')",
                         path, path);
    expect_refusal(&reg, path, why);
    free(why);
    free(path);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_symbolic_link_is_refused_not_followed)
{
    const char *names[] = {"good_sink", NULL};
    char *dir = sxt_abi_stage(names);
    char *target = sxt_strf("%s/good_sink.so", dir), *link = sxt_strf("%s/link.so", dir);
    cr_assert_eq(symlink(target, link), 0);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    expect_refusal(&reg, link, "is a symbolic link (plugins are loaded from regular files only)");
    cr_expect(has_plugin(&reg, target));
    cr_expect_eq(reg.n_plugins, 1);
    free(target);
    free(link);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_folder_named_like_a_plugin_is_refused)
{
    char *dir = sxt_abi_stage(NULL);
    char *sub = sxt_strf("%s/folder.so", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    expect_refusal(&reg, sub, "is not a regular file");
    free(sub);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_file_writable_by_group_or_others_is_refused_with_its_mode)
{
    char *dir = sxt_abi_stage(NULL);
    sxt_abi_copy("good_sink", dir, "group.so", 0664);
    sxt_abi_copy("good_stream", dir, "world.so", 0646);
    sx_registry reg;
    sxt_abi_load(&reg, dir);
    char *group = sxt_strf("%s/group.so", dir), *world = sxt_strf("%s/world.so", dir);
    expect_refusal(&reg, group, "mode 0664 is writable by group or others");
    expect_refusal(&reg, world, "mode 0646 is writable by group or others");
    cr_expect_eq(reg.n_plugins, 0);
    free(group);
    free(world);
    sx_registry_free(&reg);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, a_folder_writable_by_others_is_refused_and_not_searched)
{
    char *dir = sxt_abi_stage(NULL);
    char *open_dir = sxt_strf("%s/open", dir);
    cr_assert_eq(mkdir(open_dir, 0700), 0);
    sxt_abi_copy("good_sink", open_dir, "good_sink.so", 0644);
    cr_assert_eq(chmod(open_dir, 01777), 0);
    sx_registry reg;
    sxt_abi_load(&reg, open_dir);
    expect_refusal(&reg, open_dir, "mode 1777 is writable by group or others");
    cr_expect_eq(reg.n_plugins, 0);
    cr_expect_eq(reg.n_refusals, 1);
    sx_registry_free(&reg);
    cr_assert_eq(chmod(open_dir, 0700), 0);
    free(open_dir);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, the_environment_gives_both_paths_when_the_arguments_are_null)
{
    const char *one[] = {"good_stream", NULL}, *two[] = {"good_sink", NULL};
    char *user = sxt_abi_stage(one), *system = sxt_abi_stage(two);
    setenv("SIPHON_PLUGIN_PATH", user, 1);
    setenv("SIPHON_PLUGIN_SYSTEM_PATH", system, 1);
    sx_registry reg;
    sx_error err;
    sx_error_clear(&err);
    cr_assert_eq(sx_registry_load(&reg, &sxt_abi_host_info, NULL, NULL, &err), 0);
    cr_expect_eq(reg.n_plugins, 2);
    cr_assert_eq(reg.n_search_path, 2);
    cr_expect_str_eq(reg.search_path[0], user);
    cr_expect_str_eq(reg.search_path[1], system);
    sx_registry_free(&reg);
    sxt_rmtree(user);
    sxt_rmtree(system);
    free(user);
    free(system);
}

Test(loader, an_empty_system_path_means_no_system_folder)
{
    unsetenv("SIPHON_PLUGIN_PATH");
    setenv("SIPHON_PLUGIN_SYSTEM_PATH", "", 1);
    sx_registry reg;
    sx_error err;
    sx_error_clear(&err);
    cr_assert_eq(sx_registry_load(&reg, &sxt_abi_host_info, NULL, NULL, &err), 0);
    cr_expect_eq(reg.n_search_path, 0);
    cr_expect_eq(reg.n_plugins, 0);
    cr_expect_eq(reg.n_refusals, 0);
    sx_registry_free(&reg);
}

Test(loader, a_named_system_folder_that_is_missing_is_refused)
{
    char *dir = sxt_abi_stage(NULL);
    char *absent = sxt_strf("%s/nothing-here", dir);
    unsetenv("SIPHON_PLUGIN_PATH");
    setenv("SIPHON_PLUGIN_SYSTEM_PATH", absent, 1);
    sx_registry reg;
    sx_error err;
    sx_error_clear(&err);
    cr_assert_eq(sx_registry_load(&reg, &sxt_abi_host_info, NULL, NULL, &err), 0);
    expect_refusal(&reg, absent, "no such directory");
    sx_registry_free(&reg);
    free(absent);
    sxt_rmtree(dir);
    free(dir);
}

Test(loader, without_the_variable_the_installed_folder_is_searched_and_may_be_absent)
{
    unsetenv("SIPHON_PLUGIN_PATH");
    unsetenv("SIPHON_PLUGIN_SYSTEM_PATH");
    sx_registry reg;
    sx_error err;
    sx_error_clear(&err);
    cr_assert_eq(sx_registry_load(&reg, &sxt_abi_host_info, NULL, NULL, &err), 0);
    struct stat st;
    if (stat(SIPHON_PLUGINDIR, &st) == 0) {
        cr_assert_geq(reg.n_search_path, 1);
        cr_expect_str_eq(reg.search_path[0], SIPHON_PLUGINDIR);
    } else {
        cr_expect_eq(reg.n_search_path, 0);
        cr_expect_null(sxt_abi_refusal(&reg, SIPHON_PLUGINDIR),
                       "an absent installed folder is not an error");
    }
    sx_registry_free(&reg);
}

Test(loader, names_need_no_quoting)
{
    cr_expect(sx_name_is_valid("dinamize-contacts"));
    cr_expect(sx_name_is_valid("contact_lists.v2"));
    cr_expect_not(sx_name_is_valid(""));
    cr_expect_not(sx_name_is_valid(NULL));
    cr_expect_not(sx_name_is_valid("two words"));
    cr_expect_not(sx_name_is_valid("quote'd"));
    cr_expect_not(sx_name_is_valid("caf\xc3\xa9"));
}

Test(loader, human_names_of_kinds_types_and_capabilities)
{
    char buf[128];
    cr_expect_str_eq(sx_kind_name(SIPHON_KIND_STREAM), "stream");
    cr_expect_str_eq(sx_kind_name(SIPHON_KIND_SINK), "sink");
    cr_expect_str_eq(sx_kind_name(42), "unknown");
    cr_expect_str_eq(sx_option_type_name(SIPHON_OPT_NUMBER), "number");
    cr_expect_str_eq(sx_option_type_name(0), "unknown");
    sx_caps_format(0, buf, sizeof buf);
    cr_expect_str_eq(buf, "none");
    sx_caps_format(SIPHON_CAP_DISCOVER | SIPHON_CAP_PARALLEL_SAFE, buf, sizeof buf);
    cr_expect_str_eq(buf, "DISCOVER|PARALLEL_SAFE");
    sx_caps_format(SIPHON_CAP_TRANSACTIONAL | (UINT64_C(1) << 40), buf, sizeof buf);
    cr_expect_str_eq(buf, "TRANSACTIONAL|0x10000000000");
    sx_caps_format(SIPHON_CAP_DISCOVER | SIPHON_CAP_PARALLEL_SAFE, buf, 5);
    cr_expect_eq(strlen(buf), 4, "truncated to the buffer, still terminated");
}
