#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace fireflies {

/// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11, as in Random123): every
/// draw is a pure function of (seed, firefly id, draw number). No generator state lives on a
/// rank, so a run is the same for every decomposition and can restart from a checkpoint that
/// stores only each firefly's draw counter.
class philox4x32 {
  public:
    using counter = std::array<std::uint32_t, 4>;
    using key = std::array<std::uint32_t, 2>;

    static constexpr counter bijection(counter c, key k) noexcept {
        for (int round = 0; round < 10; ++round) {
            const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c[0];
            const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c[2];
            c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<std::uint32_t>(p1),
                 static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1],
                 static_cast<std::uint32_t>(p0)};
            k[0] += 0x9E3779B9u;
            k[1] += 0xBB67AE85u;
        }
        return c;
    }
};

/// 64 random bits for draw number `draw` of firefly `agent` under `seed`.
constexpr std::uint64_t random_bits(std::uint64_t seed, std::uint64_t agent,
                                    std::uint64_t draw) noexcept {
    const auto r = philox4x32::bijection(
        {static_cast<std::uint32_t>(agent), static_cast<std::uint32_t>(agent >> 32),
         static_cast<std::uint32_t>(draw), static_cast<std::uint32_t>(draw >> 32)},
        {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
    return (std::uint64_t{r[0]} << 32) | r[1];
}

/// random_bits(seed, agent[i], draw[i]) into out[i] for i < n: the same bits, computed four
/// draws at a time with AVX2 where the CPU has it (random.cpp). For the event loop, which draws
/// the jitter of an interval's flashes together.
void random_bits_batch(std::uint64_t seed, const std::uint64_t* agent, const std::uint32_t* draw,
                       std::size_t n, std::uint64_t* out) noexcept;
namespace detail {
/// The same, one draw at a time, on any CPU (what random_bits_batch does without AVX2).
void generic_random_bits_batch(std::uint64_t seed, const std::uint64_t* agent,
                               const std::uint32_t* draw, std::size_t n,
                               std::uint64_t* out) noexcept;
} // namespace detail

__extension__ using uint128_t = unsigned __int128;

/// An integer uniform on [0, n) from 64 random bits (multiply-shift; bias below 2^-64 * n).
constexpr std::int64_t uniform_below(std::uint64_t bits, std::int64_t n) noexcept {
    return static_cast<std::int64_t>(
        (static_cast<uint128_t>(bits) * static_cast<std::uint64_t>(n)) >> 64);
}

} // namespace fireflies
