// The exception types of affine. Every message names the operation and prints the shapes or
// values involved, e.g. "add: shapes [3, 4] and [2, 4] cannot be broadcast (dimension 0: 3 vs 2)".
//
// Catch affine::Error to handle everything affine throws for a user's mistake or the
// environment's failure. Two refinements say which it was:
//   ValueError  a bad argument (shape, dtype, index, option, malformed file contents);
//   IoError     a file or operating-system failure (path + the OS's reason, errno preserved).
// Code that throws plain Error (most of the library, written before the refinements) means a
// bad argument too; new code throws the refinement.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

#include "affine/tensor/export.hpp"

namespace affine {

/// Thrown for every error a user can cause: bad shapes, dtypes, indices, files, arguments.
class AFFINE_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A bad argument or malformed input (Python's ValueError).
class AFFINE_API ValueError : public Error {
 public:
  using Error::Error;
};

/// A file or operating-system failure: what() is "<op>: '<path>': <reason>" with the OS's reason
/// (strerror of the errno, when there is one).
class AFFINE_API IoError : public Error {
 public:
  /// what: "<op>: '<path>': <reason>"; err is the errno (0 when the failure has no errno).
  IoError(const std::string& op, const std::string& path, const std::string& reason, int err = 0);
  /// Same, with the reason taken from err's strerror.
  IoError(const std::string& op, const std::string& path, int err);
  /// The file the operation failed on.
  const std::string& path() const noexcept { return path_; }
  /// The errno of the failure (0 when there was none, e.g. a short read at end of file).
  int error_code() const noexcept { return errno_; }

 private:
  std::string path_;
  int errno_;
};

}  // namespace affine
