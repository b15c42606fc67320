// The config file reader on its own (config/toml.hpp, toml++ underneath) and the way a file's
// value reaches a setting (config::read_entry): what comes back for each value, in file order;
// numbers beyond what toml++ holds; arrays, and a list setting taking one; comments and strings
// with bytes that are not UTF-8.
#include "config/cli.hpp"
#include "config/settings.hpp"
#include "config/toml.hpp"

#include "fireflies/config.hpp"
#include "fireflies/error.hpp"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fireflies::config {
namespace {

using toml::value_type;

/// The reader's usage_error message for `text`, or "<no error>".
std::string error_of(std::string_view text) {
    try {
        toml::read(text, "f");
    } catch (const usage_error& e) {
        return e.what();
    }
    return "<no error>";
}

std::vector<std::string> texts(const std::vector<toml::item>& items) {
    std::vector<std::string> out;
    for (const auto& i : items)
        out.push_back(i.text);
    return out;
}

TEST(ConfigTomlRead, EntriesInFileOrderWithTypeTextAndLine) {
    // toml++ keeps a table's keys sorted; the reader gives them back as they were written.
    const auto e = toml::read("# c\n[fireflies]\nzeta = 1\n\nalpha = \"x\\ty\"\nmid = -2.5e3\n"
                              "flag = false # off\n",
                              "f");
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0].key, "zeta");
    EXPECT_EQ(e[0].type, value_type::integer);
    EXPECT_EQ(e[0].text, "1");
    EXPECT_EQ(e[0].line, 3);
    EXPECT_EQ(e[1].key, "alpha");
    EXPECT_EQ(e[1].type, value_type::string);
    EXPECT_EQ(e[1].text, "x\ty");
    EXPECT_EQ(e[1].line, 5);
    EXPECT_EQ(e[2].key, "mid");
    EXPECT_EQ(e[2].type, value_type::floating);
    EXPECT_EQ(e[2].text, "-2.5e3");
    EXPECT_EQ(e[3].key, "flag");
    EXPECT_EQ(e[3].type, value_type::boolean);
    EXPECT_EQ(e[3].text, "false");
    EXPECT_EQ(e[3].line, 7);
}

TEST(ConfigTomlRead, NumbersExactlyAsWrittenAlsoBeyondInt64AndDouble) {
    // toml++ holds int64 and double; a seed is uint64, and "out of range" is the setting's to say.
    const auto e = toml::read("seed = 18446744073709551615\nbig = -99999999999999999999\n"
                              "huge = 1e309\nplus = +9\ntiny = 1e-400\n"
                              "list = [18446744073709551615, 1e400,2]\n",
                              "f");
    ASSERT_EQ(e.size(), 6u);
    EXPECT_EQ(e[0].type, value_type::integer);
    EXPECT_EQ(e[0].text, "18446744073709551615");
    EXPECT_EQ(e[1].type, value_type::integer);
    EXPECT_EQ(e[1].text, "-99999999999999999999");
    EXPECT_EQ(e[2].type, value_type::floating);
    EXPECT_EQ(e[2].text, "1e309");
    EXPECT_EQ(e[3].text, "+9");
    EXPECT_EQ(e[4].text, "1e-400");
    ASSERT_EQ(e[5].items.size(), 3u);
    EXPECT_EQ(e[5].items[0].type, value_type::integer);
    EXPECT_EQ(e[5].items[1].type, value_type::floating);
    EXPECT_EQ(texts(e[5].items), (std::vector<std::string>{"18446744073709551615", "1e400", "2"}));
}

TEST(ConfigTomlRead, ArraysComeBackWithTheirItems) {
    const auto e = toml::read("a = [1, 2.5, \"s\", true, [3], {x = 1}]\nb = []\n"
                              "c = [\n  \"p\", # the first\n  \"q\",\n]\nd = 1979-05-27\n",
                              "f");
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0].type, value_type::array);
    EXPECT_EQ(e[0].text, "[1, 2.5, \"s\", true, [3], {x = 1}]");
    ASSERT_EQ(e[0].items.size(), 6u);
    const value_type types[] = {value_type::integer, value_type::floating,
                                value_type::string,  value_type::boolean,
                                value_type::array,   value_type::inline_table};
    for (std::size_t i = 0; i < 6; ++i)
        EXPECT_EQ(e[0].items[i].type, types[i]) << i;
    EXPECT_EQ(texts(e[0].items),
              (std::vector<std::string>{"1", "2.5", "s", "true", "[3]", "{x = 1}"}));
    EXPECT_EQ(e[1].type, value_type::array);
    EXPECT_TRUE(e[1].items.empty());
    EXPECT_EQ(texts(e[2].items), (std::vector<std::string>{"p", "q"}));
    EXPECT_EQ(e[2].line, 3);
    EXPECT_EQ(e[2].text, "[ \"p\", # the first \"q\", ]"); // on one line, for messages
    EXPECT_EQ(e[3].type, value_type::date);
    EXPECT_EQ(e[3].key, "d");
    EXPECT_EQ(e[3].line, 7);
}

TEST(ConfigTomlRead, TheDialectHoldsInsideArraysToo) {
    EXPECT_EQ(
        error_of("a = [1, 1_0]\n"),
        "f line 1: '1_0' is not a valid value for key 'a' (write numbers without underscores)");
    EXPECT_EQ(error_of("a = [\n  'x',\n]\n"),
              "f line 2: literal strings ('...') are not supported: use double quotes");
    EXPECT_EQ(error_of("a = [\"\"\"x\"\"\"]\n"), "f line 1: multi-line strings are not supported");
    EXPECT_EQ(error_of("a = [1, abc]\n"),
              "f line 1: 'abc' is not a valid value for key 'a' (strings need double quotes)");
    EXPECT_EQ(error_of("a = [1,\n  abc]\n"),
              "f line 2: 'abc' is not a valid value (strings need double quotes)");
    EXPECT_EQ(error_of("a = [1,\n  2\n"), "f line 2: array: encountered end-of-file");
}

TEST(ConfigTomlRead, MoreRefusalsNameTheirLine) {
    EXPECT_EQ(error_of("a = 1\nb = 2\na = 3\n"),
              "f line 3: duplicate key 'a' (first given on line 1)");
    EXPECT_EQ(error_of("[fireflies]\na = 1\n\na = 3\n"),
              "f line 4: duplicate key 'a' (first given on line 2)");
    EXPECT_EQ(error_of("[a]\n[a]\n"), "f line 2: table [a] defined twice");
    EXPECT_EQ(error_of("[\"fireflies\"]\n"),
              "f line 1: quoted keys are not supported: write the key bare, e.g. period = 5.0");
    EXPECT_EQ(error_of("a = \"x\" \"y\"\n"), "f line 1: unexpected '\"y\"' after the value of 'a'");
    EXPECT_EQ(error_of("a = \"x\\e\"\n"),
              "f line 1: string: escape sequence '\\e' is not supported in TOML 1.0.0 and earlier");
    // toml++ 3.3 alone reaches undefined behaviour on these (see src/config/toml.cpp).
    EXPECT_EQ(error_of("width = 3\xC3\xA9\n"),
              "f line 1: '3\xC3\xA9' is not a valid value for key 'width' (expected digit, saw "
              "'\xC3\xA9')");
    EXPECT_EQ(error_of("\xCC\xAA"), "f line 1: expected a key, found '\xCC\xAA'");
    EXPECT_EQ(error_of("a = \"x\" \xC2\xA7\n"),
              "f line 1: unexpected '\xC2\xA7' after the value of 'a'");
    EXPECT_EQ(error_of("a = \"x\\\n"), "f line 1: unterminated string (a string must close on its "
                                       "own line)");
}

TEST(ConfigTomlRead, CommentsMayHoldAnyByteAsBefore) {
    // TOML forbids control characters in comments; the reader always took them, and still does.
    const char raw[] = "# \x01\x7f\xff\xfe\n[fireflies] # \0 \r tail\nwidth = 3 # \x1b[0m\r\n";
    const std::string text(raw, sizeof raw - 1);
    const auto e = toml::read(text, "f");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].key, "width");
    EXPECT_EQ(e[0].text, "3");
    EXPECT_EQ(e[0].line, 3);
    // The last line may end in a carriage return alone.
    EXPECT_EQ(toml::read("width = 3\r", "f").at(0).text, "3");
    // Outside comments, control characters are still refused.
    EXPECT_NE(error_of("width = 3\x01\n"), "<no error>");
}

TEST(ConfigTomlRead, BytesThatAreNotUtf8TravelThroughStrings) {
    const auto e = toml::read("output = \"caf\xe9 \xff\xfe\\t\xC3\xA9.h5\" # \xff\n", "f");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].text, "caf\xe9 \xff\xfe\t\xC3\xA9.h5");
    // The private-use characters that carry them are read as themselves in a UTF-8 file...
    EXPECT_EQ(toml::read("output = \"\xF4\x8F\xBA\x80\\U0010FEFF\"\n", "f").at(0).text,
              "\xF4\x8F\xBA\x80\xF4\x8F\xBB\xBF");
    // ...and in a file that also has bytes that are not UTF-8, where the same block carries
    // those bytes, too; only an escape of one of them is refused there, rather than misread.
    EXPECT_EQ(
        toml::read("a = \"\xff\xF4\x8F\xBA\x80\xF4\x8F\xB8\x80\\\\U0010FE80\"\n", "f").at(0).text,
        "\xff\xF4\x8F\xBA\x80\xF4\x8F\xB8\x80\\U0010FE80");
    EXPECT_EQ(error_of("a = \"\xff\"\nb = \"x\\U0010FE80\"\n"),
              "f line 2: escapes \\U0010FE00..\\U0010FEFF cannot be read in a file that has bytes "
              "that are not UTF-8 (those characters carry the bytes)");
    // Elsewhere such a byte is refused as before.
    EXPECT_EQ(error_of("a = \xff\n"),
              "f line 1: '\xff' is not a valid value for key 'a' (strings need double quotes)");
}

TEST(ConfigToml, RoundTripsPathsThatAreNotUtf8) {
    // A path from the command line is any bytes; to_toml writes them as they are (the checkpoint
    // and the ranks other than 0 read the settings back from that text).
    run_config c;
    c.output = "\xff\xfe/caf\xe9\x80\xC3\xA9.h5";
    c.checkpoint = "ck\xC0\xAF.h5"; // an overlong '/', not UTF-8 either
    c.restart = "\xff \\U0010FE80 \xF4\x8F\xBA\x80 \xF4\x8F\xB8\x80"; // the carriers' own block
    EXPECT_EQ(from_toml(to_toml(c)), c) << to_toml(c);
}

// ---- a list setting takes an array ----------------------------------------------------------

std::vector<std::string> received;

std::string take_list(run_config&, std::span<const std::string> items) {
    received.assign(items.begin(), items.end());
    return items.size() > 4 ? "at most 4 elements" : "";
}
std::string write_nothing(const run_config&) {
    return "[]";
}
bool always_same(const run_config&, const run_config&) {
    return true;
}

/// A list of numbers and a list of paths, as a future `--pacemaker X,Y` might be.
// clang-format off
const setting numbers{"pacemaker", "Model", "X", "cells", "a list", "", value_kind::number,
                      on_restart::must_match, nullptr, write_nothing, always_same, '\0', take_list};
const setting paths{"inputs", "Run", "PATH", "paths", "a list", "", value_kind::path,
                    on_restart::may_differ, nullptr, write_nothing, always_same, '\0', take_list};
// clang-format on

/// What `s` says to the file's only entry ("" when it took it).
std::string give(const setting& s, std::string_view text) {
    const auto entries = toml::read(text, "f");
    EXPECT_EQ(entries.size(), 1u);
    run_config c;
    received = {"untouched"};
    return read_entry(s, c, entries.at(0));
}

TEST(ConfigListSetting, TakesAnArrayOfItsElements) {
    EXPECT_EQ(give(numbers, "pacemaker = [1, 2.5, -3e0, 18446744073709551616]\n"), "");
    EXPECT_EQ(received, (std::vector<std::string>{"1", "2.5", "-3e0", "18446744073709551616"}));
    EXPECT_EQ(give(numbers, "pacemaker = []\n"), "");
    EXPECT_TRUE(received.empty());
    EXPECT_EQ(give(numbers, "pacemaker = [\n  1,  # the first\n  2,\n]\n"), "");
    EXPECT_EQ(received, (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(give(paths, "[fireflies]\ninputs = [\"a.h5\", \"b \\\"c\\\".h5\"]\n"), "");
    EXPECT_EQ(received, (std::vector<std::string>{"a.h5", "b \"c\".h5"}));
}

TEST(ConfigListSetting, RefusesWhatIsNotAnArrayOfItsElements) {
    EXPECT_EQ(give(numbers, "pacemaker = 3\n"), "3 is an integer, expected an array of numbers");
    EXPECT_EQ(give(paths, "inputs = \"a.h5\"\n"),
              "\"a.h5\" is a string, expected an array of strings in double quotes");
    EXPECT_EQ(give(numbers, "pacemaker = [1, \"x\"]\n"),
              "element \"x\" of [1, \"x\"] is a string, expected a number");
    EXPECT_EQ(give(numbers, "pacemaker = [[1, 2]]\n"),
              "element [1, 2] of [[1, 2]] is an array, expected a number");
    EXPECT_EQ(
        give(paths, "inputs = [{a = 1}]\n"),
        "element {a = 1} of [{a = 1}] is an inline table, expected a string in double quotes");
    EXPECT_EQ(received, (std::vector<std::string>{"untouched"})); // refused before it was read
    // The setting's own refusal comes back as it is.
    EXPECT_EQ(give(numbers, "pacemaker = [1, 2, 3, 4, 5]\n"), "at most 4 elements");
}

TEST(ConfigListSetting, AScalarSettingRefusesAnArray) {
    const setting* width = find_setting("width");
    ASSERT_NE(width, nullptr);
    EXPECT_EQ(give(*width, "width = [7]\n"), "[7] is an array, expected an integer");
    run_config c;
    EXPECT_EQ(read_entry(*width, c, toml::read("width = 7\n", "f").at(0)), "");
    EXPECT_EQ(c.width, 7);
}

} // namespace
} // namespace fireflies::config
