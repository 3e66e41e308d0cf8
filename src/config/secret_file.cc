#include "config/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/log.h"
#include "util/quote.h"

namespace hx::config {

std::optional<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                          std::string* error) {
  const std::string kind = std::string(what) + " file " + Quote(path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read " + kind + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    *error = "cannot read " + kind + ": not a regular file";
    return std::nullopt;
  }
  if (st.st_mode & S_IROTH) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    log::Warn("secret file is readable by other users; chmod o-r it",
              {{"file", path}, {"mode", mode}});
  }
  std::string content;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      *error = "cannot read " + kind + ": " + std::strerror(saved);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > kMaxSecretFileBytes) {
      close(fd);
      *error = kind + " is larger than 64 KiB";
      return std::nullopt;
    }
  }
  close(fd);
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  return content;
}

std::optional<std::string> ReadSecretFile(ParseContext& ctx, const std::string& path,
                                          std::string_view what, std::string* error) {
  std::optional<std::string> content = ReadSecretFile(path, what, error);
  if (content) ctx.NoteExternalInput(*content);
  return content;
}

}  // namespace hx::config
