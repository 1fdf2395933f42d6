#include "server/sequencer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "merkle/checkpoint.h"
#include "merkle/compact_range.h"
#include "merkle/cosignature.h"
#include "merkle/note.h"
#include "merkle/proof.h"
#include "server/log_reader.h"
#include "server/memory_storage.h"
#include "server/registry.h"
#include "tests/testing/fault_storage.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;

constexpr char kOrigin[] = "vigil.example/test-log";

// Blocks every Commit until Open() is called, to hold the sequencer busy.
class GatedStorage final : public Storage {
 public:
  explicit GatedStorage(Storage* inner) : inner_(inner) {}
  void Open() { open_.Notify(); }
  absl::StatusOr<LogState> ReadState() override { return inner_->ReadState(); }
  absl::StatusOr<std::vector<std::string>> ReadEntries(uint64_t b,
                                                       uint64_t e) override {
    return inner_->ReadEntries(b, e);
  }
  absl::StatusOr<std::string> ReadTile(uint8_t l, uint64_t i) override {
    return inner_->ReadTile(l, i);
  }
  absl::StatusOr<std::optional<uint64_t>> FindLeaf(
      const merkle::Hash& h) override {
    return inner_->FindLeaf(h);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ReadRegistry() override {
    return inner_->ReadRegistry();
  }
  absl::Status Commit(const WriteSet& w) override {
    open_.WaitForNotification();
    return inner_->Commit(w);
  }

 private:
  Storage* inner_;
  absl::Notification open_;
};

// What a test needs to run a sequencer, with helpers that wait for results.
class SequencerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_.emplace(*merkle::Ed25519Signer::Generate(kOrigin));
    agency_key_.emplace(
        *merkle::Ed25519PrivateKey::FromSeed(std::vector<uint8_t>(32, 7)));
  }

  absl::Status StartOn(Storage* storage, SequencerOptions options = {}) {
    sequencer_.reset();
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> records =
        storage->ReadRegistry();
    if (!records.ok()) return records.status();
    absl::StatusOr<std::unique_ptr<Registry>> registry =
        Registry::Load(*records);
    if (!registry.ok()) return registry.status();
    registry_ = *std::move(registry);
    options.origin = kOrigin;
    options.checkpoint_interval = absl::Milliseconds(20);
    absl::StatusOr<std::unique_ptr<Sequencer>> sequencer =
        Sequencer::Start(storage, registry_.get(), &*signer_, options);
    if (!sequencer.ok()) return sequencer.status();
    sequencer_ = *std::move(sequencer);
    return absl::OkStatus();
  }

  std::string AgencyPublicKey() const {
    const auto& pk = agency_key_->public_key();
    return std::string(pk.begin(), pk.end());
  }

  PendingEntry RegisterAgency() const {
    vigil::v1::RegistryChange change;
    change.set_change_time_centis(178000000000);
    auto* reg = change.mutable_register_();
    reg->set_ori("CA0349400");
    reg->set_agency_class(vigil::v1::LOCAL_POLICE);
    reg->set_agency_name("Test Police Department");
    reg->set_state("CA");
    reg->set_public_key(AgencyPublicKey());
    PendingEntry e;
    e.kind = EntryKind::kRegistryChange;
    e.entry = "registry:" + change.SerializeAsString();
    e.leaf_hash = merkle::HashLeaf(merkle::AsBytes(e.entry));
    e.registry_change = change;
    return e;
  }

  PendingEntry RevokeAgency() const {
    vigil::v1::RegistryChange change;
    change.set_change_time_centis(178000000001);
    change.mutable_revoke()->set_public_key(AgencyPublicKey());
    change.mutable_revoke()->set_reason("key leaked");
    PendingEntry e;
    e.kind = EntryKind::kRegistryChange;
    e.entry = "registry:" + change.SerializeAsString();
    e.leaf_hash = merkle::HashLeaf(merkle::AsBytes(e.entry));
    e.registry_change = change;
    return e;
  }

  // An access record entry; the sequencer treats the bytes as opaque.
  PendingEntry Record(int n) const {
    PendingEntry e;
    e.kind = EntryKind::kAccessRecord;
    e.entry = "record " + std::to_string(n);
    e.leaf_hash = merkle::HashLeaf(merkle::AsBytes(e.entry));
    e.public_key = AgencyPublicKey();
    return e;
  }

  // Starts on `storage` with room for 4 queued entries.
  absl::Status StartWithQueueOf4(Storage& storage) {
    SequencerOptions options;
    options.max_pending = 4;
    return StartOn(&storage, options);
  }

  // Submits one entry: OK if it was queued, or why not.
  absl::Status SubmitOne(PendingEntry entry, AppendCallback done) {
    std::vector<Sequencer::Item> items;
    items.push_back({std::move(entry), std::move(done)});
    absl::Status refused;
    const size_t queued = sequencer_->Submit(items, &refused);
    EXPECT_EQ(queued, refused.ok() ? 1u : 0u);
    return refused;
  }

  // Submits and waits for the result.
  absl::StatusOr<Appended> Append(PendingEntry entry) {
    absl::Notification done;
    absl::StatusOr<Appended> result;
    absl::Status s =
        SubmitOne(std::move(entry), [&](absl::StatusOr<Appended> r) {
          result = std::move(r);
          done.Notify();
        });
    if (!s.ok()) return s;
    done.WaitForNotification();
    return result;
  }

  std::shared_ptr<const SignedCheckpoint> WaitCovered(uint64_t size) {
    absl::Notification done;
    std::shared_ptr<const SignedCheckpoint> cp;
    sequencer_->WhenCovered(size, [&](auto c) {
      cp = std::move(c);
      done.Notify();
    });
    done.WaitForNotification();
    return cp;
  }

  // The root recomputed from every stored entry of the tree of `size`.
  static merkle::Hash RootFromEntries(Storage& storage, uint64_t size) {
    merkle::CompactRange range;
    const absl::StatusOr<std::vector<std::string>> entries =
        storage.ReadEntries(0, size);
    EXPECT_TRUE(entries.ok()) << entries.status();
    for (const std::string& e : *entries) {
      range.Append(merkle::HashLeaf(merkle::AsBytes(e)));
    }
    return *range.RootHash();
  }

  std::optional<merkle::Ed25519Signer> signer_;
  std::optional<merkle::Ed25519PrivateKey> agency_key_;
  // Storage must outlive the sequencer: declared first, destroyed last.
  MemoryStorage memory_;
  std::optional<GatedStorage> gated_;
  std::optional<testing::FaultInjectingStorage> faulty_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Sequencer> sequencer_;
};

TEST_F(SequencerTest, AnEmptyLogPublishesASignedEmptyCheckpoint) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  std::shared_ptr<const SignedCheckpoint> cp = WaitCovered(0);
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->checkpoint.size, 0u);
  EXPECT_EQ(cp->checkpoint.root, merkle::EmptyRoot());
  EXPECT_TRUE(
      merkle::OpenCheckpoint(cp->note, signer_->verifier(), kOrigin).ok());
}

TEST_F(SequencerTest, ConcurrentSubmissionsGetDistinctDurableIndices) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_EQ(Append(RegisterAgency())->index, 0u);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::vector<std::vector<uint64_t>> indices(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<Appended> a = Append(Record(t * kPerThread + i));
        ASSERT_TRUE(a.ok()) << a.status();
        indices[t].push_back(a->index);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<bool> seen(1 + kThreads * kPerThread, false);
  for (const auto& list : indices) {
    for (uint64_t i : list) {
      ASSERT_GE(i, 1u);
      ASSERT_LT(i, seen.size());
      EXPECT_FALSE(seen[i]) << "index " << i << " given twice";
      seen[i] = true;
    }
  }
  std::shared_ptr<const SignedCheckpoint> cp = WaitCovered(seen.size());
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->checkpoint.size, seen.size());
  EXPECT_EQ(cp->checkpoint.root, RootFromEntries(storage, seen.size()));
  // Each acknowledged entry is stored at its index.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ((*storage.ReadEntries(indices[t][i], indices[t][i] + 1))[0],
                Record(t * kPerThread + i).entry);
    }
  }
}

TEST_F(SequencerTest, ResubmittingAnEntryReturnsItsOriginalIndex) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  absl::StatusOr<Appended> first = Append(Record(1));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  absl::StatusOr<Appended> again = Append(Record(1));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->index, first->index);
  EXPECT_EQ(storage.ReadState()->size, 2u);
}

TEST_F(SequencerTest, DuplicatesWithinOneBatchAreAppendedOnce) {
  MemoryStorage& inner = memory_;
  GatedStorage& storage = gated_.emplace(&memory_);
  ASSERT_TRUE(StartOn(&storage).ok());
  // The first commit (the empty checkpoint) blocks, so the rest queue up
  // and integrate as one batch.
  std::vector<absl::StatusOr<Appended>> results(3);
  absl::BlockingCounter pending(3);
  const PendingEntry entries[] = {RegisterAgency(), Record(5), Record(5)};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SubmitOne(entries[i], [&, i](absl::StatusOr<Appended> r) {
                  results[i] = std::move(r);
                  pending.DecrementCount();
                }).ok());
  }
  storage.Open();
  pending.Wait();
  ASSERT_TRUE(results[1].ok() && results[2].ok());
  EXPECT_EQ(results[1]->index, results[2]->index);
  EXPECT_FALSE(results[1]->duplicate);
  EXPECT_TRUE(results[2]->duplicate);
  EXPECT_EQ(inner.ReadState()->size, 2u);
}

TEST_F(SequencerTest, AKeyRevokedEarlierInTheLogIsRefusedAtItsPosition) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  ASSERT_TRUE(Append(Record(1)).ok());
  ASSERT_TRUE(Append(RevokeAgency()).ok());
  absl::StatusOr<Appended> late = Append(Record(2));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(late.status().message()), HasSubstr("CA0349400"));
  EXPECT_EQ(storage.ReadState()->size, 3u);
}

TEST_F(SequencerTest, RecordsOfUnregisteredKeysAreRefused) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  EXPECT_EQ(Append(Record(1)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(storage.ReadState()->size, 0u);
}

TEST_F(SequencerTest, AFullQueueAnswersResourceExhausted) {
  GatedStorage& storage = gated_.emplace(&memory_);
  ASSERT_TRUE(StartWithQueueOf4(storage).ok());
  std::atomic<int> completed = 0;
  auto count = [&](absl::StatusOr<Appended>) { ++completed; };
  int accepted = 0;
  absl::Status refused;
  for (int i = 0; i < 100 && refused.ok(); ++i) {
    refused = SubmitOne(Record(i), count);
    if (refused.ok()) ++accepted;
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("queue is full"));
  EXPECT_LE(accepted, 4 + 4);  // The queue, plus at most one batch taken.
  storage.Open();
  sequencer_.reset();  // Drains the queue.
  EXPECT_EQ(completed.load(), accepted);
}

TEST_F(SequencerTest, EntriesSubmittedTogetherAreWrittenInOneCommit) {
  testing::FaultInjectingStorage& storage = faulty_.emplace(&memory_);
  absl::Mutex mu;
  std::vector<size_t> commits;  // Entries per commit.
  storage.SetCommitHook([&](const WriteSet& writes) {
    absl::MutexLock lock(&mu);
    if (!writes.entries.empty()) commits.push_back(writes.entries.size());
  });
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  absl::BlockingCounter appended(300);
  std::vector<Sequencer::Item> items;
  std::vector<uint64_t> indices(300);
  for (int i = 0; i < 300; ++i) {
    items.push_back({Record(i), [&, i](absl::StatusOr<Appended> r) {
                       EXPECT_TRUE(r.ok()) << r.status();
                       if (r.ok()) indices[i] = r->index;
                       appended.DecrementCount();
                     }});
  }
  absl::Status refused;
  EXPECT_EQ(sequencer_->Submit(items, &refused), 300u);
  EXPECT_TRUE(refused.ok()) << refused;
  appended.Wait();
  storage.SetCommitHook(nullptr);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(indices[i], 1u + i);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(commits, ::testing::ElementsAre(1u, 300u));
}

TEST_F(SequencerTest, AFullQueueTakesWhatFitsOfASubmissionAndRefusesTheRest) {
  GatedStorage& storage = gated_.emplace(&memory_);
  ASSERT_TRUE(StartWithQueueOf4(storage).ok());
  std::atomic<int> completed = 0;
  std::vector<Sequencer::Item> items;
  for (int i = 0; i < 10; ++i) {
    items.push_back(
        {Record(i), [&](absl::StatusOr<Appended>) { ++completed; }});
  }
  absl::Status refused;
  EXPECT_EQ(sequencer_->Submit(items, &refused), 4u);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("queue is full"));
  // The refused items are untouched, their callbacks never called.
  EXPECT_NE(items[4].done, nullptr);
  storage.Open();
  sequencer_.reset();  // Drains the queue.
  EXPECT_EQ(completed.load(), 4);
}

TEST_F(SequencerTest, AFailedWriteIsStickyAndNothingUnacknowledgedIsStored) {
  MemoryStorage& inner = memory_;
  testing::FaultInjectingStorage& storage = faulty_.emplace(&memory_);
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  ASSERT_TRUE(Append(Record(1)).ok());
  std::shared_ptr<const SignedCheckpoint> before = WaitCovered(2);
  ASSERT_NE(before, nullptr);

  storage.FailCommitsFromNow(absl::UnavailableError("disk full"));
  absl::StatusOr<Appended> failed = Append(Record(2));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("disk full"));
  EXPECT_EQ(sequencer_->health().code(), absl::StatusCode::kUnavailable);

  // Healthy storage again does not bring writes back: only a restart does.
  storage.StopFailing();
  EXPECT_EQ(SubmitOne(Record(3), [](auto) {}).code(),
            absl::StatusCode::kUnavailable);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(sequencer_->Latest()->note, before->note);
  EXPECT_EQ(inner.ReadState()->size, 2u);

  // After a restart the log is whole and takes writes again.
  ASSERT_TRUE(StartOn(&storage).ok());
  EXPECT_EQ(sequencer_->Latest()->note, before->note);
  absl::StatusOr<Appended> after = Append(Record(2));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->index, 2u);
}

TEST_F(SequencerTest, ADuplicateInAFailedBatchIsRefusedToo) {
  GatedStorage& gate = gated_.emplace(&memory_);
  testing::FaultInjectingStorage& storage = faulty_.emplace(&gate);
  ASSERT_TRUE(StartOn(&storage).ok());
  // The first commit (the empty checkpoint) is held at the gate while the
  // batch queues; the next commit, the batch's, fails.
  while (storage.commit_calls() == 0) absl::SleepFor(absl::Milliseconds(1));
  storage.FailCommit(1, absl::UnavailableError("I/O error"));
  std::vector<absl::StatusOr<Appended>> results(3);
  absl::BlockingCounter pending(3);
  const PendingEntry entries[] = {RegisterAgency(), Record(5), Record(5)};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SubmitOne(entries[i], [&, i](absl::StatusOr<Appended> r) {
                  results[i] = std::move(r);
                  pending.DecrementCount();
                }).ok());
  }
  gate.Open();
  pending.Wait();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].status().code(), absl::StatusCode::kUnavailable)
        << "entry " << i;
  }
  EXPECT_EQ(memory_.ReadState()->size, 0u);
}

TEST_F(SequencerTest, CheckpointWaitersAreReleasedWhenWritesFail) {
  testing::FaultInjectingStorage& storage = faulty_.emplace(&memory_);
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_NE(WaitCovered(0), nullptr);
  absl::Notification released;
  std::shared_ptr<const SignedCheckpoint> got;
  sequencer_->WhenCovered(1000, [&](auto cp) {
    got = std::move(cp);
    released.Notify();
  });
  storage.FailCommitsFromNow(absl::UnavailableError("disk gone"));
  EXPECT_EQ(Append(RegisterAgency()).status().code(),
            absl::StatusCode::kUnavailable);
  released.WaitForNotification();
  EXPECT_EQ(got, nullptr);
  // A waiter that comes after the failure is answered at once.
  EXPECT_EQ(WaitCovered(1000), nullptr);
  EXPECT_NE(WaitCovered(0), nullptr);  // What was published stays.
}

TEST_F(SequencerTest, RestartRecoversTheTreeAndExtendsItConsistently) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(Append(Record(i)).ok());
  std::shared_ptr<const SignedCheckpoint> old_cp = WaitCovered(301);
  ASSERT_NE(old_cp, nullptr);

  ASSERT_TRUE(StartOn(&storage).ok());
  EXPECT_EQ(sequencer_->Latest()->note, old_cp->note);
  EXPECT_TRUE(registry_->Find(AgencyPublicKey()).has_value());
  for (int i = 300; i < 700; ++i) ASSERT_TRUE(Append(Record(i)).ok());
  std::shared_ptr<const SignedCheckpoint> new_cp = WaitCovered(701);
  ASSERT_NE(new_cp, nullptr);
  EXPECT_EQ(new_cp->checkpoint.root, RootFromEntries(storage, 701));

  LogReader reader(&storage);
  absl::StatusOr<std::vector<merkle::Hash>> proof =
      reader.ConsistencyProof(301, 701);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(merkle::VerifyConsistency(301, 701, old_cp->checkpoint.root,
                                        new_cp->checkpoint.root, *proof)
                  .ok());
}

TEST_F(SequencerTest, SubscribersSeeEveryNewCheckpointThenNull) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_NE(WaitCovered(0), nullptr);
  absl::Mutex mu;
  std::vector<uint64_t> sizes;
  bool ended = false;
  sequencer_->Subscribe([&](std::shared_ptr<const SignedCheckpoint> cp) {
    absl::MutexLock lock(&mu);
    if (cp == nullptr) {
      ended = true;
    } else {
      sizes.push_back(cp->checkpoint.size);
    }
  });
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  ASSERT_NE(WaitCovered(1), nullptr);
  ASSERT_TRUE(Append(Record(1)).ok());
  ASSERT_NE(WaitCovered(2), nullptr);
  sequencer_.reset();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(sizes, ::testing::ElementsAre(1, 2));
  EXPECT_TRUE(ended);
}

TEST_F(SequencerTest, StartRefusesACheckpointFromAnotherKey) {
  MemoryStorage& storage = memory_;
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  ASSERT_NE(WaitCovered(1), nullptr);
  sequencer_.reset();
  signer_.emplace(*merkle::Ed25519Signer::Generate(kOrigin));
  const absl::Status s = StartOn(&storage);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("stored checkpoint"));
}

TEST_F(SequencerTest, StartRefusesAFrontierThatDoesNotFitTheSize) {
  testing::FaultInjectingStorage& storage = faulty_.emplace(&memory_);
  storage.OverrideState(LogState{5, {merkle::EmptyRoot()}, ""});
  const absl::Status s = StartOn(&storage);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("frontier"));
}

TEST_F(SequencerTest, AWriteThatLandedButReportedFailureIsNotAcknowledged) {
  testing::FaultInjectingStorage& storage = faulty_.emplace(&memory_);
  ASSERT_TRUE(StartOn(&storage).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  // With the tree checkpointed, the next commit is the record's.
  ASSERT_NE(WaitCovered(1), nullptr);
  storage.FailCommit(1, absl::UnavailableError("fsync failed"),
                     testing::FaultInjectingStorage::FailureMode::kAfterWrite);
  EXPECT_EQ(Append(Record(1)).status().code(), absl::StatusCode::kUnavailable);
  // After a restart the entry may be there (the caller could not know);
  // resubmitting it is safe and returns its index.
  storage.StopFailing();
  ASSERT_TRUE(StartOn(&storage).ok());
  absl::StatusOr<Appended> again = Append(Record(1));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->index, 1u);
}

TEST_F(SequencerTest, StartRefusesAKeyNamedOtherThanTheOrigin) {
  MemoryStorage& storage = memory_;
  signer_.emplace(*merkle::Ed25519Signer::Generate("vigil.example/other"));
  EXPECT_EQ(StartOn(&storage).code(), absl::StatusCode::kInvalidArgument);
}

// A witness in-process: cosigns with a real key when up, refuses when down.
class FakeCosigner final : public CheckpointCosigner {
 public:
  FakeCosigner() : witness_(*merkle::Cosigner::Generate("witness.example")) {}

  void SetUp(bool up) {
    absl::MutexLock lock(&mu_);
    up_ = up;
  }
  // Waits until Cosign has been called `n` times in all.
  void AwaitCalls(int n) {
    absl::MutexLock lock(&mu_);
    while (calls_ < n) called_.Wait(&mu_);
  }

  absl::StatusOr<std::string> Cosign(const SignedCheckpoint& cp) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    called_.SignalAll();
    if (!up_) return absl::UnavailableError("the witness is down");
    absl::StatusOr<merkle::SignedNote> note = merkle::ParseSignedNote(cp.note);
    if (!note.ok()) return note.status();
    absl::StatusOr<merkle::NoteSignature> cosignature =
        witness_.Cosign(note->text, 1700000000);
    if (!cosignature.ok()) return cosignature.status();
    const merkle::NoteSignature lines[] = {*cosignature};
    return merkle::AddSignatureLines(cp.note, lines);
  }

  absl::Status CheckCosigned(std::string_view note) const override {
    const merkle::CosignatureVerifier* keys[] = {&witness_.verifier()};
    return merkle::VerifyCosignatureQuorum(note, keys, 1).status();
  }

 private:
  const merkle::Cosigner witness_;
  absl::Mutex mu_;
  absl::CondVar called_;
  bool up_ = true;
  int calls_ = 0;
};

SequencerOptions WithCosigner(CheckpointCosigner* cosigner) {
  SequencerOptions options;
  options.cosigner = cosigner;
  options.cosign_retry = absl::Milliseconds(5);
  return options;
}

TEST_F(SequencerTest, NothingIsPublishedUntilTheWitnessesCosign) {
  FakeCosigner witnesses;
  witnesses.SetUp(false);
  ASSERT_TRUE(StartOn(&memory_, WithCosigner(&witnesses)).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  ASSERT_TRUE(Append(Record(1)).ok());
  // Several refusals later (retries, then the newer checkpoint of size 2),
  // still nothing is published, and the reason is reported.
  witnesses.AwaitCalls(4);
  EXPECT_EQ(sequencer_->Latest(), nullptr);
  EXPECT_THAT(sequencer_->cosigning().message(),
              HasSubstr("the witness is down"));
  EXPECT_TRUE(memory_.ReadState()->checkpoint.empty());

  witnesses.SetUp(true);
  std::shared_ptr<const SignedCheckpoint> cp = WaitCovered(2);
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->checkpoint.size, 2u);
  EXPECT_TRUE(witnesses.CheckCosigned(cp->note).ok());
  EXPECT_TRUE(
      merkle::OpenCheckpoint(cp->note, signer_->verifier(), kOrigin).ok());
  // What is published is what is stored, cosignatures included.
  EXPECT_EQ(memory_.ReadState()->checkpoint, cp->note);
  EXPECT_TRUE(sequencer_->cosigning().ok());
}

TEST_F(SequencerTest, AStoredCosignedCheckpointIsPublishedAtRestart) {
  FakeCosigner witnesses;
  ASSERT_TRUE(StartOn(&memory_, WithCosigner(&witnesses)).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  std::shared_ptr<const SignedCheckpoint> cp = WaitCovered(1);
  ASSERT_NE(cp, nullptr);

  witnesses.SetUp(false);
  ASSERT_TRUE(StartOn(&memory_, WithCosigner(&witnesses)).ok());
  ASSERT_NE(sequencer_->Latest(), nullptr);
  EXPECT_EQ(sequencer_->Latest()->note, cp->note);
}

TEST_F(SequencerTest, ACheckpointStoredWithoutWitnessesWaitsForThemAtRestart) {
  ASSERT_TRUE(StartOn(&memory_).ok());
  ASSERT_TRUE(Append(RegisterAgency()).ok());
  std::shared_ptr<const SignedCheckpoint> uncosigned = WaitCovered(1);
  ASSERT_NE(uncosigned, nullptr);

  FakeCosigner witnesses;
  witnesses.SetUp(false);
  ASSERT_TRUE(StartOn(&memory_, WithCosigner(&witnesses)).ok());
  witnesses.AwaitCalls(2);
  EXPECT_EQ(sequencer_->Latest(), nullptr);
  // Writes meanwhile keep the stored checkpoint.
  ASSERT_TRUE(Append(Record(1)).ok());
  EXPECT_EQ(memory_.ReadState()->checkpoint, uncosigned->note);

  witnesses.SetUp(true);
  std::shared_ptr<const SignedCheckpoint> cp = WaitCovered(2);
  ASSERT_NE(cp, nullptr);
  EXPECT_TRUE(witnesses.CheckCosigned(cp->note).ok());
}

}  // namespace
}  // namespace vigil::server
