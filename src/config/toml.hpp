#pragma once
// The strict reader and the writer of `fireflies` config files: TOML 1.0, parsed by toml++ (the
// only place that includes it), then held to the small dialect that config files use.
//
// Accepted: `key = value` lines, `#` comments, blank lines, and an optional `[fireflies]` table
// header before the first key. Keys are bare (A-Z a-z 0-9 _ -). Scalar values are basic strings
// in double quotes (escapes \" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX), booleans, decimal integers
// (all 64 bits of an unsigned one too, beyond TOML's int64) and floats (`5.0`, `1e-3`, `inf`,
// `nan`); arrays of them, inline tables, dates and times are read and come back typed, for the
// settings to take or refuse. Refused, naming the line: any other table, arrays of tables,
// dotted or quoted keys, literal or multi-line strings, underscores in numbers, hex/octal/binary
// integers, a key given twice, and everything that is not TOML. CLI11 2.1's own config reader
// accepts much more, silently; hence this. Bytes that are not UTF-8 (a path from a Latin-1
// command line, written back by `quote`) are carried through strings unchanged, as before.
#include <string>
#include <string_view>
#include <vector>

namespace fireflies::config::toml {

/// The TOML type of a value as written in the file.
enum class value_type {
    string,
    boolean,
    integer,
    floating,
    array,
    inline_table,
    date,
    time,
    date_time
};

/// One value inside an array.
struct item {
    value_type type;
    std::string text; ///< as `entry::text`
};

/// One `key = value` line (a value may span lines: an array).
struct entry {
    std::string key;
    value_type type;
    /// Strings unescaped; numbers and booleans exactly as written; arrays, inline tables, dates
    /// and times as written (on one line, shortened), for messages.
    std::string text;
    std::vector<item> items; ///< an array's elements in order (a nested array is one item)
    int line;                ///< 1-based, the key's
};

/// Reads `text`; `where` names the source in errors ("config file run.toml"), which read
/// `<where> line <n>: <reason>`. Throws fireflies::usage_error. Keys come back in file order.
std::vector<entry> read(std::string_view text, std::string_view where);

/// `"..."` with every character that needs it escaped; `read` gives back exactly `s`.
std::string quote(std::string_view s);

/// Shortest text that reads back to exactly `x` (`5.0`, `0.01`, `1e-09`); always a TOML float.
std::string float_literal(double x);

} // namespace fireflies::config::toml
