// The report wire format: what a worker encodes the hub decodes unchanged, and every malformed
// report is refused with a message (never read past its bytes).
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#include "fireflies/error.hpp"
#include "fireflies/report_codec.hpp"

using namespace fireflies;
namespace codec = fireflies::report_codec;

namespace {

struct sample_report {
    report_header header;
    std::vector<flash_event> events;
    std::vector<tick_t> previous;
    std::vector<snapshot_pixel> pixels;
    std::vector<epoch_work> epochs;

    sample_report(std::size_t n, std::size_t p, std::size_t q = 0) {
        header.worker = 3;
        header.kind = report_kind::sample;
        header.sample = 17;
        header.through = 123456789;
        header.flashed = 99;
        header.events = static_cast<std::int64_t>(n);
        header.pixels = static_cast<std::int64_t>(p);
        for (std::size_t i = 0; i < n; ++i) {
            events.push_back({static_cast<tick_t>(1000 + 7 * i), 40 + i});
            previous.push_back(i % 3 == 0 ? -1 : static_cast<tick_t>(10 * i));
        }
        for (std::size_t i = 0; i < p; ++i)
            pixels.push_back({static_cast<std::int64_t>(5 * i), 0.125 * i});
        header.epoch_records = static_cast<std::int64_t>(q);
        for (std::size_t i = 0; i < q; ++i) {
            const auto k = static_cast<std::int64_t>(i);
            epochs.push_back({k, 8 * k + 1, 3 * k + 2, 5 * k + 3});
        }
    }
    report_body body() const { return {events, previous, pixels, epochs}; }
    std::vector<flash_event> wire() const {
        std::vector<flash_event> out(codec::slots(events.size(), pixels.size(), epochs.size()));
        codec::encode(header, body(), out);
        return out;
    }
};

std::string refusal(const std::vector<flash_event>& wire, std::size_t bytes, int worker) {
    try {
        codec::decode(wire, bytes, worker);
    } catch (const mpi_error& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(ReportCodec, RoundTripsEveryPart) {
    for (const auto& [n, p, q] : {std::tuple<std::size_t, std::size_t, std::size_t>{0, 0, 0},
                                  {1, 0, 0},
                                  {2, 3, 0},
                                  {7, 0, 4},
                                  {8, 5, 3},
                                  {0, 0, 1}}) {
        const sample_report r(n, p, q);
        const auto wire = r.wire();
        EXPECT_EQ(wire.size(), codec::header_slots + n + (n + 1) / 2 + p + 2 * q);
        const codec::decoded d = codec::decode(wire, wire.size() * codec::slot_bytes, 3);
        EXPECT_EQ(std::memcmp(&d.header, &r.header, sizeof d.header), 0);
        EXPECT_EQ(std::vector<flash_event>(d.body.events.begin(), d.body.events.end()), r.events);
        EXPECT_EQ(std::vector<tick_t>(d.body.previous.begin(), d.body.previous.end()), r.previous);
        ASSERT_EQ(d.body.pixels.size(), p);
        for (std::size_t i = 0; i < p; ++i) {
            EXPECT_EQ(d.body.pixels[i].index, r.pixels[i].index);
            EXPECT_EQ(d.body.pixels[i].value, r.pixels[i].value);
        }
        EXPECT_EQ(std::vector<epoch_work>(d.body.epochs.begin(), d.body.epochs.end()), r.epochs);
    }
}

TEST(ReportCodec, RefusesMalformedReports) {
    const sample_report r(5, 2, 2);
    const auto wire = r.wire();
    const std::size_t bytes = wire.size() * codec::slot_bytes;
    EXPECT_EQ(refusal(wire, bytes, 3), "");
    EXPECT_NE(refusal(wire, bytes, 2).find("names another worker"), std::string::npos);
    EXPECT_NE(refusal(wire, codec::header_slots * codec::slot_bytes - 1, 3).find("too short"),
              std::string::npos);
    EXPECT_NE(refusal(wire, bytes - codec::slot_bytes, 3).find("wrong length"), std::string::npos);
    EXPECT_NE(refusal(wire, bytes - 1, 3).find("wrong length"), std::string::npos);
    EXPECT_NE(refusal(wire, bytes + codec::slot_bytes, 3).find("longer than its buffer"),
              std::string::npos);
    auto with = [&](auto change) {
        sample_report bad = r;
        change(bad.header);
        auto w = bad.wire();
        return refusal(w, w.size() * codec::slot_bytes, 3);
    };
    EXPECT_NE(
        with([](report_header& h) { h.kind = static_cast<report_kind>(9); }).find("unknown kind 9"),
        std::string::npos);
    EXPECT_NE(with([](report_header& h) { h.events = -1; }).find("wrong length"),
              std::string::npos);
    EXPECT_NE(with([](report_header& h) { h.pixels = 3; }).find("wrong length"), std::string::npos);
    EXPECT_NE(with([](report_header& h) { h.epoch_records = 3; }).find("wrong length"),
              std::string::npos);
    EXPECT_NE(with([](report_header& h) { h.epoch_records = -1; }).find("wrong length"),
              std::string::npos);
    EXPECT_NE(with([](report_header& h) {
                  h.events = std::numeric_limits<std::int64_t>::max();
              }).find("wrong length"),
              std::string::npos);
    // A message names the sender's rank (worker + 1).
    EXPECT_NE(refusal(wire, bytes, 2).find("rank 3"), std::string::npos);
}
