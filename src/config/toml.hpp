#pragma once
// A strict reader and writer for the small subset of TOML that `fireflies` config files use.
//
// Accepted: `key = value` lines, `#` comments (whole-line or after a value), blank lines, and an
// optional `[fireflies]` table header before the first key. Keys are bare (A-Z a-z 0-9 _ -).
// Values are basic strings in double quotes (escapes \" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX),
// booleans `true`/`false`, decimal integers and floats (`5`, `-0.5`, `1e-3`, `2.5E+6`, `inf`,
// `nan`). Everything else TOML has (arrays, inline or other tables, dotted or quoted keys,
// literal or multi-line strings, dates, underscores in numbers, hex) is an error naming the line,
// as is a key given twice. CLI11 2.1's own config reader accepts much more, silently; hence this.
#include <string>
#include <string_view>
#include <vector>

namespace fireflies::config::toml {

/// The TOML type of a value as written in the file.
enum class value_type { string, boolean, integer, floating };

/// One `key = value` line.
struct entry {
    std::string key;
    value_type type;
    std::string text; ///< strings unescaped; numbers and booleans exactly as written
    int line;         ///< 1-based
};

/// Reads `text`; `where` names the source in errors ("config file run.toml"), which read
/// `<where> line <n>: <reason>`. Throws fireflies::usage_error. Keys come back in file order.
std::vector<entry> read(std::string_view text, std::string_view where);

/// `"..."` with every character that needs it escaped; `read` gives back exactly `s`.
std::string quote(std::string_view s);

/// Shortest text that reads back to exactly `x` (`5.0`, `0.01`, `1e-09`); always a TOML float.
std::string float_literal(double x);

} // namespace fireflies::config::toml
