// End-to-end tests of the real vigil-server binary: started on 127.0.0.1
// with port 0 and a temporary RocksDB directory, driven through the real
// gRPC stubs and over HTTP, restarted, killed with SIGKILL, exported.
// Every client call has a deadline; every process is killed and reaped at
// the end of its test (RAII), and temporary directories are removed.

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/http_tile_source.h"
#include "client/signing.h"
#include "client/tile_source.h"
#include "client/tree_audit.h"
#include "merkle/checkpoint.h"
#include "merkle/proof.h"
#include "merkle/tlog_proof.h"
#include "server/entry.h"
#include "tests/testing/e2e_fixture.h"
#include "tests/testing/log_calls.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_records.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::vigil::testing::CallContext;
using ::vigil::testing::EntryOf;
using ::vigil::testing::ReadText;
using ::vigil::testing::RequesterRecord;
using ::vigil::testing::TestAgency;
using ::vigil::testing::ToHashes;

constexpr char kOrigin[] = "vigil.example/e2e";
constexpr int kOk = 0;

// Runs vigil-server keygen and starts, restarts and talks to a vigil-server
// over its own temporary directory.
class ServerE2ETest : public testing::ServerE2EFixture {
 protected:
  ServerE2ETest() : ServerE2EFixture(kOrigin) {}

  std::string keys_dir() const { return dir_.Sub("keys"); }

  std::vector<std::string> ServeArgs(
      const std::vector<std::string>& extra = {}) const {
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
                                     "100ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Starts the server and connects the stubs.
  void StartServer(const std::vector<std::string>& extra = {}) {
    absl::Status started =
        server_.Start(VIGIL_SERVER_BINARY, ServeArgs(extra), true);
    ASSERT_TRUE(started.ok()) << started;
    channel_ = grpc::CreateChannel(server_.grpc_address(),
                                   grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
    log_ = v1::LogService::NewStub(channel_);
    registry_ = v1::RegistryService::NewStub(channel_);
  }

  grpc::Status Change(const v1::RegistryChange& change,
                      v1::RecordResult* result) {
    v1::SubmitRegistryChangeRequest request;
    *request.mutable_change() =
        client::SignRegistryChange(change, *registry_key_);
    return registry_->SubmitRegistryChange(CallContext().get(), request,
                                           result);
  }

  uint64_t Register(const TestAgency& agency) {
    v1::RecordResult result;
    const grpc::Status status =
        Change(testing::RegisterAgency(agency, absl::Now()), &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return result.index();
  }

  v1::SignedPayload Signed(const TestAgency& agency, const std::string& id,
                           absl::Time when = absl::Now()) {
    return client::SignAccessRecord(RequesterRecord(agency, id, when),
                                    agency.key);
  }

  grpc::Status SubmitOne(const v1::SignedPayload& record, bool wait,
                         v1::RecordResult* result) {
    v1::SubmitRecordRequest request;
    *request.mutable_record() = record;
    request.set_wait_for_inclusion(wait);
    return log_->SubmitRecord(CallContext().get(), request, result);
  }

  v1::SubmitRecordsResponse SubmitBatch(
      const std::vector<v1::SignedPayload>& records, bool wait,
      grpc::Status* status_out = nullptr) {
    v1::SubmitRecordsRequest request;
    for (const v1::SignedPayload& r : records) *request.add_records() = r;
    request.set_wait_for_inclusion(wait);
    v1::SubmitRecordsResponse response;
    const grpc::Status status =
        log_->SubmitRecords(CallContext().get(), request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return response;
  }

  // Checked reads of the log (tests/testing/log_calls.h).
  testing::LogReads Reads() const {
    return testing::LogReads(log_.get(), &*verifier_, kOrigin);
  }
  merkle::Checkpoint GetCheckpoint(std::string* note = nullptr) const {
    return Reads().Checkpoint(note);
  }
  merkle::Checkpoint WaitForSize(uint64_t size) const {
    return Reads().WaitForSize(size);
  }
  std::vector<std::string> AllEntries(uint64_t size) const {
    return Reads().AllEntries(size);
  }
  void ExpectConsistent(const merkle::Checkpoint& old,
                        const merkle::Checkpoint& now) const {
    Reads().ExpectConsistent(old, now);
  }

  // Verifies a tlog-proof bundle as a court would, for `entry`.
  void ExpectBundleProves(const std::string& bundle, const std::string& entry,
                          uint64_t index) {
    absl::StatusOr<merkle::TlogProof> proof = merkle::ParseTlogProof(bundle);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(proof->index, index);
    const merkle::TlogProofPolicy policy{kOrigin, &*verifier_, {}, 0};
    absl::StatusOr<merkle::VerifiedTlogProof> verified =
        merkle::VerifyTlogProof(
            *proof, merkle::HashLeaf(merkle::AsBytes(entry)), policy);
    EXPECT_TRUE(verified.ok()) << verified.status();
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LogService::Stub> log_;
  std::unique_ptr<v1::RegistryService::Stub> registry_;
  TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
};

TEST_F(ServerE2ETest, KeygenWritesProtectedKeysAndNeverOverwrites) {
  struct stat info {};
  ASSERT_EQ(stat(dir_.Sub("keys/log.skey").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir_.Sub("keys/registry.skey").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(verifier_->name(), kOrigin);
  const std::string before = ReadText(dir_.Sub("keys/log.skey"));
  absl::StatusOr<testing::CommandResult> again =
      testing::RunCommand({VIGIL_SERVER_BINARY, "keygen", "--dir", keys_dir(),
                           "--origin", kOrigin});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->exit_code, 1);
  EXPECT_THAT(again->output, HasSubstr("never overwrites"));
  EXPECT_EQ(ReadText(dir_.Sub("keys/log.skey")), before);
  // No private key material on the output.
  EXPECT_THAT(again->output, ::testing::Not(HasSubstr("PRIVATE+KEY")));
}

TEST_F(ServerE2ETest, SubmitProveAuditAndRestartWithoutLoss) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(Register(police_), 0u);

  // A stream of checkpoints, read alongside.
  auto watch_context = CallContext(absl::Seconds(30));
  std::unique_ptr<grpc::ClientReader<v1::CheckpointResponse>> watch =
      log_->WatchCheckpoints(watch_context.get(), {});
  v1::CheckpointResponse watched;
  ASSERT_TRUE(watch->Read(&watched));

  std::map<uint64_t, std::string> expected;  // index -> entry bytes
  std::vector<v1::SignedPayload> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(Signed(police_, absl::StrFormat("batch-%d", i)));
  }
  v1::SubmitRecordsResponse batch = SubmitBatch(sent, /*wait=*/false);
  ASSERT_EQ(batch.results_size(), 20);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(batch.results(i).code(), kOk) << batch.results(i).message();
    EXPECT_EQ(batch.results(i).index(), static_cast<uint64_t>(i + 1));
    const merkle::Hash leaf =
        merkle::HashLeaf(merkle::AsBytes(EntryOf(sent[i])));
    EXPECT_EQ(batch.results(i).leaf_hash(),
              std::string(leaf.begin(), leaf.end()));
    expected[batch.results(i).index()] = EntryOf(sent[i]);
  }
  const merkle::Checkpoint early = WaitForSize(21);

  // One record, waiting for its proof.
  const v1::SignedPayload single = Signed(police_, "single");
  v1::RecordResult single_result;
  grpc::Status status = SubmitOne(single, /*wait=*/true, &single_result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(single_result.index(), 21u);
  ExpectBundleProves(single_result.tlog_proof(), EntryOf(single), 21);
  expected[21] = EntryOf(single);

  // A batch, waiting for its proofs.
  std::vector<v1::SignedPayload> waited;
  for (int i = 0; i < 5; ++i) {
    waited.push_back(Signed(police_, absl::StrFormat("waited-%d", i)));
  }
  v1::SubmitRecordsResponse proven = SubmitBatch(waited, /*wait=*/true);
  ASSERT_EQ(proven.results_size(), 5);
  for (int i = 0; i < 5; ++i) {
    const v1::RecordResult& r = proven.results(i);
    ASSERT_EQ(r.code(), kOk) << r.message();
    ExpectBundleProves(r.tlog_proof(), EntryOf(waited[i]), r.index());
    expected[r.index()] = EntryOf(waited[i]);
  }

  // One record without waiting.
  const v1::SignedPayload last = Signed(police_, "last");
  v1::RecordResult last_result;
  ASSERT_TRUE(SubmitOne(last, false, &last_result).ok());
  EXPECT_TRUE(last_result.tlog_proof().empty());
  expected[last_result.index()] = EntryOf(last);
  const uint64_t size = last_result.index() + 1;

  std::string note;
  const merkle::Checkpoint checkpoint = WaitForSize(size);
  ExpectConsistent(early, checkpoint);

  // The stream saw newer checkpoints, each signed.
  v1::CheckpointResponse newer;
  ASSERT_TRUE(watch->Read(&newer));
  EXPECT_GT(newer.size(), watched.size());
  EXPECT_TRUE(
      merkle::OpenCheckpoint(newer.checkpoint(), *verifier_, kOrigin).ok());
  watch_context->TryCancel();
  watch->Finish().IgnoreError();

  // Inclusion proofs, by index against the latest checkpoint and by leaf
  // hash against an explicit size.
  for (uint64_t index : {uint64_t{1}, uint64_t{13}, size - 1}) {
    v1::GetInclusionProofRequest request;
    request.set_index(index);
    v1::InclusionProofResponse response;
    ASSERT_TRUE(
        log_->GetInclusionProof(CallContext().get(), request, &response).ok());
    absl::StatusOr<merkle::OpenedCheckpoint> opened =
        merkle::OpenCheckpoint(response.checkpoint(), *verifier_, kOrigin);
    ASSERT_TRUE(opened.ok()) << opened.status();
    const merkle::Hash leaf =
        merkle::HashLeaf(merkle::AsBytes(expected.at(index)));
    EXPECT_TRUE(merkle::VerifyInclusion(index, opened->checkpoint.size, leaf,
                                        ToHashes(response.proof()),
                                        opened->checkpoint.root)
                    .ok());
    ExpectBundleProves(response.tlog_proof(), expected.at(index), index);

    v1::GetInclusionProofRequest by_hash;
    by_hash.set_leaf_hash(std::string(leaf.begin(), leaf.end()));
    by_hash.set_tree_size(checkpoint.size);
    ASSERT_TRUE(
        log_->GetInclusionProof(CallContext().get(), by_hash, &response).ok());
    EXPECT_EQ(response.index(), index);
    EXPECT_TRUE(merkle::VerifyInclusion(index, checkpoint.size, leaf,
                                        ToHashes(response.proof()),
                                        checkpoint.root)
                    .ok());
  }

  // Entries over gRPC are the submitted bytes.
  std::vector<std::string> entries = AllEntries(checkpoint.size);
  ASSERT_EQ(entries.size(), checkpoint.size);
  for (const auto& [index, entry] : expected) EXPECT_EQ(entries[index], entry);

  // Over HTTP: the checkpoint, and the whole tree rebuilt from tiles and
  // bundles, equal what gRPC says.
  client::HttpTileSource tiles("http://" + server_.http_address(), "", "");
  absl::StatusOr<std::string> http_note = tiles.Fetch("checkpoint");
  ASSERT_TRUE(http_note.ok()) << http_note.status();
  absl::StatusOr<merkle::OpenedCheckpoint> http_checkpoint =
      merkle::OpenCheckpoint(*http_note, *verifier_, kOrigin);
  ASSERT_TRUE(http_checkpoint.ok()) << http_checkpoint.status();
  std::vector<std::string> http_entries;
  absl::StatusOr<client::TreeAuditReport> audit =
      client::AuditTree(tiles, http_checkpoint->checkpoint,
                        [&](uint64_t, std::string_view entry) {
                          http_entries.emplace_back(entry);
                          return absl::OkStatus();
                        });
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->root, http_checkpoint->checkpoint.root);
  ASSERT_GE(http_checkpoint->checkpoint.size, checkpoint.size);
  http_entries.resize(checkpoint.size);
  EXPECT_EQ(http_entries, entries);
  httplib::Client http("127.0.0.1", server_.http_port());
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(5, 0);
  httplib::Result get = http.Get("/checkpoint");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(get->get_header_value("Cache-Control"), "no-cache");
  get = http.Get("/tile/0/x000/000");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 400);

  // Resubmitting a record gives its original index.
  v1::RecordResult duplicate;
  ASSERT_TRUE(SubmitOne(sent[3], false, &duplicate).ok());
  EXPECT_TRUE(duplicate.duplicate());
  EXPECT_EQ(duplicate.index(), 4u);

  // A graceful restart (SIGTERM), then a crash (SIGKILL): nothing
  // acknowledged is lost, and new checkpoints extend the old ones.
  const int exit_status = server_.Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(exit_status));
  EXPECT_EQ(WEXITSTATUS(exit_status), 0);
  EXPECT_THAT(server_.Log(), HasSubstr("vigil-server: stopped"));
  for (int round = 0; round < 2; ++round) {
    ASSERT_NO_FATAL_FAILURE(StartServer());
    const merkle::Checkpoint recovered = WaitForSize(size);
    ExpectConsistent(checkpoint, recovered);
    EXPECT_EQ(AllEntries(size), std::vector<std::string>(
                                    entries.begin(), entries.begin() + size));
    v1::RecordResult again;
    ASSERT_TRUE(SubmitOne(single, false, &again).ok());
    EXPECT_TRUE(again.duplicate());
    EXPECT_EQ(again.index(), 21u);
    v1::RecordResult fresh;
    ASSERT_TRUE(SubmitOne(Signed(police_, absl::StrFormat("after-%d", round)),
                          true, &fresh)
                    .ok());
    EXPECT_EQ(fresh.index(), size + round);
    const merkle::Checkpoint grown = WaitForSize(size + round + 1);
    ExpectConsistent(checkpoint, grown);
    server_.Kill();
  }
}

TEST_F(ServerE2ETest, HostileInputsAreRefusedAndAppendNothing) {
  ASSERT_NO_FATAL_FAILURE(StartServer(
      {"--event-time-max-age", "1h", "--event-time-max-future-skew", "1m",
       "--max-batch", "10", "--max-request-bytes", "262144"}));
  Register(police_);
  TestAgency revoked("CA0350000", v1::LOCAL_POLICE);
  Register(revoked);
  v1::RecordResult result;
  ASSERT_TRUE(SubmitOne(Signed(revoked, "while-valid"), false, &result).ok());
  ASSERT_TRUE(
      Change(testing::RevokeAgency(revoked, absl::Now()), &result).ok());

  // After each refusal, the next valid record must land right after the
  // previous one: the refused input added nothing to the tree.
  uint64_t next = result.index() + 1;
  int probes = 0;
  auto expect_nothing_appended = [&](const std::string& what) {
    v1::RecordResult probe;
    const grpc::Status s = SubmitOne(
        Signed(police_, absl::StrFormat("probe-%d", probes++)), false, &probe);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(probe.index(), next) << "after " << what;
    next = probe.index() + 1;
  };
  expect_nothing_appended("setup");

  auto expect_refused = [&](const std::string& what,
                            const v1::SignedPayload& record,
                            grpc::StatusCode code, const std::string& field) {
    v1::RecordResult refused;
    const grpc::Status s = SubmitOne(record, false, &refused);
    EXPECT_EQ(s.error_code(), code) << what << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(field)) << what;
    expect_nothing_appended(what);
  };

  TestAgency stranger("NY0000000", v1::LOCAL_POLICE);
  expect_refused("unknown agency", Signed(stranger, "s"),
                 grpc::StatusCode::PERMISSION_DENIED, "");
  expect_refused("revoked key", Signed(revoked, "r"),
                 grpc::StatusCode::PERMISSION_DENIED, "revoked");

  v1::SignedPayload bad_signature = Signed(police_, "bad-sig");
  bad_signature.mutable_signature()->at(10) ^= 0x20;
  expect_refused("bad signature", bad_signature,
                 grpc::StatusCode::UNAUTHENTICATED, "");

  auto sign_raw = [&](std::string payload) {
    const std::string message =
        server::SignedMessage(server::EntryKind::kAccessRecord, payload);
    const auto signature = police_.key.Sign(merkle::AsBytes(message));
    v1::SignedPayload p;
    p.set_payload(std::move(payload));
    p.set_public_key(police_.public_key());
    p.set_signature(std::string(signature.begin(), signature.end()));
    return p;
  };
  expect_refused("malformed bytes", sign_raw("\x0a\xff\xff\xff\xff garbage"),
                 grpc::StatusCode::INVALID_ARGUMENT, "payload");
  expect_refused("oversized record",
                 sign_raw(std::string(server::kMaxPayloadSize + 1, 'x')),
                 grpc::StatusCode::INVALID_ARGUMENT, "payload");

  v1::AccessRecord missing = RequesterRecord(police_, "m", absl::Now());
  missing.clear_record_id();
  expect_refused("missing record_id",
                 client::SignAccessRecord(missing, police_.key),
                 grpc::StatusCode::INVALID_ARGUMENT, "record_id");
  v1::AccessRecord no_subject = RequesterRecord(police_, "ns", absl::Now());
  no_subject.clear_subject_commit();
  expect_refused("missing subject_commit",
                 client::SignAccessRecord(no_subject, police_.key),
                 grpc::StatusCode::INVALID_ARGUMENT, "subject_commit");
  expect_refused("event time too old",
                 Signed(police_, "old", absl::Now() - absl::Hours(2)),
                 grpc::StatusCode::INVALID_ARGUMENT, "event_time_centis");
  expect_refused("event time in the future",
                 Signed(police_, "future", absl::Now() + absl::Hours(1)),
                 grpc::StatusCode::INVALID_ARGUMENT, "event_time_centis");

  v1::SignedPayload short_key = Signed(police_, "short-key");
  short_key.mutable_public_key()->pop_back();
  expect_refused("short public key", short_key,
                 grpc::StatusCode::INVALID_ARGUMENT, "public_key");

  v1::AccessRecord other_ori = RequesterRecord(police_, "ori", absl::Now());
  other_ori.set_requesting_ori("TX0000000");
  expect_refused("requester naming another agency",
                 client::SignAccessRecord(other_ori, police_.key),
                 grpc::StatusCode::PERMISSION_DENIED, "");

  // A batch mixing valid and invalid records appends only the valid ones.
  std::vector<v1::SignedPayload> mixed = {
      Signed(police_, "mix-ok-1"), bad_signature, Signed(stranger, "mix-s"),
      Signed(police_, "mix-ok-2"),
      Signed(police_, "mix-old", absl::Now() - absl::Hours(3))};
  v1::SubmitRecordsResponse response = SubmitBatch(mixed, false);
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).code(), kOk);
  EXPECT_EQ(response.results(0).index(), next);
  EXPECT_EQ(response.results(1).code(),
            static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(response.results(2).code(),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(response.results(3).code(), kOk);
  EXPECT_EQ(response.results(3).index(), next + 1);
  EXPECT_EQ(response.results(4).code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(response.results(4).message(), HasSubstr("event_time_centis"));
  next += 2;
  expect_nothing_appended("mixed batch");

  // Call-level limits: too many records, too many bytes.
  std::vector<v1::SignedPayload> eleven;
  for (int i = 0; i < 11; ++i) {
    eleven.push_back(Signed(police_, absl::StrFormat("eleven-%d", i)));
  }
  grpc::Status call_status;
  SubmitBatch(eleven, false, &call_status);
  EXPECT_EQ(call_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(call_status.error_message(), HasSubstr("records"));
  expect_nothing_appended("batch over max_batch");
  std::vector<v1::SignedPayload> big(
      5, sign_raw(std::string(server::kMaxPayloadSize, 'y')));
  SubmitBatch(big, false, &call_status);
  EXPECT_EQ(call_status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  expect_nothing_appended("request over max_request_bytes");

  // Registry changes signed by anyone but the registry key.
  v1::SubmitRegistryChangeRequest forged;
  *forged.mutable_change() = client::SignRegistryChange(
      testing::RegisterAgency(stranger, absl::Now()), police_.key);
  EXPECT_EQ(
      registry_->SubmitRegistryChange(CallContext().get(), forged, &result)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  expect_nothing_appended("forged registry change");

  // Reads past the latest checkpoint.
  const merkle::Checkpoint checkpoint = WaitForSize(next);
  EXPECT_EQ(checkpoint.size, next);
  v1::GetEntriesRequest entries;
  entries.set_start(checkpoint.size);
  entries.set_count(1);
  v1::GetEntriesResponse entries_response;
  EXPECT_EQ(log_->GetEntries(CallContext().get(), entries, &entries_response)
                .error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  v1::GetInclusionProofRequest proof;
  proof.set_index(0);
  proof.set_tree_size(checkpoint.size + 1);
  v1::InclusionProofResponse proof_response;
  EXPECT_EQ(log_->GetInclusionProof(CallContext().get(), proof, &proof_response)
                .error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(ServerE2ETest, KillNineWhileSubmittingLosesNothingAcknowledged) {
  constexpr int kCycles = 10;
  constexpr int kClients = 2;
  constexpr int kBatch = 40;
  std::mutex mu;
  std::map<uint64_t, std::string> acknowledged;  // index -> entry bytes
  std::vector<merkle::Checkpoint> seen;
  uint64_t sequence = 0;

  for (int cycle = 0; cycle <= kCycles; ++cycle) {
    ASSERT_NO_FATAL_FAILURE(StartServer());
    if (cycle == 0) {
      v1::RecordResult registered;
      ASSERT_TRUE(
          Change(testing::RegisterAgency(police_, absl::Now()), &registered)
              .ok());
    }

    // Everything acknowledged before the crash is there, byte for byte,
    // and every checkpoint seen is a prefix of the current tree.
    const uint64_t needed =
        acknowledged.empty() ? 1 : acknowledged.rbegin()->first + 1;
    const merkle::Checkpoint now = WaitForSize(needed);
    const std::vector<std::string> entries = AllEntries(needed);
    ASSERT_EQ(entries.size(), needed);
    for (const auto& [index, entry] : acknowledged) {
      ASSERT_EQ(entries[index], entry)
          << "cycle " << cycle << ": index " << index << " changed";
    }
    for (const merkle::Checkpoint& old : seen) {
      ASSERT_LE(old.size, now.size) << "cycle " << cycle;
      ASSERT_NO_FATAL_FAILURE(ExpectConsistent(old, now));
    }
    seen.push_back(now);
    if (cycle == kCycles) break;

    // Clients submit as fast as they can; a watcher collects checkpoints.
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        while (!stop) {
          uint64_t first = 0;
          {
            std::lock_guard<std::mutex> lock(mu);
            first = sequence;
            sequence += kBatch;
          }
          std::vector<v1::SignedPayload> records;
          for (int i = 0; i < kBatch; ++i) {
            records.push_back(
                Signed(police_, absl::StrFormat("crash-%d", first + i)));
          }
          v1::SubmitRecordsRequest request;
          for (const auto& r : records) *request.add_records() = r;
          v1::SubmitRecordsResponse response;
          const grpc::Status status = log_->SubmitRecords(
              CallContext(absl::Seconds(5)).get(), request, &response);
          if (!status.ok()) continue;  // The server died under us.
          std::lock_guard<std::mutex> lock(mu);
          for (int i = 0; i < response.results_size(); ++i) {
            const v1::RecordResult& r = response.results(i);
            if (r.code() == kOk) acknowledged[r.index()] = EntryOf(records[i]);
          }
        }
      });
    }
    std::thread watcher([&] {
      while (!stop) {
        v1::CheckpointResponse response;
        if (log_->GetCheckpoint(CallContext(absl::Seconds(2)).get(), {},
                                &response)
                .ok()) {
          absl::StatusOr<merkle::OpenedCheckpoint> opened =
              merkle::OpenCheckpoint(response.checkpoint(), *verifier_,
                                     kOrigin);
          EXPECT_TRUE(opened.ok()) << opened.status();
          if (opened.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            seen.push_back(opened->checkpoint);
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 50 * cycle));
    server_.Kill();  // SIGKILL, with calls in flight.
    stop = true;
    for (std::thread& t : clients) t.join();
    watcher.join();
  }
  // The clients did get records acknowledged between the crashes.
  EXPECT_GT(acknowledged.size(), static_cast<size_t>(kCycles));
  std::cerr << absl::StrFormat(
      "crash test: %d records acknowledged, %d checkpoints checked over %d "
      "SIGKILLs\n",
      acknowledged.size(), seen.size(), kCycles);
}

TEST_F(ServerE2ETest, ExportTilesWritesAStaticLogThatAudits) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  Register(police_);
  for (int b = 0; b < 3; ++b) {
    std::vector<v1::SignedPayload> records;
    for (int i = 0; i < 100; ++i) {
      records.push_back(Signed(police_, absl::StrFormat("x-%d-%d", b, i)));
    }
    SubmitBatch(records, /*wait=*/b == 2);
  }
  const merkle::Checkpoint checkpoint = WaitForSize(301);

  // The database is locked while the server runs.
  const std::string out = dir_.Sub("static");
  std::vector<std::string> export_args = {VIGIL_SERVER_BINARY,
                                          "export-tiles",
                                          "--data-dir",
                                          dir_.Sub("db"),
                                          "--log-key-file",
                                          dir_.Sub("keys/log.skey"),
                                          "--registry-key-file",
                                          dir_.Sub("keys/registry.vkey"),
                                          out};
  absl::StatusOr<testing::CommandResult> locked =
      testing::RunCommand(export_args);
  ASSERT_TRUE(locked.ok());
  EXPECT_EQ(locked->exit_code, 1) << locked->output;

  server_.Stop(SIGTERM);
  absl::StatusOr<testing::CommandResult> exported =
      testing::RunCommand(export_args);
  ASSERT_TRUE(exported.ok());
  ASSERT_EQ(exported->exit_code, 0) << exported->output;

  client::DirectoryTileSource files(out);
  absl::StatusOr<std::string> note = files.Fetch("checkpoint");
  ASSERT_TRUE(note.ok());
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(*note, *verifier_, kOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->checkpoint, checkpoint);
  absl::StatusOr<client::TreeAuditReport> audit =
      client::AuditTree(files, opened->checkpoint);
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->entries, 301u);

  // The command-line auditor agrees.
  absl::StatusOr<testing::CommandResult> cli =
      testing::RunCommand({VIGIL_CLI_BINARY, "audit-tiles", out, "--log-key",
                           dir_.Sub("keys/log.vkey")});
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->exit_code, 0) << cli->output;

  // Exporting again keeps the immutable files and leaves no temporaries.
  absl::StatusOr<testing::CommandResult> again =
      testing::RunCommand(export_args);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->exit_code, 0) << again->output;
  EXPECT_THAT(again->output, HasSubstr("0 tiles and 0 entry bundles written"));
  for (const auto& file : std::filesystem::recursive_directory_iterator(out)) {
    EXPECT_THAT(file.path().string(), ::testing::Not(HasSubstr(".tmp-")));
  }
}

TEST_F(ServerE2ETest, ConfigFileFlagsAndStartupErrors) {
  const std::string config = dir_.Sub("vigil.json");
  std::ofstream(config) << absl::StrFormat(
      R"({"data_dir": "%s", "log_key_file": "%s", "registry_key_file": "%s",
          "grpc_address": "127.0.0.1:1", "max_batch": 2,
          "checkpoint_interval": "50ms"})",
      dir_.Sub("db"), dir_.Sub("keys/log.skey"),
      dir_.Sub("keys/registry.vkey"));
  // Flags override the file's addresses.
  ASSERT_TRUE(server_
                  .Start(VIGIL_SERVER_BINARY,
                         {"serve", "--config", config, "--grpc-address",
                          "127.0.0.1:0", "--http-address", "127.0.0.1:0"},
                         true)
                  .ok())
      << server_.Log();
  channel_ = grpc::CreateChannel(server_.grpc_address(),
                                 grpc::InsecureChannelCredentials());
  log_ = v1::LogService::NewStub(channel_);
  registry_ = v1::RegistryService::NewStub(channel_);
  Register(police_);
  grpc::Status status;
  SubmitBatch(
      {Signed(police_, "1"), Signed(police_, "2"), Signed(police_, "3")}, false,
      &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "max_batch from the file applies";
  const int exit_status = server_.Stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0);

  auto serve_fails = [&](const std::vector<std::string>& args,
                         const std::string& expected) {
    std::vector<std::string> argv = {VIGIL_SERVER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<testing::CommandResult> r = testing::RunCommand(argv);
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->exit_code, 0) << r->output;
    EXPECT_THAT(r->output, HasSubstr(expected));
  };
  const std::string bad = dir_.Sub("bad.json");
  std::ofstream(bad) << R"({"data_dir": "/x", "checkpoint_intervall": "1s"})";
  serve_fails({"serve", "--config", bad}, "\"checkpoint_intervall\"");
  serve_fails({"serve", "--config", config, "--max-batch", "many"},
              "max_batch");
  serve_fails(ServeArgs({"--origin", "other.example/log"}),
              "other.example/log");
  chmod(dir_.Sub("keys/log.skey").c_str(), 0640);
  serve_fails(ServeArgs(), "chmod 600");
  chmod(dir_.Sub("keys/log.skey").c_str(), 0600);
  serve_fails({"serve", "--no-such-flag"}, "no-such-flag");
}

// Standard gRPC tooling works against the server: grpc.health.v1 says
// SERVING, called generically as a health prober would.
TEST_F(ServerE2ETest, HealthCheckingAnswersServing) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  grpc::GenericStub generic(channel_);
  auto call = [&](const std::string& method, const std::string& request_bytes,
                  std::string* response_bytes) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                      [&](grpc::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
    done.WaitForNotification();
    std::vector<grpc::Slice> slices;
    if (status.ok()) (void)response.Dump(&slices);
    response_bytes->clear();
    for (const grpc::Slice& s : slices) {
      response_bytes->append(reinterpret_cast<const char*>(s.begin()),
                             s.size());
    }
    return status;
  };
  // HealthCheckRequest{service: ""} is the empty message; the answer is
  // HealthCheckResponse{status: SERVING (1)}: field 1, varint 1.
  std::string response;
  grpc::Status status = call("/grpc.health.v1.Health/Check", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));
  // An unknown method is UNIMPLEMENTED, so the answer above is not a fluke.
  status = call("/grpc.health.v1.Health/NoSuchMethod", "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

// Server reflection answers a tool's "list services" over its bidirectional
// stream (grpc.reflection.v1alpha), naming Vigil's services.
TEST_F(ServerE2ETest, ReflectionListsVigilServices) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto next = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream =
      generic.PrepareCall(
          &ctx,
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
          &cq);
  stream->StartCall(nullptr);
  ASSERT_TRUE(next());
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  grpc::Slice request_slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&request_slice, 1);
  stream->Write(request, nullptr);
  ASSERT_TRUE(next());
  grpc::ByteBuffer response;
  stream->Read(&response, nullptr);
  ASSERT_TRUE(next());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  EXPECT_THAT(bytes, ::testing::HasSubstr("vigil.v1.LogService"));
  EXPECT_THAT(bytes, ::testing::HasSubstr("vigil.v1.RegistryService"));
  stream->WritesDone(nullptr);
  ASSERT_TRUE(next());
  grpc::Status status;
  stream->Finish(&status, nullptr);
  ASSERT_TRUE(next());
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace vigil
