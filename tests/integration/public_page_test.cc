// The public page end to end, against the real daemon (and, for the
// screenshots with 90 days of history, an in-process WebServer with a fixed
// HistoryView): nothing internal leaks into any byte of /public,
// /public.json or a badge while checks fail with details full of internal
// strings; the paths are open under basic auth while everything else stays
// closed; ETag/304, 405, valid SVG badges in the right colour; the page on
// its own listen address; Chromium screenshots at desktop, phone width and in
// dark mode (kept in build/artifacts/public-page/).
#include "http/public_page.h"

#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "checks/check.h"
#include "http/web_server.h"
#include "metrics/check_metrics.h"
#include "status/status_board.h"
#include "support/check_info.h"
#include "support/chromium.h"
#include "support/credentials.h"
#include "support/daemon_process.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

// A response as curl saw it: status line, headers (lower-case names), body.
struct Fetched {
  int status = 0;
  mutable std::map<std::string, std::string> headers;
  std::string body;
  std::string raw;  // head and body, every byte the client got
};

Fetched Curl(const std::string& url, std::vector<std::string> args = {}) {
  TempDir dir;
  const std::string head = dir.path() + "/head", body = dir.path() + "/body";
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "-D", head, "-o", body};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  RunCommand(argv);
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  Fetched out;
  const std::string head_text = read(head);
  out.body = read(body);
  out.raw = head_text + out.body;
  std::istringstream lines(head_text);
  std::string line;
  if (std::getline(lines, line) && line.size() > 12) out.status = std::stoi(line.substr(9, 3));
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The fill colour of the badge's message rectangle, read by a real XML
// parser (Python's): "" when the SVG does not parse.
std::string BadgeFill(const std::string& svg) {
  TempDir dir;
  const std::string file = dir.Write("badge.svg", svg);
  const CommandResult parsed = RunCommand(
      {"python3", "-c",
       "import sys, xml.etree.ElementTree as ET\n"
       "root = ET.parse(sys.argv[1]).getroot()\n"
       "ns = '{http://www.w3.org/2000/svg}'\n"
       "assert root.tag == ns + 'svg', root.tag\n"
       "assert root.get('height') == '20'\n"
       "texts = [t.text for t in root.iter(ns + 'text')]\n"
       "assert len(texts) == 4 and all(texts), texts\n"
       "print([r.get('fill') for r in root.iter(ns + 'rect') if r.get('id') == 'message'][0])\n",
       file});
  if (parsed.exit_code != 0) return "parse error: " + parsed.output;
  std::string fill = parsed.output;
  while (!fill.empty() && (fill.back() == '\n' || fill.back() == '\r')) fill.pop_back();
  return fill;
}

// Strings that exist only inside the daemon: the targets (path, query
// secret, the server's host), check names, label names and values, the
// failing details. None may appear in a byte of the public page.
const std::vector<std::string> kInternal = {
    "walrus-internal-api",  // check names
    "narwhal-db-primary",
    "pangolin-batch-job",
    "okapi-frontend",
    "gecko-hidden-check",
    "internal-quokka-path",  // target path
    "s3cr3t-token-7788",     // a secret in the target's query (from the environment)
    "127.0.0.1",             // every target's host
    "ocelot-owner",          // label values and names
    "capybara-tier",
    "cost_center",
    "marmot-team",
    "zebra-detail-",  // what the failing targets say
    "pangolin-output-5512",
    "tcp",  // check types
    "exec",
};

class PublicPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route("/internal-quokka-path", [](const TestHttpRequest&) {
      return TestHttpResponse{200, "zebra-detail-4417: database at 10.9.8.7 refused", {}};
    });
    server_.Route("/okapi", [](const TestHttpRequest&) { return TestHttpResponse{200, "ok", {}}; });
  }

  std::string Config(const std::string& public_extra = "") const {
    const std::string base = server_.base_url();
    return "checks:\n"
           "  - name: walrus-internal-api\n"
           "    interval: 200ms\n"
           "    timeout: 150ms\n"
           "    labels: {team: marmot-team, cost_center: ocelot-owner}\n"
           "    http:\n"
           "      url: " +
           base + "/internal-quokka-path?token=${HX_PUBLIC_TOKEN}\n" +
           "      expect_body_absent: \"zebra-detail-[0-9]+\"\n" +
           "  - name: narwhal-db-primary\n"
           "    interval: 200ms\n"
           "    timeout: 150ms\n"
           "    labels: {tier: capybara-tier}\n"
           "    tcp:\n"
           "      address: \"127.0.0.1:1\"\n"
           "  - name: pangolin-batch-job\n"
           "    interval: 200ms\n"
           "    timeout: 150ms\n"
           "    labels: {tier: capybara-tier}\n"
           "    exec:\n"
           "      command: [/bin/sh, -c, \"echo pangolin-output-5512 s3cr3t-token-7788; exit 2\"]\n"
           "  - name: okapi-frontend\n"
           "    interval: 200ms\n"
           "    timeout: 150ms\n"
           "    http:\n"
           "      url: " +
           base + "/okapi\n" +
           "  - name: gecko-hidden-check\n"
           "    interval: 200ms\n"
           "    timeout: 150ms\n"
           "    tcp:\n"
           "      address: \"127.0.0.1:2\"\n"
           "status_page:\n"
           "  public:\n"
           "    title: Acme status\n"
           "    notice: We are looking into slow payments.\n" +
           public_extra +
           "    groups:\n"
           "      - name: Services\n"
           "        entries:\n"
           "          - check: okapi-frontend\n"
           "            name: Website\n"
           "          - check: walrus-internal-api\n"
           "            name: Payments API\n"
           "      - name: Storage\n"
           "        entries:\n"
           "          - match: {tier: capybara-tier}\n";
  }

  std::map<std::string, std::string> Env() const {
    return {{"HX_PUBLIC_TOKEN", "s3cr3t-token-7788"}};
  }

  // Waits until every check has a result (the failing ones failed).
  static void WaitForResults(const DaemonProcess& daemon, const std::string& auth = "") {
    for (int i = 0; i < 100; ++i) {
      const Fetched status =
          Curl(daemon.Url("/status"),
               auth.empty() ? std::vector<std::string>{} : std::vector<std::string>{"-u", auth});
      if (status.status == 200 && status.body.find("\"pending\"") == std::string::npos &&
          status.body.find("pangolin-output-5512") != std::string::npos) {
        return;
      }
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "checks did not all report";
  }

  TestHttpServer server_;
};

TEST_F(PublicPageTest, NothingInternalLeaksIntoAnyPublicByte) {
  DaemonProcess daemon(Config(), {}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  WaitForResults(daemon);

  // The strings are really there inside: /status shows the runtime ones.
  const Fetched status = Curl(daemon.Url("/status"));
  for (const char* inside :
       {"walrus-internal-api", "s3cr3t-token-7788", "pangolin-output-5512", "capybara-tier",
        "ocelot-owner", "internal-quokka-path", "127.0.0.1", "zebra-detail-"}) {
    EXPECT_THAT(status.body, HasSubstr(inside)) << "the test would prove nothing";
  }

  std::vector<std::pair<std::string, Fetched>> fetched;
  for (const std::string path : {"/public", "/public.json"}) {
    fetched.emplace_back(path, Curl(daemon.Url(path)));
  }
  const json page = json::parse(fetched[1].second.body);
  std::vector<std::string> names;
  for (const auto& group : page["groups"]) {
    for (const auto& component : group["components"]) names.push_back(component["name"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Website", "Payments API", "Storage"}));
  for (const std::string& name : names) {
    for (const std::string query : {"", "?uptime=24h", "?uptime=90d"}) {
      const std::string path = "/public/badge/" + PercentEncode(name) + ".svg" + query;
      fetched.emplace_back(path, Curl(daemon.Url(path)));
    }
  }
  for (const auto& [path, reply] : fetched) {
    EXPECT_EQ(reply.status, 200) << path;
    for (const std::string& internal : kInternal) {
      EXPECT_THAT(reply.raw, Not(HasSubstr(internal))) << path << " leaks " << internal;
    }
  }
  // What is shown: display names and plain words.
  EXPECT_THAT(fetched[0].second.body, HasSubstr("<h3>Payments API</h3>"));
  EXPECT_THAT(fetched[0].second.body, HasSubstr("We are looking into slow payments."));
  EXPECT_EQ(page["status"], "outage");
  EXPECT_EQ(page["groups"][0]["components"][0]["status_text"], "Operational");
  EXPECT_EQ(page["groups"][0]["components"][1]["status_text"], "Outage");
  EXPECT_EQ(page["groups"][1]["components"][0]["status_text"], "Outage");
}

TEST_F(PublicPageTest, OpenUnderBasicAuthWhileEverythingElseStaysClosed) {
  TempDir dir;
  const std::string web =
      dir.Write("web.yml", "basic_auth_users:\n  admin: " + Bcrypt("right-password-31") + "\n");
  DaemonProcess daemon(Config(), {"--web.config.file=" + web}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  WaitForResults(daemon, "admin:right-password-31");

  EXPECT_EQ(Curl(daemon.Url("/public")).status, 200);
  EXPECT_EQ(Curl(daemon.Url("/public.json")).status, 200);
  EXPECT_EQ(Curl(daemon.Url("/public/badge/Website.svg")).status, 200);
  EXPECT_EQ(Curl(daemon.Url("/public/badge/Payments%20API.svg?uptime=30d")).status, 200);
  EXPECT_EQ(Curl(daemon.Url("/public?x=1")).status, 200);
  // An unknown badge is an honest 404: display names are public anyway.
  EXPECT_EQ(Curl(daemon.Url("/public/badge/Nope.svg")).status, 404);
  // Exactly these paths: anything near them needs credentials.
  for (const std::string path :
       {"/status", "/metrics", "/", "/readyz?verbose=1", "/public/", "/publicx", "/public.json/",
        "/public/badge/a/b.svg", "/public/badge/.svg", "/public/x/../../status", "/public/badge",
        "/public/status", "/public.html", "/public/badge/Website.png"}) {
    EXPECT_EQ(Curl(daemon.Url(path), {"--path-as-is"}).status, 401) << path;
  }
  EXPECT_EQ(Curl(daemon.Url("/status"), {"-u", "admin:right-password-31"}).status, 200);
}

TEST_F(PublicPageTest, CacheableByEtagAndReadOnly) {
  DaemonProcess daemon(Config(), {}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  WaitForResults(daemon);
  for (const std::string path : {"/public", "/public.json", "/public/badge/Website.svg"}) {
    const Fetched first = Curl(daemon.Url(path));
    ASSERT_EQ(first.status, 200) << path;
    const std::string etag = first.headers["etag"];
    EXPECT_THAT(etag, ::testing::MatchesRegex("\"[0-9a-f]{32}\"")) << path;
    EXPECT_EQ(first.headers["cache-control"], "public, max-age=30") << path;
    // Nothing changes while the checks keep their states: same bytes, same tag.
    const Fetched again = Curl(daemon.Url(path));
    EXPECT_EQ(again.headers["etag"], etag) << path;
    EXPECT_EQ(again.body, first.body) << path;

    const Fetched cached = Curl(daemon.Url(path), {"-H", "If-None-Match: " + etag});
    EXPECT_EQ(cached.status, 304) << path;
    EXPECT_EQ(cached.body, "") << path;
    EXPECT_EQ(cached.headers["etag"], etag) << path;
    EXPECT_EQ(Curl(daemon.Url(path), {"-H", "If-None-Match: W/" + etag + ", \"x\""}).status, 304);
    EXPECT_EQ(Curl(daemon.Url(path), {"-H", "If-None-Match: \"other\""}).status, 200) << path;

    const Fetched head = Curl(daemon.Url(path), {"-I"});
    EXPECT_EQ(head.status, 200) << path;
    EXPECT_EQ(head.headers["etag"], etag) << path;
    // curl -I writes the head where the body would go: no body follows it.
    EXPECT_TRUE(head.body.ends_with("\r\n\r\n")) << path;
    EXPECT_THAT(head.body, Not(HasSubstr(first.body.substr(0, 40)))) << path;
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
      const Fetched refused = Curl(daemon.Url(path), {"-X", method});
      EXPECT_EQ(refused.status, 405) << method << " " << path;
      EXPECT_EQ(refused.headers["allow"], "GET, HEAD") << method << " " << path;
      EXPECT_EQ(refused.headers["cache-control"], "no-store");
    }
  }
  EXPECT_EQ(Curl(daemon.Url("/public.json")).headers["access-control-allow-origin"], "*");
  EXPECT_EQ(Curl(daemon.Url("/public/badge/Website.svg")).headers["content-security-policy"],
            "default-src 'none'");
}

TEST_F(PublicPageTest, TheEtagChangesWithTheState) {
  TempDir dir;
  const std::string config = dir.Write("hx.yml", Config());
  DaemonProcess daemon("", {"--config.file=" + config}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  WaitForResults(daemon);
  const Fetched before = Curl(daemon.Url("/public"));
  // The Website check starts failing: the page, and so its tag, changes.
  server_.Route("/okapi", [](const TestHttpRequest&) { return TestHttpResponse{500, "", {}}; });
  // Within the check's next runs and the page's view lifetime (5 s).
  Fetched after;
  for (int i = 0; i < 150; ++i) {
    after = Curl(daemon.Url("/public"), {"-H", "If-None-Match: " + before.headers["etag"]});
    if (after.status == 200) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(after.status, 200);
  EXPECT_NE(after.headers["etag"], before.headers["etag"]);
  EXPECT_THAT(after.body, HasSubstr("data-overall=\"outage\""));
}

TEST_F(PublicPageTest, FollowsConfigReloads) {
  TempDir dir;
  const std::string config = dir.Write("hx.yml", Config());
  DaemonProcess daemon("", {"--config.file=" + config}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  EXPECT_THAT(Curl(daemon.Url("/public")).body, HasSubstr("<h1>Acme status</h1>"));

  std::string renamed = Config();
  renamed.replace(renamed.find("title: Acme status"), 18, "title: Acme status (new)");
  dir.Write("hx.yml", renamed);
  daemon.Signal(SIGHUP);
  const HttpReply reloaded = daemon.PollUntil(
      "/public",
      [](const HttpReply& r) { return r.body.find("Acme status (new)") != std::string::npos; },
      10s);
  EXPECT_THAT(reloaded.body, HasSubstr("<h1>Acme status (new)</h1>"));

  // Without status_page the paths are like any other unknown path.
  std::string without = Config();
  without.erase(without.find("status_page:"));
  dir.Write("hx.yml", without);
  daemon.Signal(SIGHUP);
  const HttpReply gone = daemon.PollUntil(
      "/public", [](const HttpReply& r) { return r.status == 404; }, 10s);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Curl(daemon.Url("/public/badge/Website.svg")).status, 404);
}

TEST_F(PublicPageTest, BadgesAreValidSvgInTheStateColour) {
  DaemonProcess daemon(Config(), {}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  WaitForResults(daemon);
  const Fetched website = Curl(daemon.Url("/public/badge/Website.svg"));
  EXPECT_EQ(website.headers["content-type"], "image/svg+xml");
  EXPECT_EQ(BadgeFill(website.body), "#4c1");
  EXPECT_THAT(website.body, HasSubstr(">Operational</text>"));
  const Fetched payments = Curl(daemon.Url("/public/badge/Payments%20API.svg"));
  EXPECT_EQ(BadgeFill(payments.body), "#e05d44");
  EXPECT_THAT(payments.body, HasSubstr(">Outage</text>"));
  EXPECT_THAT(payments.body, HasSubstr(">Payments API</text>"));
  // The daemon's daily history: Storage has failed since it started, so
  // once its second result has put time behind a verdict its uptime is 0 %
  // (before that the badge says "no data").
  Fetched uptime;
  for (int i = 0; i < 100; ++i) {
    uptime = Curl(daemon.Url("/public/badge/Storage.svg?uptime=7d"));
    if (uptime.body.find(">no data</text>") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(BadgeFill(uptime.body), "#e05d44");
  EXPECT_THAT(uptime.body, HasSubstr(">0%</text>"));
  EXPECT_EQ(Curl(daemon.Url("/public/badge/Storage.svg?uptime=1y")).status, 400);
}

TEST_F(PublicPageTest, OwnListenAddressServesOnlyThePublicPaths) {
  TempDir dir;
  const std::string web =
      dir.Write("web.yml", "basic_auth_users:\n  admin: " + Bcrypt("right-password-31") + "\n");
  DaemonProcess daemon(Config("    listen_address: \"127.0.0.1:0\"\n"),
                       {"--web.config.file=" + web}, Env());
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  std::smatch address;
  const std::string logs = daemon.Logs();
  ASSERT_TRUE(std::regex_search(
      logs, address, std::regex("serving the public page\" address=(127\\.0\\.0\\.1:\\d+)")))
      << logs;
  const std::string base = "http://" + std::string(address[1]);
  EXPECT_EQ(Curl(base + "/public").status, 200);
  EXPECT_EQ(Curl(base + "/public.json").status, 200);
  EXPECT_EQ(Curl(base + "/public/badge/Website.svg").status, 200);
  EXPECT_EQ(Curl(base + "/public", {"-X", "POST"}).status, 405);
  // No basic auth on this address, and nothing but the public paths.
  for (const std::string path : {"/status", "/metrics", "/", "/healthz", "/readyz", "/-/reload",
                                 "/public/", "/heartbeat/x"}) {
    EXPECT_EQ(Curl(base + path).status, 404) << path;
    EXPECT_EQ(Curl(base + path, {"-u", "admin:right-password-31"}).status, 404) << path;
  }
  // The main address is unchanged.
  EXPECT_EQ(Curl(daemon.Url("/status")).status, 401);
  EXPECT_EQ(Curl(daemon.Url("/public")).status, 200);
}

// 90 days of made-up history for the screenshots: mostly perfect, a few bad
// days per check, nothing before "search" existed, and "pay-us" down today.
class MadeUpHistory : public HistoryView {
 public:
  CheckHistory ForCheck(std::string_view check, int days, double now) const override {
    // Seconds down on some days, by days before today.
    static const std::map<std::string_view, std::map<int, double>> kDown = {
        {"www", {{61, 600}}},
        {"api", {{70, 5400}, {44, 300}, {12, 900}, {3, 200}}},
        {"search", {{30, 120}}},
        {"pay-eu", {{52, 400}}},
        {"pay-us", {{52, 400}, {0, 2400}}}};
    CheckHistory history;
    const int64_t today = store::UnixDay(now);
    const auto& down = kDown.at(check);
    for (int i = 0; i < days; ++i) {
      const int ago = days - 1 - i;
      store::DailyAggregate day;
      day.day = today - ago;
      if (check != "search" || ago < 80) {
        day.attempts = 2880;
        const auto it = down.find(ago);
        day.seconds_unhealthy = it == down.end() ? 0 : it->second;
        day.seconds_healthy = 86400 - day.seconds_unhealthy;
      }
      history.days.push_back(day);
    }
    const bool bad_today = check == "pay-us";
    history.uptime_24h = bad_today ? 0.9722 : 1.0;
    history.uptime_7d = check == "api" ? 0.99967 : bad_today ? 0.99603 : 1.0;
    history.uptime_30d = check == "api" ? 0.99957 : bad_today ? 0.99907 : 1.0;
    history.uptime_90d = check == "api" ? 0.99093 : check == "search" ? 0.99998 : 0.99949;
    return history;
  }
};

TEST(PublicPageChromiumTest, DesktopPhoneAndDarkScreenshots) {
  if (!HaveChromium()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  StatusBoard board;
  const std::vector<std::pair<std::string, Health>> checks = {{"www", Health::kHealthy},
                                                              {"api", Health::kDegraded},
                                                              {"search", Health::kHealthy},
                                                              {"pay-eu", Health::kHealthy},
                                                              {"pay-us", Health::kUnhealthy}};
  for (size_t id = 0; id < checks.size(); ++id) {
    CheckInfo info = TestCheckInfo(checks[id].first);
    if (checks[id].first.starts_with("pay")) info.labels = {{"team", "payments"}};
    board.AddCheck(id, info);
    RunRecord run;
    run.check_id = id;
    run.result = checks[id].second == Health::kHealthy
                     ? CheckResult::Healthy()
                     : CheckResult::Unhealthy(FailureReason::kInternal, "internal detail");
    run.result.health = checks[id].second;
    run.state = checks[id].second;
    run.finished_at = 1714564800;
    board.Record(run);
  }
  auto source = std::make_shared<PublicPageSource>();
  PublicPageConfig page;
  page.title = "Acme Corp status";
  page.notice =
      "Card payments in the US fail for some customers since 14:05 UTC. We are on it; next "
      "update by 15:00 UTC.";
  page.groups = {
      {"Website and API",
       {{"Website", "www", {}}, {"Public API", "api", {}}, {"Search", "search", {}}}},
      {"Payments",
       {{"Payments (Europe)", "pay-eu", {}}, {"Payments (United States)", "pay-us", {}}}}};
  source->Set(page);
  CheckMetrics metrics;
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  WebServer web(options, board, metrics, [] { return true; });
  MadeUpHistory history;
  web.set_history(&history);
  web.set_public_page(source);
  ASSERT_EQ(web.Start(), std::nullopt);
  const std::string url = "http://127.0.0.1:" + std::to_string(web.port()) + "/public";

  const CommandResult dom = RunChromium({"--dump-dom"}, url);
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  EXPECT_THAT(dom.output, HasSubstr("data-overall=\"outage\""));
  EXPECT_THAT(dom.output, HasSubstr("Payments (United States)"));

  const std::string dir = ArtefactDir("public-page");
  std::map<std::string, std::string> shots =
      Screenshots(url, dir, "public-page", DesktopPhoneDark("1100,1250", "390,1400"));
  EXPECT_NE(shots["dark"], shots["desktop"]) << "dark mode looks like light mode";
}

}  // namespace
}  // namespace hx
