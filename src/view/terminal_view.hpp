#pragma once
// The live terminal picture of the grid that rank 0 draws under `--visualize` (the seed's
// GridView + StatusBar): every firefly is a `██` in 24-bit colour that lights up when it flashes
// and fades over 0.3 periods, with a status bar below. No MPI and no model code in here: the hub
// feeds it flash events and a `status`, and it writes ANSI escape sequences to a file descriptor.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fireflies::view {

/// What the status bar shows; the hub fills it for every frame.
struct status {
    std::int64_t agents = 0;  ///< fireflies in the grid, W*H
    int ranks = 1;            ///< MPI ranks, hub included
    int workers = 1;          ///< ranks that own fireflies
    std::int64_t width = 0;   ///< grid cells across
    std::int64_t height = 0;  ///< grid cells down
    double t_sim = 0.0;       ///< simulated seconds
    double speed = 1.0;       ///< simulated seconds per wall-clock second; 0 = unlimited
    double R = 0.0;           ///< order parameter of the latest sample, in [0, 1]
    double pulse = 0.0;       ///< flashes so far / agents (the seed's "Pulse")
    std::int64_t flashes = 0; ///< flashes so far
};

/// A 24-bit colour.
struct rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    bool operator==(const rgb&) const = default;
};

/// The seed's firefly palette: brightness 0 -> (30, 30, 40), 0.5 -> (200, 120, 0),
/// 1 -> (255, 255, 200), linear in between, clamped outside [0, 1], rounded to the nearest.
rgb palette(double brightness) noexcept;

/// Brightness is drawn in this many steps above 0 (so 0.5 is a step: the palette's middle stop).
inline constexpr int brightness_levels = 200;

/// `12345` -> `"12,345"`, `-1234567` -> `"-1,234,567"`.
std::string group_thousands(std::int64_t n);

/// The status bar's fields in order, e.g. `Agents: 900`, `Ranks: 3 (2 workers)`, `Grid: 30x30`,
/// `t=12.5 s`, `speed=1.0x` (`speed=max` when unlimited), `R=0.734 [██████████████░░░░░░]`
/// (20 cells, floor(20 R) of them full), `Pulse: 2.41`, `Flashes: 12,345`, `FPS: 30`
/// (`FPS: --` while `fps < 0`, i.e. not measured yet).
std::vector<std::string> status_fields(const status& s, double fps);

/// The fields joined by `" | "`: the whole status bar on one line.
std::string status_line(const status& s, double fps);

/// Terminal columns a UTF-8 string takes (every code point counts as one column, which holds
/// for the ASCII, `█` and `░` the view writes).
std::size_t display_width(std::string_view s) noexcept;

/// Size of the picture of a W x H grid in a terminal area of `max_pairs` character pairs by
/// `max_rows` rows: the grid itself when it fits, otherwise shrunk by one factor in both
/// directions (aspect kept; each picture cell max-pools the block of cells it stands for).
struct grid_fit {
    std::int64_t cols = 0; ///< picture cells across (each two characters wide)
    std::int64_t rows = 0; ///< picture cells down (one character row each)
    bool operator==(const grid_fit&) const = default;
};
grid_fit fit_grid(std::int64_t width, std::int64_t height, std::int64_t max_pairs,
                  std::int64_t max_rows) noexcept;

/// Escape sequences the view writes when it takes the terminal (alternate screen, cursor hidden,
/// no autowrap, screen cleared) and when it gives it back (colours reset, autowrap on, cursor
/// shown, alternate screen left). `restore_terminal` writes `restore_sequence`.
inline constexpr std::string_view enter_sequence =
    "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[0m\x1b[2J\x1b[H";
inline constexpr std::string_view restore_sequence = "\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l";

/// The live view. Keeps, per cell, only the time of its latest flash (a float: 4 bytes a cell),
/// so a flash costs one store and nothing is updated per cell between frames; a frame max-pools
/// those times over the cells each character pair stands for (latest flash = brightest, since
/// brightness falls with age), then turns the few thousand pooled times into colours.
///
/// `draw` queries the terminal size every frame (so it follows resizes), builds the frame in one
/// buffer and writes it with one write(2). Between frames of the same layout it sends only the
/// runs of cells and the status lines that changed; it repaints everything after a resize and
/// every couple of seconds (which also heals the picture if something else wrote to the screen).
class terminal_view {
  public:
    /// Takes the terminal on `fd`: alternate screen, hidden cursor. `period_s` > 0 sets the fade:
    /// brightness falls from 1 to 0 in 0.3 periods of simulated time.
    terminal_view(std::int64_t width, std::int64_t height, double period_s, int fd = 1);
    /// Gives the terminal back (`restore_terminal(fd)`).
    ~terminal_view();
    terminal_view(const terminal_view&) = delete;
    terminal_view& operator=(const terminal_view&) = delete;

    /// Cell `agent` (= y*width + x) flashed at simulated time `t_s`. Flashes may come in any
    /// order; the latest one counts. Throws `fireflies::error` for an agent outside the grid.
    void flash(std::uint64_t agent, double t_s);

    /// Renders the grid as of simulated time `t_sim_s` with status bar `s` at the terminal's
    /// current size and writes it to the descriptor.
    void draw(double t_sim_s, const status& s);

    /// The complete frame (not a difference) that `draw` would write to a terminal of `cols` x
    /// `rows` characters. Pure: for tests and benchmarks.
    std::string render_to_string(double t_sim_s, const status& s, int cols, int rows) const;

    /// Brightness in [0, 1] of cell `agent` at simulated time `t_s`.
    double brightness(std::uint64_t agent, double t_s) const;

    /// Frames per second that `draw` has been achieving (wall clock); -1 until measured.
    double fps() const noexcept { return fps_; }

  private:
    struct layout {
        int cols = 0, rows = 0;
        grid_fit fit;
        std::vector<std::string> status_lines;
        bool operator==(const layout&) const = default;
    };
    layout make_layout(const status& s, int cols, int rows) const;
    void pool_levels(double t_sim_s, grid_fit fit, std::vector<std::uint8_t>& levels,
                     std::vector<float>& scratch) const;
    void append_full(const layout& l, const std::vector<std::uint8_t>& levels,
                     std::string& out) const;
    void append_changes(const layout& l, const std::vector<std::uint8_t>& levels,
                        const std::vector<std::uint8_t>& before,
                        const std::vector<std::string>& status_before, std::string& out) const;
    void terminal_size(int& cols, int& rows) const;
    void count_frame();

    std::int64_t width_, height_;
    double fade_per_s_; ///< brightness lost per simulated second, 1 / (0.3 T)
    int fd_;
    int size_fd_ = -1; ///< /dev/tty, when `fd_` is a terminal without a size (e.g. mpirun's pty)
    std::vector<float> last_flash_; ///< simulated seconds of each cell's latest flash, or -inf
    std::vector<std::string> colour_codes_; ///< `\x1b[38;2;R;G;Bm` per brightness level

    // what the terminal shows now, for sending differences
    layout shown_;
    std::vector<std::uint8_t> shown_levels_;
    bool repaint_ = true;
    std::chrono::steady_clock::time_point last_repaint_;

    // reused per frame
    std::vector<std::uint8_t> levels_;
    std::vector<float> scratch_;
    std::string frame_;

    // frame rate
    std::chrono::steady_clock::time_point fps_window_start_;
    int fps_frames_ = 0;
    double fps_ = -1.0;
};

/// True when `fd` is a terminal (isatty).
bool is_terminal(int fd) noexcept;

/// Writes `restore_sequence` to `fd` with write(2) only, keeping errno: async-signal-safe, for
/// SIGINT/SIGTERM handlers and std::terminate. Harmless when the terminal is already restored.
void restore_terminal(int fd) noexcept;

} // namespace fireflies::view
