// libFuzzer target: report_codec::decode on arbitrary bytes, as the hub receives them from a
// worker. Whatever it accepts must encode back to the same bytes (header, events, previous flash
// times, pixels, epoch records); whatever it refuses must be refused with mpi_error, never by
// reading past the input (AddressSanitizer watches).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fireflies/error.hpp"
#include "fireflies/report_codec.hpp"

using namespace fireflies;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The input in a buffer of exactly its size, rounded up to whole slots (as the hub's is).
    std::vector<flash_event> wire((size + report_codec::slot_bytes - 1) / report_codec::slot_bytes);
    if (size) std::memcpy(static_cast<void*>(wire.data()), data, size);
    std::int32_t worker = 0;
    if (size >= sizeof worker) std::memcpy(&worker, data, sizeof worker);
    report_codec::decoded d;
    try {
        d = report_codec::decode(wire, size, worker);
    } catch (const mpi_error&) {
        return 0;
    }
    const auto n = d.body.events.size(), p = d.body.pixels.size(), q = d.body.epochs.size();
    std::vector<flash_event> again(report_codec::slots(n, p, q));
    if (again.size() * report_codec::slot_bytes != size) std::abort();
    report_codec::encode(d.header, d.body, again);
    const auto at = report_codec::layout::of(n, p, q);
    const auto* in = reinterpret_cast<const std::uint8_t*>(wire.data());
    const auto* out = reinterpret_cast<const std::uint8_t*>(again.data());
    const std::size_t body = report_codec::header_slots * report_codec::slot_bytes;
    auto same = [&](std::size_t from, std::size_t bytes) {
        return std::memcmp(in + from, out + from, bytes) == 0;
    };
    if (!same(0, sizeof(report_header)) || !same(body, n * sizeof(flash_event)) ||
        !same(body + at.previous * report_codec::slot_bytes, n * sizeof(tick_t)) ||
        !same(body + at.pixels * report_codec::slot_bytes, p * sizeof(snapshot_pixel)) ||
        !same(body + at.epochs * report_codec::slot_bytes, q * sizeof(epoch_work)))
        std::abort();
    return 0;
}
