// Running the real vigil-server (and other binaries) from tests: temporary
// directories and child processes that are always cleaned up, even when a
// test fails half-way.
//
//   TempDir dir;
//   ASSERT_TRUE(RunCommand({VIGIL_SERVER_BINARY, "keygen", "--dir",
//   ...}).ok()); ServerProcess server;
//   ASSERT_TRUE(server.Start(VIGIL_SERVER_BINARY, {"serve", ...}).ok());
//   ... server.grpc_address() ...
//   server.Kill();   // SIGKILL; the destructor does it too.
//
// Thread-safety: not thread-safe; one test thread owns each object.

#ifndef VIGIL_TESTS_TESTING_SERVER_PROCESS_H_
#define VIGIL_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigil::testing {

// A fresh directory under the system temp dir, removed with its content
// when the object is destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string Sub(const std::string& name) const;

 private:
  std::filesystem::path path_;
};

// What a finished command did.
struct CommandResult {
  int exit_code = -1;  // -1 if it was killed by a signal.
  std::string output;  // stdout and stderr, interleaved.
};

// Runs `argv` (argv[0] is the binary's path) to completion, killing it
// after `timeout`. UNAVAILABLE if it cannot be started or timed out.
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Seconds(30));

// A vigil-server child process. Its stderr goes to a log file, read to find
// the "vigil-server: grpc listening on ..." and "... http listening on ..."
// lines. The child is killed (SIGKILL) and reaped by the destructor if it
// still runs, and dies with the test process (PR_SET_PDEATHSIG).
class ServerProcess {
 public:
  // `log_path` receives the child's stdout and stderr (appended, so that
  // the log of several runs accumulates).
  explicit ServerProcess(std::string log_path);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `binary` with `args` and waits up to `timeout` for its grpc (and,
  // if `expect_http`, http) listening lines. FAILED_PRECONDITION if already
  // running; UNAVAILABLE if the child exits or the lines do not appear (the
  // child is then killed); the message holds the log's tail.
  absl::Status Start(const std::string& binary,
                     const std::vector<std::string>& args, bool expect_http,
                     absl::Duration timeout = absl::Seconds(20));

  // Sends `signal` and waits up to `timeout` for the child to exit, then
  // SIGKILLs it. Returns the exit status as waitpid reports it (or -1 if
  // not running).
  int Stop(int signal, absl::Duration timeout = absl::Seconds(15));
  // SIGKILL and reap.
  void Kill() { Stop(9, absl::Seconds(10)); }

  // Children started from now on run with a soft RLIMIT_FSIZE of `bytes`
  // (no file can grow past it: writes beyond fail with EFBIG, and the kernel
  // sends SIGXFSZ, which the child must ignore to survive; the hard limit is
  // inherited, so prlimit() can raise the soft one again); nullopt, the
  // default, leaves the limit as inherited. A way to fill a "disk" without
  // mounting anything.
  void set_file_size_limit(std::optional<uint64_t> bytes) {
    file_size_limit_ = bytes;
  }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // "127.0.0.1:PORT" as the server printed them.
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& http_address() const { return http_address_; }
  uint16_t http_port() const { return http_port_; }
  // The whole log file so far.
  std::string Log() const;

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  std::string grpc_address_;
  std::string http_address_;
  uint16_t http_port_ = 0;
  std::optional<uint64_t> file_size_limit_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_SERVER_PROCESS_H_
