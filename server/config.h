// vigil-server's configuration: a JSON file whose settings command-line
// flags may override, both checked strictly.
//
//   {
//     "grpc_address": "127.0.0.1:7400",
//     "http_address": "127.0.0.1:7401",
//     "data_dir": "/var/lib/vigil",
//     "log_key_file": "/etc/vigil/log.skey",
//     "registry_key_file": "/etc/vigil/registry.vkey",
//     "checkpoint_interval": "1s",
//     "witnesses": ["witness.example+7a1b2c3d+BA...
//     http://witness.example:7500"], "witness_quorum": 1
//   }
//
// Every setting has one key, listed by ConfigKeys() (docs/server.md
// describes each). The file is one JSON object; an unknown key, a key given
// twice, a value of the wrong JSON type or out of range is an error naming
// the key. Durations are strings in absl::ParseDuration form ("1s",
// "250ms", "24h"); counts are non-negative JSON integers; lists are JSON
// arrays of strings (on the command line, one flag per item).
//
// Thread-safety: the functions are pure (LoadServerConfig reads one file)
// and safe from any thread.

#ifndef VIGIL_SERVER_CONFIG_H_
#define VIGIL_SERVER_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/witness_quorum.h"

namespace vigil::server {

// Everything vigil-server needs to run; defaults as documented.
struct ServerConfig {
  // Where the gRPC API listens, "host:port" ("[::1]:port" for IPv6); port 0
  // picks a free port.
  std::string grpc_address = "127.0.0.1:7400";
  // Where the tlog-tiles HTTP read path listens; empty disables it.
  std::string http_address = "127.0.0.1:7401";
  // The RocksDB directory (created if missing). Required.
  std::string data_dir;
  // The log's note signer key file (PRIVATE+KEY+..., type 0x01), mode 0600.
  // Required.
  std::string log_key_file;
  // The registry operator's verifier key file (type 0x01). Required.
  std::string registry_key_file;
  // The checkpoint origin; empty means the log key's name. The log key's
  // name must equal it (c2sp.org/tlog-checkpoint: the log signs with a key
  // named after its origin).
  std::string origin;
  // How often the sequencer signs a checkpoint when the tree grew.
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Entries the sequencer queues at most; beyond, RESOURCE_EXHAUSTED.
  uint64_t max_pending = 65536;
  // Entries the sequencer integrates in one durable write at most.
  uint64_t max_integration_batch = 4096;
  // Records one SubmitRecords request may carry at most.
  uint64_t max_batch = 1000;
  // Entries one GetEntries response holds at most.
  uint64_t max_entries_per_read = 256;
  // Largest gRPC request message, in bytes.
  uint64_t max_request_bytes = uint64_t{32} << 20;
  // How old a record's event_time may be when it is submitted.
  absl::Duration event_time_max_age = absl::Hours(24);
  // How far in the future a record's event_time may be (clock skew).
  absl::Duration event_time_max_future_skew = absl::Minutes(5);
  // The log's witnesses, each "<cosignature verifier key> <URL>"
  // (ParseWitnessSetting). With witnesses, a checkpoint is published only
  // once witness_quorum of them cosigned it.
  std::vector<std::string> witnesses;
  // How many witnesses must cosign; 0 means all of them.
  uint64_t witness_quorum = 0;
  // Bounds each exchange with a witness.
  absl::Duration witness_timeout = absl::Seconds(10);
  // Per-agency limits on access records (server/agency_limits.h): the
  // sustained rate (records/s) and the burst, and a daily quota. 0: none.
  uint64_t agency_rate_limit = 0;
  uint64_t agency_burst = 0;
  uint64_t agency_daily_quota = 0;
  // Transport security (server/tls.h). With a certificate and key, the
  // gRPC and HTTP listeners speak TLS; without, they must listen on
  // loopback addresses only.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With a client CA: mutual TLS. Submitting access records needs a client
  // certificate issued by it whose common name is the signing agency's ORI;
  // registry changes need one named tls_operator_name (required with it).
  // Reads need none.
  std::string tls_client_ca_file;
  std::string tls_operator_name;
  // CA certificates trusted for https:// witness URLs; empty: the system's.
  std::string witness_ca_file;

  bool operator==(const ServerConfig&) const = default;
};

// How a setting is written.
enum class ConfigValueKind : uint8_t {
  kString,    // JSON string.
  kCount,     // JSON non-negative integer; decimal digits on the command line.
  kDuration,  // JSON string in absl::ParseDuration form.
  kList,      // JSON array of strings; one repeated flag on the command line.
};

// One setting: its JSON key (snake_case; the command-line flag is the same
// with '-' for '_'), its kind and a one-line description.
struct ConfigKey {
  std::string_view name;
  ConfigValueKind kind;
  std::string_view help;
};

// Every setting, in documentation order.
const std::vector<ConfigKey>& ConfigKeys();

// Parses a JSON config text over the defaults. INVALID_ARGUMENT, naming the
// key, for malformed JSON, a top level that is not an object, an unknown or
// repeated key, or a value of the wrong type or range. Does not check that
// required settings are present (see ValidateServerConfig).
absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view json);

// Reads and parses the config file at `path`. NOT_FOUND if it cannot be
// read; otherwise as ParseServerConfig, with the path in the message.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// Sets the settings in `overrides` (key -> value as text, e.g. from
// command-line flags: "max_batch" -> "500", "checkpoint_interval" -> "2s";
// a list's items separated by '\n') on `*config`. INVALID_ARGUMENT naming the
// key for an unknown key or a value that does not parse; `*config` is then
// unchanged.
absl::Status ApplyConfigOverrides(
    const std::map<std::string, std::string>& overrides, ServerConfig* config);

// OK if `config` can run a server: required paths set, addresses of the form
// host:port, durations and counts in range (max_integration_batch <=
// max_pending, max_request_bytes large enough for one record, every witness
// parses and the quorum is in [1, witnesses]), TLS settings complete (a
// certificate with its key; a client CA with an operator name and a
// certificate) and, without TLS, loopback listen addresses only. The TLS
// files themselves are read by LoadTls (server/tls.h).
// INVALID_ARGUMENT naming the first offending key otherwise.
absl::Status ValidateServerConfig(const ServerConfig& config);

// The witness policy `config` sets (no witnesses: an empty policy).
// INVALID_ARGUMENT, naming the key, as ValidateServerConfig.
absl::StatusOr<WitnessPolicy> ValidateWitnesses(const ServerConfig& config);

}  // namespace vigil::server

#endif  // VIGIL_SERVER_CONFIG_H_
