// Writing output files so that a reader never sees a half-written one.
#pragma once

#include <filesystem>
#include <string_view>

namespace affine::viz {

// Writes `content` to a temporary file in the same directory as `path`, fsyncs it, renames it
// over `path` (atomic on POSIX file systems) and fsyncs the directory, so the new file survives a
// power loss once this returns. On any failure the temporary is removed and
// std::runtime_error names the path and the system's reason; `path` is then left untouched.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace affine::viz
