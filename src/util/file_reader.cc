#include "util/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hx {
namespace {

// What a file that is not a regular file is, for "a FIFO, not a regular file".
const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

// Closes the descriptor on every path out.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string FormatByteLimit(size_t bytes) {
  constexpr size_t kKiB = 1024;
  constexpr size_t kMiB = 1024 * kKiB;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

std::optional<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes,
                                           std::string* error, unsigned* mode) {
  // O_NONBLOCK: a FIFO opens at once even without a writer (and is then
  // rejected below); O_NOCTTY: a terminal named by mistake does not become
  // our controlling terminal.
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  if (mode != nullptr) *mode = st.st_mode;
  if (!S_ISREG(st.st_mode)) {
    *error = std::string(KindOf(st.st_mode)) + ", not a regular file";
    return std::nullopt;
  }
  auto too_large = [&] { return "larger than " + FormatByteLimit(max_bytes); };
  if (st.st_size > 0 && static_cast<unsigned long long>(st.st_size) > max_bytes) {
    *error = too_large();
    return std::nullopt;
  }
  // A regular file: blocking reads from here on (O_NONBLOCK means nothing to
  // most filesystems for regular files, but a network filesystem may honour
  // it with EAGAIN, which would be a spurious failure).
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags >= 0) fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);

  std::string content;
  // The size is only a hint (0 for /proc files, stale if the file grows);
  // it is at most max_bytes here, so reserving it is bounded.
  content.reserve(static_cast<size_t>(st.st_size));
  char buffer[64 * 1024];
  while (true) {
    // One byte beyond the limit tells "exactly max_bytes" from "more".
    const size_t want = std::min(sizeof buffer, max_bytes + 1 - content.size());
    const ssize_t n = read(fd.get(), buffer, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > max_bytes) {
      *error = too_large();
      return std::nullopt;
    }
  }
  return content;
}

}  // namespace hx
