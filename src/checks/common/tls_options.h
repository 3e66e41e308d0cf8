#pragma once
// Client TLS settings shared by the check types that speak TLS (http, tcp).
// Plain data; immutable once parsed, safe to share.

#include <optional>
#include <string>

#include "checks/failure_reason.h"
#include "config/parse_context.h"

namespace hx {

struct TlsOptions {
  std::string ca_file;      ///< PEM bundle to verify the server with (default: system store)
  std::string cert_file;    ///< client certificate (PEM), with key_file
  std::string key_file;     ///< client key (PEM)
  std::string server_name;  ///< name to send as SNI and verify against (default: host)
  bool insecure_skip_verify = false;  ///< accept any certificate (expiry is still reported)
};

/// Reads a `tls:` mapping: ca_file, cert_file, key_file, server_name,
/// insecure_skip_verify. Files must be readable at load time; cert_file and
/// key_file go together. Calls tls.Finish(). Returns nullopt on any error.
std::optional<TlsOptions> ParseTlsOptions(config::MapReader& tls);

/// The failure reason of a certificate that failed verification, from
/// OpenSSL's verify result (X509_V_ERR_*): tls_expired (expired or not yet
/// valid), tls_hostname (the name or IP asked for is not in it) or
/// tls_untrusted (any other chain problem). The one mapping for http, grpc,
/// tcp and tls. Pure; thread-safe.
FailureReason ReasonOfCertificateError(long x509_verify_result);

}  // namespace hx
