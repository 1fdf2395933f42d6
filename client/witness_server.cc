#include "client/witness_server.h"

#include <httplib.h>

#include <string_view>

#include "absl/strings/str_format.h"

namespace vigil::client {
namespace {

constexpr std::string_view kTextType = "text/plain; charset=utf-8";

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
  std::unique_ptr<WitnessServer> server(new WitnessServer(options));
  httplib::Server& http = server->listener_.http();
  // Bodies with a Content-Length over the limit are refused before they
  // are read (httplib answers 413, turned into 400 below); chunked and
  // compressed bodies are bounded by the content reader instead.
  http.set_payload_max_length(kMaxAddCheckpointBody);
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

  if (absl::Status s = server->listener_.Listen(options.address); !s.ok()) {
    return s;
  }
  return server;
}

WitnessServer::~WitnessServer() { Stop(); }

}  // namespace vigil::client
