#include "server/agency_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;

const absl::Time kNoon =
    absl::FromUnixSeconds(1'780'000'000 / 86400 * 86400 + 12 * 3600);

// How many of `n` records in a row `limits` admits for `ori` at `at`.
int Admitted(AgencyLimits& limits, const std::string& ori, int n,
             absl::Time at) {
  int admitted = 0;
  for (int i = 0; i < n; ++i) admitted += limits.Admit(ori, at).ok();
  return admitted;
}

TEST(AgencyLimitsTest, NoLimitsAdmitEverything) {
  AgencyLimits limits({});
  EXPECT_FALSE(limits.enabled());
  EXPECT_EQ(Admitted(limits, "CA0340000", 100000, kNoon), 100000);
}

TEST(AgencyLimitsTest, ABurstThenTheSustainedRate) {
  AgencyLimits limits({.records_per_second = 10, .burst = 50});
  EXPECT_EQ(Admitted(limits, "CA0340000", 80, kNoon), 50);
  EXPECT_THAT(limits.Admit("CA0340000", kNoon),
              IsError(absl::StatusCode::kResourceExhausted,
                      "agency CA0340000 is over its rate of 10 records/s; "
                      "retry in 100 ms"));
  // Refilled at 10/s, never beyond the burst.
  EXPECT_EQ(Admitted(limits, "CA0340000", 80, kNoon + absl::Seconds(2)), 20);
  EXPECT_EQ(Admitted(limits, "CA0340000", 80, kNoon + absl::Hours(1)), 50);
}

TEST(AgencyLimitsTest, AgenciesHaveTheirOwnAllowance) {
  AgencyLimits limits({.records_per_second = 5});
  EXPECT_EQ(Admitted(limits, "CA0340000", 20, kNoon), 5);  // Burst: 1 s.
  EXPECT_EQ(Admitted(limits, "CA0190000", 20, kNoon), 5);
}

TEST(AgencyLimitsTest, TheDailyQuotaEndsAtMidnightUtc) {
  AgencyLimits limits({.daily_quota = 3});
  EXPECT_EQ(Admitted(limits, "CA0340000", 5, kNoon), 3);
  EXPECT_THAT(limits.Admit("CA0340000", kNoon),
              IsError(absl::StatusCode::kResourceExhausted,
                      "used its quota of 3 records today (UTC); retry in "
                      "43200 s"));
  EXPECT_EQ(Admitted(limits, "CA0340000", 5, kNoon + absl::Hours(11)), 0);
  EXPECT_EQ(Admitted(limits, "CA0340000", 5, kNoon + absl::Hours(12)), 3);
}

}  // namespace
}  // namespace vigil::server
