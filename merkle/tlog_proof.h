// c2sp.org/tlog-proof@v1: the offline-verifiable evidence that an entry is
// in a log, in a tree the log signed and witnesses cosigned. This is the
// bundle Vigil hands to courts.
//
//   c2sp.org/tlog-proof@v1
//   extra <base64>              <- optional, unauthenticated
//   index <decimal>
//   <base64 hash>               <- inclusion proof, leaf's sibling first
//   ...
//                               <- empty line
//   <signed checkpoint note, verbatim>
//
// Thread-safety: all functions are pure and safe from any thread.

#ifndef VIGIL_MERKLE_TLOG_PROOF_H_
#define VIGIL_MERKLE_TLOG_PROOF_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/hash.h"
#include "merkle/note.h"

namespace vigil::merkle {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";

// Most inclusion proof hashes a bundle may carry: a tree of at most 2^64
// leaves has proofs of at most 64 hashes.
inline constexpr size_t kMaxTlogProofHashes = 64;

// Largest `extra` payload, in bytes before base64.
inline constexpr size_t kMaxTlogProofExtra = size_t{64} * 1024;

// A parsed tlog-proof. Nothing in it is trusted until VerifyTlogProof.
struct TlogProof {
  // Opaque application data. Not authenticated by anything in the bundle.
  std::optional<std::vector<uint8_t>> extra;
  uint64_t index = 0;           // Zero-based index of the entry.
  std::vector<Hash> inclusion;  // Audit path, leaf's sibling first.
  std::string checkpoint;       // The signed checkpoint note, verbatim.

  bool operator==(const TlogProof&) const = default;
};

// The bytes of `proof`. INVALID_ARGUMENT if the extra data is over
// kMaxTlogProofExtra, the proof has more than kMaxTlogProofHashes hashes,
// or the checkpoint is not a well-formed signed note.
absl::StatusOr<std::string> MarshalTlogProof(const TlogProof& proof);

// Parses a bundle strictly: the exact header line, an optional extra line of
// canonical base64, an index line (decimal, no leading zero), up to
// kMaxTlogProofHashes lines each the canonical base64 of 32 bytes, an empty
// line, then a well-formed signed note (ParseSignedNote) to the end.
// INVALID_ARGUMENT naming the line otherwise. Marshal(Parse(b)) == b.
absl::StatusOr<TlogProof> ParseTlogProof(std::string_view bundle);

// What a verifier trusts: the log (origin and key) and a k-of-n witness
// policy. Pointers are borrowed for the duration of the call.
struct TlogProofPolicy {
  std::string origin;
  const NoteVerifier* log = nullptr;
  std::span<const CosignatureVerifier* const> witnesses;
  size_t quorum = 0;  // k: how many of `witnesses` must cosign; 0 for none.
};

// What a verified bundle proves.
struct VerifiedTlogProof {
  Checkpoint checkpoint;     // The tree the entry is in.
  uint64_t index = 0;        // The entry's position in it.
  CosignatureQuorum quorum;  // Which witnesses cosigned, and when.
};

// Verifies `proof` for the entry whose RFC 9162 leaf hash is `leaf_hash`,
// in the order of the spec: (1) the leaf hash is the caller's; (2) the
// checkpoint's origin is policy.origin and policy.log signed it; (3) at
// least policy.quorum of policy.witnesses cosigned it; (4) the inclusion
// proof binds the leaf hash at `index` to the checkpoint's root.
// Every error message starts with the failing step, e.g. "step 2 (log
// signature): ...". Codes: INVALID_ARGUMENT for a malformed checkpoint,
// a policy without a log key or with quorum > witnesses, or a proof that
// does not verify; UNAUTHENTICATED for signature and quorum failures;
// OUT_OF_RANGE if the index is not below the checkpoint's size.
absl::StatusOr<VerifiedTlogProof> VerifyTlogProof(
    const TlogProof& proof, const Hash& leaf_hash,
    const TlogProofPolicy& policy);

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_TLOG_PROOF_H_
