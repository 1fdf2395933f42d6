// Where a reader gets a tlog-tiles log's resources from: the checkpoint,
// hash tiles and entry bundles, by their c2sp.org/tlog-tiles paths.
//
// Thread-safety: implementations document their own.

#ifndef VIGIL_CLIENT_TILE_SOURCE_H_
#define VIGIL_CLIENT_TILE_SOURCE_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vigil::client {

class TileSource {
 public:
  virtual ~TileSource() = default;

  // The bytes of the resource at `path` ("checkpoint", "tile/0/x001/234",
  // "tile/entries/000.p/7"). NOT_FOUND if the log has no such resource;
  // UNAVAILABLE or DATA_LOSS if it could not be read.
  virtual absl::StatusOr<std::string> Fetch(std::string_view path) = 0;
};

// A log exported as static files under a directory, as a web server would
// serve it.
//
// Thread-safety: safe for concurrent use (it holds no mutable state).
class DirectoryTileSource final : public TileSource {
 public:
  explicit DirectoryTileSource(std::filesystem::path root)
      : root_(std::move(root)) {}

  // INVALID_ARGUMENT for a path that is empty, absolute, or has an empty,
  // "." or ".." segment, so a caller cannot be led outside the directory.
  absl::StatusOr<std::string> Fetch(std::string_view path) override;

 private:
  std::filesystem::path root_;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_TILE_SOURCE_H_
