// The HTTP front end of a Witness (client/witness.h), with the submission
// and monitoring prefixes both at the root:
//
//   POST /add-checkpoint            c2sp.org/tlog-witness add-checkpoint
//   GET  /<origin hash>/checkpoint  the latest cosigned checkpoint of the log
//                                   whose origin has this lowercase hex
//                                   SHA-256; text/plain; charset=utf-8
//
// Every other request is 404 (405 for another method on /add-checkpoint).
// A request body over kMaxAddCheckpointBody bytes (after any
// Content-Encoding is undone, chunked or not) is refused with 400 without
// being read further. Errors carry a one-line text/plain body. Nothing a
// client sends can make the server fail: the Witness parses every byte
// strictly and the body is bounded.
//
// Thread-safety: WitnessServer's methods are safe from any thread; requests
// are served on its own thread pool, calling the (thread-safe) Witness
// concurrently.

#ifndef VIGIL_CLIENT_WITNESS_SERVER_H_
#define VIGIL_CLIENT_WITNESS_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/witness.h"
#include "server/http_listener.h"
#include "server/tls.h"

namespace vigil::client {

struct WitnessServerOptions {
  // "host:port" or "[v6]:port" to listen on; port 0 picks a free port.
  std::string address = "127.0.0.1:0";
  size_t threads = 8;  // Requests served concurrently (at least 1).
  // With a certificate and key: HTTPS only.
  server::TlsFiles tls;
};

class WitnessServer {
 public:
  // Binds `options.address` and starts serving `witness`, which is borrowed
  // and must outlive the server. INVALID_ARGUMENT for a malformed address
  // or a null witness; UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<WitnessServer>> Start(
      const WitnessServerOptions& options, Witness* witness);

  // Stops (see Stop).
  ~WitnessServer();

  WitnessServer(const WitnessServer&) = delete;
  WitnessServer& operator=(const WitnessServer&) = delete;

  // The bound port (the chosen one when the address gave port 0).
  [[nodiscard]] uint16_t port() const { return listener_.port(); }
  // The bound address, "host:port" ("[v6]:port").
  [[nodiscard]] std::string address() const { return listener_.address(); }

  // Stops accepting, lets requests in progress finish, and joins the
  // server's threads. Idempotent.
  void Stop() { listener_.Stop(); }

 private:
  explicit WitnessServer(const WitnessServerOptions& options)
      : listener_(options.threads, options.tls) {}

  server::HttpListener listener_;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_WITNESS_SERVER_H_
