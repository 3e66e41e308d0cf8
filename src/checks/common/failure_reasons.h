#pragma once
// The failure reasons of steps every network type shares (checks/
// failure_reason.h): a resolution that failed and a connect or socket error.
// One mapping here, so that "connection refused" reads connect_refused
// whichever type met it. Pure functions; thread-safe.

#include <string_view>

#include "checks/failure_reason.h"
#include "io/resolver.h"

namespace hx {

/// dns_nxdomain, dns_timeout, dns_error or internal (kLocal); kNone for
/// a resolution that worked.
FailureReason ReasonOf(ResolveFailure failure);

/// The reason of a lookup that failed: as ReasonOf(failure), and dns_error
/// where the resolver classified nothing (a failure is still a failed
/// lookup).
FailureReason ReasonOfFailedLookup(ResolveFailure failure);

/// The reason of a DNS query that got no response (a `dns` check's own
/// query): dns_timeout, connect_refused, protocol_error (unreadable
/// response), internal (kLocal) or dns_error; kNone for a response.
FailureReason ReasonOf(QueryFailure failure);

/// The reason of a failed connect, send or receive, from a libuv error
/// (UV_ECONNREFUSED, UV_ETIMEDOUT, ...) or a negated errno:
/// connect_refused, connect_timeout, network_unreachable, connection_closed
/// (reset, EOF, broken pipe), internal (out of descriptors or memory, a
/// local error) and protocol_error for anything else.
FailureReason ReasonOfSocketError(int uv_error);

/// The reason of a connection error a client library (libpq, hiredis)
/// reports only as text built from strerror(): the first socket error named
/// in `text` ("Connection refused", "Connection timed out", "No route to
/// host", "Connection reset by peer", "Too many open files", ...) through
/// ReasonOfSocketError; "No such file or directory" (a unix socket nobody
/// listens on) reads as connect_refused. kNone when `text` names none. Only
/// for the library's own connection errors, never a server's message.
FailureReason ReasonOfSocketErrorText(std::string_view text);

}  // namespace hx
