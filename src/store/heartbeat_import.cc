#include "store/heartbeat_import.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/log.h"
#include "util/quote.h"

namespace hx::store {
namespace {

// The previous versions' limit (HeartbeatStore::kMaxFileBytes): a larger
// file is corrupt (a healthy one is ~200 bytes per check).
constexpr std::streamoff kMaxFileBytes = 4 * 1024 * 1024;

bool FiniteNonNegative(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0;
}

struct Parsed {
  HeartbeatRow row;
  double removed_at = 0;
};

// Parses format version 1 (as the previous versions wrote it); nullopt and
// *error on anything unexpected.
std::optional<std::vector<Parsed>> Parse(const std::string& text, std::string* error) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    *error = "not valid JSON";
    return std::nullopt;
  }
  if (!doc.is_object() || !doc.contains("version") || doc["version"] != 1) {
    *error = "not a version 1 heartbeat state file";
    return std::nullopt;
  }
  if (!doc.contains("checks") || !doc["checks"].is_object()) {
    *error = "no \"checks\" object";
    return std::nullopt;
  }
  std::vector<Parsed> parsed;
  for (const auto& [name, entry] : doc["checks"].items()) {
    const bool shape_ok = entry.is_object() && entry.contains("watched_since") &&
                          FiniteNonNegative(entry["watched_since"]) &&
                          entry.contains("last_ping") && FiniteNonNegative(entry["last_ping"]) &&
                          entry.contains("last_ok") && entry["last_ok"].is_boolean() &&
                          entry.contains("detail") && entry["detail"].is_string() &&
                          (!entry.contains("removed_at") || FiniteNonNegative(entry["removed_at"]));
    if (!shape_ok) {
      *error = "malformed entry for check " + Quote(name);
      return std::nullopt;
    }
    Parsed p;
    p.row.check = name;
    p.row.watched_since = entry["watched_since"].get<double>();
    p.row.last_ping = entry["last_ping"].get<double>();
    p.row.last_ok = entry["last_ok"].get<bool>();
    p.row.detail = entry["detail"].get<std::string>();
    p.removed_at = entry.value("removed_at", 0.0);
    parsed.push_back(std::move(p));
  }
  return parsed;
}

}  // namespace

HeartbeatImport ImportHeartbeatJson(Store& store, const std::string& json_path) {
  HeartbeatImport result;
  std::ifstream in(json_path, std::ios::binary);
  if (!in) {
    result.error = "cannot read " + Quote(json_path) + ": " + std::strerror(errno);
    log::Warn("heartbeat state file not imported", {{"error", *result.error}});
    return result;
  }
  // Bounded: reads at most one byte past the limit, whatever the file's size.
  std::string text;
  char chunk[8192];
  while (in && static_cast<std::streamoff>(text.size()) <= kMaxFileBytes) {
    in.read(chunk, sizeof(chunk));
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  std::string parse_error;
  std::optional<std::vector<Parsed>> parsed;
  if (static_cast<std::streamoff>(text.size()) > kMaxFileBytes) {
    parse_error = "larger than 4 MiB";
  } else {
    parsed = Parse(text, &parse_error);
  }
  if (!parsed) {
    result.error = Quote(json_path) + " is corrupt: " + parse_error;
    const std::string aside = json_path + ".corrupt";
    if (std::rename(json_path.c_str(), aside.c_str()) == 0) {
      *result.error += " (moved to " + aside + ")";
    }
    log::Warn("heartbeat state file not imported, last heartbeats are forgotten",
              {{"error", *result.error}});
    return result;
  }
  if (store.mode() != StoreMode::kPersistent) {
    result.error = "the store is memory-only (" + store.problem() + "); " + Quote(json_path) +
                   " is kept and imported at a later start";
    log::Warn("heartbeat state file not imported yet", {{"error", *result.error}});
    // Still serve this run from it: the rows go to the in-memory store.
  }
  store.Flush();  // what was lost before is not ours to report
  for (Parsed& p : *parsed) {
    if (store.ImportHeartbeat(std::move(p.row), p.removed_at)) ++result.imported;
  }
  const bool committed = store.Flush();
  if (result.error) return result;
  if (!committed || store.mode() != StoreMode::kPersistent) {
    result.error = "writing the imported heartbeats failed; " + Quote(json_path) +
                   " is kept and imported again at the next start";
    log::Warn("heartbeat state file not imported", {{"error", *result.error}});
    return result;
  }
  const std::string done = json_path + ".imported";
  if (std::rename(json_path.c_str(), done.c_str()) != 0) {
    result.error = "imported, but cannot rename " + Quote(json_path) + " to " + Quote(done) + ": " +
                   std::strerror(errno) + " (it would be imported again; newer rows are kept)";
    log::Warn("heartbeat state file imported but not renamed", {{"error", *result.error}});
    return result;
  }
  log::Info("heartbeat state file imported into the store",
            {{"from", json_path},
             {"to", store.path()},
             {"checks", std::to_string(result.imported)},
             {"renamed_to", done}});
  return result;
}

}  // namespace hx::store
