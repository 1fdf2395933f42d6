// Compact ranges: the O(log n) frontier of an RFC 9162 Merkle tree.
//
// A compact range [begin, end) holds the hashes of the fewest perfect
// subtrees that exactly cover leaves begin..end-1, left to right. For
// [0, 7) those are three nodes:
//
//             (2,0)
//        +------+------+
//      (1,0)         (1,1)        (1,2)
//     +--+--+       +--+--+      +--+--+
//     0     1       2     3      4     5     6
//
//   [0,7) = (2,0) covering 0..3, (1,2) covering 4..5, (0,6) covering 6.
//
// Appending a leaf costs amortised O(1) node hashes and never needs earlier
// leaves; the root of a range that starts at 0 is the Merkle tree hash of
// the tree of that size. Two adjacent ranges merge into one.
//
// Thread-safety: a CompactRange is a value; concurrent const access is safe,
// mutation needs external synchronisation.

#ifndef VIGIL_MERKLE_COMPACT_RANGE_H_
#define VIGIL_MERKLE_COMPACT_RANGE_H_

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/hash.h"
#include "merkle/node.h"

namespace vigil::merkle {

// The perfect subtrees that exactly cover [begin, end), left to right.
// Requires begin <= end. Empty when begin == end.
std::vector<NodeID> DecomposeRange(uint64_t begin, uint64_t end);

class CompactRange {
 public:
  // An empty range starting (and ending) at leaf `begin`.
  explicit CompactRange(uint64_t begin = 0) : begin_(begin), end_(begin) {}

  // Rebuilds a range from its stored subtree hashes, e.g. the frontier a
  // log persisted. `hashes` must hold exactly one hash for each node of
  // DecomposeRange(begin, end), in that order. INVALID_ARGUMENT if
  // begin > end or the count differs.
  static absl::StatusOr<CompactRange> FromHashes(uint64_t begin, uint64_t end,
                                                 std::vector<Hash> hashes);

  [[nodiscard]] uint64_t begin() const { return begin_; }
  [[nodiscard]] uint64_t end() const { return end_; }

  // The subtree hashes, one per node of DecomposeRange(begin(), end()).
  [[nodiscard]] std::span<const Hash> hashes() const { return hashes_; }

  // Extends the range by one leaf (leaf index end()) with its leaf hash.
  // Requires end() < 2^64 - 1.
  void Append(const Hash& leaf_hash) {
    AppendNode(0, leaf_hash, [](NodeID, const Hash&) {});
  }

  // As Append, and calls visit(id, hash) for the leaf and for every
  // interior node that the append completes, bottom-up. A log uses this to
  // store each new perfect-subtree hash exactly once.
  template <typename Visitor>
  void Append(const Hash& leaf_hash, Visitor&& visit) {
    AppendNode(0, leaf_hash, visit);
  }

  // Appends the adjacent range `other` ([end(), other.end())), hashing the
  // nodes that become complete. INVALID_ARGUMENT if other.begin() != end().
  absl::Status Merge(const CompactRange& other);

  // The Merkle tree hash of leaves [0, end()): the folded hashes, right to
  // left; EmptyRoot() for an empty range. FAILED_PRECONDITION unless
  // begin() == 0 (the root of a tree always starts at leaf 0).
  absl::StatusOr<Hash> RootHash() const;

  bool operator==(const CompactRange&) const = default;

 private:
  // Appends the perfect subtree (level, end() >> level) and merges it with
  // its left siblings while they lie inside the range. Requires end() to be
  // a multiple of 2^level.
  template <typename Visitor>
  void AppendNode(uint8_t level, const Hash& hash, Visitor&& visit);

  uint64_t begin_;
  uint64_t end_;
  std::vector<Hash> hashes_;
};

template <typename Visitor>
void CompactRange::AppendNode(uint8_t level, const Hash& hash,
                              Visitor&& visit) {
  NodeID node{level, end_ >> level};
  visit(node, hash);
  hashes_.push_back(hash);
  end_ += uint64_t{1} << level;
  // A right child (odd index) merges with its left sibling when that sibling
  // lies inside the range; the sibling is then the previous hash.
  while ((node.index & 1) == 1 && ((node.index - 1) << node.level) >= begin_) {
    const Hash right = hashes_.back();
    hashes_.pop_back();
    hashes_.back() = HashChildren(hashes_.back(), right);
    node = NodeID{static_cast<uint8_t>(node.level + 1), node.index >> 1};
    visit(node, hashes_.back());
  }
}

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_COMPACT_RANGE_H_
