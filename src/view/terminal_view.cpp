#include "view/terminal_view.hpp"

#include "fireflies/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace fireflies::view {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::string_view cell_glyph = "\u2588\u2588"; // ██
constexpr std::string_view bar_full = "\u2588";         // █
constexpr std::string_view bar_empty = "\u2591";        // ░
constexpr int r_bar_cells = 20;
constexpr auto fps_window = std::chrono::milliseconds(500);
constexpr auto repaint_every = std::chrono::seconds(2);
/// 4 bytes a cell: beyond this the view would need more memory than any terminal can show.
constexpr std::int64_t max_cells = std::int64_t{1} << 30;

/// Writes all of `data` (retrying on EINTR and short writes); false when the descriptor fails.
bool write_all(int fd, const char* data, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool write_all(int fd, std::string_view s) noexcept {
    return write_all(fd, s.data(), s.size());
}

/// Asks the terminal on `fd` for its size; false when it is no terminal or reports none.
bool query_size(int fd, int& cols, int& rows) noexcept {
    winsize ws{};
    if (fd < 0 || ::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
        return false;
    cols = ws.ws_col;
    rows = ws.ws_row;
    return true;
}

int env_int(const char* name, int fallback) noexcept {
    const char* v = std::getenv(name);
    if (!v) return fallback;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return (end != v && *end == '\0' && n > 0 && n < 100000) ? static_cast<int>(n) : fallback;
}

/// The first `columns` code points of `s`.
std::string_view utf8_prefix(std::string_view s, std::size_t columns) noexcept {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (seen == columns) return s.substr(0, i);
            ++seen;
        }
    }
    return s;
}

/// Appends `ESC [ row ; col H` (1-based).
void append_position(std::string& out, std::int64_t row, std::int64_t col) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "\x1b[%lld;%lldH", static_cast<long long>(row),
                                static_cast<long long>(col));
    out.append(buf, static_cast<std::size_t>(n));
}

/// Appends picture cells, sending a colour only when it differs from the one in force.
struct cell_writer {
    const std::vector<std::string>& codes;
    std::string& out;
    int colour = -1; ///< brightness level in force on the terminal, -1: unknown

    void put(std::uint8_t level) {
        if (level != colour) {
            out += codes[level];
            colour = level;
        }
        out += cell_glyph;
    }
};

std::string fixed(const char* format, double v) {
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, format, v);
    return std::string(buf, static_cast<std::size_t>(std::max(n, 0)));
}

} // namespace

rgb palette(double b) noexcept {
    struct stop {
        double r, g, b;
    };
    constexpr stop dark{30, 30, 40}, amber{200, 120, 0}, light{255, 255, 200};
    if (!(b > 0.0)) b = 0.0; // also NaN
    if (b > 1.0) b = 1.0;
    const bool low = b <= 0.5;
    const stop& from = low ? dark : amber;
    const stop& to = low ? amber : light;
    const double u = low ? b / 0.5 : (b - 0.5) / 0.5;
    const auto mix = [u](double x, double y) {
        return static_cast<std::uint8_t>(std::lround(x + (y - x) * u));
    };
    return {mix(from.r, to.r), mix(from.g, to.g), mix(from.b, to.b)};
}

std::string group_thousands(std::int64_t n) {
    // via unsigned, so that INT64_MIN has a magnitude
    const bool negative = n < 0;
    std::uint64_t m = negative ? ~static_cast<std::uint64_t>(n) + 1 : static_cast<std::uint64_t>(n);
    std::string digits = std::to_string(m);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3 + 1);
    if (negative) out += '-';
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::vector<std::string> status_fields(const status& s, double fps) {
    std::vector<std::string> f;
    f.reserve(9);
    f.push_back("Agents: " + group_thousands(s.agents));
    f.push_back("Ranks: " + std::to_string(s.ranks) + " (" + std::to_string(s.workers) +
                (s.workers == 1 ? " worker)" : " workers)"));
    f.push_back("Grid: " + std::to_string(s.width) + "x" + std::to_string(s.height));
    f.push_back("t=" + fixed("%.1f", s.t_sim) + " s");
    f.push_back(s.speed > 0 ? "speed=" + fixed("%.1f", s.speed) + "x" : std::string("speed=max"));

    const double r = std::isfinite(s.R) ? std::clamp(s.R, 0.0, 1.0) : 0.0;
    const int filled = std::clamp(static_cast<int>(std::floor(r_bar_cells * r)), 0, r_bar_cells);
    std::string bar = "R=" + fixed("%.3f", s.R) + " [";
    for (int i = 0; i < r_bar_cells; ++i)
        bar += i < filled ? bar_full : bar_empty;
    bar += ']';
    f.push_back(std::move(bar));

    f.push_back("Pulse: " + fixed("%.2f", s.pulse));
    f.push_back("Flashes: " + group_thousands(s.flashes));
    f.push_back(fps < 0 ? std::string("FPS: --") : "FPS: " + fixed("%.0f", fps));
    return f;
}

std::string status_line(const status& s, double fps) {
    std::string line;
    for (const auto& field : status_fields(s, fps)) {
        if (!line.empty()) line += " | ";
        line += field;
    }
    return line;
}

std::size_t display_width(std::string_view s) noexcept {
    std::size_t n = 0;
    for (const char c : s)
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

grid_fit fit_grid(std::int64_t width, std::int64_t height, std::int64_t max_pairs,
                  std::int64_t max_rows) noexcept {
    if (width < 1 || height < 1 || max_pairs < 1 || max_rows < 1) return {};
    if (width <= max_pairs && height <= max_rows) return {width, height};
    // one shrink factor for both directions keeps the aspect (a `██` is about square)
    const double f = std::max(static_cast<double>(width) / static_cast<double>(max_pairs),
                              static_cast<double>(height) / static_cast<double>(max_rows));
    const auto shrink = [f](std::int64_t n, std::int64_t limit) {
        const auto m = static_cast<std::int64_t>(std::ceil(static_cast<double>(n) / f - 1e-9));
        return std::clamp<std::int64_t>(m, 1, std::min(n, limit));
    };
    return {shrink(width, max_pairs), shrink(height, max_rows)};
}

terminal_view::terminal_view(std::int64_t width, std::int64_t height, double period_s, int fd)
    : width_(width), height_(height), fade_per_s_(0.0), fd_(fd) {
    if (width < 1 || height < 1)
        throw error("terminal view: the grid must have at least one cell, got " +
                    std::to_string(width) + "x" + std::to_string(height));
    if (width > max_cells / height)
        throw error("terminal view: a " + std::to_string(width) + "x" + std::to_string(height) +
                    " grid is too large to visualize");
    if (!(period_s > 0.0) || !std::isfinite(period_s))
        throw error("terminal view: the period must be a positive number of seconds");
    fade_per_s_ = 1.0 / (0.3 * period_s);
    last_flash_.assign(static_cast<std::size_t>(width * height),
                       -std::numeric_limits<float>::infinity());

    colour_codes_.reserve(brightness_levels + 1);
    for (int level = 0; level <= brightness_levels; ++level) {
        const rgb c = palette(static_cast<double>(level) / brightness_levels);
        colour_codes_.push_back("\x1b[38;2;" + std::to_string(c.r) + ";" + std::to_string(c.g) +
                                ";" + std::to_string(c.b) + "m");
    }

    int cols = 0, rows = 0;
    if (is_terminal(fd_) && !query_size(fd_, cols, rows))
        size_fd_ = ::open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);

    const auto now = steady::now();
    last_repaint_ = now;
    fps_window_start_ = now;
    write_all(fd_, enter_sequence);
}

terminal_view::~terminal_view() {
    restore_terminal(fd_);
    if (size_fd_ >= 0) ::close(size_fd_);
}

void terminal_view::flash(std::uint64_t agent, double t_s) {
    if (agent >= last_flash_.size())
        throw error("terminal view: flash of agent " + std::to_string(agent) + " outside the " +
                    std::to_string(width_) + "x" + std::to_string(height_) + " grid");
    float& last = last_flash_[agent];
    last = std::max(last, static_cast<float>(t_s));
}

double terminal_view::brightness(std::uint64_t agent, double t_s) const {
    if (agent >= last_flash_.size())
        throw error("terminal view: brightness of agent " + std::to_string(agent) +
                    " outside the grid");
    const double b = 1.0 - (t_s - static_cast<double>(last_flash_[agent])) * fade_per_s_;
    return b > 0.0 ? std::min(b, 1.0) : 0.0;
}

void terminal_view::terminal_size(int& cols, int& rows) const {
    if (query_size(fd_, cols, rows) || query_size(size_fd_, cols, rows)) return;
    cols = env_int("COLUMNS", 80);
    rows = env_int("LINES", 24);
}

terminal_view::layout terminal_view::make_layout(const status& s, int cols, int rows) const {
    layout l;
    l.cols = std::max(cols, 0);
    l.rows = std::max(rows, 0);
    // Status lines stay off the last column, so no terminal ever wraps or scrolls on them.
    const std::size_t limit = static_cast<std::size_t>(std::max(l.cols - 1, 1));
    std::string line;
    for (const auto& field : status_fields(s, fps_)) {
        const std::string_view piece = utf8_prefix(field, limit);
        if (line.empty()) {
            line = piece;
        } else if (display_width(line) + 3 + display_width(piece) <= limit) {
            line += " | ";
            line += piece;
        } else {
            l.status_lines.push_back(std::move(line));
            line = piece;
        }
    }
    l.status_lines.push_back(std::move(line));
    if (l.status_lines.size() > static_cast<std::size_t>(l.rows)) l.status_lines.resize(l.rows);
    l.fit = fit_grid(width_, height_, l.cols / 2,
                     l.rows - static_cast<std::int64_t>(l.status_lines.size()));
    return l;
}

// The hot loop of a frame. The latest flash is the brightest, so max-pooling flash times and
// converting only the pooled ones gives the max-pooled brightness. Rows of a block are reduced
// element-wise (vectorizes: a compare and a blend per 8 floats), then each block's columns.
void terminal_view::pool_levels(double t_sim_s, grid_fit fit, std::vector<std::uint8_t>& levels,
                                std::vector<float>& scratch) const {
    const std::int64_t pw = fit.cols, ph = fit.rows, w = width_, h = height_;
    levels.resize(static_cast<std::size_t>(pw * ph));
    if (pw == 0 || ph == 0) return;
    if (ph < h) scratch.resize(static_cast<std::size_t>(w));

    const auto level_of = [t_sim_s, fade = fade_per_s_](float last) -> std::uint8_t {
        const double b = 1.0 - (t_sim_s - static_cast<double>(last)) * fade;
        if (!(b > 0.0)) return 0;
        if (b >= 1.0) return brightness_levels;
        return static_cast<std::uint8_t>(std::lround(b * brightness_levels));
    };

    const float* cells = last_flash_.data();
    for (std::int64_t j = 0; j < ph; ++j) {
        const std::int64_t y0 = j * h / ph, y1 = (j + 1) * h / ph;
        const float* row = cells + y0 * w;
        if (y1 - y0 > 1) {
            float* __restrict acc = scratch.data();
            const float* __restrict a = row;
            const float* __restrict b = row + w;
            for (std::int64_t x = 0; x < w; ++x)
                acc[x] = a[x] < b[x] ? b[x] : a[x];
            for (std::int64_t y = y0 + 2; y < y1; ++y) {
                const float* __restrict next = cells + y * w;
                for (std::int64_t x = 0; x < w; ++x)
                    acc[x] = acc[x] < next[x] ? next[x] : acc[x];
            }
            row = acc;
        }
        std::uint8_t* out = levels.data() + j * pw;
        if (pw == w) {
            for (std::int64_t c = 0; c < pw; ++c)
                out[c] = level_of(row[c]);
        } else {
            for (std::int64_t c = 0; c < pw; ++c) {
                const std::int64_t x0 = c * w / pw, x1 = (c + 1) * w / pw;
                float m = row[x0];
                for (std::int64_t x = x0 + 1; x < x1; ++x)
                    m = m < row[x] ? row[x] : m;
                out[c] = level_of(m);
            }
        }
    }
}

void terminal_view::append_full(const layout& l, const std::vector<std::uint8_t>& levels,
                                std::string& out) const {
    const std::int64_t pw = l.fit.cols, ph = l.fit.rows;
    out.reserve(out.size() + static_cast<std::size_t>(pw * ph) * 12 +
                static_cast<std::size_t>(l.rows) * 16 + 512);
    out += "\x1b[0m";
    cell_writer cells{colour_codes_, out};
    // Erasing to the end of a line that is full to the last column would erase its last cell.
    const bool erase_right = 2 * pw < l.cols;
    for (std::int64_t r = 0; r < ph; ++r) {
        append_position(out, r + 1, 1);
        for (std::int64_t c = 0; c < pw; ++c)
            cells.put(levels[r * pw + c]);
        if (erase_right) out += "\x1b[K";
    }
    out += "\x1b[0m";
    for (std::size_t i = 0; i < l.status_lines.size(); ++i) {
        append_position(out, ph + 1 + static_cast<std::int64_t>(i), 1);
        out += l.status_lines[i];
        out += "\x1b[K";
    }
    if (l.status_lines.empty()) append_position(out, ph + 1, 1);
    out += "\x1b[J"; // whatever is left below
}

void terminal_view::append_changes(const layout& l, const std::vector<std::uint8_t>& levels,
                                   const std::vector<std::uint8_t>& before,
                                   const std::vector<std::string>& status_before,
                                   std::string& out) const {
    const std::int64_t pw = l.fit.cols, ph = l.fit.rows;
    cell_writer cells{colour_codes_, out};
    for (std::int64_t r = 0; r < ph; ++r) {
        const std::uint8_t* now = levels.data() + r * pw;
        const std::uint8_t* was = before.data() + r * pw;
        std::int64_t first = 0, last = pw - 1;
        while (first < pw && now[first] == was[first])
            ++first;
        if (first == pw) continue;
        while (now[last] == was[last])
            --last;
        append_position(out, r + 1, 2 * first + 1);
        for (std::int64_t c = first; c <= last; ++c)
            cells.put(now[c]);
    }
    out += "\x1b[0m";
    for (std::size_t i = 0; i < l.status_lines.size(); ++i) {
        if (l.status_lines[i] == status_before[i]) continue;
        append_position(out, ph + 1 + static_cast<std::int64_t>(i), 1);
        out += l.status_lines[i];
        out += "\x1b[K";
    }
}

std::string terminal_view::render_to_string(double t_sim_s, const status& s, int cols,
                                            int rows) const {
    const layout l = make_layout(s, cols, rows);
    std::vector<std::uint8_t> levels;
    std::vector<float> scratch;
    pool_levels(t_sim_s, l.fit, levels, scratch);
    std::string out;
    append_full(l, levels, out);
    return out;
}

void terminal_view::count_frame() {
    const auto now = steady::now();
    ++fps_frames_;
    const std::chrono::duration<double> elapsed = now - fps_window_start_;
    if (elapsed >= fps_window) {
        // the first window starts at construction, so it also counts the first frame's wait
        fps_ = fps_frames_ / elapsed.count();
        fps_frames_ = 0;
        fps_window_start_ = now;
    }
}

void terminal_view::draw(double t_sim_s, const status& s) {
    count_frame();
    int cols = 0, rows = 0;
    terminal_size(cols, rows);
    layout l = make_layout(s, cols, rows);
    pool_levels(t_sim_s, l.fit, levels_, scratch_);

    const auto now = steady::now();
    const bool same_shape = l.cols == shown_.cols && l.rows == shown_.rows && l.fit == shown_.fit &&
                            l.status_lines.size() == shown_.status_lines.size();
    frame_.clear();
    if (repaint_ || !same_shape || now - last_repaint_ >= repaint_every) {
        append_full(l, levels_, frame_);
        last_repaint_ = now;
    } else {
        append_changes(l, levels_, shown_levels_, shown_.status_lines, frame_);
    }
    // After a failed write the screen is unknown: paint all of it next time.
    repaint_ = !write_all(fd_, frame_);
    shown_ = std::move(l);
    shown_levels_.swap(levels_);
}

bool is_terminal(int fd) noexcept {
    return ::isatty(fd) == 1;
}

void restore_terminal(int fd) noexcept {
    const int saved_errno = errno;
    write_all(fd, restore_sequence);
    errno = saved_errno;
}

} // namespace fireflies::view
