#include "server/http_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <utility>

#include "absl/numeric/int128.h"
#include "absl/strings/str_format.h"
#include "merkle/tiles.h"
#include "server/config.h"

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

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, LatestCheckpoint latest,
    LogReader* reader) {
  absl::StatusOr<HostPort> address = ParseHostPort(options.address);
  if (!address.ok()) return address.status();

  std::unique_ptr<HttpServer> server(new HttpServer());
  server->host_ = address->host;
  server->latest_ = std::move(latest);
  server->reader_ = reader;
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  const size_t threads = std::max<size_t>(options.threads, 1);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_read_timeout(5, 0);
  http.set_write_timeout(10, 0);
  // Short: Stop waits for idle keep-alive connections to time out.
  http.set_keep_alive_timeout(2);
  http.set_payload_max_length(4096);  // GET requests carry no body.
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // server bind the same port and silently take half its connections.
  http.set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
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

  if (address->port == 0) {
    const int port = http.bind_to_any_port(address->host);
    if (port <= 0) {
      return absl::UnavailableError(
          absl::StrFormat("cannot bind an HTTP port on %s", address->host));
    }
    server->port_ = static_cast<uint16_t>(port);
  } else {
    if (!http.bind_to_port(address->host, address->port)) {
      return absl::UnavailableError(
          absl::StrFormat("cannot bind HTTP address %s", options.address));
    }
    server->port_ = address->port;
  }

  // Wait for the accept loop to run: httplib's stop() is a no-op before it
  // does, and Stop must always end the thread.
  auto exited = std::make_shared<std::atomic<bool>>(false);
  {
    absl::MutexLock lock(&server->stop_mu_);
    server->thread_ = std::thread([&http, exited] {
      http.listen_after_bind();
      *exited = true;
    });
  }
  while (!http.is_running() && !*exited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (*exited) {
    server->Stop();
    return absl::UnavailableError(absl::StrFormat(
        "the HTTP server on %s stopped at once", options.address));
  }
  return server;
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::address() const {
  if (host_.find(':') != std::string::npos) {
    return absl::StrFormat("[%s]:%d", host_, port_);
  }
  return absl::StrFormat("%s:%d", host_, port_);
}

void HttpServer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace vigil::server
