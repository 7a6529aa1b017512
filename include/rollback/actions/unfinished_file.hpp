// A file an action writes under a temporary name beside its final one (an archive, a
// dump), renamed into place only when complete and checked. Until then it is a held
// resource: the action removes it on failure, and a run killed in between leaves it in the
// journal, where the next run's cleanup finds it. SHA256SUMS never lists such a file
// (util/fs.hpp, is_unfinished_file).
#pragma once

#include <filesystem>

#include <rollback/actions/action.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions {

class UnfinishedFile {
 public:
  UnfinishedFile(ActionContext& ctx, std::filesystem::path final_path);
  ~UnfinishedFile();  // removes the file unless committed
  UnfinishedFile(const UnfinishedFile&) = delete;
  UnfinishedFile& operator=(const UnfinishedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }  // ".<name>.partial-<pid>" beside the final
  const std::filesystem::path& final_path() const { return final_; }
  // Renames it into place, syncs the directory, and lets go of it.
  Status commit();

 private:
  ActionContext& ctx_;
  std::filesystem::path final_, path_;
  nlohmann::json resource_;
  bool done_ = false;
};

// The cleanup of actions that write unfinished files: removes every held one.
void remove_held_files(CleanupContext& ctx);

}  // namespace rollback::actions
