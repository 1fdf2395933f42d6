#include "merkle/checkpoint.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/encoding.h"

namespace vigil::merkle {
namespace {

// Checks that `line` may be one line of checkpoint text (without its '\n').
absl::Status CheckLine(std::string_view line, std::string_view what) {
  if (line.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("checkpoint %s is empty", what));
  }
  if (!IsValidUtf8(line)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("checkpoint %s is not valid UTF-8", what));
  }
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<uint8_t>(line[i]);
    if (c < 0x20) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "checkpoint %s contains control character 0x%02x at offset %d", what,
          c, i));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> MarshalCheckpoint(const Checkpoint& checkpoint) {
  if (absl::Status s = CheckLine(checkpoint.origin, "origin"); !s.ok()) {
    return s;
  }
  std::string out =
      absl::StrFormat("%s\n%d\n%s\n", checkpoint.origin, checkpoint.size,
                      Base64Encode(checkpoint.root));
  for (size_t i = 0; i < checkpoint.extensions.size(); ++i) {
    if (absl::Status s = CheckLine(checkpoint.extensions[i],
                                   absl::StrFormat("extension line %d", i));
        !s.ok()) {
      return s;
    }
    out += checkpoint.extensions[i];
    out.push_back('\n');
  }
  if (out.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint text is %d bytes, limit %d", out.size(), kMaxNoteSize));
  }
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("checkpoint is empty");
  if (text.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint text is %d bytes, limit %d", text.size(), kMaxNoteSize));
  }
  if (text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint does not end with a newline");
  }
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t end = rest.find('\n');  // Found: `text` ends with '\n'.
    lines.push_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint has %d lines, need at least 3 (origin, size, root)",
        lines.size()));
  }
  if (absl::Status s = CheckLine(lines[0], "origin"); !s.ok()) return s;
  if (absl::Status s = CheckLine(lines[1], "size"); !s.ok()) return s;
  if (absl::Status s = CheckLine(lines[2], "root"); !s.ok()) return s;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (absl::Status s =
            CheckLine(lines[i], absl::StrFormat("extension line %d", i - 3));
        !s.ok()) {
      return s;
    }
  }

  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  const std::optional<uint64_t> size = ParseDecimal(lines[1]);
  if (!size.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint size %s is not a decimal uint64 without leading zeros",
        QuoteForError(lines[1])));
  }
  checkpoint.size = *size;
  absl::StatusOr<Hash> root = Base64DecodeHash(lines[2], "checkpoint root");
  if (!root.ok()) return root.status();
  checkpoint.root = *root;
  for (size_t i = 3; i < lines.size(); ++i) {
    checkpoint.extensions.emplace_back(lines[i]);
  }
  return checkpoint;
}

absl::StatusOr<OpenedCheckpoint> OpenCheckpoint(
    std::string_view signed_note, const NoteVerifier& log_verifier,
    std::string_view origin) {
  const NoteVerifier* const verifiers[] = {&log_verifier};
  absl::StatusOr<OpenedNote> note = OpenNote(signed_note, verifiers);
  if (!note.ok()) return note.status();
  // Only now that the log has vouched for the text may it be interpreted.
  absl::StatusOr<Checkpoint> checkpoint = ParseCheckpoint(note->text);
  if (!checkpoint.ok()) return checkpoint.status();
  if (checkpoint->origin != origin) {
    return absl::UnauthenticatedError(absl::StrFormat(
        "checkpoint origin %s, want %s", QuoteForError(checkpoint->origin),
        QuoteForError(origin)));
  }
  OpenedCheckpoint opened;
  opened.checkpoint = *std::move(checkpoint);
  opened.text = std::move(note->text);
  opened.log_signature = std::move(note->verified.front().signature);
  opened.other_signatures = std::move(note->unverified);
  return opened;
}

}  // namespace vigil::merkle
