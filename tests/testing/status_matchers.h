// GoogleTest matchers for absl::Status and absl::StatusOr.
//
//   EXPECT_THAT(ParseCheckpoint(text),
//   IsError(absl::StatusCode::kInvalidArgument,
//                                             "origin"));

#ifndef VIGIL_TESTS_TESTING_STATUS_MATCHERS_H_
#define VIGIL_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigil::testing {

inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// Matches a Status or StatusOr that failed with `code` and a message
// containing `substring`.
MATCHER_P2(IsError, code, substring, "") {
  const absl::Status s = StatusOf(arg);
  *result_listener << "status is " << s.ToString();
  const std::string message(s.message());
  return s.code() == code && message.find(substring) != std::string::npos;
}

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_STATUS_MATCHERS_H_
