// The dependency map at "/map" of the real health_exporter binary: a small
// cascade (a dead database, the checks above it blocked), as the server
// renders it and as headless Chromium shows it after the page's own script
// has refreshed it under the CSP; screenshots (desktop, phone, dark) are kept
// under <build dir>/artifacts/dependency-map/.

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

struct DrawnNode {
  std::string classes, href, state, role;
  bool operator==(const DrawnNode&) const = default;
};
std::ostream& operator<<(std::ostream& out, const DrawnNode& node) {
  return out << "{" << node.classes << ", " << node.href << ", " << node.state << ", " << node.role
             << "}";
}

// The nodes of the map, from server HTML or from Chromium's DOM (which
// writes the same attributes back in the same order).
std::map<std::string, DrawnNode> Nodes(const std::string& html) {
  std::map<std::string, DrawnNode> nodes;
  const std::regex tag(
      R"re(<a class="node ([^"]*)" href="([^"]*)" data-check="([^"]*)" data-state="(\w*)" data-role="(\w*)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it) {
    nodes[(*it)[3]] = {(*it)[1], (*it)[2], (*it)[4], (*it)[5]};
  }
  return nodes;
}

// What one node's <a> element holds, up to its closing tag.
std::string NodeElement(const std::string& html, const std::string& name) {
  const size_t start = html.find("data-check=\"" + name + "\" data-state");
  if (start == std::string::npos) return "";
  return html.substr(start, html.find("</a>", start) - start);
}

std::map<std::string, bool> Edges(const std::string& html) {
  std::map<std::string, bool> edges;
  const std::regex tag(
      R"re(<path class="edge( cascade)?" data-from="([^"]*)" data-to="([^"]*)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it) {
    edges[std::string((*it)[2]) + ">" + std::string((*it)[3])] = (*it)[1].matched;
  }
  return edges;
}

class DependencyMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string ok = web_.Url("/status/200");
    const std::string broken = web_.Url("/status/500");
    // orders -> payments -> postgres (dead); storefront -> orders, search;
    // search -> elastic; reports -> postgres but only degraded; smtp alone.
    daemon_ = std::make_unique<DaemonProcess>(
        "global: {interval: 1s, timeout: 800ms}\n"
        "checks:\n"
        "  - name: postgres\n"
        "    http: {url: '" +
        broken +
        "'}\n"
        "  - name: elastic\n"
        "    http: {url: '" +
        ok +
        "'}\n"
        "  - name: payments\n"
        "    depends_on: [postgres]\n"
        "    http: {url: '" +
        broken +
        "'}\n"
        "  - name: orders\n"
        "    depends_on: [payments, postgres]\n"
        "    http: {url: '" +
        broken +
        "'}\n"
        "  - name: search\n"
        "    depends_on: [elastic]\n"
        "    http: {url: '" +
        ok +
        "'}\n"
        "  - name: storefront\n"
        "    depends_on: [orders, search]\n"
        "    http: {url: '" +
        broken +
        "'}\n"
        "  - name: reports\n"
        "    critical: false\n"
        "    depends_on: [postgres]\n"
        "    http: {url: '" +
        web_.Url("/status/429") +
        "', degraded_status: [429]}\n"
        "  - name: smtp-relay\n"
        "    critical: false\n"
        "    http: {url: '" +
        ok + "'}\n");
    ASSERT_TRUE(daemon_->started()) << daemon_->Logs();
    const HttpReply status = daemon_->PollUntil(
        "/status",
        [&](const HttpReply& reply) {
          if (reply.status != 200) return false;
          // (Not `: json::parse(...)["checks"]`: the parsed temporary would
          // die before the loop runs.)
          const json parsed = json::parse(reply.body);
          for (const auto& check : parsed["checks"]) {
            if (check["state"] == "pending") return false;
          }
          return true;
        },
        15s);
    ASSERT_EQ(status.status, 200);
    const json parsed = json::parse(status.body);
    ASSERT_EQ(parsed["checks"].size(), 8u);
    for (const auto& check : parsed["checks"]) {
      ASSERT_NE(check["state"], "pending") << status.body;
    }
  }

  static std::map<std::string, DrawnNode> ExpectedNodes() {
    auto node = [](const std::string& name, const std::string& classes, const std::string& state,
                   const std::string& role) {
      return std::pair<const std::string, DrawnNode>{name,
                                                     {classes, "/#check-" + name, state, role}};
    };
    return {node("postgres", "unhealthy root", "unhealthy", "root"),
            node("elastic", "healthy", "healthy", ""),
            node("payments", "unhealthy blocked", "unhealthy", "blocked"),
            node("orders", "unhealthy blocked", "unhealthy", "blocked"),
            node("search", "healthy", "healthy", ""),
            node("storefront", "unhealthy blocked", "unhealthy", "blocked"),
            node("reports", "degraded", "degraded", "")};
  }

  static void ExpectCascade(const std::string& html) {
    EXPECT_EQ(Nodes(html), ExpectedNodes());
    EXPECT_EQ(Edges(html), (std::map<std::string, bool>{{"payments>postgres", true},
                                                        {"orders>payments", true},
                                                        {"orders>postgres", true},
                                                        {"search>elastic", false},
                                                        {"storefront>orders", true},
                                                        {"storefront>search", false},
                                                        {"reports>postgres", false}}));
    // The root has a halo and says so; blocked nodes are hatched and say so.
    const std::string root = NodeElement(html, "postgres");
    EXPECT_THAT(root, HasSubstr("class=\"halo\""));
    EXPECT_THAT(root, HasSubstr(">Root cause \xC2\xB7 blocks 3</text>"));
    for (const char* name : {"payments", "orders", "storefront"}) {
      const std::string element = NodeElement(html, name);
      EXPECT_THAT(element, HasSubstr("class=\"hatch\"")) << name;
      EXPECT_THAT(element, HasSubstr("Unhealthy \xC2\xB7 blocked</text>")) << name;
      EXPECT_THAT(element, HasSubstr("blocked by postgres</title>")) << name;
      EXPECT_THAT(element, Not(HasSubstr("class=\"halo\""))) << name;
    }
    for (const char* name : {"elastic", "search", "reports"}) {
      EXPECT_THAT(NodeElement(html, name), Not(HasSubstr("class=\"hatch\""))) << name;
      EXPECT_THAT(NodeElement(html, name), Not(HasSubstr("class=\"halo\""))) << name;
    }
    // smtp-relay has no edge: listed under the map, not drawn.
    EXPECT_THAT(html, HasSubstr("1 check has no dependency and no dependant"));
    EXPECT_THAT(html, HasSubstr("href=\"/#check-smtp-relay\" data-check=\"smtp-relay\""));
    EXPECT_THAT(
        html, HasSubstr("1 root cause (<a href=\"#map-postgres\">postgres</a>) blocks 3 checks."));
  }

  TestHttpServer web_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DependencyMapTest, ServerRendersTheCascade) {
  const HttpReply map = HttpRequest(daemon_->Url("/map"));
  ASSERT_EQ(map.status, 200);
  EXPECT_EQ(map.headers.at("content-type"), "text/html; charset=utf-8");
  ExpectCascade(map.body);

  // Every node's link leads to a card with that id on the status page, and
  // the status page links the map.
  const HttpReply index = HttpRequest(daemon_->Url("/"));
  ASSERT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("<a href=\"/map\">Dependency map</a>"));
  for (const auto& [name, node] : Nodes(map.body)) {
    ASSERT_EQ(node.href.rfind("/#", 0), 0u) << node.href;
    EXPECT_THAT(index.body, HasSubstr(" id=\"" + node.href.substr(2) + "\">")) << name;
  }
}

// The map names every check in the graph: under basic auth it is as
// protected as /status and "/".
TEST(DependencyMapAuthTest, NeedsCredentialsUnderBasicAuth) {
  TempDir dir;
  // alice / "correct horse" at bcrypt cost 4 (tests/testdata/web/good/basic_auth.yml).
  const std::string web =
      dir.Write("web.yml",
                "basic_auth_users:\n"
                "  alice: $2b$04$gH3t4vZ6SpZ95vTZgRfhDuR0KIuXXqzV5mWB3.fOXv.OgKpeoujTK\n");
  DaemonProcess d(
      "checks:\n"
      "  - name: secret-db\n"
      "    heartbeat: {ttl: 1h, token: 'map-auth-token-0123456789abcdef'}\n"
      "  - name: secret-api\n"
      "    depends_on: [secret-db]\n"
      "    heartbeat: {ttl: 1h, token: 'map-auth-token-0123456789abcdeg'}\n",
      {"--web.config.file=" + web});
  ASSERT_TRUE(d.started()) << d.Logs();
  const HttpReply refused = HttpRequest(d.Url("/map"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.body.find("secret-"), std::string::npos) << refused.body;
  const HttpReply allowed = HttpRequest(
      "http://alice:correct%20horse@127.0.0.1:" + std::to_string(d.port()) + "/map?all=1");
  EXPECT_EQ(allowed.status, 200);
  EXPECT_THAT(allowed.body, HasSubstr("data-check=\"secret-api\""));
}

TEST_F(DependencyMapTest, ChromiumShowsTheCascadeAndScreenshots) {
  if (!HaveChromium()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  const std::string dir = ArtefactDir("dependency-map");

  // The page's script refreshes after 5 s; virtual time lets it happen at
  // once. The map in the DOM is then the one the script swapped in.
  const CommandResult dump =
      RunChromium({"--virtual-time-budget=12000", "--dump-dom"}, daemon_->Url("/map"));
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  const std::string& dom = dump.output;
  std::ofstream(dir + "/dom.html") << dom;
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"re(<body[^>]* data-refreshes="[1-9])re")))
      << "the refresh script did not run under the CSP: " << dom.substr(0, 1500);
  EXPECT_THAT(dom, Not(HasSubstr("class=\"live lost\"")));
  ExpectCascade(dom);

  // The card a node links to exists in the browser's DOM of the status page.
  const CommandResult index = RunChromium({"--dump-dom"}, daemon_->Url("/#check-payments"));
  ASSERT_EQ(index.exit_code, 0) << index.output;
  EXPECT_THAT(index.output, HasSubstr("data-check=\"payments\" data-state=\"unhealthy\" "
                                      "data-critical=\"true\" id=\"check-payments\""));

  std::vector<PageView> views = DesktopPhoneDark("1200,720", "390,844");
  views[2].flags = {"--window-size=1200,900", "--force-dark-mode",
                    "--blink-settings=preferredColorScheme=0"};
  Screenshots(daemon_->Url("/map"), dir, "dependency-map", views, {"--virtual-time-budget=1000"});
}

}  // namespace
}  // namespace hx
