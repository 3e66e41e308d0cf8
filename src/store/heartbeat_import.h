#pragma once
// The one-time move of the heartbeat state file of the versions before the
// store (<storage.path>/heartbeats.json, format version 1) into the store.
// Nothing writes that file any more; this is its only reader.
//
// How it is called (HeartbeatService::Open, once, at start-up, after
// Store::Open and before the heartbeat state is loaded from the store):
//
//   const std::string json = storage_path + "/heartbeats.json";
//   if (std::filesystem::exists(json)) store::ImportHeartbeatJson(*store, json);
//
// On success the file is renamed to heartbeats.json.imported (kept as a
// backup, never read again), so a second start does not import twice and a
// downgrade finds no file it would trust over the store. An imported row
// replaces a stored one only if its last ping is newer. If the store is
// memory-only or a write fails, the file is left in place and the import is
// tried again at the next start. A corrupt file is renamed to
// heartbeats.json.corrupt (as the previous versions did) and logged.
// Stateless function: thread-safe as the Store is.

#include <optional>
#include <string>

#include "store/store.h"

namespace hx::store {

/// What ImportHeartbeatJson did. A plain value.
struct HeartbeatImport {
  /// Checks imported.
  size_t imported = 0;
  /// Why nothing (or not everything) was imported, naming the file; nullopt
  /// when the import completed (the file is now <path>.imported).
  std::optional<std::string> error;
};

/// Imports `json_path` into `store` and renames it; blocking (flushes the store).
HeartbeatImport ImportHeartbeatJson(Store& store, const std::string& json_path);

}  // namespace hx::store
