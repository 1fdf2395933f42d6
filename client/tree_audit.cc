#include "client/tree_audit.h"

#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/proof.h"
#include "merkle/tiles.h"

namespace vigil::client {
namespace {

using merkle::Hash;

// Fetches and decodes the hash tile `tile`.
absl::StatusOr<std::vector<Hash>> FetchTile(TileSource& source,
                                            const merkle::TileID& tile) {
  const std::string path = merkle::TilePath(tile);
  absl::StatusOr<std::string> data = source.Fetch(path);
  if (!data.ok()) return data.status();
  absl::StatusOr<std::vector<Hash>> hashes =
      merkle::DecodeTile(*data, tile.width);
  if (!hashes.ok()) {
    return absl::DataLossError(
        absl::StrFormat("%s: %s", path, hashes.status().message()));
  }
  return hashes;
}

absl::StatusOr<std::vector<std::string>> FetchBundle(
    TileSource& source, const merkle::EntryBundleID& bundle) {
  const std::string path = merkle::EntryBundlePath(bundle);
  absl::StatusOr<std::string> data = source.Fetch(path);
  if (!data.ok()) return data.status();
  absl::StatusOr<std::vector<std::string>> entries =
      merkle::DecodeEntryBundle(*data, bundle.width);
  if (!entries.ok()) {
    return absl::DataLossError(
        absl::StrFormat("%s: %s", path, entries.status().message()));
  }
  return entries;
}

}  // namespace

absl::StatusOr<TreeAuditReport> AuditTree(TileSource& source,
                                          const merkle::Checkpoint& checkpoint,
                                          const EntryVisitor& visit) {
  TreeAuditReport report;
  // Each tile the rebuilt tree produces is compared with the served one as
  // soon as it is complete, so memory stays one tile per level.
  const merkle::TileSink compare =
      [&](const merkle::TileID& tile,
          std::span<const Hash> rebuilt) -> absl::Status {
    absl::StatusOr<std::vector<Hash>> served = FetchTile(source, tile);
    if (!served.ok()) return served.status();
    for (size_t i = 0; i < rebuilt.size(); ++i) {
      if ((*served)[i] != rebuilt[i]) {
        return absl::DataLossError(absl::StrFormat(
            "%s: hash %d is %s, the entries give %s", merkle::TilePath(tile), i,
            merkle::HexEncode((*served)[i]), merkle::HexEncode(rebuilt[i])));
      }
    }
    ++report.tiles;
    return absl::OkStatus();
  };

  merkle::TileBuilder builder;
  for (const merkle::EntryBundleID& bundle :
       merkle::EntryBundlesForTreeSize(checkpoint.size)) {
    absl::StatusOr<std::vector<std::string>> entries =
        FetchBundle(source, bundle);
    if (!entries.ok()) return entries.status();
    ++report.bundles;
    for (const std::string& entry : *entries) {
      if (visit) {
        if (absl::Status s = visit(report.entries, entry); !s.ok()) return s;
      }
      if (absl::Status s =
              builder.Append(merkle::HashLeaf(merkle::AsBytes(entry)), compare);
          !s.ok()) {
        return s;
      }
      ++report.entries;
      report.entry_bytes += entry.size();
    }
  }
  if (absl::Status s = builder.EmitPartialTiles(compare); !s.ok()) return s;
  report.root = builder.Root();
  if (report.root != checkpoint.root) {
    return absl::DataLossError(absl::StrFormat(
        "the %d entries hash to root %s, the checkpoint says %s",
        report.entries, merkle::HexEncode(report.root),
        merkle::HexEncode(checkpoint.root)));
  }
  return report;
}

absl::StatusOr<std::vector<Hash>> InclusionProofFromTiles(TileSource& source,
                                                          uint64_t index,
                                                          uint64_t tree_size) {
  absl::StatusOr<merkle::ProofNodes> nodes =
      merkle::InclusionNodes(index, tree_size);
  if (!nodes.ok()) return nodes.status();
  std::map<merkle::TileID, std::vector<Hash>> tiles;
  std::vector<Hash> hashes;
  hashes.reserve(nodes->ids.size());
  for (const merkle::NodeID& id : nodes->ids) {
    absl::StatusOr<merkle::NodeInTile> where =
        merkle::TileForNode(id, tree_size);
    if (!where.ok()) return where.status();
    auto it = tiles.find(where->tile);
    if (it == tiles.end()) {
      absl::StatusOr<std::vector<Hash>> tile = FetchTile(source, where->tile);
      if (!tile.ok()) return tile.status();
      it = tiles.emplace(where->tile, *std::move(tile)).first;
    }
    absl::StatusOr<Hash> hash = merkle::NodeHashFromTile(*where, it->second);
    if (!hash.ok()) return hash.status();
    hashes.push_back(*hash);
  }
  return merkle::AssembleProof(*nodes, hashes);
}

absl::StatusOr<std::string> EntryFromTiles(TileSource& source, uint64_t index,
                                           uint64_t tree_size) {
  absl::StatusOr<merkle::EntryInBundle> where =
      merkle::EntryBundleForEntry(index, tree_size);
  if (!where.ok()) return where.status();
  absl::StatusOr<std::vector<std::string>> entries =
      FetchBundle(source, where->bundle);
  if (!entries.ok()) return entries.status();
  return std::move((*entries)[where->position]);
}

}  // namespace vigil::client
