#include "tests/testing/testdata.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vigil::testing {

std::string TestdataPath(const std::string& relative) {
  return absl::StrCat(VIGIL_TESTDATA_DIR, "/", relative);
}

absl::StatusOr<std::string> ReadTestdata(const std::string& relative) {
  const std::string path = TestdataPath(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return content.str();
}

}  // namespace vigil::testing
