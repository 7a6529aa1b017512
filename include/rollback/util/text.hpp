// Small text helpers every layer needs; one definition each.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rollback {

// `text` without leading and trailing whitespace (spaces, tabs, CR, LF, VT, FF). A copy,
// so trimming a temporary (`trim(out + err)`) can never leave a dangling view.
std::string trim(std::string_view text);

// A finite decimal number filling all of `text` (spaces around allowed): "12.5", "-3",
// "1e3"; nullopt for "", "12abc", "nan".
std::optional<double> parse_number(std::string_view text);
// "12.34%" -> 12.34 (spaces allowed); nullopt without the '%' or for a bad number.
std::optional<double> parse_percent(std::string_view text);

// The non-empty trimmed lines of `text`.
std::vector<std::string> nonempty_lines(std::string_view text);

// `pattern` with each "{}" replaced by the next of `args`, in order (a "{}" beyond them
// becomes ""). The string tables of report/ and the phrases actions say hold whole
// sentences with these placeholders, so a language can order its words its own way.
std::string fill_placeholders(std::string_view pattern, const std::vector<std::string>& args);

// The closest of `candidates` to `word` by edit distance, or "" when none is close enough
// to be a likely typo ("histroy" -> "history", "latncy" -> "latency").
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// `text` safe to show in a terminal or a Markdown file: every C0 control byte but newline
// and tab, DEL, and every C1 control (U+0080..U+009F, and any byte that is not part of a
// valid UTF-8 sequence) written as a visible \xNN; "\r\n" becomes "\n". Idempotent: what
// it writes is printable ASCII, so running it twice changes nothing.
std::string escape_controls(std::string_view text);

// `text` with every line longer than `max_bytes` cut there (on a UTF-8 character boundary)
// and ended with " [... N bytes cut]".
std::string cap_line_length(std::string_view text, size_t max_bytes);

}  // namespace rollback
