// End-to-end test of a full disk under the real vigil-server (issue 7): its
// RocksDB directory sits on a disk that fills up while clients submit over
// gRPC. The first failed write and every later one are refused with
// UNAVAILABLE naming the storage error, no checkpoint is signed after it,
// reads keep working, giving space back (and RocksDB's own recovery from
// "no space") does not resume writes, a restart on a disk still full fails
// cleanly, and after a restart with space every acknowledged record is there,
// nothing else, and the log accepts writes again.
//
// The disk is a small tmpfs mounted for the test where mount(2) is allowed
// (root), or else the server runs with RLIMIT_FSIZE, so that writing the
// write-ahead log past the limit fails with EFBIG: no privilege needed.
// Every process is killed and reaped, and every mount undone, at the end of
// its test (RAII), also on failure.

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/signing.h"
#include "merkle/checkpoint.h"
#include "merkle/proof.h"
#include "tests/testing/e2e_fixture.h"
#include "tests/testing/log_calls.h"
#include "tests/testing/reference_tree.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_records.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::vigil::testing::CallContext;
using ::vigil::testing::EntryOf;
using ::vigil::testing::RequesterRecord;
using ::vigil::testing::TestAgency;
using ::vigil::testing::ToHashes;

constexpr char kOrigin[] = "vigil.example/full-disk";
constexpr int kOk = 0;
constexpr int kUnavailable = static_cast<int>(grpc::StatusCode::UNAVAILABLE);

// The tmpfs starts at 3 MiB: room for RocksDB's small files (OPTIONS, LOG,
// MANIFEST, CURRENT, ~100 KiB) and about 2.9 MiB of write-ahead log, which
// a few hundred batches fill in about a second. It must stay under 4 MiB:
// RocksDB fallocates 4 MiB for a new MANIFEST (manifest_preallocation_size),
// which on a larger tmpfs would take most of the space at once; below that
// the fallocate fails and RocksDB ignores the failure, as it ignores the
// failing fallocate of a WAL's ~70 MiB (1.1 x write_buffer_size). Grown to
// 128 MiB, its free space passes RocksDB's 64 MiB recovery reserve, and
// there is room for the restart: the replayed WAL is flushed to a
// table file, and the new MANIFEST's 4 MiB preallocation succeeds.
constexpr uint64_t kTmpfsBytes = uint64_t{3} << 20;
constexpr uint64_t kTmpfsGrownBytes = uint64_t{128} << 20;
// With RLIMIT_FSIZE no single file may pass 2 MiB: the WAL reaches it first
// (the info LOG and the MANIFEST stay far below).
constexpr uint64_t kFileSizeLimit = uint64_t{2} << 20;

constexpr int kBatch = 50;

// How the test fills the database's disk.
enum class Filler { kTmpfs, kFileSizeLimit };

// A tmpfs mounted on an existing, empty directory for the lifetime of the
// object; the destructor detaches it (MNT_DETACH: it succeeds even if a
// process still has files open there). Thread-safety: not thread-safe.
class TmpfsMount {
 public:
  // Mounts a tmpfs of `bytes` on `dir`. The errno's text if mount(2) is not
  // permitted (EPERM without CAP_SYS_ADMIN) or fails otherwise.
  static absl::StatusOr<std::unique_ptr<TmpfsMount>> Mount(
      const std::string& dir, uint64_t bytes) {
    const std::string options = absl::StrFormat("size=%d,mode=0700", bytes);
    if (mount("vigil-test", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              options.c_str()) != 0) {
      return absl::UnavailableError(absl::StrFormat(
          "cannot mount a tmpfs on %s: %s", dir, strerror(errno)));
    }
    return std::unique_ptr<TmpfsMount>(new TmpfsMount(dir));
  }

  ~TmpfsMount() { umount2(dir_.c_str(), MNT_DETACH); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  // Changes the size limit without touching the files: "frees space".
  absl::Status Resize(uint64_t bytes) {
    const std::string options = absl::StrFormat("size=%d", bytes);
    if (mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV,
              options.c_str()) != 0) {
      return absl::UnavailableError(absl::StrFormat(
          "cannot resize the tmpfs on %s: %s", dir_, strerror(errno)));
    }
    return absl::OkStatus();
  }

 private:
  explicit TmpfsMount(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
};

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

class FullDiskE2ETest : public testing::ServerE2EFixture {
 protected:
  FullDiskE2ETest() : ServerE2EFixture(kOrigin) {}

  // Puts the database on a disk that fills up: a tmpfs if `filler` is
  // kTmpfs and mounting is permitted, else a file size limit. Sets
  // filler_, data_dir_ and the errno text a full write fails with.
  void PrepareDisk(Filler filler) {
    filler_ = Filler::kFileSizeLimit;
    data_dir_ = dir_.Sub("db");
    if (filler == Filler::kTmpfs) {
      const std::string mount_point = dir_.Sub("disk");
      std::filesystem::create_directory(mount_point);
      absl::StatusOr<std::unique_ptr<TmpfsMount>> mounted =
          TmpfsMount::Mount(mount_point, kTmpfsBytes);
      if (mounted.ok()) {
        tmpfs_ = *std::move(mounted);
        filler_ = Filler::kTmpfs;
        data_dir_ = mount_point + "/db";
      } else {
        std::cerr << absl::StrFormat(
            "full disk test: %s; using RLIMIT_FSIZE instead\n",
            mounted.status().message());
      }
    }
    if (filler_ == Filler::kFileSizeLimit) {
      server_.set_file_size_limit(kFileSizeLimit);
      full_error_ = strerror(EFBIG);  // "File too large"
    } else {
      full_error_ = strerror(ENOSPC);  // "No space left on device"
    }
    std::cerr << absl::StrFormat(
        "full disk test: the database fills %s\n",
        filler_ == Filler::kTmpfs
            ? absl::StrFormat("a %d-byte tmpfs", kTmpfsBytes)
            : absl::StrFormat("RLIMIT_FSIZE of %d bytes", kFileSizeLimit));
  }

  // Gives the disk space again, with the server still running.
  void MakeSpace() {
    if (filler_ == Filler::kTmpfs) {
      ASSERT_TRUE(tmpfs_->Resize(kTmpfsGrownBytes).ok());
    } else {
      const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
      ASSERT_EQ(prlimit(server_.pid(), RLIMIT_FSIZE, &unlimited, nullptr), 0)
          << strerror(errno);
    }
    // Later starts have the space too.
    server_.set_file_size_limit(std::nullopt);
  }

  std::vector<std::string> ServeArgs() const {
    return {"serve",
            "--data-dir",
            data_dir_,
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
  }

  void StartServer() {
    absl::Status started = server_.Start(VIGIL_SERVER_BINARY, ServeArgs(),
                                         /*expect_http=*/true);
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_NO_FATAL_FAILURE(Connect());
  }

  void Connect() {
    channel_ = grpc::CreateChannel(server_.grpc_address(),
                                   grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
    log_ = v1::LogService::NewStub(channel_);
    registry_ = v1::RegistryService::NewStub(channel_);
  }

  // SIGTERM: the server must shut down gracefully even with a failed
  // database.
  void StopServer() {
    const int status = server_.Stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "wait status " << status;
    EXPECT_THAT(server_.Log(), HasSubstr("vigil-server: stopped"));
  }

  grpc::Status Register(const TestAgency& agency, v1::RecordResult* result) {
    v1::SubmitRegistryChangeRequest request;
    *request.mutable_change() = client::SignRegistryChange(
        testing::RegisterAgency(agency, absl::Now()), *registry_key_);
    return registry_->SubmitRegistryChange(CallContext().get(), request,
                                           result);
  }

  v1::SignedPayload Signed(const std::string& id) {
    return client::SignAccessRecord(RequesterRecord(police_, id, absl::Now()),
                                    police_.key);
  }

  grpc::Status SubmitOne(const v1::SignedPayload& record, bool wait,
                         v1::RecordResult* result) {
    v1::SubmitRecordRequest request;
    *request.mutable_record() = record;
    request.set_wait_for_inclusion(wait);
    return log_->SubmitRecord(CallContext().get(), request, result);
  }

  grpc::Status SubmitBatch(const std::vector<v1::SignedPayload>& records,
                           v1::SubmitRecordsResponse* response) {
    v1::SubmitRecordsRequest request;
    for (const v1::SignedPayload& r : records) *request.add_records() = r;
    return log_->SubmitRecords(CallContext().get(), request, response);
  }

  // Checked reads of the log (tests/testing/log_calls.h).
  testing::LogReads Reads() const {
    return testing::LogReads(log_.get(), &*verifier_, kOrigin);
  }
  merkle::Checkpoint GetCheckpoint(std::string* note = nullptr) const {
    return Reads().Checkpoint(note);
  }

  // Reads the latest checkpoint and checks that it covers only
  // acknowledged entries: with one client submitting at a time, every
  // committed entry was acknowledged before this call.
  void ObserveCheckpoint() {
    const merkle::Checkpoint c = GetCheckpoint();
    EXPECT_LE(c.size, acknowledged_size())
        << "a checkpoint covers entries that were never acknowledged";
    if (seen_.empty() || seen_.back() != c) seen_.push_back(c);
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

  // grpc.health.v1.Health/Check for `service`, called generically as a
  // prober would: the HealthCheckResponse.status (1 SERVING, 2
  // NOT_SERVING), or -1 if the call failed.
  int HealthOf(const std::string& service) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    // HealthCheckRequest{service}: field 1, length-delimited.
    std::string request_bytes;
    if (!service.empty()) {
      request_bytes =
          std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
    }
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                      &request, &response, [&](grpc::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
    done.WaitForNotification();
    if (!status.ok()) return -1;
    std::vector<grpc::Slice> slices;
    if (!response.Dump(&slices).ok()) return -1;
    std::string bytes;
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    // HealthCheckResponse{status}: field 1, varint; empty means UNKNOWN.
    if (bytes.empty()) return 0;
    return bytes.size() == 2 && bytes[0] == '\x08' ? bytes[1] : -1;
  }

  // Polls until `service`'s health is `want` (the server checks its
  // sequencer's health once a second).
  int WaitForHealth(const std::string& service, int want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    int health = HealthOf(service);
    while (health != want && absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      health = HealthOf(service);
    }
    return health;
  }

  std::string HttpCheckpoint() {
    httplib::Client http("127.0.0.1", server_.http_port());
    http.set_connection_timeout(5, 0);
    http.set_read_timeout(5, 0);
    httplib::Result get = http.Get("/checkpoint");
    EXPECT_TRUE(get);
    if (!get) return "";
    EXPECT_EQ(get->status, 200);
    return get->body;
  }

  uint64_t acknowledged_size() const {
    return acknowledged_.empty() ? 0 : acknowledged_.rbegin()->first + 1;
  }

  void RunScenario(Filler filler);

  // Unmounted after TearDown kills the server and before the base class
  // removes the directory.
  std::unique_ptr<TmpfsMount> tmpfs_;
  Filler filler_ = Filler::kFileSizeLimit;
  std::string data_dir_;
  std::string full_error_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LogService::Stub> log_;
  std::unique_ptr<v1::RegistryService::Stub> registry_;
  TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
  std::map<uint64_t, std::string> acknowledged_;  // index -> entry bytes
  std::vector<merkle::Checkpoint> seen_;          // In the order seen.
};

void FullDiskE2ETest::RunScenario(Filler filler) {
  const absl::Time test_start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(PrepareDisk(filler));
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(HealthOf("vigil.v1.LogService"), 1);
  v1::RecordResult registered;
  const grpc::Status registered_status = Register(police_, &registered);
  ASSERT_TRUE(registered_status.ok()) << registered_status.error_message();
  ASSERT_EQ(registered.index(), 0u);
  acknowledged_[0] = "";  // The registry entry; its bytes are not checked.
  // One record waited for, so that checkpoints are flowing.
  const v1::SignedPayload first = Signed("first");
  {
    v1::RecordResult result;
    const grpc::Status status = SubmitOne(first, /*wait=*/true, &result);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_FALSE(result.tlog_proof().empty());
    acknowledged_[result.index()] = EntryOf(first);
  }
  ObserveCheckpoint();

  // Fill the disk: batches, with a single submission every fourth call,
  // until a write is refused.
  std::string first_failure;
  int calls = 0;
  const absl::Time fill_deadline = absl::Now() + absl::Seconds(30);
  while (first_failure.empty() && absl::Now() < fill_deadline) {
    ++calls;
    if (calls % 4 == 0) {
      const v1::SignedPayload record =
          Signed(absl::StrFormat("single-%d", calls));
      v1::RecordResult result;
      const grpc::Status status = SubmitOne(record, /*wait=*/false, &result);
      if (status.ok()) {
        acknowledged_[result.index()] = EntryOf(record);
      } else {
        ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
            << status.error_message();
        first_failure = status.error_message();
      }
    } else {
      std::vector<v1::SignedPayload> records;
      for (int i = 0; i < kBatch; ++i) {
        records.push_back(Signed(absl::StrFormat("batch-%d-%d", calls, i)));
      }
      v1::SubmitRecordsResponse response;
      const grpc::Status status = SubmitBatch(records, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(response.results_size(), kBatch);
      for (int i = 0; i < kBatch; ++i) {
        const v1::RecordResult& r = response.results(i);
        if (r.code() == kOk) {
          // Refusals are sticky: nothing is acknowledged after one.
          ASSERT_TRUE(first_failure.empty())
              << "record " << i << " acknowledged after " << first_failure;
          acknowledged_[r.index()] = EntryOf(records[i]);
        } else {
          ASSERT_EQ(r.code(), kUnavailable) << r.message();
          if (first_failure.empty()) first_failure = r.message();
        }
      }
    }
    ObserveCheckpoint();
  }
  ASSERT_FALSE(first_failure.empty())
      << "the disk never filled; " << acknowledged_.size()
      << " entries acknowledged";
  const absl::Duration fill_time = absl::Now() - test_start;
  std::cerr << absl::StrFormat(
      "full disk test: %d entries acknowledged in %d calls (%s) before: %s\n",
      acknowledged_.size(), calls, absl::FormatDuration(fill_time),
      first_failure);
  // The refusal names the storage failure: RocksDB's text with the errno.
  EXPECT_THAT(first_failure, HasSubstr("rocksdb commit"));
  EXPECT_THAT(first_failure, HasSubstr(full_error_));
  EXPECT_THAT(
      first_failure,
      AnyOf(HasSubstr("the log could not store the entry"),
            HasSubstr("the log refuses writes after a storage failure")));

  // From now on no checkpoint is signed: the one published now (at most
  // as large as what was acknowledged) stays the latest.
  std::string note_at_failure;
  const merkle::Checkpoint at_failure = GetCheckpoint(&note_at_failure);
  EXPECT_LE(at_failure.size, acknowledged_size());
  if (seen_.back() != at_failure) seen_.push_back(at_failure);

  // Every later write is refused, also once space is available again.
  auto expect_refused = [&](const std::string& when) {
    SCOPED_TRACE(when);
    std::vector<v1::SignedPayload> records;
    for (int i = 0; i < 3; ++i) {
      records.push_back(Signed(absl::StrFormat("refused-%s-%d", when, i)));
    }
    v1::SubmitRecordsResponse response;
    grpc::Status status = SubmitBatch(records, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.results_size(), 3);
    for (const v1::RecordResult& r : response.results()) {
      EXPECT_EQ(r.code(), kUnavailable) << r.message();
      EXPECT_THAT(r.message(),
                  HasSubstr("the log refuses writes after a storage failure"));
      EXPECT_THAT(r.message(), HasSubstr(full_error_));
    }
    v1::RecordResult result;
    status = SubmitOne(Signed("single-" + when), /*wait=*/true, &result);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(),
                HasSubstr("the log refuses writes after a storage failure"));
    // Also a record that is already in the log: no de-duplication answer
    // from a log that cannot write.
    status = SubmitOne(first, /*wait=*/false, &result);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    // And registry changes.
    TestAgency state_police("CA0190000", v1::STATE_POLICE);
    status = Register(state_police, &result);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr(full_error_));
  };
  ASSERT_NO_FATAL_FAILURE(expect_refused("full"));

  // The server reports the failure once, and health checks say writes are
  // refused; the server as a whole ("") still serves reads.
  EXPECT_EQ(WaitForHealth("vigil.v1.LogService", 2), 2);
  EXPECT_EQ(HealthOf("vigil.v1.RegistryService"), 2);
  EXPECT_EQ(HealthOf(""), 1);
  EXPECT_EQ(CountOf(server_.Log(),
                    "vigil-server: the log stopped accepting writes: "),
            1u);
  EXPECT_THAT(server_.Log(), HasSubstr(full_error_));

  // Reads keep working: entries, proofs, the HTTP checkpoint.
  const std::vector<std::string> entries_while_failed =
      AllEntries(at_failure.size);
  ASSERT_EQ(entries_while_failed.size(), at_failure.size);
  for (uint64_t i = 1; i < at_failure.size; ++i) {
    ASSERT_EQ(entries_while_failed[i], acknowledged_.at(i)) << "index " << i;
  }
  ExpectConsistent(seen_.front(), at_failure);
  {
    v1::GetInclusionProofRequest request;
    request.set_index(at_failure.size - 1);
    v1::InclusionProofResponse response;
    const grpc::Status status =
        log_->GetInclusionProof(CallContext().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(
        merkle::VerifyInclusion(at_failure.size - 1, at_failure.size,
                                merkle::HashLeaf(merkle::AsBytes(
                                    entries_while_failed[at_failure.size - 1])),
                                ToHashes(response.proof()), at_failure.root)
            .ok());
  }
  EXPECT_EQ(HttpCheckpoint(), note_at_failure);

  // Space again, with the server running: still refused until a restart
  // (and RocksDB's own recovery from a full disk, if it tries, changes
  // nothing of that).
  ASSERT_NO_FATAL_FAILURE(MakeSpace());
  // RocksDB's SstFileManager retries every 5 s to clear a "no space" error
  // once the free space exceeds its reserve (64 MiB here), flushing the
  // memtable into a table file: wait for that (or give up after 7 s). It
  // does not retry after EFBIG, which is not a "no space" error.
  const absl::Time resume_deadline =
      absl::Now() +
      (filler_ == Filler::kTmpfs ? absl::Seconds(7) : absl::Milliseconds(500));
  bool rocksdb_resumed = false;
  while (!rocksdb_resumed && absl::Now() < resume_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const auto& file : std::filesystem::directory_iterator(data_dir_)) {
      if (file.path().extension() == ".sst") rocksdb_resumed = true;
    }
  }
  std::cerr << absl::StrFormat("full disk test: RocksDB %s\n",
                               rocksdb_resumed
                                   ? "flushed a table file after the error"
                                   : "wrote no table file after the error");
  ASSERT_NO_FATAL_FAILURE(expect_refused("space"));
  EXPECT_EQ(HealthOf("vigil.v1.LogService"), 2);
  // Many checkpoint intervals later, still the same checkpoint.
  std::string note_later;
  GetCheckpoint(&note_later);
  EXPECT_EQ(note_later, note_at_failure);
  EXPECT_EQ(HttpCheckpoint(), note_at_failure);
  ASSERT_NO_FATAL_FAILURE(StopServer());

  if (filler_ == Filler::kTmpfs) {
    // A restart on a disk that is full again must fail cleanly (or start
    // and refuse writes), and damage nothing: shrink the tmpfs to what it
    // holds.
    struct statvfs disk {};
    ASSERT_EQ(statvfs(data_dir_.c_str(), &disk), 0) << strerror(errno);
    const uint64_t used = (disk.f_blocks - disk.f_bfree) * disk.f_frsize;
    ASSERT_TRUE(tmpfs_->Resize(used).ok());
    const size_t log_before = server_.Log().size();
    const absl::Status started =
        server_.Start(VIGIL_SERVER_BINARY, ServeArgs(), /*expect_http=*/true);
    const std::string log = server_.Log().substr(log_before);
    std::cerr << "full disk test: a restart on the full disk: "
              << (started.ok() ? "started" : "failed") << "\n";
    if (started.ok()) {
      ASSERT_NO_FATAL_FAILURE(Connect());
      ASSERT_NO_FATAL_FAILURE(expect_refused("restarted full"));
      ASSERT_NO_FATAL_FAILURE(StopServer());
    } else {
      EXPECT_THAT(log, HasSubstr("cannot open the database"));
      EXPECT_THAT(log, HasSubstr(full_error_));
    }
    ASSERT_TRUE(tmpfs_->Resize(kTmpfsGrownBytes).ok());
  }

  // Restart with space: healthy, nothing acknowledged is lost, nothing
  // unacknowledged was stored, and the tree extends every checkpoint seen.
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(HealthOf("vigil.v1.LogService"), 1);
  EXPECT_EQ(HealthOf(""), 1);
  const uint64_t size = acknowledged_size();
  const merkle::Checkpoint recovered = WaitForSize(size);
  EXPECT_EQ(recovered.size, size)
      << "entries that were never acknowledged were stored";
  const std::vector<std::string> entries = AllEntries(recovered.size);
  ASSERT_EQ(entries.size(), recovered.size);
  for (const auto& [index, entry] : acknowledged_) {
    if (index == 0) continue;
    ASSERT_EQ(entries[index], entry) << "index " << index << " changed";
  }
  std::vector<merkle::Hash> leaves;
  for (const std::string& e : entries) {
    leaves.push_back(merkle::HashLeaf(merkle::AsBytes(e)));
  }
  EXPECT_EQ(testing::ReferenceRoot(leaves), recovered.root);
  for (const merkle::Checkpoint& old : seen_) {
    ASSERT_NO_FATAL_FAILURE(ExpectConsistent(old, recovered));
  }

  // And it accepts writes again, into a new checkpoint.
  std::vector<v1::SignedPayload> records;
  for (int i = 0; i < kBatch; ++i) {
    records.push_back(Signed(absl::StrFormat("after-%d", i)));
  }
  v1::SubmitRecordsResponse response;
  const grpc::Status batch_status = SubmitBatch(records, &response);
  ASSERT_TRUE(batch_status.ok()) << batch_status.error_message();
  for (int i = 0; i < response.results_size(); ++i) {
    ASSERT_EQ(response.results(i).code(), kOk) << response.results(i).message();
    EXPECT_EQ(response.results(i).index(), size + i);
  }
  const v1::SignedPayload last = Signed("after-single");
  v1::RecordResult last_result;
  const grpc::Status last_status = SubmitOne(last, /*wait=*/true, &last_result);
  ASSERT_TRUE(last_status.ok()) << last_status.error_message();
  EXPECT_EQ(last_result.index(), size + kBatch);
  EXPECT_FALSE(last_result.tlog_proof().empty());
  const merkle::Checkpoint after = WaitForSize(size + kBatch + 1);
  ExpectConsistent(recovered, after);
  ASSERT_NO_FATAL_FAILURE(StopServer());
  // What RocksDB and the server said about it, for the record.
  std::istringstream log(server_.Log());
  for (std::string line; std::getline(log, line);) {
    if (absl::StrContains(line, "rocksdb") ||
        absl::StrContains(line, "stopped accepting")) {
      std::cerr << "full disk test: server log: " << line << "\n";
    }
  }
  std::cerr << absl::StrFormat("full disk test: done in %s\n",
                               absl::FormatDuration(absl::Now() - test_start));
}

// A full disk: a small tmpfs where mounting is permitted, else a file size
// limit.
TEST_F(FullDiskE2ETest, AFullDiskRefusesWritesUntilARestartWithSpace) {
  RunScenario(Filler::kTmpfs);
}

// A file that may not grow (RLIMIT_FSIZE: EFBIG, and SIGXFSZ, which the
// server ignores), which needs no privilege.
TEST_F(FullDiskE2ETest, AFileSizeLimitRefusesWritesUntilARestartWithSpace) {
  RunScenario(Filler::kFileSizeLimit);
}

}  // namespace
}  // namespace vigil
