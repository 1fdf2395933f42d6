#include "server/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;

void WriteFile(const std::string& path, const std::string& content,
               mode_t mode) {
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST(KeyFileTest, StripsOneNewlineAndChecksSecretModes) {
  testing::TempDir dir;
  WriteFile(dir.Sub("a.vkey"), "key\n", 0644);
  EXPECT_EQ(*ReadKeyFile(dir.Sub("a.vkey"), false), "key");
  WriteFile(dir.Sub("b.vkey"), "key\n\n", 0644);
  EXPECT_EQ(*ReadKeyFile(dir.Sub("b.vkey"), false), "key\n");
  WriteFile(dir.Sub("c.vkey"), "key", 0644);
  EXPECT_EQ(*ReadKeyFile(dir.Sub("c.vkey"), false), "key");

  WriteFile(dir.Sub("open.skey"), "secret\n", 0644);
  EXPECT_THAT(ReadKeyFile(dir.Sub("open.skey"), true),
              IsError(absl::StatusCode::kFailedPrecondition, "chmod 600"));
  EXPECT_THAT(
      ReadKeyFile(dir.Sub("open.skey"), true),
      ::testing::Not(IsError(absl::StatusCode::kFailedPrecondition, "secret")));
  WriteFile(dir.Sub("ok.skey"), "secret\n", 0600);
  EXPECT_EQ(*ReadKeyFile(dir.Sub("ok.skey"), true), "secret");
  EXPECT_THAT(ReadKeyFile(dir.Sub("none"), false),
              IsError(absl::StatusCode::kNotFound, "none"));
  EXPECT_THAT(ReadKeyFile(dir.path().string(), false),
              IsError(absl::StatusCode::kFailedPrecondition, "regular file"));
  WriteFile(dir.Sub("huge.vkey"), std::string(65 * 1024, 'k'), 0644);
  EXPECT_THAT(ReadKeyFile(dir.Sub("huge.vkey"), false),
              IsError(absl::StatusCode::kInvalidArgument, "too large"));
}

TEST(ReadFileTest, ReadsWholeFilesUpToTheLimit) {
  testing::TempDir dir;
  const std::string content(10000, 'x');
  WriteFile(dir.Sub("f"), content, 0644);
  EXPECT_EQ(*ReadFile(dir.Sub("f")), content);
  EXPECT_EQ(*ReadFile(dir.Sub("f"), 10000), content);
  EXPECT_THAT(ReadFile(dir.Sub("f"), 9999),
              IsError(absl::StatusCode::kInvalidArgument, "9999"));
  EXPECT_THAT(ReadFile(dir.Sub("missing")),
              IsError(absl::StatusCode::kNotFound, "missing"));
  EXPECT_THAT(ReadFile(dir.path().string()),
              IsError(absl::StatusCode::kFailedPrecondition, "regular file"));
}

TEST(WriteNewFileTest, CreatesWithTheModeAndNeverReplaces) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteNewFile(dir.Sub("k"), "secret", 0600).ok());
  EXPECT_EQ(ModeOf(dir.Sub("k")), 0600);
  EXPECT_THAT(WriteNewFile(dir.Sub("k"), "other", 0600),
              IsError(absl::StatusCode::kAlreadyExists, "never replaced"));
  EXPECT_EQ(*ReadFile(dir.Sub("k")), "secret");
  EXPECT_THAT(WriteNewFile(dir.Sub("no/such/dir/k"), "x", 0600),
              IsError(absl::StatusCode::kUnavailable, "no/such/dir/k"));
}

TEST(WriteFileAtomicallyTest, ReplacesContentAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  const std::string path = dir.Sub("sub/state");
  ASSERT_TRUE(WriteFileAtomically(path, "one", 0600).ok());
  EXPECT_EQ(*ReadFile(path), "one");
  EXPECT_EQ(ModeOf(path), 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "two, longer", 0600).ok());
  EXPECT_EQ(*ReadFile(path), "two, longer");
  int files = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(dir.path() / "sub")) {
    static_cast<void>(e);
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(WriteFileAtomicallyTest, FailureLeavesTheOldContent) {
  testing::TempDir dir;
  const std::string path = dir.Sub("state");
  ASSERT_TRUE(WriteFileAtomically(path, "old", 0644).ok());
  // Block the temporary file's name with a non-empty directory, so the
  // new content cannot be written.
  const std::filesystem::path blocker =
      dir.path() / ("state.tmp-" + std::to_string(getpid()));
  std::filesystem::create_directories(blocker / "inside");
  EXPECT_FALSE(WriteFileAtomically(path, "new", 0644).ok());
  EXPECT_EQ(*ReadFile(path), "old");
}

TEST(AppendDurablyTest, AppendsAndKeepsTheMode) {
  testing::TempDir dir;
  const std::string path = dir.Sub("openings");
  ASSERT_TRUE(AppendDurably(path, "a\n", 0600).ok());
  ASSERT_TRUE(AppendDurably(path, "b\n", 0644).ok());
  EXPECT_EQ(*ReadFile(path), "a\nb\n");
  EXPECT_EQ(ModeOf(path), 0600);
}

}  // namespace
}  // namespace vigil::server
