#include "store/storage_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "util/quote.h"

namespace hx::store {

std::optional<std::string> CheckStorageDirectory(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Quote(dir) + " is not a directory";
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return "cannot create " + Quote(dir) + ": " + ec.message();
  }
  std::string probe = (std::filesystem::path(dir) / ".write-test-XXXXXX").string();
  const int fd = mkostemp(probe.data(), O_CLOEXEC);
  if (fd < 0) return "cannot write in " + Quote(dir) + ": " + std::strerror(errno);
  close(fd);
  unlink(probe.c_str());
  return std::nullopt;
}

}  // namespace hx::store
