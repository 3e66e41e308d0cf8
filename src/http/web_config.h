#pragma once
// Securing the daemon's own endpoints: the exporter-toolkit web config file
// (`--web.config.file`) that Prometheus users already know, with
// `tls_server_config` and bcrypt `basic_auth_users`.
//
// Immutable once loaded; safe to share between threads.

#include <memory>
#include <string>

namespace hx {

/// A loaded web config: TLS server settings and the users allowed in.
struct WebSecurity;

/// Reads and validates a web config file. Returns nullptr and sets *error
/// (naming the file, line and key, never a password or hash) when invalid.
std::shared_ptr<const WebSecurity> LoadWebConfigFile(const std::string& path, std::string* error);

}  // namespace hx
