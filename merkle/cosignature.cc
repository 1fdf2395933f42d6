#include "merkle/cosignature.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/checkpoint.h"
#include "merkle/hash.h"

namespace vigil::merkle {
namespace {

constexpr size_t kTimestampSize = 8;

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string KeyLabel(std::string_view name, uint32_t key_id) {
  return absl::StrFormat("%s+%s", name, FormatKeyId(key_id));
}

}  // namespace

std::string CosignatureMessage(std::string_view checkpoint_text,
                               uint64_t timestamp) {
  return absl::StrFormat("cosignature/v1\ntime %d\n%s", timestamp,
                         checkpoint_text);
}

absl::StatusOr<uint64_t> CosignatureTimestamp(
    std::span<const uint8_t> signature) {
  if (signature.size() != kCosignatureSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cosignature is %d bytes, want %d", signature.size(),
                        kCosignatureSize));
  }
  uint64_t timestamp = 0;
  for (size_t i = 0; i < kTimestampSize; ++i) {
    timestamp = timestamp << 8 | signature[i];
  }
  if (timestamp > kMaxCosignatureTimestamp) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cosignature timestamp %d exceeds 2^63-1", timestamp));
  }
  return timestamp;
}

// CosignatureVerifier

absl::StatusOr<CosignatureVerifier> CosignatureVerifier::Create(
    std::string_view name, std::span<const uint8_t> public_key) {
  absl::StatusOr<VerifierKey> key =
      NewVerifierKey(name, kSignatureTypeCosignatureV1, public_key);
  if (!key.ok()) return key.status();
  CosignatureVerifier v;
  v.name_ = std::move(key->name);
  v.public_key_ = key->public_key;
  v.key_id_ = key->key_id;
  return v;
}

absl::StatusOr<CosignatureVerifier> CosignatureVerifier::FromVerifierKey(
    std::string_view vkey) {
  absl::StatusOr<VerifierKey> key =
      ParseVerifierKeyOfType(vkey, kSignatureTypeCosignatureV1);
  if (!key.ok()) return key.status();
  return Create(key->name, key->public_key);
}

bool CosignatureVerifier::Verify(std::string_view text,
                                 std::span<const uint8_t> signature) const {
  return VerifyCosignature(text, signature).ok();
}

absl::StatusOr<uint64_t> CosignatureVerifier::VerifyCosignature(
    std::string_view text, std::span<const uint8_t> signature) const {
  absl::StatusOr<uint64_t> timestamp = CosignatureTimestamp(signature);
  if (!timestamp.ok()) return timestamp.status();
  EnsureSodium();
  const std::string message = CosignatureMessage(text, *timestamp);
  const std::span<const uint8_t> bytes = AsBytes(message);
  if (crypto_sign_verify_detached(signature.data() + kTimestampSize,
                                  bytes.data(), bytes.size(),
                                  public_key_.data()) != 0) {
    return absl::UnauthenticatedError(
        absl::StrFormat("cosignature by %s at time %d does not verify",
                        KeyLabel(name_, key_id_), *timestamp));
  }
  return *timestamp;
}

std::string CosignatureVerifier::vkey() const {
  // Name and key were validated on construction, so this cannot fail.
  absl::StatusOr<std::string> vkey =
      FormatVerifierKey(name_, kSignatureTypeCosignatureV1, public_key_);
  return vkey.ok() ? *std::move(vkey) : std::string();
}

// Cosigner

absl::StatusOr<Cosigner> Cosigner::Create(std::string_view name,
                                          std::span<const uint8_t> seed) {
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(seed);
  if (!key.ok()) return key.status();
  absl::StatusOr<CosignatureVerifier> verifier =
      CosignatureVerifier::Create(name, key->public_key());
  if (!verifier.ok()) return verifier.status();
  return Cosigner(*std::move(key), *std::move(verifier));
}

absl::StatusOr<Cosigner> Cosigner::Generate(std::string_view name) {
  EnsureSodium();
  std::array<uint8_t, kEd25519SeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  absl::StatusOr<Cosigner> cosigner = Create(name, seed);
  sodium_memzero(seed.data(), seed.size());
  return cosigner;
}

absl::StatusOr<Cosigner> Cosigner::FromSignerKey(std::string_view skey) {
  absl::StatusOr<SignerKey> key = ParseSignerKey(skey);
  if (!key.ok()) return key.status();
  if (key->type != kSignatureTypeCosignatureV1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "signer key %s has type 0x%02x, want 0x%02x (cosignature/v1)",
        KeyLabel(key->name, key->key_id), key->type,
        kSignatureTypeCosignatureV1));
  }
  return Create(key->name, key->seed);
}

absl::StatusOr<NoteSignature> Cosigner::Cosign(std::string_view checkpoint_text,
                                               uint64_t timestamp) const {
  if (timestamp > kMaxCosignatureTimestamp) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cosignature timestamp %d exceeds 2^63-1", timestamp));
  }
  if (absl::StatusOr<Checkpoint> c = ParseCheckpoint(checkpoint_text);
      !c.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("refusing to cosign text that is not a checkpoint: %s",
                        c.status().message()));
  }
  const std::string message = CosignatureMessage(checkpoint_text, timestamp);
  const std::array<uint8_t, kEd25519SignatureSize> sig =
      key_.Sign(AsBytes(message));
  NoteSignature out;
  out.name = std::string(name());
  out.key_id = key_id();
  out.signature.reserve(kCosignatureSize);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.signature.push_back(static_cast<uint8_t>(timestamp >> shift));
  }
  out.signature.insert(out.signature.end(), sig.begin(), sig.end());
  return out;
}

// Quorum

absl::StatusOr<CosignatureQuorum> VerifyCosignatureQuorum(
    std::string_view signed_note,
    std::span<const CosignatureVerifier* const> witnesses, size_t k) {
  if (k == 0) {
    return absl::InvalidArgumentError("cosignature quorum k must be >= 1");
  }
  if (k > witnesses.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cosignature quorum %d of %d witnesses can never be met", k,
        witnesses.size()));
  }
  std::set<std::pair<std::string_view, uint32_t>> ids;
  std::set<std::array<uint8_t, kEd25519PublicKeySize>> public_keys;
  for (size_t i = 0; i < witnesses.size(); ++i) {
    const CosignatureVerifier* w = witnesses[i];
    if (w == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("witness %d is null", i));
    }
    if (!ids.insert({w->name(), w->key_id()}).second) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "witness %s is listed twice", KeyLabel(w->name(), w->key_id())));
    }
    if (!public_keys.insert(w->public_key()).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("witness %s shares its public key with another",
                          KeyLabel(w->name(), w->key_id())));
    }
  }
  absl::StatusOr<SignedNote> note = ParseSignedNote(signed_note);
  if (!note.ok()) return note.status();

  CosignatureQuorum quorum;
  for (const CosignatureVerifier* w : witnesses) {
    const std::string label = KeyLabel(w->name(), w->key_id());
    // ParseSignedNote allows at most one line per (name, key ID).
    const auto line =
        std::find_if(note->signatures.begin(), note->signatures.end(),
                     [&](const NoteSignature& s) {
                       return s.name == w->name() && s.key_id == w->key_id();
                     });
    if (line == note->signatures.end()) {
      quorum.failed.push_back(absl::StrFormat("%s: no cosignature", label));
      continue;
    }
    absl::StatusOr<uint64_t> timestamp =
        w->VerifyCosignature(note->text, line->signature);
    if (!timestamp.ok()) {
      quorum.failed.push_back(
          absl::StrFormat("%s: %s", label, timestamp.status().message()));
      continue;
    }
    quorum.cosigned.push_back(
        {std::string(w->name()), w->key_id(), *timestamp});
  }
  if (quorum.cosigned.size() < k) {
    std::string failed;
    for (const std::string& f : quorum.failed) {
      if (!failed.empty()) failed += "; ";
      failed += f;
    }
    return absl::UnauthenticatedError(
        absl::StrFormat("%d of %d witnesses cosigned, need %d; failed: %s",
                        quorum.cosigned.size(), witnesses.size(), k, failed));
  }
  return quorum;
}

}  // namespace vigil::merkle
