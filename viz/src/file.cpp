#include "affine/viz/file.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "affine_common/atomic_file.hpp"

namespace affine::viz {

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  // The protocol shared by every affine writer: temporary file in the same folder, fsync, rename,
  // fsync of the folder.
  const common::AtomicWriteStatus st = common::write_file_atomic(path, {content});
  if (st) {
    throw std::runtime_error("cannot write '" + path.string() + "': " + st.step +
                             " failed: " + std::strerror(st.err));
  }
}

}  // namespace affine::viz
