// Signed notes (c2sp.org/signed-note) and signature lines.
//
// Properties: a note that parses formats back to exactly its bytes, within
// the note limits; each of its signature lines round-trips alone; a lone
// signature line round-trips; OpenNote with the reference log and witness
// keys accepts only texts those keys signed, with exactly the signatures
// they made.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/note.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

std::vector<merkle::NoteSignature> KnownSignatures() {
  std::vector<merkle::NoteSignature> known;
  for (const std::string* note :
       {&Reference().checkpoint_note, &Reference().checkpoint500_note}) {
    absl::StatusOr<merkle::SignedNote> parsed = merkle::ParseSignedNote(*note);
    VIGIL_FUZZ_CHECK(parsed.ok());
    known.insert(known.end(), parsed->signatures.begin(),
                 parsed->signatures.end());
  }
  return known;
}

bool IsKnown(const merkle::NoteSignature& signature) {
  static const std::vector<merkle::NoteSignature>* const known =
      new std::vector<merkle::NoteSignature>(KnownSignatures());
  for (const merkle::NoteSignature& k : *known) {
    if (k == signature) return true;
  }
  return false;
}

void Run(std::string_view input) {
  const ReferenceLog& ref = Reference();

  absl::StatusOr<merkle::SignedNote> note = merkle::ParseSignedNote(input);
  if (note.ok()) {
    VIGIL_FUZZ_CHECK(input.size() <= merkle::kMaxNoteSize);
    VIGIL_FUZZ_CHECK(!note->signatures.empty());
    VIGIL_FUZZ_CHECK(note->signatures.size() <= merkle::kMaxNoteSignatures);
    absl::StatusOr<std::string> formatted = merkle::FormatSignedNote(*note);
    VIGIL_FUZZ_CHECK(formatted.ok() && *formatted == input);
    for (const merkle::NoteSignature& signature : note->signatures) {
      VIGIL_FUZZ_CHECK(merkle::ValidateKeyName(signature.name).ok());
      absl::StatusOr<merkle::NoteSignature> line =
          merkle::ParseSignatureLine(merkle::FormatSignatureLine(signature));
      VIGIL_FUZZ_CHECK(line.ok() && *line == signature);
    }
  }

  absl::StatusOr<merkle::NoteSignature> line =
      merkle::ParseSignatureLine(input);
  if (line.ok()) {
    VIGIL_FUZZ_CHECK(!line->signature.empty());
    VIGIL_FUZZ_CHECK(merkle::FormatSignatureLine(*line) == input);
  }

  const merkle::NoteVerifier* verifiers[] = {&*ref.log, &*ref.witness};
  absl::StatusOr<merkle::OpenedNote> opened =
      merkle::OpenNote(input, verifiers);
  if (opened.ok()) {
    VIGIL_FUZZ_CHECK(note.ok());
    VIGIL_FUZZ_CHECK(opened->text == ref.checkpoint_text ||
                     opened->text == ref.checkpoint500_text);
    VIGIL_FUZZ_CHECK(!opened->verified.empty());
    for (const merkle::VerifiedSignature& v : opened->verified) {
      VIGIL_FUZZ_CHECK(IsKnown(v.signature));
    }
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
