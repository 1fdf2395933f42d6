#include "server/http_listener.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <system_error>

#include "absl/strings/str_format.h"

namespace vigil::server {

absl::StatusOr<HostPort> ParseHostPort(std::string_view address) {
  HostPort result;
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrFormat("listen address \"%s\" is not [ipv6]:port", address));
    }
    result.host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || address.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "listen address \"%s\" is not host:port ([ipv6]:port for IPv6)",
          address));
    }
    result.host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
  }
  if (result.host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("listen address \"%s\" has an empty host", address));
  }
  uint64_t port = 0;
  const char* end = port_text.data() + port_text.size();
  auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port > 65535 ||
      (port_text.size() > 1 && port_text[0] == '0')) {
    return absl::InvalidArgumentError(absl::StrFormat(
        R"(listen address "%s": port "%s" is not a number in 0..65535)",
        address, port_text));
  }
  result.port = static_cast<uint16_t>(port);
  return result;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

HttpListener::HttpListener(size_t threads, const TlsFiles& tls)
    : http_(tls.cert_file.empty()
                ? std::make_unique<httplib::Server>()
                : std::make_unique<httplib::SSLServer>(tls.cert_file.c_str(),
                                                       tls.key_file.c_str())) {
  threads = std::max<size_t>(threads, 1);
  http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(10, 0);
  // Short: Stop waits for idle keep-alive connections to time out.
  http_->set_keep_alive_timeout(2);
  // Responses go out in several writes (headers, body): without this,
  // Nagle's algorithm and the client's delayed ACK hold each response on a
  // kept-alive connection for about 40 ms.
  http_->set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // server bind the same port and silently take half its connections.
  http_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
}

HttpListener::~HttpListener() { Stop(); }

absl::Status HttpListener::Listen(std::string_view address) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok()) return parsed.status();
  if (!http_->is_valid()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "HTTP listener %s: OpenSSL refused the TLS certificate or key",
        address));
  }
  if (parsed->port == 0) {
    const int port = http_->bind_to_any_port(parsed->host);
    if (port <= 0) {
      return absl::UnavailableError(
          absl::StrFormat("cannot bind an HTTP port on %s", parsed->host));
    }
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!http_->bind_to_port(parsed->host, parsed->port)) {
      return absl::UnavailableError(
          absl::StrFormat("cannot bind HTTP address %s", address));
    }
    port_ = parsed->port;
  }
  host_ = parsed->host;

  // Wait for the accept loop to run: httplib's stop() is a no-op before it
  // does, and Stop must always end the thread.
  auto exited = std::make_shared<std::atomic<bool>>(false);
  {
    absl::MutexLock lock(&stop_mu_);
    thread_ = std::thread([http = http_.get(), exited] {
      http->listen_after_bind();
      *exited = true;
    });
  }
  while (!http_->is_running() && !*exited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (*exited) {
    Stop();
    return absl::UnavailableError(
        absl::StrFormat("the HTTP server on %s stopped at once", address));
  }
  return absl::OkStatus();
}

std::string HttpListener::address() const {
  if (host_.find(':') != std::string::npos) {
    return absl::StrFormat("[%s]:%d", host_, port_);
  }
  return absl::StrFormat("%s:%d", host_, port_);
}

void HttpListener::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace vigil::server
