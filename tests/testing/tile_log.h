// A c2sp.org/tlog-tiles log held in memory, for monitor tests: entries are
// appended, Publish() writes every tile, entry bundle and a checkpoint
// signed with the log's own key, and files() can be edited to play a log
// that forks, rolls back or corrupts a tile.
//
// Thread-safety: not thread-safe.

#ifndef VIGIL_TESTS_TESTING_TILE_LOG_H_
#define VIGIL_TESTS_TESTING_TILE_LOG_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/tile_source.h"
#include "merkle/note.h"

namespace vigil::testing {

class TileLog final : public client::TileSource {
 public:
  explicit TileLog(std::string origin);

  std::string vkey() const { return signer_->verifier().vkey(); }

  void Append(std::string entry) { entries_.push_back(std::move(entry)); }
  // Replaces every resource by those of the tree of all entries so far.
  void Publish();
  // The signed checkpoint of the first `size` entries (size <= entries).
  std::string SignedCheckpoint(uint64_t size) const;

  std::vector<std::string>& entries() { return entries_; }
  std::map<std::string, std::string, std::less<>>& files() { return files_; }

  // The resource at `path`; NOT_FOUND if there is none.
  absl::StatusOr<std::string> Fetch(std::string_view path) override;

 private:
  std::string origin_;
  std::optional<merkle::Ed25519Signer> signer_;
  std::vector<std::string> entries_;
  std::map<std::string, std::string, std::less<>> files_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_TILE_LOG_H_
