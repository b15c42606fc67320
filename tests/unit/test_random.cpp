// Counter-based random numbers (include/fireflies/random.hpp): Philox4x32-10 against the
// published known-answer vectors of Random123, the mapping to (seed, agent, draw), and
// uniform_below's range and uniformity.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "fireflies/random.hpp"

using namespace fireflies;

namespace {

struct kat {
    philox4x32::counter in;
    philox4x32::key key;
    philox4x32::counter out;
};

// Random123 1.09, examples/kat_vectors, "philox4x32 10" lines.
constexpr std::array<kat, 3> philox_kats{{
    {{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u},
     {0x00000000u, 0x00000000u},
     {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
}};

TEST(RandomPhilox, MatchesRandom123KnownAnswers) {
    for (const kat& k : philox_kats) {
        const auto got = philox4x32::bijection(k.in, k.key);
        for (int i = 0; i < 4; ++i)
            EXPECT_EQ(got[static_cast<std::size_t>(i)], k.out[static_cast<std::size_t>(i)])
                << std::hex << "word " << i << " of counter {" << k.in[0] << ", " << k.in[1] << ", "
                << k.in[2] << ", " << k.in[3] << "} key {" << k.key[0] << ", " << k.key[1] << "}";
    }
}

TEST(RandomPhilox, IsConstexpr) {
    constexpr auto r = philox4x32::bijection({0, 0, 0, 0}, {0, 0});
    static_assert(r[0] == 0x6627e8d5u && r[3] == 0x9b00dbd8u, "philox4x32-10 KAT at compile time");
    constexpr std::uint64_t bits = random_bits(1, 2, 3);
    EXPECT_EQ(bits, random_bits(1, 2, 3));
}

// random_bits puts (agent, draw) in the counter and the seed in the key, low words first, and
// takes the first two output words. Spelled out here once, so that a change of the mapping (which
// would change every run) is noticed.
TEST(RandomBits, MapsSeedAgentDrawOntoPhilox) {
    const std::uint64_t seed = 0x0123456789abcdefULL, agent = 0xfedcba9876543210ULL,
                        draw = 0x1122334455667788ULL;
    const auto r = philox4x32::bijection({0x76543210u, 0xfedcba98u, 0x55667788u, 0x11223344u},
                                         {0x89abcdefu, 0x01234567u});
    EXPECT_EQ(random_bits(seed, agent, draw), (std::uint64_t{r[0]} << 32) | r[1]);
    // The all-zero KAT: seed 0, agent 0, draw 0.
    EXPECT_EQ(random_bits(0, 0, 0), 0x6627e8d5e169c58dULL);
}

// Every saved run depends on the streams as they are: the start phases of the default run (seed
// 1, T = 5 s in ns ticks, draw 0 of each firefly) pinned here, so that a change of the mapping or
// of uniform_below, or a new stream that reuses draw 0, is noticed (docs/model.md: a new random
// stream must leave existing runs bitwise unchanged). The values are what this code produced when
// the pin was made: a regression pin, not an independent answer (the Philox KATs above are that).
TEST(RandomBits, DefaultRunStartPhasesArePinned) {
    constexpr std::int64_t period_ticks = 5'000'000'000;
    const std::array<std::int64_t, 4> start{uniform_below(random_bits(1, 0, 0), period_ticks),
                                            uniform_below(random_bits(1, 1, 0), period_ticks),
                                            uniform_below(random_bits(1, 2, 0), period_ticks),
                                            uniform_below(random_bits(1, 899, 0), period_ticks)};
    const std::array<std::int64_t, 4> pinned{4451295864, 3359991344, 1237007361, 2565865839};
    EXPECT_EQ(start, pinned);
}

TEST(RandomBits, DifferentSeedAgentOrDrawGiveDifferentStreams) {
    std::set<std::uint64_t> seen;
    std::size_t count = 0;
    for (std::uint64_t s : {0ULL, 1ULL, 2ULL, 1ULL << 32, (1ULL << 32) | 1ULL, ~0ULL})
        for (std::uint64_t a : {0ULL, 1ULL, 2ULL, 899ULL, 1ULL << 32, (1ULL << 32) | 1ULL})
            for (std::uint64_t d : {0ULL, 1ULL, 2ULL, 3ULL, 1ULL << 32, (1ULL << 32) | 2ULL}) {
                seen.insert(random_bits(s, a, d));
                ++count;
            }
    EXPECT_EQ(seen.size(), count)
        << "a 64-bit collision among a few hundred values means the inputs "
           "are not all used (e.g. a high word ignored)";
    // Neighbouring agents' streams are not shifted copies of each other.
    for (std::uint64_t d = 0; d < 50; ++d)
        for (std::uint64_t e = 0; e < 50; ++e)
            EXPECT_NE(random_bits(7, 10, d), random_bits(7, 11, e));
}

TEST(RandomUniformBelow, Extremes) {
    EXPECT_EQ(uniform_below(0, 1), 0);
    EXPECT_EQ(uniform_below(~0ULL, 1), 0);
    EXPECT_EQ(uniform_below(0, 5'000'000'000), 0);
    EXPECT_EQ(uniform_below(~0ULL, 5'000'000'000), 4'999'999'999);
    EXPECT_EQ(uniform_below(~0ULL, std::numeric_limits<std::int64_t>::max()),
              std::numeric_limits<std::int64_t>::max() - 1);
    EXPECT_EQ(uniform_below(1ULL << 63, 10), 5); // half way
    EXPECT_EQ(uniform_below(1ULL << 63, 5'000'000'000), 2'500'000'000);
}

TEST(RandomUniformBelow, StaysInRange) {
    for (std::int64_t n : {1LL, 2LL, 3LL, 7LL, 100LL, 1'000'000'007LL, 5'000'000'000LL})
        for (std::uint64_t d = 0; d < 20000; ++d) {
            const auto v = uniform_below(random_bits(99, 3, d), n);
            ASSERT_GE(v, 0);
            ASSERT_LT(v, n);
        }
}

// Chi-square goodness of fit on 10^5 draws. The bounds are far in the tail (p < 1e-6 for a
// correct generator), so this fails only for a grossly non-uniform mapping.
double chi_square(const std::vector<std::int64_t>& counts, double expected) {
    double chi = 0;
    for (auto c : counts)
        chi += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
    return chi;
}

TEST(RandomUniformBelow, RoughlyUniformSmallRange) {
    constexpr int bins = 100, draws = 100000;
    std::vector<std::int64_t> counts(bins, 0);
    for (std::uint64_t d = 0; d < draws; ++d)
        ++counts[static_cast<std::size_t>(uniform_below(random_bits(1, 17, d), bins))];
    EXPECT_LT(chi_square(counts, draws / double(bins)), 200.0); // 99 dof: mean 99, sd 14
}

TEST(RandomUniformBelow, RoughlyUniformPhaseRangeAcrossAgents) {
    // The start phases: draw 0 of agents 0..10^5-1, on [0, T) with T = 5 s in ticks, in 50 bins.
    constexpr std::int64_t T = 5'000'000'000;
    constexpr int bins = 50, agents = 100000;
    std::vector<std::int64_t> counts(bins, 0);
    for (std::uint64_t a = 0; a < agents; ++a) {
        const auto v = uniform_below(random_bits(1, a, 0), T);
        ++counts[static_cast<std::size_t>(v * bins / T)];
    }
    EXPECT_LT(chi_square(counts, agents / double(bins)), 110.0); // 49 dof: mean 49, sd 10
}

TEST(RandomUniformBelow, LowBitsAreUniformToo) {
    // Parity of an odd range's values, and residues mod 7, over many seeds.
    std::vector<std::int64_t> counts(7, 0);
    for (std::uint64_t s = 0; s < 70000; ++s)
        ++counts[static_cast<std::size_t>(uniform_below(random_bits(s, 0, 1), 1'000'003) % 7)];
    EXPECT_LT(chi_square(counts, 10000.0), 40.0); // 6 dof
}

} // namespace

// The batch the event loop draws its flashes' jitter with: the same bits as random_bits, for
// agents with high words, draw numbers up to 2^32 - 1, and every length's 1-3 left over after the
// groups of four, by the vectorised path (where the CPU has it) and by the generic one.
TEST(RandomBitsBatch, SameBitsAsOneAtATime) {
    std::vector<std::uint64_t> agents;
    std::vector<std::uint32_t> draws;
    std::uint64_t x = 0x243f6a8885a308d3u;
    for (int i = 0; i < 103; ++i) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        agents.push_back(i % 3 == 0 ? x : x >> 40);
        draws.push_back(i % 5 == 0 ? 0xffffffffu : static_cast<std::uint32_t>(x >> 7));
    }
    for (const std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{0xdeadbeefcafef00du}}) {
        for (std::size_t n = 0; n <= agents.size(); n += n < 9 ? 1 : 47) {
            std::vector<std::uint64_t> fast(n + 1, 7), generic(n + 1, 7);
            random_bits_batch(seed, agents.data(), draws.data(), n, fast.data());
            detail::generic_random_bits_batch(seed, agents.data(), draws.data(), n, generic.data());
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint64_t want = random_bits(seed, agents[i], draws[i]);
                EXPECT_EQ(fast[i], want) << "seed " << seed << " n " << n << " i " << i;
                EXPECT_EQ(generic[i], want) << "seed " << seed << " n " << n << " i " << i;
            }
            EXPECT_EQ(fast[n], 7u) << "wrote past the end, n " << n;
        }
    }
}
