/* The command line and the process's life. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_test.h"
#include "test-paths.h"
#ifndef SX_TEST_EMULATOR
#include "emulator/emulator-path.h"
#define SX_TEST_EMULATOR SX_TEST_EMULATOR_FALLBACK
#endif

Test(cli, bad_options_exit_2_naming_the_option)
{
    const char *cases[][3] = {
        {"--contacts", "lots", "--contacts"},
        {"--frobnicate", NULL, "--frobnicate"},
        {"--fault", "explode:1", "explode"},
        {"--fault", "http500:7", "http500:7"},
        {"--rate-window", "0", "--rate-window"},
        {"--tls-cert", "/nonexistent/cert.pem", "--tls-key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {SX_TEST_EMULATOR, cases[i][0], cases[i][1], NULL};
        sxt_result r = sxt_run(argv, NULL, NULL, 10);
        cr_assert(r.exited, "case %zu", i);
        cr_assert_eq(r.status, 2, "case %zu exit %d", i, r.status);
        cr_assert(strstr(r.err, cases[i][2]), "case %zu: %s", i, r.err);
        sxt_result_free(&r);
    }
}

Test(cli, help_prints_usage_and_exits_0)
{
    const char *argv[] = {SX_TEST_EMULATOR, "--help", NULL};
    sxt_result r = sxt_run(argv, NULL, NULL, 10);
    cr_assert(r.exited);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "--rate-limit") && strstr(r.out, "--tls-self-signed"));
    sxt_result_free(&r);
}

Test(cli, it_announces_its_port_writes_the_port_file_and_stops_cleanly_on_sigterm)
{
    char *dir = sxt_tmpdir("emu-cli");
    char *pf = sxt_strf("%s/port", dir);
    sxt_emulator *e = emu_up(EMU_START("--port-file", pf));
    char *text = sxt_read_file(pf, NULL);
    cr_assert_not_null(text);
    cr_assert_eq(atoi(text), sxt_emulator_port(e));
    char *url = sxt_strf("http://127.0.0.1:%d", sxt_emulator_port(e));
    cr_assert_str_eq(sxt_emulator_url(e), url);
    int st = sxt_emulator_stop_status(e);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status %d", st);
    free(url);
    free(text);
    free(pf);
    sxt_rmtree(dir);
    free(dir);
}

Test(cli, a_taken_port_is_a_clear_error)
{
    sxt_emulator *e = emu_up(EMU_START("--seed", "1"));
    char *port = sxt_strf("%d", sxt_emulator_port(e));
    const char *argv[] = {SX_TEST_EMULATOR, "--port", port, NULL};
    sxt_result r = sxt_run(argv, NULL, NULL, 10);
    cr_assert(r.exited);
    cr_assert_neq(r.status, 0);
    cr_assert(strstr(r.err, port), "%s", r.err);
    sxt_result_free(&r);
    free(port);
    sxt_emulator_stop(e);
}

Test(cli, several_clients_are_served_at_once)
{
    /* A slow answer in one connection does not hold up another. */
    sxt_emulator *e = emu_up(EMU_START("--fault", "slow:1,20000"));
    pid_t pid = fork();
    if (pid == 0) {
        sxt_http h = sxt_emulator_raw(e, "POST", "/auth", NULL, "{}", 15000, NULL);
        sxt_http_free(&h);
        _exit(0);
    }
    emu_nap_ms(200);
    json_t *hl = sxt_emulator_get(e, "/_emulator/health");
    cr_assert(json_is_true(json_object_get(hl, "ok")));
    json_decref(hl);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* Stopping does not wait for the slow answer to finish. */
    int st = sxt_emulator_stop_status(e);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Whether pid has ended (gone, or a zombie nobody reaped yet). */
static int ended(int pid)
{
    char *path = sxt_strf("/proc/%d/stat", pid);
    char *text = sxt_read_file(path, NULL);
    free(path);
    const char *close_paren = text ? strrchr(text, ')') : NULL;
    int dead = close_paren == NULL || close_paren[2] == 'Z' || close_paren[2] == 'X';
    free(text);
    return dead;
}

Test(cli, an_emulator_ends_with_the_test_process_that_started_it)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        /* A test that fails before sxt_emulator_stop. */
        sxt_emulator *e = EMU_START("--seed", "5");
        int pid = e ? sxt_emulator_pid(e) : -1;
        if (write(fds[1], &pid, sizeof pid) != sizeof pid)
            _exit(1);
        _exit(0);
    }
    int pid = -1;
    cr_assert_eq(read(fds[0], &pid, sizeof pid), (ssize_t)sizeof pid);
    waitpid(child, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    cr_assert_gt(pid, 0);
    for (int i = 0; i < 500 && !ended(pid); i++)
        emu_nap_ms(20);
    cr_assert(ended(pid), "the emulator outlived the process that started it");
}
