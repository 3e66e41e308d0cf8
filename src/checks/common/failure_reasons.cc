#include "checks/common/failure_reasons.h"

#include <uv.h>

#include <cerrno>
#include <cstring>

namespace hx {

FailureReason ReasonOf(ResolveFailure failure) {
  switch (failure) {
    case ResolveFailure::kNone:
      return FailureReason::kNone;
    case ResolveFailure::kNxDomain:
      return FailureReason::kDnsNxdomain;
    case ResolveFailure::kTimeout:
      return FailureReason::kDnsTimeout;
    case ResolveFailure::kOther:
      return FailureReason::kDnsError;
    case ResolveFailure::kLocal:
      return FailureReason::kInternal;
  }
  return FailureReason::kDnsError;
}

FailureReason ReasonOfFailedLookup(ResolveFailure failure) {
  return failure == ResolveFailure::kNone ? FailureReason::kDnsError : ReasonOf(failure);
}

FailureReason ReasonOf(QueryFailure failure) {
  switch (failure) {
    case QueryFailure::kNone:
      return FailureReason::kNone;
    case QueryFailure::kTimeout:
      return ReasonOf(ResolveFailure::kTimeout);
    case QueryFailure::kRefused:
      return ReasonOfSocketError(UV_ECONNREFUSED);
    case QueryFailure::kBadResponse:
      return FailureReason::kProtocolError;
    case QueryFailure::kLocal:
      return ReasonOf(ResolveFailure::kLocal);
    case QueryFailure::kOther:
      return ReasonOf(ResolveFailure::kOther);
  }
  return FailureReason::kDnsError;
}

FailureReason ReasonOfSocketError(int uv_error) {
  switch (uv_error) {
    case UV_ECONNREFUSED:
      return FailureReason::kConnectRefused;
    case UV_ETIMEDOUT:
      return FailureReason::kConnectTimeout;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_ENETDOWN:
    case UV_EADDRNOTAVAIL:
      return FailureReason::kNetworkUnreachable;
    case UV_ECONNRESET:
    case UV_ECONNABORTED:
    case UV_EPIPE:
    case UV_EOF:
      return FailureReason::kConnectionClosed;
    case UV_EMFILE:
    case UV_ENFILE:
    case UV_ENOMEM:
    case UV_ENOBUFS:
    case UV_EACCES:
    case UV_EPERM:
      return FailureReason::kInternal;
    default:
      return FailureReason::kProtocolError;
  }
}

FailureReason ReasonOfSocketErrorText(std::string_view text) {
  // ENFILE's text contains EMFILE's ("Too many open files"): it comes first.
  static constexpr int kErrors[] = {ECONNREFUSED,  ETIMEDOUT,  ENETUNREACH,  EHOSTUNREACH, ENETDOWN,
                                    EADDRNOTAVAIL, ECONNRESET, ECONNABORTED, EPIPE,        ENFILE,
                                    EMFILE,        ENOMEM,     ENOBUFS,      EACCES,       EPERM};
  for (const int error : kErrors) {
    // strerror() of a known errno is a static text; glibc's is thread-safe.
    if (text.find(std::strerror(error)) != std::string_view::npos) {
      return ReasonOfSocketError(-error);
    }
  }
  if (text.find(std::strerror(ENOENT)) != std::string_view::npos) {
    return FailureReason::kConnectRefused;
  }
  return FailureReason::kNone;
}

}  // namespace hx
