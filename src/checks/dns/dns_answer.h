#pragma once
// Reading a DNS response message (RFC 1035 section 4) for the `dns` check:
// the header's rcode and flags, and the answer section's records of one type
// as dig's short form prints them ("10.0.0.1", "10 mail.example.",
// `0 issue "letsencrypt.org"`).
//
// A parser of our own rather than c-ares' ares_parse_*_reply: those give no
// TTL for most types (MX, TXT, SRV, NS, CAA), none parses a CNAME query's
// answer, each has its own result struct to format, and a response with
// SERVFAIL or no records of the type is an error to them rather than a
// response to report. One walk over the message serves every type the same
// way, and it is small enough to fuzz whole (fuzz/dns_answer_fuzzer.cc).
//
// Untrusted input: every length is checked against the message, compression
// pointers must point backwards (no loops), names are at most 255 bytes on
// the wire; a message that breaks a rule yields an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hx::dns {

/// The record types a `dns` check can ask for (their wire values).
enum class RecordType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
  kCaa = 257,
};

/// "A", "AAAA", ... ; "TYPE<n>" for another value.
std::string TypeName(uint16_t type);
/// The type named `name` (case-insensitive: "a", "Aaaa"), if a check can ask
/// for it.
std::optional<RecordType> TypeFromName(std::string_view name);
/// "A, AAAA, CNAME, MX, TXT, NS, SRV, SOA, PTR, CAA": for error messages.
std::string_view TypeNames();

/// "NOERROR", "NXDOMAIN", ... (RFC 1035, 2136); "RCODE<n>" for another value.
std::string RcodeName(int rcode);
/// The rcode named `name` (case-insensitive), for the ones RcodeName names.
std::optional<int> RcodeFromName(std::string_view name);

/// The class IN.
inline constexpr uint16_t kClassIn = 1;

/// One record of the answer section, of the type asked for.
struct Record {
  std::string owner;  ///< "api.internal." (presentation form, trailing dot)
  uint32_t ttl = 0;
  std::string text;  ///< rdata as dig +short prints it
};

/// What a response says.
struct Response {
  int rcode = 0;  ///< header rcode, 0-15
  bool truncated = false;
  bool authoritative = false;
  uint16_t answer_count = 0;  ///< ANCOUNT: records of every type
  /// The answer section's records of the requested type and class, in order.
  std::vector<Record> answers;
};

/// Parses `message`, keeping the answer records of `type` and class IN.
/// Other records (a CNAME chain before the A records, RRSIGs) are stepped
/// over. On a malformed message returns nullopt and sets *error to a short
/// reason, e.g. "answer 2: record data runs past the end of the message".
std::optional<Response> ParseResponse(const unsigned char* message, size_t size, uint16_t type,
                                      std::string* error);

/// The name in the presentation form ParseResponse writes: each label's
/// bytes, '.' and '\' escaped with a backslash, other bytes outside
/// printable ASCII (and space) as \DDD, a trailing dot. For tests.
std::string NameText(const std::vector<std::string>& labels);

/// Checks a query name as written in a config ("api.internal",
/// "api.internal.", "." for the root): labels of 1-63 bytes, at most 253
/// characters without the trailing dot. Returns an error text, or "" when
/// it is fine.
std::string ValidateQueryName(std::string_view name);

/// The reverse-lookup name of an IPv4 or IPv6 literal ("10.0.0.1" ->
/// "1.0.0.10.in-addr.arpa."), or nullopt when `text` is not one.
std::optional<std::string> ReverseName(std::string_view text);

}  // namespace hx::dns
