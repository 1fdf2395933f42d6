// An agency's record descriptions (client/record_input.h): one JSON object,
// or a CSV export read with libcsv, as `vigil record` and `vigil submit`
// read them.
//
// Properties: a JSON description that parses leaves the four commitments
// empty (BuildRecord fills them) and names a record_id; the CSV reader ends:
// it returns at most one row per line of input plus one, and the line
// number of successive rows only grows.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/record_input.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  absl::StatusOr<client::RecordInput> json = client::RecordInputFromJson(input);
  if (json.ok()) {
    VIGIL_FUZZ_CHECK(!json->record.record_id().empty());
    VIGIL_FUZZ_CHECK(json->record.operator_commit().empty() &&
                     json->record.subject_commit().empty() &&
                     json->record.legal_doc_commit().empty() &&
                     json->record.case_ref_commit().empty());
  }

  std::istringstream in{std::string(input)};
  absl::StatusOr<std::unique_ptr<client::CsvRecordReader>> reader =
      client::CsvRecordReader::Create(in);
  if (!reader.ok()) return;
  size_t lines = 1;
  for (char c : input) lines += c == '\n' || c == '\r' ? 1 : 0;
  uint64_t last_line = 0;
  for (size_t rows = 0;; ++rows) {
    VIGIL_FUZZ_CHECK(rows <= lines);
    absl::StatusOr<std::optional<client::RecordInput>> row = (*reader)->Next();
    if (row.ok() && !row->has_value()) break;
    VIGIL_FUZZ_CHECK((*reader)->line() > last_line);
    last_line = (*reader)->line();
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
