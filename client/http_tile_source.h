// A TileSource that reads a c2sp.org/tlog-tiles log over HTTP (cpp-httplib):
// a running vigil-server's HTTP read path, or any static mirror of a log.
//
// Thread-safety: safe for concurrent use (requests are serialised on one
// connection).

#ifndef VIGIL_CLIENT_HTTP_TILE_SOURCE_H_
#define VIGIL_CLIENT_HTTP_TILE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/tile_source.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace vigil::client {

class HttpTileSource final : public TileSource {
 public:
  // Reads from <scheme_host_port><prefix>/<path>, where scheme_host_port
  // is "http://host:port" or "https://host:port" and `prefix` is empty or
  // starts with '/' and does not end with one. Over https, the server's
  // certificate must chain to the PEM CA certificates in `ca_file` (empty:
  // the system's trusted roots) and name the host.
  HttpTileSource(const std::string& scheme_host_port, std::string prefix,
                 const std::string& ca_file);
  // A source for a URL "http[s]://host[:port][/prefix]" (default ports 80
  // and 443). INVALID_ARGUMENT for another scheme, a bad port, or a query
  // or fragment.
  static absl::StatusOr<std::unique_ptr<HttpTileSource>> FromUrl(
      std::string_view url, const std::string& ca_file = "");
  ~HttpTileSource() override;

  // GET /<path>: the body on 200, NOT_FOUND on 404, INVALID_ARGUMENT on
  // 400, UNAVAILABLE for any other status or a transport error. Also counts
  // requests (fetches()).
  absl::StatusOr<std::string> Fetch(std::string_view path) override;

  // The Cache-Control header of the last successful response.
  std::string last_cache_control() const;
  uint64_t fetches() const;

 private:
  mutable absl::Mutex mu_;
  const std::string prefix_;
  std::unique_ptr<httplib::Client> client_ ABSL_GUARDED_BY(mu_);
  std::string last_cache_control_ ABSL_GUARDED_BY(mu_);
  uint64_t fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_HTTP_TILE_SOURCE_H_
