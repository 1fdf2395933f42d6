// The registry of agency keys: which Ed25519 key belongs to which agency
// (ORI, class, name, state), since which log index, and whether and since
// when it is revoked.
//
// The registry is itself in the log: every change is a RegistryChange entry
// signed by the registry operator's key, and its effect is computed from
// the entry's log index alone, so anyone replaying the log rebuilds the same
// registry. The server keeps the result in Storage (one record per key) so
// a restart does not replay the log.
//
// Rules (DESIGN.md, "Entries"):
//   register  adds a key; a key that was ever registered, even one now
//             revoked, is never registered again;
//   rotate    revokes the old key at the entry's index and registers the new
//             one with the old key's ORI, class, name and state;
//   revoke    marks the key revoked at the entry's index; records it signs
//             at later positions are refused. Revoked keys stay listed.
//
// Writes go through a Staging, batch by batch, in log order: the sequencer
// stages the registry changes of a batch (each visible to the batch's later
// entries), writes Staging::Records() in the batch's durable write, then
// Commits. A Staging that is never committed (a failed write) is dropped
// and changes nothing.
//
// Thread-safety: Registry is thread-safe: Find and List may run on any
// thread while the sequencer stages and commits. Staging is not: one thread
// (the sequencer) uses a given Staging.

#ifndef VIGIL_SERVER_REGISTRY_H_
#define VIGIL_SERVER_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vigil/v1/log.pb.h"
#include "vigil/v1/record.pb.h"

namespace vigil::server {

class Registry {
 public:
  // A registry over the records Storage::ReadRegistry returns: (32-byte
  // public key, serialised vigil.v1.AgencyKey), in any order (an empty span
  // gives an empty registry). DATA_LOSS naming the key (hex of its first 8
  // bytes) if a key is not 32 bytes, appears twice, or its record does not
  // parse or holds a public_key other than the key it is stored under.
  static absl::StatusOr<std::unique_ptr<Registry>> Load(
      std::span<const std::pair<std::string, std::string>> records);

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The key's registry entry, revoked or not (AgencyKey.revoked); nullopt
  // if it was never registered (or `public_key` is not 32 bytes).
  [[nodiscard]] std::optional<vigil::v1::AgencyKey> Find(
      std::string_view public_key) const ABSL_LOCKS_EXCLUDED(mu_);

  // Every key, revoked ones included, in public key order (bytes compared
  // unsigned).
  [[nodiscard]] std::vector<vigil::v1::AgencyKey> List() const
      ABSL_LOCKS_EXCLUDED(mu_);

  // The changes of one integration batch, staged over the registry as it
  // was when Stage() was called. Holds a pointer to its Registry, which
  // must outlive it. Copyable and movable.
  //
  // Thread-safety: not thread-safe; used by one thread at a time (the
  // sequencer). Its Find reads the Registry under the Registry's lock, so
  // RPC threads may use the Registry meanwhile.
  class Staging {
   public:
    // The key's entry as staged: this batch's changes, else the registry's.
    [[nodiscard]] std::optional<vigil::v1::AgencyKey> Find(
        std::string_view public_key) const;

    // Validates `change` (CheckRegistryChange, record_checks.h) and checks
    // it against the registry as staged, then stages its effect as of log
    // index `index`. Errors (nothing is staged on error):
    //   INVALID_ARGUMENT     the change breaks a field rule;
    //   ALREADY_EXISTS       registering a key that exists, even revoked;
    //   NOT_FOUND            rotating or revoking an unknown key;
    //   FAILED_PRECONDITION  rotating or revoking a revoked key, or
    //                        rotating to a key that exists.
    // Messages name the key (hex of its first 8 bytes) and its ORI.
    absl::Status Apply(const vigil::v1::RegistryChange& change, uint64_t index);

    // (public key, serialised AgencyKey) for every key changed by this
    // staging, in key order: what the batch's durable write stores. The
    // serialisation is deterministic.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> Records()
        const;

    // True if nothing was staged.
    [[nodiscard]] bool empty() const { return changed_.empty(); }

   private:
    friend class Registry;
    explicit Staging(const Registry* registry) : registry_(registry) {}

    const Registry* registry_;  // Not owned.
    std::map<std::string, vigil::v1::AgencyKey, std::less<>> changed_;
  };

  // A Staging over the current registry. It reads through to *this, which
  // must outlive it.
  [[nodiscard]] Staging Stage() const;

  // Makes `staging`'s records current; call it after they are durably
  // stored. Requires `staging` to come from this registry's Stage() with no
  // other Commit since (the single-writer sequencer guarantees it); later
  // Finds see the changes.
  void Commit(const Staging& staging) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Registry() = default;

  mutable absl::Mutex mu_;
  // Public key -> entry, every key ever registered.
  std::map<std::string, vigil::v1::AgencyKey, std::less<>> keys_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_REGISTRY_H_
