#include "merkle/proof.h"

#include <bit>
#include <string>

#include "absl/strings/str_format.h"
#include "merkle/compact_range.h"
#include "merkle/encoding.h"

namespace vigil::merkle {
namespace {

// Appends to `out` the siblings on the path from node (level, index) up to
// the root of the tree of `size` leaves, in proof order. Requires
// (index << level) < size.
//
// A sibling that lies wholly inside the tree is one perfect subtree. One
// that straddles `size` is ephemeral: the hash of leaves [its begin, size).
// A sibling that starts at or past `size` does not exist; the node is
// promoted a level unchanged.
void AppendPath(uint8_t level, uint64_t index, uint64_t size, ProofNodes& out) {
  const uint64_t last = size - 1;
  // Shifting a uint64_t by 64 is undefined, hence the explicit bound.
  for (; level < 64 && (last >> level) != 0; ++level, index >>= 1) {
    const uint64_t sibling = index ^ 1;
    if (sibling > (last >> level)) continue;  // Starts at or past size.
    const uint64_t begin = sibling << level;
    if (size - begin >= (uint64_t{1} << level)) {
      out.ids.push_back(NodeID{level, sibling});
      continue;
    }
    out.ephemeral_begin = out.ids.size();
    for (const NodeID& id : DecomposeRange(begin, size)) out.ids.push_back(id);
    out.ephemeral_end = out.ids.size();
  }
}

// The number of proof hashes AppendPath(level, index, size) yields, each
// ephemeral node counted once, without building the node list.
size_t PathLength(uint8_t level, uint64_t index, uint64_t size) {
  const uint64_t last = size - 1;
  size_t length = 0;
  for (; level < 64 && (last >> level) != 0; ++level, index >>= 1) {
    if ((index ^ 1) <= (last >> level)) ++length;
  }
  return length;
}

// The number of hashes in the consistency proof from old_size to new_size.
// Requires 0 < old_size < new_size.
size_t ConsistencyLength(uint64_t old_size, uint64_t new_size) {
  const auto level = static_cast<uint8_t>(std::countr_zero(old_size));
  const uint64_t index = (old_size - 1) >> level;
  return (index != 0 ? 1 : 0) + PathLength(level, index, new_size);
}

absl::Status CheckIndex(uint64_t index, uint64_t size) {
  if (index < size) return absl::OkStatus();
  return absl::OutOfRangeError(
      absl::StrFormat("index %d out of range for tree size %d", index, size));
}

absl::Status CheckSizes(uint64_t old_size, uint64_t new_size) {
  if (old_size <= new_size) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "old tree size %d is larger than new tree size %d", old_size, new_size));
}

std::string Hex(const Hash& h) { return HexEncode(h); }

}  // namespace

absl::StatusOr<ProofNodes> InclusionNodes(uint64_t index, uint64_t size) {
  if (absl::Status s = CheckIndex(index, size); !s.ok()) return s;
  ProofNodes nodes;
  AppendPath(0, index, size, nodes);
  return nodes;
}

absl::StatusOr<ProofNodes> ConsistencyNodes(uint64_t old_size,
                                            uint64_t new_size) {
  if (absl::Status s = CheckSizes(old_size, new_size); !s.ok()) return s;
  ProofNodes nodes;
  if (old_size == 0 || old_size == new_size) return nodes;
  // The largest perfect subtree that ends at old_size: the old tree's
  // rightmost node. Its path to the new root proves the new tree; the old
  // root is recomputed from that path and, unless the old tree is itself
  // that one perfect subtree, the node itself.
  const auto level = static_cast<uint8_t>(std::countr_zero(old_size));
  const uint64_t index = (old_size - 1) >> level;
  if (index != 0) nodes.ids.push_back(NodeID{level, index});
  AppendPath(level, index, new_size, nodes);
  return nodes;
}

absl::StatusOr<std::vector<Hash>> AssembleProof(const ProofNodes& nodes,
                                                std::span<const Hash> hashes) {
  if (hashes.size() != nodes.ids.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "proof needs %d node hashes, got %d", nodes.ids.size(), hashes.size()));
  }
  std::vector<Hash> proof;
  proof.reserve(nodes.ProofSize());
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (i != nodes.ephemeral_begin ||
        nodes.ephemeral_begin == nodes.ephemeral_end) {
      proof.push_back(hashes[i]);
      continue;
    }
    // Fold the ephemeral node's subtrees right to left into one hash.
    Hash folded = hashes[nodes.ephemeral_end - 1];
    for (size_t j = nodes.ephemeral_end - 1; j > nodes.ephemeral_begin; --j) {
      folded = HashChildren(hashes[j - 1], folded);
    }
    proof.push_back(folded);
    i = nodes.ephemeral_end - 1;
  }
  return proof;
}

absl::StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size,
                                            const Hash& leaf_hash,
                                            std::span<const Hash> proof) {
  if (absl::Status s = CheckIndex(index, size); !s.ok()) return s;
  const size_t want = PathLength(0, index, size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "inclusion proof for index %d in tree size %d has %d hashes, want %d",
        index, size, proof.size(), want));
  }
  // RFC 9162 §2.1.3.2: fn walks the leaf's position, sn the last leaf's.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if ((fn & 1) == 1 || fn == sn) {
      r = HashChildren(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // The length check above makes this unreachable for well-formed input;
  // it stays as the RFC's final condition.
  if (sn != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "inclusion proof for index %d in tree size %d ends below the root",
        index, size));
  }
  return r;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash, std::span<const Hash> proof,
                             const Hash& root) {
  absl::StatusOr<Hash> computed =
      RootFromInclusionProof(index, size, leaf_hash, proof);
  if (!computed.ok()) return computed.status();
  if (*computed != root) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "inclusion proof for index %d in tree size %d yields root %s, want %s",
        index, size, Hex(*computed), Hex(root)));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash& old_root, const Hash& new_root,
                               std::span<const Hash> proof) {
  if (absl::Status s = CheckSizes(old_size, new_size); !s.ok()) return s;
  const size_t want = (old_size == 0 || old_size == new_size)
                          ? 0
                          : ConsistencyLength(old_size, new_size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "consistency proof from size %d to %d has %d hashes, want %d", old_size,
        new_size, proof.size(), want));
  }
  if (old_size == 0) {
    if (old_root != EmptyRoot()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "root %s of tree size 0 is not the empty root", Hex(old_root)));
    }
    return absl::OkStatus();
  }
  if (old_size == new_size) {
    if (old_root != new_root) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "trees of the same size %d have different roots %s and %s", old_size,
          Hex(old_root), Hex(new_root)));
    }
    return absl::OkStatus();
  }
  // RFC 9162 §2.1.4.2. When old_size is a power of two the old root is the
  // first node of the path and is not sent; put it back.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("consistency proof from size %d to %d is too long",
                          old_size, new_size));
    }
    if ((fn & 1) == 1 || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("consistency proof from size %d to %d is too short",
                        old_size, new_size));
  }
  if (fr != old_root) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "consistency proof yields old root %s for size %d, want %s", Hex(fr),
        old_size, Hex(old_root)));
  }
  if (sr != new_root) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "consistency proof yields new root %s for size %d, want %s", Hex(sr),
        new_size, Hex(new_root)));
  }
  return absl::OkStatus();
}

}  // namespace vigil::merkle
