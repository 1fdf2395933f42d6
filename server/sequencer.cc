#include "server/sequencer.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/proof.h"
#include "server/log_reader.h"

namespace vigil::server {
namespace {

using merkle::Hash;

absl::Status DataLoss(const absl::Status& status, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("%s: %s", what, status.message()));
}

// Rebuilds the tile builder of a tree of `size` entries from its stored
// partial tiles, one per level at most.
absl::StatusOr<merkle::TileBuilder> ResumeTiles(Storage& storage,
                                                uint64_t size) {
  std::vector<std::vector<Hash>> partial;
  for (uint8_t level = 0; level <= merkle::kMaxTileLevel; ++level) {
    const uint16_t width = merkle::PartialTileWidth(level, size);
    if (merkle::FullTileCount(level, size) == 0 && width == 0) break;
    partial.emplace_back();
    if (width == 0) continue;
    const uint64_t index = merkle::FullTileCount(level, size);
    absl::StatusOr<std::string> data = storage.ReadTile(level, index);
    if (!data.ok()) {
      return DataLoss(data.status(),
                      absl::StrFormat("partial tile %d/%d", level, index));
    }
    // The stored partial tile is the one of the stored size: tiles and
    // state are written in one atomic commit.
    absl::StatusOr<std::vector<Hash>> hashes = merkle::DecodeTile(*data, width);
    if (!hashes.ok()) {
      return DataLoss(hashes.status(),
                      absl::StrFormat("partial tile %d/%d", level, index));
    }
    partial.back() = *std::move(hashes);
  }
  absl::StatusOr<merkle::TileBuilder> tiles =
      merkle::TileBuilder::Resume(size, partial);
  if (!tiles.ok()) return DataLoss(tiles.status(), "stored tiles");
  return tiles;
}

// The stored checkpoint, checked against the log key and the stored tree.
absl::StatusOr<std::shared_ptr<const SignedCheckpoint>> RecoverCheckpoint(
    Storage& storage, const LogState& state,
    const merkle::Ed25519Signer& signer) {
  if (state.checkpoint.empty()) return nullptr;
  absl::StatusOr<merkle::OpenedCheckpoint> opened = merkle::OpenCheckpoint(
      state.checkpoint, signer.verifier(), signer.name());
  if (!opened.ok()) return DataLoss(opened.status(), "stored checkpoint");
  if (opened->checkpoint.size > state.size) {
    return absl::DataLossError(absl::StrFormat(
        "stored checkpoint of size %d is ahead of the stored tree of size %d",
        opened->checkpoint.size, state.size));
  }
  LogReader reader(&storage);
  absl::StatusOr<Hash> root = reader.RootHash(opened->checkpoint.size);
  if (!root.ok()) return DataLoss(root.status(), "stored checkpoint's tree");
  if (*root != opened->checkpoint.root) {
    return absl::DataLossError(absl::StrFormat(
        "stored checkpoint root %s differs from the stored tree's %s at size "
        "%d",
        merkle::HexEncode(opened->checkpoint.root), merkle::HexEncode(*root),
        opened->checkpoint.size));
  }
  return std::make_shared<const SignedCheckpoint>(
      SignedCheckpoint{state.checkpoint, opened->checkpoint});
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sequencer>> Sequencer::Start(
    Storage* storage, Registry* registry, const merkle::Ed25519Signer* signer,
    SequencerOptions options) {
  if (signer->name() != options.origin) {
    return absl::InvalidArgumentError(
        absl::StrFormat("log key name %s differs from the origin %s",
                        signer->name(), options.origin));
  }
  absl::StatusOr<LogState> state = storage->ReadState();
  if (!state.ok()) return state.status();
  absl::StatusOr<merkle::CompactRange> range =
      merkle::CompactRange::FromHashes(0, state->size, state->frontier);
  if (!range.ok()) return DataLoss(range.status(), "stored frontier");
  absl::StatusOr<merkle::TileBuilder> tiles =
      ResumeTiles(*storage, state->size);
  if (!tiles.ok()) return tiles.status();
  if (tiles->Root() != *range->RootHash()) {
    return absl::DataLossError(absl::StrFormat(
        "stored tiles and stored frontier disagree on the root at size %d",
        state->size));
  }
  absl::StatusOr<std::shared_ptr<const SignedCheckpoint>> stored =
      RecoverCheckpoint(*storage, *state, *signer);
  if (!stored.ok()) return stored.status();
  std::shared_ptr<const SignedCheckpoint> published = *stored;
  if (options.cosigner != nullptr && published != nullptr &&
      !options.cosigner->CheckCosigned(published->note).ok()) {
    // Stored before these witnesses were configured: it is published again
    // once they cosign it.
    published = nullptr;
  }

  std::unique_ptr<Sequencer> sequencer(new Sequencer(
      storage, registry, signer, std::move(options), *std::move(range),
      *std::move(tiles), std::move(published), *std::move(stored)));
  sequencer->thread_ = std::thread([s = sequencer.get()] { s->Run(); });
  if (sequencer->options_.cosigner != nullptr) {
    sequencer->cosign_thread_ =
        std::thread([s = sequencer.get()] { s->RunCosigning(); });
  }
  return sequencer;
}

Sequencer::Sequencer(Storage* storage, Registry* registry,
                     const merkle::Ed25519Signer* signer,
                     SequencerOptions options, merkle::CompactRange range,
                     merkle::TileBuilder tiles,
                     std::shared_ptr<const SignedCheckpoint> latest,
                     std::shared_ptr<const SignedCheckpoint> signed_checkpoint)
    : storage_(storage),
      registry_(registry),
      signer_(signer),
      options_(std::move(options)),
      range_(std::move(range)),
      tiles_(std::move(tiles)),
      signed_(std::move(signed_checkpoint)),
      stored_note_(signed_ != nullptr ? signed_->note : std::string()),
      latest_(std::move(latest)) {
  if (latest_ != signed_) to_cosign_ = signed_;
}

Sequencer::~Sequencer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
    cosign_wake_.Signal();
  }
  thread_.join();
  if (cosign_thread_.joinable()) cosign_thread_.join();
}

size_t Sequencer::Submit(std::vector<Item>& items, absl::Status* refused) {
  absl::MutexLock lock(&mu_);
  if (!health_.ok()) {
    *refused = absl::UnavailableError(
        absl::StrFormat("the log refuses writes after a storage failure: %s",
                        health_.message()));
    return 0;
  }
  if (stopping_) {
    *refused = absl::UnavailableError("the log is shutting down");
    return 0;
  }
  const size_t room =
      options_.max_pending - std::min(queue_.size(), options_.max_pending);
  const size_t n = std::min(room, items.size());
  if (n < items.size()) {
    *refused = absl::ResourceExhaustedError(absl::StrFormat(
        "the log's queue is full (%d entries pending); retry later",
        queue_.size() + n));
  }
  for (size_t i = 0; i < n; ++i) queue_.push_back(std::move(items[i]));
  if (n > 0) wake_.Signal();
  return n;
}

std::shared_ptr<const SignedCheckpoint> Sequencer::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

void Sequencer::WhenCovered(uint64_t size, CheckpointCallback done) {
  std::shared_ptr<const SignedCheckpoint> now;
  {
    absl::MutexLock lock(&mu_);
    const bool covered = latest_ != nullptr && latest_->checkpoint.size >= size;
    if (!covered && !stopped_ && health_.ok()) {
      waiters_.emplace(size, std::move(done));
      return;
    }
    // Covered now, or never: a stopped or failed log signs no more
    // checkpoints.
    if (covered) now = latest_;
  }
  done(std::move(now));
}

uint64_t Sequencer::Subscribe(CheckpointCallback watch) {
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    id = next_subscriber_++;
    if (!stopped_) {
      subscribers_.emplace(id, std::move(watch));
      return id;
    }
  }
  watch(nullptr);
  return id;
}

void Sequencer::Unsubscribe(uint64_t id) {
  CheckpointCallback removed;
  {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) return;
    removed = std::move(it->second);
    subscribers_.erase(it);
  }
  // `removed` is destroyed here, outside the lock.
}

absl::Status Sequencer::health() const {
  absl::MutexLock lock(&mu_);
  return health_;
}

absl::Status Sequencer::cosigning() const {
  absl::MutexLock lock(&mu_);
  return cosigning_;
}

void Sequencer::Run() {
  absl::Time next_checkpoint = absl::Now();
  while (true) {
    std::vector<Item> batch;
    std::shared_ptr<const SignedCheckpoint> cosigned;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && cosigned_ == nullptr && !stopping_ &&
             absl::Now() < next_checkpoint) {
        wake_.WaitWithDeadline(&mu_, next_checkpoint);
      }
      cosigned.swap(cosigned_);
      const size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stop = stopping_ && queue_.empty();
    }
    if (!batch.empty()) Integrate(batch);
    if (cosigned != nullptr) StoreAndPublish(std::move(cosigned));
    if (stop || absl::Now() >= next_checkpoint) {
      MaybeSignCheckpoint();
      next_checkpoint = absl::Now() + options_.checkpoint_interval;
    }
    if (stop) break;
  }

  std::multimap<uint64_t, CheckpointCallback> waiters;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    waiters.swap(waiters_);
    // Under the lock, as in publication: after Unsubscribe returns, no call.
    for (auto& [id, watch] : subscribers_) watch(nullptr);
    subscribers_.clear();
  }
  for (auto& [size, done] : waiters) done(nullptr);
}

void Sequencer::RunCosigning() {
  while (true) {
    std::shared_ptr<const SignedCheckpoint> next;
    {
      absl::MutexLock lock(&mu_);
      while (to_cosign_ == nullptr && !stopping_) cosign_wake_.Wait(&mu_);
      if (stopping_) return;
      next.swap(to_cosign_);
    }
    absl::StatusOr<std::string> note = options_.cosigner->Cosign(*next);
    absl::MutexLock lock(&mu_);
    if (note.ok()) {
      cosigning_ = absl::OkStatus();
      cosigned_ = std::make_shared<const SignedCheckpoint>(
          SignedCheckpoint{*std::move(note), next->checkpoint});
      wake_.Signal();
      continue;
    }
    cosigning_ = absl::Status(
        note.status().code(),
        absl::StrFormat("the checkpoint of size %d is not cosigned yet: %s",
                        next->checkpoint.size, note.status().message()));
    // Try again later, unless a newer checkpoint replaced it meanwhile.
    if (to_cosign_ == nullptr) to_cosign_ = std::move(next);
    const absl::Time retry_at = absl::Now() + options_.cosign_retry;
    while (!stopping_ && absl::Now() < retry_at) {
      cosign_wake_.WaitWithDeadline(&mu_, retry_at);
    }
  }
}

LogState Sequencer::CurrentState(const std::string& checkpoint) const {
  return LogState{
      range_.end(),
      std::vector<Hash>(range_.hashes().begin(), range_.hashes().end()),
      checkpoint};
}

void Sequencer::Integrate(std::vector<Item>& batch) {
  std::vector<absl::StatusOr<Appended>> results;
  results.reserve(batch.size());
  absl::Status health = this->health();
  if (!health.ok()) {
    for (Item& item : batch) {
      item.done(absl::UnavailableError(
          absl::StrFormat("the log refuses writes after a storage failure: %s",
                          health.message())));
    }
    return;
  }

  WriteSet writes;
  writes.first_index = range_.end();
  const merkle::TileSink collect = [&writes](const merkle::TileID& tile,
                                             std::span<const Hash> hashes) {
    writes.tiles.push_back(
        WriteSet::Tile{tile.level, tile.index, merkle::EncodeTile(hashes)});
    return absl::OkStatus();
  };
  Registry::Staging staging = registry_->Stage();
  std::map<Hash, uint64_t> in_batch;
  // Results that depend on this batch's write: new entries, and duplicates
  // of them within the batch. A failed write refuses them all.
  std::vector<bool> in_this_write(batch.size(), false);

  for (Item& item : batch) {
    const PendingEntry& entry = item.entry;
    if (auto it = in_batch.find(entry.leaf_hash); it != in_batch.end()) {
      in_this_write[results.size()] = true;
      results.push_back(Appended{it->second, true, entry.leaf_hash});
      continue;
    }
    absl::StatusOr<std::optional<uint64_t>> stored =
        storage_->FindLeaf(entry.leaf_hash);
    if (!stored.ok()) {
      results.push_back(absl::UnavailableError(absl::StrFormat(
          "cannot check for a duplicate: %s", stored.status().message())));
      continue;
    }
    if (stored->has_value()) {
      results.push_back(Appended{**stored, true, entry.leaf_hash});
      continue;
    }
    const uint64_t index = range_.end();
    if (entry.kind == EntryKind::kAccessRecord) {
      // The key must still be valid at this position in the log: a
      // revocation integrated after the RPC thread's check wins.
      const std::optional<vigil::v1::AgencyKey> key =
          staging.Find(entry.public_key);
      if (!key.has_value() || key->revoked()) {
        results.push_back(absl::PermissionDeniedError(absl::StrFormat(
            "the signing key of %s was revoked before index %d",
            key.has_value() ? key->ori() : std::string("an unknown agency"),
            index)));
        continue;
      }
    } else {
      if (!entry.registry_change.has_value()) {
        results.push_back(absl::InvalidArgumentError(
            "registry entry carries no registry change"));
        continue;
      }
      if (absl::Status s = staging.Apply(*entry.registry_change, index);
          !s.ok()) {
        results.push_back(s);
        continue;
      }
    }
    range_.Append(entry.leaf_hash);
    // The collecting sink never fails, so neither does the builder.
    (void)tiles_.Append(entry.leaf_hash, collect);
    writes.entries.push_back(entry.entry);
    writes.leaf_hashes.push_back(entry.leaf_hash);
    in_batch.emplace(entry.leaf_hash, index);
    in_this_write[results.size()] = true;
    results.push_back(Appended{index, false, entry.leaf_hash});
  }

  if (!writes.entries.empty()) {
    (void)tiles_.EmitPartialTiles(collect);
    writes.registry = staging.Records();
    writes.state = CurrentState(stored_note_);
    if (absl::Status s = storage_->Commit(writes); !s.ok()) {
      Fail(s);
      const absl::Status refused = absl::UnavailableError(absl::StrFormat(
          "the log could not store the entry: %s", s.message()));
      for (size_t i = 0; i < results.size(); ++i) {
        if (in_this_write[i]) results[i] = refused;
      }
    } else {
      registry_->Commit(staging);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i)
    batch[i].done(std::move(results[i]));
}

void Sequencer::MaybeSignCheckpoint() {
  if (!health().ok()) return;
  const std::shared_ptr<const SignedCheckpoint>& previous = signed_;
  const uint64_t size = range_.end();
  if (previous != nullptr && previous->checkpoint.size == size) return;

  merkle::Checkpoint checkpoint{options_.origin, size, *range_.RootHash(), {}};
  // Never sign a tree that does not extend the last signed one. The stored
  // tree should make this impossible; checking costs O(log n) tile reads per
  // checkpoint and keeps a storage or logic fault from ever being signed.
  if (previous != nullptr) {
    LogReader reader(storage_);
    absl::StatusOr<std::vector<Hash>> proof =
        reader.ConsistencyProof(previous->checkpoint.size, size);
    absl::Status consistent =
        proof.ok() ? merkle::VerifyConsistency(previous->checkpoint.size, size,
                                               previous->checkpoint.root,
                                               checkpoint.root, *proof)
                   : proof.status();
    if (!consistent.ok()) {
      Fail(absl::DataLossError(absl::StrFormat(
          "refusing to sign size %d: not consistent with the signed size %d: "
          "%s",
          size, previous->checkpoint.size, consistent.message())));
      return;
    }
  }
  absl::StatusOr<std::string> text = merkle::MarshalCheckpoint(checkpoint);
  const merkle::NoteSigner* signers[] = {signer_};
  absl::StatusOr<std::string> note =
      text.ok() ? merkle::SignNote(*text, signers) : text.status();
  if (!note.ok()) {
    Fail(absl::InternalError(absl::StrFormat("cannot sign a checkpoint: %s",
                                             note.status().message())));
    return;
  }
  signed_ = std::make_shared<const SignedCheckpoint>(
      SignedCheckpoint{*std::move(note), std::move(checkpoint)});
  if (options_.cosigner == nullptr) {
    StoreAndPublish(signed_);
    return;
  }
  absl::MutexLock lock(&mu_);
  to_cosign_ = signed_;
  cosign_wake_.Signal();
}

void Sequencer::StoreAndPublish(
    std::shared_ptr<const SignedCheckpoint> published) {
  if (!health().ok()) return;
  WriteSet writes;
  writes.first_index = range_.end();
  writes.state = CurrentState(published->note);
  if (absl::Status s = storage_->Commit(writes); !s.ok()) {
    Fail(s);
    return;
  }
  stored_note_ = published->note;
  const uint64_t size = published->checkpoint.size;
  std::vector<CheckpointCallback> covered;
  {
    // One critical section makes publication atomic: whoever sees the new
    // Latest() and subscribes afterwards is not called with it again.
    // Subscribers run under the lock so that Unsubscribe, once it returns,
    // guarantees no further call; they must not block or call back into
    // the sequencer.
    absl::MutexLock lock(&mu_);
    latest_ = published;
    for (auto& [id, watch] : subscribers_) watch(published);
    auto end = waiters_.upper_bound(size);
    for (auto it = waiters_.begin(); it != end; ++it) {
      covered.push_back(std::move(it->second));
    }
    waiters_.erase(waiters_.begin(), end);
  }
  for (CheckpointCallback& done : covered) done(published);
}

void Sequencer::Fail(const absl::Status& status) {
  std::multimap<uint64_t, CheckpointCallback> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (health_.ok()) health_ = status;
    waiters.swap(waiters_);
  }
  // No checkpoint will be signed again: nobody should wait for one.
  for (auto& [size, done] : waiters) done(nullptr);
}

}  // namespace vigil::server
