// A `vigil witness` child process for end-to-end tests: started on
// 127.0.0.1 port 0, its listening address read from its output through a
// pipe (no polling of a file), stopped with any signal. It is killed and
// reaped when the object goes, and dies with the test process
// (PR_SET_PDEATHSIG).
//
//   WitnessProcess witness;
//   ASSERT_TRUE(witness.Start(VIGIL_CLI_BINARY, {"--key", ...}).ok())
//       << witness.output();
//   ... witness.url() ...
//
// Thread-safety: one test thread.

#ifndef VIGIL_TESTS_TESTING_WITNESS_PROCESS_H_
#define VIGIL_TESTS_TESTING_WITNESS_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace vigil::testing {

class WitnessProcess {
 public:
  WitnessProcess() = default;
  ~WitnessProcess();
  WitnessProcess(const WitnessProcess&) = delete;
  WitnessProcess& operator=(const WitnessProcess&) = delete;

  // Starts `vigil_binary witness` with `args` and waits up to `timeout` for
  // its listening line. UNAVAILABLE with the output if it exits first or
  // the line does not come (the child is then killed).
  absl::Status Start(const std::string& vigil_binary,
                     const std::vector<std::string>& args,
                     absl::Duration timeout = absl::Seconds(20));

  // Sends `signal`, waits up to `timeout` for the exit (then SIGKILL), and
  // returns the wait status; -1 if not running.
  int Stop(int signal, absl::Duration timeout = absl::Seconds(15));

  // "127.0.0.1:PORT" as the witness printed it.
  const std::string& address() const { return address_; }
  std::string url() const { return "http://" + address_; }
  const std::string& output() const { return output_; }

 private:
  // Reads what the child wrote, waiting until `deadline`; false at EOF,
  // on error or at the deadline.
  bool ReadSome(absl::Time deadline);

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
  std::string address_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_WITNESS_PROCESS_H_
