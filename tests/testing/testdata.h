// Access to ../shared/testdata from tests.

#ifndef VIGIL_TESTS_TESTING_TESTDATA_H_
#define VIGIL_TESTS_TESTING_TESTDATA_H_

#include <string>

#include "absl/status/statusor.h"

namespace vigil::testing {

// Path of `relative` inside the shared test data directory.
std::string TestdataPath(const std::string& relative);

// The whole content of `relative` inside the shared test data directory.
absl::StatusOr<std::string> ReadTestdata(const std::string& relative);

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_TESTDATA_H_
