// The sequencer: the log's only writer.
//
// RPC threads verify submissions (signatures, fields, roles) and hand the
// resulting PendingEntries to Submit, which only enqueues: a bounded queue, so
// a full queue answers RESOURCE_EXHAUSTED at once. One sequencer thread
// drains the queue in batches (group commit): for each entry, in order, it
// de-duplicates, re-checks the signer against the registry as of that
// position in the log, assigns the index, extends the compact range and the
// tiles; then it commits the whole batch as one atomic, synced Storage
// write and only then completes the callers. Every checkpoint interval it
// signs a checkpoint of the durable tree, if the tree grew. Without
// witnesses it stores it durably and publishes it at once. With a
// CheckpointCosigner (the log's witnesses), a second thread has the newest
// signed checkpoint cosigned, retrying until it succeeds or a newer one
// replaces it, and the sequencer thread stores and publishes the cosigned
// note: nothing is published that the witness policy did not accept.
//
// A failed write is sticky: the sequencer refuses every later submission
// with UNAVAILABLE until the process restarts, and never signs another
// checkpoint (what it had accepted into memory may not be on disk).
//
// The sequencer knows nothing of gRPC.
//
// Thread-safety: Submit, Latest, WhenCovered, Subscribe and Unsubscribe are
// safe from any thread. Callbacks run on the sequencer thread and must not
// block.

#ifndef VIGIL_SERVER_SEQUENCER_H_
#define VIGIL_SERVER_SEQUENCER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "merkle/checkpoint.h"
#include "merkle/compact_range.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "merkle/tiles.h"
#include "server/entry.h"
#include "server/registry.h"
#include "server/storage.h"

namespace vigil::server {

// A checkpoint the log signed and stored.
struct SignedCheckpoint {
  std::string note;               // The signed note, as served.
  merkle::Checkpoint checkpoint;  // Its parsed body.
};

// What stands between signing a checkpoint and publishing it: the log's
// witnesses (WitnessQuorum).
//
// Thread-safety: Cosign is called on one thread at a time; CheckCosigned
// from any thread.
class CheckpointCosigner {
 public:
  virtual ~CheckpointCosigner() = default;

  // `signed_checkpoint`'s note with the cosignatures that make it
  // publishable added, or why it cannot be published now (the sequencer
  // retries). Blocks, bounded by the implementation's timeouts.
  virtual absl::StatusOr<std::string> Cosign(
      const SignedCheckpoint& signed_checkpoint) = 0;

  // OK if `note`, a checkpoint note the log signed, already carries enough
  // valid cosignatures to publish (e.g. the one stored before a restart).
  virtual absl::Status CheckCosigned(std::string_view note) const = 0;
};

struct SequencerOptions {
  std::string origin;            // The checkpoint origin line.
  size_t max_pending = 1 << 16;  // Queue bound (entries).
  size_t max_batch = 1 << 12;    // Entries per integration at most.
  // How often a checkpoint is signed when the tree grew.
  absl::Duration checkpoint_interval = absl::Milliseconds(500);
  // If set (borrowed; must outlive the Sequencer), checkpoints are
  // published only once cosigned.
  CheckpointCosigner* cosigner = nullptr;
  // How long to wait before trying again after a failed Cosign.
  absl::Duration cosign_retry = absl::Seconds(1);
};

// Where an appended entry is.
struct Appended {
  uint64_t index = 0;
  bool duplicate = false;  // It was already in the log at `index`.
  merkle::Hash leaf_hash{};
};

using AppendCallback = std::function<void(absl::StatusOr<Appended>)>;
using CheckpointCallback =
    std::function<void(std::shared_ptr<const SignedCheckpoint>)>;

class Sequencer {
 public:
  // Recovers the log state from `storage` and starts the sequencer thread.
  // `storage`, `registry` and `signer` are borrowed and must outlive the
  // Sequencer; `registry` must have been loaded from `storage`.
  // INVALID_ARGUMENT if the signer's name is not options.origin; DATA_LOSS
  // if the stored state is inconsistent (its frontier does not match its
  // size or its tiles, or the stored checkpoint is not signed by `signer` or
  // disagrees with the tree).
  static absl::StatusOr<std::unique_ptr<Sequencer>> Start(
      Storage* storage, Registry* registry, const merkle::Ed25519Signer* signer,
      SequencerOptions options);

  // Stops the thread after integrating what is queued; pending callbacks
  // are completed (with UNAVAILABLE if they could not be integrated).
  ~Sequencer();

  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  // A verified entry and `done`, called once, on the sequencer thread, with
  // its index after the durable write, or with the error that kept it out
  // of the log (PERMISSION_DENIED for a key revoked before the entry's
  // position, the registry's error for a registry change that does not
  // apply, UNAVAILABLE after a write failure).
  struct Item {
    PendingEntry entry;
    AppendCallback done;
  };

  // Enqueues the longest prefix of `items` the queue has room for, in
  // order (moving from it), and returns its length. For the rest, `done` is
  // not called and `*refused` says why: RESOURCE_EXHAUSTED if the queue is
  // full, UNAVAILABLE if the sequencer has failed or is stopping.
  //
  // Items submitted together reach the queue together, so the sequencer
  // integrates them in one batch (one synced write) instead of as they
  // trickle in: a request's records are best verified first, then
  // submitted at once.
  size_t Submit(std::vector<Item>& items, absl::Status* refused);

  // The latest published checkpoint (cosigned, with a cosigner); null
  // before the first one.
  std::shared_ptr<const SignedCheckpoint> Latest() const;

  // Calls `done` once with the first published checkpoint whose size is at
  // least `size` (at once if there is one already), or with null if the
  // sequencer stops or its writes fail first (no checkpoint will come).
  void WhenCovered(uint64_t size, CheckpointCallback done);

  // Calls `watch` with every checkpoint published from now on, until
  // Unsubscribe(id) returns, or with null once when the sequencer stops.
  // `watch` runs with the sequencer's lock held: it must not call into the
  // Sequencer.
  uint64_t Subscribe(CheckpointCallback watch);
  void Unsubscribe(uint64_t id);

  // The error that stopped writes, or OK.
  absl::Status health() const;

  // Why the newest signed checkpoint is not published yet (the cosigner's
  // last error), or OK.
  absl::Status cosigning() const;

 private:
  Sequencer(Storage* storage, Registry* registry,
            const merkle::Ed25519Signer* signer, SequencerOptions options,
            merkle::CompactRange range, merkle::TileBuilder tiles,
            std::shared_ptr<const SignedCheckpoint> latest,
            std::shared_ptr<const SignedCheckpoint> signed_checkpoint);

  // The sequencer thread: integrate batches, sign checkpoints, store and
  // publish cosigned ones, stop.
  void Run();
  // The cosigning thread: has the newest signed checkpoint cosigned.
  void RunCosigning();
  // Appends what it can of `batch` in one durable write and completes the
  // callers.
  void Integrate(std::vector<Item>& batch);
  // Signs a checkpoint of the durable tree if it grew since the last one
  // signed (or none exists yet), then publishes it, or hands it to the
  // cosigning thread.
  void MaybeSignCheckpoint();
  // Stores `checkpoint` as the log's published checkpoint, then publishes
  // it.
  void StoreAndPublish(std::shared_ptr<const SignedCheckpoint> checkpoint);
  // Records the first write failure; writes stop for good.
  void Fail(const absl::Status& status);
  // The state to store with the current tree and `checkpoint`.
  LogState CurrentState(const std::string& checkpoint) const;

  Storage* const storage_;
  Registry* const registry_;
  const merkle::Ed25519Signer* const signer_;
  const SequencerOptions options_;

  // Owned by the sequencer thread (and Start, before it runs).
  merkle::CompactRange range_;
  merkle::TileBuilder tiles_;
  // The latest checkpoint signed; ahead of latest_ while being cosigned.
  std::shared_ptr<const SignedCheckpoint> signed_;
  // The checkpoint note in the stored state: the latest published one (or,
  // after a restart with a new witness policy, the last one signed).
  std::string stored_note_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status health_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const SignedCheckpoint> latest_ ABSL_GUARDED_BY(mu_);
  std::multimap<uint64_t, CheckpointCallback> waiters_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, CheckpointCallback> subscribers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_subscriber_ ABSL_GUARDED_BY(mu_) = 1;
  // Handed from the sequencer thread to the cosigning thread: the newest
  // signed checkpoint not yet cosigned...
  std::shared_ptr<const SignedCheckpoint> to_cosign_ ABSL_GUARDED_BY(mu_);
  // ... and back: the newest cosigned one, to store and publish.
  std::shared_ptr<const SignedCheckpoint> cosigned_ ABSL_GUARDED_BY(mu_);
  absl::Status cosigning_ ABSL_GUARDED_BY(mu_);
  absl::CondVar cosign_wake_;

  std::thread thread_;
  std::thread cosign_thread_;  // Only with a cosigner.
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_SEQUENCER_H_
