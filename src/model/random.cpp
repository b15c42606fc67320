#include "fireflies/random.hpp"
#include "fireflies/cpu.hpp"

#include <immintrin.h>

namespace fireflies {

namespace {

// Four draws at a time in AVX2: Philox4x32-10's rounds on four counters at once, each 32-bit word
// in the low half of a 64-bit lane (vpmuludq multiplies those halves into the full 64-bit
// product, as the scalar rounds do). The high halves of the lanes that only feed a multiply or
// the final low half carry garbage, which nothing reads. The same bits as random_bits.
[[gnu::target("avx2")]] void batch_avx2(std::uint64_t seed, const std::uint64_t* agent,
                                        const std::uint32_t* draw, std::size_t n,
                                        std::uint64_t* out) noexcept {
    __m256i k0[10], k1[10];
    auto key0 = static_cast<std::uint32_t>(seed), key1 = static_cast<std::uint32_t>(seed >> 32);
    for (std::size_t round = 0; round < 10; ++round) {
        k0[round] = _mm256_set1_epi64x(key0);
        k1[round] = _mm256_set1_epi64x(key1);
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53), m1 = _mm256_set1_epi64x(0xCD9E8D57);
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(agent + i));
        __m256i c0 = a, c1 = _mm256_srli_epi64(a, 32),
                c2 = _mm256_cvtepu32_epi64(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(draw + i))),
                c3 = _mm256_setzero_si256(); // (a 32-bit draw number: its high word is 0)
        for (std::size_t round = 0; round < 10; ++round) {
            const __m256i p0 = _mm256_mul_epu32(c0, m0), p1 = _mm256_mul_epu32(c2, m1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1), k0[round]);
            c1 = p1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3), k1[round]);
            c3 = p0;
        }
        // (word 0 << 32) | word 1
        const __m256i bits = _mm256_blend_epi32(c1, _mm256_slli_epi64(c0, 32), 0xAA);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bits);
    }
    for (; i < n; ++i)
        out[i] = random_bits(seed, agent[i], draw[i]);
}

using batch_fn = void (*)(std::uint64_t, const std::uint64_t*, const std::uint32_t*, std::size_t,
                          std::uint64_t*) noexcept;
const batch_fn batch = use_avx2() ? batch_avx2 : detail::generic_random_bits_batch;

} // namespace

void detail::generic_random_bits_batch(std::uint64_t seed, const std::uint64_t* agent,
                                       const std::uint32_t* draw, std::size_t n,
                                       std::uint64_t* out) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        out[i] = random_bits(seed, agent[i], draw[i]);
}

void random_bits_batch(std::uint64_t seed, const std::uint64_t* agent, const std::uint32_t* draw,
                       std::size_t n, std::uint64_t* out) noexcept {
    batch(seed, agent, draw, n, out);
}

} // namespace fireflies
