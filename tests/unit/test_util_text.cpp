#include <catch2/catch.hpp>

#include <rollback/util/text.hpp>

using namespace rollback;

TEST_CASE("did-you-mean suggests only close names", "[util]") {
  std::vector<std::string> keys = {"steps", "vars", "secrets", "target", "version"};
  CHECK(did_you_mean("stpes", keys) == "steps");  // a transposition is one edit
  CHECK(did_you_mean("secret", keys) == "secrets");
  CHECK(did_you_mean("verison", keys) == "version");
  CHECK(did_you_mean("xyz", keys) == "");
  CHECK(did_you_mean("monitoring", keys) == "");
}

TEST_CASE("trim removes surrounding whitespace of every kind and keeps the inside", "[util]") {
  CHECK(trim("  a b \t\r\n") == "a b");
  CHECK(trim("") == "");
  CHECK(trim(" \n ") == "");
  CHECK(nonempty_lines("a\n\n  b  \n\n") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("escape_controls makes C0 and C1 controls visible and keeps newline, tab and UTF-8", "[util]") {
  CHECK(escape_controls("plain\ttext\nnext") == "plain\ttext\nnext");
  CHECK(escape_controls("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  CHECK(escape_controls("\x1b]0;owned\x07title") == "\\x1b]0;owned\\x07title");
  CHECK(escape_controls("a\rb\r\nc") == "a\\x0db\nc");
  CHECK(escape_controls(std::string("nul\0del\x7f", 8)) == "nul\\x00del\\x7f");
  CHECK(escape_controls("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");  // é ✓ stay
  CHECK(escape_controls("csi\xc2\x9b" "2J") == "csi\\xc2\\x9b2J");                   // U+009B, C1 CSI
  CHECK(escape_controls("raw\x9b" "2J") == "raw\\x9b2J");                             // not UTF-8
  auto once = escape_controls("\x1b[2J\x07\x9b");
  CHECK(escape_controls(once) == once);
  CHECK(once.find('\x1b') == std::string::npos);
}

TEST_CASE("cap_line_length cuts long lines on a character boundary with a marker", "[util]") {
  CHECK(cap_line_length("short\nlines", 10) == "short\nlines");
  CHECK(cap_line_length(std::string(12, 'a') + "\nb\n", 10) == std::string(10, 'a') + " [... 2 bytes cut]\nb\n");
  CHECK(cap_line_length("aaaaaaaaa\xc3\xa9z", 10) == "aaaaaaaaa [... 3 bytes cut]");
}
