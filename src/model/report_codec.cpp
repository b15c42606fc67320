#include "fireflies/report_codec.hpp"

#include <cstring>
#include <string>

#include "fireflies/error.hpp"

namespace fireflies::report_codec {

static_assert(sizeof(snapshot_pixel) == slot_bytes && 2 * sizeof(tick_t) == slot_bytes);
constexpr std::size_t epoch_slots = sizeof(epoch_work) / slot_bytes;
static_assert(epoch_slots * slot_bytes == sizeof(epoch_work));

layout layout::of(std::size_t events, std::size_t pixels, std::size_t epochs) noexcept {
    const std::size_t at_pixels = events + (events + 1) / 2, at_epochs = at_pixels + pixels;
    return {events, at_pixels, at_epochs, at_epochs + epoch_slots * epochs};
}

std::size_t slots(std::size_t events, std::size_t pixels, std::size_t epochs) noexcept {
    return header_slots + layout::of(events, pixels, epochs).end;
}

void encode(const report_header& header, const report_body& body, std::span<flash_event> out) {
    const layout at = layout::of(body.events.size(), body.pixels.size(), body.epochs.size());
    flash_event* const after_header = out.data() + header_slots;
    std::memcpy(static_cast<void*>(out.data()), &header, sizeof header);
    std::copy(body.events.begin(), body.events.end(), after_header);
    if (!body.previous.empty())
        std::memcpy(static_cast<void*>(after_header + at.previous), body.previous.data(),
                    body.previous.size_bytes());
    if (!body.pixels.empty())
        std::memcpy(static_cast<void*>(after_header + at.pixels), body.pixels.data(),
                    body.pixels.size_bytes());
    if (!body.epochs.empty())
        std::memcpy(static_cast<void*>(after_header + at.epochs), body.epochs.data(),
                    body.epochs.size_bytes());
}

decoded decode(std::span<const flash_event> wire, std::size_t bytes, int worker) {
    auto refuse = [&](const std::string& why) -> decoded {
        throw mpi_error("report from rank " + std::to_string(static_cast<long long>(worker) + 1) +
                        " " + why);
    };
    if (bytes > wire.size_bytes()) return refuse("is longer than its buffer");
    if (bytes < header_slots * slot_bytes) return refuse("is too short");
    decoded d;
    std::memcpy(static_cast<void*>(&d.header), wire.data(), sizeof d.header);
    const report_header& h = d.header;
    if (h.worker != worker) return refuse("names another worker");
    const auto kind = static_cast<std::int32_t>(h.kind);
    if (kind < static_cast<std::int32_t>(report_kind::flashes) ||
        kind > static_cast<std::int32_t>(report_kind::checkpoint))
        return refuse("is of unknown kind " + std::to_string(kind));
    const std::size_t body_slots = bytes / slot_bytes - header_slots;
    // Counts first, bounded by the body, so that the layout's arithmetic cannot overflow.
    if (bytes % slot_bytes != 0 || h.events < 0 || h.pixels < 0 || h.epoch_records < 0 ||
        static_cast<std::uint64_t>(h.events) > body_slots ||
        static_cast<std::uint64_t>(h.pixels) > body_slots ||
        static_cast<std::uint64_t>(h.epoch_records) > body_slots)
        return refuse("has the wrong length");
    const auto n = static_cast<std::size_t>(h.events), pixels = static_cast<std::size_t>(h.pixels),
               epochs = static_cast<std::size_t>(h.epoch_records);
    const layout at = layout::of(n, pixels, epochs);
    if (at.end != body_slots) return refuse("has the wrong length");
    const flash_event* const body = wire.data() + header_slots;
    d.body.events = {body, n};
    d.body.previous = {reinterpret_cast<const tick_t*>(body + at.previous), n};
    d.body.pixels = {reinterpret_cast<const snapshot_pixel*>(body + at.pixels), pixels};
    d.body.epochs = {reinterpret_cast<const epoch_work*>(body + at.epochs), epochs};
    return d;
}

} // namespace fireflies::report_codec
