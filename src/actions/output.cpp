#include <rollback/util/text.hpp>
#include <rollback/actions/output.hpp>

#include <vector>

#include <rollback/util/redact.hpp>

namespace rollback::actions {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string tail_lines(std::string_view text, size_t max_lines) {
  auto lines = lines_of(text);
  size_t start = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = start; i < lines.size(); ++i) {
    out += lines[i];
    out.push_back('\n');
  }
  return out;
}

}  // namespace

std::string output_excerpt(const proc::Completed& done, size_t max_lines) {
  std::string out;
  if (!done.err.empty()) out += tail_lines(done.err, max_lines / 2);
  if (!done.out.empty()) out += tail_lines(done.out, max_lines - max_lines / 2);
  return redact(out);
}

std::string telling_error_line(const proc::Completed& done) {
  // What names the cause, in the order docker and compose word it; their last line is often
  // only "Encountered errors while bringing up the project."
  static const char* kCauses[] = {"port is already allocated", "address already in use", "Error response from daemon",
                                  "Cannot start service", "ERROR: for ", "no such image", "pull access denied"};
  for (const char* cause : kCauses)
    for (const auto* stream : {&done.err, &done.out})
      for (const auto& line : lines_of(*stream))
        if (line.find(cause) != std::string::npos) return redact(trim(line));
  return last_error_line(done);
}

std::string last_error_line(const proc::Completed& done) {
  for (const auto* stream : {&done.err, &done.out}) {
    auto lines = lines_of(*stream);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      auto line = trim(*it);
      if (!line.empty()) return redact(std::string(line));
    }
  }
  return {};
}

}  // namespace rollback::actions
