// A c2sp.org/tlog-witness witness, without HTTP: it checks add-checkpoint
// requests against the latest checkpoint it cosigned for each known log,
// cosigns (c2sp.org/tlog-cosignature v1) the ones that extend it, and keeps
// that checkpoint durably, one file per log.
//
// add-checkpoint, in the order the checks run:
//
//   400  malformed body: the "old <size>" line (strict decimal), a proof
//        line (canonical base64 of 32 bytes; at most 63 lines), the blank
//        line, the signed note or its checkpoint text; also a body over
//        kMaxAddCheckpointBody bytes
//   404  the checkpoint's origin is not a known log
//   403  no signature by a trusted key of that log, or a signature line
//        that names a trusted key (name and key ID) and fails to verify
//   400  old size > checkpoint size
//   409  old size != size of the latest checkpoint cosigned for the log (0
//        if none); body "<latest size>\n", Content-Type text/x.tlog.size
//   422  a size-0 checkpoint whose root is not the empty tree's, a
//        non-empty proof with old size 0, a consistency proof that does
//        not verify, or the same size with another root
//   500  the clock or the state file failed (a failed write is sticky:
//        the log's later requests get 500 until restart)
//   200  one cosignature line "— <name> <base64>\n"
//
// The 409 and 422 rules make the witness cosign at most one tree per size
// of a log: a new checkpoint must extend the latest one cosigned, proven by
// a consistency proof, and the latest one is persisted before the
// cosignature is returned, so this holds across restarts too.
//
// State: for each log that was ever cosigned, the file
// <state dir>/<lowercase hex SHA-256(origin)> holds the latest cosigned
// checkpoint as a signed note: its text, the log's signatures that were
// verified, and this witness's cosignature (other signature lines of the
// request are dropped). It is replaced atomically (server/files.h) before
// add-checkpoint answers 200, and served by LatestCheckpoint.
//
// Thread-safety: Witness's methods are safe from any thread. Each log has
// one mutex held from the 409 check until its state is persisted, so
// concurrent requests for one log never roll its state back.

#ifndef VIGIL_CLIENT_WITNESS_H_
#define VIGIL_CLIENT_WITNESS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/note.h"

namespace vigil::client {

// Most consistency proof lines an add-checkpoint body may carry.
inline constexpr size_t kMaxWitnessProofLines = 63;
// Largest add-checkpoint body accepted: the old size line, 63 proof lines
// and a note of the largest size merkle accepts, with room to spare.
inline constexpr size_t kMaxAddCheckpointBody = merkle::kMaxNoteSize + 8192;

// The Content-Type of a 409 answer (c2sp.org/tlog-witness).
inline constexpr std::string_view kTlogSizeContentType = "text/x.tlog.size";

// A log the witness cosigns for.
struct WitnessLog {
  // The checkpoint origin that identifies the log.
  std::string origin;
  // The log's Ed25519 note keys; a checkpoint needs a valid signature by
  // one of them (several during a key rotation). Must be non-empty.
  std::vector<merkle::Ed25519Verifier> keys;
};

// Lowercase hex SHA-256 of `origin`: the name of the log's state file and
// the path component of its monitoring URL.
std::string OriginHash(std::string_view origin);

// Returns the current time; a witness asks it once per cosignature.
using WitnessClock = std::function<absl::Time()>;

class Witness {
 public:
  // An HTTP answer, independent of the HTTP library.
  struct Response {
    int http_status = 200;
    std::string content_type;  // "text/plain; charset=utf-8" but for 409.
    std::string body;          // For errors, a message ending in '\n'.
  };

  // A witness signing with `cosigner`, for `logs`, keeping its state in
  // `state_dir` (created if missing), taking cosignature timestamps from
  // `clock` (Unix seconds, which must be positive).
  //
  // Loads every known log's state file and checks it: the note must carry
  // a valid signature by one of the log's keys and a valid cosignature by
  // `cosigner`'s key over a well-formed checkpoint of that origin; a state
  // file is never trusted unverified. Files of unknown logs are ignored.
  //
  // Errors: INVALID_ARGUMENT if `logs` is empty, an origin is empty, holds
  // a control character or is repeated, a log has no key or two keys with
  // the same name and key ID, `state_dir` is empty or `clock` is null;
  // UNAVAILABLE if the state directory cannot be created; DATA_LOSS naming
  // the file if a state file does not verify; the file's read error
  // otherwise (files.h).
  static absl::StatusOr<std::unique_ptr<Witness>> Create(
      merkle::Cosigner cosigner, std::vector<WitnessLog> logs,
      const std::string& state_dir, WitnessClock clock);

  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;
  ~Witness();

  // Handles the body of a POST <submission prefix>/add-checkpoint request
  // (see the table at the top of this file). On 200 the new state is on
  // disk before this returns.
  [[nodiscard]] Response AddCheckpoint(std::string_view body);

  // Handles GET <monitoring prefix>/<origin_hash_hex>/checkpoint: 200 with
  // the latest cosigned checkpoint (log signatures and this witness's
  // cosignature), or 404 if `origin_hash_hex` is not the lowercase hex
  // SHA-256 of a known log's origin or the log was never cosigned.
  [[nodiscard]] Response LatestCheckpoint(
      std::string_view origin_hash_hex) const;

  // The witness's cosignature verifier (what logs and monitors trust).
  [[nodiscard]] const merkle::CosignatureVerifier& verifier() const {
    return cosigner_.verifier();
  }

 private:
  // The latest checkpoint cosigned for one log.
  struct Cosigned {
    merkle::Checkpoint checkpoint;
    std::string note;  // The signed note kept in the state file.
  };

  struct LogState {
    std::string origin;
    std::vector<merkle::Ed25519Verifier> keys;
    std::vector<const merkle::NoteVerifier*> key_ptrs;  // Into `keys`.
    std::string path;                                   // The state file.

    mutable absl::Mutex mu;
    std::optional<Cosigned> latest ABSL_GUARDED_BY(mu);
    // The first failed write of the state file; sticky.
    absl::Status write_error ABSL_GUARDED_BY(mu);
  };

  Witness(merkle::Cosigner cosigner, WitnessClock clock);

  // Reads and verifies `log`'s state file, if it exists.
  absl::Status Load(LogState& log);

  merkle::Cosigner cosigner_;
  const WitnessClock clock_;
  // Keyed by origin. Immutable after Create (the states are not).
  std::map<std::string, std::unique_ptr<LogState>, std::less<>> logs_;
  // OriginHash(origin) -> the log. Immutable after Create.
  std::map<std::string, const LogState*, std::less<>> by_hash_;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_WITNESS_H_
