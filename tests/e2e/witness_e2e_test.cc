// End-to-end tests of the real `vigil witness` process: keys made with
// `vigil keygen`, the witness started on 127.0.0.1 port 0 with a temporary
// state directory, driven with the log-side client (server/
// witness_client.h), killed with SIGKILL and restarted, and stopped with
// SIGTERM and SIGINT. Every child is killed and reaped at the end of its
// test (RAII), and dies with the test process (PR_SET_PDEATHSIG).

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/witness.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "server/files.h"
#include "server/witness_client.h"
#include "tests/testing/memory_tree.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/witness_process.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::vigil::testing::IsError;
using ::vigil::testing::RunCommand;
using ::vigil::testing::TempDir;
using ::vigil::testing::WitnessProcess;

constexpr std::string_view kOrigin = "vigil.example/witnessed";
const absl::Duration kTimeout = absl::Seconds(10);

// GET `target` from 127.0.0.1:`port` over a raw socket: (status, body).
std::pair<int, std::string> HttpGet(uint16_t port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = absl::StrFormat(
        "GET %s HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n", target);
    send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buffer[4096];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) {
      response.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  const size_t end = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.1 ") || end == std::string::npos) {
    return {-1, response};
  }
  return {merkle::ParseDecimal(response.substr(9, 3)).value_or(-1),
          response.substr(end + 4)};
}

class WitnessE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [kind, name, prefix] :
         {std::tuple<std::string, std::string, std::string>{
              "witness", "witness.example/w1", "w"},
          {"log", std::string(kOrigin), "log"}}) {
      absl::StatusOr<testing::CommandResult> keygen =
          RunCommand({VIGIL_CLI_BINARY, "keygen", "--kind", kind, "--name",
                      name, "--out", dir_.Sub(prefix)});
      ASSERT_TRUE(keygen.ok()) << keygen.status();
      ASSERT_EQ(keygen->exit_code, 0) << keygen->output;
    }
    absl::StatusOr<std::string> skey =
        server::ReadKeyFile(dir_.Sub("log.skey"), /*secret=*/true);
    ASSERT_TRUE(skey.ok()) << skey.status();
    absl::StatusOr<merkle::Ed25519Signer> signer =
        merkle::Ed25519Signer::FromSignerKey(*skey);
    ASSERT_TRUE(signer.ok()) << signer.status();
    log_signer_ = std::make_unique<merkle::Ed25519Signer>(*std::move(signer));
    absl::StatusOr<std::string> wkey =
        server::ReadKeyFile(dir_.Sub("w.vkey"), /*secret=*/false);
    ASSERT_TRUE(wkey.ok()) << wkey.status();
    absl::StatusOr<merkle::CosignatureVerifier> verifier =
        merkle::CosignatureVerifier::FromVerifierKey(*wkey);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    witness_verifier_ =
        std::make_unique<merkle::CosignatureVerifier>(*std::move(verifier));
  }

  std::vector<std::string> Args() const {
    return {
        "--key",       dir_.Sub("w.skey"), "--log-key", dir_.Sub("log.vkey"),
        "--state-dir", dir_.Sub("state"),  "--listen",  "127.0.0.1:0"};
  }

  void GrowTo(testing::MemoryTree& tree, uint64_t size,
              std::string_view fork = "main") {
    while (tree.size() < size) {
      tree.Append(merkle::HashLeaf(
          merkle::AsBytes(absl::StrFormat("%s entry %d", fork, tree.size()))));
    }
  }

  std::string Note(testing::MemoryTree& tree, uint64_t size) {
    GrowTo(tree, size);
    const merkle::Hash root =
        size == 0 ? merkle::EmptyRoot() : tree.RootAt(size);
    const std::string text =
        *merkle::MarshalCheckpoint({std::string(kOrigin), size, root, {}});
    const merkle::NoteSigner* signers[] = {log_signer_.get()};
    return *merkle::SignNote(text, signers);
  }

  absl::StatusOr<server::WitnessReply> Add(const WitnessProcess& witness,
                                           testing::MemoryTree& tree,
                                           uint64_t old_size,
                                           uint64_t new_size) {
    GrowTo(tree, new_size);
    const std::vector<merkle::Hash> proof =
        *tree.ConsistencyProof(old_size, new_size);
    return server::AddCheckpointToWitness(witness.url(), old_size, proof,
                                          Note(tree, new_size), kTimeout);
  }

  // Cosigns old_size -> new_size and checks the cosignature.
  void ExpectCosigned(const WitnessProcess& witness, testing::MemoryTree& tree,
                      uint64_t old_size, uint64_t new_size) {
    absl::StatusOr<server::WitnessReply> reply =
        Add(witness, tree, old_size, new_size);
    ASSERT_TRUE(reply.ok()) << reply.status() << "\n" << witness.output();
    ASSERT_THAT(reply->signatures, SizeIs(1));
    const std::string cosigned =
        *merkle::AddSignatureLines(Note(tree, new_size), reply->signatures);
    const merkle::CosignatureVerifier* witnesses[] = {witness_verifier_.get()};
    absl::StatusOr<merkle::CosignatureQuorum> quorum =
        merkle::VerifyCosignatureQuorum(cosigned, witnesses, 1);
    ASSERT_TRUE(quorum.ok()) << quorum.status();
    // A real clock: a timestamp of this decade, never zero.
    EXPECT_GT(quorum->cosigned[0].timestamp, 1'700'000'000u);
  }

  void ExpectConflict(const WitnessProcess& witness, testing::MemoryTree& tree,
                      uint64_t old_size, uint64_t new_size, uint64_t latest) {
    absl::StatusOr<server::WitnessReply> reply =
        Add(witness, tree, old_size, new_size);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->conflict_size, std::optional<uint64_t>(latest));
  }

  uint16_t PortOf(const WitnessProcess& witness) {
    const std::string& a = witness.address();
    return static_cast<uint16_t>(
        merkle::ParseDecimal(a.substr(a.rfind(':') + 1)).value_or(0));
  }

  TempDir dir_;
  std::unique_ptr<merkle::Ed25519Signer> log_signer_;
  std::unique_ptr<merkle::CosignatureVerifier> witness_verifier_;
};

TEST_F(WitnessE2eTest, CosignsASequenceAndKeepsItsStateAcrossSigkill) {
  testing::MemoryTree tree;
  testing::MemoryTree fork;
  GrowTo(fork, 40, "fork");
  {
    WitnessProcess witness;
    ASSERT_TRUE(witness.Start(VIGIL_CLI_BINARY, Args()).ok())
        << witness.output();
    EXPECT_TRUE(witness.address().starts_with("127.0.0.1:"));
    ExpectCosigned(witness, tree, 0, 1);
    ExpectCosigned(witness, tree, 1, 5);
    ExpectCosigned(witness, tree, 5, 17);
    ExpectCosigned(witness, tree, 17, 17);
    ExpectConflict(witness, tree, 5, 20, 17);
    EXPECT_TRUE(std::filesystem::exists(dir_.Sub("state") + "/" +
                                        client::OriginHash(kOrigin)));
    EXPECT_EQ(witness.Stop(SIGKILL), SIGKILL);  // Killed, no clean shutdown.
  }
  WitnessProcess witness;
  ASSERT_TRUE(witness.Start(VIGIL_CLI_BINARY, Args()).ok()) << witness.output();
  // The restarted witness remembers size 17...
  ExpectConflict(witness, tree, 0, 20, 17);
  // ...and its root: the fork at 17 is refused, and so is a fork past it.
  absl::StatusOr<server::WitnessReply> forked = server::AddCheckpointToWitness(
      witness.url(), 17, {},
      [&] {
        const std::string text = *merkle::MarshalCheckpoint(
            {std::string(kOrigin), 17, fork.RootAt(17), {}});
        const merkle::NoteSigner* signers[] = {log_signer_.get()};
        return *merkle::SignNote(text, signers);
      }(),
      kTimeout);
  EXPECT_THAT(forked, IsError(absl::StatusCode::kFailedPrecondition, "422"));
  ExpectCosigned(witness, tree, 17, 30);
  // Monitors read the latest cosigned checkpoint.
  const auto [status, body] =
      HttpGet(PortOf(witness),
              absl::StrFormat("/%s/checkpoint", client::OriginHash(kOrigin)));
  ASSERT_EQ(status, 200) << body;
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(body, log_signer_->verifier(), kOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->checkpoint.size, 30u);
  const merkle::CosignatureVerifier* witnesses[] = {witness_verifier_.get()};
  EXPECT_TRUE(merkle::VerifyCosignatureQuorum(body, witnesses, 1).ok());
  const int exit = witness.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(exit) && WEXITSTATUS(exit) == 0) << witness.output();
}

TEST_F(WitnessE2eTest, SigtermAndSigintExitCleanly) {
  for (int signal : {SIGTERM, SIGINT}) {
    WitnessProcess witness;
    ASSERT_TRUE(witness.Start(VIGIL_CLI_BINARY, Args()).ok())
        << witness.output();
    testing::MemoryTree tree;
    absl::StatusOr<server::WitnessReply> reply = Add(witness, tree, 0, 3);
    ASSERT_TRUE(reply.ok()) << reply.status();
    const int status = witness.Stop(signal);
    EXPECT_TRUE(WIFEXITED(status)) << "signal " << signal << " killed it";
    EXPECT_EQ(WEXITSTATUS(status), 0) << witness.output();
    EXPECT_THAT(witness.output(), HasSubstr("vigil witness: stopped"));
  }
}

TEST_F(WitnessE2eTest, RefusesToStartFromAStateFileThatDoesNotVerify) {
  const std::string state_file =
      dir_.Sub("state") + "/" + client::OriginHash(kOrigin);
  {
    WitnessProcess witness;
    ASSERT_TRUE(witness.Start(VIGIL_CLI_BINARY, Args()).ok())
        << witness.output();
    testing::MemoryTree tree;
    ASSERT_TRUE(Add(witness, tree, 0, 3).ok());
  }
  absl::StatusOr<std::string> good = server::ReadFile(state_file);
  ASSERT_TRUE(good.ok()) << good.status();
  std::string bad = *good;
  bad[bad.find('\n') + 1] = '9';  // The size line: the log's signature breaks.
  ASSERT_TRUE(server::WriteFileAtomically(state_file, bad).ok());
  std::vector<std::string> argv = {VIGIL_CLI_BINARY, "witness"};
  for (const std::string& a : Args()) argv.push_back(a);
  absl::StatusOr<testing::CommandResult> run = RunCommand(argv);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 2) << run->output;
  EXPECT_THAT(run->output, HasSubstr("does not verify"));
  EXPECT_THAT(run->output, ::testing::Not(HasSubstr("listening")));
}

TEST_F(WitnessE2eTest, RefusesBadFlags) {
  const std::vector<std::vector<std::string>> cases = {
      // The log key given as the witness key: wrong type.
      {"--key", dir_.Sub("log.skey"), "--log-key", dir_.Sub("log.vkey"),
       "--state-dir", dir_.Sub("s")},
      // A witness key given as a log key.
      {"--key", dir_.Sub("w.skey"), "--log-key", dir_.Sub("w.vkey"),
       "--state-dir", dir_.Sub("s")},
      // Two origins for one key.
      {"--key", dir_.Sub("w.skey"), "--log-key", dir_.Sub("log.vkey"),
       "--origin", "a", "--origin", "b", "--state-dir", dir_.Sub("s")},
      // A malformed listen address.
      {"--key", dir_.Sub("w.skey"), "--log-key", dir_.Sub("log.vkey"),
       "--state-dir", dir_.Sub("s"), "--listen", "nowhere"},
      // No state directory.
      {"--key", dir_.Sub("w.skey"), "--log-key", dir_.Sub("log.vkey")},
  };
  for (const std::vector<std::string>& args : cases) {
    std::vector<std::string> argv = {VIGIL_CLI_BINARY, "witness"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<testing::CommandResult> run = RunCommand(argv);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 2) << run->output;
    EXPECT_THAT(run->output, ::testing::Not(HasSubstr("listening")));
  }
}

}  // namespace
}  // namespace vigil
