#include "client/witness.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <span>
#include <system_error>
#include <utility>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/proof.h"
#include "server/files.h"

namespace vigil::client {
namespace {

constexpr std::string_view kTextType = "text/plain; charset=utf-8";
// A state file holds one signed note.
constexpr size_t kMaxStateFile = merkle::kMaxNoteSize;

Witness::Response Answer(int status, std::string body) {
  return Witness::Response{status, std::string(kTextType), std::move(body)};
}

Witness::Response Error(int status, std::string_view message) {
  return Answer(status, absl::StrFormat("%s\n", message));
}

// An add-checkpoint body split into its parts; nothing verified yet.
struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<merkle::Hash> proof;
  std::string_view note;  // Points into the body.
};

// Splits off the line at the start of `*rest`, without its '\n'; nullopt
// if there is no '\n'.
std::optional<std::string_view> NextLine(std::string_view* rest) {
  const size_t newline = rest->find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  std::string_view line = rest->substr(0, newline);
  rest->remove_prefix(newline + 1);
  return line;
}

// Parses the body strictly (c2sp.org/tlog-witness "add-checkpoint").
// INVALID_ARGUMENT naming the first problem.
absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body) {
  if (body.size() > kMaxAddCheckpointBody) {
    return absl::InvalidArgumentError(
        absl::StrFormat("request body of %d bytes exceeds the limit of %d",
                        body.size(), kMaxAddCheckpointBody));
  }
  AddCheckpointRequest request;
  std::string_view rest = body;
  const std::optional<std::string_view> old_line = NextLine(&rest);
  constexpr std::string_view kOld = "old ";
  if (!old_line.has_value() || !old_line->starts_with(kOld)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the body must start with an \"old <size>\" line; it starts with %s",
        merkle::QuoteForError(body.substr(0, body.find('\n')))));
  }
  const std::optional<uint64_t> old_size =
      merkle::ParseDecimal(old_line->substr(kOld.size()));
  if (!old_size.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("old size %s is not a decimal without leading zeros",
                        merkle::QuoteForError(old_line->substr(kOld.size()))));
  }
  request.old_size = *old_size;
  while (true) {
    const std::optional<std::string_view> line = NextLine(&rest);
    if (!line.has_value()) {
      return absl::InvalidArgumentError(
          "the body has no blank line before the checkpoint");
    }
    if (line->empty()) break;
    if (request.proof.size() == kMaxWitnessProofLines) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "more than %d consistency proof lines", kMaxWitnessProofLines));
    }
    absl::StatusOr<merkle::Hash> hash = merkle::Base64DecodeHash(
        *line,
        absl::StrFormat("consistency proof line %d", request.proof.size() + 1));
    if (!hash.ok()) return hash.status();
    request.proof.push_back(*hash);
  }
  request.note = rest;
  return request;
}

std::string StatusMessage(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

}  // namespace

std::string OriginHash(std::string_view origin) {
  return merkle::HexEncode(merkle::Sha256(merkle::AsBytes(origin)));
}

Witness::Witness(merkle::Cosigner cosigner, WitnessClock clock)
    : cosigner_(std::move(cosigner)), clock_(std::move(clock)) {}

Witness::~Witness() = default;

absl::StatusOr<std::unique_ptr<Witness>> Witness::Create(
    merkle::Cosigner cosigner, std::vector<WitnessLog> logs,
    const std::string& state_dir, WitnessClock clock) {
  if (logs.empty()) {
    return absl::InvalidArgumentError("a witness needs at least one log");
  }
  if (state_dir.empty()) {
    return absl::InvalidArgumentError("a witness needs a state directory");
  }
  if (clock == nullptr) {
    return absl::InvalidArgumentError("a witness needs a clock");
  }
  std::error_code error;
  std::filesystem::create_directories(state_dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrFormat("cannot create the witness state directory %s: %s",
                        state_dir, error.message()));
  }
  std::unique_ptr<Witness> witness(
      new Witness(std::move(cosigner), std::move(clock)));
  for (WitnessLog& log : logs) {
    const bool control = std::any_of(
        log.origin.begin(), log.origin.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20; });
    if (log.origin.empty() || control) {
      return absl::InvalidArgumentError(
          absl::StrFormat("log origin %s is empty or holds a control "
                          "character",
                          merkle::QuoteForError(log.origin)));
    }
    if (log.keys.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "log %s has no key", merkle::QuoteForError(log.origin)));
    }
    std::set<std::pair<std::string, uint32_t>> seen;
    for (const merkle::Ed25519Verifier& key : log.keys) {
      if (!seen.emplace(std::string(key.name()), key.key_id()).second) {
        return absl::InvalidArgumentError(
            absl::StrFormat("log %s has two keys named %s with key ID %s",
                            merkle::QuoteForError(log.origin), key.name(),
                            merkle::FormatKeyId(key.key_id())));
      }
    }
    auto state = std::make_unique<LogState>();
    state->origin = std::move(log.origin);
    state->keys = std::move(log.keys);
    for (const merkle::Ed25519Verifier& key : state->keys) {
      state->key_ptrs.push_back(&key);
    }
    const std::string hash = OriginHash(state->origin);
    state->path = absl::StrFormat("%s/%s", state_dir, hash);
    if (absl::Status s = witness->Load(*state); !s.ok()) return s;
    witness->by_hash_.emplace(hash, state.get());
    const std::string origin = state->origin;
    if (!witness->logs_.emplace(origin, std::move(state)).second) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "log %s is listed twice", merkle::QuoteForError(origin)));
    }
  }
  return witness;
}

absl::Status Witness::Load(LogState& log) {
  absl::StatusOr<std::string> note = server::ReadFile(log.path, kMaxStateFile);
  if (absl::IsNotFound(note.status())) return absl::OkStatus();
  if (!note.ok()) return note.status();
  auto corrupt = [&](const absl::Status& why) {
    return absl::DataLossError(absl::StrFormat(
        "witness state file %s (log %s) does not verify: %s", log.path,
        merkle::QuoteForError(log.origin), why.message()));
  };
  absl::StatusOr<merkle::OpenedNote> opened =
      merkle::OpenNote(*note, log.key_ptrs);
  if (!opened.ok()) return corrupt(opened.status());
  absl::StatusOr<merkle::Checkpoint> checkpoint =
      merkle::ParseCheckpoint(opened->text);
  if (!checkpoint.ok()) return corrupt(checkpoint.status());
  if (checkpoint->origin != log.origin) {
    return corrupt(absl::InvalidArgumentError(
        absl::StrFormat("it is a checkpoint of %s",
                        merkle::QuoteForError(checkpoint->origin))));
  }
  const merkle::CosignatureVerifier& self = cosigner_.verifier();
  bool cosigned = false;
  for (const merkle::NoteSignature& s : opened->unverified) {
    if (s.name == self.name() && s.key_id == self.key_id()) {
      absl::StatusOr<uint64_t> timestamp =
          self.VerifyCosignature(opened->text, s.signature);
      if (!timestamp.ok()) return corrupt(timestamp.status());
      cosigned = true;
    }
  }
  if (!cosigned) {
    return corrupt(absl::UnauthenticatedError(
        absl::StrFormat("no cosignature by this witness's key %s+%s",
                        self.name(), merkle::FormatKeyId(self.key_id()))));
  }
  absl::MutexLock lock(&log.mu);
  log.latest = Cosigned{*std::move(checkpoint), *std::move(note)};
  return absl::OkStatus();
}

Witness::Response Witness::AddCheckpoint(std::string_view body) {
  absl::StatusOr<AddCheckpointRequest> request = ParseAddCheckpoint(body);
  if (!request.ok()) return Error(400, StatusMessage(request.status()));
  absl::StatusOr<merkle::SignedNote> parsed =
      merkle::ParseSignedNote(request->note);
  if (!parsed.ok()) return Error(400, StatusMessage(parsed.status()));
  absl::StatusOr<merkle::Checkpoint> checkpoint =
      merkle::ParseCheckpoint(parsed->text);
  if (!checkpoint.ok()) return Error(400, StatusMessage(checkpoint.status()));

  const auto found = logs_.find(checkpoint->origin);
  if (found == logs_.end()) {
    return Error(404,
                 absl::StrFormat("unknown log origin %s",
                                 merkle::QuoteForError(checkpoint->origin)));
  }
  LogState& log = *found->second;
  absl::StatusOr<merkle::OpenedNote> opened =
      merkle::OpenNote(request->note, log.key_ptrs);
  if (!opened.ok()) {
    // The note parsed above, so only UNAUTHENTICATED is expected here.
    const int status = absl::IsUnauthenticated(opened.status()) ? 403 : 400;
    return Error(status, StatusMessage(opened.status()));
  }
  const uint64_t old_size = request->old_size;
  const uint64_t new_size = checkpoint->size;
  if (old_size > new_size) {
    return Error(400,
                 absl::StrFormat("old size %d exceeds the checkpoint size %d",
                                 old_size, new_size));
  }

  absl::MutexLock lock(&log.mu);
  if (!log.write_error.ok()) {
    return Error(500, absl::StrFormat("the witness cannot persist state: %s",
                                      log.write_error.message()));
  }
  const uint64_t latest_size =
      log.latest.has_value() ? log.latest->checkpoint.size : 0;
  if (old_size != latest_size) {
    return Response{409, std::string(kTlogSizeContentType),
                    absl::StrFormat("%d\n", latest_size)};
  }
  if (new_size == 0 && checkpoint->root != merkle::EmptyRoot()) {
    return Error(422, "a checkpoint of size 0 must have the empty tree's root");
  }
  if (old_size == 0 && !request->proof.empty()) {
    return Error(422, absl::StrFormat("old size 0 takes no consistency proof; "
                                      "the request has %d lines",
                                      request->proof.size()));
  }
  const merkle::Hash& old_root = log.latest.has_value()
                                     ? log.latest->checkpoint.root
                                     : merkle::EmptyRoot();
  if (old_size == new_size && old_root != checkpoint->root) {
    return Error(422, absl::StrFormat(
                          "the checkpoint of size %d has root %s; the witness "
                          "cosigned root %s",
                          new_size, merkle::Base64Encode(checkpoint->root),
                          merkle::Base64Encode(old_root)));
  }
  if (absl::Status s = merkle::VerifyConsistency(
          old_size, new_size, old_root, checkpoint->root, request->proof);
      !s.ok()) {
    return Error(422,
                 absl::StrFormat("the consistency proof from size %d to %d "
                                 "does not verify: %s",
                                 old_size, new_size, s.message()));
  }

  const int64_t now = absl::ToUnixSeconds(clock_());
  if (now <= 0) {
    return Error(500, absl::StrFormat("the witness clock reads %d, not a "
                                      "positive Unix time",
                                      now));
  }
  absl::StatusOr<merkle::NoteSignature> cosignature =
      cosigner_.Cosign(parsed->text, static_cast<uint64_t>(now));
  if (!cosignature.ok()) {
    return Error(500, StatusMessage(cosignature.status()));
  }
  // The state keeps what the monitoring endpoint serves: the log's verified
  // signatures and ours, not the unverified lines of the request.
  merkle::SignedNote kept{opened->text, {}};
  for (const merkle::VerifiedSignature& v : opened->verified) {
    kept.signatures.push_back(v.signature);
  }
  kept.signatures.push_back(*cosignature);
  absl::StatusOr<std::string> note = merkle::FormatSignedNote(kept);
  if (!note.ok()) return Error(500, StatusMessage(note.status()));
  if (absl::Status s = server::WriteFileAtomically(log.path, *note, 0644);
      !s.ok()) {
    log.write_error = s;
    return Error(500, absl::StrFormat("the witness cannot persist state: %s",
                                      s.message()));
  }
  log.latest = Cosigned{*std::move(checkpoint), *std::move(note)};
  return Answer(200, merkle::FormatSignatureLine(*cosignature));
}

Witness::Response Witness::LatestCheckpoint(
    std::string_view origin_hash_hex) const {
  const auto found = by_hash_.find(origin_hash_hex);
  if (found == by_hash_.end()) {
    return Error(404, absl::StrFormat("no log has origin hash %s",
                                      merkle::QuoteForError(origin_hash_hex)));
  }
  const LogState& log = *found->second;
  absl::MutexLock lock(&log.mu);
  if (!log.latest.has_value()) {
    return Error(404, absl::StrFormat("the witness has not cosigned a "
                                      "checkpoint of %s yet",
                                      merkle::QuoteForError(log.origin)));
  }
  return Answer(200, log.latest->note);
}

}  // namespace vigil::client
