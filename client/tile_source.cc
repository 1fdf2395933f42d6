#include "client/tile_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace vigil::client {
namespace {

absl::Status CheckRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile path \"%s\" is not relative", path));
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return absl::InvalidArgumentError(
          absl::StrFormat("tile path \"%s\" has a bad segment", path));
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> DirectoryTileSource::Fetch(std::string_view path) {
  if (absl::Status s = CheckRelativePath(path); !s.ok()) return s;
  const std::filesystem::path file = root_ / std::filesystem::path(path);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(
          absl::StrFormat("%s: no such file", file.string()));
    }
    return absl::UnavailableError(
        absl::StrFormat("%s: %s", file.string(), std::strerror(err)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(
        absl::StrFormat("%s: read failed", file.string()));
  }
  return content.str();
}

}  // namespace vigil::client
