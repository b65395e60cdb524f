/*
 * The Dinamize envelope corpus, replayed when the Dinamize plugins are built
 * (see test_fuzz_corpus.c).
 */
#include <criterion/criterion.h>

#include "test_fuzz_corpus.h"

Test(fuzz_corpus, envelope_inputs_replay_without_a_finding) { sxt_fuzz_replay_corpus("envelope"); }
