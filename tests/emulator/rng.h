/*
 * rng.h: the emulator's randomness. Every generated value is a pure function
 * of the seed and a record's coordinates (stream, parent, index), so a record
 * can be computed again at any time instead of being stored.
 */
#ifndef EMU_RNG_H
#define EMU_RNG_H

#include <stdint.h>

/* A well-mixed 64-bit hash of x (splitmix64's finaliser). */
static inline uint64_t emu_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Hash of a seed and up to three coordinates. */
static inline uint64_t emu_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return emu_mix(emu_mix(emu_mix(seed ^ 0x5851f42d4c957f2dULL) ^ a) ^ (b * 0x2545f4914f6cdd1dULL) ^
                   (c * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL));
}

/* A sequential generator for the fault decisions. */
typedef struct emu_rng {
    uint64_t state;
} emu_rng;

static inline uint64_t emu_rng_next(emu_rng *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    return emu_mix(r->state);
}

/* A uniform double in [0, 1). */
static inline double emu_rng_unit(emu_rng *r)
{
    return (double)(emu_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
