#include "server/http_server.h"

#include <httplib.h>

#include <utility>

#include "absl/numeric/int128.h"
#include "absl/strings/str_format.h"
#include "merkle/tiles.h"

namespace vigil::server {
namespace {

constexpr std::string_view kCheckpointType = "text/plain; charset=utf-8";
constexpr std::string_view kTileType = "application/octet-stream";
constexpr std::string_view kErrorType = "text/plain; charset=utf-8";
// Tile and bundle paths name immutable bytes.
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
// The checkpoint changes every checkpoint interval.
constexpr std::string_view kNoCache = "no-cache";
// An error now may be a resource later (the tree grows).
constexpr std::string_view kNoStore = "no-store";

std::string StatusText(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

TlogResponse Error(int status, const std::string& message) {
  return TlogResponse{status, std::string(kErrorType), std::string(kNoStore),
                      absl::StrFormat("%s\n", message)};
}

TlogResponse FromRead(const absl::StatusOr<std::string>& read) {
  if (read.ok()) {
    return TlogResponse{200, std::string(kTileType), std::string(kImmutable),
                        *read};
  }
  if (read.status().code() == absl::StatusCode::kNotFound ||
      read.status().code() == absl::StatusCode::kOutOfRange) {
    return Error(404, "not found");
  }
  return Error(500, StatusText(read.status()));
}

// The smallest tree size in which the level-`level` tile (or bundle, at
// level 0) `index` has width `width`: (index * 256 + width) * 256^level.
// Saturates at 2^128 - 1, which exceeds every tree.
absl::uint128 TreeSizeFor(uint8_t level, uint64_t index, uint16_t width) {
  absl::uint128 size = absl::uint128(index) * merkle::kTileWidth + width;
  for (uint8_t l = 0; l < level; ++l) {
    if (size > (absl::Uint128Max() >> 8)) return absl::Uint128Max();
    size <<= 8;
  }
  return size;
}

}  // namespace

TlogResponse ServeTlogResource(std::string_view target,
                               const SignedCheckpoint* latest,
                               LogReader& reader) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/checkpoint") {
    if (latest == nullptr) return Error(404, "no checkpoint yet");
    return TlogResponse{200, std::string(kCheckpointType),
                        std::string(kNoCache), latest->note};
  }
  if (!path.starts_with("/tile/")) return Error(404, "not found");
  path.remove_prefix(1);  // The parsers take paths relative to the prefix.
  const uint64_t size = latest == nullptr ? 0 : latest->checkpoint.size;
  if (path.starts_with("tile/entries/")) {
    absl::StatusOr<merkle::EntryBundleID> bundle =
        merkle::ParseEntryBundlePath(path);
    if (!bundle.ok()) return Error(400, StatusText(bundle.status()));
    const absl::uint128 needed = TreeSizeFor(0, bundle->index, bundle->width);
    if (needed > size) return Error(404, "not found");
    // A partial bundle is read as of the tree size where it has its width.
    const uint64_t read_size =
        bundle->IsPartial() ? absl::Uint128Low64(needed) : size;
    return FromRead(reader.EntryBundle(*bundle, read_size));
  }
  absl::StatusOr<merkle::TileID> tile = merkle::ParseTilePath(path);
  if (!tile.ok()) return Error(400, StatusText(tile.status()));
  const absl::uint128 needed =
      TreeSizeFor(tile->level, tile->index, tile->width);
  if (needed > size) return Error(404, "not found");
  const uint64_t read_size =
      tile->IsPartial() ? absl::Uint128Low64(needed) : size;
  return FromRead(reader.Tile(*tile, read_size));
}

HttpServer::HttpServer(const HttpServerOptions& options,
                       LatestCheckpoint latest, LogReader* reader)
    : latest_(std::move(latest)),
      reader_(reader),
      listener_(options.threads, options.tls) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, LatestCheckpoint latest,
    LogReader* reader) {
  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(latest), reader));
  httplib::Server& http = server->listener_.http();
  http.set_payload_max_length(4096);  // GET requests carry no body.
  HttpServer* self = server.get();
  http.Get(".*", [self](const httplib::Request& request,
                        httplib::Response& response) {
    std::shared_ptr<const SignedCheckpoint> latest = self->latest_();
    TlogResponse answer =
        ServeTlogResource(request.target, latest.get(), *self->reader_);
    response.status = answer.status;
    response.set_header("Cache-Control", answer.cache_control);
    response.set_content(answer.body, answer.content_type.c_str());
  });
  if (absl::Status s = server->listener_.Listen(options.address); !s.ok()) {
    return s;
  }
  return server;
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace vigil::server
