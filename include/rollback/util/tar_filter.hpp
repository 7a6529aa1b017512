// A tar stream filtered as it passes through, for a restore that gives back data, not
// devices: device nodes and FIFOs are dropped (with the pax and GNU long-name headers that
// describe them, and hard links to them), setuid and setgid are cleared from every other
// entry's mode (its header checksum recomputed). Everything else goes out byte for byte,
// in spans of the input as large as the input's chunks: no copy of file contents.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <rollback/util/archive.hpp>

namespace rollback {

// A tar header's number field: octal (spaces and NULs around it), or GNU's base-256 when
// the top bit is set; nullopt when it holds anything else. The filter and TarChecker
// (archive.hpp) both read headers with it (defined in tar_check.cpp).
std::optional<std::uint64_t> tar_number_field(const unsigned char* field, size_t width);

struct TarFilterPolicy {
  bool drop_special = true;  // device nodes ('3', '4') and FIFOs ('6')
  bool clear_setid = true;   // mode bits 04000 and 02000
};

class TarFilter {
 public:
  // `out` receives the filtered stream; its error stops feed().
  explicit TarFilter(Sink out, TarFilterPolicy policy = {});
  Status feed(std::string_view data);
  // Hands on whatever an incomplete stream left held (the checker beside it says it is cut).
  Status finish();
  std::uint64_t dropped() const { return dropped_; }  // entries left out
  std::uint64_t cleared() const { return cleared_; }  // entries whose setuid/setgid went

 private:
  enum class Content { Pass, Hold, Drop };
  enum class Verdict { Pass, Changed, Hold, Drop };
  Verdict header(unsigned char* block);
  void end_of_meta();
  Sink out_;
  TarFilterPolicy policy_;
  std::string pending_;       // an incomplete 512-byte block
  std::string held_;          // pax 'x' and GNU 'L'/'K' records waiting for their entry
  std::uint64_t remaining_ = 0;  // content bytes (padded) of the current entry still to pass
  Content content_ = Content::Pass;
  char meta_type_ = 0;        // the held record being read
  std::uint64_t meta_size_ = 0, meta_start_ = 0;
  std::string long_name_, long_link_;  // from the held records, for the entry they precede
  std::set<std::string> dropped_names_;  // hard links to them are dropped too
  int zero_blocks_ = 0;
  bool trailer_ = false;      // after the end-of-archive marker: passed as it is
  std::uint64_t dropped_ = 0, cleared_ = 0;
};

}  // namespace rollback
