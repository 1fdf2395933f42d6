#include "merkle/hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace vigil::merkle {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// The SHA-256 implementation, fetched once. Looking the algorithm up per call
// (SHA256(), EVP_sha256()) costs a provider search every time; a fetched
// EVP_MD is reused, which lets OpenSSL's SHA-NI path run at full speed.
const EVP_MD* Sha256Algorithm() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    // Without SHA-256 nothing in Vigil can work: a broken installation, not
    // bad input, so stop here.
    if (fetched == nullptr) std::abort();
    return fetched;
  }();
  return md;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// One digest context per thread, reinitialised for every hash.
EVP_MD_CTX* ThreadContext() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(
      EVP_MD_CTX_new());
  if (ctx == nullptr) std::abort();
  return ctx.get();
}

// Hashes the concatenation of `parts`. OpenSSL only fails here on memory
// exhaustion or a broken provider, neither of which a caller can handle.
Hash Digest(std::span<const std::span<const uint8_t>> parts) {
  EVP_MD_CTX* ctx = ThreadContext();
  Hash out;
  if (EVP_DigestInit_ex2(ctx, Sha256Algorithm(), nullptr) != 1) std::abort();
  for (std::span<const uint8_t> part : parts) {
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) std::abort();
  }
  if (EVP_DigestFinal_ex(ctx, out.data(), nullptr) != 1) std::abort();
  return out;
}

}  // namespace

Hash Sha256(std::span<const uint8_t> data) {
  const std::span<const uint8_t> parts[] = {data};
  return Digest(parts);
}

Hash Sha256Concat(std::span<const std::span<const uint8_t>> parts) {
  return Digest(parts);
}

Hash HashLeaf(std::span<const uint8_t> data) {
  const std::span<const uint8_t> parts[] = {{&kLeafPrefix, 1}, data};
  return Digest(parts);
}

Hash HashChildren(const Hash& left, const Hash& right) {
  // One contiguous 65-byte buffer: two SHA-256 blocks, one update call.
  std::array<uint8_t, 1 + 2 * kHashSize> buf;
  buf[0] = kNodePrefix;
  std::copy(left.begin(), left.end(), buf.begin() + 1);
  std::copy(right.begin(), right.end(), buf.begin() + 1 + kHashSize);
  return Sha256(buf);
}

const Hash& EmptyRoot() {
  static const Hash empty = Sha256({});
  return empty;
}

}  // namespace vigil::merkle
