// snow/io/sim/random.hpp: the simulated kernel's only source of chance. Every choice it makes
// (completion order, which side of a cancel race wins, a spurious wake-up) is drawn from
// one explicitly seeded generator, so a seed names a whole run and replays it exactly.
#pragma once

#include <cstdint>

namespace snow::io::sim {

/// xoshiro256** seeded through splitmix64: small, fast, and the same sequence on every
/// platform and standard library (std::uniform_int_distribution is not).
class random {
public:
    /// The generator for `seed`: its state is four splitmix64 outputs from it.
    explicit random(std::uint64_t seed) noexcept {
        for (auto& word : state_) word = splitmix64(seed);
    }

    /// The next 64 random bits.
    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    /// In [0, bound); 0 when bound is 0. The modulo's bias is below 2^-40 for the bounds a
    /// simulation uses, far under anything a scenario could notice.
    std::uint64_t below(std::uint64_t bound) noexcept { return bound == 0 ? 0 : next() % bound; }

    /// True with probability `p` (0 never, 1 always).
    bool chance(double p) noexcept { return unit() < p; }

    /// Uniform in [0, 1).
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    /// One step of splitmix64: advances `x` and returns a mix of it. The trace hashes use
    /// it to fold in each word.
    static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }

    std::uint64_t state_[4];
};

} // namespace snow::io::sim
