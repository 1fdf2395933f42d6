// The witness over real HTTP on 127.0.0.1: the server (client/
// witness_server.h) with the log-side client (server/witness_client.h),
// hostile requests over raw sockets, and the client against a fake witness
// that answers whatever the test wants.

#include "client/witness_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/witness.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "server/witness_client.h"
#include "tests/testing/memory_tree.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace vigil::client {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::vigil::testing::IsError;

constexpr std::string_view kOrigin = "example.org/witnessed-log";
constexpr int64_t kNow = 1'750'000'000;
const absl::Duration kTimeout = absl::Seconds(10);

merkle::Hash Seed(std::string_view label) {
  return merkle::Sha256(merkle::AsBytes(label));
}

// A test log: leaves derived from `fork`, signed by the key of `key_label`.
class TestLog {
 public:
  explicit TestLog(std::string_view fork = "main",
                   std::string origin = std::string(kOrigin))
      : origin_(std::move(origin)),
        signer_(*merkle::Ed25519Signer::Create(origin_, Seed("log key"))),
        fork_(fork) {}

  std::string Text(uint64_t size) {
    GrowTo(size);
    const merkle::Hash root =
        size == 0 ? merkle::EmptyRoot() : tree_.RootAt(size);
    return *merkle::MarshalCheckpoint({origin_, size, root, {}});
  }
  std::string Note(uint64_t size) {
    const merkle::NoteSigner* signers[] = {&signer_};
    return *merkle::SignNote(Text(size), signers);
  }
  std::vector<merkle::Hash> Proof(uint64_t old_size, uint64_t new_size) {
    GrowTo(new_size);
    return *tree_.ConsistencyProof(old_size, new_size);
  }
  const merkle::Ed25519Verifier& verifier() const { return signer_.verifier(); }

 private:
  void GrowTo(uint64_t size) {
    while (tree_.size() < size) {
      tree_.Append(merkle::HashLeaf(
          merkle::AsBytes(absl::StrFormat("%s leaf %d", fork_, tree_.size()))));
    }
  }

  std::string origin_;
  merkle::Ed25519Signer signer_;
  std::string fork_;
  vigil::testing::MemoryTree tree_;
};

// True if `response` holds a whole HTTP response with a Content-Length.
bool Complete(std::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  const std::string_view headers = response.substr(0, end);
  constexpr std::string_view kLength = "\r\nContent-Length: ";
  const size_t at = headers.find(kLength);
  if (at == std::string_view::npos) return false;
  const size_t value = at + kLength.size();
  const std::optional<uint64_t> length = merkle::ParseDecimal(
      headers.substr(value, headers.find("\r\n", value) - value));
  return length.has_value() && response.size() - end - 4 >= *length;
}

// A TCP connection to 127.0.0.1:`port`, closed on destruction.
class Connection {
 public:
  explicit Connection(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{10, 0};  // A hung server fails the test instead of hanging it.
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return connected_; }

  // Sends `bytes` (as much as the peer takes) and returns the response:
  // up to the end of its Content-Length body, or whatever came before the
  // peer closed. With `half_close`, the write side is shut after sending,
  // for requests that are incomplete on purpose (httplib writes no answer
  // to a peer that half-closed, so only use it where none is expected).
  std::string Exchange(std::string_view bytes, bool half_close = false) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n =
          send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // The server may refuse the rest.
      sent += static_cast<size_t>(n);
    }
    if (half_close) shutdown(fd_, SHUT_WR);
    std::string reply;
    char buffer[4096];
    while (!Complete(reply)) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
    }
    return reply;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// The status code of a raw HTTP response, or -1.
int StatusOf(std::string_view response) {
  if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return -1;
  return merkle::ParseDecimal(response.substr(9, 3)).value_or(-1);
}

std::string BodyOf(std::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string()
                                       : std::string(response.substr(end + 4));
}

std::string Post(std::string_view body) {
  return absl::StrFormat(
      "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nConnection: close\r\n"
      "Content-Length: %d\r\n\r\n%s",
      body.size(), body);
}

std::string Get(std::string_view target) {
  return absl::StrFormat(
      "GET %s HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n", target);
}

std::string Body(uint64_t old_size, const std::vector<merkle::Hash>& proof,
                 std::string_view note) {
  std::string body = absl::StrFormat("old %d\n", old_size);
  for (const merkle::Hash& h : proof) body += merkle::Base64Encode(h) + "\n";
  return body + "\n" + std::string(note);
}

class WitnessServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Witness>> witness = Witness::Create(
        *merkle::Cosigner::Create("witness.example/w1", Seed("witness key")),
        {WitnessLog{std::string(kOrigin), {log_.verifier()}}},
        dir_.Sub("state"), [] { return absl::FromUnixSeconds(kNow); });
    ASSERT_TRUE(witness.ok()) << witness.status();
    witness_ = *std::move(witness);
    absl::StatusOr<std::unique_ptr<WitnessServer>> server =
        WitnessServer::Start(WitnessServerOptions{}, witness_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    url_ = absl::StrFormat("http://127.0.0.1:%d", server_->port());
  }

  absl::StatusOr<server::WitnessReply> Add(uint64_t old_size,
                                           uint64_t new_size) {
    const std::vector<merkle::Hash> proof = log_.Proof(old_size, new_size);
    return server::AddCheckpointToWitness(url_, old_size, proof,
                                          log_.Note(new_size), kTimeout);
  }

  std::string Raw(std::string_view bytes, bool half_close = false) {
    Connection c(server_->port());
    EXPECT_TRUE(c.connected());
    return c.Exchange(bytes, half_close);
  }

  vigil::testing::TempDir dir_;
  TestLog log_;
  std::unique_ptr<Witness> witness_;
  std::unique_ptr<WitnessServer> server_;
  std::string url_;
};

TEST_F(WitnessServerTest, CosignsOverHttpAndTheCosignatureVerifies) {
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->address(),
            absl::StrFormat("127.0.0.1:%d", server_->port()));
  for (auto [old_size, new_size] :
       {std::pair<uint64_t, uint64_t>{0, 4}, {4, 9}, {9, 9}, {9, 70}}) {
    absl::StatusOr<server::WitnessReply> reply = Add(old_size, new_size);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(reply->conflict_size.has_value());
    ASSERT_THAT(reply->signatures, SizeIs(1));
    const std::string cosigned =
        *merkle::AddSignatureLines(log_.Note(new_size), reply->signatures);
    const merkle::CosignatureVerifier* witnesses[] = {&witness_->verifier()};
    absl::StatusOr<merkle::CosignatureQuorum> quorum =
        merkle::VerifyCosignatureQuorum(cosigned, witnesses, 1);
    ASSERT_TRUE(quorum.ok()) << quorum.status();
    EXPECT_EQ(quorum->cosigned[0].timestamp, static_cast<uint64_t>(kNow));
  }
}

TEST_F(WitnessServerTest, ConflictReturnsTheWitnessSize) {
  ASSERT_TRUE(Add(0, 6).ok());
  absl::StatusOr<server::WitnessReply> reply = Add(0, 8);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->signatures.empty());
  ASSERT_TRUE(reply->conflict_size.has_value());
  EXPECT_EQ(*reply->conflict_size, 6u);
  // The log retries from the witness's size.
  reply = Add(*reply->conflict_size, 8);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->signatures, SizeIs(1));
}

TEST_F(WitnessServerTest, ConflictHasTheSpecsContentType) {
  ASSERT_TRUE(Add(0, 6).ok());
  const std::string response = Raw(Post(Body(0, {}, log_.Note(7))));
  EXPECT_EQ(StatusOf(response), 409) << response;
  EXPECT_THAT(response, HasSubstr("Content-Type: text/x.tlog.size\r\n"));
  EXPECT_EQ(BodyOf(response), "6\n");
}

TEST_F(WitnessServerTest, RefusalsMapToStatusCodes) {
  ASSERT_TRUE(Add(0, 6).ok());
  TestLog stranger("main", "example.org/stranger");
  EXPECT_THAT(
      server::AddCheckpointToWitness(url_, 0, {}, stranger.Note(3), kTimeout),
      IsError(absl::StatusCode::kNotFound, "404"));
  TestLog fork("fork");
  EXPECT_THAT(
      server::AddCheckpointToWitness(url_, 6, {}, fork.Note(6), kTimeout),
      IsError(absl::StatusCode::kFailedPrecondition, "422"));
  EXPECT_THAT(
      server::AddCheckpointToWitness(url_, 7, {}, log_.Note(6), kTimeout),
      IsError(absl::StatusCode::kInvalidArgument, "400"));
  absl::StatusOr<merkle::SignedNote> forged =
      merkle::ParseSignedNote(log_.Note(8));
  ASSERT_TRUE(forged.ok());
  forged->signatures[0].signature[0] ^= 0x01;
  EXPECT_THAT(server::AddCheckpointToWitness(url_, 6, log_.Proof(6, 8),
                                             *merkle::FormatSignedNote(*forged),
                                             kTimeout),
              IsError(absl::StatusCode::kPermissionDenied, "403"));
}

TEST_F(WitnessServerTest, MonitorsGetTheLatestCosignedCheckpoint) {
  const std::string target =
      absl::StrFormat("/%s/checkpoint", OriginHash(kOrigin));
  EXPECT_EQ(StatusOf(Raw(Get(target))), 404);
  absl::StatusOr<server::WitnessReply> reply = Add(0, 5);
  ASSERT_TRUE(reply.ok()) << reply.status();
  const std::string response = Raw(Get(target));
  ASSERT_EQ(StatusOf(response), 200) << response;
  EXPECT_EQ(BodyOf(response),
            log_.Note(5) + merkle::FormatSignatureLine(reply->signatures[0]));
  EXPECT_EQ(StatusOf(Raw(
                Get(absl::StrFormat("/%s/checkpoint", OriginHash("other"))))),
            404);
}

TEST_F(WitnessServerTest, OtherRequestsAreRefused) {
  EXPECT_EQ(StatusOf(Raw(Get("/add-checkpoint"))), 405);
  EXPECT_EQ(StatusOf(Raw(Get("/checkpoint"))), 404);
  EXPECT_EQ(StatusOf(Raw(Get("/"))), 404);
  EXPECT_EQ(StatusOf(Raw(Get("/" + OriginHash(kOrigin)))), 404);
  EXPECT_EQ(StatusOf(Raw("POST /other HTTP/1.1\r\nHost: w\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n")),
            404);
}

TEST_F(WitnessServerTest, OversizedBodiesAreBadRequests) {
  const std::string big(kMaxAddCheckpointBody + 1, 'x');
  // With a Content-Length: refused before reading.
  EXPECT_EQ(StatusOf(Raw(Post(big))), 400);
  // Chunked, so httplib cannot refuse it up front.
  std::string chunked =
      "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < big.size(); sent += 4096) {
    const size_t n = std::min<size_t>(4096, big.size() - sent);
    chunked += absl::StrFormat("%x\r\n%s\r\n", n, big.substr(sent, n));
  }
  chunked += "0\r\n\r\n";
  const std::string response = Raw(chunked);
  EXPECT_EQ(StatusOf(response), 400) << response.substr(0, 200);
  EXPECT_THAT(BodyOf(response), HasSubstr("exceeds"));
}

TEST_F(WitnessServerTest, HostileRequestsNeverCrashTheServer) {
  const std::string note = log_.Note(3);
  // (request, incomplete: the client half-closes after sending it)
  const std::vector<std::pair<std::string, bool>> hostile = {
      {"", true},
      {"\r\n\r\n", false},
      {std::string("\x00\xff\xfe garbage\r\n\r\n", 15), false},
      {"GET " + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n", false},
      {"POST /add-checkpoint HTTP/1.1\r\nContent-Length: 99999999999999\r\n"
       "\r\nx",
       true},
      {"POST /add-checkpoint HTTP/1.1\r\nContent-Length: -1\r\n\r\nx", true},
      {"POST /add-checkpoint HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort",
       true},
      {"POST /add-checkpoint HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "zz\r\nabc\r\n0\r\n\r\n",
       false},
      {"POST /add-checkpoint HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
       "ffffffffffffffffff\r\nabc\r\n",
       true},
      {"POST /add-checkpoint HTTP/1.1\r\nContent-Encoding: gzip\r\n"
       "Content-Length: 10\r\n\r\n0123456789",
       false},
      {"POST /add-checkpoint HTTP/1.1\r\nContent-Encoding: br\r\n"
       "Content-Length: 10\r\n\r\n0123456789",
       false},
      {"POST /add-checkpoint HTTP/1.1\r\nX: " + std::string(100000, 'h') +
           "\r\n\r\n",
       false},
      {"GET /%zz/checkpoint HTTP/1.1\r\n\r\n", false},
      {"GET /../../etc/passwd HTTP/1.1\r\n\r\n", false},
      {"GET /" + OriginHash(kOrigin) + "/checkpoint/../x HTTP/1.1\r\n\r\n",
       false},
      {"GET /" + OriginHash(kOrigin) +
           "/checkpoint HTTP/1.1\r\nRange: bytes=5-1,9999-\r\n\r\n",
       false},
      {Post("old 0\n\n" + note.substr(0, note.size() / 2)), false},
      {Post("old 0\n\n\xE2\x80\x94\n"), false},
      {Post(std::string(1000, '\n')), false},
      {Post("old 18446744073709551615\n\n" + note), false},
      {Post("old 0\n" + std::string(70, '\n')), false},
  };
  for (const auto& [request, incomplete] : hostile) {
    const std::string response = Raw(request, incomplete);
    const int status = StatusOf(response);
    // An HTTP error, or for an incomplete request a closed connection;
    // never a success.
    EXPECT_TRUE((status == -1 && incomplete) || (status >= 400 && status < 500))
        << merkle::QuoteForError(request) << " -> "
        << merkle::QuoteForError(response);
  }
  // Random mutations of a valid body, from a fixed seed.
  const std::string valid = Body(0, {}, note);
  std::mt19937 rng(20240611);
  for (int i = 0; i < 200; ++i) {
    std::string body = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng());
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, 1, static_cast<char>(rng()));
      }
      if (body.empty()) body.push_back('x');
    }
    const int status = StatusOf(Raw(Post(body)));
    EXPECT_TRUE(status == 400 || status == 403 || status == 404 ||
                status == 409 || status == 422 || status == 200)
        << "seed 20240611 case " << i << ": " << merkle::QuoteForError(body)
        << " -> " << status;
  }
  // Still serving (a mutation may have been a valid request: 200 or 409).
  const int status = StatusOf(Raw(Post(valid)));
  EXPECT_TRUE(status == 200 || status == 409) << status;
  absl::StatusOr<server::WitnessReply> reply = Add(3, 4);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->signatures, SizeIs(1));
}

TEST_F(WitnessServerTest, ConcurrentClientsOverHttpNeverRollBack) {
  std::vector<std::string> notes;
  std::vector<std::vector<merkle::Hash>> proofs;  // From the previous size.
  constexpr uint64_t kSizes = 40;
  for (uint64_t s = 0; s <= kSizes; ++s) {
    notes.push_back(log_.Note(s));
    proofs.push_back(s == 0 ? std::vector<merkle::Hash>{}
                            : log_.Proof(s - 1, s));
  }
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      uint64_t believed = 0;
      while (believed < kSizes) {
        absl::StatusOr<server::WitnessReply> reply =
            server::AddCheckpointToWitness(url_, believed, proofs[believed + 1],
                                           notes[believed + 1], kTimeout);
        if (!reply.ok()) {
          ADD_FAILURE() << reply.status();
          return;
        }
        if (reply->conflict_size.has_value()) {
          believed = *reply->conflict_size;
        } else {
          ++successes;
          ++believed;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // Each size was cosigned exactly once.
  EXPECT_EQ(successes.load(), static_cast<int>(kSizes));
}

TEST_F(WitnessServerTest, StopIsIdempotentAndRefusesNewConnections) {
  const uint16_t port = server_->port();
  server_->Stop();
  server_->Stop();
  Connection c(port);
  EXPECT_FALSE(c.connected());
}

TEST(WitnessServerStartTest, RefusesBadAddressesAndTakenPorts) {
  vigil::testing::TempDir dir;
  TestLog log;
  absl::StatusOr<std::unique_ptr<Witness>> witness =
      Witness::Create(*merkle::Cosigner::Create("w", Seed("w")),
                      {WitnessLog{std::string(kOrigin), {log.verifier()}}},
                      dir.Sub("s"), [] { return absl::FromUnixSeconds(kNow); });
  ASSERT_TRUE(witness.ok());
  for (const char* address :
       {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1",
        "::1:80", "[::1]80"}) {
    WitnessServerOptions options;
    options.address = address;
    EXPECT_THAT(WitnessServer::Start(options, witness->get()),
                IsError(absl::StatusCode::kInvalidArgument, "listen address"))
        << address;
  }
  EXPECT_THAT(WitnessServer::Start(WitnessServerOptions{}, nullptr),
              IsError(absl::StatusCode::kInvalidArgument, "witness"));
  absl::StatusOr<std::unique_ptr<WitnessServer>> first =
      WitnessServer::Start(WitnessServerOptions{}, witness->get());
  ASSERT_TRUE(first.ok());
  WitnessServerOptions taken;
  taken.address = absl::StrFormat("127.0.0.1:%d", (*first)->port());
  EXPECT_THAT(WitnessServer::Start(taken, witness->get()),
              IsError(absl::StatusCode::kUnavailable, "cannot bind"));
}

// ---------------------------------------------------------------------------
// The client against a fake witness.

// Accepts one connection on 127.0.0.1, reads one request (headers and a
// Content-Length body), answers `response` (nothing if empty), then waits
// for the client to close.
class FakeWitness {
 public:
  explicit FakeWitness(std::string response)
      : listener_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(listener_, 1), 0);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, response = std::move(response)] {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      timeval tv{20, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string got;
      char buffer[4096];
      size_t want = std::string::npos;
      while (want == std::string::npos || got.size() < want) {
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        got.append(buffer, static_cast<size_t>(n));
        const size_t end = got.find("\r\n\r\n");
        const size_t cl = got.find("Content-Length: ");
        if (want == std::string::npos && end != std::string::npos &&
            cl != std::string::npos) {
          want = end + 4 + std::stoul(got.substr(cl + 16));
        }
      }
      {
        absl::MutexLock lock(&mu_);
        request_ = got;
      }
      if (!response.empty()) {
        send(fd, response.data(), response.size(), MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
      }
      while (recv(fd, buffer, sizeof buffer, 0) > 0) {
      }
      close(fd);
    });
  }
  ~FakeWitness() {
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    close(listener_);
  }

  std::string url() const {
    return absl::StrFormat("http://127.0.0.1:%d/prefix/", port_);
  }
  // The request received (set before the answer is sent).
  std::string request() const {
    absl::MutexLock lock(&mu_);
    return request_;
  }

 private:
  int listener_;
  uint16_t port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::string request_ ABSL_GUARDED_BY(mu_);
};

std::string Response(int status, std::string_view body,
                     std::string_view type = "text/plain") {
  return absl::StrFormat(
      "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
      "Connection: close\r\n\r\n%s",
      status, type, body.size(), body);
}

TEST(WitnessClientTest, SendsTheSpecsRequestBody) {
  TestLog log;
  const std::string note = log.Note(5);
  const std::vector<merkle::Hash> proof = log.Proof(2, 5);
  FakeWitness fake(Response(409, "3\n", "text/x.tlog.size"));
  absl::StatusOr<server::WitnessReply> reply =
      server::AddCheckpointToWitness(fake.url(), 2, proof, note, kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->signatures.empty());
  EXPECT_EQ(reply->conflict_size, std::optional<uint64_t>(3));
  const std::string got = fake.request();
  EXPECT_TRUE(got.starts_with("POST /prefix/add-checkpoint HTTP/1.1\r\n"))
      << got;
  const std::string body = got.substr(got.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, Body(2, proof, note));
}

TEST(WitnessClientTest, MalformedRepliesAreErrors) {
  TestLog log;
  const std::string note = log.Note(5);
  const std::string line = "\xE2\x80\x94 w " +
                           merkle::Base64Encode(std::vector<uint8_t>(76, 1)) +
                           "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty 200", Response(200, "")},
      {"200 without newline", Response(200, line.substr(0, line.size() - 1))},
      {"200 garbage", Response(200, "hello\n")},
      {"200 good then garbage", Response(200, line + "x\n")},
      {"409 leading zero", Response(409, "03\n")},
      {"409 no newline", Response(409, "3")},
      {"409 empty", Response(409, "")},
      {"409 the old size", Response(409, "2\n")},
      {"409 space", Response(409, " 3\n")},
      {"oversized",
       Response(200, std::string(server::kMaxWitnessReply + 1, 'x'))},
  };
  for (const auto& [name, response] : cases) {
    FakeWitness fake(response);
    EXPECT_THAT(
        server::AddCheckpointToWitness(fake.url(), 2, {}, note, kTimeout),
        IsError(absl::StatusCode::kInvalidArgument, "witness"))
        << name;
  }
  FakeWitness two(Response(200, line + line));
  absl::StatusOr<server::WitnessReply> reply =
      server::AddCheckpointToWitness(two.url(), 2, {}, note, kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->signatures, SizeIs(2));
}

TEST(WitnessClientTest, StatusesMapToErrorCodes) {
  TestLog log;
  const std::string note = log.Note(5);
  const std::vector<std::pair<int, absl::StatusCode>> cases = {
      {400, absl::StatusCode::kInvalidArgument},
      {403, absl::StatusCode::kPermissionDenied},
      {404, absl::StatusCode::kNotFound},
      {422, absl::StatusCode::kFailedPrecondition},
      {429, absl::StatusCode::kUnavailable},
      {500, absl::StatusCode::kUnavailable},
      {503, absl::StatusCode::kUnavailable},
      {418, absl::StatusCode::kUnknown},
      {302, absl::StatusCode::kUnknown},
  };
  for (const auto& [status, code] : cases) {
    FakeWitness fake(Response(status, "why\n"));
    absl::StatusOr<server::WitnessReply> reply =
        server::AddCheckpointToWitness(fake.url(), 2, {}, note, kTimeout);
    EXPECT_THAT(reply, IsError(code, fake.url())) << status;
    EXPECT_THAT(reply, IsError(code, absl::StrFormat("%d", status))) << status;
  }
}

TEST(WitnessClientTest, SilentWitnessTimesOut) {
  TestLog log;
  FakeWitness silent("");
  EXPECT_THAT(server::AddCheckpointToWitness(silent.url(), 0, {}, log.Note(1),
                                             absl::Milliseconds(300)),
              IsError(absl::StatusCode::kUnavailable, silent.url()));
}

TEST(WitnessClientTest, UnreachableWitnessIsUnavailable) {
  TestLog log;
  // A port that was bound a moment ago and has no listener now.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  close(fd);
  EXPECT_THAT(server::AddCheckpointToWitness(
                  absl::StrFormat("http://127.0.0.1:%d", port), 0, {},
                  log.Note(1), kTimeout),
              IsError(absl::StatusCode::kUnavailable, "add-checkpoint"));
}

TEST(WitnessClientTest, RefusesBadArguments) {
  TestLog log;
  const std::string note = log.Note(1);
  for (const char* url :
       {"", "127.0.0.1:80", "ftp://h/", "http://", "http://:80",
        "http://h:80/p?q", "http://h:80/p#f", "http://u@h:80", "http://h 1"}) {
    EXPECT_THAT(server::AddCheckpointToWitness(url, 0, {}, note, kTimeout),
                IsError(absl::StatusCode::kInvalidArgument, "witness URL"))
        << url;
  }
  const std::vector<merkle::Hash> too_long(64);
  EXPECT_THAT(server::AddCheckpointToWitness("http://127.0.0.1:1", 0, too_long,
                                             note, kTimeout),
              IsError(absl::StatusCode::kInvalidArgument, "64 hashes"));
  EXPECT_THAT(server::AddCheckpointToWitness("http://127.0.0.1:1", 0, {}, note,
                                             absl::ZeroDuration()),
              IsError(absl::StatusCode::kInvalidArgument, "timeout"));
}

}  // namespace
}  // namespace vigil::client
