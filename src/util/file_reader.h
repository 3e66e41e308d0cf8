#pragma once
// The one way health_exporter reads a whole file it was pointed at (a config
// file, a drop-in, a secret file, the web config): bounded, regular files
// only, and never waiting for a writer.
//
// - The file is opened with O_NONBLOCK, so that opening a FIFO nobody writes
//   returns at once instead of waiting for a writer; fstat then rejects
//   anything that is not a regular file (FIFO, character or block device such
//   as /dev/zero, socket, directory) before a single byte is read.
// - At most `max_bytes` are read; a file claiming or turning out to be larger
//   is an error. Memory grows with what was actually read, never with the
//   size the file claims, so /proc files (size 0) read fine and a 3 GB file
//   costs nothing.
// - A filesystem that hangs (a dead NFS server, a stuck FUSE daemon) can
//   still block open() or read() forever: callers that must stay responsive
//   run this off their own thread with a deadline (see ReloadCoordinator).
//
// Thread-safe: no shared state. Does blocking file I/O, so never call it on
// the event loop.

#include <cstddef>
#include <optional>
#include <string>

namespace hx {

/// Largest config file read: each file of a config directory, the config
/// directory's files together, and the web config. Far above any real config
/// (10,000 checks are about 1 MiB) and far below what would exhaust memory.
inline constexpr size_t kMaxConfigFileBytes = 16 * 1024 * 1024;

/// Reads the whole regular file at `path` (symlinks followed), at most
/// `max_bytes`. On failure returns nullopt and sets *error to the reason,
/// without the path (callers name the file their own way):
///   - the system's message: "No such file or directory", "Permission denied"
///   - "a FIFO, not a regular file" (also: "a directory", "a character
///     device", "a block device", "a socket")
///   - "larger than 16 MiB" (`max_bytes` as FormatByteLimit() writes it)
/// `mode`, when given, receives the file's st_mode as the open file had it
/// (e.g. to warn about a world-readable secret without a second lookup).
std::optional<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes,
                                           std::string* error, unsigned* mode = nullptr);

/// "16 MiB", "64 KiB", "1000 bytes": a limit as messages and docs write it.
std::string FormatByteLimit(size_t bytes);

}  // namespace hx
