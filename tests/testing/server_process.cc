#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace vigil::testing {
namespace {

// Starts argv with stdout and stderr going to `log_path` (appended). The
// child dies with the parent and, if `file_size_limit` is set, runs with
// that RLIMIT_FSIZE. Returns its pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path,
            std::optional<uint64_t> file_size_limit = std::nullopt) {
  // Everything the child needs is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed (gRPC runs threads here).
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return -1;
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    return -1;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // The parent died already.
    // Unblock every signal: the test process may block some.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (file_size_limit.has_value()) {
      // The soft limit only: the parent may raise it again (prlimit).
      rlimit limit{};
      if (getrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(127);
      limit.rlim_cur = std::min<rlim_t>(*file_size_limit, limit.rlim_max);
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(127);
    }
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  return pid;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text, size_t n = 2000) {
  return text.size() <= n
             ? text
             : absl::StrFormat("...%s", text.substr(text.size() - n));
}

// The address after `marker` up to the end of its line, or empty.
std::string FindAddress(const std::string& log, std::string_view marker) {
  const size_t at = log.rfind(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  const size_t end = log.find('\n', begin);
  if (end == std::string::npos) return "";  // Line not complete yet.
  return log.substr(begin, end - begin);
}

// Waits up to `timeout` for `pid` to exit; returns its wait status, or -1
// if it did not exit.
int WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (absl::Now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "vigil-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::abort();  // No temp dir: nothing a test can do.
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Sub(const std::string& name) const {
  return (path_ / name).string();
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  TempDir dir;
  const std::string log = dir.Sub("output");
  const pid_t pid = Spawn(argv, log);
  if (pid < 0) {
    return absl::UnavailableError(
        absl::StrFormat("cannot start %s: %s", argv.at(0), strerror(errno)));
  }
  int status = WaitFor(pid, timeout);
  if (status == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return absl::UnavailableError(
        absl::StrFormat("%s timed out: %s", argv.at(0), ReadAll(log)));
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = ReadAll(log);
  return result;
}

ServerProcess::ServerProcess(std::string log_path)
    : log_path_(std::move(log_path)) {}

ServerProcess::~ServerProcess() { Kill(); }

absl::Status ServerProcess::Start(const std::string& binary,
                                  const std::vector<std::string>& args,
                                  bool expect_http, absl::Duration timeout) {
  if (running()) return absl::FailedPreconditionError("already running");
  // Lines of earlier runs are in the log too: only look past its end.
  const size_t offset = ReadAll(log_path_).size();
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = Spawn(argv, log_path_, file_size_limit_);
  if (pid_ < 0) {
    return absl::UnavailableError(
        absl::StrFormat("cannot start %s: %s", binary, strerror(errno)));
  }
  grpc_address_.clear();
  http_address_.clear();
  http_port_ = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const std::string log = ReadAll(log_path_).substr(offset);
    grpc_address_ = FindAddress(log, "vigil-server: grpc listening on ");
    http_address_ = FindAddress(log, "vigil-server: http listening on ");
    if (!grpc_address_.empty() && (!expect_http || !http_address_.empty())) {
      break;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrFormat("vigil-server exited at start: %s", Tail(log)));
    }
    if (absl::Now() >= deadline) {
      Kill();
      return absl::UnavailableError(absl::StrFormat(
          "vigil-server did not report its addresses: %s", Tail(log)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!http_address_.empty()) {
    const size_t colon = http_address_.rfind(':');
    http_port_ =
        static_cast<uint16_t>(std::stoi(http_address_.substr(colon + 1)));
  }
  return absl::OkStatus();
}

int ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (!running()) return -1;
  kill(pid_, signal);
  int status = WaitFor(pid_, timeout);
  if (status == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return status;
}

std::string ServerProcess::Log() const { return ReadAll(log_path_); }

}  // namespace vigil::testing
