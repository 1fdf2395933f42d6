// A deliberately naive RFC 9162 Merkle tree, written straight from the
// RFC's recursive definitions (MTH, PATH, PROOF/SUBPROOF), to check the fast
// code in merkle/ against. Quadratic and recursive: tests only.

#ifndef VIGIL_TESTS_TESTING_REFERENCE_TREE_H_
#define VIGIL_TESTS_TESTING_REFERENCE_TREE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "merkle/hash.h"

namespace vigil::testing {

using merkle::Hash;

// MTH(D[0:n]) over leaf hashes.
Hash ReferenceRoot(std::span<const Hash> leaf_hashes);

// PATH(m, D[0:n]): the audit path of leaf m. Requires m < n.
std::vector<Hash> ReferenceInclusionProof(uint64_t m,
                                          std::span<const Hash> leaf_hashes);

// PROOF(m, D[0:n]). Requires 0 < m <= n.
std::vector<Hash> ReferenceConsistencyProof(uint64_t m,
                                            std::span<const Hash> leaf_hashes);

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_REFERENCE_TREE_H_
