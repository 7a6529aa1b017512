// A small real filesystem (tmpfs of a given size, mounted for the scope of a test) to show
// that backups refuse to start when they would not fit. Needs root and CAP_SYS_ADMIN, as in
// CI; elsewhere the test is skipped, never faked.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"

namespace testing {

class SmallDisk {
 public:
  explicit SmallDisk(const std::filesystem::path& where, const std::string& size) : path_(where) {
    std::filesystem::create_directories(path_);
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size + ",mode=0755").c_str()) != 0)
      skip("cannot mount a tmpfs to fill (" + std::string(std::strerror(errno)) + "); needs root");
  }
  ~SmallDisk() { ::umount2(path_.c_str(), MNT_DETACH); }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace testing
