// Evidence bundles (c2sp.org/tlog-proof@v1): parsing and verification.
//
// Properties: a bundle that parses, within the documented limits, marshals
// back to exactly its bytes; verified against the reference log (its key,
// origin and witness, quorum 1) with the true leaf hash of its index, a
// bundle is accepted only with the reference checkpoint and the one true
// audit path; a leaf hash with one bit flipped is never accepted.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "merkle/tlog_proof.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  const ReferenceLog& ref = Reference();

  absl::StatusOr<merkle::TlogProof> proof = merkle::ParseTlogProof(input);
  if (!proof.ok()) return;
  VIGIL_FUZZ_CHECK(proof->inclusion.size() <= merkle::kMaxTlogProofHashes);
  VIGIL_FUZZ_CHECK(!proof->extra.has_value() ||
                   proof->extra->size() <= merkle::kMaxTlogProofExtra);
  absl::StatusOr<std::string> bytes = merkle::MarshalTlogProof(*proof);
  VIGIL_FUZZ_CHECK(bytes.ok() && *bytes == input);

  const merkle::CosignatureVerifier* witnesses[] = {&*ref.witness};
  const merkle::TlogProofPolicy policy{.origin = ref.origin,
                                       .log = &*ref.log,
                                       .witnesses = witnesses,
                                       .quorum = 1};
  merkle::Hash leaf{};
  if (proof->index < ref.leaf_hashes.size()) {
    leaf = ref.leaf_hashes[proof->index];
  }
  absl::StatusOr<merkle::VerifiedTlogProof> verified =
      merkle::VerifyTlogProof(*proof, leaf, policy);
  if (verified.ok()) {
    VIGIL_FUZZ_CHECK(proof->index < ref.leaf_hashes.size());
    VIGIL_FUZZ_CHECK(verified->index == proof->index);
    VIGIL_FUZZ_CHECK(verified->checkpoint == ref.checkpoint);
    VIGIL_FUZZ_CHECK(proof->inclusion == ReferenceInclusionProof(proof->index));
  }
  merkle::Hash flipped = leaf;
  flipped[proof->index % flipped.size()] ^= 1;
  VIGIL_FUZZ_CHECK(!merkle::VerifyTlogProof(*proof, flipped, policy).ok());
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
