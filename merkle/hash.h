// RFC 9162 §2.1 hashing for Vigil's Merkle tree (SHA-256).
//
//   leaf hash:  SHA-256(0x00 || data)
//   node hash:  SHA-256(0x01 || left || right)
//   empty tree: SHA-256("")
//
// Thread-safety: every function here is safe to call from any thread; each
// thread keeps its own OpenSSL digest context.

#ifndef VIGIL_MERKLE_HASH_H_
#define VIGIL_MERKLE_HASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vigil::merkle {

inline constexpr size_t kHashSize = 32;

// A SHA-256 output: a Merkle tree hash, a leaf hash or a root.
using Hash = std::array<uint8_t, kHashSize>;

// Views the characters of `s` as bytes (no copy; `s` must outlive the span).
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Plain SHA-256 of `data`.
Hash Sha256(std::span<const uint8_t> data);

// SHA-256 of the concatenation of `parts`, without copying them together.
Hash Sha256Concat(std::span<const std::span<const uint8_t>> parts);

// The RFC 9162 leaf hash of an entry: SHA-256(0x00 || data).
Hash HashLeaf(std::span<const uint8_t> data);

// The RFC 9162 interior node hash: SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);

// The root of the empty tree: SHA-256 of no bytes.
const Hash& EmptyRoot();

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_HASH_H_
