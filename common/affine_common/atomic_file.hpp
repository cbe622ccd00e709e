// Internal (not installed): the one way affine writes a file, shared by every writer (npy,
// safetensors, viz, the moons example). Header-only so viz can use it without depending on the
// tensor library.
//
// The protocol: a uniquely named temporary file in the target's own folder (so the rename stays in
// one file system), every byte written, fsync'ed, closed, renamed over the target, and the folder
// fsync'ed so the rename itself survives a power loss. A reader sees the old file or the new one,
// never a partial one; on any failure the temporary is removed and the target is untouched.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace affine::common {

/// What went wrong in write_file_atomic: the step and its errno (err == 0: success).
struct AtomicWriteStatus {
  int err = 0;
  const char* step = "";  ///< "create a temporary file", "write", "fsync", "rename", ...
  explicit operator bool() const { return err != 0; }  ///< true on failure
};

/// Writes the concatenation of pieces to path atomically (see the file comment). Never throws:
/// callers turn a failure into their own exception type.
inline AtomicWriteStatus write_file_atomic(const std::filesystem::path& path,
                                           const std::vector<std::string_view>& pieces) noexcept {
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  try {
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    // Hidden, and unique per process and call, so concurrent writers never share a temporary.
    std::string name = ".";
    name += path.filename().string();
    name += ".tmp";
    name += std::to_string(::getpid());
    name += '-';
    name += std::to_string(counter.fetch_add(1));
    tmp = (dir / name).string();
  } catch (...) {
    return {ENOMEM, "name a temporary file"};
  }
  // O_EXCL rather than mkstemp: mkstemp's 0600 mode would survive the rename, while 0666 lets the
  // user's umask decide, as for any other file the program writes.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return {errno, "create a temporary file"};
  auto abandon = [&](int err, const char* step, bool close_fd) {
    if (close_fd) ::close(fd);
    ::unlink(tmp.c_str());
    return AtomicWriteStatus{err, step};
  };
  for (std::string_view piece : pieces) {
    const char* p = piece.data();
    size_t left = piece.size();
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return abandon(n < 0 ? errno : EIO, "write", true);
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0) return abandon(errno, "fsync", true);
  if (::close(fd) != 0) return abandon(errno, "close", false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return abandon(errno, "rename", false);
  // The rename is durable once the folder's entry is on disk. Failing to open the folder for that
  // (some file systems refuse O_RDONLY on directories) does not undo a finished write.
  std::string dir_name;
  try {
    dir_name = path.has_parent_path() ? path.parent_path().string() : std::string(".");
  } catch (...) {
    return {};
  }
  const int dfd = ::open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    if (rc != 0 && err != EINVAL && err != EROFS) return {err, "fsync the folder"};
  }
  return {};
}

}  // namespace affine::common
