#pragma once
// Reading a secret (password, token) from a file named in the config, the
// same way for every check type. Thread-safe; does blocking file I/O, so call
// it while loading a config, never on the event loop.

#include <optional>
#include <string>
#include <string_view>

#include "config/parse_context.h"

namespace hx::config {

/// Largest secret file read; anything larger is a mistake (a wrong path).
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

/// Returns the file's content without the trailing newline(s) an editor or
/// `echo` leaves. On failure returns nullopt and sets *error to a message
/// naming the path (never the content), e.g. `cannot read password file
/// "/etc/x.pass": Permission denied`; `what` is "password" or "token".
/// Logs a warning when the file is readable by other users.
std::optional<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                          std::string* error);

/// Same, while loading a config: also notes the content's digest in `ctx`,
/// so that a reload restarts the check when the secret changed.
std::optional<std::string> ReadSecretFile(ParseContext& ctx, const std::string& path,
                                          std::string_view what, std::string* error);

}  // namespace hx::config
