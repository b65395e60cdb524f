/*
 * test_fuzz_corpus.h: replaying a harness's checked-in corpus from a
 * Criterion test (test_fuzz_corpus.c), for harnesses whose part of the
 * project may be left out of a build (the Dinamize envelope).
 */
#ifndef SXT_TEST_FUZZ_CORPUS_H
#define SXT_TEST_FUZZ_CORPUS_H

/* Runs replay-HARNESS over tests/fuzz/corpus/HARNESS and fails the test
 * unless every file replays without a finding. */
void sxt_fuzz_replay_corpus(const char *harness);

#endif
