#include "client/cli.h"

#include <sodium.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/files.h"

namespace vigil::client::cli {
namespace {

std::string CodeName(absl::StatusCode code) {
  return absl::StatusCodeToString(code);
}

// A file name made of `text`: characters other than [A-Za-z0-9._-] become
// '_'.
std::string FileNameOf(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '.' || c == '-';
    out += plain ? c : '_';
  }
  return out;
}

}  // namespace

void Output::AddTo(CLI::App* cmd) {
  cmd->add_flag("--json", json, "print one JSON object instead of text");
  cmd->add_option("--evidence-out", evidence_out,
                  "where to write the evidence if the log misbehaves "
                  "(default: vigil-evidence-<time>.json here)");
}

int Output::Done(const std::string& text, Json out) const {
  if (json) {
    out["ok"] = true;
    std::cout << out.dump() << "\n";
  } else {
    std::cout << text;
  }
  std::cout.flush();
  return kExitOk;
}

int Output::Fail(const absl::Status& status, bool verification) const {
  const std::optional<std::string> evidence = EvidenceOf(status);
  std::string evidence_file;
  if (evidence.has_value()) {
    evidence_file = evidence_out.empty()
                        ? absl::StrFormat("vigil-evidence-%d.json",
                                          absl::ToUnixMicros(absl::Now()))
                        : evidence_out;
    // Never over earlier evidence.
    if (absl::Status s = server::WriteNewFile(evidence_file, *evidence, 0644);
        !s.ok()) {
      std::cerr << "vigil: cannot keep the evidence: " << s.message() << "\n";
      std::cerr << *evidence;
      evidence_file.clear();
    }
  }
  std::cerr << "vigil: " << status.message() << "\n";
  if (!evidence_file.empty()) {
    std::cerr << "vigil: the evidence is in " << evidence_file << "\n";
  }
  if (json) {
    Json out;
    out["ok"] = false;
    out["code"] = CodeName(status.code());
    out["error"] = std::string(status.message());
    if (!evidence_file.empty()) out["evidence_file"] = evidence_file;
    std::cout << out.dump() << "\n";
  }
  return evidence.has_value() || verification ? kExitFailed : kExitError;
}

void TrustFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--log-key", log_key, "the log's verifier key file")
      ->required();
  cmd->add_option("--origin", origin,
                  "the log's checkpoint origin (default: the key's name)");
  cmd->add_option("--witness-key", witness_keys,
                  "a witness's cosignature verifier key file (repeatable)");
  cmd->add_option("--quorum", quorum,
                  "how many of the witnesses must cosign (default: all)");
}

absl::StatusOr<LogTrust> TrustFlags::Load() const {
  return LogTrust::FromKeyFiles(log_key, origin, witness_keys, quorum);
}

void TlsFlags::AddTo(CLI::App* cmd) {
  cmd->add_flag("--tls", tls,
                "connect with TLS, trusting the system's root certificates");
  cmd->add_option("--tls-ca", files.ca_file,
                  "connect with TLS, trusting the CA certificates in this PEM "
                  "file")
      ->check(CLI::ExistingFile);
  CLI::Option* cert =
      cmd->add_option("--tls-cert", files.cert_file,
                      "client certificate chain (PEM) to present: an agency's "
                      "names its ORI")
          ->check(CLI::ExistingFile);
  CLI::Option* key =
      cmd->add_option("--tls-key", files.key_file,
                      "private key of --tls-cert (PEM, mode 0600)")
          ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> TlsFlags::Channel(
    const std::string& address) const {
  if (!enabled()) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  absl::StatusOr<server::TlsMaterial> material = server::LoadTls(files);
  if (!material.ok()) return material.status();
  return grpc::CreateChannel(address,
                             server::GrpcChannelCredentials(*material));
}

void ServerFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--server", address, "the log's gRPC address, host:port")
      ->required();
  tls.AddTo(cmd);
  cmd->add_option("--timeout", timeout_seconds,
                  "seconds each attempt of a call may take")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--attempts", max_attempts,
                  "attempts per call on UNAVAILABLE or RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--state", state_file,
                  "file keeping the last trusted checkpoint (default: "
                  "$XDG_STATE_HOME/vigil/<origin>.checkpoint)");
  cmd->add_flag("--no-state", no_state,
                "keep no trusted checkpoint between runs");
}

absl::StatusOr<std::unique_ptr<LogClient>> ServerFlags::Connect(
    LogTrust trust, size_t batch_size, size_t concurrency) const {
  LogClientOptions options;
  options.call_timeout = absl::Seconds(timeout_seconds);
  options.max_attempts = max_attempts;
  options.batch_size = batch_size;
  options.concurrency = concurrency;
  if (!no_state) {
    options.state_file = state_file;
    if (options.state_file.empty()) {
      const char* state_home = std::getenv("XDG_STATE_HOME");
      const char* home = std::getenv("HOME");
      if (state_home != nullptr && *state_home != '\0') {
        options.state_file = std::string(state_home) + "/vigil/";
      } else if (home != nullptr && *home != '\0') {
        options.state_file = std::string(home) + "/.local/state/vigil/";
      } else {
        return absl::InvalidArgumentError(
            "no HOME to keep the trusted checkpoint in: give --state FILE "
            "or --no-state");
      }
      options.state_file += FileNameOf(trust.origin()) + ".checkpoint";
    }
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = tls.Channel(address);
  if (!channel.ok()) return channel.status();
  return LogClient::Create(*std::move(channel), std::move(trust),
                           std::move(options));
}

void LogFlags::AddTo(CLI::App* cmd) {
  trust.AddTo(cmd);
  server.AddTo(cmd);
  out.AddTo(cmd);
}

absl::StatusOr<std::unique_ptr<LogClient>> LogFlags::Connect(
    size_t batch_size, size_t concurrency) const {
  absl::StatusOr<LogTrust> loaded = trust.Load();
  if (!loaded.ok()) return loaded.status();
  return server.Connect(*std::move(loaded), batch_size, concurrency);
}

absl::StatusOr<merkle::SignerKey> LoadSignerKey(const std::string& path) {
  absl::StatusOr<std::string> text = server::ReadKeyFile(path, true);
  if (!text.ok()) return text.status();
  absl::StatusOr<merkle::SignerKey> parsed = merkle::ParseSignerKey(*text);
  sodium_memzero(text->data(), text->size());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s", path, parsed.status().message()));
  }
  if (parsed->type != merkle::kSignatureTypeEd25519) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is not an Ed25519 signing key (type 0x%02x)", path, parsed->type));
  }
  return parsed;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path != "-") return server::ReadFile(path);
  std::ostringstream content;
  content << std::cin.rdbuf();
  if (std::cin.bad()) {
    return absl::UnavailableError("cannot read standard input");
  }
  return content.str();
}

}  // namespace vigil::client::cli
