#include "client/witness_server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"

namespace vigil::client {
namespace {

constexpr std::string_view kTextType = "text/plain; charset=utf-8";

struct HostPort {
  std::string host;  // Without IPv6 brackets.
  uint16_t port = 0;
};

// Parses "host:port" or "[v6]:port" with a decimal port 0..65535. (The
// server's ParseHostPort is in vigil::server, which the client does not
// link.)
absl::StatusOr<HostPort> ParseListenAddress(std::string_view address) {
  HostPort result;
  std::string_view port_text;
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    if (close != std::string_view::npos && close + 1 < address.size() &&
        address[close + 1] == ':') {
      result.host = std::string(address.substr(1, close - 1));
      port_text = address.substr(close + 2);
    }
  } else {
    const size_t colon = address.rfind(':');
    if (colon != std::string_view::npos &&
        address.find(':') == colon) {  // One colon: IPv6 needs brackets.
      result.host = std::string(address.substr(0, colon));
      port_text = address.substr(colon + 1);
    }
  }
  const std::optional<uint64_t> port = merkle::ParseDecimal(port_text);
  if (result.host.empty() || !port.has_value() || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("listen address %s is not host:port or [v6]:port",
                        merkle::QuoteForError(address)));
  }
  result.port = static_cast<uint16_t>(*port);
  return result;
}

void Reply(httplib::Response& response, const Witness::Response& answer) {
  response.status = answer.http_status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(answer.body, answer.content_type.c_str());
}

void ReplyError(httplib::Response& response, int status,
                std::string_view message) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(absl::StrFormat("%s\n", message),
                       std::string(kTextType).c_str());
}

}  // namespace

absl::StatusOr<std::unique_ptr<WitnessServer>> WitnessServer::Start(
    const WitnessServerOptions& options, Witness* witness) {
  if (witness == nullptr) {
    return absl::InvalidArgumentError("WitnessServer needs a witness");
  }
  absl::StatusOr<HostPort> address = ParseListenAddress(options.address);
  if (!address.ok()) return address.status();

  std::unique_ptr<WitnessServer> server(new WitnessServer());
  server->host_ = address->host;
  server->witness_ = witness;
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  const size_t threads = std::max<size_t>(options.threads, 1);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_read_timeout(5, 0);
  http.set_write_timeout(10, 0);
  // Short: Stop waits for idle keep-alive connections to time out.
  http.set_keep_alive_timeout(2);
  // Bodies with a Content-Length over the limit are refused before they
  // are read (httplib answers 413, turned into 400 below); chunked and
  // compressed bodies are bounded by the content reader instead.
  http.set_payload_max_length(kMaxAddCheckpointBody);
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // server bind the same port and silently take half its connections.
  http.set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Called for every answer of status >= 400: gives httplib's own errors
  // (unknown path, oversized body) a status of ours and a text body.
  const httplib::Server::HandlerWithResponse on_error =
      [](const httplib::Request&, httplib::Response& response) {
        if (response.status == 413) {
          ReplyError(response, 400,
                     absl::StrFormat("request body exceeds %d bytes",
                                     kMaxAddCheckpointBody));
          response.set_header("Connection", "close");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (response.body.empty()) {
          ReplyError(response, response.status,
                     response.status == 404 ? "not found" : "bad request");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      };
  http.set_error_handler(on_error);

  Witness* w = witness;
  http.Post("/add-checkpoint", [w](const httplib::Request&,
                                   httplib::Response& response,
                                   const httplib::ContentReader& reader) {
    std::string body;
    bool too_large = false;
    const bool read = reader([&](const char* data, size_t length) {
      if (length > kMaxAddCheckpointBody - body.size()) {
        too_large = true;
        return false;
      }
      body.append(data, length);
      return true;
    });
    if (too_large || !read) {
      ReplyError(response, 400,
                 too_large ? absl::StrFormat("request body exceeds %d bytes",
                                             kMaxAddCheckpointBody)
                           : std::string("cannot read the request body"));
      // The rest of the body was not read: the connection cannot be reused.
      response.set_header("Connection", "close");
      return;
    }
    Reply(response, w->AddCheckpoint(body));
  });
  http.Get("/add-checkpoint",
           [](const httplib::Request&, httplib::Response& response) {
             ReplyError(response, 405, "add-checkpoint takes a POST");
             response.set_header("Allow", "POST");
           });
  http.Get(R"(/([0-9a-f]{64})/checkpoint)",
           [w](const httplib::Request& request, httplib::Response& response) {
             Reply(response, w->LatestCheckpoint(request.matches[1].str()));
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
        "the witness HTTP server on %s stopped at once", options.address));
  }
  return server;
}

WitnessServer::~WitnessServer() { Stop(); }

std::string WitnessServer::address() const {
  if (host_.find(':') != std::string::npos) {
    return absl::StrFormat("[%s]:%d", host_, port_);
  }
  return absl::StrFormat("%s:%d", host_, port_);
}

void WitnessServer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace vigil::client
