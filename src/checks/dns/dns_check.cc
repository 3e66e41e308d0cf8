#include "checks/dns/dns_check.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "checks/common/failure_reasons.h"
#include "checks/common/host_port.h"
#include "io/attempt_trace.h"
#include "io/io_context.h"
#include "io/resolver.h"
#include "util/duration.h"
#include "util/quote.h"

namespace hx {
namespace {

// Settings built without the parser (tests, the fuzzer) may leave
// query_timeout unset: then this bounds how long c-ares keeps the query.
constexpr std::chrono::milliseconds kDefaultQueryTimeout{10000};
// The config's default check timeout, for a spec parsed outside a check.
constexpr Duration kDefaultCheckTimeout = std::chrono::seconds(5);
constexpr std::chrono::milliseconds kMaxQueryTimeout{60000};
// Answers quoted in a detail are cut here: a TXT record may be 64 KiB.
constexpr size_t kMaxAnswerChars = 120;
// Answers a healthy detail lists.
constexpr size_t kListedAnswers = 3;

std::string QuoteAnswer(const std::string& text) {
  if (text.size() <= kMaxAnswerChars) return Quote(text);
  return Quote(text.substr(0, kMaxAnswerChars)) + "...";
}

std::string Plural(size_t n, const std::string& type) {
  return std::to_string(n) + " " + type + (n == 1 ? " record" : " records");
}

std::string RcodeList(const std::vector<int>& rcodes) {
  std::string out;
  for (size_t i = 0; i < rcodes.size(); ++i) {
    if (i > 0) out += i + 1 == rcodes.size() ? " or " : ", ";
    out += dns::RcodeName(rcodes[i]);
  }
  return out;
}

// Rcodes about the name asked for; the others say the server failed.
bool IsAboutTheName(int rcode) {
  return rcode == 0 || rcode == 3 || (rcode >= 6 && rcode <= 8) || rcode == 10;
}

// The reason of an rcode the check did not expect: NXDOMAIN says the name
// does not exist; SERVFAIL, REFUSED, FORMERR, NOTIMP, NOTAUTH say the server
// failed to answer; any other (NOERROR where NXDOMAIN was expected, YXDOMAIN,
// ...) is an answer, just not the expected one.
FailureReason ReasonOfRcode(int rcode) {
  if (rcode == 3) return FailureReason::kDnsNxdomain;
  if (!IsAboutTheName(rcode)) return FailureReason::kDnsError;
  return FailureReason::kAnswerMismatch;
}

std::string PatternList(const std::vector<std::shared_ptr<const re2::RE2>>& patterns) {
  std::string out;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (i > 0) out += ", ";
    out += Quote(patterns[i]->pattern());
  }
  return out;
}

// "127.0.0.1:5353", "127.0.0.1", "[::1]:53", "::1" -> address and port.
// Names are refused: finding the server would take a DNS server.
bool ParseServer(const std::string& text, std::string* address, uint16_t* port,
                 std::string* error) {
  static const std::string kForm =
      "must be an IP address with an optional port, e.g. \"127.0.0.1:5353\", \"::1\" or "
      "\"[::1]:53\"";
  std::string host = text;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos ||
        (close + 1 < text.size() && (text[close + 1] != ':' || close + 2 == text.size()))) {
      *error = kForm;
      return false;
    }
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) port_text = text.substr(close + 2);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned char bytes[16];
  const bool v4 = inet_pton(AF_INET, host.c_str(), bytes) == 1;
  const bool v6 = !v4 && inet_pton(AF_INET6, host.c_str(), bytes) == 1;
  if (!v4 && !v6) {
    *error = kForm;
    return false;
  }
  if (v4 && text.front() == '[') {
    *error = kForm;
    return false;
  }
  *address = host;
  *port = 53;
  if (!port_text.empty() || text.back() == ':') {
    const std::optional<uint16_t> number = ParsePort(port_text);
    if (!number) {
      *error = "port must be a number from 1 to 65535";
      return false;
    }
    *port = *number;
  }
  return true;
}

// A list of RE2 patterns under `key` (a string or a list of strings), each
// error at its own item.
std::vector<std::shared_ptr<const re2::RE2>> ReadPatterns(config::MapReader& reader,
                                                          std::string_view key) {
  std::vector<std::shared_ptr<const re2::RE2>> patterns;
  // Patterns are not ${VAR}-expanded: "$" is an anchor in a regex.
  std::optional<std::vector<std::string>> items = reader.StringList(key, /*expand_env=*/false);
  if (!items) return patterns;
  const std::optional<YAML::Node> node = reader.Node(key);
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into the config message instead
  for (size_t i = 0; i < items->size(); ++i) {
    auto re = std::make_shared<const re2::RE2>((*items)[i], options);
    if (re->ok()) {
      patterns.push_back(std::move(re));
      continue;
    }
    const std::string message = "invalid regular expression: " + re->error();
    if (node && node->IsSequence()) {
      reader.context().Error((*node)[i], reader.PathOf(key) + "[" + std::to_string(i) + "]",
                             message);
    } else {
      reader.Error(key, message);
    }
  }
  return patterns;
}

}  // namespace

std::string DnsCheckSettings::ServerText() const {
  if (server_address.empty()) return "the system's DNS server";
  const bool v6 = server_address.find(':') != std::string::npos;
  return (v6 ? "[" + server_address + "]" : server_address) + ":" + std::to_string(server_port);
}

CheckResult JudgeDnsResponse(const DnsCheckSettings& s, const unsigned char* message, size_t size,
                             uint64_t duration_ns) {
  std::string error;
  const std::optional<dns::Response> response =
      dns::ParseResponse(message, size, static_cast<uint16_t>(s.type), &error);
  if (!response) {
    return CheckResult::Unhealthy(FailureReason::kProtocolError,
                                  "malformed response from " + s.ServerText() + ": " + error);
  }
  const std::string type = dns::TypeName(static_cast<uint16_t>(s.type));
  const std::vector<dns::Record>& answers = response->answers;
  const std::string rcode = dns::RcodeName(response->rcode);

  CheckResult result = [&] {
    if (std::find(s.expect_rcodes.begin(), s.expect_rcodes.end(), response->rcode) ==
        s.expect_rcodes.end()) {
      std::string detail =
          rcode + (IsAboutTheName(response->rcode) ? " for " + s.name : " from " + s.ServerText());
      if (s.expect_rcodes != std::vector<int>{0}) {
        detail += " (expected " + RcodeList(s.expect_rcodes) + ")";
      }
      return CheckResult::Unhealthy(ReasonOfRcode(response->rcode), std::move(detail));
    }
    if (response->rcode == 0 && answers.size() < static_cast<size_t>(s.min_answers)) {
      if (answers.empty()) {
        return CheckResult::Unhealthy(FailureReason::kAnswerMismatch,
                                      "no " + type + " record for " + s.name);
      }
      return CheckResult::Unhealthy(FailureReason::kAnswerMismatch,
                                    Plural(answers.size(), type) + " for " + s.name +
                                        ", expected at least " + std::to_string(s.min_answers));
    }
    for (const dns::Record& answer : answers) {
      for (const auto& re : s.fail_if_answer_matches) {
        if (RE2::PartialMatch(answer.text, *re)) {
          return CheckResult::Unhealthy(
              FailureReason::kAnswerMismatch,
              "answer " + QuoteAnswer(answer.text) + " matches " + Quote(re->pattern()));
        }
      }
      if (s.expect_answers.empty()) continue;
      const bool matched =
          std::any_of(s.expect_answers.begin(), s.expect_answers.end(),
                      [&](const auto& re) { return RE2::PartialMatch(answer.text, *re); });
      if (!matched) {
        return CheckResult::Unhealthy(
            FailureReason::kAnswerMismatch,
            "answer " + QuoteAnswer(answer.text) +
                (s.expect_answers.size() == 1 ? " does not match " : " matches none of ") +
                PatternList(s.expect_answers));
      }
    }
    std::string detail = response->rcode == 0
                             ? Plural(answers.size(), type) + " in " + FormatMillis(duration_ns)
                             : rcode + " for " + s.name + " in " + FormatMillis(duration_ns);
    for (size_t i = 0; i < answers.size() && i < kListedAnswers; ++i) {
      detail += (i == 0 ? ": " : ", ") + QuoteAnswer(answers[i].text);
    }
    if (answers.size() > kListedAnswers) detail += ", ...";
    return CheckResult::Healthy(std::move(detail));
  }();

  result.observations.emplace_back(ObservationId::kDnsRcode, 1.0, rcode);
  result.observations.emplace_back(ObservationId::kDnsAnswers, static_cast<double>(answers.size()));
  if (!answers.empty()) {
    result.observations.emplace_back(ObservationId::kDnsAnswerTtlSeconds,
                                     static_cast<double>(answers.front().ttl));
  }
  return result;
}

DnsCheckSpec::DnsCheckSpec(DnsCheckSettings settings)
    : settings_(std::make_shared<const DnsCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> DnsCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<DnsCheck>(context.io, settings_);
}

std::string DnsCheckSpec::Target() const {
  const DnsCheckSettings& s = *settings_;
  return s.name + " " + dns::TypeName(static_cast<uint16_t>(s.type)) + " @" +
         (s.server_address.empty() ? std::string("system") : s.ServerText()) +
         (s.tcp ? " over tcp" : "");
}

std::shared_ptr<const DnsCheckSpec> ParseDnsCheckSpec(config::MapReader& reader) {
  DnsCheckSettings s;
  if (reader.Require("name")) {
    if (auto name = reader.String("name")) {
      const std::string problem = dns::ValidateQueryName(*name);
      if (problem.empty()) {
        s.name = *name;
      } else {
        reader.Error("name", problem);
      }
    }
  }
  if (auto type = reader.String("type")) {
    if (auto parsed = dns::TypeFromName(*type)) {
      s.type = *parsed;
    } else {
      reader.Error("type", "unknown record type " + Quote(*type) + ": expected one of " +
                               std::string(dns::TypeNames()));
    }
  }
  // `dig -x`: a PTR check may name the address itself.
  s.query_name = s.name;
  if (s.type == dns::RecordType::kPtr) {
    if (auto reverse = dns::ReverseName(s.name)) s.query_name = *reverse;
  }
  if (auto server = reader.String("server")) {
    std::string error;
    if (!ParseServer(*server, &s.server_address, &s.server_port, &error)) {
      reader.Error("server", error);
    }
  }
  if (auto transport = reader.String("transport")) {
    if (*transport == "tcp") {
      s.tcp = true;
    } else if (*transport != "udp") {
      reader.Error("transport", "must be udp or tcp, got " + Quote(*transport));
    }
  }
  if (auto rd = reader.Bool("recursion_desired")) s.recursion_desired = *rd;
  if (auto rcodes = reader.StringList("expect_rcode")) {
    s.expect_rcodes.clear();
    const std::optional<YAML::Node> node = reader.Node("expect_rcode");
    for (size_t i = 0; i < rcodes->size(); ++i) {
      const std::string& name = (*rcodes)[i];
      if (auto rcode = dns::RcodeFromName(name)) {
        s.expect_rcodes.push_back(*rcode);
        continue;
      }
      const std::string message =
          "unknown rcode " + Quote(name) +
          ": expected NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, YXRRSET, "
          "NXRRSET, NOTAUTH or NOTZONE";
      if (node && node->IsSequence()) {
        reader.context().Error(
            (*node)[i], reader.PathOf("expect_rcode") + "[" + std::to_string(i) + "]", message);
      } else {
        reader.Error("expect_rcode", message);
      }
    }
    if (rcodes->empty()) reader.Error("expect_rcode", "must name at least one rcode");
  }
  s.expect_answers = ReadPatterns(reader, "expect_answers");
  s.fail_if_answer_matches = ReadPatterns(reader, "fail_if_answer_matches");
  if (auto n = reader.Int("min_answers", 0, 65535)) s.min_answers = static_cast<int>(*n);
  if (auto timeout = reader.Duration("query_timeout")) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    if (ms < std::chrono::milliseconds(1)) {
      reader.Error("query_timeout", "must be at least 1ms");
    } else if (ms > kMaxQueryTimeout) {
      reader.Error("query_timeout", "must be at most 1m");
    } else {
      s.query_timeout = ms;
    }
  } else if (!reader.Has("query_timeout")) {
    // A little under the check's timeout, so that a silent server is reported
    // by the check itself ("no answer within 1.9s") before the scheduler's
    // hard timeout would cut the attempt ("timeout after 2s"): the check's
    // timeout less a tenth of it, at most 100ms, as icmp's reply wait.
    const Duration check_timeout = reader.context().check_timeout().value_or(kDefaultCheckTimeout);
    const Duration margin = std::min<Duration>(check_timeout / 10, std::chrono::milliseconds(100));
    s.query_timeout =
        std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(check_timeout - margin),
                   std::chrono::milliseconds(1), kMaxQueryTimeout);
  }
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const DnsCheckSpec>(std::move(s));
}

CheckType DnsCheckType() { return {"dns", &ParseDnsCheckSpec}; }

// One query in flight. The resolver calls back on a later turn of the loop
// unless the request is destroyed first, which Release() does: so the
// callback is announced when the query is sent and taken back if the request
// goes before it came.
class DnsCheck::DnsAttempt final : public Attempt {
 public:
  DnsAttempt(IoContext& io, std::shared_ptr<const DnsCheckSettings> settings)
      : io_(io), settings_(std::move(settings)) {}

 private:
  void Begin() override {
    const DnsCheckSettings& s = *settings_;
    DnsServer server;
    server.address = s.server_address;
    server.port = s.server_port;
    server.transport = s.tcp ? DnsServer::Transport::kTcp : DnsServer::Transport::kUdp;
    ExpectCallback();
    request_ = io_.resolver().Query(
        server, s.query_name, dns::kClassIn, static_cast<int>(s.type), s.recursion_desired,
        s.query_timeout.value_or(kDefaultQueryTimeout),
        [this](DnsAnswer answer) { OnAnswer(std::move(answer)); }, check()->trace());
  }

  void OnAnswer(DnsAnswer answer) {
    answered_ = true;
    CallbackGuard guard(this);
    if (guard.over()) return;
    if (answer.error.empty()) {
      if (AttemptTrace* trace = check()->trace()) TraceRecords(*trace, answer);
    }
    CheckResult result = answer.error.empty()
                             ? JudgeDnsResponse(*settings_, answer.response.data(),
                                                answer.response.size(), answer.duration_ns)
                             : CheckResult::Unhealthy(ReasonOf(answer.failure), answer.error);
    // The server asked; c-ares does not say which of the system's servers
    // answered, so a check without `server` names none.
    if (!settings_->server_address.empty()) result.address = settings_->ServerText();
    Finish(std::move(result));
  }

  // The debug run: the answer section's records of the type asked for (the
  // resolver traced the query and the response's header).
  void TraceRecords(AttemptTrace& trace, const DnsAnswer& answer) const {
    const auto type = static_cast<uint16_t>(settings_->type);
    std::string error;
    const auto parsed =
        dns::ParseResponse(answer.response.data(), answer.response.size(), type, &error);
    if (!parsed) return;  // the verdict says why
    for (const dns::Record& r : parsed->answers) {
      trace.Add("dns", "answer " + r.owner + " " + std::to_string(r.ttl) + " " +
                           dns::TypeName(type) + " " + r.text);
    }
  }

  void Release() override {
    if (request_ && !answered_) ForgetCallback();
    request_.reset();  // cancels: the resolver will not call back
  }

  IoContext& io_;
  std::shared_ptr<const DnsCheckSettings> settings_;
  std::unique_ptr<ResolveRequest> request_;
  bool answered_ = false;
};

DnsCheck::DnsCheck(IoContext& io, std::shared_ptr<const DnsCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

std::unique_ptr<Attempt> DnsCheck::NewAttempt() {
  return std::make_unique<DnsAttempt>(io_, settings_);
}

}  // namespace hx
