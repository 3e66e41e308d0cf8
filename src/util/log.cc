#include "util/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

namespace hx::log {
namespace {

std::atomic<Format> g_format{Format::kLogfmt};

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

std::string Rfc3339Millis(double unix_seconds) {
  auto whole = static_cast<time_t>(std::floor(unix_seconds));
  int millis = static_cast<int>((unix_seconds - static_cast<double>(whole)) * 1000);
  if (millis > 999) millis = 999;
  struct tm tm_utc {};
  gmtime_r(&whole, &tm_utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", millis);
  return buf;
}

// logfmt: bare when the value is a simple token, otherwise quoted with
// backslash escapes so a value can never start a new field or line.
void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool bare = !v.empty();
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u >= 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char esc[8];
          snprintf(esc, sizeof esc, "\\x%02x", u);
          out.append(esc);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void Init(spdlog::level::level_enum level, Format format) {
  g_format.store(format);
  auto logger = std::make_shared<spdlog::logger>(
      "health_exporter", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

bool ParseLevel(std::string_view text, spdlog::level::level_enum* level) {
  if (text == "debug") *level = spdlog::level::debug;
  else if (text == "info") *level = spdlog::level::info;
  else if (text == "warn") *level = spdlog::level::warn;
  else if (text == "error") *level = spdlog::level::err;
  else return false;
  return true;
}

bool ParseFormat(std::string_view text, Format* format) {
  if (text == "logfmt") *format = Format::kLogfmt;
  else if (text == "json") *format = Format::kJson;
  else return false;
  return true;
}

std::string Render(Format format, double unix_seconds, spdlog::level::level_enum level,
                   std::string_view msg, std::initializer_list<Field> fields) {
  if (format == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = Rfc3339Millis(unix_seconds);
    j["level"] = LevelName(level);
    j["msg"] = msg;
    for (const auto& f : fields) j[std::string(f.key)] = f.value;
    // Replace invalid UTF-8 rather than throwing: a target's bytes may end up in a detail.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  out.reserve(64 + msg.size());
  out.append("ts=").append(Rfc3339Millis(unix_seconds));
  out.append(" level=").append(LevelName(level));
  out.append(" msg=");
  AppendLogfmtValue(out, msg);
  for (const auto& f : fields) {
    out.push_back(' ');
    out.append(f.key).push_back('=');
    AppendLogfmtValue(out, f.value);
  }
  return out;
}

void Write(spdlog::level::level_enum level, std::string_view msg,
           std::initializer_list<Field> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  double now = std::chrono::duration<double>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  logger->log(level, "{}", Render(g_format.load(), now, level, msg, fields));
}

bool Enabled(spdlog::level::level_enum level) {
  return spdlog::default_logger_raw()->should_log(level);
}

}  // namespace hx::log
