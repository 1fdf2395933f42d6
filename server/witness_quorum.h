// The log's witness policy: k of its n configured witnesses must cosign a
// checkpoint (c2sp.org/tlog-witness) before the sequencer publishes it.
//
//   absl::StatusOr<WitnessEndpoint> w = ParseWitnessSetting(
//       "witness.example+7a1b2c3d+BA... http://witness.example:7500");
//   WitnessQuorum quorum(WitnessPolicy{{*w, ...}, /*quorum=*/2},
//                        absl::Seconds(10), &reader);
//   options.cosigner = &quorum;  // SequencerOptions
//
// For each checkpoint, every witness is asked at once. A witness is sent the
// consistency proof from the size it last cosigned (remembered per witness;
// unknown at first, when the witness's 409 answer names it). Each returned
// cosignature is verified against the witness's configured key before it
// counts; the published note carries every valid one, not only k.
//
// Thread-safety: Cosign is called on one thread at a time (the sequencer's
// cosigning thread); CheckCosigned is safe from any thread.

#ifndef VIGIL_SERVER_WITNESS_QUORUM_H_
#define VIGIL_SERVER_WITNESS_QUORUM_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "merkle/cosignature.h"
#include "server/log_reader.h"
#include "server/sequencer.h"

namespace vigil::server {

// One witness: its cosignature verifier key and where it takes
// add-checkpoint requests.
struct WitnessEndpoint {
  merkle::CosignatureVerifier key;
  std::string url;  // Submission prefix, "http://host:port[/path]".
};

// Parses a witness setting, "<verifier key> <URL>": a c2sp.org/signed-note
// verifier key of type 0x04 (tlog-cosignature), one space, and the
// witness's submission prefix. INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<WitnessEndpoint> ParseWitnessSetting(std::string_view setting);

// Which witnesses must cosign: `quorum` (k) of `witnesses` (n).
struct WitnessPolicy {
  std::vector<WitnessEndpoint> witnesses;
  size_t quorum = 0;
  // PEM CA certificates trusted for https:// witnesses; empty: the
  // system's.
  std::string ca_file;
};

// Checks a witness policy: no key given twice, k in [1, n].
// INVALID_ARGUMENT otherwise.
absl::Status ValidateWitnessPolicy(const WitnessPolicy& policy);

class WitnessQuorum final : public CheckpointCosigner {
 public:
  // `policy` must pass ValidateWitnessPolicy. `timeout` bounds each HTTP
  // exchange with a witness. `reader` (borrowed; must outlive this)
  // supplies consistency proofs.
  WitnessQuorum(WitnessPolicy policy, absl::Duration timeout,
                LogReader* reader);

  // The note with every valid cosignature the witnesses returned, if at
  // least k did; otherwise UNAVAILABLE naming each witness that did not
  // cosign and why (unreachable, refused with its status, or a cosignature
  // that does not verify). A witness that has cosigned a larger tree of this
  // log than `signed_checkpoint` cannot be proven consistent and counts as
  // failed (FAILED_PRECONDITION in its reason).
  absl::StatusOr<std::string> Cosign(
      const SignedCheckpoint& signed_checkpoint) override;

  // OK if at least k of the witnesses validly cosigned `note`'s text.
  absl::Status CheckCosigned(std::string_view note) const override;

 private:
  // One witness's cosignature of `signed_checkpoint`, verified.
  absl::StatusOr<merkle::NoteSignature> CosignWith(
      size_t witness, const SignedCheckpoint& signed_checkpoint);

  const std::vector<WitnessEndpoint> witnesses_;
  const size_t k_;  // The quorum.
  const std::string ca_file_;
  const absl::Duration timeout_;
  LogReader* const reader_;

  absl::Mutex mu_;
  // Per witness: the size it last cosigned, when known.
  std::vector<std::optional<uint64_t>> cosigned_size_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_WITNESS_QUORUM_H_
