// Vigil log entries: the exact bytes the log stores, hashes and serves.
//
// Entry layout, version 1 (DO NOT CHANGE: every leaf hash of every log
// depends on it; a new layout takes a new version byte):
//
//   offset  size  field
//   ------  ----  -----------------------------------------------------------
//        0     1  version     0x01
//        1     1  kind        0x01 access record, 0x02 registry change
//        2    32  public_key  the signer's Ed25519 public key (RFC 8032)
//       34    64  signature   Ed25519 signature, by public_key, of
//                             SignedMessage(kind, payload)
//       98     n  payload     the serialised vigil.v1.AccessRecord (kind 1)
//                             or vigil.v1.RegistryChange (kind 2), byte for
//                             byte as the signer signed it;
//                             0 <= n <= kMaxPayloadSize
//
// There is no length field: the payload runs to the end of the entry, whose
// length the container gives (a tlog-tiles entry bundle prefixes each entry
// with a big-endian uint16 length). So an entry is 98..65,535 bytes.
//
// Signed messages (what the Ed25519 signature covers):
//
//   access record:    "vigil/record/v1\n"   || payload
//   registry change:  "vigil/registry/v1\n" || payload
//
// The prefixes separate the two kinds, and Vigil signatures from any other
// use of an agency's key. The server accepts a payload only in its
// canonical encoding (CanonicalPayload below), so one record has one entry.
//
// The signing prefixes, SignedMessage and CanonicalPayload are inline and
// need no library: client/signing.cc includes this header to sign exactly
// what the server verifies without linking the server (the client must not
// depend on vigil::server). Everything else here is in vigil::server.
//
// Thread-safety: all functions are pure and safe from any thread.

#ifndef VIGIL_SERVER_ENTRY_H_
#define VIGIL_SERVER_ENTRY_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message_lite.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "merkle/hash.h"
#include "vigil/v1/record.pb.h"

namespace vigil::server {

// The first byte of every version-1 entry.
inline constexpr uint8_t kEntryVersion = 0x01;

// What an entry's payload is.
enum class EntryKind : uint8_t {
  kAccessRecord = 1,    // A vigil.v1.AccessRecord signed by an agency key.
  kRegistryChange = 2,  // A vigil.v1.RegistryChange signed by the registry key.
};

inline constexpr size_t kEntryPublicKeySize = 32;
inline constexpr size_t kEntrySignatureSize = 64;
// Bytes before the payload: version, kind, public key, signature.
inline constexpr size_t kEntryHeaderSize =
    2 + kEntryPublicKeySize + kEntrySignatureSize;  // 98
// The largest entry a tlog-tiles bundle holds (uint16 length prefix).
inline constexpr size_t kMaxEntrySize = 65535;
// The largest payload: an entry with it is exactly kMaxEntrySize bytes.
inline constexpr size_t kMaxPayloadSize =
    kMaxEntrySize - kEntryHeaderSize;  // 65,437

// Prefixes of the signed messages (see the file comment).
inline constexpr std::string_view kRecordSigningPrefix = "vigil/record/v1\n";
inline constexpr std::string_view kRegistrySigningPrefix =
    "vigil/registry/v1\n";

// The message an Ed25519 signature of an entry of `kind` covers: the kind's
// prefix, then `payload`. Requires `kind` to be one of EntryKind's
// enumerators (any other value is treated as kAccessRecord).
inline std::string SignedMessage(EntryKind kind, std::string_view payload) {
  const std::string_view prefix = kind == EntryKind::kRegistryChange
                                      ? kRegistrySigningPrefix
                                      : kRecordSigningPrefix;
  std::string message;
  message.reserve(prefix.size() + payload.size());
  message.append(prefix);
  message.append(payload);
  return message;
}

// The canonical encoding of a payload message: protobuf's deterministic
// serialisation (fields in field-number order, each once, packed repeated
// scalars, minimal varints, no default-valued proto3 fields). Signers
// serialise with this once and sign those bytes; the server refuses a
// payload that is not the canonical encoding of the message it parses to
// (record_checks.h), so no signed byte escapes validation and one record
// has exactly one entry.
inline std::string CanonicalPayload(const google::protobuf::MessageLite& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    // Fails only for messages over 2 GiB, far beyond any payload limit.
    static_cast<void>(m.SerializeToCodedStream(&coded));
  }
  return out;
}

// An entry, decoded. Holds the payload bytes, not the parsed message.
struct Entry {
  EntryKind kind = EntryKind::kAccessRecord;
  std::array<uint8_t, kEntryPublicKeySize> public_key{};
  std::array<uint8_t, kEntrySignatureSize> signature{};
  std::string payload;  // At most kMaxPayloadSize bytes to encode.

  bool operator==(const Entry&) const = default;
};

// The entry bytes of `entry`, as laid out in the file comment. Requires
// entry.payload.size() <= kMaxPayloadSize and a kind that is one of
// EntryKind's enumerators; otherwise DecodeEntry will refuse the result.
std::string EncodeEntry(const Entry& entry);

// Decodes entry bytes strictly. INVALID_ARGUMENT, naming the problem, if
// the entry is shorter than kEntryHeaderSize bytes, longer than
// kMaxEntrySize, or its version or kind byte is not one defined above. The
// signature and payload are not checked (VerifyEntrySignature,
// record_checks.h).
absl::StatusOr<Entry> DecodeEntry(std::string_view bytes);

// True iff entry.signature is a valid Ed25519 signature by
// entry.public_key of SignedMessage(entry.kind, entry.payload) (libsodium
// crypto_sign_verify_detached: canonical signatures, no small-order keys).
bool VerifyEntrySignature(const Entry& entry);

// A verified submission on its way to the sequencer (sequencer.h): built by
// submission.h on an RPC thread, consumed by the sequencer thread.
struct PendingEntry {
  std::string entry;         // EncodeEntry bytes.
  merkle::Hash leaf_hash{};  // merkle::HashLeaf(entry).
  EntryKind kind = EntryKind::kAccessRecord;
  std::string public_key;  // 32 bytes: the signer.
  // The parsed change, set iff kind is kRegistryChange.
  std::optional<vigil::v1::RegistryChange> registry_change;
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_ENTRY_H_
