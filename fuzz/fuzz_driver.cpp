#include "fuzz_driver.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Fragments that matter to the plan grammar: mutations splice them in so that random
// inputs reach interpolation, durations, flow/block YAML and anchors, not only the parser.
const std::vector<std::string> kTokens = {
    "${", "}", "$${", "${env.", "${secrets.", "${run.id}", "${target.path}", ":", ": ", "\n",
    "\n  ", "\n- ", "- ", "[", "]", "{", "}", ",", "\"", "'", "&a ", "*a", "<<: ", "!!str ",
    "id: ", "action: ", "with: ", "steps:\n", "vars:\n", "retry: ", "until: ", "every: ",
    "timeout: ", "duration: ", "1s", "10m", "0ms", "-1s", "99999999999h", "argv: ", "shell: ",
    "when: ", "exec.run", "fs.remove", "wait.sleep", "path: /", "\t", "#", "|\n", ">\n", "\xff",
    std::string("\0", 1), "~", "null", "true"};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string s, const std::vector<std::string>& corpus) {
    int rounds = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < rounds; ++i) {
      size_t pos = s.empty() ? 0 : pick(s.size() + 1);
      switch (pick(7)) {
        case 0:  // flip a bit
          if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
          break;
        case 1:  // random byte
          s.insert(pos, 1, static_cast<char>(pick(256)));
          break;
        case 2:  // delete a range
          if (!s.empty()) s.erase(pick(s.size()), 1 + pick(16));
          break;
        case 3:
        case 4:  // grammar token
          s.insert(pos, kTokens[pick(kTokens.size())]);
          break;
        case 5: {  // splice from another input
          const auto& other = corpus[pick(corpus.size())];
          if (other.empty()) break;
          size_t from = pick(other.size());
          s.insert(pos, other.substr(from, 1 + pick(64)));
          break;
        }
        case 6:  // duplicate a range (repeated keys, deep nesting)
          if (!s.empty()) {
            size_t from = pick(s.size());
            s.insert(pos, s.substr(from, 1 + pick(32)));
          }
          break;
      }
    }
    if (s.size() > 64 * 1024) s.resize(64 * 1024);
    return s;
  }

 private:
  size_t pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937_64 rng_;
};

// Writes the input before running it so that a crash (which kills the process) leaves it.
void keep(const std::string& prefix, const std::string& input) {
  if (prefix.empty()) return;
  std::ofstream out(prefix + "current-input", std::ios::binary | std::ios::trunc);
  out << input;
}

void run_one(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  double max_seconds = 0;
  uint64_t seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::string prefix;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("-max_total_time=")) max_seconds = std::stod(arg.substr(16));
    else if (arg.starts_with("-seed=")) seed = std::stoull(arg.substr(6));
    else if (arg.starts_with("-artifact_prefix=")) prefix = arg.substr(17);
    else if (fs::is_directory(arg)) {
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) corpus.push_back(read_file(e.path()));
    } else {
      corpus.push_back(read_file(arg));
    }
  }
  if (corpus.empty()) corpus.push_back("");

  // Seeds first, exactly as given: this is also how a saved crash input is replayed.
  uint64_t runs = 0;
  for (const auto& input : corpus) {
    keep(prefix, input);
    run_one(input);
    ++runs;
  }
  if (max_seconds <= 0) {
    std::printf("replayed %llu inputs, no crash\n", static_cast<unsigned long long>(runs));
    return 0;
  }

  Mutator mutator(seed);
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::vector<std::string> pool = corpus;  // grows with mutants so mutations compound
  while (elapsed() < max_seconds) {
    for (int batch = 0; batch < 256; ++batch) {
      std::string input = mutator.mutate(pool[runs % pool.size()], pool);
      keep(prefix, input);
      run_one(input);
      ++runs;
      if (pool.size() < 4096 && (runs % 7) == 0) pool.push_back(std::move(input));
    }
  }
  std::printf("stat::number_of_executed_units: %llu\nstat::seconds: %.0f\nstat::seed: %llu\n",
              static_cast<unsigned long long>(runs), elapsed(), static_cast<unsigned long long>(seed));
  return 0;
}
