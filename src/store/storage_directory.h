#pragma once
// The start-up check of --storage.path, before Store::Open. The store itself
// never fails (a directory it cannot use makes it run memory-only), but a
// directory the daemon cannot create or write in is a mistake in the command
// line or the unit, seen by the operator who just started it: the daemon
// stops with the reason rather than run a whole life whose heartbeats,
// journal and history vanish at the next restart. Stateless: thread-safe.

#include <optional>
#include <string>

namespace hx::store {

/// Creates `dir` (and its parents) if missing and proves that this process
/// can write in it (creates and removes a file there; a real write, since
/// root passes access(2) whatever the mode bits and a read-only mount shows
/// only when writing). Returns a message naming the directory and the reason,
/// e.g. `"/x" is not a directory`, `cannot create "/x/y": Not a directory`,
/// `cannot write in "/x": Permission denied`; nullopt when it is usable.
std::optional<std::string> CheckStorageDirectory(const std::string& dir);

}  // namespace hx::store
