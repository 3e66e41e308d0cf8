#include "checks/dns/dns_answer.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "util/ascii.h"

namespace hx::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameWireBytes = 255;

struct TypeEntry {
  RecordType type;
  const char* name;
};
// In the order the docs list them.
constexpr TypeEntry kTypes[] = {
    {RecordType::kA, "A"},     {RecordType::kAaaa, "AAAA"}, {RecordType::kCname, "CNAME"},
    {RecordType::kMx, "MX"},   {RecordType::kTxt, "TXT"},   {RecordType::kNs, "NS"},
    {RecordType::kSrv, "SRV"}, {RecordType::kSoa, "SOA"},   {RecordType::kPtr, "PTR"},
    {RecordType::kCaa, "CAA"},
};

// Indexed by rcode (RFC 1035 4.1.1, RFC 2136 2.2).
constexpr const char* kRcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                   "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                   "NXRRSET", "NOTAUTH", "NOTZONE"};

void AppendDecimalEscape(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\%03u", static_cast<unsigned>(c));
  out += buf;
}

// Character-string bytes (TXT, CAA values) as dig prints them: printable
// ASCII as is, `"` and `\` escaped, everything else \DDD.
void AppendTextBytes(std::string& out, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = p[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      AppendDecimalEscape(out, c);
    }
  }
}

uint16_t Read16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Read32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

// Reads the (possibly compressed) name at `offset` of the message. Names
// inside record data must end by `end` (the pointers in them may point
// anywhere before). On success sets *next to the offset just after the
// name's bytes at `offset`.
class Reader {
 public:
  Reader(const unsigned char* message, size_t size) : m_(message), size_(size) {}

  bool Name(size_t offset, size_t end, std::vector<std::string>* labels, size_t* next,
            std::string* error) const {
    labels->clear();
    size_t pos = offset;
    // A pointer must point before the start of the run of labels it ends:
    // the runs then start ever earlier, so a name cannot loop.
    size_t run_start = offset;
    bool jumped = false;
    size_t wire_bytes = 0;
    for (;;) {
      if (pos >= (jumped ? size_ : end)) {
        *error = "a name runs past the end of its data";
        return false;
      }
      const unsigned char len = m_[pos];
      if ((len & 0xC0) == 0xC0) {
        if (pos + 1 >= (jumped ? size_ : end)) {
          *error = "a name runs past the end of its data";
          return false;
        }
        const size_t target = static_cast<size_t>((len & 0x3F) << 8) | m_[pos + 1];
        if (target >= run_start) {
          *error = "a compression pointer does not point backwards";
          return false;
        }
        if (!jumped) *next = pos + 2;
        jumped = true;
        pos = run_start = target;
        continue;
      }
      if ((len & 0xC0) != 0) {
        *error = "a name has an unknown label type";
        return false;
      }
      wire_bytes += 1 + len;
      if (wire_bytes > kMaxNameWireBytes) {
        *error = "a name is longer than 255 bytes";
        return false;
      }
      if (len == 0) {
        if (!jumped) *next = pos + 1;
        return true;
      }
      if (pos + 1 + len > (jumped ? size_ : end)) {
        *error = "a name runs past the end of its data";
        return false;
      }
      labels->emplace_back(reinterpret_cast<const char*>(m_ + pos + 1), len);
      pos += 1 + len;
    }
  }

  // A name in record data [offset, end): appends its text and advances *offset.
  bool DataName(size_t* offset, size_t end, std::string* out, std::string* error) const {
    std::vector<std::string> labels;
    size_t next = 0;
    if (!Name(*offset, end, &labels, &next, error)) return false;
    *out += NameText(labels);
    *offset = next;
    return true;
  }

  // The record data of `type` in [start, end) as dig +short prints it.
  bool Rdata(uint16_t type, size_t start, size_t end, std::string* out, std::string* error) const {
    const size_t n = end - start;
    const unsigned char* p = m_ + start;
    size_t pos = start;
    auto fixed = [&](size_t want) {
      if (end - pos < want) {
        *error = "the record data is too short for its type";
        return false;
      }
      return true;
    };
    auto no_trailing = [&] {
      if (pos != end) {
        *error = "the record data has bytes after its end";
        return false;
      }
      return true;
    };
    char buf[INET6_ADDRSTRLEN];
    switch (static_cast<RecordType>(type)) {
      case RecordType::kA:
      case RecordType::kAaaa: {
        const bool v4 = type == static_cast<uint16_t>(RecordType::kA);
        if (n != (v4 ? 4u : 16u)) {
          *error = std::string("an ") + (v4 ? "A" : "AAAA") + " record's data is " +
                   std::to_string(n) + " bytes, not " + (v4 ? "4" : "16");
          return false;
        }
        inet_ntop(v4 ? AF_INET : AF_INET6, p, buf, sizeof(buf));
        *out = buf;
        return true;
      }
      case RecordType::kCname:
      case RecordType::kNs:
      case RecordType::kPtr:
        return DataName(&pos, end, out, error) && no_trailing();
      case RecordType::kMx: {
        if (!fixed(2)) return false;
        *out = std::to_string(Read16(p)) + " ";
        pos += 2;
        return DataName(&pos, end, out, error) && no_trailing();
      }
      case RecordType::kSrv: {
        if (!fixed(6)) return false;
        *out = std::to_string(Read16(p)) + " " + std::to_string(Read16(p + 2)) + " " +
               std::to_string(Read16(p + 4)) + " ";
        pos += 6;
        return DataName(&pos, end, out, error) && no_trailing();
      }
      case RecordType::kSoa: {
        if (!DataName(&pos, end, out, error)) return false;
        *out += ' ';
        if (!DataName(&pos, end, out, error) || !fixed(20)) return false;
        for (int i = 0; i < 5; ++i) {
          *out += ' ';
          *out += std::to_string(Read32(m_ + pos));
          pos += 4;
        }
        return no_trailing();
      }
      case RecordType::kTxt: {
        // The character-strings joined, as SPF and DKIM read them.
        while (pos < end) {
          const size_t len = m_[pos];
          if (end - pos - 1 < len) {
            *error = "a TXT string runs past the end of its record";
            return false;
          }
          AppendTextBytes(*out, m_ + pos + 1, len);
          pos += 1 + len;
        }
        return true;
      }
      case RecordType::kCaa: {
        if (!fixed(2)) return false;
        const unsigned flags = p[0];
        const size_t tag_len = p[1];
        if (tag_len == 0 || n - 2 < tag_len) {
          *error = "a CAA record's tag is empty or runs past its record";
          return false;
        }
        *out = std::to_string(flags) + " ";
        AppendTextBytes(*out, p + 2, tag_len);
        *out += " \"";
        AppendTextBytes(*out, p + 2 + tag_len, n - 2 - tag_len);
        *out += '"';
        return true;
      }
    }
    // Any other type (not asked for by a check, but the parser takes any):
    // RFC 3597's generic form.
    *out = "\\# " + std::to_string(n);
    if (n > 0) *out += ' ';
    for (size_t i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof(buf), "%02x", p[i]);
      *out += buf;
    }
    return true;
  }

 private:
  const unsigned char* m_;
  size_t size_;
};

}  // namespace

std::string TypeName(uint16_t type) {
  for (const TypeEntry& e : kTypes) {
    if (static_cast<uint16_t>(e.type) == type) return e.name;
  }
  return "TYPE" + std::to_string(type);
}

std::optional<RecordType> TypeFromName(std::string_view name) {
  for (const TypeEntry& e : kTypes) {
    if (EqualsIgnoreAsciiCase(name, e.name)) return e.type;
  }
  return std::nullopt;
}

std::string_view TypeNames() { return "A, AAAA, CNAME, MX, TXT, NS, SRV, SOA, PTR, CAA"; }

std::string RcodeName(int rcode) {
  if (rcode >= 0 && static_cast<size_t>(rcode) < std::size(kRcodes)) return kRcodes[rcode];
  return "RCODE" + std::to_string(rcode);
}

std::optional<int> RcodeFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kRcodes); ++i) {
    if (EqualsIgnoreAsciiCase(name, kRcodes[i])) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string NameText(const std::vector<std::string>& labels) {
  if (labels.empty()) return ".";
  std::string out;
  for (const std::string& label : labels) {
    for (char ch : label) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '.' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c > 0x20 && c < 0x7f) {
        out += ch;
      } else {
        AppendDecimalEscape(out, c);
      }
    }
    out += '.';
  }
  return out;
}

std::optional<Response> ParseResponse(const unsigned char* message, size_t size, uint16_t type,
                                      std::string* error) {
  if (size < kHeaderSize) {
    *error = "the message is shorter than a DNS header (" + std::to_string(size) + " bytes)";
    return std::nullopt;
  }
  Response response;
  if ((message[2] & 0x80) == 0) {
    *error = "the message is a query, not a response";
    return std::nullopt;
  }
  response.authoritative = (message[2] & 0x04) != 0;
  response.truncated = (message[2] & 0x02) != 0;
  response.rcode = message[3] & 0x0f;
  const uint16_t questions = Read16(message + 4);
  response.answer_count = Read16(message + 6);

  Reader reader(message, size);
  std::vector<std::string> labels;
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < questions; ++i) {
    size_t next = 0;
    if (!reader.Name(pos, size, &labels, &next, error)) {
      *error = "question: " + *error;
      return std::nullopt;
    }
    if (size - next < 4) {
      *error = "question: the message ends inside it";
      return std::nullopt;
    }
    pos = next + 4;
  }
  for (uint16_t i = 0; i < response.answer_count; ++i) {
    const std::string where = "answer " + std::to_string(i + 1) + ": ";
    size_t next = 0;
    if (!reader.Name(pos, size, &labels, &next, error)) {
      *error = where + *error;
      return std::nullopt;
    }
    if (size - next < 10) {
      *error = where + "the message ends inside the record";
      return std::nullopt;
    }
    const uint16_t rr_type = Read16(message + next);
    const uint16_t rr_class = Read16(message + next + 2);
    uint32_t ttl = Read32(message + next + 4);
    const size_t rdlength = Read16(message + next + 8);
    const size_t rdata = next + 10;
    if (size - rdata < rdlength) {
      *error = where + "record data runs past the end of the message";
      return std::nullopt;
    }
    pos = rdata + rdlength;
    if (rr_type != type || rr_class != kClassIn) continue;
    // RFC 2181 section 8: a TTL with the top bit set counts as 0.
    if (ttl > 0x7fffffffu) ttl = 0;
    Record record;
    record.owner = NameText(labels);
    record.ttl = ttl;
    if (!reader.Rdata(rr_type, rdata, pos, &record.text, error)) {
      *error = where + *error;
      return std::nullopt;
    }
    response.answers.push_back(std::move(record));
  }
  // The authority and additional sections are not read: nothing in them
  // decides a check.
  return response;
}

std::string ValidateQueryName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name == ".") return "";
  std::string_view rest = name;
  if (rest.back() == '.') rest.remove_suffix(1);
  if (rest.size() > 253) return "must be at most 253 characters";
  size_t start = 0;
  while (start <= rest.size()) {
    size_t dot = rest.find('.', start);
    if (dot == std::string_view::npos) dot = rest.size();
    const size_t len = dot - start;
    if (len == 0) return "has an empty label (\"..\" or a leading dot)";
    if (len > 63) return "has a label longer than 63 characters";
    start = dot + 1;
  }
  for (char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\') {
      return "must be printable ASCII without spaces or backslashes";
    }
  }
  return "";
}

std::optional<std::string> ReverseName(std::string_view text) {
  const std::string s(text);
  unsigned char bytes[16];
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    return std::to_string(bytes[3]) + "." + std::to_string(bytes[2]) + "." +
           std::to_string(bytes[1]) + "." + std::to_string(bytes[0]) + ".in-addr.arpa.";
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      out += kHex[bytes[i] & 0x0f];
      out += '.';
      out += kHex[bytes[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa.";
  }
  return std::nullopt;
}

}  // namespace hx::dns
