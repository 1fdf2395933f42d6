// Shared pieces of the libFuzzer targets in this directory (docs/fuzzing.md):
// the property check, and the known data the targets verify against, all
// deterministic so the seed corpora (fuzz_seeds.cc) and the targets agree.
//
// Known data: the reference log of ../shared/testdata (its checkpoint, log
// and witness keys, its 1,000 leaf hashes), a size-500 checkpoint of the
// same tree signed here with the reference log's (public, test) key, and
// one access-record and one registry-change entry signed with fixed test
// seeds. Nothing else is signed by these keys, so a target that sees a
// signature verify can insist the signed bytes are exactly these.
//
// Thread-safety: the accessors build their value once (thread-safe static
// initialisation) and return it immutable.

#ifndef VIGIL_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define VIGIL_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "vigil/v1/record.pb.h"

// Stops the run with a report when a property does not hold: libFuzzer
// counts the trap as a crash and saves the input.
#define VIGIL_FUZZ_CHECK(condition)                                          \
  do {                                                                       \
    if (!(condition)) {                                                      \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #condition, \
                   __FILE__, __LINE__);                                      \
      __builtin_trap();                                                      \
    }                                                                        \
  } while (0)

namespace vigil::fuzz {

// The fuzzer's bytes as text.
inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The bytes of ../shared/testdata/<relative>; aborts if it cannot be read.
std::string ReadTestdata(std::string_view relative);

// The reference log and what is derived from it (see the file comment).
struct ReferenceLog {
  std::string origin;           // "example.org/reference-log".
  std::string checkpoint_note;  // Signed and cosigned, size 1000.
  std::string checkpoint_text;  // Its note text.
  merkle::Checkpoint checkpoint;
  std::string log_skey;  // Signer keys, test keys published as such.
  std::string witness_skey;
  std::optional<merkle::Ed25519Verifier> log;
  std::optional<merkle::CosignatureVerifier> witness;
  uint64_t witness_timestamp = 0;         // Of the reference cosignature.
  std::vector<merkle::Hash> leaf_hashes;  // All 1000, from tile/0/*.
  // The size-500 checkpoint of the same tree, signed with log_skey only.
  std::string checkpoint500_note;
  std::string checkpoint500_text;
  // The consistency proof from size 500 to size 1000.
  std::vector<merkle::Hash> consistency_500_1000;
};
const ReferenceLog& Reference();

// The RFC 9162 audit path of leaf `index` (< 1000) in the reference tree.
std::vector<merkle::Hash> ReferenceInclusionProof(uint64_t index);

// The fixed "now" of the record targets: 2025-11-27T00:00:00Z.
inline constexpr int64_t kFixedNowSeconds = 1764201600;

// Entries signed with fixed test seeds (server/entry.h layout).
struct KnownEntries {
  vigil::v1::AccessRecord record;  // Valid at kFixedNowSeconds.
  std::string record_payload;      // Its canonical encoding.
  std::string record_entry;        // Signed by record_key.
  std::string record_key;          // 32-byte public key.
  vigil::v1::RegistryChange change;
  std::string change_payload;
  std::string change_entry;  // Signed by change_key.
  std::string change_key;
};
const KnownEntries& Known();

}  // namespace vigil::fuzz

#endif  // VIGIL_TESTS_FUZZ_FUZZ_SUPPORT_H_
