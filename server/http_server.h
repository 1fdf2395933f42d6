// The HTTP read path: the log as c2sp.org/tlog-tiles resources, so any
// HTTP client, cache or CDN can read and mirror it.
//
//   GET /checkpoint                  the latest signed checkpoint
//                                    text/plain; charset=utf-8, no-cache
//   GET /tile/<L>/<N>[.p/<W>]        a hash tile application/octet-stream GET
//   /tile/entries/<N>[.p/<W>]    an entry bundle    application/octet-stream
//
// Tiles and bundles are served for the latest published checkpoint: a
// resource past it is 404 (never a tree size the log has not signed). A
// partial resource of width W is served whenever the latest tree covers it
// (it is the prefix of the tile the latest tree has), so the partial tiles
// of every earlier checkpoint stay available as the spec requires. The
// bytes at a tile path never change, so every tile and bundle, full or
// partial, is sent with "Cache-Control: public, max-age=31536000,
// immutable"; errors with "no-store". Paths are parsed strictly
// (merkle::ParseTilePath / ParseEntryBundlePath) on the raw request target:
// a malformed path is 400, percent-encoding included. A query string is
// ignored.
//
// Thread-safety: HttpServer's methods are safe from any thread; requests
// are served on its own thread pool. ServeTlogResource is safe from any
// thread (LogReader is).

#ifndef VIGIL_SERVER_HTTP_SERVER_H_
#define VIGIL_SERVER_HTTP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/http_listener.h"
#include "server/log_reader.h"
#include "server/sequencer.h"
#include "server/tls.h"

namespace vigil::server {

// The latest published checkpoint, or null before the first.
using LatestCheckpoint =
    std::function<std::shared_ptr<const SignedCheckpoint>()>;

// An HTTP answer, independent of the HTTP library.
struct TlogResponse {
  int status = 200;
  std::string content_type;
  std::string cache_control;
  std::string body;
};

// The answer to GET `target` (the raw request target, e.g.
// "/tile/0/x001/234.p/7?x=1") for the log whose latest checkpoint is
// `latest` (null: none yet, everything is 404), reading from `reader`.
// 400 for a malformed tile path, 404 for a resource the latest tree does
// not have, 500 if storage fails (the body names the error).
TlogResponse ServeTlogResource(std::string_view target,
                               const SignedCheckpoint* latest,
                               LogReader& reader);

struct HttpServerOptions {
  std::string address = "127.0.0.1:0";  // host:port; port 0 picks one.
  size_t threads = 8;                   // Requests served concurrently.
  TlsFiles tls;  // With a certificate and key: HTTPS only.
};

class HttpServer {
 public:
  // Binds `options.address` and starts serving. `latest` is called once per
  // request; `reader` is borrowed and must outlive the server.
  // INVALID_ARGUMENT for a malformed address; UNAVAILABLE if it cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, LatestCheckpoint latest,
      LogReader* reader);

  // Stops (see Stop).
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when the address gave port 0).
  [[nodiscard]] uint16_t port() const { return listener_.port(); }
  // The bound address, "host:port" ("[v6]:port").
  [[nodiscard]] std::string address() const { return listener_.address(); }

  // Stops accepting, lets requests in progress finish, and joins the
  // server's threads. Idempotent.
  void Stop() { listener_.Stop(); }

 private:
  HttpServer(const HttpServerOptions& options, LatestCheckpoint latest,
             LogReader* reader);

  LatestCheckpoint latest_;
  LogReader* reader_;
  HttpListener listener_;
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_HTTP_SERVER_H_
