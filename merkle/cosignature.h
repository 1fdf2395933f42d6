// c2sp.org/tlog-cosignature v1, Ed25519 only (signature type 0x04): a
// witness's timestamped statement that a checkpoint is the largest
// consistent tree head it has seen for that log.
//
// The witness signs, with Ed25519,
//
//   cosignature/v1\n
//   time <T>\n                 <- T: POSIX seconds, decimal, <= 2^63 - 1
//   <checkpoint note text>     <- origin, size, root, extensions
//
// and the note signature (after the 4-byte key ID) is
// uint64_be(T) || 64-byte Ed25519 signature: 72 bytes.
//
// merkle/ has no clock: signers take the timestamp as an argument and
// verifiers report it; rejecting timestamps in the future is the caller's
// choice.
//
// Error codes follow note.h: INVALID_ARGUMENT for malformed input and bad
// arguments, UNAUTHENTICATED for signatures that do not verify and for a
// quorum that is not met.

#ifndef VIGIL_MERKLE_COSIGNATURE_H_
#define VIGIL_MERKLE_COSIGNATURE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/note.h"

namespace vigil::merkle {

// Largest timestamp a cosignature may carry: 2^63 - 1.
inline constexpr uint64_t kMaxCosignatureTimestamp = (uint64_t{1} << 63) - 1;
// Bytes of a cosignature after the key ID: timestamp and Ed25519 signature.
inline constexpr size_t kCosignatureSize = 8 + kEd25519SignatureSize;

// The message a v1 cosignature signs: "cosignature/v1\ntime <timestamp>\n"
// followed by `checkpoint_text` (the note text, with its final newline).
std::string CosignatureMessage(std::string_view checkpoint_text,
                               uint64_t timestamp);

// The timestamp in a cosignature (the bytes after the key ID), without
// verifying it. INVALID_ARGUMENT if it is not kCosignatureSize bytes or the
// timestamp exceeds kMaxCosignatureTimestamp.
absl::StatusOr<uint64_t> CosignatureTimestamp(
    std::span<const uint8_t> signature);

// Verifies one witness's v1 cosignatures. As a NoteVerifier it lets OpenNote
// accept notes cosigned by this witness.
//
// Thread-safety: immutable; safe for concurrent use.
class CosignatureVerifier final : public NoteVerifier {
 public:
  // A verifier for witness `name` and its 32-byte Ed25519 public key.
  // INVALID_ARGUMENT for an invalid name or a key of another size.
  static absl::StatusOr<CosignatureVerifier> Create(
      std::string_view name, std::span<const uint8_t> public_key);
  // A verifier from a verifier key of type 0x04. INVALID_ARGUMENT as
  // ParseVerifierKey, or for another type.
  static absl::StatusOr<CosignatureVerifier> FromVerifierKey(
      std::string_view vkey);

  [[nodiscard]] std::string_view name() const override { return name_; }
  // SHA-256(name || 0x0A || 0x04 || public key)[:4].
  [[nodiscard]] uint32_t key_id() const override { return key_id_; }
  // True iff VerifyCosignature succeeds.
  [[nodiscard]] bool Verify(std::string_view text,
                            std::span<const uint8_t> signature) const override;

  // Verifies `signature` (the bytes after the key ID) over the checkpoint
  // text `text` and returns its timestamp. INVALID_ARGUMENT if it is not
  // kCosignatureSize bytes or its timestamp is out of range;
  // UNAUTHENTICATED if the Ed25519 signature does not verify.
  [[nodiscard]] absl::StatusOr<uint64_t> VerifyCosignature(
      std::string_view text, std::span<const uint8_t> signature) const;

  [[nodiscard]] const std::array<uint8_t, kEd25519PublicKeySize>& public_key()
      const {
    return public_key_;
  }
  // This witness's verifier key text (type 0x04).
  [[nodiscard]] std::string vkey() const;

 private:
  CosignatureVerifier() = default;

  std::string name_;
  uint32_t key_id_ = 0;
  std::array<uint8_t, kEd25519PublicKeySize> public_key_{};
};

// A witness's signing key for v1 cosignatures. Not a NoteSigner: every
// cosignature needs a timestamp, which the caller supplies. Move-only: it
// holds a private key.
//
// Thread-safety: immutable; safe for concurrent use.
class Cosigner {
 public:
  // The cosigner `name` with the key derived from a 32-byte `seed`.
  // INVALID_ARGUMENT for an invalid name or a seed of another size.
  static absl::StatusOr<Cosigner> Create(std::string_view name,
                                         std::span<const uint8_t> seed);
  // A cosigner with a fresh random seed.
  static absl::StatusOr<Cosigner> Generate(std::string_view name);
  // A cosigner from a signer key of type 0x04. INVALID_ARGUMENT as
  // ParseSignerKey, or for another type.
  static absl::StatusOr<Cosigner> FromSignerKey(std::string_view skey);

  [[nodiscard]] std::string_view name() const { return verifier_.name(); }
  [[nodiscard]] uint32_t key_id() const { return verifier_.key_id(); }

  // The cosignature of the checkpoint note text `checkpoint_text` at
  // `timestamp`, ready to append with AddSignatureLines. INVALID_ARGUMENT if
  // the timestamp exceeds kMaxCosignatureTimestamp or the text is not a
  // valid checkpoint (ParseCheckpoint): a witness key signs nothing else.
  [[nodiscard]] absl::StatusOr<NoteSignature> Cosign(
      std::string_view checkpoint_text, uint64_t timestamp) const;

  // The matching verifier.
  [[nodiscard]] const CosignatureVerifier& verifier() const {
    return verifier_;
  }

 private:
  Cosigner(Ed25519PrivateKey key, CosignatureVerifier verifier)
      : key_(std::move(key)), verifier_(std::move(verifier)) {}

  Ed25519PrivateKey key_;
  CosignatureVerifier verifier_;
};

// One witness's verified cosignature.
struct WitnessCosignature {
  std::string name;
  uint32_t key_id = 0;
  uint64_t timestamp = 0;  // POSIX seconds, as the witness stated.
};

// The outcome of a k-of-n witness check.
struct CosignatureQuorum {
  std::vector<WitnessCosignature> cosigned;  // In the order of `witnesses`.
  // "<name>+<id>: <reason>" for every witness that did not validly cosign.
  std::vector<std::string> failed;
};

// Checks that at least `k` distinct witnesses of `witnesses` validly
// cosigned the text of the signed note `signed_note`. Only cosignatures are
// looked at: open the checkpoint with the log's key first (OpenCheckpoint).
// A witness whose line is missing or does not verify (e.g. a cosignature of
// another checkpoint) does not count and is listed in `failed`; it does not
// veto the others, since tolerating faulty witnesses is what k-of-n is for.
// Errors: INVALID_ARGUMENT if the note is malformed, k is 0 or greater than
// the number of witnesses, or two witnesses share a (name, key ID) or a
// public key (which would let one key count twice); UNAUTHENTICATED if fewer
// than k cosigned, naming how many did and which failed why. The witnesses
// are borrowed for the call only.
absl::StatusOr<CosignatureQuorum> VerifyCosignatureQuorum(
    std::string_view signed_note,
    std::span<const CosignatureVerifier* const> witnesses, size_t k);

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_COSIGNATURE_H_
