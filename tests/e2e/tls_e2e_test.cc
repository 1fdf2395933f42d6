// End-to-end tests of transport security with the real vigil-server: TLS on
// the gRPC and HTTP listeners, and mutual TLS tying each write to a client
// certificate. An agency's certificate names its ORI; the registry
// operator's names the operator. Certificates come from a throwaway CA
// (tests/testing/test_pki.h); every server is started on 127.0.0.1 with
// port 0 and killed at the end of its test.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/http_tile_source.h"
#include "client/signing.h"
#include "merkle/checkpoint.h"
#include "server/tls.h"
#include "tests/testing/e2e_fixture.h"
#include "tests/testing/log_calls.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_pki.h"
#include "tests/testing/test_records.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::vigil::testing::CallContext;
using ::vigil::testing::TestAgency;
using ::vigil::testing::TestPki;

constexpr char kOrigin[] = "vigil.example/tls";
constexpr char kOperator[] = "vigil-registry-operator";

class TlsE2eTest : public testing::ServerE2EFixture {
 protected:
  TlsE2eTest() : ServerE2EFixture(kOrigin) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ServerE2EFixture::SetUp());
    absl::StatusOr<TestPki> ca = TestPki::Create(dir_.Sub(""), "Agencies CA");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_.emplace(*std::move(ca));
    absl::StatusOr<TestPki> impostor =
        TestPki::Create(dir_.Sub(""), "Impostor CA");
    ASSERT_TRUE(impostor.ok()) << impostor.status();
    impostor_.emplace(*std::move(impostor));
    ASSERT_NO_FATAL_FAILURE(Issue(*ca_, "log.vigil.test", true, &server_cert_));
    ASSERT_NO_FATAL_FAILURE(Issue(*ca_, kOperator, false, &operator_cert_));
    ASSERT_NO_FATAL_FAILURE(Issue(*ca_, police_.ori, false, &police_cert_));
    ASSERT_NO_FATAL_FAILURE(Issue(*ca_, trooper_.ori, false, &trooper_cert_));
    ASSERT_NO_FATAL_FAILURE(
        Issue(*impostor_, police_.ori, false, &forged_police_cert_));
  }

  static void Issue(TestPki& ca, const std::string& name, bool server,
                    TestPki::Issued* out) {
    absl::StatusOr<TestPki::Issued> issued = ca.Issue(name, server);
    ASSERT_TRUE(issued.ok()) << issued.status();
    *out = *std::move(issued);
  }

  std::vector<std::string> ServeArgs(bool mutual) const {
    std::vector<std::string> args = {"serve",
                                     "--data-dir",
                                     dir_.Sub("db"),
                                     "--log-key-file",
                                     dir_.Sub("keys/log.skey"),
                                     "--registry-key-file",
                                     dir_.Sub("keys/registry.vkey"),
                                     "--grpc-address",
                                     "127.0.0.1:0",
                                     "--http-address",
                                     "127.0.0.1:0",
                                     "--checkpoint-interval",
                                     "100ms",
                                     "--tls-cert-file",
                                     server_cert_.cert_file,
                                     "--tls-key-file",
                                     server_cert_.key_file};
    if (mutual) {
      args.insert(args.end(), {"--tls-client-ca-file", ca_->ca_file(),
                               "--tls-operator-name", kOperator});
    }
    return args;
  }

  void StartServer(bool mutual = true) {
    absl::Status started =
        server_.Start(VIGIL_SERVER_BINARY, ServeArgs(mutual), true);
    ASSERT_TRUE(started.ok()) << started;
  }

  // A channel to the server trusting `trusted_ca` and presenting `client`
  // (if any).
  std::shared_ptr<grpc::Channel> Channel(
      const std::string& trusted_ca,
      const std::optional<TestPki::Issued>& client) const {
    server::TlsFiles files;
    files.ca_file = trusted_ca;
    if (client.has_value()) {
      files.cert_file = client->cert_file;
      files.key_file = client->key_file;
    }
    absl::StatusOr<server::TlsMaterial> material = server::LoadTls(files);
    EXPECT_TRUE(material.ok()) << material.status();
    return grpc::CreateChannel(server_.grpc_address(),
                               material.ok()
                                   ? server::GrpcChannelCredentials(*material)
                                   : grpc::InsecureChannelCredentials());
  }
  std::shared_ptr<grpc::Channel> As(
      const std::optional<TestPki::Issued>& client) const {
    return Channel(ca_->ca_file(), client);
  }

  grpc::Status ChangeRegistry(const std::shared_ptr<grpc::Channel>& channel,
                              const v1::RegistryChange& change) const {
    v1::SubmitRegistryChangeRequest request;
    *request.mutable_change() =
        client::SignRegistryChange(change, *registry_key_);
    v1::RecordResult result;
    return v1::RegistryService::NewStub(channel)->SubmitRegistryChange(
        CallContext().get(), request, &result);
  }

  void RegisterAgencies() {
    for (const TestAgency* agency : {&police_, &trooper_}) {
      const grpc::Status s = ChangeRegistry(
          As(operator_cert_), testing::RegisterAgency(*agency, absl::Now()));
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }

  static v1::SignedPayload Signed(const TestAgency& agency,
                                  const std::string& id) {
    return client::SignAccessRecord(
        testing::RequesterRecord(agency, id, absl::Now()), agency.key);
  }

  static grpc::Status SubmitOne(const std::shared_ptr<grpc::Channel>& channel,
                                const v1::SignedPayload& record) {
    v1::SubmitRecordRequest request;
    *request.mutable_record() = record;
    v1::RecordResult result;
    return v1::LogService::NewStub(channel)->SubmitRecord(CallContext().get(),
                                                          request, &result);
  }

  static grpc::Status GetCheckpoint(
      const std::shared_ptr<grpc::Channel>& channel) {
    v1::CheckpointResponse response;
    return v1::LogService::NewStub(channel)->GetCheckpoint(CallContext().get(),
                                                           {}, &response);
  }

  // The log's size as its latest checkpoint says, read anonymously.
  uint64_t LogSize() {
    v1::CheckpointResponse response;
    const grpc::Status s =
        v1::LogService::NewStub(As(std::nullopt))
            ->GetCheckpoint(CallContext().get(), {}, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.size();
  }

  std::optional<TestPki> ca_;
  std::optional<TestPki> impostor_;
  TestPki::Issued server_cert_;
  TestPki::Issued operator_cert_;
  TestPki::Issued police_cert_;
  TestPki::Issued trooper_cert_;
  TestPki::Issued forged_police_cert_;
  TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
  TestAgency trooper_{"CA0190000", v1::STATE_POLICE};
};

TEST_F(TlsE2eTest, OnlyTheOperatorsCertificateChangesTheRegistry) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const v1::RegistryChange change =
      testing::RegisterAgency(police_, absl::Now());

  // Without a client certificate, and with an agency's: refused, although
  // the change carries the registry key's valid signature.
  grpc::Status s = ChangeRegistry(As(std::nullopt), change);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("client certificate"));
  s = ChangeRegistry(As(police_cert_), change);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr(kOperator));
  EXPECT_THAT(s.error_message(), HasSubstr(police_.ori));

  s = ChangeRegistry(As(operator_cert_), change);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TlsE2eTest, ALeakedRecordKeyIsUselessWithoutTheAgencysCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(RegisterAgencies());
  const uint64_t registered = 2;

  // The state police hold the police's leaked record key: every record it
  // signs with it is refused, one by one, while its own go in.
  const grpc::Status one =
      SubmitOne(As(trooper_cert_), Signed(police_, "leaked-1"));
  EXPECT_EQ(one.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(one.error_message(), HasSubstr(police_.ori));
  EXPECT_THAT(one.error_message(), HasSubstr(trooper_.ori));

  v1::SubmitRecordsRequest batch;
  *batch.add_records() = Signed(police_, "leaked-2");
  *batch.add_records() = Signed(trooper_, "own-1");
  v1::SubmitRecordsResponse response;
  grpc::Status s = v1::LogService::NewStub(As(trooper_cert_))
                       ->SubmitRecords(CallContext().get(), batch, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.results(1).code(), 0) << response.results(1).message();

  // Without a certificate nothing is taken, whatever the signature.
  s = SubmitOne(As(std::nullopt), Signed(police_, "anonymous"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = v1::LogService::NewStub(As(std::nullopt))
          ->SubmitRecords(CallContext().get(), batch, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // The police's own certificate and key: taken.
  s = SubmitOne(As(police_cert_), Signed(police_, "own-2"));
  EXPECT_TRUE(s.ok()) << s.error_message();

  // Exactly the two genuine records were logged.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (LogSize() < registered + 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(300));  // Two checkpoint intervals.
  EXPECT_EQ(LogSize(), registered + 2);
}

TEST_F(TlsE2eTest, HandshakesFailWithoutTheRightCertificates) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(RegisterAgencies());

  // Reads need no client certificate, only TLS.
  EXPECT_TRUE(GetCheckpoint(As(std::nullopt)).ok());

  // Plaintext to a TLS listener.
  EXPECT_EQ(
      GetCheckpoint(grpc::CreateChannel(server_.grpc_address(),
                                        grpc::InsecureChannelCredentials()))
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
  // A client that does not trust the server's CA.
  EXPECT_EQ(
      GetCheckpoint(Channel(impostor_->ca_file(), std::nullopt)).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  // A certificate naming the police, from a CA the log does not trust.
  EXPECT_EQ(SubmitOne(As(forged_police_cert_), Signed(police_, "forged"))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsE2eTest, TheHttpReadPathServesHttpsOnly) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/false));
  // Without client certificates configured, anyone may write over TLS.
  const grpc::Status s = ChangeRegistry(
      As(std::nullopt), testing::RegisterAgency(police_, absl::Now()));
  ASSERT_TRUE(s.ok()) << s.error_message();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (LogSize() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }

  absl::StatusOr<std::unique_ptr<client::HttpTileSource>> https =
      client::HttpTileSource::FromUrl("https://" + server_.http_address(),
                                      ca_->ca_file());
  ASSERT_TRUE(https.ok()) << https.status();
  absl::StatusOr<std::string> note = (*https)->Fetch("checkpoint");
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_THAT(*note, HasSubstr(kOrigin));

  absl::StatusOr<std::unique_ptr<client::HttpTileSource>> plain =
      client::HttpTileSource::FromUrl("http://" + server_.http_address());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE((*plain)->Fetch("checkpoint").ok());
  absl::StatusOr<std::unique_ptr<client::HttpTileSource>> untrusting =
      client::HttpTileSource::FromUrl("https://" + server_.http_address(),
                                      impostor_->ca_file());
  ASSERT_TRUE(untrusting.ok()) << untrusting.status();
  EXPECT_EQ((*untrusting)->Fetch("checkpoint").status().code(),
            absl::StatusCode::kUnavailable);
}

// The command-line tools over mutual TLS: the operator registers with its
// certificate, the agency submits with its own, a stolen key with another
// agency's certificate gets nothing in, and watchdogs read and audit with
// TLS only.
TEST_F(TlsE2eTest, TheCommandLineToolsPresentTheirCertificates) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto vigil = [&](std::vector<std::string> args,
                         const std::optional<TestPki::Issued>& cert) {
    args.insert(args.begin(), VIGIL_CLI_BINARY);
    const bool reads_tiles = args[1] == "monitor";
    if (!reads_tiles) {
      args.insert(args.end(),
                  {"--server", server_.grpc_address(), "--log-key",
                   dir_.Sub("keys/log.vkey"), "--state", dir_.Sub("state")});
    }
    args.insert(args.end(), {"--tls-ca", ca_->ca_file()});
    if (cert.has_value()) {
      args.insert(args.end(),
                  {"--tls-cert", cert->cert_file, "--tls-key", cert->key_file});
    }
    absl::StatusOr<testing::CommandResult> r =
        testing::RunCommand(args, absl::Seconds(60));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : testing::CommandResult{};
  };
  absl::StatusOr<testing::CommandResult> keygen =
      testing::RunCommand({VIGIL_CLI_BINARY, "keygen", "--kind", "agency",
                           "--name", police_.ori, "--out", dir_.Sub("police")});
  ASSERT_TRUE(keygen.ok() && keygen->exit_code == 0)
      << (keygen.ok() ? keygen->output : keygen.status().ToString());
  const std::vector<std::string> registration = {
      "registry",       "register",
      "--registry-key", dir_.Sub("keys/registry.skey"),
      "--agency-key",   dir_.Sub("police.vkey"),
      "--class",        "LOCAL_POLICE",
      "--agency-name",  "Test police",
      "--agency-state", "CA"};
  testing::CommandResult r = vigil(registration, police_cert_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("needs the operator's client certificate"));
  r = vigil(registration, operator_cert_);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const int64_t now = absl::ToUnixMillis(absl::Now()) / 10;
  std::string csv =
      "record_id,submitter_role,correlation_id,event_time_centis,"
      "requesting_ori,operator,source_system,destination,message_key,"
      "data_categories,declared_purpose,legal_process,subject,outcome\n";
  for (int i = 0; i < 3; ++i) {
    csv += absl::StrFormat(
        "tls-%d,REQUESTER,CLETS-%d,%d,%s,badge 1,CLETS,CA,DQ,DMV_PII,"
        "CRIMINAL_INVESTIGATION,NONE,CA DL D%07d,HIT\n",
        i, i, now - i, police_.ori, i);
  }
  {
    std::ofstream out(dir_.Sub("lookups.csv"));
    out << csv;
  }
  const std::vector<std::string> submit = {
      "submit",     dir_.Sub("lookups.csv"),
      "--key",      dir_.Sub("police.skey"),
      "--openings", dir_.Sub("openings.jsonl"),
      "--wait"};
  r = vigil(submit, trooper_cert_);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));
  r = vigil(submit, police_cert_);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  r = vigil({"checkpoint"}, std::nullopt);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = vigil(
      {"monitor", "--log-url", "https://" + server_.http_address(), "--log-key",
       dir_.Sub("keys/log.vkey"), "--registry-key",
       dir_.Sub("keys/registry.vkey"), "--state", dir_.Sub("monitor.state")},
      std::nullopt);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The registration and the three lookups, every signature checked.
  EXPECT_THAT(r.output, HasSubstr("3 records, 1 registry changes"));
}

TEST_F(TlsE2eTest, TheServerRefusesBadTlsSettingsAtStartUp) {
  // A key that is not the certificate's, and a plaintext public listener.
  std::vector<std::string> args = ServeArgs(true);
  for (std::string& arg : args) {
    if (arg == server_cert_.key_file) arg = police_cert_.key_file;
  }
  absl::StatusOr<testing::CommandResult> run = testing::RunCommand([&] {
    std::vector<std::string> command = {VIGIL_SERVER_BINARY};
    command.insert(command.end(), args.begin(), args.end());
    return command;
  }());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_THAT(run->output,
              HasSubstr("is not the key of the first certificate"));

  run = testing::RunCommand(
      {VIGIL_SERVER_BINARY, "serve", "--data-dir", dir_.Sub("db"),
       "--log-key-file", dir_.Sub("keys/log.skey"), "--registry-key-file",
       dir_.Sub("keys/registry.vkey"), "--grpc-address", "0.0.0.0:0"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_THAT(run->output,
              HasSubstr("not a loopback address, so it needs TLS"));
}

}  // namespace
}  // namespace vigil
