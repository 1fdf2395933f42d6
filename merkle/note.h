// c2sp.org/signed-note v1.0.0: notes, signature lines, verifier and signer
// keys, and Ed25519 (signature type 0x01) signing and verification.
//
// A signed note is a text, a blank line, and one or more signature lines:
//
//   This is an example message.\n           <- text (ends in a newline)
//   \n                                      <- the LAST blank line
//   — example.com/foo Uw2QOkn8...aQM=\n     <- "— " name " " base64(id||sig)
//
// Limits and policies (every parser here enforces them):
//   * a note is at most kMaxNoteSize bytes and carries at most
//     kMaxNoteSignatures signature lines; more is INVALID_ARGUMENT. The spec
//     asks verifiers to accept at least 16; 100 lines of 5 kB post-quantum
//     signatures would not fit in kMaxNoteSize, 16 of them do.
//   * two signature lines with the same (key name, key ID) make the note
//     malformed (INVALID_ARGUMENT), whether the lines are identical or not and
//     whether the key is known or not. The tuple identifies one key, so a
//     second line is either a copy or a conflicting claim; rejecting both
//     keeps one meaning per note. Signing and appending refuse to create one.
//   * keys and notes are parsed strictly: no surrounding whitespace, no
//     trailing newline on keys, canonical base64, lowercase 8-digit hex IDs.
//
// Error codes: INVALID_ARGUMENT for anything malformed (notes, lines, keys,
// names, caller arguments); UNAUTHENTICATED when a note's signatures do not
// authenticate it (a known key's signature fails, or no known key signed).
// No error message ever contains secret key material.
//
// Thread-safety: free functions are pure and safe from any thread. Verifier
// and signer objects are immutable after construction; their const methods
// are safe to call concurrently.

#ifndef VIGIL_MERKLE_NOTE_H_
#define VIGIL_MERKLE_NOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigil::merkle {

// Signature type bytes (signed-note "Signature types") that Vigil supports.
// Both use 32-byte Ed25519 public keys and 32-byte seeds.
inline constexpr uint8_t kSignatureTypeEd25519 = 0x01;
// c2sp.org/tlog-cosignature v1 (see cosignature.h).
inline constexpr uint8_t kSignatureTypeCosignatureV1 = 0x04;

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// Largest accepted signed note, in bytes, text and signature lines included.
inline constexpr size_t kMaxNoteSize = size_t{256} * 1024;
// Most signature lines accepted in one note.
inline constexpr size_t kMaxNoteSignatures = 100;

// The 32-bit key ID of a key: the first four bytes, big-endian, of
// SHA-256(name || 0x0A || type || public_key). Does not validate its inputs.
uint32_t ComputeKeyId(std::string_view name, uint8_t type,
                      std::span<const uint8_t> public_key);

// `key_id` as 8 lowercase hex digits, as in verifier keys ("530d903a").
std::string FormatKeyId(uint32_t key_id);

// OK if `name` may be a key name: non-empty, valid UTF-8, no Unicode white
// space (U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000), no other control character below
// U+0020, and no '+'. INVALID_ARGUMENT naming the offending byte otherwise.
absl::Status ValidateKeyName(std::string_view name);

// One signature line of a note, decoded.
struct NoteSignature {
  std::string name;                // Key name.
  uint32_t key_id = 0;             // Key ID from the first four bytes.
  std::vector<uint8_t> signature;  // The bytes after the key ID; non-empty.

  bool operator==(const NoteSignature&) const = default;
};

// A signed note split into its parts, signatures not yet verified. The text
// MUST NOT be trusted until OpenNote has verified a signature over it.
struct SignedNote {
  std::string text;  // Includes its final newline, not the blank line.
  std::vector<NoteSignature> signatures;  // In note order.

  bool operator==(const SignedNote&) const = default;
};

// Parses the bytes of a signed note without verifying any signature.
// INVALID_ARGUMENT if the note is empty, over kMaxNoteSize, not UTF-8, holds
// a control character other than '\n' (so CRLF is rejected), does not end in
// '\n', has no blank line, has no signature line or more than
// kMaxNoteSignatures, has a malformed signature line (see
// ParseSignatureLine), or has two lines for the same (name, key ID).
absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note);

// The exact bytes of `note`: text, "\n", then one line per signature.
// INVALID_ARGUMENT unless the result parses back to `note` (valid text, at
// least one signature, valid names, limits and duplicates as above).
absl::StatusOr<std::string> FormatSignedNote(const SignedNote& note);

// Parses one signature line, including its final '\n':
// "— <name> <base64(4-byte big-endian key ID || signature)>\n". The name must
// pass ValidateKeyName and the signature must be at least one byte.
// INVALID_ARGUMENT otherwise.
absl::StatusOr<NoteSignature> ParseSignatureLine(std::string_view line);

// The signature line of `signature`, with its final '\n'. Requires a valid
// name (ValidateKeyName) and a non-empty signature; otherwise the line will
// not parse.
std::string FormatSignatureLine(const NoteSignature& signature);

// Something that can check note signatures of one key: an Ed25519 key, a
// witness cosigning key, ...
//
// Thread-safety: implementations must allow concurrent calls to all methods.
class NoteVerifier {
 public:
  virtual ~NoteVerifier() = default;

  // The key name; satisfies ValidateKeyName.
  [[nodiscard]] virtual std::string_view name() const = 0;
  // The key ID signature lines of this key carry.
  [[nodiscard]] virtual uint32_t key_id() const = 0;
  // True if `signature` (the bytes after the 4-byte key ID) is this key's
  // valid signature of the note text `text`. Never fails otherwise: any
  // malformed signature is simply false.
  [[nodiscard]] virtual bool Verify(
      std::string_view text, std::span<const uint8_t> signature) const = 0;
};

// Something that can sign note texts with one key.
//
// Thread-safety: implementations must allow concurrent calls to all methods.
class NoteSigner {
 public:
  virtual ~NoteSigner() = default;

  // The key name; satisfies ValidateKeyName.
  [[nodiscard]] virtual std::string_view name() const = 0;
  // The key ID of the corresponding verifier key.
  [[nodiscard]] virtual uint32_t key_id() const = 0;
  // The signature of `text` (without the key ID), non-empty. Errors are the
  // implementation's own (e.g. a remote signer); Ed25519 never fails.
  [[nodiscard]] virtual absl::StatusOr<std::vector<uint8_t>> Sign(
      std::string_view text) const = 0;
};

// A signature of an opened note made by a known key.
struct VerifiedSignature {
  const NoteVerifier* verifier = nullptr;  // Borrowed from OpenNote's caller.
  NoteSignature signature;
};

// A note whose signatures OpenNote checked.
struct OpenedNote {
  std::string text;  // Authenticated by every entry of `verified`.
  std::vector<VerifiedSignature> verified;  // Non-empty, in note order.
  std::vector<NoteSignature> unverified;    // Unknown keys, ignored.
};

// Parses `note` (as ParseSignedNote) and checks its signatures against
// `verifiers`, matching on both key name and key ID. Signatures of keys not
// in `verifiers` are returned in `unverified` and otherwise ignored, even if
// they share a name or an ID (not both) with a known key.
// Errors: INVALID_ARGUMENT if the note is malformed, `verifiers` is empty,
// holds a null pointer, or two verifiers share (name, key ID);
// UNAUTHENTICATED if a known key's signature fails to verify (the whole note
// is rejected) or no known key signed. The verifiers must outlive the
// result, which points at them.
absl::StatusOr<OpenedNote> OpenNote(
    std::string_view note, std::span<const NoteVerifier* const> verifiers);

// Signs `text` with each of `signers` (in order) and returns the signed
// note. INVALID_ARGUMENT if the text is not valid note text (non-empty,
// UTF-8, ends in '\n', no control character but '\n'), `signers` is empty or
// holds a null pointer, two signers share (name, key ID), or the note would
// break the limits; otherwise a signer's own error.
absl::StatusOr<std::string> SignNote(
    std::string_view text, std::span<const NoteSigner* const> signers);

// Appends, to the signed note `note`, a signature line by each of `signers`
// over the note's text, keeping the existing bytes as they are. Existing
// signatures are not verified (use OpenNote first). INVALID_ARGUMENT if
// `note` is malformed, a signer is null or already signed (same name and
// key ID), or the result would break the limits.
absl::StatusOr<std::string> AddSignatures(
    std::string_view note, std::span<const NoteSigner* const> signers);

// Appends already-made signature lines (e.g. cosignatures a witness
// returned) to `note`, keeping the existing bytes. Nothing is verified.
// INVALID_ARGUMENT as for AddSignatures, or if a signature is malformed.
absl::StatusOr<std::string> AddSignatureLines(
    std::string_view note, std::span<const NoteSignature> signatures);

// A decoded verifier key, "<name>+<8 hex key ID>+base64(type || key)".
struct VerifierKey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;  // kSignatureTypeEd25519 or kSignatureTypeCosignatureV1.
  std::array<uint8_t, kEd25519PublicKeySize> public_key{};
};

// Parses a verifier key strictly: valid name, exactly 8 lowercase hex digits
// equal to the key ID computed from name, type and key, canonical base64 of
// a supported type byte followed by exactly 32 key bytes, nothing else (no
// trailing newline). INVALID_ARGUMENT otherwise.
absl::StatusOr<VerifierKey> ParseVerifierKey(std::string_view vkey);

// A verifier key of `type` for `name` and `public_key`, its key ID
// computed. INVALID_ARGUMENT for an invalid name or a public key that is not
// 32 bytes. The building block of every verifier's Create.
absl::StatusOr<VerifierKey> NewVerifierKey(std::string_view name, uint8_t type,
                                           std::span<const uint8_t> public_key);

// ParseVerifierKey, then INVALID_ARGUMENT unless the key's type is `type`.
absl::StatusOr<VerifierKey> ParseVerifierKeyOfType(std::string_view vkey,
                                                   uint8_t type);

// The verifier key text for `name`, `type` and `public_key`.
// INVALID_ARGUMENT for an invalid name, an unsupported type or a public key
// that is not 32 bytes.
absl::StatusOr<std::string> FormatVerifierKey(
    std::string_view name, uint8_t type, std::span<const uint8_t> public_key);

// A decoded signer key, "PRIVATE+KEY+<name>+<8 hex key ID>+base64(type ||
// seed)" (the golang.org/x/mod/sumdb/note format). Holds a secret: move-only,
// and the seed is wiped when the object is destroyed.
struct SignerKey {
  SignerKey() = default;
  SignerKey(SignerKey&& other) noexcept;
  SignerKey& operator=(SignerKey&& other) noexcept;
  SignerKey(const SignerKey&) = delete;
  SignerKey& operator=(const SignerKey&) = delete;
  ~SignerKey();

  std::string name;
  uint32_t key_id = 0;  // ID of the corresponding verifier key.
  uint8_t type = 0;     // kSignatureTypeEd25519 or kSignatureTypeCosignatureV1.
  std::array<uint8_t, kEd25519SeedSize> seed{};  // Secret.
};

// Parses a signer key as strictly as ParseVerifierKey; the key ID must equal
// the ID of the public key derived from the seed. INVALID_ARGUMENT
// otherwise; the message never contains key material.
absl::StatusOr<SignerKey> ParseSignerKey(std::string_view skey);

// A new key pair in text form. `signer_key` is secret.
struct NoteKeyPair {
  std::string signer_key;    // PRIVATE+KEY+<name>+<id>+base64(type || seed)
  std::string verifier_key;  // <name>+<id>+base64(type || public key)
};

// The key pair of type `type` (kSignatureTypeEd25519 or
// kSignatureTypeCosignatureV1) derived from the 32-byte Ed25519 `seed`.
// Deterministic. INVALID_ARGUMENT for an invalid name or type or a seed that
// is not 32 bytes.
absl::StatusOr<NoteKeyPair> GenerateNoteKey(std::string_view name, uint8_t type,
                                            std::span<const uint8_t> seed);

// As above with a fresh seed from libsodium's randombytes_buf.
absl::StatusOr<NoteKeyPair> GenerateNoteKey(std::string_view name,
                                            uint8_t type);

// A verifier for `vkey` of any supported type: an Ed25519Verifier for type
// 0x01, a CosignatureVerifier (cosignature.h) for type 0x04.
// INVALID_ARGUMENT as ParseVerifierKey.
absl::StatusOr<std::unique_ptr<NoteVerifier>> NewNoteVerifier(
    std::string_view vkey);

// An Ed25519 private key (RFC 8032), the building block of the note and
// cosignature signers. Move-only; the secret is wiped on destruction and
// when moved from.
//
// Thread-safety: immutable; const methods are safe concurrently.
class Ed25519PrivateKey {
 public:
  // The key derived from a 32-byte seed. INVALID_ARGUMENT for another size.
  static absl::StatusOr<Ed25519PrivateKey> FromSeed(
      std::span<const uint8_t> seed);

  Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&& other) noexcept;
  Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
  ~Ed25519PrivateKey();

  [[nodiscard]] const std::array<uint8_t, kEd25519PublicKeySize>& public_key()
      const {
    return public_key_;
  }

  // The deterministic Ed25519 signature of `message`.
  [[nodiscard]] std::array<uint8_t, kEd25519SignatureSize> Sign(
      std::span<const uint8_t> message) const;

 private:
  Ed25519PrivateKey() = default;

  std::array<uint8_t, 64> secret_{};  // libsodium layout: seed || public key.
  std::array<uint8_t, kEd25519PublicKeySize> public_key_{};
};

// Verifies Ed25519 note signatures (type 0x01) of one key.
//
// Thread-safety: immutable; safe for concurrent use.
class Ed25519Verifier final : public NoteVerifier {
 public:
  // A verifier for `name` and a 32-byte public key. INVALID_ARGUMENT for an
  // invalid name or a key of another size.
  static absl::StatusOr<Ed25519Verifier> Create(
      std::string_view name, std::span<const uint8_t> public_key);
  // A verifier from a verifier key of type 0x01. INVALID_ARGUMENT as
  // ParseVerifierKey, or for another type.
  static absl::StatusOr<Ed25519Verifier> FromVerifierKey(std::string_view vkey);

  [[nodiscard]] std::string_view name() const override { return name_; }
  [[nodiscard]] uint32_t key_id() const override { return key_id_; }
  // True iff `signature` is a 64-byte Ed25519 signature of `text`.
  [[nodiscard]] bool Verify(std::string_view text,
                            std::span<const uint8_t> signature) const override;

  [[nodiscard]] const std::array<uint8_t, kEd25519PublicKeySize>& public_key()
      const {
    return public_key_;
  }
  // This key's verifier key text.
  [[nodiscard]] std::string vkey() const;

 private:
  Ed25519Verifier() = default;

  std::string name_;
  uint32_t key_id_ = 0;
  std::array<uint8_t, kEd25519PublicKeySize> public_key_{};
};

// Signs notes with Ed25519 (type 0x01). Move-only: it holds a private key.
//
// Thread-safety: immutable; safe for concurrent use.
class Ed25519Signer final : public NoteSigner {
 public:
  // The signer for `name` with the key derived from a 32-byte `seed`.
  // INVALID_ARGUMENT for an invalid name or a seed of another size.
  static absl::StatusOr<Ed25519Signer> Create(std::string_view name,
                                              std::span<const uint8_t> seed);
  // A signer with a fresh random seed.
  static absl::StatusOr<Ed25519Signer> Generate(std::string_view name);
  // A signer from a signer key of type 0x01. INVALID_ARGUMENT as
  // ParseSignerKey, or for another type.
  static absl::StatusOr<Ed25519Signer> FromSignerKey(std::string_view skey);

  [[nodiscard]] std::string_view name() const override {
    return verifier_.name();
  }
  [[nodiscard]] uint32_t key_id() const override { return verifier_.key_id(); }
  // The 64-byte Ed25519 signature of `text`; never fails.
  [[nodiscard]] absl::StatusOr<std::vector<uint8_t>> Sign(
      std::string_view text) const override;

  // The matching verifier.
  [[nodiscard]] const Ed25519Verifier& verifier() const { return verifier_; }

 private:
  Ed25519Signer(Ed25519PrivateKey key, Ed25519Verifier verifier)
      : key_(std::move(key)), verifier_(std::move(verifier)) {}

  Ed25519PrivateKey key_;
  Ed25519Verifier verifier_;
};

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_NOTE_H_
