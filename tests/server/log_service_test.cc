#include "server/log_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "client/signing.h"
#include "merkle/checkpoint.h"
#include "merkle/proof.h"
#include "merkle/tiles.h"
#include "merkle/tlog_proof.h"
#include "server/entry.h"
#include "tests/testing/fault_storage.h"
#include "tests/testing/in_process_log.h"
#include "tests/testing/reference_tree.h"
#include "tests/testing/test_records.h"

namespace vigil::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::vigil::testing::InProcessLog;
using ::vigil::testing::RequesterRecord;
using ::vigil::testing::TestAgency;

constexpr int kOk = 0;
constexpr int kInvalidArgument = 3;
constexpr int kPermissionDenied = 7;
constexpr int kResourceExhausted = 8;
constexpr int kUnauthenticated = 16;

merkle::Hash ToHash(const std::string& bytes) {
  merkle::Hash h{};
  EXPECT_EQ(bytes.size(), h.size());
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

// The entry the log stores for `p`.
std::string EntryOf(const v1::SignedPayload& p) {
  Entry e;
  e.kind = EntryKind::kAccessRecord;
  std::copy(p.public_key().begin(), p.public_key().end(), e.public_key.begin());
  std::copy(p.signature().begin(), p.signature().end(), e.signature.begin());
  e.payload = p.payload();
  return EncodeEntry(e);
}

class LogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(log_.Start(options_).ok());
    absl::StatusOr<uint64_t> index = log_.Register(police_);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ(*index, 0u);
  }

  v1::SignedPayload Signed(const std::string& id,
                           absl::Time when = absl::Now()) {
    return client::SignAccessRecord(RequesterRecord(police_, id, when),
                                    police_.key);
  }

  v1::SubmitRecordsResponse SubmitBatch(
      const std::vector<v1::SignedPayload>& records, bool wait = false,
      grpc::Status* status_out = nullptr) {
    v1::SubmitRecordsRequest request;
    for (const auto& r : records) *request.add_records() = r;
    request.set_wait_for_inclusion(wait);
    v1::SubmitRecordsResponse response;
    const grpc::Status status = log_.log().SubmitRecords(
        InProcessLog::Context().get(), request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return response;
  }

  grpc::Status SubmitOne(const v1::SignedPayload& record, bool wait,
                         v1::RecordResult* result) {
    v1::SubmitRecordRequest request;
    *request.mutable_record() = record;
    request.set_wait_for_inclusion(wait);
    return log_.log().SubmitRecord(InProcessLog::Context().get(), request,
                                   result);
  }

  merkle::TlogProofPolicy Policy() const {
    return merkle::TlogProofPolicy{
        testing::kTestOrigin, &log_.verifier(), {}, 0};
  }

  InProcessLog::Options options_;
  InProcessLog log_;
  TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
};

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status s = ToGrpcStatus(absl::OutOfRangeError("index 9"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "index 9");
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("full")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(absl::DataLossError("x")).error_code(),
            grpc::StatusCode::DATA_LOSS);
}

TEST_F(LogServiceTest, SubmitRecordsAppendsEachRecordInOrder) {
  std::vector<v1::SignedPayload> records = {Signed("a"), Signed("b"),
                                            Signed("c")};
  v1::SubmitRecordsResponse response = SubmitBatch(records);
  ASSERT_EQ(response.results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const v1::RecordResult& r = response.results(i);
    EXPECT_EQ(r.code(), kOk) << r.message();
    EXPECT_EQ(r.index(), static_cast<uint64_t>(i + 1));
    EXPECT_FALSE(r.duplicate());
    EXPECT_EQ(ToHash(r.leaf_hash()),
              merkle::HashLeaf(merkle::AsBytes(EntryOf(records[i]))));
    EXPECT_TRUE(r.tlog_proof().empty());
  }
}

TEST_F(LogServiceTest, WaitForInclusionReturnsVerifiedBundles) {
  std::vector<v1::SignedPayload> records = {Signed("a"), Signed("b")};
  v1::SubmitRecordsResponse response = SubmitBatch(records, /*wait=*/true);
  ASSERT_EQ(response.results_size(), 2);
  for (int i = 0; i < 2; ++i) {
    const v1::RecordResult& r = response.results(i);
    ASSERT_EQ(r.code(), kOk) << r.message();
    absl::StatusOr<merkle::TlogProof> proof =
        merkle::ParseTlogProof(r.tlog_proof());
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(proof->index, r.index());
    const merkle::Hash leaf =
        merkle::HashLeaf(merkle::AsBytes(EntryOf(records[i])));
    absl::StatusOr<merkle::VerifiedTlogProof> verified =
        merkle::VerifyTlogProof(*proof, leaf, Policy());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_GE(verified->checkpoint.size, 3u);
  }
}

TEST_F(LogServiceTest, SubmitRecordStatusIsTheRecords) {
  v1::RecordResult result;
  grpc::Status status = SubmitOne(Signed("one"), /*wait=*/true, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.index(), 1u);
  EXPECT_FALSE(result.tlog_proof().empty());

  TestAgency stranger("NY0000000", v1::LOCAL_POLICE);
  status =
      SubmitOne(client::SignAccessRecord(
                    RequesterRecord(stranger, "x", absl::Now()), stranger.key),
                false, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(LogServiceTest, ResubmissionIsADuplicateAtTheOriginalIndex) {
  const v1::SignedPayload record = Signed("dup");
  v1::RecordResult first;
  ASSERT_TRUE(SubmitOne(record, false, &first).ok());
  SubmitBatch({Signed("other")});
  v1::RecordResult again;
  ASSERT_TRUE(SubmitOne(record, true, &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.index(), first.index());
  EXPECT_EQ(again.leaf_hash(), first.leaf_hash());
  EXPECT_FALSE(again.tlog_proof().empty());
}

TEST_F(LogServiceTest, BatchMixingValidAndInvalidAppendsOnlyTheValid) {
  v1::SignedPayload bad_signature = Signed("bad");
  bad_signature.mutable_signature()->at(5) ^= 1;
  TestAgency stranger("NY0000000", v1::LOCAL_POLICE);
  v1::SignedPayload unknown = client::SignAccessRecord(
      RequesterRecord(stranger, "x", absl::Now()), stranger.key);
  v1::SignedPayload stale = Signed("stale", absl::Now() - absl::Hours(24 * 30));

  v1::SubmitRecordsResponse response =
      SubmitBatch({Signed("v1"), bad_signature, Signed("v2"), unknown, stale});
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).code(), kOk);
  EXPECT_EQ(response.results(1).code(), kUnauthenticated);
  EXPECT_EQ(response.results(2).code(), kOk);
  EXPECT_EQ(response.results(3).code(), kPermissionDenied);
  EXPECT_EQ(response.results(4).code(), kInvalidArgument);
  EXPECT_THAT(response.results(4).message(), HasSubstr("event_time_centis"));
  EXPECT_EQ(response.results(0).index(), 1u);
  EXPECT_EQ(response.results(2).index(), 2u);
  // Nothing else was appended: the next record lands right after.
  v1::RecordResult next;
  ASSERT_TRUE(SubmitOne(Signed("next"), true, &next).ok());
  EXPECT_EQ(next.index(), 3u);
}

TEST_F(LogServiceTest, BatchSizeIsBounded) {
  grpc::Status status;
  SubmitBatch({}, false, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  log_.Stop();
  options_.service.max_batch = 2;
  ASSERT_TRUE(log_.Start(options_).ok());
  SubmitBatch({Signed("a"), Signed("b"), Signed("c")}, false, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("records"));
  v1::SubmitRecordsResponse ok = SubmitBatch({Signed("a"), Signed("b")});
  EXPECT_EQ(ok.results(0).index(), 1u);
}

TEST(LogServiceQueueTest, ARequestsRecordsAreWrittenInOneCommit) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  InProcessLog log(&storage);
  ASSERT_TRUE(log.Start({}).ok());
  TestAgency police("CA0340000", v1::LOCAL_POLICE);
  ASSERT_TRUE(log.Register(police).ok());
  absl::Mutex mu;
  std::vector<size_t> commits;  // Entries per commit.
  storage.SetCommitHook([&](const WriteSet& writes) {
    absl::MutexLock lock(&mu);
    if (!writes.entries.empty()) commits.push_back(writes.entries.size());
  });
  v1::SubmitRecordsRequest request;
  for (int i = 0; i < 200; ++i) {
    *request.add_records() = client::SignAccessRecord(
        RequesterRecord(police, absl::StrFormat("r%d", i), absl::Now()),
        police.key);
  }
  // One record the checks refuse does not split the rest.
  request.mutable_records(100)->set_signature(std::string(64, 'x'));
  v1::SubmitRecordsResponse response;
  ASSERT_TRUE(
      log.log()
          .SubmitRecords(InProcessLog::Context().get(), request, &response)
          .ok());
  storage.SetCommitHook(nullptr);
  ASSERT_EQ(response.results_size(), 200);
  EXPECT_EQ(response.results(100).code(), kUnauthenticated);
  EXPECT_EQ(response.results(101).index(), response.results(99).index() + 1);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(commits, ElementsAre(199u));
}

TEST(LogServiceQueueTest, FullQueueIsResourceExhaustedPerRecord) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  InProcessLog log(&storage);
  InProcessLog::Options options;
  options.max_pending = 2;
  ASSERT_TRUE(log.Start(options).ok());
  TestAgency police("CA0340000", v1::LOCAL_POLICE);
  ASSERT_TRUE(log.Register(police).ok());

  // Hold the sequencer inside its next write so the queue fills up.
  absl::Notification entered;
  absl::Notification release;
  std::atomic<bool> hold{true};
  storage.SetCommitHook([&](const WriteSet& writes) {
    if (!writes.entries.empty() && hold.exchange(false)) {
      entered.Notify();
      release.WaitForNotification();
    }
  });
  v1::SubmitRecordRequest first;
  *first.mutable_record() = client::SignAccessRecord(
      RequesterRecord(police, "first", absl::Now()), police.key);
  v1::RecordResult first_result;
  grpc::Status first_status;
  std::thread blocked([&] {
    first_status = log.log().SubmitRecord(InProcessLog::Context().get(), first,
                                          &first_result);
  });
  entered.WaitForNotification();

  v1::SubmitRecordsRequest request;
  for (int i = 0; i < 4; ++i) {
    *request.add_records() = client::SignAccessRecord(
        RequesterRecord(police, absl::StrFormat("r%d", i), absl::Now()),
        police.key);
  }
  v1::SubmitRecordsResponse response;
  // The call completes once the queued records are written: release the
  // writer from another thread after the refusals are certain.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    release.Notify();
  });
  const grpc::Status status = log.log().SubmitRecords(
      InProcessLog::Context().get(), request, &response);
  releaser.join();
  blocked.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(first_status.ok());
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.results(0).code(), kOk);
  EXPECT_EQ(response.results(1).code(), kOk);
  EXPECT_EQ(response.results(2).code(), kResourceExhausted);
  EXPECT_EQ(response.results(3).code(), kResourceExhausted);
  storage.SetCommitHook(nullptr);
}

TEST(LogServiceLimitsTest, AFloodingAgencyCannotStarveAnother) {
  InProcessLog log;
  InProcessLog::Options options;
  options.service.agency_limits = AgencyLimitOptions{100, 100, 250};
  absl::Mutex mu;
  absl::Time now = absl::Now();
  options.service.clock = [&] {
    absl::MutexLock lock(&mu);
    return now;
  };
  ASSERT_TRUE(log.Start(options).ok());
  TestAgency police("CA0340000", v1::LOCAL_POLICE);
  TestAgency sheriff("CA0190000", v1::STATE_POLICE);
  ASSERT_TRUE(log.Register(police, now).ok());
  ASSERT_TRUE(log.Register(sheriff, now).ok());
  auto submit = [&](const TestAgency& agency, const std::string& prefix,
                    int n) {
    v1::SubmitRecordsRequest request;
    for (int i = 0; i < n; ++i) {
      *request.add_records() = client::SignAccessRecord(
          RequesterRecord(agency, absl::StrFormat("%s-%d", prefix, i), now),
          agency.key);
    }
    v1::SubmitRecordsResponse response;
    EXPECT_TRUE(
        log.log()
            .SubmitRecords(InProcessLog::Context().get(), request, &response)
            .ok());
    std::vector<int> codes;
    for (const v1::RecordResult& r : response.results()) {
      codes.push_back(r.code());
    }
    return std::make_pair(codes, response);
  };
  auto count = [](const std::vector<int>& codes, int code) {
    return std::count(codes.begin(), codes.end(), code);
  };

  // The police flood: a burst of 100 goes in, the rest is pushed back
  // with a hint; the sheriff's records all go in meanwhile.
  auto [flood, flood_response] = submit(police, "flood", 300);
  EXPECT_EQ(count(flood, kOk), 100);
  EXPECT_EQ(count(flood, kResourceExhausted), 200);
  EXPECT_THAT(flood_response.results(299).message(),
              HasSubstr("agency CA0340000 is over its rate of 100 records/s; "
                        "retry in 10 ms"));
  EXPECT_EQ(count(submit(sheriff, "s", 50).first, kOk), 50);

  // A second later the police have 100 more; then the day's quota (250)
  // ends them until tomorrow, whatever the rate.
  {
    absl::MutexLock lock(&mu);
    now += absl::Seconds(1);
  }
  EXPECT_EQ(count(submit(police, "later", 101).first, kOk), 100);
  {
    absl::MutexLock lock(&mu);
    now += absl::Seconds(10);
  }
  auto [quota, quota_response] = submit(police, "quota", 60);
  EXPECT_EQ(count(quota, kOk), 50);
  EXPECT_THAT(quota_response.results(59).message(),
              HasSubstr("used its quota of 250 records today"));
  EXPECT_EQ(count(submit(sheriff, "s2", 50).first, kOk), 50);
}

TEST_F(LogServiceTest, GetCheckpointIsSignedByTheLog) {
  SubmitBatch({Signed("a")}, true);
  v1::CheckpointResponse response;
  ASSERT_TRUE(log_.log()
                  .GetCheckpoint(InProcessLog::Context().get(), {}, &response)
                  .ok());
  absl::StatusOr<merkle::OpenedCheckpoint> opened = merkle::OpenCheckpoint(
      response.checkpoint(), log_.verifier(), testing::kTestOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->checkpoint.size, response.size());
  EXPECT_GE(response.size(), 2u);
}

TEST_F(LogServiceTest, TileResourcesAreServedAsOverHttp) {
  SubmitBatch({Signed("a"), Signed("b")}, true);
  auto fetch = [&](const std::string& path, std::string* data) {
    v1::GetTileResourceRequest request;
    request.set_path(path);
    v1::TileResourceResponse response;
    const grpc::Status s = log_.log().GetTileResource(
        InProcessLog::Context().get(), request, &response);
    *data = response.data();
    return s.error_code();
  };
  std::string data;
  ASSERT_EQ(fetch("checkpoint", &data), grpc::StatusCode::OK);
  EXPECT_EQ(data, log_.sequencer().Latest()->note);
  // Three entries: the registration and two records.
  ASSERT_EQ(fetch("tile/0/000.p/3", &data), grpc::StatusCode::OK);
  EXPECT_EQ(data.size(), 3 * merkle::kHashSize);
  ASSERT_EQ(fetch("tile/entries/000.p/3", &data), grpc::StatusCode::OK);
  EXPECT_EQ(*merkle::DecodeEntryBundle(data, 3),
            *log_.reader().Entries(0, 3, 3));
  EXPECT_EQ(fetch("tile/0/000.p/4", &data), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(fetch("tile/0/000", &data), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(fetch("tile/0/x", &data), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(fetch("../etc/passwd", &data), grpc::StatusCode::NOT_FOUND);
}

TEST_F(LogServiceTest, InclusionProofsByIndexAndByLeafHash) {
  std::vector<v1::SignedPayload> records;
  for (int i = 0; i < 9; ++i)
    records.push_back(Signed(absl::StrFormat("%d", i)));
  v1::SubmitRecordsResponse submitted = SubmitBatch(records, true);
  ASSERT_TRUE(log_.WaitForSize(10).ok());

  v1::GetInclusionProofRequest request;
  request.set_index(4);
  v1::InclusionProofResponse response;
  ASSERT_TRUE(
      log_.log()
          .GetInclusionProof(InProcessLog::Context().get(), request, &response)
          .ok());
  absl::StatusOr<merkle::OpenedCheckpoint> opened = merkle::OpenCheckpoint(
      response.checkpoint(), log_.verifier(), testing::kTestOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(response.tree_size(), opened->checkpoint.size);
  std::vector<merkle::Hash> proof;
  for (const std::string& h : response.proof()) proof.push_back(ToHash(h));
  const merkle::Hash leaf = ToHash(submitted.results(3).leaf_hash());
  EXPECT_TRUE(merkle::VerifyInclusion(4, response.tree_size(), leaf, proof,
                                      opened->checkpoint.root)
                  .ok());
  absl::StatusOr<merkle::TlogProof> bundle =
      merkle::ParseTlogProof(response.tlog_proof());
  ASSERT_TRUE(bundle.ok());
  EXPECT_TRUE(merkle::VerifyTlogProof(*bundle, leaf, Policy()).ok());

  // By leaf hash, against an explicit earlier size: no checkpoint attached.
  v1::GetInclusionProofRequest by_hash;
  by_hash.set_leaf_hash(submitted.results(3).leaf_hash());
  by_hash.set_tree_size(7);
  v1::InclusionProofResponse hashed;
  ASSERT_TRUE(
      log_.log()
          .GetInclusionProof(InProcessLog::Context().get(), by_hash, &hashed)
          .ok());
  EXPECT_EQ(hashed.index(), 4u);
  EXPECT_EQ(hashed.tree_size(), 7u);
  EXPECT_TRUE(hashed.checkpoint().empty());
  EXPECT_TRUE(hashed.tlog_proof().empty());
}

TEST_F(LogServiceTest, InclusionProofRefusesWhatTheLatestCheckpointLacks) {
  SubmitBatch({Signed("a")}, true);
  const uint64_t size = log_.sequencer().Latest()->checkpoint.size;
  auto call = [&](const v1::GetInclusionProofRequest& request) {
    v1::InclusionProofResponse response;
    return log_.log()
        .GetInclusionProof(InProcessLog::Context().get(), request, &response)
        .error_code();
  };
  v1::GetInclusionProofRequest request;
  request.set_index(0);
  request.set_tree_size(size + 1);
  EXPECT_EQ(call(request), grpc::StatusCode::OUT_OF_RANGE);
  request.set_tree_size(0);
  request.set_index(size);
  EXPECT_EQ(call(request), grpc::StatusCode::OUT_OF_RANGE);
  request.set_leaf_hash(std::string(31, 'x'));
  EXPECT_EQ(call(request), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_leaf_hash(std::string(32, 'x'));
  EXPECT_EQ(call(request), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(call(v1::GetInclusionProofRequest()),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LogServiceTest, ConsistencyProofsVerifyBetweenCheckpoints) {
  SubmitBatch({Signed("a"), Signed("b")}, true);
  const std::shared_ptr<const SignedCheckpoint> old = log_.sequencer().Latest();
  SubmitBatch({Signed("c"), Signed("d"), Signed("e")}, true);
  const std::shared_ptr<const SignedCheckpoint> now = log_.sequencer().Latest();
  ASSERT_GT(now->checkpoint.size, old->checkpoint.size);

  v1::GetConsistencyProofRequest request;
  request.set_old_size(old->checkpoint.size);
  v1::ConsistencyProofResponse response;
  ASSERT_TRUE(log_.log()
                  .GetConsistencyProof(InProcessLog::Context().get(), request,
                                       &response)
                  .ok());
  EXPECT_EQ(response.new_size(), now->checkpoint.size);
  std::vector<merkle::Hash> proof;
  for (const std::string& h : response.proof()) proof.push_back(ToHash(h));
  EXPECT_TRUE(merkle::VerifyConsistency(
                  old->checkpoint.size, now->checkpoint.size,
                  old->checkpoint.root, now->checkpoint.root, proof)
                  .ok());

  request.set_new_size(now->checkpoint.size + 1);
  EXPECT_EQ(log_.log()
                .GetConsistencyProof(InProcessLog::Context().get(), request,
                                     &response)
                .error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  request.set_old_size(3);
  request.set_new_size(2);
  EXPECT_EQ(log_.log()
                .GetConsistencyProof(InProcessLog::Context().get(), request,
                                     &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Proof responses are recycled from call to call (RecyclingMessageAllocator,
// one call at a time here, so each reuses the last one's): every response
// must carry exactly its own proof, whatever a longer, shorter or refused
// one before it held.
TEST_F(LogServiceTest, RecycledProofResponsesCarryExactlyTheirOwnProof) {
  std::vector<v1::SignedPayload> records;
  for (int i = 0; i < 20; ++i) {
    records.push_back(Signed(absl::StrFormat("recycled %d", i)));
  }
  SubmitBatch(records, true);
  const uint64_t size = log_.sequencer().Latest()->checkpoint.size;
  v1::GetEntriesRequest entries_request;
  entries_request.set_count(size);
  v1::GetEntriesResponse entries;
  ASSERT_TRUE(
      log_.log()
          .GetEntries(InProcessLog::Context().get(), entries_request, &entries)
          .ok());
  ASSERT_EQ(static_cast<uint64_t>(entries.entries_size()), size);
  std::vector<merkle::Hash> leaves;
  for (const std::string& entry : entries.entries()) {
    leaves.push_back(merkle::HashLeaf(std::span(
        reinterpret_cast<const uint8_t*>(entry.data()), entry.size())));
  }
  const auto hashes =
      [](const google::protobuf::RepeatedPtrField<std::string>& proof) {
        std::vector<merkle::Hash> out;
        for (const std::string& h : proof) out.push_back(ToHash(h));
        return out;
      };

  for (uint64_t n = 1; n <= size; ++n) {
    const std::span<const merkle::Hash> tree(leaves.data(), n);
    for (uint64_t m = 0; m <= n; ++m) {
      v1::GetInclusionProofRequest inclusion;
      inclusion.set_index(m);
      inclusion.set_tree_size(n);
      v1::InclusionProofResponse included;
      const grpc::Status status = log_.log().GetInclusionProof(
          InProcessLog::Context().get(), inclusion, &included);
      if (m == n) {  // Refused: out of range.
        EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
        continue;
      }
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(included.index(), m);
      EXPECT_TRUE(included.checkpoint().empty());
      EXPECT_EQ(hashes(included.proof()),
                testing::ReferenceInclusionProof(m, tree))
          << "leaf " << m << " of " << n;

      v1::GetConsistencyProofRequest consistency;
      consistency.set_old_size(m + 1);
      consistency.set_new_size(n);
      v1::ConsistencyProofResponse consistent;
      ASSERT_TRUE(log_.log()
                      .GetConsistencyProof(InProcessLog::Context().get(),
                                           consistency, &consistent)
                      .ok());
      EXPECT_EQ(hashes(consistent.proof()),
                testing::ReferenceConsistencyProof(m + 1, tree))
          << "from " << m + 1 << " to " << n;
    }
  }
}

TEST_F(LogServiceTest, GetEntriesReturnsExactBytesWithinLimits) {
  log_.Stop();
  options_.service.max_entries_per_read = 3;
  ASSERT_TRUE(log_.Start(options_).ok());
  std::vector<v1::SignedPayload> records = {Signed("a"), Signed("b"),
                                            Signed("c"), Signed("d")};
  SubmitBatch(records, true);

  v1::GetEntriesRequest request;
  request.set_start(1);
  request.set_count(10);
  v1::GetEntriesResponse response;
  ASSERT_TRUE(log_.log()
                  .GetEntries(InProcessLog::Context().get(), request, &response)
                  .ok());
  ASSERT_EQ(response.entries_size(), 3);  // Clamped to the limit.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(response.entries(i), EntryOf(records[i]));

  request.set_count(0);
  EXPECT_EQ(log_.log()
                .GetEntries(InProcessLog::Context().get(), request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_count(1);
  request.set_start(5);
  EXPECT_EQ(log_.log()
                .GetEntries(InProcessLog::Context().get(), request, &response)
                .error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(LogServiceTest, WatchCheckpointsStreamsNewerCheckpointsUntilShutdown) {
  SubmitBatch({Signed("a")}, true);
  auto context = InProcessLog::Context();
  std::unique_ptr<grpc::ClientReader<v1::CheckpointResponse>> reader =
      log_.log().WatchCheckpoints(context.get(), {});
  v1::CheckpointResponse first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_GE(first.size(), 2u);
  SubmitBatch({Signed("b"), Signed("c")}, true);
  v1::CheckpointResponse next;
  ASSERT_TRUE(reader->Read(&next));
  EXPECT_GT(next.size(), first.size());
  EXPECT_TRUE(merkle::OpenCheckpoint(next.checkpoint(), log_.verifier(),
                                     testing::kTestOrigin)
                  .ok());
  log_.service().Shutdown();
  v1::CheckpointResponse rest;
  while (reader->Read(&rest)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  // After Shutdown, submissions and new watches are refused.
  v1::RecordResult result;
  EXPECT_EQ(SubmitOne(Signed("late"), false, &result).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(LogServiceTest, CancelledWaitDoesNotDisturbTheLog) {
  log_.Stop();
  options_.checkpoint_interval = absl::Seconds(2);
  ASSERT_TRUE(log_.Start(options_).ok());
  // The restarted sequencer checks for a checkpoint to publish as soon as
  // its thread runs; after that, the next one is 2 s away.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  v1::SubmitRecordRequest request;
  *request.mutable_record() = Signed("slow");
  request.set_wait_for_inclusion(true);
  v1::RecordResult result;
  const grpc::Status status = log_.log().SubmitRecord(
      InProcessLog::Context(absl::Milliseconds(100)).get(), request, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The record was appended all the same, and the log goes on.
  ASSERT_TRUE(log_.WaitForSize(2).ok());
  v1::RecordResult again;
  ASSERT_TRUE(SubmitOne(request.record(), false, &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.index(), 1u);
}

TEST_F(LogServiceTest, RegistryChangesAndListing) {
  TestAgency dmv("CADMV0000", v1::DMV_CUSTODIAN);
  absl::StatusOr<uint64_t> registered = log_.Register(dmv);
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(*registered, 1u);
  // Registering the key again (a different change) does not apply.
  EXPECT_EQ(log_.Register(dmv, absl::Now() - absl::Seconds(5)).status().code(),
            absl::StatusCode::kAlreadyExists);

  v1::RecordResult result;
  ASSERT_TRUE(SubmitOne(Signed("before"), false, &result).ok());
  ASSERT_TRUE(log_.Revoke(police_).ok());
  const grpc::Status revoked = SubmitOne(Signed("after"), false, &result);
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::ListAgencyKeysResponse keys;
  ASSERT_TRUE(log_.registry()
                  .ListAgencyKeys(InProcessLog::Context().get(), {}, &keys)
                  .ok());
  ASSERT_EQ(keys.keys_size(), 2);
  for (const v1::AgencyKey& key : keys.keys()) {
    EXPECT_EQ(key.revoked(), key.public_key() == police_.public_key());
  }

  // A change signed by any other key is refused.
  v1::SubmitRegistryChangeRequest forged;
  TestAgency other("CA0000001", v1::LOCAL_POLICE);
  *forged.mutable_change() = client::SignRegistryChange(
      testing::RegisterAgency(other, absl::Now()), other.key);
  EXPECT_EQ(
      log_.registry()
          .SubmitRegistryChange(InProcessLog::Context().get(), forged, &result)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(LogServiceTest, ConcurrentSubmittersAllGetDistinctIndices) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 5;
  constexpr int kPerBatch = 20;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> indices(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<v1::SignedPayload> records;
        for (int i = 0; i < kPerBatch; ++i) {
          records.push_back(Signed(absl::StrFormat("t%d-b%d-%d", t, b, i)));
        }
        v1::SubmitRecordsResponse response = SubmitBatch(records, b % 2 == 1);
        for (const v1::RecordResult& r : response.results()) {
          EXPECT_EQ(r.code(), kOk) << r.message();
          indices[t].push_back(r.index());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& v : indices) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(),
            static_cast<uint64_t>(kThreads * kBatches * kPerBatch));
}

}  // namespace
}  // namespace vigil::server
