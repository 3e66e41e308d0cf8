#pragma once
// Structured logging on top of spdlog: one line per event, as logfmt
// (`ts=... level=info msg="check state changed" check=api to=unhealthy`) or as
// JSON, chosen by --log.format. Thread-safe (spdlog's logger is mt).
//
// Callers pass fields, never a pre-formatted sentence with values spliced in,
// so every value is escaped and nothing can forge a field. Never pass secrets.

#include <spdlog/common.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace hx::log {

enum class Format { kLogfmt, kJson };

struct Field {
  std::string_view key;
  std::string value;
};

/// Installs the process-wide stderr logger. Safe to call again (tests).
void Init(spdlog::level::level_enum level, Format format);

/// Parses "debug", "info", "warn", "error"; false if unknown.
bool ParseLevel(std::string_view text, spdlog::level::level_enum* level);
/// Parses "logfmt", "json"; false if unknown.
bool ParseFormat(std::string_view text, Format* format);

/// Renders one event line without the trailing newline (exposed for tests).
std::string Render(Format format, double unix_seconds, spdlog::level::level_enum level,
                   std::string_view msg, std::initializer_list<Field> fields);

void Write(spdlog::level::level_enum level, std::string_view msg,
           std::initializer_list<Field> fields = {});

/// Whether an event at `level` would be written; lets a hot path skip
/// building fields (strings) that would be thrown away.
bool Enabled(spdlog::level::level_enum level);

inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::debug, msg, fields);
}
inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::info, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::warn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(spdlog::level::err, msg, fields);
}

}  // namespace hx::log
