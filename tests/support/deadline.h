/*
 * deadline.h: a time limit for tests that could hang (threads waiting on each
 * other, servers that never answer), so a defect fails one test instead of
 * stalling the whole run.
 *
 * Criterion's own .timeout is not used: its watchdog in the runner process
 * keeps some of its requests until exit, which LeakSanitizer reports as a leak
 * of the runner and so fails the sanitizer run. Instead the test's own process
 * arms an alarm when it starts: past the deadline it says so on stderr and dies
 * by SIGALRM, which Criterion reports as a crash of that test.
 *
 *     SXT_DEADLINE(60)
 *     Test(http, cancel_aborts_a_backoff, .init = sxt_deadline_60s) { ... }
 *     TestSuite(dz_sync, .init = sxt_deadline_180s);
 */
#ifndef SXT_DEADLINE_H
#define SXT_DEADLINE_H

/* Arms the deadline of the current test: seconds from now. */
void sxt_deadline_arm(unsigned seconds);

/* Defines sxt_deadline_<seconds>s, an .init fixture arming that deadline. */
#define SXT_DEADLINE(seconds) \
    static void sxt_deadline_##seconds##s(void) { sxt_deadline_arm(seconds); }

#endif
