// Addresses of nodes in an RFC 9162 Merkle tree.
//
// A node at `level` L and `index` i is the root of the perfect subtree over
// leaves [i * 2^L, (i + 1) * 2^L). Leaves are level 0.
//
//   level 2:               (2,0)
//                   +--------+--------+
//   level 1:      (1,0)             (1,1)
//               +---+---+         +---+---+
//   level 0:  (0,0)   (0,1)     (0,2)   (0,3)
//
// Only perfect subtrees have NodeIDs: the right border of a tree whose size
// is not a power of two holds "ephemeral" nodes that are hashed from several
// NodeIDs (see proof.h).

#ifndef VIGIL_MERKLE_NODE_H_
#define VIGIL_MERKLE_NODE_H_

#include <compare>
#include <cstdint>

namespace vigil::merkle {

struct NodeID {
  uint8_t level = 0;   // 0 for leaves; at most 63.
  uint64_t index = 0;  // Position among the nodes of this level, from 0.

  // First leaf covered: index * 2^level.
  [[nodiscard]] uint64_t Begin() const { return index << level; }
  // One past the last leaf covered: (index + 1) * 2^level.
  [[nodiscard]] uint64_t End() const { return (index + 1) << level; }

  auto operator<=>(const NodeID&) const = default;
};

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_NODE_H_
