#include "config/toml.hpp"

#include "fireflies/error.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <system_error>
#include <utility>

namespace fireflies::config::toml {
namespace {

namespace lib = ::toml; // toml++

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_key_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}
/// What ends a value written without quotes: a blank, a comment, a separator, the line's end.
bool ends_value(char c) {
    return is_blank(c) || c == '#' || c == ',' || c == ']' || c == '}' || c == '\r' || c == '\n';
}

// ---- the dialect's numbers ---------------------------------------------------------------

/// TOML's decimal integer: [+-]? (0 | [1-9][0-9]*), no underscores.
bool is_integer(std::string_view s) {
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return s.size() == 1 || s[0] != '0';
}

/// TOML's float: integer part, then a fraction, an exponent or both; or [+-]? inf | nan.
bool is_float(std::string_view s) {
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
    if (s == "inf" || s == "nan") return true;
    std::size_t i = 0;
    auto digits = [&] {
        const auto start = i;
        while (i < s.size() && is_digit(s[i]))
            ++i;
        return i - start;
    };
    const auto int_digits = digits();
    if (int_digits == 0 || (int_digits > 1 && s[0] == '0')) return false;
    bool fraction = false, exponent = false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (digits() == 0) return false;
        fraction = true;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (digits() == 0) return false;
        exponent = true;
    }
    return i == s.size() && (fraction || exponent);
}

// ---- bytes that are not UTF-8 --------------------------------------------------------------
// toml++ reads UTF-8 only, while a path is any bytes (`quote` writes them as they are). A byte
// that is not part of a well-formed sequence travels through toml++ as the private-use code
// point U+10FE00 + byte (U+10FE80..U+10FEFF), and comes back as that byte in strings.

/// Length of the well-formed UTF-8 sequence at the start of `s` (Unicode, table 3-7), else 0.
std::size_t utf8_length(std::string_view s) {
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned c = at(0);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F; // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F; // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n || at(1) < low || at(1) > high) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (at(i) < 0x80 || at(i) > 0xBF) return 0;
    return n;
}

/// The carrier of byte `b` (0x80..0xFF) is U+10FE00 + b: F4 8F BA|BB xx in UTF-8.
bool is_carrier(std::string_view s) {
    return s.size() >= 4 && s[0] == '\xF4' && s[1] == '\x8F' &&
           (s[2] == '\xBA' || s[2] == '\xBB') && (static_cast<unsigned char>(s[3]) & 0xC0) == 0x80;
}

/// `s` with each carrier turned back into its byte.
std::string uncarry(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        if (is_carrier(s.substr(i))) {
            out += static_cast<char>(0x80 + ((s[i + 2] - '\xBA') << 6) + (s[i + 3] & 0x3F));
            i += 4;
        } else {
            out += s[i++];
        }
    }
    return out;
}

// ---- the reader ---------------------------------------------------------------------------

/// A position as toml++ gives it: 1-based line, and 1-based column counted in code points.
using position = std::pair<std::uint32_t, std::uint32_t>;
position at(const lib::source_position& p) {
    return {p.line, p.column};
}

/// A value that toml++ cannot hold but the dialect has: an integer beyond 64 bits (a seed is
/// uint64) or a float beyond double (the setting says "out of range"). It is parsed as a
/// same-length string in its place and given back as the number written.
struct stand_in {
    value_type type;
    std::string text;
};

class reader {
  public:
    reader(std::string_view text, std::string_view where) : where_(where) {
        if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3); // UTF-8 byte order mark
        for (std::size_t i = 0; i < text.size();) {
            if (const auto n = utf8_length(text.substr(i))) {
                if (n == 4 && is_carrier(text.substr(i)) && reserved_at_ == std::string::npos)
                    reserved_at_ = doc_.size();
                doc_.append(text.substr(i, n));
                i += n;
            } else { // a byte that is not UTF-8: its carrier (4 bytes, one code point)
                const unsigned cp = 0x10FE00 + static_cast<unsigned char>(text[i++]);
                doc_ += {'\xF4', '\x8F', static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                         static_cast<char>(0x80 | (cp & 0x3F))};
                carried_ = true;
            }
        }
        if (doc_.ends_with('\r')) doc_ += '\n'; // a last line ending in CR alone, as before
        line_starts_.push_back(0);
        for (std::size_t i = 0; i < doc_.size(); ++i)
            if (doc_[i] == '\n') line_starts_.push_back(i + 1);
    }

    std::vector<entry> entries() {
        if (carried_) { // then U+10FE80..U+10FEFF stand for bytes: the text may not have its own
            auto reserved = reserved_at_;
            for (auto i = doc_.find("\\U0010"); i != std::string::npos;
                 i = doc_.find("\\U0010", i + 1))
                if (i + 8 < doc_.size() && (doc_[i + 6] == 'F' || doc_[i + 6] == 'f') &&
                    (doc_[i + 7] == 'E' || doc_[i + 7] == 'e') &&
                    std::string_view("89ABCDEFabcdef").find(doc_[i + 8]) != std::string_view::npos)
                    reserved = std::min(reserved, i);
            if (reserved != std::string::npos)
                fail(static_cast<std::uint32_t>(
                         std::upper_bound(line_starts_.begin(), line_starts_.end(), reserved) -
                         line_starts_.begin()),
                     "characters U+10FE80..U+10FEFF cannot be read in a file that has bytes that "
                     "are not UTF-8 (they carry those bytes through the parser)");
        }
        lib::table root;
        for (;;) {
            try {
                root = lib::parse(std::string_view(doc_));
                break;
            } catch (const lib::parse_error& e) {
                if (!stand_in_number(e) && !blank_comment(e))
                    fail(e.source().begin.line, describe(e));
            }
        }

        std::vector<entry> out;
        for (const auto& [k, n] : in_order(root)) {
            if (is_header(*k, *n)) {
                if (n->is_array()) fail(line_of(*k), "arrays of tables are not supported");
                check_bare(*k);
                if (k->str() != "fireflies")
                    fail(line_of(*k),
                         "unknown table " + header(*n) + " (the only table is [fireflies])");
                if (!out.empty())
                    fail(line_of(*k),
                         "table [fireflies] after keys: put it before every key or leave it out");
                for (const auto& [ck, cn] : in_order(*n->as_table())) {
                    if (is_header(*ck, *cn))
                        fail(line_of(*ck), cn->is_array() ? "arrays of tables are not supported"
                                                          : "unknown table " + header(*cn) +
                                                                " (the only table is [fireflies])");
                    out.push_back(to_entry(*ck, *cn));
                }
            } else {
                out.push_back(to_entry(*k, *n));
            }
        }
        return out;
    }

  private:
    [[noreturn]] void fail(std::uint32_t line, const std::string& reason) const {
        throw usage_error(where_ + " line " + std::to_string(line) + ": " + reason);
    }

    std::size_t offset(const lib::source_position& p) const {
        if (p.line == 0 || p.line > line_starts_.size()) return doc_.size();
        std::size_t i = line_starts_[p.line - 1];
        for (std::uint32_t column = 1; column < p.column && i < doc_.size() && doc_[i] != '\n';
             ++column)
            do
                ++i;
            while (i < doc_.size() && (static_cast<unsigned char>(doc_[i]) & 0xC0) == 0x80);
        return i;
    }
    std::string_view source(const lib::source_region& r) const {
        const auto begin = offset(r.begin);
        return std::string_view(doc_).substr(begin, std::max(offset(r.end), begin) - begin);
    }
    /// Line `n` without its line break.
    std::string_view line_text(std::uint32_t n) const {
        if (n == 0 || n > line_starts_.size()) return {};
        auto line = std::string_view(doc_).substr(line_starts_[n - 1]);
        line = line.substr(0, line.find('\n'));
        return line.ends_with('\r') ? line.substr(0, line.size() - 1) : line;
    }
    std::string shown(std::string_view s) const { return carried_ ? uncarry(s) : std::string(s); }

    static int line_of(const lib::key& k) { return static_cast<int>(k.source().begin.line); }

    /// The table's or array's header, `[name]` or `[[name]]`, comes before its key's name;
    /// a dotted key's table starts at the key, an inline value after it.
    static bool is_header(const lib::key& k, const lib::node& n) {
        return at(n.source().begin) < at(k.source().begin);
    }
    std::string header(const lib::node& table) const {
        std::string text = shown(source(table.source()));
        std::erase_if(text, is_blank);
        return text;
    }

    /// A table's keys in the order they were written.
    static std::vector<std::pair<const lib::key*, const lib::node*>> in_order(const lib::table& t) {
        std::vector<std::pair<const lib::key*, const lib::node*>> items;
        for (const auto& [k, n] : t)
            items.emplace_back(&k, &n);
        std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
            return at(a.first->source().begin) < at(b.first->source().begin);
        });
        return items;
    }

    void check_bare(const lib::key& k) const {
        const auto first = offset(k.source().begin);
        if (first < doc_.size() && (doc_[first] == '"' || doc_[first] == '\''))
            fail(line_of(k),
                 "quoted keys are not supported: write the key bare, e.g. period = 5.0");
    }

    entry to_entry(const lib::key& k, const lib::node& n) const {
        check_bare(k);
        if (n.is_table() && !n.as_table()->is_inline())
            fail(line_of(k), "dotted keys are not supported: '" + std::string(k.str()) + ".'");
        entry e;
        e.key = k.str();
        e.line = line_of(k);
        const item v = to_item(n, e.key, e.line);
        e.type = v.type;
        e.text = v.text;
        if (const auto* array = n.as_array())
            for (const auto& element : *array)
                e.items.push_back(to_item(element, e.key, e.line));
        return e;
    }

    /// One value, held to the dialect: double-quoted strings, decimal numbers.
    item to_item(const lib::node& n, const std::string& key, int line) const {
        const std::string_view written = source(n.source());
        auto bad_number = [&](std::string_view why) {
            fail(line, "'" + shown(written) + "' is not a valid value for key '" + key + "' (" +
                           std::string(why) + ")");
        };
        switch (n.type()) {
        case lib::node_type::string: {
            if (const auto it = stand_ins_.find(at(n.source().begin)); it != stand_ins_.end())
                return {it->second.type, it->second.text};
            if (written.starts_with('\''))
                fail(line, "literal strings ('...') are not supported: use double quotes");
            if (written.starts_with("\"\"\"")) fail(line, "multi-line strings are not supported");
            return {value_type::string, shown(n.as_string()->get())};
        }
        case lib::node_type::integer:
            if (!is_integer(written))
                bad_number(written.find('_') != std::string_view::npos
                               ? "write numbers without underscores"
                               : "write integers in decimal");
            return {value_type::integer, std::string(written)};
        case lib::node_type::floating_point:
            if (!is_float(written)) bad_number("write numbers without underscores");
            return {value_type::floating, std::string(written)};
        case lib::node_type::boolean:
            return {value_type::boolean, n.as_boolean()->get() ? "true" : "false"};
        case lib::node_type::array:
            return {value_type::array, one_line(written)};
        case lib::node_type::date:
            return {value_type::date, one_line(written)};
        case lib::node_type::time:
            return {value_type::time, one_line(written)};
        case lib::node_type::date_time:
            return {value_type::date_time, one_line(written)};
        default:
            return {value_type::inline_table, one_line(written)};
        }
    }

    /// Text as written, for a message: on one line, blanks squeezed, at most 60 bytes.
    std::string one_line(std::string_view written) const {
        std::string text;
        for (const char c : shown(written)) {
            const bool blank = is_blank(c) || c == '\n' || c == '\r';
            if (!blank || (!text.empty() && text.back() != ' ')) text += blank ? ' ' : c;
        }
        if (text.size() > 60) {
            std::size_t cut = 57;
            while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
                --cut;
            text = text.substr(0, cut) + "...";
        }
        return text;
    }

    // ---- toml++'s errors ----

    /// "Error while parsing decimal integer: leading zeroes are prohibited" -> the two parts.
    static std::pair<std::string_view, std::string_view> scope_and_detail(std::string_view what) {
        constexpr std::string_view prefix = "Error while parsing ";
        if (!what.starts_with(prefix)) return {{}, what};
        what.remove_prefix(prefix.size());
        const auto colon = what.find(": ");
        if (colon == std::string_view::npos) return {{}, what};
        return {what.substr(0, colon), what.substr(colon + 2)};
    }

    /// The unquoted value around byte `i` (toml++ points at its start, into it or just after it).
    std::pair<std::size_t, std::size_t> token_around(std::size_t i) const {
        std::size_t begin = std::min(i, doc_.size()), end = begin;
        while (begin > 0 && !ends_value(doc_[begin - 1]) && doc_[begin - 1] != '=' &&
               doc_[begin - 1] != '[' && doc_[begin - 1] != '{')
            --begin;
        while (end < doc_.size() && !ends_value(doc_[end]))
            ++end;
        return {begin, end};
    }

    /// The bare key that line `n` starts with, if `=` follows it (or always, with `any`).
    std::string key_on_line(std::uint32_t n, bool any = false) const {
        const auto line = line_text(n);
        std::size_t i = 0;
        while (i < line.size() && is_blank(line[i]))
            ++i;
        const auto start = i;
        while (i < line.size() && is_key_char(line[i]))
            ++i;
        const auto key = line.substr(start, i - start);
        while (i < line.size() && is_blank(line[i]))
            ++i;
        return any || (i < line.size() && line[i] == '=') ? std::string(key) : std::string();
    }

    /// A number toml++ cannot hold, in a value's place: stand a string in for it and parse again.
    bool stand_in_number(const lib::parse_error& e) {
        const auto [scope, detail] = scope_and_detail(e.description());
        if (scope != "decimal integer" && scope != "floating-point") return false;
        const auto error_at = offset(e.source().begin);
        const auto [begin, end] = token_around(error_at);
        const std::string text = doc_.substr(begin, end - begin);
        if (text.size() < 2 || !(is_integer(text) || is_float(text))) return false;
        auto before = begin;
        while (before > 0 && is_blank(doc_[before - 1]))
            --before;
        if (before == 0 ||
            (doc_[before - 1] != '=' && doc_[before - 1] != '[' && doc_[before - 1] != ','))
            return false;
        const position start{e.source().begin.line,
                             e.source().begin.column -
                                 static_cast<std::uint32_t>(error_at - begin)};
        stand_ins_[start] = {is_integer(text) ? value_type::integer : value_type::floating, text};
        doc_.replace(begin, end - begin, '"' + std::string(text.size() - 2, '0') + '"');
        return true;
    }

    /// Comments may hold any byte, as before: blank the control characters of this one.
    bool blank_comment(const lib::parse_error& e) {
        if (scope_and_detail(e.description()).first != "comment") return false;
        const auto line = e.source().begin.line;
        if (line == 0 || line > line_starts_.size()) return false;
        const auto line_start = line_starts_[line - 1];
        auto i = doc_.rfind('#', offset(e.source().begin));
        if (i == std::string::npos || i < line_start) return false;
        bool blanked = false;
        for (; i < doc_.size() && doc_[i] != '\n'; ++i) {
            const auto c = static_cast<unsigned char>(doc_[i]);
            const bool line_end = c == '\r' && i + 1 < doc_.size() && doc_[i + 1] == '\n';
            if (((c < 0x20 && c != '\t') || c == 0x7f) && !line_end) {
                doc_[i] = ' ';
                blanked = true;
            }
        }
        return blanked;
    }

    /// The line where `key` was first given, when toml++ says it is given again on `line`.
    std::uint32_t first_given(const std::string& key, std::uint32_t line) const {
        if (line == 0 || line > line_starts_.size()) return 0;
        try {
            const auto before =
                lib::parse(std::string_view(doc_).substr(0, line_starts_[line - 1]));
            const lib::table* table = &before;
            if (const auto* f = before.get("fireflies");
                f && f->is_table() && !f->as_table()->is_inline())
                table = f->as_table();
            for (const auto& [k, n] : *table)
                if (k.str() == key) return k.source().begin.line;
        } catch (const lib::parse_error&) {
        }
        return 0;
    }

    /// toml++'s error in the words of this reader where it has its own, else toml++'s own.
    std::string describe(const lib::parse_error& e) const {
        const auto [scope, detail] = scope_and_detail(e.description());
        const auto line = e.source().begin.line;
        const auto error_at = offset(e.source().begin);
        const char here = error_at < doc_.size() ? doc_[error_at] : '\n';
        const std::string key = key_on_line(line);
        const std::string for_key = key.empty() ? "" : " for key '" + key + "'";
        const auto [begin, end] = token_around(error_at);
        const std::string token = shown(std::string_view(doc_).substr(begin, end - begin));

        if (scope == "string" &&
            (detail == "encountered end-of-file" ||
             (detail.starts_with("unescaped control") && (here == '\n' || here == '\r'))))
            return "unterminated string (a string must close on its own line)";
        if (scope == "string" && detail.starts_with("unknown escape sequence ") &&
            (here == '\n' || here == '\r')) // a backslash at the end of the line
            return "unterminated string (a string must close on its own line)";
        if (scope == "string" && detail.starts_with("unknown escape sequence "))
            return "unknown escape " + shown(detail.substr(24)) + " in a string";
        if (scope == "unicode scalar sequence") { // toml++ points into or just after the escape
            std::string_view escape = "\\u";
            if (const auto slash =
                    error_at > 0 ? doc_.rfind('\\', error_at - 1) : std::string::npos;
                slash != std::string::npos && error_at - slash >= 2)
                escape = std::string_view(doc_).substr(slash, error_at - slash);
            if (detail.starts_with("expected hex digit"))
                return std::string("escape \\") + escape[1] + " needs " +
                       (escape[1] == 'U' ? "8" : "4") + " hex digits";
            return "escape " + std::string(escape) + " is not a Unicode scalar value";
        }
        if (scope == "value" && detail == "could not determine value type") {
            const auto rest = std::string_view(doc_).substr(error_at);
            std::size_t n = 0;
            while (n < rest.size() && !ends_value(rest[n]))
                ++n;
            return "'" + shown(rest.substr(0, n)) + "' is not a valid value" + for_key +
                   " (strings need double quotes)";
        }
        if (scope == "decimal integer" || scope == "floating-point" || scope == "boolean" ||
            scope == "date" || scope == "time" || scope == "date-time")
            return "'" + token + "' is not a valid value" + for_key + " (" + std::string(detail) +
                   ")";
        if (scope == "key-value pair" && detail.starts_with("cannot redefine existing") &&
            !key.empty()) {
            if (const auto first = first_given(key, line))
                return "duplicate key '" + key + "' (first given on line " + std::to_string(first) +
                       ")";
        }
        if (scope == "table header" && detail.starts_with("cannot redefine existing table '"))
            return "table [" + std::string(detail.substr(32, detail.size() - 33)) +
                   "] defined twice";
        if (scope == "table header" && detail.starts_with("expected ']'") &&
            line_text(line).find(']') == std::string_view::npos)
            return "unterminated table header";
        if (scope == "key-value pair" && detail.starts_with("expected '='") &&
            !key_on_line(line, true).empty())
            return "expected '=' after key '" + key_on_line(line, true) + "'";
        if (scope == "key-value pair" && detail.starts_with("expected value,") && !key.empty())
            return "missing value for key '" + key + "'";
        if (scope == "key-value pair" && detail.starts_with("expected a comment or whitespace") &&
            !key.empty()) {
            const auto line_end = line_starts_[line - 1] + line_text(line).size();
            return "unexpected '" +
                   shown(std::string_view(doc_).substr(error_at,
                                                       line_end - std::min(error_at, line_end))) +
                   "' after the value of '" + key + "'";
        }
        if (scope == "root table" && detail.starts_with("expected keys")) {
            const auto rest = std::string_view(doc_).substr(error_at);
            std::size_t n = 0;
            while (n < rest.size() && !is_blank(rest[n]) && rest[n] != '#' && rest[n] != '\n' &&
                   rest[n] != '\r')
                ++n;
            return "expected a key, found '" + shown(rest.substr(0, n)) + "'";
        }
        return scope.empty() ? shown(detail) : std::string(scope) + ": " + shown(detail);
    }

    std::string where_;
    std::string doc_;                             ///< the text as toml++ reads it
    std::vector<std::size_t> line_starts_;        ///< byte offset of each line of doc_
    bool carried_ = false;                        ///< doc_ carries bytes that are not UTF-8
    std::size_t reserved_at_ = std::string::npos; ///< where the text has U+10FE80..U+10FEFF
    std::map<position, stand_in> stand_ins_;
};

} // namespace

std::vector<entry> read(std::string_view text, std::string_view where) {
    return reader(text, where).entries();
}

std::string quote(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (u < 0x20 || u == 0x7f) {
                out += "\\u00";
                out += hex[u >> 4];
                out += hex[u & 0xf];
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

std::string float_literal(double x) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    std::string s(buf, ec == std::errc{} ? end : buf);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0"; // "5" -> "5.0"; inf/nan as is
    return s;
}

} // namespace fireflies::config::toml
