#include "http/web_config.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <tuple>

#include "config/parse_context.h"
#include "util/ascii.h"
#include "util/file_reader.h"

namespace hx {
namespace {

using config::MapReader;
using config::ParseContext;

// The message of the last OpenSSL error, e.g. "key values mismatch"; clears
// the queue so that the next operation starts clean.
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// bcrypt's form: $2a$, $2b$ or $2y$, a two-digit cost 04..31, '$', 22
// characters of salt and 31 of hash from bcrypt's base64 alphabet.
bool LooksLikeBcrypt(std::string_view hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
  });
}

// The security headers exporter-toolkit lets a web config set, with the
// spelling they are sent in. Other headers could break the protocol
// (Content-Length, Connection, ...).
constexpr std::string_view kAllowedHeaders[] = {
    "Strict-Transport-Security", "X-Content-Type-Options",  "X-Frame-Options",
    "X-XSS-Protection",          "Content-Security-Policy",
};

// Keys exporter-toolkit has that health_exporter does not implement: set, they
// are an error (a user relying on them must not get a weaker server silently).
void RejectUnsupported(MapReader& reader, std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    if (reader.Has(key)) {
      reader.Accept(key);
      reader.Error(key, "not supported by health_exporter (see docs/web-security.md)");
    }
  }
}

std::optional<int> ReadTlsVersion(MapReader& tls, std::string_view key) {
  std::optional<std::string> text = tls.String(key, /*expand_env=*/false);
  if (!text) return std::nullopt;
  if (*text == "TLS12") return TLS1_2_VERSION;
  if (*text == "TLS13") return TLS1_3_VERSION;
  if (*text == "TLS10" || *text == "TLS11") {
    tls.Error(key, *text + " is not supported (obsolete); use TLS12 or TLS13");
  } else {
    tls.Error(key, "expected TLS12 or TLS13, got \"" + *text + "\"");
  }
  return std::nullopt;
}

std::optional<ClientAuthType> ReadClientAuth(MapReader& tls) {
  std::optional<std::string> text = tls.String("client_auth_type", /*expand_env=*/false);
  if (!text) return std::nullopt;
  static const std::pair<std::string_view, ClientAuthType> kTypes[] = {
      {"NoClientCert", ClientAuthType::kNoClientCert},
      {"RequestClientCert", ClientAuthType::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuthType::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuthType::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuthType::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, type] : kTypes) {
    if (*text == name) return type;
  }
  tls.Error("client_auth_type",
            "expected NoClientCert, RequestClientCert, RequireAnyClientCert, "
            "VerifyClientCertIfGiven or RequireAndVerifyClientCert, got \"" +
                *text + "\"");
  return std::nullopt;
}

// Accepts any client certificate: RequestClientCert and RequireAnyClientCert
// ask for one but, as in Go, do not verify it.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// OpenSSL reports a missing file as "system lib"; say what the system said.
// Read through the bounded reader first, so that a FIFO or a device named
// here is refused instead of blocking or filling OpenSSL's buffers.
bool Readable(MapReader& tls, std::string_view key, const std::string& path,
              const std::string& what) {
  std::string error;
  if (!ReadBoundedFile(path, kMaxConfigFileBytes, &error)) {
    tls.Error(key, "cannot read " + what + " \"" + path + "\": " + error);
    return false;
  }
  return true;
}

// Builds the server context; reports problems at the key whose file is bad.
std::shared_ptr<SSL_CTX> BuildTlsContext(const TlsServerSettings& settings, MapReader& tls) {
  bool readable = Readable(tls, "cert_file", settings.cert_file, "certificate");
  readable &= Readable(tls, "key_file", settings.key_file, "private key");
  if (!settings.client_ca_file.empty()) {
    readable &= Readable(tls, "client_ca_file", settings.client_ca_file, "CA certificates");
  }
  if (!readable) return nullptr;
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) {
    tls.Error("cannot create a TLS context: " + OpenSslReason());
    return nullptr;
  }
  bool ok = true;
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), settings.cert_file.c_str()) != 1) {
    tls.Error("cert_file",
              "cannot load certificate \"" + settings.cert_file + "\": " + OpenSslReason());
    ok = false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    tls.Error("key_file",
              "cannot load private key \"" + settings.key_file + "\": " + OpenSslReason());
    ok = false;
  }
  if (ok && SSL_CTX_check_private_key(ctx.get()) != 1) {
    tls.Error("key_file", "private key \"" + settings.key_file +
                              "\" does not match the certificate: " + OpenSslReason());
    ok = false;
  }
  if (!settings.client_ca_file.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx.get(), settings.client_ca_file.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      tls.Error("client_ca_file", "cannot load CA certificates \"" + settings.client_ca_file +
                                      "\": " + OpenSslReason());
      ok = false;
    } else {
      SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
    }
  }
  if (!ok) return nullptr;

  switch (settings.client_auth) {
    case ClientAuthType::kNoClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuthType::kRequestClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuthType::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), settings.min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), settings.max_version);
  // Client-certificate verification and session resumption need an id.
  static constexpr unsigned char kSessionContext[] = "health_exporter";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

void ReadTls(MapReader& tls, const std::string& base_dir, WebSecurity& security) {
  RejectUnsupported(tls, {"cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
                          "client_allowed_sans", "cert", "key"});
  TlsServerSettings settings;
  const bool has_cert = tls.Require("cert_file");
  const bool has_key = tls.Require("key_file");
  std::optional<std::string> cert = tls.String("cert_file", false);
  std::optional<std::string> key = tls.String("key_file", false);
  std::optional<std::string> ca = tls.String("client_ca_file", false);
  if (cert && cert->empty()) tls.Error("cert_file", "must not be empty");
  if (key && key->empty()) tls.Error("key_file", "must not be empty");
  if (cert) settings.cert_file = Resolve(base_dir, *cert);
  if (key) settings.key_file = Resolve(base_dir, *key);
  if (ca) settings.client_ca_file = Resolve(base_dir, *ca);
  if (std::optional<ClientAuthType> auth = ReadClientAuth(tls)) settings.client_auth = *auth;
  settings.min_version = ReadTlsVersion(tls, "min_version").value_or(TLS1_2_VERSION);
  settings.max_version = ReadTlsVersion(tls, "max_version").value_or(0);
  if (settings.max_version != 0 && settings.max_version < settings.min_version) {
    tls.Error("max_version", "is lower than min_version");
  }
  const bool verifies = settings.client_auth == ClientAuthType::kVerifyClientCertIfGiven ||
                        settings.client_auth == ClientAuthType::kRequireAndVerifyClientCert;
  if (verifies && settings.client_ca_file.empty()) {
    tls.Error("client_auth_type", "verifying client certificates needs client_ca_file");
  }
  if (ca && !verifies) {
    tls.Error("client_ca_file",
              "is set, but client_auth_type does not verify client certificates (use "
              "VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
  }
  // Unknown keys first; files are only opened for an otherwise valid section.
  if (!tls.Finish() || !has_cert || !has_key) return;
  settings.context = BuildTlsContext(settings, tls);
  if (settings.context) security.tls = std::move(settings);
}

void ReadBasicAuth(MapReader& top, WebSecurity& security) {
  std::optional<MapReader> users = top.Map("basic_auth_users");
  if (!users) return;
  std::map<std::string, std::string> hashes;
  for (const std::string& user : users->Keys()) {
    // Hashes are taken as written (no ${VAR}), and never quoted back.
    std::optional<std::string> hash = users->String(user, /*expand_env=*/false);
    if (!hash) continue;
    if (user.empty() || user.find(':') != std::string::npos) {
      users->Error(user, "a user name must be non-empty and must not contain ':'");
    } else if (!LooksLikeBcrypt(*hash)) {
      users->Error(user,
                   "expected a bcrypt hash ($2a$, $2b$ or $2y$ with cost 04-31; the value is "
                   "not shown)");
    } else {
      hashes.emplace(user, *hash);
    }
  }
  if (!users->Finish()) return;
  if (!hashes.empty()) {
    security.basic_auth = std::make_shared<const BasicAuthenticator>(std::move(hashes));
  }
}

void ReadHttpServerConfig(MapReader& http, WebSecurity& security) {
  if (std::optional<bool> http2 = http.Bool("http2"); http2 && *http2) {
    http.Error("http2", "HTTP/2 is not supported by health_exporter; remove it or set false");
  }
  if (std::optional<MapReader> headers = http.Map("headers")) {
    for (const std::string& name : headers->Keys()) {
      std::optional<std::string> value = headers->String(name, /*expand_env=*/false);
      if (!value) continue;
      const auto allowed =
          std::find_if(std::begin(kAllowedHeaders), std::end(kAllowedHeaders),
                       [&](std::string_view a) { return EqualsIgnoreAsciiCase(a, name); });
      if (allowed == std::end(kAllowedHeaders)) {
        headers->Error(name,
                       "header not allowed (allowed: Strict-Transport-Security, "
                       "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                       "Content-Security-Policy)");
        continue;
      }
      if (std::any_of(value->begin(), value->end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        headers->Error(name, "control characters are not allowed in a header value");
        continue;
      }
      if (*allowed == "X-Content-Type-Options") {
        // Every response already says nosniff; it is the only valid value.
        if (*value != "nosniff") headers->Error(name, "the only valid value is \"nosniff\"");
        continue;
      }
      if (*allowed == "X-Frame-Options" && !EqualsIgnoreAsciiCase(*value, "deny") &&
          !EqualsIgnoreAsciiCase(*value, "sameorigin")) {
        headers->Error(name, "expected \"deny\" or \"sameorigin\"");
        continue;
      }
      security.headers.emplace_back(std::string(*allowed), *value);
    }
    headers->Finish();
  }
  http.Finish();
}

void ReadWebConfig(const YAML::Node& root, const std::string& base_dir, ParseContext& ctx,
                   WebSecurity& security) {
  // An empty file is valid and changes nothing, as in exporter-toolkit.
  if (!root.IsDefined() || root.IsNull()) return;
  MapReader top(root, "", ctx);
  if (std::optional<MapReader> tls = top.Map("tls_server_config")) {
    ReadTls(*tls, base_dir, security);
  }
  if (std::optional<MapReader> http = top.Map("http_server_config")) {
    ReadHttpServerConfig(*http, security);
  }
  ReadBasicAuth(top, security);
  if (std::optional<MapReader> ours = top.Map("health_exporter")) {
    security.open_probe_endpoints = ours->Bool("open_probe_endpoints").value_or(true);
    ours->Finish();
  }
  top.Finish();
}

std::optional<YAML::Node> LoadOneDocument(const std::string& yaml, ParseContext& ctx) {
  const config::DocumentScan scan = config::ScanDocuments(yaml);
  if (scan.stuck_at) {
    ctx.Error(*scan.stuck_at, "", "invalid YAML: unexpected character");
    return std::nullopt;
  }
  if (scan.documents > 1) {
    std::vector<YAML::Node> documents = YAML::LoadAll(yaml);
    ctx.Error(documents.size() > 1 ? config::MarkOf(documents[1]) : config::Mark{}, "",
              "expected one YAML document");
    return std::nullopt;
  }
  return YAML::Load(yaml);
}

}  // namespace

std::shared_ptr<const WebSecurity> LoadWebConfigString(const std::string& yaml,
                                                       const std::string& file,
                                                       const std::string& base_dir,
                                                       std::string* error) {
  // No ${VAR} expansion: exporter-toolkit has none, and bcrypt hashes are full of '$'.
  ParseContext ctx(file, [](const std::string&) { return std::nullopt; });
  auto security = std::make_shared<WebSecurity>();
  try {
    if (std::optional<YAML::Node> root = LoadOneDocument(yaml, ctx)) {
      ReadWebConfig(*root, base_dir, ctx, *security);
    }
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message can quote the text it choked on; that could be a
    // hash, so only the position and its general complaint are kept.
    const config::Mark at =
        e.mark.is_null() ? config::Mark{} : config::Mark{e.mark.line + 1, e.mark.column + 1};
    ctx.Error(at, "", "invalid YAML: " + e.msg);
  }
  if (ctx.ok()) return security;
  std::vector<config::ConfigError> errors = ctx.errors();
  std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
    return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
  });
  error->clear();
  for (const auto& e : errors) {
    if (!error->empty()) *error += "\n";
    *error += e.ToString();
  }
  return nullptr;
}

std::shared_ptr<const WebSecurity> LoadWebConfigFile(const std::string& path, std::string* error) {
  std::optional<std::string> text = ReadBoundedFile(path, kMaxConfigFileBytes, error);
  if (!text) {
    *error = path + ": cannot read web config file: " + *error;
    return nullptr;
  }
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return LoadWebConfigString(*text, path, base_dir, error);
}

}  // namespace hx
