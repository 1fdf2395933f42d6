#include "bench/load.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace vigil::bench {
namespace {

// What the calls of one run share; kept alive by every call in flight.
struct Run {
  const StartCall* start = nullptr;
  uint64_t calls = 0;
  absl::Time deadline;
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> in_flight{0};
  absl::Notification finished;

  absl::Mutex mu;
  uint64_t ok ABSL_GUARDED_BY(mu) = 0;
  uint64_t failed ABSL_GUARDED_BY(mu) = 0;
  std::vector<double> latency_ms ABSL_GUARDED_BY(mu);
  absl::Time last_completion ABSL_GUARDED_BY(mu);

  // Records a completion; true if it was the last call in flight.
  bool Complete(absl::Time started, bool success) {
    const absl::Time now = absl::Now();
    {
      absl::MutexLock lock(&mu);
      ++(success ? ok : failed);
      latency_ms.push_back(absl::ToDoubleMilliseconds(now - started));
      last_completion = now;
    }
    return in_flight.fetch_sub(1) == 1;
  }
};

// Starts call `n` of `run`; with `chain`, its completion starts the next.
void Issue(const std::shared_ptr<Run>& run, uint64_t n, bool chain) {
  run->in_flight.fetch_add(1);
  const absl::Time started = absl::Now();
  (*run->start)(n, [run, started, chain](bool success) {
    if (chain) {
      const uint64_t next = run->next.fetch_add(1);
      if (next < run->calls && absl::Now() < run->deadline) {
        Issue(run, next, true);
      }
    }
    if (run->Complete(started, success)) run->finished.Notify();
  });
}

LoadResult Collect(Run& run, absl::Time began) {
  run.finished.WaitForNotification();
  absl::MutexLock lock(&run.mu);
  LoadResult result;
  result.ok = run.ok;
  result.failed = run.failed;
  result.elapsed = result.ok + result.failed == 0 ? absl::Now() - began
                                                  : run.last_completion - began;
  result.latency_ms = std::move(run.latency_ms);
  return result;
}

}  // namespace

double LoadResult::Quantile(double q) const {
  if (latency_ms.empty()) return 0;
  std::vector<double> sorted = latency_ms;
  const size_t k = std::min(sorted.size() - 1,
                            static_cast<size_t>(q * (sorted.size() - 1) + 0.5));
  std::nth_element(sorted.begin(), sorted.begin() + k, sorted.end());
  return sorted[k];
}

LoadResult RunClosedLoop(size_t concurrency, uint64_t calls,
                         absl::Duration max_time, const StartCall& start) {
  auto run = std::make_shared<Run>();
  run->start = &start;
  run->calls = calls;
  const absl::Time began = absl::Now();
  run->deadline = began + max_time;
  // One extra count keeps `finished` from firing before every loop began.
  run->in_flight.fetch_add(1);
  for (size_t i = 0; i < concurrency; ++i) {
    const uint64_t n = run->next.fetch_add(1);
    if (n >= calls) break;
    Issue(run, n, true);
  }
  if (run->in_flight.fetch_sub(1) == 1) run->finished.Notify();
  return Collect(*run, began);
}

LoadResult RunOpenLoop(double rate, uint64_t calls, const StartCall& start) {
  auto run = std::make_shared<Run>();
  run->start = &start;
  run->calls = calls;
  const absl::Time began = absl::Now();
  run->in_flight.fetch_add(1);
  for (uint64_t n = 0; n < calls; ++n) {
    const absl::Time at = began + absl::Seconds(static_cast<double>(n) / rate);
    const absl::Duration wait = at - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    Issue(run, n, false);
  }
  if (run->in_flight.fetch_sub(1) == 1) run->finished.Notify();
  return Collect(*run, began);
}

}  // namespace vigil::bench
