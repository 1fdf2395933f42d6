// Verifier and signer keys (c2sp.org/signed-note key encodings) and key
// names.
//
// Properties: a verifier key that parses is exactly what FormatVerifierKey
// writes for its parts; a signer key that parses is exactly what
// GenerateNoteKey writes for its name, type and seed (so its key ID is the
// seed's), and the derived verifier key parses; NewNoteVerifier accepts
// exactly the keys ParseVerifierKey accepts; a valid key name holds no '+'
// and no ASCII space or control character.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "merkle/note.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  absl::StatusOr<merkle::VerifierKey> vkey = merkle::ParseVerifierKey(input);
  if (vkey.ok()) {
    VIGIL_FUZZ_CHECK(vkey->type == merkle::kSignatureTypeEd25519 ||
                     vkey->type == merkle::kSignatureTypeCosignatureV1);
    absl::StatusOr<std::string> formatted =
        merkle::FormatVerifierKey(vkey->name, vkey->type, vkey->public_key);
    VIGIL_FUZZ_CHECK(formatted.ok() && *formatted == input);
    VIGIL_FUZZ_CHECK(vkey->key_id == merkle::ComputeKeyId(vkey->name,
                                                          vkey->type,
                                                          vkey->public_key));
  }
  VIGIL_FUZZ_CHECK(merkle::NewNoteVerifier(input).ok() == vkey.ok());

  absl::StatusOr<merkle::SignerKey> skey = merkle::ParseSignerKey(input);
  if (skey.ok()) {
    absl::StatusOr<merkle::NoteKeyPair> pair =
        merkle::GenerateNoteKey(skey->name, skey->type, skey->seed);
    VIGIL_FUZZ_CHECK(pair.ok() && pair->signer_key == input);
    absl::StatusOr<merkle::VerifierKey> derived =
        merkle::ParseVerifierKey(pair->verifier_key);
    VIGIL_FUZZ_CHECK(derived.ok() && derived->key_id == skey->key_id);
  }

  if (merkle::ValidateKeyName(input).ok()) {
    VIGIL_FUZZ_CHECK(!input.empty());
    for (char c : input) {
      VIGIL_FUZZ_CHECK(c != '+' && static_cast<unsigned char>(c) > 0x20);
    }
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
