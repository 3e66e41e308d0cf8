#pragma once
// Securing the daemon's own endpoints: the exporter-toolkit web config file
// (`--web.config.file`) that Prometheus users already know, with
// `tls_server_config`, bcrypt `basic_auth_users` and
// `http_server_config.headers`. See docs/web-security.md.
//
// WebSecurity is immutable once loaded and safe to share between threads;
// its BasicAuthenticator (http/basic_auth.h) is thread-safe.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/basic_auth.h"

using SSL_CTX = struct ssl_ctx_st;

namespace hx {

/// exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType).
enum class ClientAuthType {
  kNoClientCert,                ///< no certificate is asked for
  kRequestClientCert,           ///< asked for, not required, not verified
  kRequireAnyClientCert,        ///< required, not verified
  kVerifyClientCertIfGiven,     ///< not required, verified against client_ca_file if sent
  kRequireAndVerifyClientCert,  ///< required and verified against client_ca_file
};

/// The parsed `tls_server_config`, with paths resolved against the web config
/// file's directory, and the OpenSSL server context built from it.
struct TlsServerSettings {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  ///< empty when not set
  ClientAuthType client_auth = ClientAuthType::kNoClientCert;
  int min_version = 0;  ///< OpenSSL's TLS1_2_VERSION or TLS1_3_VERSION
  int max_version = 0;  ///< 0 = the newest the library supports
  /// Ready to use: certificate, key, CA list, verify mode, versions.
  /// SSL_CTX is reference counted and safe to use from many threads.
  std::shared_ptr<SSL_CTX> context;
};

/// A loaded web config.
struct WebSecurity {
  /// TLS settings; nullopt serves plain HTTP.
  std::optional<TlsServerSettings> tls;
  /// Basic auth; null when no users are configured (no authentication).
  std::shared_ptr<const BasicAuthenticator> basic_auth;
  /// health_exporter extension `health_exporter.open_probe_endpoints`: when
  /// true (the default) /healthz and /readyz answer without credentials,
  /// because kubelet probes and load balancers cannot send any.
  bool open_probe_endpoints = true;
  /// `http_server_config.headers`: added to every response.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Reads and validates a web config file. Returns nullptr and sets *error
/// (`file:line:col: key: message`, one line per problem, never a password or
/// hash) when invalid.
std::shared_ptr<const WebSecurity> LoadWebConfigFile(const std::string& path, std::string* error);

/// Like LoadWebConfigFile() on `yaml` text; relative paths in it are resolved
/// against `base_dir`, `file` names it in messages.
std::shared_ptr<const WebSecurity> LoadWebConfigString(const std::string& yaml,
                                                       const std::string& file,
                                                       const std::string& base_dir,
                                                       std::string* error);

}  // namespace hx
