#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "client/http_tile_source.h"
#include "client/signing.h"
#include "client/tree_audit.h"
#include "merkle/tiles.h"
#include "tests/testing/in_process_log.h"
#include "tests/testing/test_records.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;
using ::vigil::testing::InProcessLog;
using ::vigil::testing::RequesterRecord;
using ::vigil::testing::TestAgency;

constexpr char kImmutable[] = "public, max-age=31536000, immutable";

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(log_.Start().ok());
    ASSERT_TRUE(log_.Register(police_).ok());
    ASSERT_TRUE(log_.WaitForSize(1).ok());
  }

  // Appends records until the log holds `size` entries, in batches, and
  // waits for a checkpoint of that size.
  std::shared_ptr<const SignedCheckpoint> GrowTo(uint64_t size) {
    while (true) {
      const uint64_t now = log_.sequencer().Latest()->checkpoint.size;
      if (now >= size) break;
      v1::SubmitRecordsRequest request;
      for (uint64_t i = now; i < size && request.records_size() < 500; ++i) {
        *request.add_records() = client::SignAccessRecord(
            RequesterRecord(police_, absl::StrFormat("r%d", i), absl::Now()),
            police_.key);
      }
      request.set_wait_for_inclusion(true);
      v1::SubmitRecordsResponse response;
      EXPECT_TRUE(
          log_.log()
              .SubmitRecords(InProcessLog::Context().get(), request, &response)
              .ok());
    }
    absl::StatusOr<std::shared_ptr<const SignedCheckpoint>> latest =
        log_.WaitForSize(size);
    EXPECT_TRUE(latest.ok());
    EXPECT_EQ((*latest)->checkpoint.size, size);
    return *latest;
  }

  TlogResponse Get(std::string_view target) {
    std::shared_ptr<const SignedCheckpoint> latest = log_.sequencer().Latest();
    return ServeTlogResource(target, latest.get(), log_.reader());
  }

  InProcessLog log_;
  TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
};

TEST_F(HttpServerTest, CheckpointIsPlainTextAndNotCached) {
  GrowTo(3);
  const TlogResponse r = Get("/checkpoint");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.cache_control, "no-cache");
  EXPECT_EQ(r.body, log_.sequencer().Latest()->note);
}

TEST(ServeTlogResourceTest, NothingBeforeTheFirstCheckpoint) {
  MemoryStorage storage;
  LogReader reader(&storage);
  EXPECT_EQ(ServeTlogResource("/checkpoint", nullptr, reader).status, 404);
  EXPECT_EQ(ServeTlogResource("/tile/0/000.p/1", nullptr, reader).status, 404);
  const TlogResponse r = ServeTlogResource("/tile/0/x000/000", nullptr, reader);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.cache_control, "no-store");
}

TEST_F(HttpServerTest, TilesAndBundlesOfTheLatestTree) {
  GrowTo(300);  // One full level-0 tile and a partial one of width 44.
  TlogResponse full = Get("/tile/0/000");
  EXPECT_EQ(full.status, 200);
  EXPECT_EQ(full.content_type, "application/octet-stream");
  EXPECT_EQ(full.cache_control, kImmutable);
  EXPECT_EQ(full.body.size(), 256u * 32);

  TlogResponse partial = Get("/tile/0/001.p/44");
  EXPECT_EQ(partial.status, 200);
  EXPECT_EQ(partial.body.size(), 44u * 32);
  EXPECT_EQ(partial.cache_control, kImmutable);
  EXPECT_EQ(Get("/tile/1/000.p/1").status, 200);

  TlogResponse bundle = Get("/tile/entries/000");
  EXPECT_EQ(bundle.status, 200);
  absl::StatusOr<std::vector<std::string>> entries =
      merkle::DecodeEntryBundle(bundle.body, 256);
  ASSERT_TRUE(entries.ok()) << entries.status();
  absl::StatusOr<std::vector<std::string>> stored =
      log_.reader().Entries(0, 256, 300);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*entries, *stored);
  EXPECT_EQ(Get("/tile/entries/001.p/44").status, 200);
  // A query string does not change the resource.
  EXPECT_EQ(Get("/tile/0/000?cache=bust").body, full.body);
}

TEST_F(HttpServerTest, PartialTilesOfEarlierTreesStayAvailable) {
  GrowTo(10);
  const std::string early = Get("/tile/0/000.p/10").body;
  ASSERT_EQ(early.size(), 10u * 32);
  GrowTo(20);
  // The width-10 partial tile of the earlier checkpoint is the prefix of
  // the latest one.
  const TlogResponse again = Get("/tile/0/000.p/10");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, early);
  EXPECT_EQ(Get("/tile/0/000.p/20").body.substr(0, early.size()), early);
  EXPECT_EQ(Get("/tile/entries/000.p/10").status, 200);
}

TEST_F(HttpServerTest, ResourcesBeyondTheLatestCheckpointAreNotFound) {
  GrowTo(10);
  EXPECT_EQ(Get("/tile/0/000.p/11").status, 404);
  EXPECT_EQ(Get("/tile/0/000").status, 404);
  EXPECT_EQ(Get("/tile/0/001.p/1").status, 404);
  EXPECT_EQ(Get("/tile/1/000.p/1").status, 404);
  EXPECT_EQ(Get("/tile/entries/000").status, 404);
  EXPECT_EQ(Get("/tile/entries/000.p/11").status, 404);
  EXPECT_EQ(Get("/tile/63/000.p/1").status, 404);
  EXPECT_EQ(Get("/tile/7/x072/x057/x594/x037/x927/935.p/255").status, 404);
  EXPECT_EQ(Get("/tile/0/000.p/11").cache_control, "no-store");
  EXPECT_EQ(Get("/other").status, 404);
  EXPECT_EQ(Get("/").status, 404);
}

TEST_F(HttpServerTest, MalformedPathsAreBadRequests) {
  GrowTo(10);
  for (const char* target :
       {"/tile/0/x000/005", "/tile/0/5", "/tile/00/000", "/tile/0/000.p/0",
        "/tile/0/000.p/256", "/tile/0/000.p/010", "/tile/64/000",
        "/tile/0/%30%30%30", "/tile/entries/000.p/", "/tile/entries/x",
        "/tile/0/../000", "/tile/0/000/", "/tile/entries/000.p/5/x"}) {
    EXPECT_EQ(Get(target).status, 400) << target;
  }
}

TEST_F(HttpServerTest, ServesOverHttpAndTheTreeAudits) {
  const std::shared_ptr<const SignedCheckpoint> latest = GrowTo(700);
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      HttpServerOptions{"127.0.0.1:0", 4, {}},
      [this] { return log_.sequencer().Latest(); }, &log_.reader());
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_NE((*server)->port(), 0);
  EXPECT_EQ((*server)->address(),
            absl::StrFormat("127.0.0.1:%d", (*server)->port()));

  httplib::Client http("127.0.0.1", (*server)->port());
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(10, 0);
  httplib::Result checkpoint = http.Get("/checkpoint");
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->status, 200);
  EXPECT_EQ(checkpoint->get_header_value("Content-Type"),
            "text/plain; charset=utf-8");
  EXPECT_EQ(checkpoint->body, latest->note);
  httplib::Result bad = http.Get("/tile/0/x000/000");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  {
    client::HttpTileSource source(
        absl::StrFormat("http://127.0.0.1:%d", (*server)->port()), "", "");
    absl::StatusOr<client::TreeAuditReport> report =
        client::AuditTree(source, latest->checkpoint);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->entries, 700u);
    EXPECT_EQ(report->root, latest->checkpoint.root);
    EXPECT_EQ(source.last_cache_control(), kImmutable);
  }

  (*server)->Stop();
  (*server)->Stop();  // Idempotent.
  httplib::Client after("127.0.0.1", (*server)->port());
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/checkpoint"));
}

TEST(HttpServerStartTest, BadAddressesAreRefused) {
  MemoryStorage storage;
  LogReader reader(&storage);
  auto latest = [] { return std::shared_ptr<const SignedCheckpoint>(); };
  EXPECT_EQ(
      HttpServer::Start(HttpServerOptions{"no-port", 1, {}}, latest, &reader)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<HttpServer>> first = HttpServer::Start(
      HttpServerOptions{"127.0.0.1:0", 1, {}}, latest, &reader);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<HttpServer>> second = HttpServer::Start(
      HttpServerOptions{(*first)->address(), 1, {}}, latest, &reader);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr((*first)->address()));
}

}  // namespace
}  // namespace vigil::server
