// Rebuilds ../shared/testdata/reference-log, a 1,000-entry c2sp.org/tlog-tiles
// log written by an independent implementation, and compares byte for byte.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/tiles.h"
#include "tests/testing/testdata.h"

namespace vigil::merkle {
namespace {

constexpr uint64_t kTreeSize = 1000;
constexpr char kLogDir[] = "reference-log/log/";
constexpr char kCheckpointRoot[] =
    "Pc/ho5pvuNRZpWIFj7LKiaHdKpUfufA4cAkEV6Uu/pg=";

std::string ReadLogFile(const std::string& relative) {
  absl::StatusOr<std::string> data =
      vigil::testing::ReadTestdata(kLogDir + relative);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : std::string();
}

// RFC 9162 §2.1 MTH, straight from the definition.
Hash ReferenceRoot(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256({});
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  size_t k = 1;
  while (k * 2 < leaf_hashes.size()) k *= 2;
  return HashChildren(ReferenceRoot(leaf_hashes.first(k)),
                      ReferenceRoot(leaf_hashes.subspan(k)));
}

class ReferenceLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const EntryBundleID& id : EntryBundlesForTreeSize(kTreeSize)) {
      const std::string bundle = ReadLogFile(EntryBundlePath(id));
      absl::StatusOr<std::vector<std::string>> decoded =
          DecodeEntryBundle(bundle, id.width);
      ASSERT_TRUE(decoded.ok())
          << EntryBundlePath(id) << ": " << decoded.status();
      bundles_[id] = bundle;
      for (std::string& entry : *decoded) entries_.push_back(std::move(entry));
    }
    for (const std::string& entry : entries_) {
      leaf_hashes_.push_back(HashLeaf(AsBytes(entry)));
    }
  }

  std::map<EntryBundleID, std::string> bundles_;  // The files, as read.
  std::vector<std::string> entries_;
  std::vector<Hash> leaf_hashes_;
};

TEST_F(ReferenceLogTest, BundlesDecodeIntoOneThousandEntries) {
  EXPECT_EQ(bundles_.size(), 4u);
  EXPECT_EQ(entries_.size(), kTreeSize);
  EXPECT_EQ(leaf_hashes_.size(), kTreeSize);
}

TEST_F(ReferenceLogTest, ReencodedBundlesMatchByteForByte) {
  ASSERT_EQ(entries_.size(), kTreeSize);
  size_t next = 0;
  for (const auto& [id, bytes] : bundles_) {
    const std::span<const std::string> entries =
        std::span(entries_).subspan(next, id.width);
    next += id.width;
    absl::StatusOr<std::string> encoded = EncodeEntryBundle(entries);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    EXPECT_TRUE(*encoded == bytes) << EntryBundlePath(id) << " differs";

    // Built one entry at a time, as a server would, it is the same.
    std::string appended;
    for (const std::string& e : entries) {
      ASSERT_TRUE(AppendBundleEntry(e, &appended).ok());
    }
    EXPECT_TRUE(appended == bytes) << EntryBundlePath(id) << " differs";
  }
  EXPECT_EQ(next, kTreeSize);
}

TEST_F(ReferenceLogTest, RebuiltTilesMatchByteForByte) {
  ASSERT_EQ(leaf_hashes_.size(), kTreeSize);
  std::vector<std::string> built;
  const absl::Status s = BuildTiles(
      leaf_hashes_, [&](const TileID& id, std::span<const Hash> hashes) {
        built.push_back(TilePath(id));
        const std::string want = ReadLogFile(TilePath(id));
        EXPECT_TRUE(EncodeTile(hashes) == want) << TilePath(id) << " differs";
        absl::StatusOr<std::vector<Hash>> decoded = DecodeTile(want, id.width);
        EXPECT_TRUE(decoded.ok()) << decoded.status();
        return absl::OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(built,
              ::testing::ElementsAre("tile/0/000", "tile/0/001", "tile/0/002",
                                     "tile/0/003.p/232", "tile/1/000.p/3"));
}

TEST_F(ReferenceLogTest, RootEqualsTheCheckpointRoot) {
  ASSERT_EQ(leaf_hashes_.size(), kTreeSize);
  const std::string checkpoint = ReadLogFile("checkpoint");
  const std::vector<std::string> lines = absl::StrSplit(checkpoint, '\n');
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "example.org/reference-log");
  EXPECT_EQ(lines[1], "1000");
  EXPECT_EQ(lines[2], kCheckpointRoot);
  absl::StatusOr<Hash> want = Base64DecodeHash(lines[2], "checkpoint root");
  ASSERT_TRUE(want.ok()) << want.status();

  EXPECT_EQ(ReferenceRoot(leaf_hashes_), *want);
  EXPECT_EQ(MerkleRootOfHashes(leaf_hashes_), *want);
  TileBuilder builder;
  ASSERT_TRUE(builder
                  .AppendAll(leaf_hashes_,
                             [](const TileID&, std::span<const Hash>) {
                               return absl::OkStatus();
                             })
                  .ok());
  EXPECT_EQ(builder.Root(), *want);
}

TEST_F(ReferenceLogTest, NodesReadFromTheFilesMatchTheTree) {
  // What a proof client does: locate a node's tile, fetch it, hash it up.
  ASSERT_EQ(leaf_hashes_.size(), kTreeSize);
  for (uint8_t level = 0; level < 10; ++level) {
    for (uint64_t index = 0; index < (kTreeSize >> level); ++index) {
      absl::StatusOr<NodeInTile> where =
          TileForNode({.level = level, .index = index}, kTreeSize);
      ASSERT_TRUE(where.ok()) << where.status();
      absl::StatusOr<std::vector<Hash>> tile =
          DecodeTile(ReadLogFile(TilePath(where->tile)), where->tile.width);
      ASSERT_TRUE(tile.ok()) << tile.status();
      absl::StatusOr<Hash> got = NodeHashFromTile(*where, *tile);
      ASSERT_TRUE(got.ok()) << got.status();
      const uint64_t begin = index << level;
      EXPECT_EQ(
          *got,
          ReferenceRoot(
              std::span(leaf_hashes_).subspan(begin, uint64_t{1} << level)))
          << "node " << int{level} << "/" << index;
    }
  }
}

TEST(ReferenceLogLayoutTest, TilesForSize1000AreExactlyTheFilesOnDisk) {
  const std::filesystem::path root =
      vigil::testing::TestdataPath("reference-log/log");
  std::set<std::string> on_disk;
  for (const auto& file :
       std::filesystem::recursive_directory_iterator(root / "tile")) {
    if (file.is_regular_file()) {
      on_disk.insert(file.path().lexically_relative(root).generic_string());
    }
  }
  std::set<std::string> listed;
  for (const TileID& id : TilesForTreeSize(kTreeSize)) {
    listed.insert(TilePath(id));
  }
  for (const EntryBundleID& id : EntryBundlesForTreeSize(kTreeSize)) {
    listed.insert(EntryBundlePath(id));
  }
  EXPECT_EQ(listed, on_disk);
  EXPECT_EQ(listed.size(), 9u);

  // Every file name parses back to the resource it names.
  for (const std::string& path : on_disk) {
    if (path.starts_with("tile/entries/")) {
      absl::StatusOr<EntryBundleID> id = ParseEntryBundlePath(path);
      ASSERT_TRUE(id.ok()) << id.status();
      EXPECT_EQ(EntryBundlePath(*id), path);
    } else {
      absl::StatusOr<TileID> id = ParseTilePath(path);
      ASSERT_TRUE(id.ok()) << id.status();
      EXPECT_EQ(TilePath(*id), path);
    }
  }
}

}  // namespace
}  // namespace vigil::merkle
