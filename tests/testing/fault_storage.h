// FaultInjectingStorage: a Storage wrapper for tests that fails chosen
// operations on request, counts Commit calls, and can run a hook before each
// Commit (to block the writer, or to observe what it writes).
//
//   server::MemoryStorage base;
//   testing::FaultInjectingStorage storage(&base);
//   storage.FailCommit(2, absl::UnavailableError("disk gone"));
//   // The next Commit passes through; the one after fails, writing nothing.

#ifndef VIGIL_TESTS_TESTING_FAULT_STORAGE_H_
#define VIGIL_TESTS_TESTING_FAULT_STORAGE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "merkle/hash.h"
#include "server/storage.h"

namespace vigil::testing {

// Thread-safety: safe for concurrent use (as safe as the wrapped storage);
// the fault settings and counters are guarded by one mutex. The hook runs
// without that mutex held, so it may block or call back into the storage.
class FaultInjectingStorage : public server::Storage {
 public:
  // When an injected Commit failure strikes.
  enum class FailureMode {
    // Nothing reaches the wrapped storage: a write that failed cleanly.
    kBeforeWrite,
    // The write is applied to the wrapped storage, then the error returned:
    // a write whose outcome the caller cannot know (e.g. fsync failed after
    // the data reached the disk).
    kAfterWrite,
  };

  // Wraps `base`, which is borrowed, must not be null and must outlive this
  // object. Injects nothing until told to.
  explicit FaultInjectingStorage(server::Storage* base) : base_(*base) {}

  FaultInjectingStorage(const FaultInjectingStorage&) = delete;
  FaultInjectingStorage& operator=(const FaultInjectingStorage&) = delete;

  // Makes the n-th next Commit (n = 1: the very next one) return `status`;
  // the n - 1 before it pass through. Replaces any earlier Commit fault.
  // Requires n >= 1 and !status.ok().
  void FailCommit(int n, absl::Status status,
                  FailureMode mode = FailureMode::kBeforeWrite);

  // Makes every Commit from now on return `status`, until StopFailing().
  // Replaces any earlier Commit fault. Requires !status.ok().
  void FailCommitsFromNow(absl::Status status,
                          FailureMode mode = FailureMode::kBeforeWrite);

  // Makes every read (ReadState, ReadEntries, ReadTile, FindLeaf,
  // ReadRegistry) return `status`; absl::OkStatus() stops failing reads.
  void FailReads(absl::Status status);

  // Makes ReadState return `state` instead of the wrapped storage's state
  // (unless a read fault is set), e.g. a state no real driver would store;
  // std::nullopt reads the wrapped storage's state again.
  void OverrideState(std::optional<server::LogState> state);

  // Stops injecting Commit and read faults and drops any state override.
  // Counters and the hook are kept.
  void StopFailing();

  // Runs `hook` at the start of every Commit, before any fault applies and
  // without the internal mutex held; an empty function removes it. The hook
  // must be safe to call from the committing thread.
  void SetCommitHook(std::function<void(const server::WriteSet&)> hook);

  // Commit calls seen so far, failed or not.
  int64_t commit_calls() const;
  // Commits that returned OK.
  int64_t successful_commits() const;
  // Commits failed by injection (not by the wrapped storage).
  int64_t injected_commit_failures() const;

  // server::Storage: forward to the wrapped storage unless a read fault is
  // set, in which case they return it (and see OverrideState).
  absl::StatusOr<server::LogState> ReadState() override;
  absl::StatusOr<std::vector<std::string>> ReadEntries(uint64_t begin,
                                                       uint64_t end) override;
  absl::StatusOr<std::string> ReadTile(uint8_t level, uint64_t index) override;
  absl::StatusOr<std::optional<uint64_t>> FindLeaf(
      const merkle::Hash& leaf_hash) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ReadRegistry() override;

  // server::Storage: counts the call, runs the hook, then fails as told or
  // forwards to the wrapped storage.
  absl::Status Commit(const server::WriteSet& writes) override;

 private:
  absl::Status ReadFault() const;

  server::Storage& base_;
  mutable absl::Mutex mu_;
  // Commits still to pass before the injected failure; 0 = fail this one;
  // nullopt = no pending one-shot failure.
  std::optional<int> commits_before_failure_ ABSL_GUARDED_BY(mu_);
  bool fail_all_commits_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status commit_status_ ABSL_GUARDED_BY(mu_);
  FailureMode commit_mode_ ABSL_GUARDED_BY(mu_) = FailureMode::kBeforeWrite;
  absl::Status read_status_ ABSL_GUARDED_BY(mu_);
  std::optional<server::LogState> state_override_ ABSL_GUARDED_BY(mu_);
  std::function<void(const server::WriteSet&)> hook_ ABSL_GUARDED_BY(mu_);
  int64_t commit_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t successful_commits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t injected_commit_failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_FAULT_STORAGE_H_
