// An in-memory tree for tests: appends leaves through CompactRange, keeps
// every perfect-subtree hash it reports, and serves proofs the way a log
// would (InclusionNodes / ConsistencyNodes, then AssembleProof).

#ifndef VIGIL_TESTS_TESTING_MEMORY_TREE_H_
#define VIGIL_TESTS_TESTING_MEMORY_TREE_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/compact_range.h"
#include "merkle/hash.h"
#include "merkle/node.h"
#include "merkle/proof.h"

namespace vigil::testing {

class MemoryTree {
 public:
  void Append(const merkle::Hash& leaf_hash) {
    range_.Append(leaf_hash, [this](merkle::NodeID id, const merkle::Hash& h) {
      nodes_[id] = h;
    });
  }

  uint64_t size() const { return range_.end(); }
  const merkle::CompactRange& range() const { return range_; }

  // The root of the tree of the first `size` leaves. Requires size <= size().
  merkle::Hash RootAt(uint64_t size) const {
    std::vector<merkle::Hash> hashes;
    for (const merkle::NodeID& id : merkle::DecomposeRange(0, size)) {
      hashes.push_back(nodes_.at(id));
    }
    return *(*merkle::CompactRange::FromHashes(0, size, hashes)).RootHash();
  }

  absl::StatusOr<std::vector<merkle::Hash>> InclusionProof(
      uint64_t index, uint64_t size) const {
    absl::StatusOr<merkle::ProofNodes> nodes =
        merkle::InclusionNodes(index, size);
    if (!nodes.ok()) return nodes.status();
    return merkle::AssembleProof(*nodes, Fetch(*nodes));
  }

  absl::StatusOr<std::vector<merkle::Hash>> ConsistencyProof(
      uint64_t old_size, uint64_t new_size) const {
    absl::StatusOr<merkle::ProofNodes> nodes =
        merkle::ConsistencyNodes(old_size, new_size);
    if (!nodes.ok()) return nodes.status();
    return merkle::AssembleProof(*nodes, Fetch(*nodes));
  }

 private:
  std::vector<merkle::Hash> Fetch(const merkle::ProofNodes& nodes) const {
    std::vector<merkle::Hash> hashes;
    for (const merkle::NodeID& id : nodes.ids) hashes.push_back(nodes_.at(id));
    return hashes;
  }

  merkle::CompactRange range_;
  std::map<merkle::NodeID, merkle::Hash> nodes_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_MEMORY_TREE_H_
