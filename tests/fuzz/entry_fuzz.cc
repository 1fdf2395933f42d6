// Log entries: the record envelope of server/entry.h, and opening an
// access-record entry as a monitor or court does (client/signing.h).
//
// Properties: an entry that decodes is 98..65,535 bytes and encodes back to
// exactly its bytes; a valid signature by one of the fixed test keys is
// found only on the one entry that key signed; an entry OpenRecordEntry
// accepts is an access record with a valid signature and a payload that
// ParseAccessRecord's field rules accept; SignedPayloadOfEntry and
// EntryOfSignedPayload are inverse.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/signing.h"
#include "server/entry.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  const KnownEntries& known = Known();

  absl::StatusOr<server::Entry> entry = server::DecodeEntry(input);
  if (entry.ok()) {
    VIGIL_FUZZ_CHECK(input.size() >= server::kEntryHeaderSize &&
                     input.size() <= server::kMaxEntrySize);
    VIGIL_FUZZ_CHECK(server::EncodeEntry(*entry) == input);
    if (server::VerifyEntrySignature(*entry)) {
      const std::string key(entry->public_key.begin(), entry->public_key.end());
      if (key == known.record_key)
        VIGIL_FUZZ_CHECK(input == known.record_entry);
      if (key == known.change_key)
        VIGIL_FUZZ_CHECK(input == known.change_entry);
    }
  }

  absl::StatusOr<client::OpenedRecord> opened = client::OpenRecordEntry(input);
  if (opened.ok()) {
    VIGIL_FUZZ_CHECK(entry.ok() && *entry == opened->entry);
    VIGIL_FUZZ_CHECK(entry->kind == server::EntryKind::kAccessRecord);
    VIGIL_FUZZ_CHECK(server::VerifyEntrySignature(*entry));
    VIGIL_FUZZ_CHECK(server::CanonicalPayload(opened->record) ==
                     entry->payload);
  }

  absl::StatusOr<vigil::v1::SignedPayload> payload =
      client::SignedPayloadOfEntry(input);
  if (payload.ok()) {
    VIGIL_FUZZ_CHECK(entry.ok() &&
                     entry->kind == server::EntryKind::kAccessRecord);
    absl::StatusOr<std::string> back = client::EntryOfSignedPayload(
        *payload, server::EntryKind::kAccessRecord);
    VIGIL_FUZZ_CHECK(back.ok() && *back == input);
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
