// A client::TileSource that reads a tlog-tiles log over HTTP (cpp-httplib),
// so client/tree_audit.h can audit a running server.
//
// Thread-safety: safe for concurrent use (requests are serialised on one
// connection).

#ifndef VIGIL_TESTS_TESTING_HTTP_TILE_SOURCE_H_
#define VIGIL_TESTS_TESTING_HTTP_TILE_SOURCE_H_

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

namespace vigil::testing {

class HttpTileSource final : public client::TileSource {
 public:
  // Reads from http://host:port/<path>.
  HttpTileSource(const std::string& host, uint16_t port);
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
  std::unique_ptr<httplib::Client> client_ ABSL_GUARDED_BY(mu_);
  std::string last_cache_control_ ABSL_GUARDED_BY(mu_);
  uint64_t fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_HTTP_TILE_SOURCE_H_
