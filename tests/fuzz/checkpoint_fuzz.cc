// Checkpoints (c2sp.org/tlog-checkpoint): the note text and opening a signed
// checkpoint.
//
// Properties: checkpoint text that parses marshals back to exactly its
// bytes, with non-empty extension lines; OpenCheckpoint with the reference
// log's key and origin accepts only the two checkpoints that key signed,
// and returns exactly their contents.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "merkle/checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  const ReferenceLog& ref = Reference();

  absl::StatusOr<merkle::Checkpoint> checkpoint =
      merkle::ParseCheckpoint(input);
  if (checkpoint.ok()) {
    VIGIL_FUZZ_CHECK(!checkpoint->origin.empty());
    for (const std::string& extension : checkpoint->extensions) {
      VIGIL_FUZZ_CHECK(!extension.empty());
    }
    absl::StatusOr<std::string> text = merkle::MarshalCheckpoint(*checkpoint);
    VIGIL_FUZZ_CHECK(text.ok() && *text == input);
  }

  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(input, *ref.log, ref.origin);
  if (opened.ok()) {
    VIGIL_FUZZ_CHECK(opened->text == ref.checkpoint_text ||
                     opened->text == ref.checkpoint500_text);
    absl::StatusOr<merkle::Checkpoint> expected =
        merkle::ParseCheckpoint(opened->text);
    VIGIL_FUZZ_CHECK(expected.ok() && *expected == opened->checkpoint);
    VIGIL_FUZZ_CHECK(opened->checkpoint.origin == ref.origin);
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
