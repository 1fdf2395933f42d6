#include "tests/testing/witness_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string_view>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace vigil::testing {
namespace {

constexpr std::string_view kListening = "vigil witness: listening on ";

}  // namespace

WitnessProcess::~WitnessProcess() {
  if (pid_ > 0) Stop(SIGKILL);
  if (fd_ >= 0) close(fd_);
}

absl::Status WitnessProcess::Start(const std::string& vigil_binary,
                                   const std::vector<std::string>& args,
                                   absl::Duration timeout) {
  std::vector<std::string> argv = {vigil_binary, "witness"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::UnavailableError("pipe");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::UnavailableError("fork");
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(fds[1]);
  if (fd_ >= 0) close(fd_);
  fd_ = fds[0];
  pid_ = pid;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const size_t at = output_.find(kListening);
    const size_t end = at == std::string::npos ? at : output_.find('\n', at);
    if (end != std::string::npos) {
      address_ =
          output_.substr(at + kListening.size(), end - at - kListening.size());
      return absl::OkStatus();
    }
    if (!ReadSome(deadline)) {
      const std::string output = output_;
      Stop(SIGKILL);
      return absl::UnavailableError(
          absl::StrFormat("no listening line; output:\n%s", output));
    }
  }
}

int WitnessProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) !=
        1) {
      kill(pid_, SIGKILL);
    }
    close(pidfd);
  }
  int status = -1;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  // Collect what it said before exiting.
  while (fd_ >= 0 && ReadSome(absl::Now() + absl::Seconds(1))) {
  }
  return status;
}

bool WitnessProcess::ReadSome(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  if (ms <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(ms)) != 1) return false;
  char buffer[4096];
  const ssize_t n = read(fd_, buffer, sizeof buffer);
  if (n <= 0) return false;
  output_.append(buffer, static_cast<size_t>(n));
  return true;
}

}  // namespace vigil::testing
