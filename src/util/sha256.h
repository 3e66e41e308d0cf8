#pragma once
// SHA-256 (OpenSSL's) as lowercase hex, for fingerprints of config and of
// secrets: a digest says whether something changed without keeping it.
// Thread-safe.

#include <string>
#include <string_view>

namespace hx {

/// The 64 hex digits of SHA-256(`bytes`).
std::string Sha256Hex(std::string_view bytes);

/// Incremental SHA-256 over several pieces. Not thread-safe; one per digest.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  /// The digest of everything added so far; call once.
  std::string FinishHex();

 private:
  void* context_;  // EVP_MD_CTX*
};

}  // namespace hx
