#include "client/tree_audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/tile_source.h"
#include "merkle/checkpoint.h"
#include "merkle/proof.h"
#include "merkle/tiles.h"
#include "tests/testing/memory_tree.h"
#include "tests/testing/testdata.h"

namespace vigil::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

merkle::Checkpoint ReferenceCheckpoint() {
  const absl::StatusOr<merkle::SignedNote> note = merkle::ParseSignedNote(
      *testing::ReadTestdata("reference-log/log/checkpoint"));
  EXPECT_TRUE(note.ok()) << note.status();
  return *merkle::ParseCheckpoint(note->text);
}

// A writable copy of the reference log in a fresh temporary directory.
class TreeAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-audit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::copy(testing::TestdataPath("reference-log/log"), dir_,
             fs::copy_options::recursive);
    for (const auto& f : fs::recursive_directory_iterator(dir_)) {
      fs::permissions(f.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  void FlipByte(const std::string& relative, size_t offset) {
    std::fstream f(dir_ / relative,
                   std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f) << relative;
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x01));
  }

  fs::path dir_;
};

TEST_F(TreeAuditTest, ReferenceLogPassesTheAudit) {
  DirectoryTileSource source(dir_);
  std::vector<uint64_t> visited;
  absl::StatusOr<TreeAuditReport> report = AuditTree(
      source, ReferenceCheckpoint(), [&](uint64_t index, std::string_view) {
        visited.push_back(index);
        return absl::OkStatus();
      });
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 1000u);
  EXPECT_EQ(report->bundles, 4u);
  EXPECT_EQ(report->tiles, 5u);  // 0/000..002, 0/003.p/232, 1/000.p/3.
  EXPECT_EQ(report->root, ReferenceCheckpoint().root);
  ASSERT_EQ(visited.size(), 1000u);
  EXPECT_EQ(visited.back(), 999u);
}

TEST_F(TreeAuditTest, OneChangedByteAnywhereFailsNamingTheResource) {
  struct Case {
    std::string file;
    size_t offset;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"tile/0/001", 4000, "tile/0/001: hash 125"},
      {"tile/0/003.p/232", 0, "tile/0/003.p/232: hash 0"},
      {"tile/1/000.p/3", 70, "tile/1/000.p/3: hash 2"},
      {"tile/entries/002", 100, "tile/0/002"},      // Its leaf hashes change.
      {"tile/entries/000", 0, "tile/entries/000"},  // A length prefix.
  };
  for (const Case& c : cases) {
    SetUp();
    FlipByte(c.file, c.offset);
    DirectoryTileSource source(dir_);
    const absl::Status s = AuditTree(source, ReferenceCheckpoint()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.file << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.error)) << c.file;
  }
}

TEST_F(TreeAuditTest, AMissingTileIsReported) {
  fs::remove(dir_ / "tile/0/002");
  DirectoryTileSource source(dir_);
  const absl::Status s = AuditTree(source, ReferenceCheckpoint()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tile/0/002"));
}

TEST_F(TreeAuditTest, ACheckpointWithAnotherRootFails) {
  merkle::Checkpoint forged = ReferenceCheckpoint();
  forged.root[0] ^= 1;
  DirectoryTileSource source(dir_);
  const absl::Status s = AuditTree(source, forged).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("the checkpoint says"));
}

TEST_F(TreeAuditTest, ProofsFromTilesMatchProofsFromTheWholeTree) {
  DirectoryTileSource source(dir_);
  testing::MemoryTree tree;
  for (uint64_t i = 0; i < 1000; ++i) {
    absl::StatusOr<std::string> entry = EntryFromTiles(source, i, 1000);
    ASSERT_TRUE(entry.ok()) << entry.status();
    tree.Append(merkle::HashLeaf(merkle::AsBytes(*entry)));
  }
  const merkle::Hash root = ReferenceCheckpoint().root;
  ASSERT_EQ(tree.RootAt(1000), root);
  for (uint64_t i = 0; i < 1000; i += 7) {
    absl::StatusOr<std::vector<merkle::Hash>> proof =
        InclusionProofFromTiles(source, i, 1000);
    ASSERT_TRUE(proof.ok()) << i << ": " << proof.status();
    EXPECT_EQ(*proof, *tree.InclusionProof(i, 1000)) << i;
    const merkle::Hash leaf =
        merkle::HashLeaf(merkle::AsBytes(*EntryFromTiles(source, i, 1000)));
    EXPECT_TRUE(merkle::VerifyInclusion(i, 1000, leaf, *proof, root).ok());
  }
  EXPECT_EQ(InclusionProofFromTiles(source, 1000, 1000).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(DirectoryTileSourceTest, RefusesPathsThatLeaveTheDirectory) {
  DirectoryTileSource source(testing::TestdataPath("reference-log/log"));
  for (const char* path : {"", "/etc/passwd", "../log.skey", "tile/../../x",
                           "tile//0/000", "./checkpoint", "tile/0/000/"}) {
    EXPECT_EQ(source.Fetch(path).status().code(),
              absl::StatusCode::kInvalidArgument)
        << path;
  }
  EXPECT_EQ(source.Fetch("tile/0/999").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(source.Fetch("checkpoint").ok());
}

}  // namespace
}  // namespace vigil::client
