#pragma once
// DNS response messages built byte by byte, for the tests of the dns check
// type (checks/dns/). Plain functions; thread-safe.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hx::testing_dns {

using Bytes = std::vector<unsigned char>;

inline void Put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}
inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}
// "a.b" -> 1 a 1 b 0
inline Bytes Name(const std::string& name) {
  Bytes out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<unsigned char>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}
inline Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A response: header (QR set, `rcode`), one question for `qname`/`qtype`,
// then the given answer records.
struct Message {
  Bytes bytes;
  explicit Message(const std::string& qname, unsigned qtype, int rcode = 0, unsigned ancount = 0) {
    Put16(bytes, 0x1234);
    bytes.push_back(0x84);                                      // QR, AA
    bytes.push_back(static_cast<unsigned char>(0x80 | rcode));  // RA
    Put16(bytes, 1);
    Put16(bytes, ancount);
    Put16(bytes, 0);
    Put16(bytes, 0);
    Bytes q = Name(qname);
    bytes.insert(bytes.end(), q.begin(), q.end());
    Put16(bytes, qtype);
    Put16(bytes, 1);
  }
  // An answer whose owner is a pointer to the question name (offset 12).
  void Answer(unsigned type, uint32_t ttl, const Bytes& rdata, unsigned rr_class = 1) {
    Put16(bytes, 0xC00C);
    Put16(bytes, type);
    Put16(bytes, rr_class);
    Put32(bytes, ttl);
    Put16(bytes, static_cast<unsigned>(rdata.size()));
    bytes.insert(bytes.end(), rdata.begin(), rdata.end());
  }
};

}  // namespace hx::testing_dns
