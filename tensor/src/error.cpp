// IoError's message: operation, path, and the OS's reason for an errno.
#include "affine/tensor/error.hpp"

#include <system_error>

namespace affine {

IoError::IoError(const std::string& op, const std::string& path, const std::string& reason, int err)
    : Error(op + ": '" + path + "': " + reason), path_(path), errno_(err) {}

IoError::IoError(const std::string& op, const std::string& path, int err)
    : IoError(op, path, std::generic_category().message(err), err) {}

}  // namespace affine
