// The output folder, written all or nothing: files are first written into a staging folder inside
// it, then renamed into place one by one once every file exists. A run that fails (or is
// interrupted before commit) leaves the folder as it was, and removes the folder itself if this
// run created it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moons {

class OutputDir {
 public:
  /// Creates `dir` (and missing parents) and a staging folder inside it. Throws
  /// std::runtime_error with a message naming the folder and the reason if either fails, so an
  /// unwritable destination is reported before any training time is spent.
  explicit OutputDir(std::filesystem::path dir);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  /// Writes a staged file atomically (viz::write_file_atomic).
  void write(const std::string& name, std::string_view content);
  /// Where a file that some other writer saves (e.g. a checkpoint) should go; it is then
  /// committed with the rest. Call add() after writing it.
  std::filesystem::path staged_path(const std::string& name) const;
  void add(const std::string& name);

  /// Moves every staged file into the folder and removes the staging folder.
  void commit();

  const std::filesystem::path& dir() const { return dir_; }
  /// (name, size in bytes) of every committed file, in the order they were added.
  const std::vector<std::pair<std::string, std::uintmax_t>>& committed() const { return done_; }

 private:
  void discard() noexcept;
  std::filesystem::path dir_, staging_;
  std::vector<std::filesystem::path> created_;  // folders this run created, innermost last
  std::vector<std::string> names_;
  std::vector<std::pair<std::string, std::uintmax_t>> done_;
  bool committed_ = false;
};

}  // namespace moons
