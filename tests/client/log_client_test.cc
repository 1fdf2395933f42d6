#include "client/log_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/signing.h"
#include "merkle/tlog_proof.h"
#include "server/files.h"
#include "tests/testing/fake_log.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_records.h"

namespace vigil::client {
namespace {

using ::testing::HasSubstr;
using ::vigil::testing::IsError;
using Json = nlohmann::json;

constexpr char kOrigin[] = "vigil.example/fake";

std::string EntryNumber(int n) {
  return absl::StrFormat("entry %d of a fake log", n);
}

std::vector<std::string> Entries(int n, const std::string& tag = "") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(EntryNumber(i) + tag);
  return out;
}

Json EvidenceJson(const absl::Status& status) {
  std::optional<std::string> evidence = EvidenceOf(status);
  EXPECT_TRUE(evidence.has_value()) << status;
  return Json::parse(evidence.value_or("{}"));
}

class LogClientTest : public ::testing::Test {
 protected:
  LogClientTest() : server_(log_.Serve()) {}

  std::unique_ptr<LogClient> Client(LogClientOptions options = {}) {
    if (options.state_file == "-") {
      options.state_file.clear();
    } else if (options.state_file.empty()) {
      options.state_file = dir_.Sub("state");
    }
    options.initial_backoff = absl::Milliseconds(1);
    absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
    EXPECT_TRUE(trust.ok()) << trust.status();
    absl::StatusOr<std::unique_ptr<LogClient>> client =
        LogClient::Create(server_->InProcessChannel(grpc::ChannelArguments()),
                          *std::move(trust), options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  void AppendAndPublish(const std::vector<std::string>& entries) {
    for (const std::string& e : entries) log_.Append(e);
    log_.Publish();
  }

  // Signed records of a fresh agency.
  std::vector<v1::SignedPayload> Records(int n) {
    std::vector<v1::SignedPayload> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(SignAccessRecord(
          testing::RequesterRecord(agency_, absl::StrFormat("r-%d", i),
                                   absl::Now()),
          agency_.key));
    }
    return out;
  }

  testing::TempDir dir_;
  testing::FakeLog log_{kOrigin};
  std::unique_ptr<grpc::Server> server_;
  testing::TestAgency agency_{"CA0349400", v1::LOCAL_POLICE};
};

TEST_F(LogClientTest, TrustsTheFirstCheckpointAndKeepsItOnDisk) {
  AppendAndPublish(Entries(5));
  std::unique_ptr<LogClient> client = Client();
  absl::StatusOr<VerifiedCheckpoint> c = client->LatestCheckpoint();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->checkpoint.size, 5u);
  EXPECT_FALSE(c->previous.has_value());
  EXPECT_EQ(*server::ReadFile(dir_.Sub("state")), log_.checkpoint());
  EXPECT_EQ(client->trusted()->size, 5u);
}

TEST_F(LogClientTest, ExtendsTrustOnlyThroughAVerifiedConsistencyProof) {
  AppendAndPublish(Entries(5));
  std::unique_ptr<LogClient> client = Client();
  ASSERT_TRUE(client->LatestCheckpoint().ok());
  AppendAndPublish({"six", "seven", "eight"});
  absl::StatusOr<VerifiedCheckpoint> c = client->LatestCheckpoint();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->checkpoint.size, 8u);
  EXPECT_EQ(c->previous->size, 5u);
  EXPECT_EQ(log_.calls("GetConsistencyProof"), 1);
  EXPECT_EQ(*server::ReadFile(dir_.Sub("state")), log_.checkpoint());

  // A proof that does not hold is not taken on trust.
  AppendAndPublish({"nine"});
  log_.CorruptProofs();
  absl::StatusOr<VerifiedCheckpoint> bad = client->LatestCheckpoint();
  EXPECT_THAT(bad, IsError(absl::StatusCode::kFailedPrecondition,
                           "sizes 8 and 9 are not consistent"));
  EXPECT_EQ(client->trusted()->size, 8u);
}

TEST_F(LogClientTest, AnInconsistentHistoryIsRefusedWithEvidence) {
  AppendAndPublish(Entries(5));
  std::unique_ptr<LogClient> client = Client();
  ASSERT_TRUE(client->LatestCheckpoint().ok());
  const std::string trusted = log_.checkpoint();
  log_.ReplaceHistory(Entries(8, " (rewritten)"));
  absl::StatusOr<VerifiedCheckpoint> c = client->LatestCheckpoint();
  EXPECT_THAT(c, IsError(absl::StatusCode::kFailedPrecondition,
                         "sizes 5 and 8 are not consistent"));
  const Json evidence = EvidenceJson(c.status());
  EXPECT_EQ(evidence["kind"], "inconsistent-checkpoints");
  EXPECT_EQ(evidence["origin"], kOrigin);
  EXPECT_EQ(evidence["older_checkpoint"], trusted);
  EXPECT_EQ(evidence["newer_checkpoint"], log_.checkpoint());
  EXPECT_EQ(evidence["consistency_proof"]["new_size"], 8);
  EXPECT_FALSE(evidence["consistency_proof"]["hashes"].empty());
  // The state still holds the trusted checkpoint.
  EXPECT_EQ(*server::ReadFile(dir_.Sub("state")), trusted);
}

TEST_F(LogClientTest, TwoTreesOfOneSizeAreAFork) {
  AppendAndPublish(Entries(5));
  std::unique_ptr<LogClient> client = Client();
  ASSERT_TRUE(client->LatestCheckpoint().ok());
  log_.ReplaceHistory(Entries(5, " (forked)"));
  absl::StatusOr<VerifiedCheckpoint> c = client->LatestCheckpoint();
  EXPECT_THAT(c, IsError(absl::StatusCode::kFailedPrecondition,
                         "two different trees of size 5"));
  EXPECT_EQ(EvidenceJson(c.status())["kind"], "fork");
}

TEST_F(LogClientTest, ARollbackIsCaughtAcrossRuns) {
  AppendAndPublish(Entries(5));
  ASSERT_TRUE(Client()->LatestCheckpoint().ok());
  log_.ReplaceHistory(Entries(3));
  // A new client, as in a later run, reads the trusted state from disk.
  absl::StatusOr<VerifiedCheckpoint> c = Client()->LatestCheckpoint();
  EXPECT_THAT(c, IsError(absl::StatusCode::kFailedPrecondition,
                         "rolled back: its latest checkpoint has size 3"));
  EXPECT_EQ(EvidenceJson(c.status())["kind"], "rollback");
}

TEST_F(LogClientTest, ClientsSharingAStateFileNeverMoveItBackwards) {
  AppendAndPublish(Entries(2));
  std::unique_ptr<LogClient> b = Client();
  ASSERT_TRUE(b->LatestCheckpoint().ok());
  AppendAndPublish(Entries(2, " more"));
  std::unique_ptr<LogClient> a = Client();
  ASSERT_TRUE(a->LatestCheckpoint().ok());  // The file now trusts size 4.
  const std::string four = *server::ReadFile(dir_.Sub("state"));
  // A history consistent with what b saw (size 2), not with size 4.
  std::vector<std::string> forked = Entries(2);
  forked.push_back("forked");
  log_.ReplaceHistory(forked);
  absl::StatusOr<VerifiedCheckpoint> c = b->LatestCheckpoint();
  EXPECT_THAT(c, IsError(absl::StatusCode::kFailedPrecondition, "rolled back"));
  EXPECT_EQ(*server::ReadFile(dir_.Sub("state")), four);
}

TEST_F(LogClientTest, AStateFileOfAnotherLogIsRefused) {
  testing::FakeLog other(kOrigin);
  ASSERT_TRUE(
      server::WriteFileAtomically(dir_.Sub("state"), other.checkpoint()).ok());
  absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
  ASSERT_TRUE(trust.ok());
  LogClientOptions options;
  options.state_file = dir_.Sub("state");
  EXPECT_THAT(
      LogClient::Create(server_->InProcessChannel(grpc::ChannelArguments()),
                        *std::move(trust), options),
      IsError(absl::StatusCode::kFailedPrecondition, "does not verify"));
}

TEST_F(LogClientTest, ACheckpointTheLogDidNotSignIsRefused) {
  testing::FakeLog impostor(kOrigin);
  std::unique_ptr<grpc::Server> server = impostor.Serve();
  absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
  ASSERT_TRUE(trust.ok());
  LogClientOptions options;
  absl::StatusOr<std::unique_ptr<LogClient>> client =
      LogClient::Create(server->InProcessChannel(grpc::ChannelArguments()),
                        *std::move(trust), options);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<VerifiedCheckpoint> c = (*client)->LatestCheckpoint();
  EXPECT_THAT(c,
              IsError(absl::StatusCode::kUnauthenticated, "does not verify"));
  EXPECT_EQ(EvidenceJson(c.status())["kind"], "bad-checkpoint");
}

TEST_F(LogClientTest, AWitnessQuorumIsRequiredWhenConfigured) {
  absl::StatusOr<merkle::Cosigner> witness =
      merkle::Cosigner::Generate("witness.example");
  ASSERT_TRUE(witness.ok());
  absl::StatusOr<LogTrust> trust =
      LogTrust::FromKeys(log_.vkey(), "", {witness->verifier().vkey()}, 1);
  ASSERT_TRUE(trust.ok()) << trust.status();
  LogClientOptions options;
  absl::StatusOr<std::unique_ptr<LogClient>> client =
      LogClient::Create(server_->InProcessChannel(grpc::ChannelArguments()),
                        *std::move(trust), options);
  ASSERT_TRUE(client.ok());
  EXPECT_THAT(
      (*client)->LatestCheckpoint(),
      IsError(absl::StatusCode::kUnauthenticated, "0 of 1 witnesses cosigned"));
  EXPECT_THAT(LogTrust::FromKeys(log_.vkey(), "", {}, 1),
              IsError(absl::StatusCode::kInvalidArgument, "quorum of 1"));
}

TEST_F(LogClientTest, RetriesUnavailableAndGivesUpAfterMaxAttempts) {
  LogClientOptions options;
  options.max_attempts = 3;
  std::unique_ptr<LogClient> client = Client(options);
  log_.FailNextCalls(2, grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(client->LatestCheckpoint().ok());
  EXPECT_EQ(log_.calls("GetCheckpoint"), 3);

  log_.FailNextCalls(3, grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(client->LatestCheckpoint(),
              IsError(absl::StatusCode::kUnavailable, "injected"));
  EXPECT_EQ(log_.calls("GetCheckpoint"), 6);

  log_.FailNextCalls(1, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(client->LatestCheckpoint(),
              IsError(absl::StatusCode::kInvalidArgument, "injected"));
  EXPECT_EQ(log_.calls("GetCheckpoint"), 7);  // Not retried.
}

TEST_F(LogClientTest, EveryAttemptHasADeadline) {
  LogClientOptions options;
  options.call_timeout = absl::Milliseconds(50);
  options.max_attempts = 2;
  std::unique_ptr<LogClient> client = Client(options);
  log_.SetDelay(absl::Milliseconds(300));
  EXPECT_THAT(client->LatestCheckpoint(),
              IsError(absl::StatusCode::kDeadlineExceeded, "GetCheckpoint"));
  EXPECT_EQ(log_.calls("GetCheckpoint"), 2);
}

TEST_F(LogClientTest, SubmitBatchesAndReturnsResultsInOrder) {
  LogClientOptions options;
  options.batch_size = 64;
  options.concurrency = 4;
  std::unique_ptr<LogClient> client = Client(options);
  const std::vector<v1::SignedPayload> records = Records(1000);
  size_t last_progress = 0;
  std::vector<SubmitResult> results =
      client->Submit(records, /*wait_for_inclusion=*/false,
                     [&](size_t done) { last_progress = done; });
  ASSERT_EQ(results.size(), records.size());
  EXPECT_EQ(last_progress, records.size());
  EXPECT_EQ(log_.calls("SubmitRecords"), 16);  // ceil(1000 / 64)
  std::set<uint64_t> indices;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].status.ok()) << results[i].status;
    const std::string entry =
        *EntryOfSignedPayload(records[i], server::EntryKind::kAccessRecord);
    EXPECT_EQ(results[i].leaf_hash, merkle::HashLeaf(merkle::AsBytes(entry)));
    indices.insert(results[i].index);
  }
  EXPECT_EQ(indices.size(), 1000u);
  EXPECT_EQ(log_.size(), 1000u);

  // Again: nothing new, each at its index.
  std::vector<SubmitResult> again = client->Submit(records, false);
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_TRUE(again[i].duplicate);
    EXPECT_EQ(again[i].index, results[i].index);
  }
  EXPECT_EQ(log_.size(), 1000u);
}

TEST_F(LogClientTest, SubmitResendsOnlyThePushedBackRecords) {
  std::unique_ptr<LogClient> client = Client();
  log_.PushBackOnce();
  std::vector<SubmitResult> results = client->Submit(Records(10), false);
  for (const SubmitResult& r : results) {
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_FALSE(r.duplicate);
  }
  EXPECT_EQ(log_.calls("SubmitRecords"), 2);
  EXPECT_EQ(log_.size(), 10u);
}

TEST_F(LogClientTest, SubmitRefusesAWrongAcknowledgementWithEvidence) {
  std::unique_ptr<LogClient> client = Client();
  log_.CorruptLeafHashes();
  std::vector<SubmitResult> results = client->Submit(Records(2), false);
  EXPECT_THAT(results[0].status,
              IsError(absl::StatusCode::kDataLoss,
                      "not the hash of the submitted entry"));
  EXPECT_EQ(EvidenceJson(results[1].status)["kind"], "wrong-leaf-hash");
}

TEST_F(LogClientTest, SubmitVerifiesEachBundleAndItsCheckpoint) {
  std::unique_ptr<LogClient> client = Client();
  std::vector<SubmitResult> results = client->Submit(Records(3), true);
  absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
  for (const SubmitResult& r : results) {
    ASSERT_TRUE(r.status.ok()) << r.status;
    absl::StatusOr<merkle::TlogProof> bundle =
        merkle::ParseTlogProof(r.tlog_proof);
    ASSERT_TRUE(bundle.ok());
    EXPECT_TRUE(
        merkle::VerifyTlogProof(*bundle, r.leaf_hash, trust->Policy()).ok());
  }
  EXPECT_EQ(client->trusted()->size, 3u);

  log_.CorruptProofs();
  results = client->Submit(Records(1), true);
  EXPECT_THAT(results[0].status,
              IsError(absl::StatusCode::kDataLoss, "step 4 (inclusion)"));
  EXPECT_EQ(EvidenceJson(results[0].status)["kind"], "bad-tlog-proof");
}

TEST_F(LogClientTest, ProvesEntriesByIndexAndByLeafHash) {
  AppendAndPublish(Entries(7));
  std::unique_ptr<LogClient> client = Client();
  absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
  absl::StatusOr<ProvenEntry> by_index = client->ProveIndex(3);
  ASSERT_TRUE(by_index.ok()) << by_index.status();
  EXPECT_EQ(by_index->entry, EntryNumber(3));
  EXPECT_EQ(by_index->checkpoint.size, 7u);
  EXPECT_TRUE(merkle::VerifyTlogProof(
                  *merkle::ParseTlogProof(by_index->tlog_proof),
                  merkle::HashLeaf(merkle::AsBytes(by_index->entry)),
                  trust->Policy())
                  .ok());
  absl::StatusOr<ProvenEntry> by_hash =
      client->ProveLeafHash(merkle::HashLeaf(merkle::AsBytes(EntryNumber(6))));
  ASSERT_TRUE(by_hash.ok()) << by_hash.status();
  EXPECT_EQ(by_hash->index, 6u);
  EXPECT_THAT(client->ProveIndex(7),
              IsError(absl::StatusCode::kOutOfRange, "tree of size 7"));

  log_.CorruptProofs();
  absl::StatusOr<ProvenEntry> bad = client->ProveIndex(2);
  EXPECT_THAT(bad, IsError(absl::StatusCode::kDataLoss, "does not verify"));
  EXPECT_EQ(EvidenceJson(bad.status())["kind"], "bad-inclusion-proof");
}

TEST_F(LogClientTest, GetEntriesFollowsShortResponses) {
  AppendAndPublish(Entries(10));
  log_.SetMaxEntriesPerCall(3);
  LogClientOptions options;
  options.state_file = "-";  // None.
  std::unique_ptr<LogClient> client = Client(options);
  absl::StatusOr<std::vector<std::string>> entries = client->GetEntries(0, 10);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(*entries, Entries(10));
  EXPECT_EQ(log_.calls("GetEntries"), 4);
}

}  // namespace
}  // namespace vigil::client
