#include "server/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
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
  // A file size limit makes the write of the new content fail.
  std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit before {};
  getrlimit(RLIMIT_FSIZE, &before);
  struct rlimit small = before;
  small.rlim_cur = 1000;
  setrlimit(RLIMIT_FSIZE, &small);
  const absl::Status s =
      WriteFileAtomically(path, std::string(2000, 'n'), 0644);
  setrlimit(RLIMIT_FSIZE, &before);
  EXPECT_THAT(s, IsError(absl::StatusCode::kUnavailable, "state"));
  EXPECT_EQ(*ReadFile(path), "old");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    static_cast<void>(e);
    ++files;
  }
  EXPECT_EQ(files, 1);  // No temporary file is left behind.
}

TEST(ReadFileTest, OnlyAMissingFileIsNotFound) {
  testing::TempDir dir;
  std::filesystem::create_symlink(dir.Sub("loop"), dir.Sub("loop"));
  const absl::StatusOr<std::string> looped = ReadFile(dir.Sub("loop"));
  EXPECT_FALSE(looped.ok());
  EXPECT_FALSE(absl::IsNotFound(looped.status())) << looped.status();
  EXPECT_FALSE(absl::IsNotFound(ReadKeyFile(dir.Sub("loop"), false).status()));
  ASSERT_EQ(mkfifo(dir.Sub("fifo").c_str(), 0600), 0);
  EXPECT_THAT(ReadFile(dir.Sub("fifo")),
              IsError(absl::StatusCode::kFailedPrecondition, "regular file"));
}

TEST(AppendDurablyTest, RefusesToAddSecretsToAFileOthersCanRead) {
  testing::TempDir dir;
  WriteFile(dir.Sub("openings"), "", 0644);
  EXPECT_THAT(AppendDurably(dir.Sub("openings"), "secret\n", 0600),
              IsError(absl::StatusCode::kFailedPrecondition, "chmod 600"));
  EXPECT_EQ(*ReadFile(dir.Sub("openings")), "");
  std::filesystem::create_symlink(dir.Sub("target"), dir.Sub("link"));
  EXPECT_FALSE(AppendDurably(dir.Sub("link"), "secret\n", 0600).ok());
}

TEST(AppendDurablyTest, ATornLastLineStaysALineOfItsOwn) {
  testing::TempDir dir;
  WriteFile(dir.Sub("lines"), "one\ntw", 0600);
  ASSERT_TRUE(AppendDurably(dir.Sub("lines"), "three\n", 0600).ok());
  EXPECT_EQ(*ReadFile(dir.Sub("lines")), "one\ntw\nthree\n");
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
