// Fuzzes the heartbeat request handling that the web server delegates to
// HeartbeatReceiver::Handle (checks/heartbeat/heartbeat_check.h), and
// SanitizeHeartbeatDetail. The input is "method\npath\nauthorization\nbody"
// (missing parts are empty). Two checks are watched, "backup" (token
// "s3cr3t-token") and "n.a-me_1" (token "x"); the heartbeat state goes to a
// memory-only store::Store (its queue and SQLite writer, no disk).
//
// Properties: only the documented statuses; the body is one short line; a
// 200 needs POST and the right bearer token; the token never appears in
// the response; the stored detail is one clean line within its budget.

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "checks/heartbeat/heartbeat_check.h"
#include "checks/heartbeat/heartbeat_store.h"
#include "store/store.h"
#include "fuzz_check.h"
#include "util/log.h"

namespace {

constexpr std::string_view kToken = "s3cr3t-token";

std::unique_ptr<hx::store::Store> g_db;
std::shared_ptr<hx::HeartbeatStore> g_store;
std::unique_ptr<hx::HeartbeatReceiver> g_receiver;

// Cuts the next '\n'-terminated field off `rest`; the last field takes the rest.
std::string_view NextField(std::string_view& rest, bool last) {
  if (last) return std::exchange(rest, {});
  const size_t newline = rest.find('\n');
  const std::string_view field = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  return field;
}

void CheckLine(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    HX_FUZZ_CHECK(byte >= 0x20 && byte != 0x7f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hx::log::Init(spdlog::level::off, hx::log::Format::kLogfmt);
  // Memory-only (no directory): every ping still goes through the store's
  // queue and its writer's SQLite upsert, without touching the disk.
  g_db = hx::store::Store::Open(hx::store::StoreOptions{});
  g_store = std::make_shared<hx::HeartbeatStore>(g_db.get(), [] { return 1714564800.0; });
  g_store->Watch({{"backup", nullptr}, {"n.a-me_1", nullptr}});
  g_receiver = std::make_unique<hx::HeartbeatReceiver>(
      std::map<std::string, std::string, std::less<>>{{"backup", std::string(kToken)},
                                                      {"n.a-me_1", "x"}},
      g_store);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view method = NextField(rest, false);
  const std::string_view path = NextField(rest, false);
  const std::string_view authorization = NextField(rest, false);
  const std::string_view body = NextField(rest, true);

  const hx::HeartbeatResponse response = g_receiver->Handle(method, path, authorization, body);
  const int s = response.status;
  HX_FUZZ_CHECK(s == 200 || s == 401 || s == 404 || s == 405 || s == 413);
  HX_FUZZ_CHECK(!response.body.empty() && response.body.back() == '\n');
  HX_FUZZ_CHECK(response.body.find('\n') == response.body.size() - 1);
  HX_FUZZ_CHECK(response.body.find(kToken) == std::string::npos);
  for (const auto& [name, value] : response.headers) {
    CheckLine(name);
    CheckLine(value);
    HX_FUZZ_CHECK(value.find(kToken) == std::string::npos);
  }
  if (s == 200) {
    HX_FUZZ_CHECK(method == "POST");
    HX_FUZZ_CHECK(authorization.find(kToken) != std::string_view::npos ||
                  path.find("n.a-me_1") != std::string_view::npos);
    HX_FUZZ_CHECK(body.size() <= hx::HeartbeatReceiver::kMaxBodyBytes);
  }

  // The budget comes from the body's length so small ones are reached too.
  const size_t budget = body.size() % 64;
  const std::string detail = hx::SanitizeHeartbeatDetail(body, budget);
  HX_FUZZ_CHECK(!detail.empty());
  CheckLine(detail);
  HX_FUZZ_CHECK(detail.size() <= budget + 3 || detail == "(no details)");
  HX_FUZZ_CHECK(detail.front() != ' ' && detail.back() != ' ');
  return 0;
}
