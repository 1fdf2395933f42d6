#include "client/signing.h"

#include <sodium.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "merkle/hash.h"
// Header-only use: the signing prefixes, SignedMessage and CanonicalPayload
// are inline there, so this adds no link dependency on vigil::server.
#include "server/entry.h"

namespace vigil::client {
namespace {

static_assert(crypto_generichash_KEYBYTES_MIN <= kOpeningSize &&
              kOpeningSize <= crypto_generichash_KEYBYTES_MAX);
static_assert(crypto_generichash_BYTES_MIN <= kCommitmentSize &&
              kCommitmentSize <= crypto_generichash_BYTES_MAX);

// sodium_init() is idempotent and thread-safe; it fails only when the
// system has no usable randomness.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

vigil::v1::SignedPayload Sign(server::EntryKind kind, std::string payload,
                              const merkle::Ed25519PrivateKey& key) {
  const std::string message = server::SignedMessage(kind, payload);
  const auto signature = key.Sign(merkle::AsBytes(message));
  vigil::v1::SignedPayload out;
  out.set_payload(std::move(payload));
  out.set_public_key(key.public_key().data(), key.public_key().size());
  out.set_signature(signature.data(), signature.size());
  return out;
}

}  // namespace

Commitment Commit(std::string_view domain_tag, std::string_view value) {
  EnsureSodium();
  Commitment c;
  randombytes_buf(c.opening.data(), c.opening.size());
  c.value = CommitWithOpening(domain_tag, value, c.opening);
  return c;
}

std::array<uint8_t, kCommitmentSize> CommitWithOpening(
    std::string_view domain_tag, std::string_view value,
    const std::array<uint8_t, kOpeningSize>& opening) {
  EnsureSodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, opening.data(), opening.size(),
                          kCommitmentSize);
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(domain_tag.data()),
      domain_tag.size());
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(value.data()),
      value.size());
  std::array<uint8_t, kCommitmentSize> out;
  crypto_generichash_final(&state, out.data(), out.size());
  // The state was keyed with the secret opening.
  sodium_memzero(&state, sizeof(state));
  return out;
}

bool CheckOpening(const std::array<uint8_t, kCommitmentSize>& commitment,
                  std::string_view domain_tag, std::string_view value,
                  const std::array<uint8_t, kOpeningSize>& opening) {
  const std::array<uint8_t, kCommitmentSize> expected =
      CommitWithOpening(domain_tag, value, opening);
  return sodium_memcmp(expected.data(), commitment.data(), kCommitmentSize) ==
         0;
}

vigil::v1::SignedPayload SignAccessRecord(
    const vigil::v1::AccessRecord& record,
    const merkle::Ed25519PrivateKey& key) {
  return Sign(server::EntryKind::kAccessRecord,
              server::CanonicalPayload(record), key);
}

vigil::v1::SignedPayload SignRegistryChange(
    const vigil::v1::RegistryChange& change,
    const merkle::Ed25519PrivateKey& key) {
  return Sign(server::EntryKind::kRegistryChange,
              server::CanonicalPayload(change), key);
}

}  // namespace vigil::client
