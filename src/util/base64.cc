#include "util/base64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace hx {

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock skips leading and trailing whitespace itself; here that
  // is a malformed input, as it is for the callers' other checks.
  const auto is_alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  };
  if (!is_alphabet(text.front())) return std::nullopt;
  size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 2 || !is_alphabet(text[text.size() - 1 - padding])) return std::nullopt;
  // EVP_DecodeBlock reads an '=' inside the text as zero bits.
  if (text.find('=') < text.size() - padding) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the bytes that '=' padding stands for.
  const size_t length = static_cast<size_t>(n) - padding;
  OPENSSL_cleanse(out.data() + length, out.size() - length);
  out.resize(length);
  return out;
}

}  // namespace hx
