#include "server/entry.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace vigil::server {
namespace {

static_assert(crypto_sign_PUBLICKEYBYTES == kEntryPublicKeySize);
static_assert(crypto_sign_BYTES == kEntrySignatureSize);
static_assert(kEntryHeaderSize == 98);
static_assert(kMaxPayloadSize == 65437);

// sodium_init() is idempotent and thread-safe; it fails only when the
// system has no usable randomness.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

}  // namespace

std::string EncodeEntry(const Entry& entry) {
  std::string out;
  out.reserve(kEntryHeaderSize + entry.payload.size());
  out.push_back(static_cast<char>(kEntryVersion));
  out.push_back(static_cast<char>(entry.kind));
  out.append(reinterpret_cast<const char*>(entry.public_key.data()),
             entry.public_key.size());
  out.append(reinterpret_cast<const char*>(entry.signature.data()),
             entry.signature.size());
  out.append(entry.payload);
  return out;
}

absl::StatusOr<Entry> DecodeEntry(std::string_view bytes) {
  if (bytes.size() < kEntryHeaderSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry is %d bytes, shorter than its %d-byte header (version, kind, "
        "public key, signature)",
        bytes.size(), kEntryHeaderSize));
  }
  if (bytes.size() > kMaxEntrySize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("entry is %d bytes, more than the %d an entry bundle "
                        "holds (payload at most %d bytes)",
                        bytes.size(), kMaxEntrySize, kMaxPayloadSize));
  }
  const auto version = static_cast<uint8_t>(bytes[0]);
  if (version != kEntryVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry version is 0x%02x, want 0x%02x", version, kEntryVersion));
  }
  const auto kind = static_cast<uint8_t>(bytes[1]);
  if (kind != static_cast<uint8_t>(EntryKind::kAccessRecord) &&
      kind != static_cast<uint8_t>(EntryKind::kRegistryChange)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry kind is 0x%02x, want 0x01 (access record) or 0x02 (registry "
        "change)",
        kind));
  }
  Entry entry;
  entry.kind = static_cast<EntryKind>(kind);
  const std::string_view key = bytes.substr(2, kEntryPublicKeySize);
  std::copy(key.begin(), key.end(), entry.public_key.begin());
  const std::string_view signature =
      bytes.substr(2 + kEntryPublicKeySize, kEntrySignatureSize);
  std::copy(signature.begin(), signature.end(), entry.signature.begin());
  entry.payload = std::string(bytes.substr(kEntryHeaderSize));
  return entry;
}

bool VerifyEntrySignature(const Entry& entry) {
  EnsureSodium();
  const std::string message = SignedMessage(entry.kind, entry.payload);
  return crypto_sign_verify_detached(
             entry.signature.data(),
             reinterpret_cast<const unsigned char*>(message.data()),
             message.size(), entry.public_key.data()) == 0;
}

}  // namespace vigil::server
