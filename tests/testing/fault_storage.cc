#include "tests/testing/fault_storage.h"

#include <cassert>

namespace vigil::testing {

void FaultInjectingStorage::FailCommit(int n, absl::Status status,
                                       FailureMode mode) {
  assert(n >= 1 && !status.ok());
  absl::MutexLock lock(&mu_);
  commits_before_failure_ = n - 1;
  fail_all_commits_ = false;
  commit_status_ = std::move(status);
  commit_mode_ = mode;
}

void FaultInjectingStorage::FailCommitsFromNow(absl::Status status,
                                               FailureMode mode) {
  assert(!status.ok());
  absl::MutexLock lock(&mu_);
  commits_before_failure_.reset();
  fail_all_commits_ = true;
  commit_status_ = std::move(status);
  commit_mode_ = mode;
}

void FaultInjectingStorage::FailReads(absl::Status status) {
  absl::MutexLock lock(&mu_);
  read_status_ = std::move(status);
}

void FaultInjectingStorage::OverrideState(
    std::optional<server::LogState> state) {
  absl::MutexLock lock(&mu_);
  state_override_ = std::move(state);
}

void FaultInjectingStorage::StopFailing() {
  absl::MutexLock lock(&mu_);
  commits_before_failure_.reset();
  fail_all_commits_ = false;
  commit_status_ = absl::OkStatus();
  read_status_ = absl::OkStatus();
  state_override_.reset();
}

void FaultInjectingStorage::SetCommitHook(
    std::function<void(const server::WriteSet&)> hook) {
  absl::MutexLock lock(&mu_);
  hook_ = std::move(hook);
}

int64_t FaultInjectingStorage::commit_calls() const {
  absl::MutexLock lock(&mu_);
  return commit_calls_;
}

int64_t FaultInjectingStorage::successful_commits() const {
  absl::MutexLock lock(&mu_);
  return successful_commits_;
}

int64_t FaultInjectingStorage::injected_commit_failures() const {
  absl::MutexLock lock(&mu_);
  return injected_commit_failures_;
}

absl::Status FaultInjectingStorage::ReadFault() const {
  absl::MutexLock lock(&mu_);
  return read_status_;
}

absl::StatusOr<server::LogState> FaultInjectingStorage::ReadState() {
  {
    absl::MutexLock lock(&mu_);
    if (!read_status_.ok()) return read_status_;
    if (state_override_.has_value()) return *state_override_;
  }
  return base_.ReadState();
}

absl::StatusOr<std::vector<std::string>> FaultInjectingStorage::ReadEntries(
    uint64_t begin, uint64_t end) {
  if (absl::Status s = ReadFault(); !s.ok()) return s;
  return base_.ReadEntries(begin, end);
}

absl::StatusOr<std::string> FaultInjectingStorage::ReadTile(uint8_t level,
                                                            uint64_t index) {
  if (absl::Status s = ReadFault(); !s.ok()) return s;
  return base_.ReadTile(level, index);
}

absl::StatusOr<std::optional<uint64_t>> FaultInjectingStorage::FindLeaf(
    const merkle::Hash& leaf_hash) {
  if (absl::Status s = ReadFault(); !s.ok()) return s;
  return base_.FindLeaf(leaf_hash);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
FaultInjectingStorage::ReadRegistry() {
  if (absl::Status s = ReadFault(); !s.ok()) return s;
  return base_.ReadRegistry();
}

absl::Status FaultInjectingStorage::Commit(const server::WriteSet& writes) {
  std::function<void(const server::WriteSet&)> hook;
  {
    absl::MutexLock lock(&mu_);
    ++commit_calls_;
    hook = hook_;
  }
  if (hook) hook(writes);

  absl::Status injected;
  FailureMode mode = FailureMode::kBeforeWrite;
  {
    absl::MutexLock lock(&mu_);
    if (fail_all_commits_) {
      injected = commit_status_;
    } else if (commits_before_failure_.has_value()) {
      if (*commits_before_failure_ == 0) {
        injected = commit_status_;
        commits_before_failure_.reset();
      } else {
        --*commits_before_failure_;
      }
    }
    mode = commit_mode_;
    if (!injected.ok()) ++injected_commit_failures_;
  }
  if (!injected.ok()) {
    // The wrapped storage's own verdict is ignored: the caller only ever
    // learns of the injected failure.
    if (mode == FailureMode::kAfterWrite) base_.Commit(writes).IgnoreError();
    return injected;
  }
  absl::Status s = base_.Commit(writes);
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    ++successful_commits_;
  }
  return s;
}

}  // namespace vigil::testing
