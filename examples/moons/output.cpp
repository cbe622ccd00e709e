#include "output.hpp"

#include <stdexcept>
#include <system_error>

#include <unistd.h>

#include <affine/viz/file.hpp>

namespace moons {
namespace fs = std::filesystem;

namespace {
[[noreturn]] void fail(const fs::path& dir, const std::string& what, const std::error_code& ec) {
  throw std::runtime_error("cannot write to output folder '" + dir.string() + "': " + what +
                           (ec ? ": " + ec.message() : std::string()));
}
}  // namespace

OutputDir::OutputDir(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  // Create the missing folders one by one, remembering them so a failed run can remove them.
  std::vector<fs::path> missing;
  for (fs::path p = fs::absolute(dir_, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec) && ec) {
      discard();
      fail(dir_, "cannot create '" + it->string() + "'", ec);
    }
    created_.push_back(*it);
  }
  if (!fs::is_directory(dir_, ec)) fail(dir_, "it exists and is not a folder", ec);
  staging_ = dir_ / (".moons-staging-" + std::to_string(::getpid()));
  fs::remove_all(staging_, ec);
  if (!fs::create_directory(staging_, ec) || ec) {
    const std::error_code err = ec;
    discard();
    fail(dir_, "cannot create a file in it", err);
  }
}

OutputDir::~OutputDir() {
  if (!committed_) discard();
}

void OutputDir::write(const std::string& name, std::string_view content) {
  affine::viz::write_file_atomic(staging_ / name, content);
  add(name);
}

fs::path OutputDir::staged_path(const std::string& name) const { return staging_ / name; }

void OutputDir::add(const std::string& name) { names_.push_back(name); }

void OutputDir::commit() {
  std::error_code ec;
  for (const auto& name : names_) {
    const std::uintmax_t size = fs::file_size(staging_ / name, ec);
    fs::rename(staging_ / name, dir_ / name, ec);
    if (ec) fail(dir_, "cannot move '" + name + "' into place", ec);
    done_.emplace_back(name, size);
  }
  fs::remove_all(staging_, ec);
  committed_ = true;
}

void OutputDir::discard() noexcept {
  std::error_code ec;
  if (!staging_.empty()) fs::remove_all(staging_, ec);
  // Remove the folders this run created, innermost first, only if they are empty.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) fs::remove(*it, ec);
}

}  // namespace moons
