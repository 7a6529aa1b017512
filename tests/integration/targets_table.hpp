// Reading `rollback targets` output in tests: the VERIFIES column of a target's row, and the
// same verdicts from --json.
#pragma once

#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace targetstest {

// "yes", "NO", or "" when no row names the target. Columns: TARGET AGE SIZE VERIFIES DETAIL
// (the picker's table has a leading "#").
inline std::string verdict(const std::string& table, const std::string& target) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string word, previous;
    std::vector<std::string> all;
    while (words >> word) all.push_back(word);
    for (size_t i = 0; i + 3 < all.size(); ++i)
      if (all[i] == target) return all[i + 3];
  }
  return "";
}

// The row's whole line ("" when absent): for the reason in DETAIL.
inline std::string row(const std::string& table, const std::string& target) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line))
    if (line.find(target + " ") != std::string::npos) return line;
  return "";
}

// name -> verifies, from `targets --json`.
inline std::map<std::string, bool> json_verdicts(const std::string& out) {
  std::map<std::string, bool> verdicts;
  auto doc = nlohmann::json::parse(out, nullptr, false);
  if (!doc.is_array()) return verdicts;
  for (const auto& t : doc) verdicts[t.value("name", "")] = t.value("verifies", false);
  return verdicts;
}

}  // namespace targetstest
