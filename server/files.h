// Local files written so that a crash never leaves half of one: key files,
// a client's trusted checkpoint, openings, exported tiles. Shared by the
// server and the client tools (target vigil::files).
//
// Durability: every write is fsync'ed before the call returns, and a file
// replaced atomically is renamed into place and its directory fsync'ed, so
// after a crash a reader sees the old content or the new, never a part.
//
// Errors name the path and the system's reason, never the content (which
// may be a secret). NOT_FOUND only for a file that does not exist (so an
// unreadable file never passes for an absent one), PERMISSION_DENIED for
// one we may not open, ALREADY_EXISTS for a file that must not be replaced,
// UNAVAILABLE for other I/O failures.
//
// Thread-safety: the functions are safe from any thread; concurrent writers
// of one path are the caller's business.

#ifndef VIGIL_SERVER_FILES_H_
#define VIGIL_SERVER_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigil::server {

// The whole content of the regular file at `path`. INVALID_ARGUMENT if it
// is larger than `max_bytes`; FAILED_PRECONDITION if it is not a regular
// file.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes = size_t{64} << 20);

// The key in the key file at `path`: its content with one trailing newline
// removed (docs/formats.md: a key file holds one key, optionally followed by
// a newline); the key itself is parsed elsewhere, strictly. With `secret`,
// the file must be a regular file that neither group nor others may read
// or write (mode 0600 or stricter): FAILED_PRECONDITION otherwise. NOT_FOUND
// if it cannot be opened. Messages name the path, never the content.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path, bool secret);

// Creates `path` with `mode` and writes `content` durably (the file, then
// its directory, fsync'ed). ALREADY_EXISTS if the file exists: it is never
// replaced. On failure the new file is removed.
absl::Status WriteNewFile(const std::string& path, std::string_view content,
                          mode_t mode);

// Replaces (or creates) `path` with `content` atomically: a temporary file
// in the same directory is written, fsync'ed, renamed over `path`, and the
// directory fsync'ed. Creates missing parent directories.
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view content, mode_t mode = 0644);

// Appends the lines `content` to the regular file `path` (created with
// `mode` if missing; symbolic links are refused) and fsyncs it (and its
// directory when created). If the file does not end in '\n', one is
// written first, so a line torn by an earlier crash stays a line of its
// own. When `mode` gives group and others no access (a file of secrets),
// an existing file that does is refused (FAILED_PRECONDITION) rather than
// appended to. A crash during the call may leave a prefix of `content` at
// the end of the file, never damage what was there.
absl::Status AppendDurably(const std::string& path, std::string_view content,
                           mode_t mode);

}  // namespace vigil::server

#endif  // VIGIL_SERVER_FILES_H_
