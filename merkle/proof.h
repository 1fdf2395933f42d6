// RFC 9162 §2.1.3–2.1.4 inclusion and consistency proofs.
//
// Generating a proof is split in two so that this library never touches
// storage: InclusionNodes / ConsistencyNodes say which stored perfect-subtree
// hashes a proof needs, the caller fetches them (from RocksDB, tiles, memory),
// and AssembleProof turns them into the proof. Verification needs no storage.
//
// Thread-safety: all functions are pure and safe from any thread.

#ifndef VIGIL_MERKLE_PROOF_H_
#define VIGIL_MERKLE_PROOF_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "merkle/hash.h"
#include "merkle/node.h"

namespace vigil::merkle {

// The stored nodes a proof needs, in proof order.
//
// Every proof hash is one perfect subtree, except at most one "ephemeral"
// hash on the right border of a tree whose size is not a power of two: the
// hash of leaves [x, size) for some x, which no stored node holds. For that
// proof hash, `ids[ephemeral_begin, ephemeral_end)` lists its perfect
// subtrees left to right (DecomposeRange), and AssembleProof folds them into
// one hash. With no ephemeral hash, ephemeral_begin == ephemeral_end.
//
//   size 7, inclusion of leaf 1: proof = [ (0,0), (1,1), [4,7) ]
//   [4,7) is ephemeral: hash((1,2), (0,6)), so
//   ids = (0,0) (1,1) (1,2) (0,6) with ephemeral range [2, 4).
struct ProofNodes {
  std::vector<NodeID> ids;
  size_t ephemeral_begin = 0;
  size_t ephemeral_end = 0;

  // The number of hashes in the assembled proof.
  [[nodiscard]] size_t ProofSize() const {
    return ephemeral_begin == ephemeral_end
               ? ids.size()
               : ids.size() - (ephemeral_end - ephemeral_begin) + 1;
  }
};

// The nodes of the inclusion proof (audit path) of leaf `index` in the tree
// of `size` leaves. OUT_OF_RANGE unless index < size.
absl::StatusOr<ProofNodes> InclusionNodes(uint64_t index, uint64_t size);

// The nodes of the consistency proof from the tree of `old_size` leaves to
// the tree of `new_size` leaves. The proof is empty when old_size is 0 or
// equals new_size. INVALID_ARGUMENT if old_size > new_size.
absl::StatusOr<ProofNodes> ConsistencyNodes(uint64_t old_size,
                                            uint64_t new_size);

// Builds the proof from the hashes of `nodes.ids`, in the same order.
// INVALID_ARGUMENT if the number of hashes differs from nodes.ids.size().
absl::StatusOr<std::vector<Hash>> AssembleProof(const ProofNodes& nodes,
                                                std::span<const Hash> hashes);

// The root that the inclusion proof `proof` of the leaf with hash
// `leaf_hash` at `index` yields for a tree of `size` leaves
// (RFC 9162 §2.1.3.2). OUT_OF_RANGE if index >= size; INVALID_ARGUMENT if
// the proof has the wrong number of hashes for (index, size).
absl::StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size,
                                            const Hash& leaf_hash,
                                            std::span<const Hash> proof);

// Verifies that the leaf with hash `leaf_hash` is at `index` in the tree of
// `size` leaves with root `root`. As RootFromInclusionProof, plus
// INVALID_ARGUMENT naming both roots when the computed root differs.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash, std::span<const Hash> proof,
                             const Hash& root);

// Verifies that the tree of `old_size` leaves with root `old_root` is a
// prefix of the tree of `new_size` leaves with root `new_root`
// (RFC 9162 §2.1.4.2). An empty tree is a prefix of every tree (its root
// must be EmptyRoot() and the proof empty); equal sizes need equal roots and
// an empty proof. INVALID_ARGUMENT for old_size > new_size, a proof of the
// wrong length, or roots that do not match.
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash& old_root, const Hash& new_root,
                               std::span<const Hash> proof);

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_PROOF_H_
