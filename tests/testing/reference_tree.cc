#include "tests/testing/reference_tree.h"

namespace vigil::testing {
namespace {

// The largest power of two smaller than n. Requires n > 1.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::vector<Hash> SubProof(uint64_t m, std::span<const Hash> d, bool whole) {
  const uint64_t n = d.size();
  if (m == n) {
    if (whole) return {};
    return {ReferenceRoot(d)};
  }
  const uint64_t k = SplitPoint(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = SubProof(m, d.subspan(0, k), whole);
    out.push_back(ReferenceRoot(d.subspan(k)));
  } else {
    out = SubProof(m - k, d.subspan(k), false);
    out.push_back(ReferenceRoot(d.subspan(0, k)));
  }
  return out;
}

}  // namespace

Hash ReferenceRoot(std::span<const Hash> d) {
  if (d.empty()) return merkle::EmptyRoot();
  if (d.size() == 1) return d[0];
  const uint64_t k = SplitPoint(d.size());
  return merkle::HashChildren(ReferenceRoot(d.subspan(0, k)),
                              ReferenceRoot(d.subspan(k)));
}

std::vector<Hash> ReferenceInclusionProof(uint64_t m, std::span<const Hash> d) {
  if (d.size() <= 1) return {};
  const uint64_t k = SplitPoint(d.size());
  std::vector<Hash> out;
  if (m < k) {
    out = ReferenceInclusionProof(m, d.subspan(0, k));
    out.push_back(ReferenceRoot(d.subspan(k)));
  } else {
    out = ReferenceInclusionProof(m - k, d.subspan(k));
    out.push_back(ReferenceRoot(d.subspan(0, k)));
  }
  return out;
}

std::vector<Hash> ReferenceConsistencyProof(uint64_t m,
                                            std::span<const Hash> d) {
  return SubProof(m, d, true);
}

}  // namespace vigil::testing
