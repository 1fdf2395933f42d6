// A monitor: audits a log through its c2sp.org/tlog-tiles resources, run
// after run, and reports what the log did wrong and which recorded lookups
// break a rule.
//
// Tree level (any tlog-tiles log): the checkpoint's signature (and witness
// quorum); the tree it names is the tree last verified or extends it: a
// smaller tree is a rollback, two roots of one size are a fork, and the
// entries must give, at the old size, the root the log signed then; every
// entry, every hash tile of every level and the root are recomputed. The
// checkpoints the configured witnesses last cosigned must name the same
// tree at their sizes (a split view is reported as a fork). A failure is an
// error carrying evidence (client/evidence.h): the checkpoints the log
// signed and what failed.
//
// Record level (Vigil logs): every entry decodes; the agency registry is
// replayed from the log's registry entries, which must carry the registry
// operator's signature; every access record's signature verifies with a
// key valid at its position, and its role fits its signer. Then the policy
// rules (client/policy.h) and reconciliation: a lookup (correlation_id)
// that one expected party logged and another did not, once the log's event
// times have moved on by the grace period. Each finding is an Alert with
// the tlog-proof bundle of its entry.
//
// Each run recomputes the whole tree and replays the whole registry, so a
// run needs no state but the last verified checkpoint and how far alerts
// were reported; findings are reported for entries after that position
// only. The state file is replaced atomically at the end of a run; after a
// crash the next run reports the same range again (at least once).
//
// Thread-safety: a Monitor is used by one thread at a time.

#ifndef VIGIL_CLIENT_MONITOR_H_
#define VIGIL_CLIENT_MONITOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/log_client.h"
#include "client/policy.h"
#include "client/tile_source.h"
#include "client/tree_audit.h"
#include "merkle/checkpoint.h"
#include "merkle/note.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {

struct MonitorOptions {
  // Where the last verified checkpoint and the reporting position are kept.
  std::string state_file;
  // Audit records, not only the tree: the log is a Vigil log.
  bool vigil_records = true;
  // The registry operator's verifier key (required with vigil_records).
  std::string registry_vkey;
  // Rules to apply; borrowed, may be null.
  const Policy* policy = nullptr;
  // Reconciliation: every lookup must have a record from each of these
  // roles. Empty: no reconciliation.
  std::vector<vigil::v1::SubmitterRole> expected_roles;
  // How far the latest event time in the log must be past a lookup before
  // a missing party is reported.
  absl::Duration reconcile_grace = absl::Hours(1);
  // Witnesses whose latest cosigned checkpoint of this log is compared with
  // the tree the monitor verifies, to catch a log showing different trees
  // to different parties. Each source serves the witness's monitoring
  // prefix (c2sp.org/tlog-witness: <prefix>/<origin hash>/checkpoint).
  struct Witness {
    std::string name;    // For reports, e.g. the witness's URL.
    TileSource* source;  // Borrowed; must outlive the Monitor.
  };
  std::vector<Witness> witnesses;
};

// One finding about one entry.
struct Alert {
  std::string rule;      // A policy rule's name, or a check's (below).
  std::string severity;  // "violation", "warning" or "integrity".
  uint64_t index = 0;    // The entry's log index.
  // The signer's ORI, when known; for reconciliation, the requesting ORI
  // of the lookup's first record.
  std::string agency;
  std::string record_id;
  std::string correlation_id;
  std::string reason;      // Why, for people; never a commitment.
  std::string tlog_proof;  // The entry's bundle in the run's checkpoint.
};

// Names of the record-level checks, as Alert::rule.
inline constexpr char kRuleMalformedEntry[] = "vigil/malformed-entry";
inline constexpr char kRuleBadRegistryChange[] = "vigil/bad-registry-change";
inline constexpr char kRuleBadSignature[] = "vigil/bad-signature";
inline constexpr char kRuleUnregisteredKey[] = "vigil/unregistered-key";
inline constexpr char kRuleRevokedKey[] = "vigil/revoked-key";
inline constexpr char kRuleRoleMismatch[] = "vigil/role-mismatch";
inline constexpr char kRuleDuplicateRecordId[] = "vigil/duplicate-record-id";
inline constexpr char kRuleUnreconciled[] = "vigil/unreconciled-lookup";

// What one witness's view of the log showed.
struct WitnessView {
  std::string name;
  // The size of the log's checkpoint the witness serves, if it served one
  // that carries the log's valid signature.
  std::optional<uint64_t> size;
  // "consistent" (its tree is a prefix of, or is, the one verified);
  // "ahead" (larger than the log's checkpoint the monitor saw: checked in
  // a later run); "none" (it has cosigned nothing of this log yet);
  // "unavailable: ..." or "invalid: ..." (it could not be read, or served
  // something the log did not sign: the witness's fault, not the log's).
  std::string outcome;
};

struct MonitorRun {
  merkle::Checkpoint checkpoint;
  uint64_t previous_size = 0;  // The size verified before this run.
  TreeAuditReport tree;
  uint64_t records = 0;                // Access records in the log.
  uint64_t registry_changes = 0;       // Registry entries in the log.
  std::vector<Alert> alerts;           // New findings, in index order.
  std::vector<WitnessView> witnesses;  // In MonitorOptions order.
};

class Monitor {
 public:
  // A monitor of the log behind `source` (borrowed; must outlive it).
  // INVALID_ARGUMENT for missing or malformed options; FAILED_PRECONDITION
  // if the state file does not verify with `trust`.
  static absl::StatusOr<std::unique_ptr<Monitor>> Create(
      TileSource* source, LogTrust trust, MonitorOptions options);

  // One audit of the log's current checkpoint. `progress`, if set, is
  // called with (entries done, entries in the tree). Errors: the log's
  // misbehaviour, with evidence; the source's errors (nothing is saved).
  absl::StatusOr<MonitorRun> RunOnce(
      const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

 private:
  Monitor(TileSource* source, LogTrust trust, MonitorOptions options,
          std::optional<merkle::Ed25519Verifier> registry)
      : source_(source),
        trust_(std::move(trust)),
        options_(std::move(options)),
        registry_key_(std::move(registry)) {}

  struct State {
    std::string note;  // The last verified checkpoint, as served.
    merkle::Checkpoint checkpoint;
    uint64_t position = 0;  // Findings before it were reported.
    int64_t latest_event_centis = 0;
  };

  // A witness's view, and the checkpoint it served when there is one.
  struct Witnessed {
    WitnessView view;
    std::string note;
    merkle::Checkpoint checkpoint;
  };
  std::vector<Witnessed> FetchWitnessed() const;

  absl::Status LoadState();
  absl::Status SaveState(const State& state);
  absl::StatusOr<std::string> BundleFor(uint64_t index, const std::string& note,
                                        uint64_t size);

  TileSource* source_;
  const LogTrust trust_;
  const MonitorOptions options_;
  // The registry operator's key; set iff options_.vigil_records.
  const std::optional<merkle::Ed25519Verifier> registry_key_;
  std::optional<State> state_;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_MONITOR_H_
