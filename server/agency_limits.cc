#include "server/agency_limits.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace vigil::server {

AgencyLimits::AgencyLimits(AgencyLimitOptions options)
    : options_(options),
      burst_(static_cast<double>(std::max<uint64_t>(
          1, options.burst > 0 ? options.burst : options.records_per_second))) {
}

absl::Status AgencyLimits::Admit(const std::string& ori, absl::Time now) {
  if (!enabled()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  auto [it, added] = allowances_.try_emplace(ori);
  Allowance& a = it->second;
  if (added) {
    a.tokens = burst_;
    a.refilled = now;
  }
  if (options_.daily_quota > 0) {
    const int64_t day = absl::ToUnixSeconds(now) / 86400;
    if (day != a.day) {
      a.day = day;
      a.today = 0;
    }
    if (a.today >= options_.daily_quota) {
      const absl::Time tomorrow = absl::FromUnixSeconds((day + 1) * 86400);
      return absl::ResourceExhaustedError(absl::StrFormat(
          "agency %s has used its quota of %d records today (UTC); retry in "
          "%d s",
          ori, options_.daily_quota,
          absl::ToInt64Seconds(absl::Ceil(tomorrow - now, absl::Seconds(1)))));
    }
  }
  if (options_.records_per_second > 0) {
    const double rate = static_cast<double>(options_.records_per_second);
    if (now > a.refilled) {
      a.tokens = std::min(
          burst_, a.tokens + absl::ToDoubleSeconds(now - a.refilled) * rate);
      a.refilled = now;
    }
    if (a.tokens < 1) {
      const double wait_ms = std::ceil((1 - a.tokens) / rate * 1000);
      return absl::ResourceExhaustedError(absl::StrFormat(
          "agency %s is over its rate of %d records/s; retry in %.0f ms", ori,
          options_.records_per_second, wait_ms));
    }
    a.tokens -= 1;
  }
  ++a.today;
  return absl::OkStatus();
}

}  // namespace vigil::server
