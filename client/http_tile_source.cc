#include "client/http_tile_source.h"

#include <httplib.h>

#include <optional>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"

namespace vigil::client {

HttpTileSource::HttpTileSource(const std::string& scheme_host_port,
                               std::string prefix, const std::string& ca_file)
    : prefix_(std::move(prefix)),
      client_(std::make_unique<httplib::Client>(scheme_host_port)) {
  if (!ca_file.empty()) client_->set_ca_cert_path(ca_file);
  client_->set_connection_timeout(5, 0);
  client_->set_read_timeout(10, 0);
  client_->set_write_timeout(10, 0);
  client_->set_keep_alive(true);
  // A request is several small writes: without this, Nagle's algorithm
  // delays each on a kept-alive connection (see server/http_listener.cc).
  client_->set_tcp_nodelay(true);
}

HttpTileSource::~HttpTileSource() = default;

absl::StatusOr<std::unique_ptr<HttpTileSource>> HttpTileSource::FromUrl(
    std::string_view url, const std::string& ca_file) {
  const size_t scheme_end = url.find("://");
  const std::string_view scheme =
      url.substr(0, scheme_end == std::string_view::npos ? 0 : scheme_end);
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrFormat("log URL %s: only http:// and https:// are supported",
                        merkle::QuoteForError(url)));
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  const size_t colon = authority.rfind(':');
  std::optional<uint64_t> port =
      colon == std::string_view::npos
          ? std::optional<uint64_t>(scheme == "https" ? 443 : 80)
          : merkle::ParseDecimal(authority.substr(colon + 1));
  const std::string_view host = authority.substr(0, colon);
  if (host.empty() || !port.has_value() || *port == 0 || *port > 65535 ||
      prefix.find_first_of("?#") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("log URL %s is not http[s]://host[:port][/prefix]",
                        merkle::QuoteForError(url)));
  }
  return std::make_unique<HttpTileSource>(
      absl::StrFormat("%s://%s:%d", scheme, host, *port), std::move(prefix),
      ca_file);
}

absl::StatusOr<std::string> HttpTileSource::Fetch(std::string_view path) {
  absl::MutexLock lock(&mu_);
  ++fetches_;
  const std::string target = absl::StrFormat("%s/%s", prefix_, path);
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

}  // namespace vigil::client
