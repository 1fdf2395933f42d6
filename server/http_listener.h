// Listen addresses, and an HTTP server listening on one: the bind, accept
// loop and shutdown shared by vigil-server's HTTP read path
// (server/http_server.h) and the witness (client/witness_server.h).
//
// Thread-safety: ParseHostPort is pure. HttpListener: see the class.

#ifndef VIGIL_SERVER_HTTP_LISTENER_H_
#define VIGIL_SERVER_HTTP_LISTENER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/tls.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace vigil::server {

// A listening address split into its host and port.
struct HostPort {
  std::string host;  // Without IPv6 brackets.
  uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

// Parses "host:port" or "[ipv6]:port" with a decimal port 0..65535.
// INVALID_ARGUMENT, naming the listen address, otherwise.
absl::StatusOr<HostPort> ParseHostPort(std::string_view address);

// Whether `host` (a HostPort's host) is this machine only: "localhost",
// an IPv4 address in 127.0.0.0/8, or ::1. A listener on any other needs
// TLS.
bool IsLoopbackHost(const std::string& host);

// An httplib::Server with the settings both servers share (a pool of
// request threads, read/write/keep-alive timeouts, SO_REUSEADDR without
// SO_REUSEPORT, TLS when given a certificate), serving on its own thread
// once Listen succeeds.
//
// Thread-safety: configure http() and call Listen from one thread, before
// sharing the listener; after that every method is safe from any thread.
class HttpListener {
 public:
  // `threads`: requests served concurrently (at least 1). With `tls`'s
  // certificate and key files (checked beforehand with LoadTls), the
  // listener speaks HTTPS only; its CA file is not used.
  explicit HttpListener(size_t threads, const TlsFiles& tls = {});
  // Stops (see Stop).
  ~HttpListener();

  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // The server, to add handlers and settings to before Listen.
  [[nodiscard]] httplib::Server& http() { return *http_; }

  // Binds `address` ("host:port" or "[ipv6]:port"; port 0 picks a free
  // port) and runs the accept loop on its own thread. Call at most once.
  // INVALID_ARGUMENT for a malformed address or TLS files OpenSSL refuses;
  // UNAVAILABLE if it cannot be bound or the server stops at once.
  absl::Status Listen(std::string_view address);

  // The bound port (the chosen one when the address gave port 0); 0 before
  // Listen succeeds.
  [[nodiscard]] uint16_t port() const { return port_; }
  // The bound address, "host:port" ("[v6]:port").
  [[nodiscard]] std::string address() const;

  // Stops accepting, lets requests in progress finish, and joins the
  // server's threads. Idempotent; a no-op before Listen.
  void Stop();

 private:
  std::unique_ptr<httplib::Server> http_;
  std::string host_;
  uint16_t port_ = 0;
  absl::Mutex stop_mu_;
  std::thread thread_ ABSL_GUARDED_BY(stop_mu_);  // Runs the accept loop.
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_HTTP_LISTENER_H_
