// An agency's record files (client/record_files.h): signed-record lines and
// openings lines, JSON Lines read back by `vigil submit` and `vigil prove`.
//
// Properties: a signed-record line that parses carries the leaf hash of its
// entry, and formatting then parsing it again gives the same line; the same
// round trip for openings lines; FindOpenings over the input as a whole
// file finds a line exactly when one of its lines parses with that hash.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/record_files.h"
#include "merkle/hash.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

bool SameOpenings(const client::OpeningsLine& a,
                  const client::OpeningsLine& b) {
  if (a.record_id != b.record_id || a.leaf_hash != b.leaf_hash ||
      a.openings.size() != b.openings.size()) {
    return false;
  }
  for (size_t i = 0; i < a.openings.size(); ++i) {
    const client::FieldOpening& x = a.openings[i];
    const client::FieldOpening& y = b.openings[i];
    if (x.field != y.field || x.value != y.value || x.opening != y.opening ||
        x.commitment != y.commitment) {
      return false;
    }
  }
  return true;
}

void Run(std::string_view input) {
  absl::StatusOr<client::SignedRecordLine> signed_line =
      client::ParseSignedRecordLine(input);
  if (signed_line.ok()) {
    VIGIL_FUZZ_CHECK(signed_line->leaf_hash ==
                     merkle::HashLeaf(merkle::AsBytes(signed_line->entry)));
    absl::StatusOr<client::SignedRecordLine> again =
        client::ParseSignedRecordLine(
            client::FormatSignedRecordLine(*signed_line));
    VIGIL_FUZZ_CHECK(again.ok() && again->record_id == signed_line->record_id &&
                     again->entry == signed_line->entry &&
                     again->leaf_hash == signed_line->leaf_hash);
  }

  absl::StatusOr<client::OpeningsLine> openings =
      client::ParseOpeningsLine(input);
  if (openings.ok()) {
    absl::StatusOr<client::OpeningsLine> again =
        client::ParseOpeningsLine(client::FormatOpeningsLine(*openings));
    VIGIL_FUZZ_CHECK(again.ok() && SameOpenings(*again, *openings));
    if (input.find('\n') == std::string_view::npos) {
      absl::StatusOr<client::OpeningsLine> found =
          client::FindOpenings(input, openings->leaf_hash);
      VIGIL_FUZZ_CHECK(found.ok() && SameOpenings(*found, *openings));
    }
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
