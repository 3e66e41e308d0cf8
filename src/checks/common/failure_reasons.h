#pragma once
// The failure reasons of steps every network type shares (checks/
// failure_reason.h): a resolution that failed and a connect or socket error.
// One mapping here, so that "connection refused" reads connect_refused
// whichever type met it. Pure functions; thread-safe.

#include "checks/failure_reason.h"
#include "io/resolver.h"

namespace hx {

/// dns_nxdomain, dns_timeout, dns_error or internal (kLocal); kNone for
/// a resolution that worked.
FailureReason ReasonOf(ResolveFailure failure);

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

}  // namespace hx
