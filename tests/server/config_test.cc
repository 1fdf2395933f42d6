#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "merkle/cosignature.h"
#include "server/http_listener.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;

using ::testing::HasSubstr;

ServerConfig Runnable() {
  ServerConfig c;
  c.data_dir = "/var/lib/vigil";
  c.log_key_file = "/etc/vigil/log.skey";
  c.registry_key_file = "/etc/vigil/registry.vkey";
  return c;
}

void WriteFile(const std::string& path, const std::string& content,
               mode_t mode) {
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

TEST(ServerConfigTest, EmptyObjectGivesTheDefaults) {
  absl::StatusOr<ServerConfig> c = ParseServerConfig("{}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, ServerConfig());
  EXPECT_EQ(c->checkpoint_interval, absl::Seconds(1));
  EXPECT_EQ(c->grpc_address, "127.0.0.1:7400");
}

TEST(ServerConfigTest, ParsesEverySetting) {
  absl::StatusOr<ServerConfig> c = ParseServerConfig(R"({
    "grpc_address": "0.0.0.0:9000",
    "http_address": "",
    "data_dir": "/data",
    "log_key_file": "/k/log.skey",
    "registry_key_file": "/k/registry.vkey",
    "origin": "example.gov/vigil",
    "checkpoint_interval": "250ms",
    "max_pending": 100,
    "max_integration_batch": 50,
    "max_batch": 10,
    "max_entries_per_read": 20,
    "max_request_bytes": 1048576,
    "event_time_max_age": "48h",
    "event_time_max_future_skew": "1m",
    "tls_cert_file": "/k/server.pem",
    "tls_key_file": "/k/server.key",
    "tls_client_ca_file": "/k/agencies-ca.pem",
    "tls_operator_name": "registry-operator",
    "witness_ca_file": "/k/witnesses-ca.pem"
  })");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_address, "0.0.0.0:9000");
  EXPECT_EQ(c->http_address, "");
  EXPECT_EQ(c->origin, "example.gov/vigil");
  EXPECT_EQ(c->checkpoint_interval, absl::Milliseconds(250));
  EXPECT_EQ(c->max_pending, 100u);
  EXPECT_EQ(c->max_integration_batch, 50u);
  EXPECT_EQ(c->max_batch, 10u);
  EXPECT_EQ(c->max_entries_per_read, 20u);
  EXPECT_EQ(c->max_request_bytes, 1048576u);
  EXPECT_EQ(c->event_time_max_age, absl::Hours(48));
  EXPECT_EQ(c->event_time_max_future_skew, absl::Minutes(1));
  EXPECT_EQ(c->tls_cert_file, "/k/server.pem");
  EXPECT_EQ(c->tls_key_file, "/k/server.key");
  EXPECT_EQ(c->tls_client_ca_file, "/k/agencies-ca.pem");
  EXPECT_EQ(c->tls_operator_name, "registry-operator");
  EXPECT_EQ(c->witness_ca_file, "/k/witnesses-ca.pem");
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
  EXPECT_EQ(ConfigKeys().size(), 25u);
}

// A witness setting, "<cosignature verifier key> <URL>", for witness `name`.
std::string WitnessSetting(const std::string& name, int port) {
  return absl::StrFormat("%s http://127.0.0.1:%d",
                         merkle::Cosigner::Generate(name)->verifier().vkey(),
                         port);
}

TEST(ServerConfigTest, WitnessesAreAListWithAQuorum) {
  const std::string a = WitnessSetting("witness.example/a", 7500);
  const std::string b = WitnessSetting("witness.example/b", 7501);
  absl::StatusOr<ServerConfig> c = ParseServerConfig(absl::StrFormat(
      R"({"witnesses": ["%s", "%s"], "witness_quorum": 1,
          "witness_timeout": "3s"})",
      a, b));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->witnesses, (std::vector<std::string>{a, b}));
  EXPECT_EQ(c->witness_timeout, absl::Seconds(3));
  c->data_dir = "/d";
  c->log_key_file = "/k";
  c->registry_key_file = "/r";
  absl::StatusOr<WitnessPolicy> policy = ValidateWitnesses(*c);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->quorum, 1u);
  ASSERT_EQ(policy->witnesses.size(), 2u);
  EXPECT_EQ(policy->witnesses[1].url, "http://127.0.0.1:7501");

  // A quorum of 0 means all of them; on the command line, one item a line.
  ServerConfig flags = Runnable();
  ASSERT_TRUE(ApplyConfigOverrides({{"witnesses", a + "\n" + b}}, &flags).ok());
  EXPECT_EQ(flags.witnesses, (std::vector<std::string>{a, b}));
  EXPECT_EQ(ValidateWitnesses(flags)->quorum, 2u);
  EXPECT_EQ(ValidateWitnesses(Runnable())->witnesses.size(), 0u);

  EXPECT_THAT(ParseServerConfig(R"({"witnesses": "one"})"),
              IsError(absl::StatusCode::kInvalidArgument, "\"witnesses\""));
  EXPECT_THAT(ParseServerConfig(R"({"witnesses": ["a", 1]})"),
              IsError(absl::StatusCode::kInvalidArgument, "\"witnesses\""));
  auto with = [&](auto change) {
    ServerConfig config = Runnable();
    config.witnesses = {a, b};
    change(config);
    return ValidateServerConfig(config);
  };
  EXPECT_TRUE(with([](ServerConfig&) {}).ok());
  EXPECT_THAT(with([](ServerConfig& c) { c.witness_quorum = 3; }),
              IsError(absl::StatusCode::kInvalidArgument, "witness_quorum"));
  EXPECT_THAT(with([](ServerConfig& c) {
                c.witnesses.clear();
                c.witness_quorum = 1;
              }),
              IsError(absl::StatusCode::kInvalidArgument, "witness_quorum"));
  EXPECT_THAT(with([&](ServerConfig& c) {
                c.witnesses = {a, a};
              }),
              IsError(absl::StatusCode::kInvalidArgument, "configured twice"));
  EXPECT_THAT(
      with([](ServerConfig& c) { c.witnesses[0] = "http://127.0.0.1:7500"; }),
      IsError(absl::StatusCode::kInvalidArgument, "\"witnesses\""));
  EXPECT_THAT(
      with([](ServerConfig& c) { c.witness_timeout = absl::ZeroDuration(); }),
      IsError(absl::StatusCode::kInvalidArgument, "witness_timeout"));
}

TEST(ServerConfigTest, StrictParsingNamesTheKey) {
  EXPECT_THAT(ParseServerConfig(R"({"max_batchh": 3})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "unknown config key \"max_batchh\""));
  EXPECT_THAT(ParseServerConfig(R"({"max_batch": 3, "max_batch": 4})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "\"max_batch\" is given twice"));
  EXPECT_THAT(ParseServerConfig(R"({"max_batch": "3"})"),
              IsError(absl::StatusCode::kInvalidArgument, "\"max_batch\""));
  EXPECT_THAT(ParseServerConfig(R"({"max_batch": -3})"),
              IsError(absl::StatusCode::kInvalidArgument, "\"max_batch\""));
  EXPECT_THAT(ParseServerConfig(R"({"max_batch": 3.5})"),
              IsError(absl::StatusCode::kInvalidArgument, "\"max_batch\""));
  EXPECT_THAT(ParseServerConfig(R"({"data_dir": 7})"),
              IsError(absl::StatusCode::kInvalidArgument, "\"data_dir\""));
  EXPECT_THAT(
      ParseServerConfig(R"({"checkpoint_interval": 1})"),
      IsError(absl::StatusCode::kInvalidArgument, "\"checkpoint_interval\""));
  EXPECT_THAT(
      ParseServerConfig(R"({"checkpoint_interval": "soon"})"),
      IsError(absl::StatusCode::kInvalidArgument, "\"checkpoint_interval\""));
  EXPECT_THAT(
      ParseServerConfig(R"({"event_time_max_age": "-1h"})"),
      IsError(absl::StatusCode::kInvalidArgument, "\"event_time_max_age\""));
  EXPECT_THAT(ParseServerConfig("[]"),
              IsError(absl::StatusCode::kInvalidArgument, "JSON object"));
  EXPECT_THAT(ParseServerConfig("{\"data_dir\": "),
              IsError(absl::StatusCode::kInvalidArgument, "not valid JSON"));
  EXPECT_THAT(ParseServerConfig("{} {}"),
              IsError(absl::StatusCode::kInvalidArgument, "not valid JSON"));
}

TEST(ServerConfigTest, OverridesApplyAsTextAndAreStrict) {
  ServerConfig c = Runnable();
  ASSERT_TRUE(ApplyConfigOverrides({{"max_batch", "500"},
                                    {"checkpoint_interval", "2s"},
                                    {"grpc_address", "127.0.0.1:0"}},
                                   &c)
                  .ok());
  EXPECT_EQ(c.max_batch, 500u);
  EXPECT_EQ(c.checkpoint_interval, absl::Seconds(2));
  EXPECT_EQ(c.grpc_address, "127.0.0.1:0");

  const ServerConfig before = c;
  for (const auto& [key, value] :
       std::map<std::string, std::string>{{"max_batch", "01"},
                                          {"max_pending", "-1"},
                                          {"max_entries_per_read", "1e3"},
                                          {"max_request_bytes", ""},
                                          {"event_time_max_age", "forever"}}) {
    EXPECT_THAT(
        ApplyConfigOverrides({{"data_dir", "/other"}, {key, value}}, &c),
        IsError(absl::StatusCode::kInvalidArgument, key))
        << key << "=" << value;
    EXPECT_EQ(c, before) << "a refused override changed nothing";
  }
  EXPECT_THAT(ApplyConfigOverrides({{"nope", "1"}}, &c),
              IsError(absl::StatusCode::kInvalidArgument, "\"nope\""));
}

TEST(ServerConfigTest, ValidationNamesTheFirstProblem) {
  EXPECT_TRUE(ValidateServerConfig(Runnable()).ok());
  EXPECT_THAT(ValidateServerConfig(ServerConfig()),
              IsError(absl::StatusCode::kInvalidArgument, "data_dir"));
  auto with = [](auto change) {
    ServerConfig c = Runnable();
    change(c);
    return ValidateServerConfig(c);
  };
  EXPECT_THAT(with([](ServerConfig& c) { c.log_key_file.clear(); }),
              IsError(absl::StatusCode::kInvalidArgument, "log_key_file"));
  EXPECT_THAT(with([](ServerConfig& c) { c.grpc_address = "localhost"; }),
              IsError(absl::StatusCode::kInvalidArgument, "grpc_address"));
  EXPECT_THAT(with([](ServerConfig& c) { c.http_address = "x:99999"; }),
              IsError(absl::StatusCode::kInvalidArgument, "http_address"));
  EXPECT_TRUE(with([](ServerConfig& c) { c.http_address.clear(); }).ok());
  EXPECT_THAT(
      with([](ServerConfig& c) {
        c.checkpoint_interval = absl::ZeroDuration();
      }),
      IsError(absl::StatusCode::kInvalidArgument, "checkpoint_interval"));
  EXPECT_THAT(with([](ServerConfig& c) { c.max_batch = 0; }),
              IsError(absl::StatusCode::kInvalidArgument, "max_batch"));
  EXPECT_THAT(
      with([](ServerConfig& c) { c.max_integration_batch = 1 << 20; }),
      IsError(absl::StatusCode::kInvalidArgument, "max_integration_batch"));
  EXPECT_THAT(with([](ServerConfig& c) { c.max_request_bytes = 1000; }),
              IsError(absl::StatusCode::kInvalidArgument, "max_request_bytes"));
  EXPECT_THAT(
      with(
          [](ServerConfig& c) { c.event_time_max_age = absl::ZeroDuration(); }),
      IsError(absl::StatusCode::kInvalidArgument, "event_time_max_age"));
  EXPECT_THAT(with([](ServerConfig& c) { c.agency_burst = 10; }),
              IsError(absl::StatusCode::kInvalidArgument, "agency_burst"));
  EXPECT_TRUE(with([](ServerConfig& c) {
                c.agency_rate_limit = 5;
                c.agency_burst = 10;
                c.agency_daily_quota = 1000;
              }).ok());
}

TEST(ServerConfigTest, TlsSettingsComeTogetherAndGuardPublicAddresses) {
  auto with = [](auto change) {
    ServerConfig c = Runnable();
    change(c);
    return ValidateServerConfig(c);
  };
  const auto tls = [](ServerConfig& c) {
    c.tls_cert_file = "/k/server.pem";
    c.tls_key_file = "/k/server.key";
  };
  // Without TLS, only loopback listeners.
  EXPECT_THAT(with([](ServerConfig& c) { c.grpc_address = "0.0.0.0:7400"; }),
              IsError(absl::StatusCode::kInvalidArgument,
                      "\"grpc_address\": 0.0.0.0:7400 is not a loopback"));
  EXPECT_THAT(with([](ServerConfig& c) { c.http_address = "[::]:7401"; }),
              IsError(absl::StatusCode::kInvalidArgument, "http_address"));
  EXPECT_THAT(
      with([](ServerConfig& c) { c.http_address = "127.evil.example:7401"; }),
      IsError(absl::StatusCode::kInvalidArgument, "needs TLS"));
  for (const char* loopback :
       {"127.0.0.1:1", "127.9.9.9:1", "[::1]:1", "localhost:1"}) {
    EXPECT_TRUE(with([&](ServerConfig& c) { c.grpc_address = loopback; }).ok())
        << loopback;
  }
  EXPECT_TRUE(with([&](ServerConfig& c) {
                tls(c);
                c.grpc_address = "0.0.0.0:7400";
                c.http_address = "[::]:7401";
              }).ok());
  // A certificate needs its key, client certificates need TLS and an
  // operator name, and the other way round.
  EXPECT_THAT(with([](ServerConfig& c) { c.tls_cert_file = "/k/s.pem"; }),
              IsError(absl::StatusCode::kInvalidArgument, "tls_key_file"));
  EXPECT_THAT(with([](ServerConfig& c) { c.tls_key_file = "/k/s.key"; }),
              IsError(absl::StatusCode::kInvalidArgument, "tls_cert_file"));
  EXPECT_THAT(with([](ServerConfig& c) {
                c.tls_client_ca_file = "/k/ca.pem";
                c.tls_operator_name = "operator";
              }),
              IsError(absl::StatusCode::kInvalidArgument, "needs TLS"));
  EXPECT_THAT(with([&](ServerConfig& c) {
                tls(c);
                c.tls_client_ca_file = "/k/ca.pem";
              }),
              IsError(absl::StatusCode::kInvalidArgument, "tls_operator_name"));
  EXPECT_THAT(
      with([&](ServerConfig& c) {
        tls(c);
        c.tls_operator_name = "operator";
      }),
      IsError(absl::StatusCode::kInvalidArgument, "tls_client_ca_file"));
  EXPECT_TRUE(with([&](ServerConfig& c) {
                tls(c);
                c.tls_client_ca_file = "/k/ca.pem";
                c.tls_operator_name = "operator";
              }).ok());
}

TEST(ServerConfigTest, LoadNamesTheFile) {
  testing::TempDir dir;
  EXPECT_THAT(LoadServerConfig(dir.Sub("missing.json")),
              IsError(absl::StatusCode::kNotFound, "missing.json"));
  WriteFile(dir.Sub("bad.json"), R"({"colour": "blue"})", 0644);
  EXPECT_THAT(LoadServerConfig(dir.Sub("bad.json")),
              IsError(absl::StatusCode::kInvalidArgument, "bad.json"));
  EXPECT_THAT(LoadServerConfig(dir.Sub("bad.json")),
              IsError(absl::StatusCode::kInvalidArgument, "\"colour\""));
}

TEST(ServerConfigTest, TheShippedExampleIsValid) {
  const std::filesystem::path source =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  absl::StatusOr<ServerConfig> c =
      LoadServerConfig((source / "server/vigil-server.example.json").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
}

}  // namespace
}  // namespace vigil::server
