#include "tests/testing/http_tile_source.h"

#include <httplib.h>

#include "absl/strings/str_format.h"

namespace vigil::testing {

HttpTileSource::HttpTileSource(const std::string& host, uint16_t port)
    : client_(std::make_unique<httplib::Client>(host, port)) {
  client_->set_connection_timeout(5, 0);
  client_->set_read_timeout(10, 0);
  client_->set_write_timeout(10, 0);
  client_->set_keep_alive(true);
}

HttpTileSource::~HttpTileSource() = default;

absl::StatusOr<std::string> HttpTileSource::Fetch(std::string_view path) {
  absl::MutexLock lock(&mu_);
  ++fetches_;
  const std::string target = absl::StrFormat("/%s", path);
  httplib::Result result = client_->Get(target.c_str());
  if (!result) {
    return absl::UnavailableError(absl::StrFormat(
        "GET %s: %s", target, httplib::to_string(result.error())));
  }
  switch (result->status) {
    case 200:
      last_cache_control_ = result->get_header_value("Cache-Control");
      return std::move(result->body);
    case 404:
      return absl::NotFoundError(absl::StrFormat("GET %s: 404", target));
    case 400:
      return absl::InvalidArgumentError(
          absl::StrFormat("GET %s: 400 %s", target, result->body));
    default:
      return absl::UnavailableError(absl::StrFormat(
          "GET %s: HTTP %d %s", target, result->status, result->body));
  }
}

std::string HttpTileSource::last_cache_control() const {
  absl::MutexLock lock(&mu_);
  return last_cache_control_;
}

uint64_t HttpTileSource::fetches() const {
  absl::MutexLock lock(&mu_);
  return fetches_;
}

}  // namespace vigil::testing
