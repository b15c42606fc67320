#pragma once
// A worker's report on the wire: how the comm room turns a report into bytes and back. Pure (no
// MPI), so that it is unit-tested and fuzzed apart from the transport; the comm room only moves
// the bytes.
#include <cstddef>
#include <span>

#include "fireflies/report.hpp"

namespace fireflies::report_codec {

/// The wire is a run of 16-byte slots (flash_event's size, so that a buffer of flash_event
/// holds a report): the header's slots, the events, the previous flash times two to a slot, the
/// snapshot pixels, the epoch records (two slots each).
inline constexpr std::size_t slot_bytes = sizeof(flash_event);
inline constexpr std::size_t header_slots = (sizeof(report_header) + slot_bytes - 1) / slot_bytes;

/// Where each part of the body starts, in slots after the header's, and where the body ends.
struct layout {
    std::size_t previous = 0, pixels = 0, epochs = 0, end = 0;
    static layout of(std::size_t events, std::size_t pixels, std::size_t epochs = 0) noexcept;
};

/// Slots a report with `events` flash events, `pixels` snapshot pixels and `epochs` epoch
/// records takes.
std::size_t slots(std::size_t events, std::size_t pixels, std::size_t epochs = 0) noexcept;

/// Writes `header` and `body` into `out`, which must be exactly slots(events, pixels, epochs)
/// long. header.events, header.pixels and header.epoch_records must equal the body's sizes.
void encode(const report_header& header, const report_body& body, std::span<flash_event> out);

/// A report read back: its header, and a body that points into the slots it was decoded from.
struct decoded {
    report_header header;
    report_body body;
};

/// Reads and checks the report in the first `bytes` bytes of `wire` that arrived from worker
/// `worker`: long enough for its header, naming that worker, of a known kind, with counts that
/// are not negative and a length that is exactly what its counts say. Throws
/// fireflies::mpi_error naming the worker's rank and what is wrong; never reads past `bytes`.
decoded decode(std::span<const flash_event> wire, std::size_t bytes, int worker);

} // namespace fireflies::report_codec
