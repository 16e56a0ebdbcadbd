// Small deterministic RNG for sampling: xoshiro256** (Blackman & Vigna) whose 256-bit state is
// filled by splitmix64 from a 64-bit seed. Written out here rather than taken from <random>
// because std:: distributions (uniform_real_distribution, discrete_distribution) are allowed to
// produce different values on different standard libraries; these few lines of integer
// arithmetic give the same stream everywhere, so a seed reproduces a generation on any platform.
#pragma once

#include <cstdint>

namespace scout {

// splitmix64: advances `state` and returns the next output. Used to expand one seed into
// the xoshiro state (its outputs are never all zero, which xoshiro requires).
inline uint64_t splitmix64_next(uint64_t& state) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }

    void reseed(uint64_t seed) {
        uint64_t sm = seed;
        for (uint64_t& word : s_) word = splitmix64_next(sm);
    }

    // xoshiro256**: next 64 uniformly distributed bits.
    uint64_t next_u64() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform double in [0, 1): the top 53 bits scaled by 2^-53, exact in IEEE double, so
    // every platform maps the same bits to the same value (never 1.0).
    double next_unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    uint64_t s_[4];
};

}  // namespace scout
