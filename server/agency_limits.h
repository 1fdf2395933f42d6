// Per-agency rate limits and daily quotas on submitted records, so that one
// agency flooding the log (a runaway script, a compromised key) cannot
// starve the others of the log's capacity.
//
//   AgencyLimits limits({.records_per_second = 200, .burst = 1000,
//                        .daily_quota = 5'000'000});
//   if (absl::Status s = limits.Admit("CA0349400", absl::Now()); !s.ok())
//     ... RESOURCE_EXHAUSTED, its message says when to retry ...
//
// The rate is a token bucket per agency (ORI): `burst` records at once,
// refilled at `records_per_second`. The quota counts records per UTC day.
// Both are kept in memory: a restart starts every agency afresh. Records
// are counted once they passed every other check (their signature
// included), so nobody can spend another agency's allowance; a duplicate
// resubmission counts like any record.
//
// Thread-safety: Admit is safe from any thread.

#ifndef VIGIL_SERVER_AGENCY_LIMITS_H_
#define VIGIL_SERVER_AGENCY_LIMITS_H_

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vigil::server {

struct AgencyLimitOptions {
  // Sustained records per second per agency; 0 means no rate limit.
  uint64_t records_per_second = 0;
  // Records an idle agency may send at once; 0 means one second's worth.
  uint64_t burst = 0;
  // Records per agency per UTC day; 0 means no quota.
  uint64_t daily_quota = 0;
};

class AgencyLimits {
 public:
  explicit AgencyLimits(AgencyLimitOptions options);

  // Takes one record from agency `ori`'s allowance at `now`. OK, or
  // RESOURCE_EXHAUSTED naming the agency, the limit it reached and how long
  // to wait ("retry in 250 ms", or until the next UTC day for the quota).
  absl::Status Admit(const std::string& ori, absl::Time now);

  [[nodiscard]] bool enabled() const {
    return options_.records_per_second > 0 || options_.daily_quota > 0;
  }

 private:
  struct Allowance {
    double tokens = 0;
    absl::Time refilled;
    int64_t day = 0;  // Days since the epoch (UTC) that `today` counts.
    uint64_t today = 0;
  };

  const AgencyLimitOptions options_;
  const double burst_;
  absl::Mutex mu_;
  std::unordered_map<std::string, Allowance> allowances_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_AGENCY_LIMITS_H_
