// Fuzzes the DNS response reader (checks/dns/dns_answer.h) and what the dns
// check makes of a response (JudgeDnsResponse): the input's first byte picks
// the record type asked for (one of the ten a check can ask for, else the
// next two bytes are any type), the rest is the response as a server sent it.
// Checked: no crash or read past the end (ASan), answers never outnumber
// ANCOUNT, every text is printable ASCII (names and strings escaped), owners
// end with a dot, TTLs fit in 31 bits, and the check's detail stays short and
// printable whatever the server sent.

#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "checks/dns/dns_answer.h"
#include "checks/dns/dns_check.h"
#include "fuzz_check.h"

namespace {

constexpr uint16_t kTypes[] = {1, 28, 5, 15, 16, 2, 33, 6, 12, 257};

bool Printable(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

const hx::DnsCheckSettings& Settings(uint16_t type) {
  static hx::DnsCheckSettings settings = [] {
    hx::DnsCheckSettings s;
    s.name = "api.internal";
    s.query_name = s.name;
    s.server_address = "127.0.0.1";
    s.server_port = 5353;
    s.expect_answers = {std::make_shared<const re2::RE2>("^10\\."),
                        std::make_shared<const re2::RE2>("mail")};
    s.fail_if_answer_matches = {std::make_shared<const re2::RE2>("\\\\000")};
    s.min_answers = 1;
    return s;
  }();
  settings.type = static_cast<hx::dns::RecordType>(type);
  return settings;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint16_t type = 0;
  size_t skip = 1;
  if (data[0] < std::size(kTypes)) {
    type = kTypes[data[0]];
  } else if (size >= 3) {
    type = static_cast<uint16_t>((data[1] << 8) | data[2]);
    skip = 3;
  } else {
    return 0;
  }
  const unsigned char* message = data + skip;
  const size_t length = size - skip;

  std::string error;
  const std::optional<hx::dns::Response> response =
      hx::dns::ParseResponse(message, length, type, &error);
  if (!response) {
    HX_FUZZ_CHECK(!error.empty());
    HX_FUZZ_CHECK(Printable(error));
  } else {
    HX_FUZZ_CHECK(response->rcode >= 0 && response->rcode <= 15);
    HX_FUZZ_CHECK(response->answers.size() <= response->answer_count);
    for (const hx::dns::Record& r : response->answers) {
      HX_FUZZ_CHECK(Printable(r.text));
      HX_FUZZ_CHECK(Printable(r.owner));
      HX_FUZZ_CHECK(!r.owner.empty() && r.owner.back() == '.');
      HX_FUZZ_CHECK(r.ttl <= 0x7fffffffu);
    }
  }

  const hx::CheckResult result = hx::JudgeDnsResponse(Settings(type), message, length, 1'000'000);
  HX_FUZZ_CHECK(!result.detail.empty());
  HX_FUZZ_CHECK(Printable(result.detail));
  HX_FUZZ_CHECK(result.detail.size() <= 1024);
  HX_FUZZ_CHECK(result.health != hx::Health::kDegraded);
  HX_FUZZ_CHECK(response.has_value() == !result.observations.empty());
  return 0;
}
