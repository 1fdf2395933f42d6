#include "server/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <variant>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/http_listener.h"

namespace vigil::server {
namespace {

using Json = nlohmann::json;

// The smallest request that can carry one record of the largest size:
// 65,535 bytes of entry plus the envelope and gRPC framing.
constexpr uint64_t kMinRequestBytes = uint64_t{128} * 1024;

// A setting: its key and the ServerConfig member it sets (the member's type
// matches key.kind).
struct Setting {
  ConfigKey key;
  std::variant<std::string ServerConfig::*, uint64_t ServerConfig::*,
               absl::Duration ServerConfig::*,
               std::vector<std::string> ServerConfig::*>
      field;
};

const std::vector<Setting>& Settings() {
  using K = ConfigValueKind;
  using C = ServerConfig;
  static const auto* const settings = new std::vector<Setting>{
      {{"grpc_address", K::kString,
        "gRPC listen address, host:port (port 0: any free port)"},
       &C::grpc_address},
      {{"http_address", K::kString,
        "tlog-tiles HTTP listen address, host:port; empty disables HTTP"},
       &C::http_address},
      {{"data_dir", K::kString, "RocksDB data directory"}, &C::data_dir},
      {{"log_key_file", K::kString,
        "the log's note signer key file (mode 0600)"},
       &C::log_key_file},
      {{"registry_key_file", K::kString,
        "the registry operator's verifier key file"},
       &C::registry_key_file},
      {{"origin", K::kString,
        "checkpoint origin (default: the log key's name, which must match)"},
       &C::origin},
      {{"checkpoint_interval", K::kDuration,
        "how often to sign a checkpoint when the tree grew (e.g. 1s)"},
       &C::checkpoint_interval},
      {{"max_pending", K::kCount,
        "entries queued at most before RESOURCE_EXHAUSTED"},
       &C::max_pending},
      {{"max_integration_batch", K::kCount,
        "entries per durable write at most"},
       &C::max_integration_batch},
      {{"max_batch", K::kCount, "records per SubmitRecords request at most"},
       &C::max_batch},
      {{"max_entries_per_read", K::kCount,
        "entries per GetEntries response at most"},
       &C::max_entries_per_read},
      {{"max_request_bytes", K::kCount, "largest gRPC request message, bytes"},
       &C::max_request_bytes},
      {{"event_time_max_age", K::kDuration,
        "how old a record's event_time may be (e.g. 24h)"},
       &C::event_time_max_age},
      {{"event_time_max_future_skew", K::kDuration,
        "how far ahead of the server clock event_time may be (e.g. 5m)"},
       &C::event_time_max_future_skew},
      {{"witnesses", K::kList,
        "a witness, \"<cosignature verifier key> <URL>\" (repeatable)"},
       &C::witnesses},
      {{"witness_quorum", K::kCount,
        "witnesses that must cosign a checkpoint before it is published "
        "(0: all)"},
       &C::witness_quorum},
      {{"witness_timeout", K::kDuration,
        "how long one exchange with a witness may take (e.g. 10s)"},
       &C::witness_timeout},
      {{"agency_rate_limit", K::kCount,
        "records per second one agency may submit, sustained (0: no limit)"},
       &C::agency_rate_limit},
      {{"agency_burst", K::kCount,
        "records an idle agency may submit at once (0: one second's worth)"},
       &C::agency_burst},
      {{"agency_daily_quota", K::kCount,
        "records one agency may submit per UTC day (0: no quota)"},
       &C::agency_daily_quota},
      {{"tls_cert_file", K::kString,
        "PEM certificate chain the gRPC and HTTP listeners present (TLS)"},
       &C::tls_cert_file},
      {{"tls_key_file", K::kString,
        "PEM private key of tls_cert_file (mode 0600)"},
       &C::tls_key_file},
      {{"tls_client_ca_file", K::kString,
        "PEM CA of client certificates: agencies must then present one "
        "naming their ORI"},
       &C::tls_client_ca_file},
      {{"tls_operator_name", K::kString,
        "client certificate common name the registry operator presents"},
       &C::tls_operator_name},
      {{"witness_ca_file", K::kString,
        "PEM CA trusted for https:// witnesses (default: the system's)"},
       &C::witness_ca_file},
  };
  return *settings;
}

const Setting* FindSetting(std::string_view name) {
  for (const Setting& s : Settings()) {
    if (s.key.name == name) return &s;
  }
  return nullptr;
}

absl::StatusOr<absl::Duration> ParseDurationValue(std::string_view key,
                                                  const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration() ||
      d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"%s\": \"%s\" is not a finite, non-negative duration "
        "such as \"1s\" or \"250ms\"",
        key, text));
  }
  return d;
}

absl::StatusOr<uint64_t> ParseCountText(std::string_view key,
                                        std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end ||
      (text.size() > 1 && text[0] == '0')) {
    return absl::InvalidArgumentError(absl::StrFormat(
        R"(config key "%s": "%s" is not a decimal count)", key, text));
  }
  return value;
}

// Sets one setting from a JSON value.
absl::Status SetFromJson(const Setting& s, const Json& value,
                         ServerConfig* config) {
  const std::string_view key = s.key.name;
  switch (s.key.kind) {
    case ConfigValueKind::kString:
      if (!value.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("config key \"%s\" must be a string, not %s", key,
                            value.type_name()));
      }
      config->*std::get<std::string ServerConfig::*>(s.field) =
          value.get<std::string>();
      return absl::OkStatus();
    case ConfigValueKind::kCount:
      if (!value.is_number_unsigned()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "config key \"%s\" must be a non-negative integer", key));
      }
      config->*std::get<uint64_t ServerConfig::*>(s.field) =
          value.get<uint64_t>();
      return absl::OkStatus();
    case ConfigValueKind::kDuration: {
      if (!value.is_string()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            R"(config key "%s" must be a duration string such as "1s")", key));
      }
      absl::StatusOr<absl::Duration> d =
          ParseDurationValue(key, value.get<std::string>());
      if (!d.ok()) return d.status();
      config->*std::get<absl::Duration ServerConfig::*>(s.field) = *d;
      return absl::OkStatus();
    }
    case ConfigValueKind::kList: {
      std::vector<std::string> items;
      if (value.is_array()) {
        for (const Json& item : value) {
          if (!item.is_string()) break;
          items.push_back(item.get<std::string>());
        }
      }
      if (!value.is_array() || items.size() != value.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "config key \"%s\" must be an array of strings", key));
      }
      config->*std::get<std::vector<std::string> ServerConfig::*>(s.field) =
          std::move(items);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown config value kind");
}

// Sets one setting from command-line text.
absl::Status SetFromText(const Setting& s, const std::string& text,
                         ServerConfig* config) {
  switch (s.key.kind) {
    case ConfigValueKind::kString:
      config->*std::get<std::string ServerConfig::*>(s.field) = text;
      return absl::OkStatus();
    case ConfigValueKind::kCount: {
      absl::StatusOr<uint64_t> n = ParseCountText(s.key.name, text);
      if (!n.ok()) return n.status();
      config->*std::get<uint64_t ServerConfig::*>(s.field) = *n;
      return absl::OkStatus();
    }
    case ConfigValueKind::kDuration: {
      absl::StatusOr<absl::Duration> d = ParseDurationValue(s.key.name, text);
      if (!d.ok()) return d.status();
      config->*std::get<absl::Duration ServerConfig::*>(s.field) = *d;
      return absl::OkStatus();
    }
    case ConfigValueKind::kList:
      config->*std::get<std::vector<std::string> ServerConfig::*>(s.field) =
          absl::StrSplit(text, '\n', absl::SkipEmpty());
      return absl::OkStatus();
  }
  return absl::InternalError("unknown config value kind");
}

absl::Status ValidateAddress(std::string_view key, const std::string& address,
                             bool allow_empty) {
  if (address.empty() && allow_empty) return absl::OkStatus();
  absl::StatusOr<HostPort> hp = ParseHostPort(address);
  if (!hp.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("config key \"%s\": %s", key, hp.status().message()));
  }
  return absl::OkStatus();
}

absl::Status ValidateTls(const ServerConfig& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"%s\" is required with %s",
        config.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
        config.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file"));
  }
  if (config.tls_cert_file.empty()) {
    if (!config.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "config key \"tls_client_ca_file\" needs TLS: set tls_cert_file "
          "and tls_key_file");
    }
    // Without TLS, only this machine may connect.
    for (const auto& [key, address] :
         {std::pair<std::string_view, const std::string&>{"grpc_address",
                                                          config.grpc_address},
          {"http_address", config.http_address}}) {
      if (address.empty() || IsLoopbackHost(ParseHostPort(address)->host)) {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrFormat(
          "config key \"%s\": %s is not a loopback address, so it needs TLS "
          "(tls_cert_file and tls_key_file)",
          key, address));
    }
  }
  if (config.tls_client_ca_file.empty() != config.tls_operator_name.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"%s\" is required with %s: with client certificates, "
        "the registry operator is known by its certificate's name",
        config.tls_client_ca_file.empty() ? "tls_client_ca_file"
                                          : "tls_operator_name",
        config.tls_client_ca_file.empty() ? "tls_operator_name"
                                          : "tls_client_ca_file"));
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const auto* const keys = [] {
    auto* k = new std::vector<ConfigKey>;
    for (const Setting& s : Settings()) k->push_back(s.key);
    return k;
  }();
  return *keys;
}

absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view json) {
  // nlohmann keeps the last of repeated keys silently; a strict config
  // refuses them, so the parser callback records each top-level key.
  std::set<std::string> seen;
  std::string repeated;
  const Json::parser_callback_t track_keys = [&](int depth,
                                                 Json::parse_event_t event,
                                                 Json& parsed) {
    if (depth == 1 && event == Json::parse_event_t::key && parsed.is_string()) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second && repeated.empty()) repeated = key;
    }
    return true;
  };
  Json doc;
  try {
    doc = Json::parse(json.begin(), json.end(), track_keys);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrFormat("config is not valid JSON: %s", e.what()));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config must be a JSON object, not %s", doc.type_name()));
  }
  if (!repeated.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("config key \"%s\" is given twice", repeated));
  }
  ServerConfig config;
  for (const auto& [key, value] : doc.items()) {
    const Setting* s = FindSetting(key);
    if (s == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown config key \"%s\"", key));
    }
    if (absl::Status st = SetFromJson(*s, value, &config); !st.ok()) return st;
  }
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read config file %s", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(
        absl::StrFormat("cannot read config file %s", path));
  }
  absl::StatusOr<ServerConfig> config = ParseServerConfig(text.str());
  if (!config.ok()) {
    return absl::Status(
        config.status().code(),
        absl::StrFormat("%s: %s", path, config.status().message()));
  }
  return config;
}

absl::Status ApplyConfigOverrides(
    const std::map<std::string, std::string>& overrides, ServerConfig* config) {
  ServerConfig updated = *config;
  for (const auto& [key, text] : overrides) {
    const Setting* s = FindSetting(key);
    if (s == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown config key \"%s\"", key));
    }
    if (absl::Status st = SetFromText(*s, text, &updated); !st.ok()) {
      return st;
    }
  }
  *config = std::move(updated);
  return absl::OkStatus();
}

absl::Status ValidateServerConfig(const ServerConfig& config) {
  if (absl::Status s =
          ValidateAddress("grpc_address", config.grpc_address, false);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateAddress("http_address", config.http_address, true);
      !s.ok()) {
    return s;
  }
  const std::pair<std::string_view, const std::string*> required[] = {
      {"data_dir", &config.data_dir},
      {"log_key_file", &config.log_key_file},
      {"registry_key_file", &config.registry_key_file},
  };
  for (const auto& [key, value] : required) {
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("config key \"%s\" is required", key));
    }
  }
  if (config.checkpoint_interval < absl::Milliseconds(10) ||
      config.checkpoint_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"checkpoint_interval\": %s is outside [10ms, 1h]",
        absl::FormatDuration(config.checkpoint_interval)));
  }
  const std::pair<std::string_view, uint64_t> counts[] = {
      {"max_pending", config.max_pending},
      {"max_integration_batch", config.max_integration_batch},
      {"max_batch", config.max_batch},
      {"max_entries_per_read", config.max_entries_per_read},
  };
  for (const auto& [key, value] : counts) {
    if (value == 0 || value > (uint64_t{1} << 24)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("config key \"%s\": %d is outside [1, %d]", key,
                          value, uint64_t{1} << 24));
    }
  }
  if (config.max_integration_batch > config.max_pending) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"max_integration_batch\": %d is more than max_pending %d",
        config.max_integration_batch, config.max_pending));
  }
  if (config.max_request_bytes < kMinRequestBytes ||
      config.max_request_bytes >
          static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"max_request_bytes\": %d is outside [%d, %d]",
        config.max_request_bytes, kMinRequestBytes,
        std::numeric_limits<int>::max()));
  }
  if (config.event_time_max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "config key \"event_time_max_age\" must be positive");
  }
  if (config.agency_burst > 0 && config.agency_rate_limit == 0) {
    return absl::InvalidArgumentError(
        "config key \"agency_burst\" is set but agency_rate_limit is not");
  }
  if (absl::Status s = ValidateTls(config); !s.ok()) return s;
  return ValidateWitnesses(config).status();
}

absl::StatusOr<WitnessPolicy> ValidateWitnesses(const ServerConfig& config) {
  WitnessPolicy policy;
  for (const std::string& setting : config.witnesses) {
    absl::StatusOr<WitnessEndpoint> witness = ParseWitnessSetting(setting);
    if (!witness.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "config key \"witnesses\": %s", witness.status().message()));
    }
    policy.witnesses.push_back(*std::move(witness));
  }
  if (policy.witnesses.empty()) {
    if (config.witness_quorum != 0) {
      return absl::InvalidArgumentError(
          "config key \"witness_quorum\" is set but no witnesses are");
    }
    return policy;
  }
  policy.ca_file = config.witness_ca_file;
  policy.quorum = config.witness_quorum == 0 ? policy.witnesses.size()
                                             : config.witness_quorum;
  if (absl::Status s = ValidateWitnessPolicy(policy); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config key \"%s\": %s",
        policy.quorum > policy.witnesses.size() ? "witness_quorum"
                                                : "witnesses",
        s.message()));
  }
  if (config.witness_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "config key \"witness_timeout\" must be positive");
  }
  return policy;
}

}  // namespace vigil::server
