#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_plugins.h"
#include "core-config.h"
#include "crash.h"
#include "log.h"
#include "mask.h"

static const char MAIN_HELP[] =
    "Usage: siphon [--version] [--help] COMMAND [OPTIONS]\n"
    "\n"
    "siphon extracts data from APIs through stream plugins into sink plugins.\n"
    "\n"
    "Commands:\n"
    "  run        sync the selected streams into the sink\n"
    "  discover   print the Singer catalog of the source's streams\n"
    "  check      check credentials and connectivity with as few requests as possible\n"
    "  plugins    list, inspect or look for plugins (siphon plugins --help)\n"
    "  about      describe siphon, its plugins and settings (--format json|markdown)\n"
    "\n"
    "As a Singer tap (Meltano, or piped into any Singer target):\n"
    "  siphon --config CONFIG --discover\n"
    "  siphon --config CONFIG [--catalog CATALOG | --properties PROPERTIES] [--state STATE]\n"
    "  siphon --about [--format json|markdown] [--config CONFIG]\n"
    "\n"
    "Run `siphon COMMAND --help` for the options of a command.\n"
    "\n"
    "Exit codes: 0 success, 1 failure, 2 usage error, 3 configuration error,\n"
    "4 authentication error, 5 partial failure (some streams failed, the others\n"
    "committed), 6 plugin error, 130 interrupted.\n";

static const char OPTIONS_HELP[] =
    "  -c, --config FILE       the JSON config (see siphon-config(5))\n"
    "      --catalog FILE      a Singer catalog selecting streams and properties\n"
    "      --properties FILE   a legacy Singer properties file\n"
    "  -s, --state FILE        resume from this state file instead of the stored one\n"
    "      --select LIST       only these streams or groups (comma-separated)\n"
    "      --sink NAME         the sink to write into (stdout, file, sqlite, postgres, ...)\n"
    "      --log-level LEVEL   debug, info, warn or error\n"
    "  -q, --quiet             no progress line\n"
    "  -h, --help              this help\n";

static void command_help(const char *command)
{
    if (strcmp(command, "run") == 0)
        printf("Usage: siphon run [OPTIONS]\n\nSyncs the selected streams into the sink, "
               "committing the state only behind\ndurable data.\n\n");
    else if (strcmp(command, "discover") == 0)
        printf("Usage: siphon discover [OPTIONS]\n\nPrints the Singer catalog of the "
               "source's streams on stdout.\n\n");
    else if (strcmp(command, "check") == 0)
        printf("Usage: siphon check [OPTIONS]\n\nLogs in and proves connectivity with as "
               "few requests as possible.\n\n");
    else if (strcmp(command, "about") == 0)
        printf("Usage: siphon about [--format json|markdown] [--config FILE]\n\nDescribes "
               "siphon, its plugins, streams and settings.\n\n");
    printf("Options:\n%s", OPTIONS_HELP);
    if (strcmp(command, "about") == 0)
        printf("      --format FORMAT     json or markdown (default markdown)\n");
}

int sx_cli_fail(const sx_error *err)
{
    char line[sizeof err->msg + 16];
    snprintf(line, sizeof line, "siphon: %s", err->msg);
    sx_log_line(line);
    return err->exit_code ? err->exit_code : SX_EXIT_FAILURE;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "siphon: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun `siphon --help` for usage.\n");
    va_end(ap);
    return SX_EXIT_USAGE;
}

enum { OPT_CATALOG = 256, OPT_PROPERTIES, OPT_SELECT, OPT_SINK, OPT_LOG_LEVEL, OPT_FORMAT,
       OPT_ABOUT, OPT_VERSION };

int sx_cli_parse(sx_cli *cli, int argc, char **argv, const char *command)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"catalog", required_argument, NULL, OPT_CATALOG},
        {"properties", required_argument, NULL, OPT_PROPERTIES},
        {"state", required_argument, NULL, 's'},
        {"select", required_argument, NULL, OPT_SELECT},
        {"sink", required_argument, NULL, OPT_SINK},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"discover", no_argument, NULL, 'd'},
        {"about", no_argument, NULL, OPT_ABOUT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:s:dqhp:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': cli->run.config_path = optarg; break;
        case OPT_CATALOG: cli->run.catalog_path = optarg; break;
        case 'p':
        case OPT_PROPERTIES: cli->run.properties_path = optarg; break;
        case 's': cli->run.state_path = optarg; break;
        case OPT_SELECT: cli->run.select = optarg; break;
        case OPT_SINK: cli->run.sink = optarg; break;
        case OPT_LOG_LEVEL: cli->log_level = optarg; break;
        case OPT_FORMAT: cli->format = optarg; break;
        case 'd': cli->discover = 1; break;
        case OPT_ABOUT: cli->about = 1; break;
        case 'q': cli->quiet = 1; break;
        case 'h': command_help(command); return -1;
        case OPT_VERSION: printf("siphon %s (plugin ABI %d.%d)\n", SIPHON_VERSION_STRING,
                                 SIPHON_HOST_ABI_MAJOR, SIPHON_HOST_ABI_MINOR);
                          return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (cli->run.catalog_path && cli->run.properties_path)
        return usage_error("give --catalog or --properties, not both");
    if (cli->log_level != NULL) {
        int level = sx_log_level_parse(cli->log_level);
        if (level < 0)
            return usage_error("unknown log level '%s' (debug, info, warn, error)", cli->log_level);
        sx_log_set_level(level);
    }
    if (cli->format != NULL && strcmp(cli->format, "json") != 0 &&
        strcmp(cli->format, "markdown") != 0)
        return usage_error("unknown format '%s' (json or markdown)", cli->format);
    cli->run.progress = !cli->quiet && isatty(STDERR_FILENO);
    return 0;
}

/* Returns the exit code, or -1 after --help/--version (exit 0). */
static int parse_or_exit(sx_cli *cli, int argc, char **argv, const char *command, int *code)
{
    int rc = sx_cli_parse(cli, argc, argv, command);
    if (rc == -1) {
        *code = SX_EXIT_OK;
        return -1;
    }
    if (rc != 0) {
        *code = rc;
        return -1;
    }
    return 0;
}

static int singer_main(int argc, char **argv)
{
    sx_cli cli = {0};
    int code;
    if (parse_or_exit(&cli, argc, argv, "run", &code) != 0)
        return code;
    cli.run.singer_mode = 1;
    if (cli.about)
        return sx_cmd_about(&cli);
    if (cli.discover)
        return sx_cmd_discover(&cli);
    return sx_cmd_run(&cli);
}

int sx_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(MAIN_HELP, stderr);
        return SX_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        fputs(MAIN_HELP, stdout);
        return SX_EXIT_OK;
    }
    if (strcmp(command, "--version") == 0 || strcmp(command, "-V") == 0) {
        printf("siphon %s (plugin ABI %d.%d)\n", SIPHON_VERSION_STRING, SIPHON_HOST_ABI_MAJOR,
               SIPHON_HOST_ABI_MINOR);
        return SX_EXIT_OK;
    }
    if (command[0] == '-')
        return singer_main(argc, argv);

    if (strcmp(command, "plugins") == 0) {
        siphon_host_info info = {sizeof info, SIPHON_ABI_MAJOR, SIPHON_ABI_MINOR,
                                 SIPHON_VERSION_STRING, sx_host_api()};
        sx_registry reg = {0};
        sx_error err = {0};
        if (sx_registry_load(&reg, &info, NULL, NULL, &err) != 0)
            return sx_cli_fail(&err);
        int rc = sx_cmd_plugins(argc - 1, argv + 1, &reg);
        sx_registry_free(&reg);
        return rc;
    }
    static const struct {
        const char *name;
        int (*fn)(sx_cli *);
    } commands[] = {
        {"run", sx_cmd_run}, {"discover", sx_cmd_discover},
        {"check", sx_cmd_check}, {"about", sx_cmd_about},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(command, commands[i].name) != 0)
            continue;
        sx_cli cli = {0};
        int code;
        if (parse_or_exit(&cli, argc - 1, argv + 1, command, &code) != 0)
            return code;
        return commands[i].fn(&cli);
    }
    const char *names[] = {"run", "discover", "check", "plugins", "about"};
    const char *guess = sx_did_you_mean(command, names, sizeof names / sizeof names[0]);
    fprintf(stderr, "siphon: unknown command '%s'%s%s%s\nRun `siphon --help` for usage.\n", command,
            guess ? " (did you mean '" : "", guess ? guess : "", guess ? "'?)" : "");
    return SX_EXIT_USAGE;
}
