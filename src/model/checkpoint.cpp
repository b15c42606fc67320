#include "fireflies/checkpoint.hpp"

#include <cstring>
#include <type_traits>

#include "fireflies/error.hpp"

namespace fireflies {

namespace {

struct block_state_header {
    std::int64_t x0, y0, width, height, fireflies, in_flight;
};

template <class T> void put(std::vector<std::byte>& out, const T* data, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto at = out.size();
    out.resize(at + n * sizeof(T));
    if (n) std::memcpy(out.data() + at, data, n * sizeof(T));
}

template <class T> void take(std::span<const std::byte>& in, T* data, std::size_t n) {
    if (in.size() < n * sizeof(T)) throw error("block state message is truncated");
    if (n) std::memcpy(data, in.data(), n * sizeof(T));
    in = in.subspan(n * sizeof(T));
}

} // namespace

std::vector<std::byte> block_state::pack() const {
    const block_state_header h{cells.x0,
                               cells.y0,
                               cells.width,
                               cells.height,
                               static_cast<std::int64_t>(fireflies.size()),
                               static_cast<std::int64_t>(in_flight.size())};
    std::vector<std::byte> out;
    out.reserve(sizeof h + fireflies.size() * sizeof(firefly) +
                in_flight.size() * sizeof(flash_event));
    put(out, &h, 1);
    put(out, fireflies.data(), fireflies.size());
    put(out, in_flight.data(), in_flight.size());
    return out;
}

block_state block_state::unpack(std::span<const std::byte> bytes) {
    block_state_header h{};
    take(bytes, &h, 1);
    if (h.fireflies != h.width * h.height || h.fireflies < 0 || h.in_flight < 0)
        throw error("block state message has an inconsistent header");
    block_state s;
    s.cells = {h.x0, h.y0, h.width, h.height};
    s.fireflies.resize(static_cast<std::size_t>(h.fireflies));
    s.in_flight.resize(static_cast<std::size_t>(h.in_flight));
    take(bytes, s.fireflies.data(), s.fireflies.size());
    take(bytes, s.in_flight.data(), s.in_flight.size());
    if (!bytes.empty()) throw error("block state message has trailing bytes");
    return s;
}

} // namespace fireflies
