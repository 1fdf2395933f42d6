// What the `vigil` subcommands share: exit codes, text or JSON output,
// the flags that say which log to trust and how to reach it, and how a
// failure is reported (with its evidence written to a file).
//
// Exit codes (docs/cli.md):
//   0  done; everything verified
//   1  a verification failed: the evidence does not hold, or the log
//      misbehaved (the evidence is written to a file)
//   2  usage, input or I/O error: nothing was verified
//   3  `submit` only: some records were refused by the log
//
// Thread-safety: Output may be used from one thread at a time.

#ifndef VIGIL_CLIENT_CLI_H_
#define VIGIL_CLIENT_CLI_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/log_client.h"
#include "client/signing.h"
#include "server/tls.h"

namespace vigil::client::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitError = 2;
inline constexpr int kExitRefused = 3;

using Json = nlohmann::ordered_json;

// How a command reports: text for people on stdout, or with --json one JSON
// object on stdout. Errors go to stderr as text either way, and with --json
// also as {"ok": false, ...} on stdout.
struct Output {
  bool json = false;
  std::string evidence_out;  // Where evidence goes; empty: a default name.

  // Adds --json and --evidence-out to `cmd`.
  void AddTo(CLI::App* cmd);
  // Prints `text` (text mode) or `json` (JSON mode), and returns kExitOk.
  int Done(const std::string& text, Json json) const;
  // Reports `status` and returns its exit code: kExitFailed if the status
  // carries evidence (written to a file first) or `verification` is set,
  // kExitError otherwise.
  int Fail(const absl::Status& status, bool verification = false) const;
};

// The log a command trusts.
struct TrustFlags {
  std::string log_key;
  std::string origin;
  std::vector<std::string> witness_keys;
  size_t quorum = 0;

  void AddTo(CLI::App* cmd);
  [[nodiscard]] absl::StatusOr<LogTrust> Load() const;
};

// How a command reaches a server over TLS: --tls (the system's roots),
// --tls-ca FILE, and a client certificate --tls-cert FILE --tls-key FILE.
// Any of them turns TLS on; none is plaintext.
struct TlsFlags {
  bool tls = false;
  server::TlsFiles files;

  void AddTo(CLI::App* cmd);
  [[nodiscard]] bool enabled() const {
    return tls || !files.ca_file.empty() || !files.cert_file.empty();
  }
  // A gRPC channel to `address` with these settings; the errors of LoadTls.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(
      const std::string& address) const;
};

// How a command reaches the log, and where it keeps the trusted checkpoint.
struct ServerFlags {
  std::string address;
  TlsFlags tls;
  double timeout_seconds = 30;
  int max_attempts = 8;
  std::string state_file;
  bool no_state = false;

  void AddTo(CLI::App* cmd);
  // A client of the log at `address` trusting `trust`.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<LogClient>> Connect(
      LogTrust trust, size_t batch_size = 256, size_t concurrency = 4) const;
};

// What every subcommand that talks to a log takes: which log to trust, how
// to reach it, and how to report.
struct LogFlags {
  TrustFlags trust;
  ServerFlags server;
  Output out;

  void AddTo(CLI::App* cmd);
  // A client of the log the flags name.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<LogClient>> Connect(
      size_t batch_size = 256, size_t concurrency = 4) const;
};

// The Ed25519 signer key in the secret key file at `path` (mode 0600 or
// stricter). INVALID_ARGUMENT naming the file for a malformed key or one of
// another type.
absl::StatusOr<merkle::SignerKey> LoadSignerKey(const std::string& path);

// The file's content, or stdin's when `path` is "-".
absl::StatusOr<std::string> ReadInput(const std::string& path);

// The exact bytes of an entry: the file `entry_file` holds them, or else
// `record_file` holds one signed record line (record_files.h).
absl::StatusOr<std::string> LoadEntry(const std::string& entry_file,
                                      const std::string& record_file);

// Openings to check for the entry with `leaf_hash`: its line in the
// openings file `openings_file`, or else the one opening given by `field`,
// `value` and `opening_hex`.
absl::StatusOr<std::vector<FieldOpening>> LoadOpenings(
    const std::string& openings_file, const std::string& field,
    const std::string& value, const std::string& opening_hex,
    const merkle::Hash& leaf_hash);

// Registers each subcommand on `app`; the callback of the one that runs
// stores its exit code in `*exit_code` (which must outlive `app`).
void AddKeygenCommand(CLI::App& app, int* exit_code);
void AddRecordCommand(CLI::App& app, int* exit_code);
void AddSubmitCommand(CLI::App& app, int* exit_code);
void AddOpenCommand(CLI::App& app, int* exit_code);
void AddCheckpointCommand(CLI::App& app, int* exit_code);
void AddProveCommand(CLI::App& app, int* exit_code);
void AddVerifyCommand(CLI::App& app, int* exit_code);
void AddTileCommands(CLI::App& app, int* exit_code);
void AddRegistryCommand(CLI::App& app, int* exit_code);
void AddWitnessCommand(CLI::App& app, int* exit_code);
void AddMonitorCommand(CLI::App& app, int* exit_code);

}  // namespace vigil::client::cli

#endif  // VIGIL_CLIENT_CLI_H_
