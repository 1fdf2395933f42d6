// c2sp.org/tlog-checkpoint v1.0.0: the note text a log signs for each tree
// head, and opening a signed checkpoint with the log's key.
//
//   example.org/reference-log                        <- origin
//   1000                                             <- tree size, decimal
//   Pc/ho5pvuNRZpWIFj7LKiaHdKpUfufA4cAkEV6Uu/pg=     <- root, base64
//   (optional non-empty extension lines)
//
// Errors: INVALID_ARGUMENT for malformed text; OpenCheckpoint adds
// UNAUTHENTICATED when the log's signature is missing or bad, or the
// checkpoint names another origin.
//
// Thread-safety: all functions are pure and safe from any thread.

#ifndef VIGIL_MERKLE_CHECKPOINT_H_
#define VIGIL_MERKLE_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/hash.h"
#include "merkle/note.h"

namespace vigil::merkle {

// A log's tree head as the note text of a checkpoint states it.
struct Checkpoint {
  // Identifies the log: non-empty, UTF-8, no control characters. Any other
  // form is allowed (the spec only recommends a schema-less URL).
  std::string origin;
  uint64_t size = 0;  // Number of leaves.
  Hash root{};        // RFC 9162 root of the first `size` leaves.
  // Opaque extension lines: each non-empty, UTF-8, no control characters.
  std::vector<std::string> extensions;

  bool operator==(const Checkpoint&) const = default;
};

// The note text of `checkpoint`: origin, size and root lines, then the
// extension lines, each ending in '\n'. INVALID_ARGUMENT if the origin or an
// extension line is empty, not UTF-8 or holds a control character (a
// newline would forge extra lines).
absl::StatusOr<std::string> MarshalCheckpoint(const Checkpoint& checkpoint);

// Parses checkpoint note text strictly. INVALID_ARGUMENT unless `text` is at
// most kMaxNoteSize bytes of UTF-8 without control characters other than
// '\n', made of at least three lines each ending in '\n': a non-empty
// origin, a decimal size (no sign, no leading zero, fits in 64 bits), the
// canonical base64 of exactly 32 bytes, then non-empty extension lines.
// Parse(Marshal(c)) == c, and Marshal(Parse(t)) == t.
absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text);

// A checkpoint whose log signature OpenCheckpoint verified.
struct OpenedCheckpoint {
  Checkpoint checkpoint;
  std::string text;             // The signed note text.
  NoteSignature log_signature;  // The log's verified signature.
  // Every other signature line (e.g. witness cosignatures), unverified and
  // in note order; check them with a CosignatureVerifier against `text`.
  std::vector<NoteSignature> other_signatures;
};

// Opens the signed checkpoint `signed_note`: verifies the signature of
// `log_verifier` (signatures of other keys are ignored and returned in
// `other_signatures`), parses the text, and checks that its origin is
// `origin`. Errors: INVALID_ARGUMENT for a malformed note or checkpoint;
// UNAUTHENTICATED if the log's signature is missing or fails to verify, or
// the origin differs from `origin`.
absl::StatusOr<OpenedCheckpoint> OpenCheckpoint(
    std::string_view signed_note, const NoteVerifier& log_verifier,
    std::string_view origin);

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_CHECKPOINT_H_
