#include "server/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_format.h"

namespace vigil::server {
namespace {

absl::Status Errno(std::string_view what, const std::string& path, int err) {
  return absl::UnavailableError(
      absl::StrFormat("cannot %s %s: %s", what, path, std::strerror(err)));
}

// Closes a descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  // Closes now and reports whether close succeeded (it can report a
  // deferred write error).
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return close(fd) == 0;
  }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, std::string_view content,
                      const std::string& path) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path, errno);
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncAndClose(FileDescriptor& fd, const std::string& path) {
  if (fsync(fd.get()) != 0) return Errno("sync", path, errno);
  if (!fd.Close()) return Errno("close", path, errno);
  return absl::OkStatus();
}

// NOT_FOUND only when the file does not exist: any other failure (no
// permission, too many open files, I/O error) must not pass for "absent".
absl::Status OpenError(const std::string& what, int err) {
  const std::string message =
      absl::StrFormat("cannot open %s: %s", what, std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::UnavailableError(message);
}

std::string ParentOf(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

absl::Status SyncDirectory(const std::string& dir) {
  FileDescriptor fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open directory", dir, errno);
  if (fsync(fd.get()) != 0) return Errno("sync directory", dir, errno);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadOpenFile(int fd, const std::string& path,
                                         size_t max_bytes) {
  std::string content;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path, errno);
    if (n == 0) break;
    if (content.size() + static_cast<size_t>(n) > max_bytes) {
      explicit_bzero(buffer, sizeof buffer);
      return absl::InvalidArgumentError(
          absl::StrFormat("%s is larger than %d bytes", path, max_bytes));
    }
    content.append(buffer, static_cast<size_t>(n));
  }
  explicit_bzero(buffer, sizeof buffer);  // It may have held key material.
  return content;
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes) {
  // O_NONBLOCK: a FIFO must not hang the open before it is refused below.
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return OpenError(path, errno);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is not a regular file", path));
  }
  return ReadOpenFile(fd.get(), path, max_bytes);
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path, bool secret) {
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return OpenError("key file " + path, errno);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("key file %s is not a regular file", path));
  }
  if (secret && (info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "private key file %s has mode %04o: group and others must have no "
        "access (chmod 600)",
        path, info.st_mode & 07777));
  }
  absl::StatusOr<std::string> key =
      ReadOpenFile(fd.get(), path, size_t{64} * 1024);
  if (!key.ok()) {
    if (absl::IsInvalidArgument(key.status())) {
      return absl::InvalidArgumentError(
          absl::StrFormat("key file %s is too large", path));
    }
    return key.status();
  }
  if (!key->empty() && key->back() == '\n') key->pop_back();
  return key;
}

absl::Status WriteNewFile(const std::string& path, std::string_view content,
                          mode_t mode) {
  FileDescriptor fd(
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrFormat("%s already exists; it is never replaced", path));
    }
    return Errno("create", path, errno);
  }
  absl::Status s = WriteAll(fd.get(), content, path);
  if (s.ok()) s = SyncAndClose(fd, path);
  if (!s.ok()) {
    unlink(path.c_str());  // Never leave a part of a file behind.
    return s;
  }
  return SyncDirectory(ParentOf(path));
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view content, mode_t mode) {
  const std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrFormat("cannot create %s: %s", dir.string(), ec.message()));
  }
  // A name no other writer in this or another process uses at once.
  static std::atomic<uint64_t> counter{0};
  const std::string temp =
      absl::StrFormat("%s.tmp-%d-%d", path, getpid(), counter++);
  if (absl::Status s = WriteNewFile(temp, content, mode); !s.ok()) return s;
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::filesystem::remove(temp, ec);
    return absl::UnavailableError(absl::StrFormat(
        "cannot rename %s to %s: %s", temp, path, std::strerror(err)));
  }
  return SyncDirectory(dir.string());
}

absl::Status AppendDurably(const std::string& path, std::string_view content,
                           mode_t mode) {
  const bool created = access(path.c_str(), F_OK) != 0;
  FileDescriptor fd(open(path.c_str(),
                         O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                         mode));
  if (fd.get() < 0) return Errno("open", path, errno);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is not a regular file", path));
  }
  if ((mode & 077) == 0 && (info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has mode %04o but holds secrets: group and others must have no "
        "access (chmod 600)",
        path, info.st_mode & 07777));
  }
  // A line torn by a crash stays a line of its own.
  if (info.st_size > 0) {
    char last = '\n';
    if (pread(fd.get(), &last, 1, info.st_size - 1) != 1) {
      return Errno("read", path, errno);
    }
    if (last != '\n') {
      if (absl::Status s = WriteAll(fd.get(), "\n", path); !s.ok()) return s;
    }
  }
  if (absl::Status s = WriteAll(fd.get(), content, path); !s.ok()) return s;
  if (absl::Status s = SyncAndClose(fd, path); !s.ok()) return s;
  return created ? SyncDirectory(ParentOf(path)) : absl::OkStatus();
}

}  // namespace vigil::server
