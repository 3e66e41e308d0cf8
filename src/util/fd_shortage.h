#pragma once
// When the daemon itself runs out of file descriptors (EMFILE: its own
// RLIMIT_NOFILE; ENFILE: the system's table), every check that opens a
// socket or file fails. Blaming the target ("could not connect") would send
// people to the wrong machine, so checks report it as the daemon's own
// problem, with one warning in the log (rate-limited), through these
// helpers. Thread-safe.

#include <string>
#include <string_view>

namespace hx {

/// Whether `error` (a positive errno value, or a negative libuv code) means
/// that no file descriptor was available: EMFILE or ENFILE.
bool IsFdShortage(int error);

/// `error` (errno or libuv code) when it is a shortage; otherwise, when
/// `error` is 0 or a failure that a shortage may hide behind (a library
/// that lost the errno), whether the process can open a descriptor right
/// now (a dup that is closed at once): EMFILE/ENFILE, or 0 when there is
/// no shortage.
int ProbeFdShortage(int error = 0);

/// EMFILE or ENFILE when `text` (a library's error message built from
/// strerror, e.g. libpq's "could not create socket: Too many open files")
/// names a shortage; 0 otherwise.
int FdShortageInText(std::string_view text);

/// The detail for a check that could not do `what` for lack of descriptors,
/// e.g. `health_exporter out of file descriptors (EMFILE): cannot open a
/// socket; the target was not tried`, and a warning in the log at most once
/// a minute saying that the daemon (not the targets) is out of descriptors,
/// with the number it has open, its limit, and how many were not logged.
/// `error` is EMFILE or ENFILE (positive, or a libuv code).
std::string ReportFdShortage(int error, std::string_view what);

}  // namespace hx
