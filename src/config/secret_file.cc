#include "config/secret_file.h"

#include <sys/stat.h>

#include <cstdio>

#include "util/file_reader.h"
#include "util/log.h"
#include "util/quote.h"

namespace hx::config {

std::optional<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                          std::string* error) {
  const std::string kind = std::string(what) + " file " + Quote(path);
  unsigned file_mode = 0;
  std::optional<std::string> content =
      ReadBoundedFile(path, kMaxSecretFileBytes, error, &file_mode);
  if (!content) {
    *error = "cannot read " + kind + ": " + *error;
    return std::nullopt;
  }
  if (file_mode & S_IROTH) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", file_mode & 07777);
    log::Warn("secret file is readable by other users; chmod o-r it",
              {{"file", path}, {"mode", mode}});
  }
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r')) {
    content->pop_back();
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
