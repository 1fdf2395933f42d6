#include "merkle/compact_range.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace vigil::merkle {

std::vector<NodeID> DecomposeRange(uint64_t begin, uint64_t end) {
  std::vector<NodeID> nodes;
  while (begin < end) {
    // The largest perfect subtree that starts at `begin` (aligned to its
    // size) and does not pass `end`.
    const int align = begin == 0 ? 63 : std::countr_zero(begin);
    const int fit = static_cast<int>(std::bit_width(end - begin)) - 1;
    const auto level = static_cast<uint8_t>(align < fit ? align : fit);
    nodes.push_back(NodeID{level, begin >> level});
    begin += uint64_t{1} << level;
  }
  return nodes;
}

absl::StatusOr<CompactRange> CompactRange::FromHashes(
    uint64_t begin, uint64_t end, std::vector<Hash> hashes) {
  if (begin > end) {
    return absl::InvalidArgumentError(
        absl::StrFormat("compact range begin %d is past end %d", begin, end));
  }
  const size_t want = DecomposeRange(begin, end).size();
  if (hashes.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrFormat("compact range [%d, %d) needs %d hashes, got %d", begin,
                        end, want, hashes.size()));
  }
  CompactRange range(begin);
  range.end_ = end;
  range.hashes_ = std::move(hashes);
  return range;
}

absl::Status CompactRange::Merge(const CompactRange& other) {
  if (other.begin_ != end_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot merge range [%d, %d) after range [%d, %d): not adjacent",
        other.begin_, other.end_, begin_, end_));
  }
  const std::vector<NodeID> nodes = DecomposeRange(other.begin_, other.end_);
  for (size_t i = 0; i < nodes.size(); ++i) {
    AppendNode(nodes[i].level, other.hashes_[i], [](NodeID, const Hash&) {});
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash> CompactRange::RootHash() const {
  if (begin_ != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "range [%d, %d) does not start at leaf 0: it has no tree root", begin_,
        end_));
  }
  if (hashes_.empty()) return EmptyRoot();
  Hash root = hashes_.back();
  for (auto it = hashes_.rbegin() + 1; it != hashes_.rend(); ++it) {
    root = HashChildren(*it, root);
  }
  return root;
}

}  // namespace vigil::merkle
