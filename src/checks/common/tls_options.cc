#include "checks/common/tls_options.h"

#include <openssl/x509_vfy.h>
#include <unistd.h>

namespace hx {

std::optional<TlsOptions> ParseTlsOptions(config::MapReader& tls) {
  TlsOptions out;
  auto file = [&](std::string_view key, std::string& dest) {
    auto v = tls.String(key);
    if (!v) return;
    if (v->empty()) {
      tls.Error(key, "must not be empty");
      return;
    }
    if (access(v->c_str(), R_OK) != 0) {
      // The path is not a secret; the file's content may be.
      tls.Error(key, "cannot read file \"" + *v + "\"");
      return;
    }
    dest = *v;
  };
  file("ca_file", out.ca_file);
  file("cert_file", out.cert_file);
  file("key_file", out.key_file);
  if (auto v = tls.String("server_name")) out.server_name = *v;
  if (auto v = tls.Bool("insecure_skip_verify")) out.insecure_skip_verify = *v;
  if (tls.Has("cert_file") != tls.Has("key_file")) {
    tls.Error("cert_file and key_file must be given together");
  }
  if (!tls.Finish()) return std::nullopt;
  return out;
}

FailureReason ReasonOfCertificateError(long x509_verify_result) {
  switch (x509_verify_result) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return FailureReason::kTlsExpired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return FailureReason::kTlsHostname;
    default:
      return FailureReason::kTlsUntrusted;
  }
}

}  // namespace hx
