// Cosignatures (c2sp.org/tlog-cosignature v1): the timestamp of a raw
// cosignature, cosigning, and k-of-n witness verification of a note.
//
// Properties: CosignatureTimestamp accepts exactly 72 bytes whose first
// eight, big-endian, are at most 2^63 - 1, and returns them; a witness key
// cosigns exactly the texts ParseCheckpoint accepts, and what it signs
// verifies with its timestamp; the reference witness's quorum is met only
// by the one checkpoint it cosigned, at the timestamp it stated.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

const merkle::Cosigner& TestCosigner() {
  static const merkle::Cosigner* const cosigner = [] {
    absl::StatusOr<merkle::Cosigner> c =
        merkle::Cosigner::FromSignerKey(Reference().witness_skey);
    VIGIL_FUZZ_CHECK(c.ok());
    return new merkle::Cosigner(*std::move(c));
  }();
  return *cosigner;
}

void Run(std::span<const uint8_t> bytes) {
  const ReferenceLog& ref = Reference();
  const std::string_view input = AsText(bytes.data(), bytes.size());

  absl::StatusOr<uint64_t> timestamp = merkle::CosignatureTimestamp(bytes);
  std::optional<uint64_t> expected;
  if (bytes.size() == merkle::kCosignatureSize) {
    uint64_t t = 0;
    for (size_t i = 0; i < 8; ++i) t = (t << 8) | bytes[i];
    if (t <= merkle::kMaxCosignatureTimestamp) expected = t;
  }
  VIGIL_FUZZ_CHECK(timestamp.ok() == expected.has_value());
  if (timestamp.ok()) VIGIL_FUZZ_CHECK(*timestamp == *expected);

  // A witness cosigns checkpoints and nothing else.
  const uint64_t now = ref.witness_timestamp + bytes.size();
  absl::StatusOr<merkle::NoteSignature> cosigned =
      TestCosigner().Cosign(input, now);
  VIGIL_FUZZ_CHECK(cosigned.ok() == merkle::ParseCheckpoint(input).ok());
  if (cosigned.ok()) {
    absl::StatusOr<uint64_t> verified =
        TestCosigner().verifier().VerifyCosignature(input, cosigned->signature);
    VIGIL_FUZZ_CHECK(verified.ok() && *verified == now);
  }

  const merkle::CosignatureVerifier* witnesses[] = {&*ref.witness};
  absl::StatusOr<merkle::CosignatureQuorum> quorum =
      merkle::VerifyCosignatureQuorum(input, witnesses, 1);
  if (quorum.ok()) {
    absl::StatusOr<merkle::SignedNote> note = merkle::ParseSignedNote(input);
    VIGIL_FUZZ_CHECK(note.ok() && note->text == ref.checkpoint_text);
    VIGIL_FUZZ_CHECK(quorum->cosigned.size() == 1 &&
                     quorum->cosigned[0].timestamp == ref.witness_timestamp);
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run({data, size});
  return 0;
}
