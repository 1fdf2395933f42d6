// The log's witness policy against real witnesses (client/witness.h behind
// client/witness_server.h) on 127.0.0.1, and a log in the test process.

#include "server/witness_quorum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/witness.h"
#include "client/witness_server.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "server/log_reader.h"
#include "server/memory_storage.h"
#include "tests/testing/in_process_log.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"
#include "tests/testing/test_records.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::vigil::testing::IsError;
using ::vigil::testing::kTestOrigin;

// A witness process's parts, in this process: its key, state and server.
struct TestWitness {
  std::string name;
  std::unique_ptr<client::Witness> witness;
  std::unique_ptr<client::WitnessServer> server;

  std::string url() const {
    return absl::StrFormat("http://127.0.0.1:%d", server->port());
  }
  // The setting a log operator writes for this witness.
  std::string Setting() const {
    return absl::StrFormat("%s %s", witness->verifier().vkey(), url());
  }
};

class WitnessQuorumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(log_.Start().ok());
    ASSERT_TRUE(fork_.Start().ok());
    for (const char* name : {"witness.example/a", "witness.example/b"}) {
      // The witnesses trust both logs' keys (as during a key rotation), so
      // the second log is a fork of the first in their eyes.
      std::vector<merkle::Ed25519Verifier> keys = {log_.verifier(),
                                                   fork_.verifier()};
      absl::StatusOr<std::unique_ptr<client::Witness>> witness =
          client::Witness::Create(
              *merkle::Cosigner::Generate(name),
              {client::WitnessLog{kTestOrigin, std::move(keys)}},
              dir_.Sub(name), [] { return absl::Now(); });
      ASSERT_TRUE(witness.ok()) << witness.status();
      absl::StatusOr<std::unique_ptr<client::WitnessServer>> server =
          client::WitnessServer::Start({}, witness->get());
      ASSERT_TRUE(server.ok()) << server.status();
      witnesses_.push_back(
          TestWitness{name, *std::move(witness), *std::move(server)});
    }
  }

  // The policy over the test witnesses, k of them.
  WitnessPolicy Policy(size_t k) const {
    WitnessPolicy policy;
    for (const TestWitness& w : witnesses_) {
      policy.witnesses.push_back(*ParseWitnessSetting(w.Setting()));
    }
    policy.quorum = k;
    return policy;
  }

  // A checkpoint of `log` covering `agencies` more registrations.
  static std::shared_ptr<const SignedCheckpoint> Grow(
      testing::InProcessLog& log, int agencies) {
    uint64_t index = 0;
    for (int i = 0; i < agencies; ++i) {
      testing::TestAgency agency(absl::StrFormat("CA%07d", next_ori_++),
                                 v1::LOCAL_POLICE);
      index = *log.Register(agency);
    }
    return *log.WaitForSize(index + 1);
  }

  static const merkle::CosignatureVerifier* Key(const TestWitness& w) {
    return &w.witness->verifier();
  }

  static inline int next_ori_ = 1000;
  vigil::testing::TempDir dir_;
  testing::InProcessLog log_;
  testing::InProcessLog fork_;
  std::vector<TestWitness> witnesses_;
};

TEST_F(WitnessQuorumTest, BothWitnessesCosignAndTheirCosignaturesVerify) {
  WitnessQuorum quorum(Policy(2), absl::Seconds(10), &log_.reader());
  std::shared_ptr<const SignedCheckpoint> cp = Grow(log_, 3);
  absl::StatusOr<std::string> note = quorum.Cosign(*cp);
  ASSERT_TRUE(note.ok()) << note.status();
  // The log's signature is kept, first, byte for byte.
  EXPECT_TRUE(note->starts_with(cp->note));
  EXPECT_TRUE(merkle::OpenCheckpoint(*note, log_.verifier(), kTestOrigin).ok());
  const merkle::CosignatureVerifier* keys[] = {Key(witnesses_[0]),
                                               Key(witnesses_[1])};
  absl::StatusOr<merkle::CosignatureQuorum> both =
      merkle::VerifyCosignatureQuorum(*note, keys, 2);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_TRUE(quorum.CheckCosigned(*note).ok());
  EXPECT_THAT(quorum.CheckCosigned(cp->note),
              IsError(absl::StatusCode::kUnauthenticated, ""));

  // The next checkpoint goes with a consistency proof from this one.
  std::shared_ptr<const SignedCheckpoint> next = Grow(log_, 2);
  absl::StatusOr<std::string> next_note = quorum.Cosign(*next);
  ASSERT_TRUE(next_note.ok()) << next_note.status();
  EXPECT_TRUE(quorum.CheckCosigned(*next_note).ok());
}

TEST_F(WitnessQuorumTest, AnHttpsWitnessIsTrustedThroughTheConfiguredCa) {
  absl::StatusOr<testing::TestPki> ca =
      testing::TestPki::Create(dir_.Sub(""), "Witness CA");
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<testing::TestPki> stranger =
      testing::TestPki::Create(dir_.Sub(""), "Stranger CA");
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  absl::StatusOr<testing::TestPki::Issued> cert = ca->Issue("witness", true);
  ASSERT_TRUE(cert.ok()) << cert.status();
  client::WitnessServerOptions options;
  options.tls = {cert->cert_file, cert->key_file, ""};
  absl::StatusOr<std::unique_ptr<client::WitnessServer>> https =
      client::WitnessServer::Start(options, witnesses_[0].witness.get());
  ASSERT_TRUE(https.ok()) << https.status();
  const auto policy = [&](const std::string& scheme,
                          const std::string& ca_file) {
    WitnessPolicy p;
    p.witnesses.push_back(*ParseWitnessSetting(absl::StrFormat(
        "%s %s://127.0.0.1:%d", witnesses_[0].witness->verifier().vkey(),
        scheme, (*https)->port())));
    p.quorum = 1;
    p.ca_file = ca_file;
    return p;
  };
  std::shared_ptr<const SignedCheckpoint> cp = Grow(log_, 1);

  // Plain HTTP to the HTTPS listener, and a CA that did not issue its
  // certificate: no cosignature.
  WitnessQuorum plain(policy("http", ""), absl::Seconds(5), &log_.reader());
  EXPECT_THAT(plain.Cosign(*cp), IsError(absl::StatusCode::kUnavailable, ""));
  WitnessQuorum untrusting(policy("https", stranger->ca_file()),
                           absl::Seconds(5), &log_.reader());
  EXPECT_THAT(untrusting.Cosign(*cp),
              IsError(absl::StatusCode::kUnavailable, ""));

  WitnessQuorum trusting(policy("https", ca->ca_file()), absl::Seconds(5),
                         &log_.reader());
  absl::StatusOr<std::string> note = trusting.Cosign(*cp);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_TRUE(trusting.CheckCosigned(*note).ok());
}

TEST_F(WitnessQuorumTest, AWitnessDownFailsTwoOfTwoButNotOneOfTwo) {
  std::shared_ptr<const SignedCheckpoint> cp = Grow(log_, 1);
  witnesses_[1].server->Stop();

  WitnessQuorum both(Policy(2), absl::Seconds(2), &log_.reader());
  absl::StatusOr<std::string> refused = both.Cosign(*cp);
  EXPECT_THAT(refused, IsError(absl::StatusCode::kUnavailable,
                               "1 of the 2 witnesses cosigned"));
  EXPECT_THAT(refused.status().message(), HasSubstr(witnesses_[1].url()));

  WitnessQuorum one(Policy(1), absl::Seconds(2), &log_.reader());
  absl::StatusOr<std::string> note = one.Cosign(*cp);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_TRUE(one.CheckCosigned(*note).ok());
  EXPECT_THAT(both.CheckCosigned(*note),
              IsError(absl::StatusCode::kUnauthenticated, ""));
}

TEST_F(WitnessQuorumTest, AWitnessThatSawALargerTreeIsCaughtUpFromIt) {
  std::shared_ptr<const SignedCheckpoint> small = Grow(log_, 2);
  std::shared_ptr<const SignedCheckpoint> large = Grow(log_, 3);
  ASSERT_TRUE(WitnessQuorum(Policy(2), absl::Seconds(10), &log_.reader())
                  .Cosign(*small)
                  .ok());
  // A new policy object (a restarted server) knows no witness's size: each
  // answers 409 with the size it cosigned, and is sent the proof from it.
  WitnessQuorum restarted(Policy(2), absl::Seconds(10), &log_.reader());
  absl::StatusOr<std::string> note = restarted.Cosign(*large);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_TRUE(restarted.CheckCosigned(*note).ok());

  // Going back to the smaller tree cannot be proven to them.
  EXPECT_THAT(WitnessQuorum(Policy(1), absl::Seconds(10), &log_.reader())
                  .Cosign(*small),
              IsError(absl::StatusCode::kUnavailable, "larger than"));
}

TEST_F(WitnessQuorumTest, AForkIsRefusedByTheWitnesses) {
  ASSERT_TRUE(WitnessQuorum(Policy(2), absl::Seconds(10), &log_.reader())
                  .Cosign(*Grow(log_, 2))
                  .ok());
  // The same origin, a key the witnesses trust, another tree of one size.
  std::shared_ptr<const SignedCheckpoint> forked = Grow(fork_, 2);
  absl::StatusOr<std::string> note =
      WitnessQuorum(Policy(1), absl::Seconds(10), &fork_.reader())
          .Cosign(*forked);
  EXPECT_THAT(note, IsError(absl::StatusCode::kUnavailable, "422"));
}

TEST_F(WitnessQuorumTest, ACosignatureByAnotherKeyDoesNotCount) {
  // The operator configured a key the witness does not sign with.
  const merkle::Cosigner impostor =
      *merkle::Cosigner::Generate("witness.example/a");
  WitnessPolicy policy;
  policy.witnesses.push_back(*ParseWitnessSetting(absl::StrFormat(
      "%s %s", impostor.verifier().vkey(), witnesses_[0].url())));
  policy.quorum = 1;
  WitnessQuorum quorum(std::move(policy), absl::Seconds(10), &log_.reader());
  EXPECT_THAT(quorum.Cosign(*Grow(log_, 1)),
              IsError(absl::StatusCode::kUnavailable,
                      "without a cosignature by its key"));
}

TEST_F(WitnessQuorumTest, TheLogPublishesOnlyCosignedCheckpoints) {
  LogReader reader(&log_.storage());
  WitnessQuorum quorum(Policy(2), absl::Seconds(10), &reader);
  testing::InProcessLog::Options options;
  options.cosigner = &quorum;
  ASSERT_TRUE(log_.Start(options).ok());
  std::shared_ptr<const SignedCheckpoint> cp = Grow(log_, 2);
  ASSERT_NE(cp, nullptr);
  EXPECT_TRUE(quorum.CheckCosigned(cp->note).ok());
  // Served and stored with the cosignatures.
  EXPECT_EQ(log_.sequencer().Latest()->note, cp->note);
  EXPECT_EQ(log_.storage().ReadState()->checkpoint, cp->note);
  log_.Stop();  // Before `quorum` goes.
}

TEST(WitnessSettingTest, ParsesAKeyAndAUrl) {
  const merkle::Cosigner w = *merkle::Cosigner::Generate("witness.example");
  absl::StatusOr<WitnessEndpoint> parsed = ParseWitnessSetting(
      absl::StrFormat("%s http://127.0.0.1:7500/w", w.verifier().vkey()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->url, "http://127.0.0.1:7500/w");
  EXPECT_EQ(parsed->key.vkey(), w.verifier().vkey());
}

TEST(WitnessSettingTest, RefusesMalformedSettings) {
  const merkle::Cosigner w = *merkle::Cosigner::Generate("witness.example");
  const std::string vkey = w.verifier().vkey();
  const merkle::NoteKeyPair ed25519 = *merkle::GenerateNoteKey(
      "witness.example", merkle::kSignatureTypeEd25519);
  for (const std::string& bad : {
           std::string("http://127.0.0.1:7500"), vkey,
           vkey + "  http://127.0.0.1:7500", vkey + " ftp://127.0.0.1:7500",
           vkey + " http://a http://b",
           ed25519.verifier_key +
               " http://127.0.0.1:7500",  // Not a cosignature key.
       }) {
    EXPECT_THAT(ParseWitnessSetting(bad),
                IsError(absl::StatusCode::kInvalidArgument, ""))
        << bad;
  }
}

TEST(WitnessSettingTest, APolicyCountsEachKeyOnceAndNeedsAQuorumThatFits) {
  const merkle::Cosigner w = *merkle::Cosigner::Generate("witness.example");
  const WitnessEndpoint endpoint{w.verifier(), "http://127.0.0.1:1"};
  EXPECT_TRUE(ValidateWitnessPolicy({{endpoint}, 1, ""}).ok());
  EXPECT_THAT(ValidateWitnessPolicy({{endpoint}, 0, ""}),
              IsError(absl::StatusCode::kInvalidArgument, "outside [1, 1]"));
  EXPECT_THAT(ValidateWitnessPolicy({{endpoint}, 2, ""}),
              IsError(absl::StatusCode::kInvalidArgument, "outside [1, 1]"));
  EXPECT_THAT(ValidateWitnessPolicy({{endpoint, endpoint}, 2, ""}),
              IsError(absl::StatusCode::kInvalidArgument, "configured twice"));
}

}  // namespace
}  // namespace vigil::server
