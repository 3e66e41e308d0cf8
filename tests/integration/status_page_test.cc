// The status page at "/" of the real health_exporter binary, as a browser
// sees it: server-rendered HTML compared with /status, then headless Chromium
// (after the page's own script has refreshed it) and screenshots kept as
// artefacts under the build dir.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/chromium.h"
#include "support/daemon_process.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// What a card shows, read back from rendered HTML or from /status.
struct Card {
  std::string group;
  std::string state;
  bool critical = true;
  bool operator==(const Card&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Card& card) {
  return out << "{" << card.group << ", " << card.state << ", "
             << (card.critical ? "critical" : "non-critical") << "}";
}

struct Board {
  std::string overall;
  std::vector<std::string> groups;                        // in page order
  std::map<std::string, std::vector<std::string>> order;  // group -> check names in page order
  std::map<std::string, Card> cards;                      // check name -> card
};

// Reads the data-* attributes the page puts on its board, groups and cards.
// Names in this test are plain, so attribute values need no unescaping.
Board ParseBoard(const std::string& html) {
  Board board;
  std::smatch overall;
  if (std::regex_search(html, overall,
                        std::regex(R"re(<main id="board" data-overall="(\w+)")re"))) {
    board.overall = overall[1];
  }
  const std::regex tag(
      R"re(<section class="group" data-group="([^"]*)"|<article class="card \w+" data-check="([^"]*)" data-state="(\w+)" data-critical="(\w+)")re");
  std::string group;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it) {
    const std::smatch& m = *it;
    if (m[1].matched) {
      group = m[1];
      board.groups.push_back(group);
    } else {
      board.cards[m[2]] = Card{group, m[3], m[4] == "true"};
      board.order[group].push_back(m[2]);
    }
  }
  return board;
}

// The same facts from /status: grouped by the `team` label, "other" without.
Board BoardFromStatus(const json& status) {
  Board board;
  board.overall = status["overall"];
  for (const auto& check : status["checks"]) {
    const std::string group = check["labels"].value("team", "other");
    board.cards[check["name"]] = Card{group, check["state"], check["critical"]};
  }
  return board;
}

// Critical unhealthy first, then other failures, pending, healthy.
int Urgency(const Card& card) {
  if (card.state == "unhealthy") return card.critical ? 0 : 1;
  if (card.state == "degraded") return 2;
  if (card.state == "pending") return 3;
  return 4;
}

void ExpectUrgentFirst(const Board& board) {
  for (const auto& [group, names] : board.order) {
    for (size_t i = 1; i < names.size(); ++i) {
      EXPECT_LE(Urgency(board.cards.at(names[i - 1])), Urgency(board.cards.at(names[i])))
          << group << ": " << names[i - 1] << " before " << names[i];
    }
  }
}

class StatusPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string ok = web_.Url("/status/200");
    daemon_ = std::make_unique<DaemonProcess>(
        // A window as long as backup-index's interval keeps that check pending.
        "global: {interval: 1s, timeout: 800ms, startup_spread: 1h}\n"
        "checks:\n"
        "  - name: checkout-api\n"
        "    labels: {team: payments, tier: frontend}\n"
        "    http: {url: '" +
        ok +
        "'}\n"
        "  - name: ledger\n"
        "    labels: {team: payments, tier: backend, owner: '<img src=x onerror=alert(1)>'}\n"
        "    http: {url: '" +
        web_.Url("/status/429") +
        "', degraded_status: [429]}\n"
        "  - name: card-vault\n"
        "    labels: {team: payments, tier: backend}\n"
        "    http: {url: '" +
        web_.Url("/status/500") +
        "'}\n"
        "  - name: blob-store\n"
        "    critical: false\n"
        "    labels: {team: storage}\n"
        "    http: {url: '" +
        ok +
        "', expect_body: '<b>ready</b>'}\n"
        "  - name: backup-index\n"
        "    interval: 1h\n"
        "    timeout: 5s\n"
        "    labels: {team: storage}\n"
        "    http: {url: '" +
        ok +
        "'}\n"
        "  - name: object-gc\n"
        "    labels: {team: storage}\n"
        "    http: {url: '" +
        ok +
        "'}\n"
        "  - name: smtp-relay\n"
        "    critical: false\n"
        "    http: {url: '" +
        ok + "'}\n");
    ASSERT_TRUE(daemon_->started()) << daemon_->Logs();
    // Every check but the hourly one has a result; that one stays pending.
    daemon_->PollUntil(
        "/status",
        [&](const HttpReply& reply) {
          if (reply.status != 200) return false;
          status_ = json::parse(reply.body);
          for (const auto& check : status_["checks"]) {
            if (check["name"] != "backup-index" && check["state"] == "pending") return false;
          }
          return true;
        },
        15s);
    ASSERT_EQ(StatesByName(status_), ExpectedStates()) << status_.dump(2);
  }

  static std::map<std::string, std::string> StatesByName(const json& status) {
    std::map<std::string, std::string> states;
    for (const auto& check : status["checks"]) states[check["name"]] = check["state"];
    return states;
  }

  static std::map<std::string, std::string> ExpectedStates() {
    return {{"checkout-api", "healthy"}, {"ledger", "degraded"},      {"card-vault", "unhealthy"},
            {"blob-store", "unhealthy"}, {"backup-index", "pending"}, {"object-gc", "healthy"},
            {"smtp-relay", "healthy"}};
  }

  json FreshStatus() const { return json::parse(HttpRequest(daemon_->Url("/status")).body); }

  TestHttpServer web_;
  std::unique_ptr<DaemonProcess> daemon_;
  json status_;
};

TEST_F(StatusPageTest, ServerRenderedPageIsCompleteWithoutJavaScript) {
  const HttpReply page = HttpRequest(daemon_->Url("/"));
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
  const Board board = ParseBoard(page.body);
  const Board expected = BoardFromStatus(FreshStatus());
  EXPECT_EQ(board.overall, "unhealthy");
  EXPECT_EQ(board.overall, expected.overall);
  EXPECT_EQ(board.cards, expected.cards);
  EXPECT_EQ(board.groups, (std::vector<std::string>{"payments", "storage", "other"}));
  EXPECT_EQ(board.order.at("payments"),
            (std::vector<std::string>{"card-vault", "ledger", "checkout-api"}));
  EXPECT_EQ(board.order.at("storage"),
            (std::vector<std::string>{"blob-store", "backup-index", "object-gc"}));
  ExpectUrgentFirst(board);

  // Config and target text is escaped, never markup.
  EXPECT_THAT(page.body, HasSubstr("owner=&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(page.body, HasSubstr("body does not match &quot;&lt;b&gt;ready&lt;/b&gt;&quot;"));
  EXPECT_THAT(page.body, Not(HasSubstr("<img")));
  EXPECT_THAT(page.body, Not(HasSubstr("<b>ready")));
  for (const char* link : {"/metrics", "/status", "/readyz", "/healthz"}) {
    EXPECT_THAT(page.body, HasSubstr(std::string("<a href=\"") + link + "\">"));
  }
}

TEST_F(StatusPageTest, GroupQueryPicksAnotherLabel) {
  const HttpReply page = HttpRequest(daemon_->Url("/?group=tier"));
  ASSERT_EQ(page.status, 200);
  const Board board = ParseBoard(page.body);
  EXPECT_EQ(board.groups, (std::vector<std::string>{"backend", "frontend", "other"}));
  EXPECT_EQ(board.order.at("backend"), (std::vector<std::string>{"card-vault", "ledger"}));
  EXPECT_EQ(board.order.at("frontend"), (std::vector<std::string>{"checkout-api"}));
  EXPECT_EQ(board.order.at("other"),
            (std::vector<std::string>{"blob-store", "backup-index", "object-gc", "smtp-relay"}));
  EXPECT_THAT(page.body, HasSubstr("<a href=\"/?group=tier\" aria-current=\"page\">tier</a>"));
}

TEST_F(StatusPageTest, ChromiumRendersTheRefreshedBoardAndScreenshots) {
  if (!HaveChromium()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  const std::string dir = ArtefactDir("status-page");

  // The script refreshes after 5 s; virtual time lets that happen at once.
  const CommandResult dump =
      RunChromium({"--virtual-time-budget=12000", "--dump-dom"}, daemon_->Url("/"));
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  const std::string& dom = dump.output;
  std::ofstream(dir + "/dom.html") << dom;

  // The script ran under the page's Content-Security-Policy and swapped in a
  // fresh board at least once.
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"re(<body[^>]* data-refreshes="[1-9])re")))
      << dom.substr(0, 2000);
  EXPECT_THAT(dom, HasSubstr("Live \xC2\xB7 updated"));
  EXPECT_THAT(dom, Not(HasSubstr("class=\"live lost\"")));

  const Board board = ParseBoard(dom);
  const json status = FreshStatus();
  ASSERT_EQ(StatesByName(status), ExpectedStates());
  const Board expected = BoardFromStatus(status);
  EXPECT_EQ(board.overall, expected.overall);
  EXPECT_EQ(board.cards, expected.cards);
  EXPECT_EQ(board.groups, (std::vector<std::string>{"payments", "storage", "other"}));
  ExpectUrgentFirst(board);
  // Escaped text stays text in the live DOM too.
  EXPECT_THAT(dom, HasSubstr("owner=&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(dom, Not(HasSubstr("<img")));

  Screenshots(daemon_->Url("/"), dir, "status-page",
              {{"desktop", {"--window-size=1200,900"}}, {"phone", {"--window-size=390,844"}}},
              {"--virtual-time-budget=1000"});
}

}  // namespace
}  // namespace hx
