// The local files of an agency's records (docs/formats.md, "Record files"),
// one JSON object per line:
//
// Signed records, written by `vigil record`, read by `vigil submit` and
// `vigil prove`:
//   {"record_id": "...", "leaf_hash": "<hex>", "entry": "<base64>"}
// `entry` is the exact log entry (server/entry.h); `leaf_hash` its RFC 9162
// leaf hash, a convenience that is checked when read.
//
// Openings, written by `vigil record` and `vigil submit` to a file of mode
// 0600 that never leaves the agency except to a court:
//   {"record_id": "...", "leaf_hash": "<hex>",
//    "openings": [{"field": "subject", "value": "...",
//                  "opening": "<hex>", "commitment": "<hex>"}, ...]}
//
// Thread-safety: the functions are pure.

#ifndef VIGIL_CLIENT_RECORD_FILES_H_
#define VIGIL_CLIENT_RECORD_FILES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/signing.h"
#include "merkle/hash.h"

namespace vigil::client {

struct SignedRecordLine {
  std::string record_id;
  std::string entry;  // Entry bytes.
  merkle::Hash leaf_hash{};
};

// One line of JSON, without the newline.
std::string FormatSignedRecordLine(const SignedRecordLine& line);
// INVALID_ARGUMENT naming the problem: not a JSON object, a missing or
// unknown key, bad base64 or hex, or a leaf hash that is not the entry's.
absl::StatusOr<SignedRecordLine> ParseSignedRecordLine(std::string_view json);

struct OpeningsLine {
  std::string record_id;
  merkle::Hash leaf_hash{};
  std::vector<FieldOpening> openings;
};

// One line of JSON, without the newline.
std::string FormatOpeningsLine(const OpeningsLine& line);
// INVALID_ARGUMENT naming the problem (never quoting a value).
absl::StatusOr<OpeningsLine> ParseOpeningsLine(std::string_view json);

// The openings of the record with leaf hash `leaf_hash` among the JSON
// Lines `file_content`. Malformed lines (a line torn by a crash) are
// skipped. NOT_FOUND if no line has it, saying how many were skipped.
absl::StatusOr<OpeningsLine> FindOpenings(std::string_view file_content,
                                          const merkle::Hash& leaf_hash);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_RECORD_FILES_H_
