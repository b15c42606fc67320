// The terminal view of `--visualize`: palette, fade, frame contents, status bar, downsampling
// and the escape sequences that take and give back the terminal.
#include "view/terminal_view.hpp"

#include "fireflies/error.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace fv = fireflies::view;

namespace {

const std::string glyph = "\u2588\u2588"; // ██
const std::string bright = "\x1b[38;2;255;255;200m";
const std::string dark = "\x1b[38;2;30;30;40m";
const std::string amber = "\x1b[38;2;200;120;0m";

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = hay.find(needle); pos != std::string::npos;
         pos = hay.find(needle, pos + needle.size()))
        ++n;
    return n;
}

fv::status sample_status() {
    fv::status s;
    s.agents = 900;
    s.ranks = 3;
    s.workers = 2;
    s.width = 30;
    s.height = 30;
    s.t_sim = 12.5;
    s.speed = 1.0;
    s.R = 0.734;
    s.pulse = 2.41;
    s.flashes = 12345;
    return s;
}

/// A status whose R bar has no full cells, so every `██` in a frame is a grid cell.
fv::status quiet_status(std::int64_t w, std::int64_t h) {
    fv::status s;
    s.agents = w * h;
    s.width = w;
    s.height = h;
    return s;
}

/// An unlinked temporary file: stands in for the terminal, and keeps all that was written.
struct capture_file {
    std::FILE* file = std::tmpfile();
    ~capture_file() {
        if (file) std::fclose(file);
    }
    int fd() const { return ::fileno(file); }
    std::string contents() const {
        std::string all;
        char buf[4096];
        for (off_t at = 0;;) {
            const ssize_t n = ::pread(fd(), buf, sizeof buf, at);
            if (n <= 0) break;
            all.append(buf, static_cast<std::size_t>(n));
            at += n;
        }
        return all;
    }
};

} // namespace

TEST(ViewPalette, Endpoints) {
    EXPECT_EQ(fv::palette(0.0), (fv::rgb{30, 30, 40}));
    EXPECT_EQ(fv::palette(0.5), (fv::rgb{200, 120, 0}));
    EXPECT_EQ(fv::palette(1.0), (fv::rgb{255, 255, 200}));
}

TEST(ViewPalette, MidpointsAreLinear) {
    EXPECT_EQ(fv::palette(0.25), (fv::rgb{115, 75, 20}));   // halfway dark -> amber
    EXPECT_EQ(fv::palette(0.75), (fv::rgb{228, 188, 100})); // halfway amber -> light (rounded)
    EXPECT_EQ(fv::palette(0.1), (fv::rgb{64, 48, 32}));
}

TEST(ViewPalette, ClampsOutsideRange) {
    EXPECT_EQ(fv::palette(-3.0), fv::palette(0.0));
    EXPECT_EQ(fv::palette(7.0), fv::palette(1.0));
    EXPECT_EQ(fv::palette(std::nan("")), fv::palette(0.0));
}

TEST(ViewDecay, LinearOverThreeTenthsOfAPeriod) {
    capture_file out;
    const double period = 5.0;
    fv::terminal_view view(4, 3, period, out.fd());
    view.flash(5, 10.0);
    EXPECT_DOUBLE_EQ(view.brightness(5, 10.0), 1.0);
    EXPECT_NEAR(view.brightness(5, 10.0 + 0.15 * period), 0.5, 1e-6);
    EXPECT_NEAR(view.brightness(5, 10.0 + 0.075 * period), 0.75, 1e-6);
    EXPECT_NEAR(view.brightness(5, 10.0 + 0.3 * period), 0.0, 1e-6);
    EXPECT_EQ(view.brightness(5, 100.0), 0.0);
    EXPECT_EQ(view.brightness(4, 10.0), 0.0) << "a cell that never flashed is dark";
}

TEST(ViewDecay, LatestFlashWinsWhateverTheOrder) {
    capture_file out;
    fv::terminal_view view(2, 2, 5.0, out.fd());
    view.flash(1, 20.0);
    view.flash(1, 19.0); // late report of an earlier flash
    EXPECT_DOUBLE_EQ(view.brightness(1, 20.0), 1.0);
}

TEST(ViewDecay, RejectsAgentsOutsideTheGrid) {
    capture_file out;
    fv::terminal_view view(3, 3, 5.0, out.fd());
    EXPECT_THROW(view.flash(9, 1.0), fireflies::error);
    EXPECT_NO_THROW(view.flash(8, 1.0));
}

TEST(ViewDecay, RejectsBadGeometryAndPeriod) {
    capture_file out;
    EXPECT_THROW(fv::terminal_view(0, 3, 5.0, out.fd()), fireflies::error);
    EXPECT_THROW(fv::terminal_view(3, 3, 0.0, out.fd()), fireflies::error);
    EXPECT_THROW(fv::terminal_view(3, 3, -1.0, out.fd()), fireflies::error);
    EXPECT_EQ(out.contents(), "") << "a view that failed to start must not touch the terminal";
}

TEST(ViewRender, TinyGridHasColouredCells) {
    capture_file out;
    const double period = 5.0;
    fv::terminal_view view(2, 2, period, out.fd()); // cells 0 1 / 2 3
    view.flash(0, 1.0);
    view.flash(3, 1.0 - 0.15 * period); // half faded at t = 1

    const std::string frame = view.render_to_string(1.0, quiet_status(2, 2), 80, 24);
    EXPECT_EQ(count(frame, glyph), 4u);
    EXPECT_NE(frame.find("\x1b[1;1H" + bright + glyph + dark + glyph), std::string::npos) << frame;
    // the colour in force carries over to the next row
    EXPECT_NE(frame.find("\x1b[2;1H" + glyph + amber + glyph), std::string::npos) << frame;
    EXPECT_NE(frame.find("\x1b[0m\x1b[3;1HAgents: 4 | "), std::string::npos)
        << "status right below: " << frame;
    EXPECT_NE(frame.find("Agents: 4 | "), std::string::npos);

    // 0.3 periods later everything is dark
    const std::string later = view.render_to_string(1.0 + 0.3 * period, quiet_status(2, 2), 80, 24);
    EXPECT_EQ(count(later, dark), 1u) << "one colour code for a frame of one colour";
    EXPECT_EQ(count(later, glyph), 4u);
    EXPECT_EQ(later.find(bright), std::string::npos);
}

TEST(ViewRender, SameColourIsNotRepeated) {
    capture_file out;
    fv::terminal_view view(10, 3, 5.0, out.fd());
    const std::string frame = view.render_to_string(0.0, quiet_status(10, 3), 80, 24);
    EXPECT_EQ(count(frame, "\x1b[38;2;"), 1u);
    EXPECT_EQ(count(frame, glyph), 30u);
}

TEST(ViewStatus, FormatsLikeTheSeed) {
    EXPECT_EQ(fv::status_line(sample_status(), 30.0),
              "Agents: 900 | Ranks: 3 (2 workers) | Grid: 30x30 | t=12.5 s | speed=1.0x | "
              "R=0.734 [\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588"
              "\u2588\u2588\u2591\u2591\u2591\u2591\u2591\u2591] | Pulse: 2.41 | "
              "Flashes: 12,345 | FPS: 30");
}

TEST(ViewStatus, ThousandsSeparators) {
    EXPECT_EQ(fv::group_thousands(0), "0");
    EXPECT_EQ(fv::group_thousands(999), "999");
    EXPECT_EQ(fv::group_thousands(1000), "1,000");
    EXPECT_EQ(fv::group_thousands(12345), "12,345");
    EXPECT_EQ(fv::group_thousands(1000000), "1,000,000");
    EXPECT_EQ(fv::group_thousands(-1234567), "-1,234,567");
    EXPECT_EQ(fv::group_thousands(INT64_MIN), "-9,223,372,036,854,775,808");
    auto s = sample_status();
    s.agents = 1000000;
    s.flashes = 9876543210;
    const std::string line = fv::status_line(s, 60.0);
    EXPECT_NE(line.find("Agents: 1,000,000 |"), std::string::npos);
    EXPECT_NE(line.find("Flashes: 9,876,543,210 |"), std::string::npos);
}

TEST(ViewStatus, OrderParameterBar) {
    const auto bar_of = [](double r) {
        auto s = sample_status();
        s.R = r;
        return fv::status_fields(s, 30.0).at(5);
    };
    const std::string full = "\u2588", empty = "\u2591";
    std::string all_empty, all_full, one;
    for (int i = 0; i < 20; ++i) {
        all_empty += empty;
        all_full += full;
        one += i < 1 ? full : empty;
    }
    EXPECT_EQ(bar_of(0.0), "R=0.000 [" + all_empty + "]");
    EXPECT_EQ(bar_of(1.0), "R=1.000 [" + all_full + "]");
    EXPECT_EQ(bar_of(0.05), "R=0.050 [" + one + "]");
    EXPECT_EQ(bar_of(0.049), "R=0.049 [" + all_empty + "]");
    EXPECT_EQ(fv::display_width(bar_of(0.5)), 30u);
}

TEST(ViewStatus, OtherFields) {
    auto s = sample_status();
    s.speed = 0.0;
    s.workers = 1;
    s.ranks = 1;
    const auto f = fv::status_fields(s, -1.0);
    EXPECT_EQ(f.at(1), "Ranks: 1 (1 worker)");
    EXPECT_EQ(f.at(4), "speed=max");
    EXPECT_EQ(f.at(8), "FPS: --");
    s.speed = 4.0;
    EXPECT_EQ(fv::status_fields(s, 59.6).at(4), "speed=4.0x");
    EXPECT_EQ(fv::status_fields(s, 59.6).at(8), "FPS: 60");
}

TEST(ViewStatus, WrapsAtFieldsInANarrowTerminal) {
    capture_file out;
    fv::terminal_view view(30, 30, 5.0, out.fd());
    auto s = sample_status();
    const std::string frame = view.render_to_string(12.5, s, 70, 40);
    // grid rows 1..30, then the status over as many lines as it needs, none reaching column 70
    EXPECT_NE(frame.find("\x1b[31;1HAgents: 900 | "), std::string::npos) << frame;
    EXPECT_NE(frame.find("\x1b[32;1H"), std::string::npos);
    for (const char* field : {"Grid: 30x30", "t=12.5 s", "R=0.734 [", "Flashes: 12,345"})
        EXPECT_NE(frame.find(field), std::string::npos) << field;
    const std::string wide = view.render_to_string(12.5, s, 200, 40);
    EXPECT_EQ(wide.find("\x1b[32;1H"), std::string::npos) << "one line when it fits";
}

TEST(ViewFit, GridThatFitsIsDrawnOneToOne) {
    EXPECT_EQ(fv::fit_grid(30, 30, 60, 39), (fv::grid_fit{30, 30}));
    EXPECT_EQ(fv::fit_grid(60, 39, 60, 39), (fv::grid_fit{60, 39}));
}

TEST(ViewFit, LargeGridShrinksByOneFactor) {
    EXPECT_EQ(fv::fit_grid(1000, 1000, 100, 59), (fv::grid_fit{59, 59}));
    EXPECT_EQ(fv::fit_grid(1000, 500, 100, 59), (fv::grid_fit{100, 50}));
    EXPECT_EQ(fv::fit_grid(1000, 10, 100, 59), (fv::grid_fit{100, 1}));
    EXPECT_EQ(fv::fit_grid(61, 30, 60, 39), (fv::grid_fit{60, 30}));
    EXPECT_EQ(fv::fit_grid(5, 5, 0, 10), (fv::grid_fit{0, 0}));
}

TEST(ViewDownsample, SingleFlashInAMillionCellsShows) {
    capture_file out;
    const std::int64_t n = 1000;
    fv::terminal_view view(n, n, 5.0, out.fd());
    for (const std::int64_t cell : {std::int64_t{0}, 500 * n + 777, n * n - 1}) {
        fv::terminal_view one(n, n, 5.0, out.fd());
        one.flash(static_cast<std::uint64_t>(cell), 3.0);
        const std::string frame = one.render_to_string(3.0, quiet_status(n, n), 200, 12);
        const auto fit = fv::fit_grid(n, n, 100, 11); // the status bar takes one of 12 lines
        EXPECT_EQ(fit, (fv::grid_fit{11, 11}));
        EXPECT_EQ(count(frame, glyph), static_cast<std::size_t>(fit.cols * fit.rows));
        EXPECT_EQ(count(frame, bright), 1u) << "cell " << cell;
    }
    const std::string frame = view.render_to_string(3.0, quiet_status(n, n), 200, 12);
    EXPECT_EQ(frame.find(bright), std::string::npos);
}

TEST(ViewDownsample, PicturePositionOfAFlash) {
    capture_file out;
    fv::terminal_view view(100, 100, 5.0, out.fd());
    view.flash(99 * 100 + 99, 0.0); // bottom-right cell -> bottom-right picture cell
    const std::string frame = view.render_to_string(0.0, quiet_status(100, 100), 200, 11);
    // 10 pairs by 10 rows, each standing for 10x10 cells
    std::string nine_dark;
    for (int i = 0; i < 9; ++i)
        nine_dark += glyph;
    EXPECT_NE(frame.find("\x1b[10;1H" + nine_dark + bright + glyph), std::string::npos) << frame;
}

TEST(ViewDownsample, PoolsTheBrightestCell) {
    capture_file out;
    const double period = 5.0;
    fv::terminal_view view(4, 4, period, out.fd());
    view.flash(0, 1.0);                 // old: dark by t = 2.5
    view.flash(5, 2.5 - 0.15 * period); // half bright at t = 2.5, same 2x2 block as cell 0
    const std::string frame = view.render_to_string(2.5, quiet_status(4, 4), 5, 11);
    // 2 pairs across; each field of the status takes one of 9 lines, leaving 2 rows
    EXPECT_EQ(count(frame, glyph), 4u);
    EXPECT_NE(frame.find("\x1b[1;1H" + amber + glyph + dark + glyph), std::string::npos) << frame;
}

TEST(ViewTerminal, RestoreSequenceBytes) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    errno = 1234;
    fv::restore_terminal(fds[1]);
    EXPECT_EQ(errno, 1234) << "a signal handler's errno is left alone";
    ::close(fds[1]);
    char buf[256];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    ASSERT_GT(n, 0);
    const std::string got(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(got, "\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l");
    EXPECT_EQ(got, fv::restore_sequence);
}

// From a signal handler, on a descriptor that is gone: the write fails (EBADF) and the caller's
// errno survives it (RestoreSequenceBytes shows the bytes are written where they can be).
TEST(ViewTerminal, RestoreOnABadDescriptorKeepsErrno) {
    errno = 1234;
    fv::restore_terminal(-1);
    EXPECT_EQ(errno, 1234);
    ASSERT_EQ(::write(-1, "x", 1), -1);
    EXPECT_EQ(errno, EBADF) << "the write restore_terminal makes does fail";
}

TEST(ViewTerminal, TakesAndGivesBackTheTerminal) {
    capture_file out;
    {
        fv::terminal_view view(3, 2, 5.0, out.fd());
        const std::string entered = out.contents();
        EXPECT_EQ(entered, fv::enter_sequence);
        EXPECT_NE(entered.find("\x1b[?1049h"), std::string::npos);
        EXPECT_NE(entered.find("\x1b[?25l"), std::string::npos);
        view.draw(0.0, quiet_status(3, 2));
    }
    const std::string all = out.contents();
    ASSERT_GE(all.size(), fv::restore_sequence.size());
    EXPECT_EQ(all.substr(all.size() - fv::restore_sequence.size()), fv::restore_sequence);
    EXPECT_EQ(count(all, glyph), 6u);
    EXPECT_FALSE(fv::is_terminal(out.fd()));
}

TEST(ViewTerminal, DrawSendsOnlyWhatChanged) {
    ::setenv("COLUMNS", "80", 1); // the capture file is no terminal: the view falls back on these
    ::setenv("LINES", "24", 1);
    capture_file out;
    fv::terminal_view view(8, 4, 5.0, out.fd());
    const auto s = quiet_status(8, 4);
    auto written = [&, before = std::size_t{0}]() mutable {
        const std::string all = out.contents();
        std::string frame = all.substr(before);
        before = all.size();
        return frame;
    };
    written();
    view.draw(0.0, s);
    EXPECT_EQ(count(written(), glyph), 32u) << "first frame is whole";
    view.draw(0.0, s);
    EXPECT_EQ(count(written(), glyph), 0u) << "nothing changed";
    view.flash(2 * 8 + 5, 0.1); // x = 5, y = 2
    view.draw(0.1, s);
    const std::string frame = written();
    EXPECT_EQ(count(frame, glyph), 1u);
    EXPECT_NE(frame.find("\x1b[3;11H" + bright + glyph), std::string::npos) << frame;
}
