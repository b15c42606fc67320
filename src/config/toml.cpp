#include "config/toml.hpp"

#include "fireflies/error.hpp"

#include <charconv>
#include <cstdint>
#include <map>
#include <system_error>

namespace fireflies::config::toml {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_key_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

/// Cursor over one line; every error names the source and the line.
class line_reader {
  public:
    line_reader(std::string_view line, std::string_view where, int number)
        : line_(line), where_(where), number_(number) {}

    [[noreturn]] void fail(const std::string& reason) const {
        throw usage_error(std::string(where_) + " line " + std::to_string(number_) + ": " + reason);
    }

    bool at_end() const { return pos_ >= line_.size(); }
    char peek() const { return at_end() ? '\0' : line_[pos_]; }
    bool starts_with(std::string_view s) const { return line_.substr(pos_).starts_with(s); }
    bool consume(char c) {
        if (peek() != c || at_end()) return false;
        ++pos_;
        return true;
    }
    void skip_blanks() {
        while (!at_end() && is_blank(line_[pos_]))
            ++pos_;
    }
    /// After a key, a header or a value: blanks, then a comment or the end of the line.
    void expect_end(std::string_view after) {
        skip_blanks();
        if (at_end() || peek() == '#') return;
        fail("unexpected '" + std::string(line_.substr(pos_)) + "' after " + std::string(after));
    }

    std::string bare_key() {
        const auto start = pos_;
        while (!at_end() && is_key_char(line_[pos_]))
            ++pos_;
        return std::string(line_.substr(start, pos_ - start));
    }

    /// Everything up to a blank, a comment or the end: a number, a boolean or garbage.
    std::string_view token() {
        const auto start = pos_;
        while (!at_end() && !is_blank(line_[pos_]) && line_[pos_] != '#')
            ++pos_;
        return line_.substr(start, pos_ - start);
    }

    std::string basic_string() {
        ++pos_; // opening quote
        std::string out;
        for (;;) {
            if (at_end()) fail("unterminated string (a string must close on its own line)");
            const char c = line_[pos_++];
            if (c == '"') return out;
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f)
                fail("control character in a string (write it as \\u" + hex4(u) + ")");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) fail("unterminated string (a string must close on its own line)");
            const char e = line_[pos_++];
            switch (e) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case 'b':
                out += '\b';
                break;
            case 't':
                out += '\t';
                break;
            case 'n':
                out += '\n';
                break;
            case 'f':
                out += '\f';
                break;
            case 'r':
                out += '\r';
                break;
            case 'u':
                append_utf8(out, code_point(4));
                break;
            case 'U':
                append_utf8(out, code_point(8));
                break;
            default:
                fail(std::string("unknown escape '\\") + e + "' in a string");
            }
        }
    }

  private:
    static std::string hex4(unsigned v) {
        static constexpr char digits[] = "0123456789ABCDEF";
        std::string s(4, '0');
        for (int i = 3; i >= 0; --i, v >>= 4)
            s[static_cast<std::size_t>(i)] = digits[v & 0xf];
        return s;
    }

    std::uint32_t code_point(std::size_t ndigits) {
        const auto digits = line_.substr(pos_, ndigits);
        std::uint32_t cp = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), cp, 16);
        if (digits.size() != ndigits || ec != std::errc{} || end != digits.data() + digits.size())
            fail("escape \\" + std::string(ndigits == 4 ? "u" : "U") + " needs " +
                 std::to_string(ndigits) + " hex digits");
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            fail("escape \\" + std::string(ndigits == 4 ? "u" : "U") + std::string(digits) +
                 " is not a Unicode scalar value");
        pos_ += ndigits;
        return cp;
    }

    static void append_utf8(std::string& out, std::uint32_t cp) {
        auto byte = [&](std::uint32_t b) { out += static_cast<char>(b); };
        if (cp < 0x80) {
            byte(cp);
        } else if (cp < 0x800) {
            byte(0xc0 | (cp >> 6));
            byte(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            byte(0xe0 | (cp >> 12));
            byte(0x80 | ((cp >> 6) & 0x3f));
            byte(0x80 | (cp & 0x3f));
        } else {
            byte(0xf0 | (cp >> 18));
            byte(0x80 | ((cp >> 12) & 0x3f));
            byte(0x80 | ((cp >> 6) & 0x3f));
            byte(0x80 | (cp & 0x3f));
        }
    }

    std::string_view line_;
    std::string_view where_;
    int number_;
    std::size_t pos_ = 0;
};

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

} // namespace

std::vector<entry> read(std::string_view text, std::string_view where) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3); // UTF-8 byte order mark
    std::vector<entry> entries;
    std::map<std::string, int, std::less<>> first_line;
    bool seen_table = false;
    int number = 0;
    while (!text.empty() || number == 0) {
        ++number;
        const auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);

        line_reader in(line, where, number);
        in.skip_blanks();
        if (in.at_end() || in.peek() == '#') continue;

        if (in.consume('[')) {
            if (in.peek() == '[') in.fail("arrays of tables are not supported");
            in.skip_blanks();
            const std::string name = in.bare_key();
            in.skip_blanks();
            if (!in.consume(']')) {
                if (line.find(']') == std::string_view::npos) in.fail("unterminated table header");
                in.fail("unknown table " + std::string(line.substr(line.find('['))) +
                        " (the only table is [fireflies])");
            }
            if (name != "fireflies")
                in.fail("unknown table [" + name + "] (the only table is [fireflies])");
            if (seen_table) in.fail("table [fireflies] defined twice");
            if (!entries.empty())
                in.fail("table [fireflies] after keys: put it before every key or leave it out");
            seen_table = true;
            in.expect_end("table header [fireflies]");
            continue;
        }

        if (in.peek() == '"' || in.peek() == '\'')
            in.fail("quoted keys are not supported: write the key bare, e.g. period = 5.0");
        entry e;
        e.line = number;
        e.key = in.bare_key();
        if (e.key.empty()) in.fail("expected a key, found '" + std::string(in.token()) + "'");
        in.skip_blanks();
        if (in.peek() == '.') in.fail("dotted keys are not supported: '" + e.key + ".'");
        if (!in.consume('=')) in.fail("expected '=' after key '" + e.key + "'");
        in.skip_blanks();
        if (in.at_end() || in.peek() == '#') in.fail("missing value for key '" + e.key + "'");

        const char c = in.peek();
        if (c == '"') {
            if (in.starts_with("\"\"\"")) in.fail("multi-line strings are not supported");
            e.type = value_type::string;
            e.text = in.basic_string();
        } else if (c == '\'') {
            in.fail("literal strings ('...') are not supported: use double quotes");
        } else if (c == '[') {
            in.fail("arrays are not supported (key '" + e.key + "')");
        } else if (c == '{') {
            in.fail("inline tables are not supported (key '" + e.key + "')");
        } else {
            const auto tok = in.token();
            e.text = std::string(tok);
            if (tok == "true" || tok == "false")
                e.type = value_type::boolean;
            else if (is_integer(tok))
                e.type = value_type::integer;
            else if (is_float(tok))
                e.type = value_type::floating;
            else
                in.fail("'" + e.text + "' is not a valid value for key '" + e.key +
                        "' (strings need double quotes)");
        }
        in.expect_end("the value of '" + e.key + "'");

        if (const auto it = first_line.find(e.key); it != first_line.end())
            in.fail("duplicate key '" + e.key + "' (first given on line " +
                    std::to_string(it->second) + ")");
        first_line.emplace(e.key, number);
        entries.push_back(std::move(e));
    }
    return entries;
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
