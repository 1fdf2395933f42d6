#include "server/witness_client.h"

#include <httplib.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"

namespace vigil::server {
namespace {

// c2sp.org/tlog-witness: "The client MUST NOT send more than 63
// consistency proof lines."
constexpr size_t kMaxProofLines = 63;

struct WitnessUrl {
  std::string scheme_host_port;  // "http://host:port", for httplib.
  std::string prefix;            // "" or "/path", without a final '/'.
};

absl::StatusOr<WitnessUrl> ParseWitnessUrl(std::string_view url) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("witness URL %s is not http[s]://host[:port][/path]",
                        merkle::QuoteForError(url)));
  };
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return malformed();
  const std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return malformed();
  const std::string_view rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  const bool bad_char =
      std::any_of(url.begin(), url.end(),
                  [](char c) {
                    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
                  }) ||
      url.find_first_of("?#@") != std::string_view::npos;
  if (authority.empty() || authority.starts_with(':') || bad_char) {
    return malformed();
  }
  return WitnessUrl{absl::StrFormat("%s://%s", scheme, authority),
                    std::move(prefix)};
}

std::string StatusName(int status) {
  std::string_view reason;
  switch (status) {
    case 400:
      reason = "Bad Request";
      break;
    case 403:
      reason = "Forbidden";
      break;
    case 404:
      reason = "Not Found";
      break;
    case 409:
      reason = "Conflict";
      break;
    case 413:
      reason = "Payload Too Large";
      break;
    case 422:
      reason = "Unprocessable Entity";
      break;
    case 429:
      reason = "Too Many Requests";
      break;
    case 500:
      reason = "Internal Server Error";
      break;
    case 503:
      reason = "Service Unavailable";
      break;
    default:
      return absl::StrFormat("HTTP %d", status);
  }
  return absl::StrFormat("%d %s", status, reason);
}

}  // namespace

absl::StatusOr<WitnessReply> AddCheckpointToWitness(
    const std::string& url, uint64_t old_size,
    std::span<const merkle::Hash> proof, std::string_view checkpoint_note,
    absl::Duration timeout, const std::string& ca_file) {
  absl::StatusOr<WitnessUrl> parsed = ParseWitnessUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (proof.size() > kMaxProofLines) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a consistency proof of %d hashes exceeds the %d lines witness %s "
        "accepts",
        proof.size(), kMaxProofLines, url));
  }
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("timeout %s for witness %s is not positive",
                        absl::FormatDuration(timeout), url));
  }

  std::string body = absl::StrFormat("old %d\n", old_size);
  for (const merkle::Hash& hash : proof) {
    body += merkle::Base64Encode(hash);
    body += '\n';
  }
  body += '\n';
  body.append(checkpoint_note);

  httplib::Client client(parsed->scheme_host_port);
  const int64_t micros = absl::ToInt64Microseconds(timeout);
  const auto sec = static_cast<time_t>(micros / 1000000);
  const auto usec = static_cast<time_t>(micros % 1000000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_tcp_nodelay(true);
  if (!ca_file.empty()) client.set_ca_cert_path(ca_file);

  httplib::Request request;
  request.method = "POST";
  request.path = parsed->prefix + "/add-checkpoint";
  request.body = std::move(body);
  request.set_header("Content-Type", "text/plain; charset=utf-8");
  std::string reply;
  bool too_long = false;
  request.content_receiver = [&](const char* data, size_t length, uint64_t,
                                 uint64_t) {
    if (length > kMaxWitnessReply - reply.size()) {
      too_long = true;
      return false;
    }
    reply.append(data, length);
    return true;
  };
  httplib::Result result = client.send(request);
  if (too_long) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "witness %s: the reply exceeds %d bytes", url, kMaxWitnessReply));
  }
  if (!result) {
    return absl::UnavailableError(
        absl::StrFormat("witness %s: add-checkpoint failed: %s", url,
                        httplib::to_string(result.error())));
  }
  const int status = result->status;
  const auto refused = [&](absl::StatusCode code) {
    return absl::Status(
        code,
        absl::StrFormat("witness %s answered %s to add-checkpoint: %s", url,
                        StatusName(status), merkle::QuoteForError(reply)));
  };
  switch (status) {
    case 200: {
      WitnessReply out;
      std::string_view rest = reply;
      while (!rest.empty()) {
        const size_t newline = rest.find('\n');
        if (newline == std::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "witness %s: the cosignature reply does not end in a newline: "
              "%s",
              url, merkle::QuoteForError(rest)));
        }
        absl::StatusOr<merkle::NoteSignature> signature =
            merkle::ParseSignatureLine(rest.substr(0, newline + 1));
        if (!signature.ok()) {
          return absl::InvalidArgumentError(
              absl::StrFormat("witness %s: malformed cosignature line: %s", url,
                              signature.status().message()));
        }
        out.signatures.push_back(*std::move(signature));
        rest.remove_prefix(newline + 1);
      }
      if (out.signatures.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "witness %s answered 200 without a cosignature", url));
      }
      return out;
    }
    case 409: {
      std::optional<uint64_t> size;
      if (reply.ends_with('\n')) {
        const std::string_view text = reply;
        size = merkle::ParseDecimal(text.substr(0, text.size() - 1));
      }
      if (!size.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("witness %s answered 409 without a tree size: %s",
                            url, merkle::QuoteForError(reply)));
      }
      if (*size == old_size) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "witness %s answered 409 with the old size %d that was sent", url,
            old_size));
      }
      WitnessReply out;
      out.conflict_size = *size;
      return out;
    }
    case 400:
      return refused(absl::StatusCode::kInvalidArgument);
    case 403:
      return refused(absl::StatusCode::kPermissionDenied);
    case 404:
      return refused(absl::StatusCode::kNotFound);
    case 422:
      return refused(absl::StatusCode::kFailedPrecondition);
    default:
      if (status == 429 || (status >= 500 && status <= 599)) {
        return refused(absl::StatusCode::kUnavailable);
      }
      return refused(absl::StatusCode::kUnknown);
  }
}

}  // namespace vigil::server
