#include "tests/testing/tile_log.h"

#include <span>

#include "absl/strings/str_format.h"
#include "merkle/checkpoint.h"
#include "merkle/hash.h"
#include "merkle/tiles.h"
#include "tests/testing/reference_tree.h"

namespace vigil::testing {

TileLog::TileLog(std::string origin) : origin_(std::move(origin)) {
  signer_.emplace(*merkle::Ed25519Signer::Generate(origin_));
}

std::string TileLog::SignedCheckpoint(uint64_t size) const {
  std::vector<merkle::Hash> leaves;
  for (uint64_t i = 0; i < size; ++i) {
    leaves.push_back(merkle::HashLeaf(merkle::AsBytes(entries_[i])));
  }
  merkle::Checkpoint c;
  c.origin = origin_;
  c.size = size;
  c.root = size == 0 ? merkle::EmptyRoot() : ReferenceRoot(leaves);
  const merkle::NoteSigner* const signers[] = {&*signer_};
  return *merkle::SignNote(*merkle::MarshalCheckpoint(c), signers);
}

void TileLog::Publish() {
  files_.clear();
  std::vector<merkle::Hash> leaves;
  for (const std::string& e : entries_) {
    leaves.push_back(merkle::HashLeaf(merkle::AsBytes(e)));
  }
  const absl::Status built = merkle::BuildTiles(
      leaves,
      [this](const merkle::TileID& tile,
             std::span<const merkle::Hash> hashes) -> absl::Status {
        files_[merkle::TilePath(tile)] = merkle::EncodeTile(hashes);
        return absl::OkStatus();
      });
  if (!built.ok()) std::abort();  // A test bug.
  for (const merkle::EntryBundleID& bundle :
       merkle::EntryBundlesForTreeSize(entries_.size())) {
    const std::span<const std::string> slice(
        entries_.data() + bundle.index * 256, bundle.width);
    files_[merkle::EntryBundlePath(bundle)] = *merkle::EncodeEntryBundle(slice);
  }
  files_["checkpoint"] = SignedCheckpoint(entries_.size());
}

absl::StatusOr<std::string> TileLog::Fetch(std::string_view path) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    return absl::NotFoundError(absl::StrFormat("no %s", path));
  }
  return it->second;
}

}  // namespace vigil::testing
