#include "http/dependency_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "http/landing_page.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNow = 1714564800.0;  // 2024-05-01T12:00:00Z

struct Spec {
  std::string name;
  std::optional<Health> state;
  std::vector<std::string> depends_on;
};

// A snapshot as the board makes it: blocked_by from the real
// DependencyGraph evaluation, so the map is tested on what the daemon shows.
BoardSnapshot Snapshot(const std::vector<Spec>& specs) {
  BoardSnapshot snapshot;
  std::vector<DependencyNode> nodes;
  std::vector<std::optional<Health>> states;
  for (const Spec& spec : specs) {
    auto info = std::make_shared<CheckInfo>();
    info->name = spec.name;
    info->type = "http";
    info->depends_on = spec.depends_on;
    auto status = std::make_shared<CheckStatus>();
    status->info = info;
    status->state = spec.state;
    snapshot.checks.push_back(status);
    nodes.push_back({spec.name, spec.depends_on});
    states.push_back(spec.state);
  }
  snapshot.overall = ComputeOverallStatus(snapshot.checks);
  const DependencyGraph graph(std::move(nodes));
  snapshot.blocked_by.resize(specs.size());
  const auto blocked = graph.Evaluate(states);
  for (size_t i = 0; i < specs.size(); ++i) {
    for (size_t root : blocked[i].blocked_by) snapshot.blocked_by[i].push_back(graph.name(root));
  }
  return snapshot;
}

constexpr std::optional<Health> kUp = Health::kHealthy;
constexpr std::optional<Health> kSlow = Health::kDegraded;
constexpr std::optional<Health> kDown = Health::kUnhealthy;
constexpr std::optional<Health> kPending = std::nullopt;

// A node as drawn: its classes and data attributes.
struct DrawnNode {
  std::string classes, state, role, href;
};

std::map<std::string, DrawnNode> Nodes(const std::string& svg) {
  std::map<std::string, DrawnNode> nodes;
  const std::regex tag(
      R"re(<a class="node ([^"]*)" href="([^"]*)" data-check="([^"]*)" data-state="(\w*)" data-role="(\w*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator();
       ++it) {
    nodes[(*it)[3]] = {(*it)[1], (*it)[4], (*it)[5], (*it)[2]};
  }
  return nodes;
}

// "from>to" of every edge, and which of them carry the cascade.
std::map<std::string, bool> Edges(const std::string& svg) {
  std::map<std::string, bool> edges;
  const std::regex tag(
      R"re(<path class="edge( cascade)?" data-from="([^"]*)" data-to="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator();
       ++it) {
    edges[std::string((*it)[2]) + ">" + std::string((*it)[3])] = (*it)[1].matched;
  }
  return edges;
}

// shop -> api -> db (down), shop -> cache (up), report -> db, lone (alone).
BoardSnapshot Cascade() {
  return Snapshot({{"db", kDown, {}},
                   {"cache", kUp, {}},
                   {"api", kDown, {"db", "cache"}},
                   {"shop", kDown, {"api", "cache"}},
                   {"report", kSlow, {"db"}},
                   {"search", kPending, {"cache"}},
                   {"lone", kDown, {}}});
}

TEST(DependencyMapTest, NodesAreColouredByStateAndMarkedRootOrBlocked) {
  const std::string svg = RenderDependencyMapSvg(Cascade());
  const auto nodes = Nodes(svg);
  ASSERT_EQ(nodes.size(), 6u) << svg;  // lone has no edge: not drawn
  EXPECT_EQ(nodes.count("lone"), 0u);
  EXPECT_EQ(nodes.at("db").state, "unhealthy");
  EXPECT_EQ(nodes.at("db").role, "root");
  EXPECT_EQ(nodes.at("db").classes, "unhealthy root");
  EXPECT_EQ(nodes.at("api").role, "blocked");
  EXPECT_EQ(nodes.at("api").classes, "unhealthy blocked");
  EXPECT_EQ(nodes.at("shop").role, "blocked");
  EXPECT_EQ(nodes.at("cache").classes, "healthy");
  EXPECT_EQ(nodes.at("report").classes, "degraded");  // degraded is never blocked
  EXPECT_EQ(nodes.at("search").classes, "pending");
  // The mark is in words too, not colour alone.
  EXPECT_THAT(svg, HasSubstr(">Root cause \xC2\xB7 blocks 2</text>"));
  EXPECT_THAT(svg, HasSubstr(">Unhealthy \xC2\xB7 blocked</text>"));
  EXPECT_THAT(svg, HasSubstr("<title>api: Unhealthy, blocked by db</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>db: Unhealthy, root cause: 2 checks are blocked by it"));
  EXPECT_THAT(svg, HasSubstr(">Degraded</text>"));
  EXPECT_THAT(svg, HasSubstr(">Pending</text>"));
  // Blocked nodes are hatched, the root has a halo.
  EXPECT_EQ(std::regex_search(svg, std::regex(R"re(data-check="db"[^\n]*class="halo")re")), true);
  EXPECT_EQ(std::regex_search(svg, std::regex(R"re(data-check="api"[^\n]*class="hatch")re")), true);
  EXPECT_EQ(
      std::regex_search(svg, std::regex(R"re(data-check="cache"[^\n]*class="(halo|hatch)")re")),
      false);
}

TEST(DependencyMapTest, EdgesRunFromDependantToDependencyAndTheCascadeIsRed) {
  const auto edges = Edges(RenderDependencyMapSvg(Cascade()));
  EXPECT_EQ(edges, (std::map<std::string, bool>{{"api>db", true},
                                                {"api>cache", false},
                                                {"shop>api", true},
                                                {"shop>cache", false},
                                                {"report>db", false},
                                                {"search>cache", false}}));
}

TEST(DependencyMapTest, NodesLinkToTheirCards) {
  const auto nodes = Nodes(RenderDependencyMapSvg(Cascade()));
  EXPECT_EQ(nodes.at("api").href, "/#check-api");
  EXPECT_EQ(CardHref("a b<c"), "/#check-a%20b%3Cc");
  EXPECT_EQ(CardId("a.b-c_d"), "check-a.b-c_d");
}

TEST(DependencyMapTest, EveryValueIsEscaped) {
  const std::string evil = "<img src=x onerror=\"alert('x')\">&amp;";
  const std::string svg =
      RenderDependencyMapSvg(Snapshot({{evil, kDown, {}}, {"web", kDown, {evil}}}));
  EXPECT_THAT(svg, Not(HasSubstr("<img")));
  EXPECT_THAT(svg, Not(HasSubstr("\"alert")));
  EXPECT_THAT(svg, Not(HasSubstr("&amp;\"")));  // the name's own "&amp;" is escaped again
  const std::string escaped = HtmlEscape(evil);
  EXPECT_THAT(svg, HasSubstr("data-check=\"" + escaped + "\""));
  EXPECT_THAT(svg, HasSubstr("data-to=\"" + escaped + "\""));
  EXPECT_THAT(svg, HasSubstr("<title>web: Unhealthy, blocked by " + escaped + "</title>"));
  EXPECT_THAT(
      svg,
      HasSubstr(
          "href=\"/#check-%3Cimg%20src%3Dx%20onerror%3D%22alert%28%27x%27%29%22%3E%26amp%3B\""));
  // In the box the long name is cut (the cut text is escaped too).
  EXPECT_THAT(svg, HasSubstr(">&lt;img src=x onerror=&quot;a\xE2\x80\xA6</text>"));

  const std::string page = RenderDependencyMapPage(
      Snapshot({{evil, kDown, {}}, {"web", kDown, {evil}}, {evil + "2", kUp, {}}}), kNow);
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, HasSubstr("1 root cause (<a "
                              "href=\"#map-%3Cimg%20src%3Dx%20onerror%3D%22alert%28%27x%27%29%22%"
                              "3E%26amp%3B\">" +
                              escaped + "</a>) blocks 1 check."));
  EXPECT_THAT(page, HasSubstr(" id=\"map-" + escaped + "\""));
}

TEST(DependencyMapTest, LongNamesAreCutOnCharacterBoundaries) {
  const std::string name =
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";  // 23 é
  const std::string svg = RenderDependencyMapSvg(Snapshot({{name, kUp, {}}, {"x", kUp, {name}}}));
  EXPECT_THAT(svg, HasSubstr(">" + name.substr(0, 42) + "\xE2\x80\xA6</text>"));
  const std::string fits = name.substr(0, 44);  // 22 é: shown whole
  const std::string svg2 = RenderDependencyMapSvg(Snapshot({{fits, kUp, {}}, {"x", kUp, {fits}}}));
  EXPECT_THAT(svg2, HasSubstr(">" + fits + "</text>"));
}

TEST(DependencyMapTest, ChecksOutsideTheGraphAreListedNotDrawn) {
  const std::string page = RenderDependencyMapPage(Cascade(), kNow);
  EXPECT_THAT(page, HasSubstr("1 check has no dependency and no dependant"));
  EXPECT_THAT(page, HasSubstr("<a class=\"chip unhealthy\" href=\"/#check-lone\" "
                              "data-check=\"lone\" data-state=\"unhealthy\">lone "
                              "<small>unhealthy</small></a>"));
  EXPECT_THAT(page, HasSubstr("data-map-mode=\"all\" data-map-nodes=\"6\""));
  // The root cause links to its node (the browser scrolls the frame there).
  EXPECT_THAT(page, HasSubstr("6 checks are in the graph. 1 root cause (<a "
                              "href=\"#map-db\">db</a>) blocks 2 checks."));
  EXPECT_THAT(page, HasSubstr("data-check=\"db\" data-state=\"unhealthy\" data-role=\"root\" "
                              "id=\"map-db\""));
}

TEST(DependencyMapTest, WithoutDependenciesThereIsNoMap) {
  const std::string page =
      RenderDependencyMapPage(Snapshot({{"a", kUp, {}}, {"b", kDown, {}}}), kNow);
  EXPECT_THAT(page, HasSubstr("No check declares depends_on"));
  EXPECT_THAT(page, Not(HasSubstr("<svg xmlns")));
  EXPECT_THAT(page, HasSubstr("data-check=\"b\" data-state=\"unhealthy\""));
  EXPECT_EQ(RenderDependencyMapSvg(Snapshot({{"a", kUp, {}}})), "");
}

std::vector<Spec> LargeGraph(bool failing) {
  // 30 healthy pairs and a chain that fails when asked to.
  std::vector<Spec> specs;
  for (int i = 0; i < 30; ++i) {
    specs.push_back({"base" + std::to_string(i), kUp, {}});
    specs.push_back({"top" + std::to_string(i), kUp, {"base" + std::to_string(i)}});
  }
  specs.push_back({"db", failing ? kDown : kUp, {}});
  specs.push_back({"api", failing ? kDown : kUp, {"db", "base0"}});
  specs.push_back({"web", kUp, {"api"}});
  return specs;
}

TEST(DependencyMapTest, LargeGraphsShowTheFailingPartUnlessAskedForAll) {
  DependencyMapOptions options;
  options.draw_whole_up_to = 10;
  options.max_nodes = 100;
  const BoardSnapshot failing = Snapshot(LargeGraph(true));
  const std::string page = RenderDependencyMapPage(failing, kNow, options);
  EXPECT_THAT(page, HasSubstr("data-map-mode=\"failing-part\" data-map-nodes=\"4\""));
  const auto nodes = Nodes(page);
  EXPECT_EQ(nodes.size(), 4u);  // db, api, and api's neighbours base0 and web
  EXPECT_EQ(nodes.count("base0"), 1u);
  EXPECT_EQ(nodes.count("web"), 1u);
  EXPECT_THAT(page, HasSubstr("the map shows its failing part"));
  EXPECT_THAT(page, HasSubstr("<a href=\"/map?all=1\">Draw the whole graph</a>"));

  options.whole_graph = true;
  const std::string whole = RenderDependencyMapPage(failing, kNow, options);
  EXPECT_THAT(whole, HasSubstr("data-map-mode=\"all\" data-map-nodes=\"63\""));
  EXPECT_THAT(whole, HasSubstr("<a href=\"/map\">Show only the failing part</a>"));

  // Nothing failing: no picture by default, the whole graph on request.
  options.whole_graph = false;
  const std::string calm = RenderDependencyMapPage(Snapshot(LargeGraph(false)), kNow, options);
  EXPECT_THAT(calm, HasSubstr("data-map-mode=\"nothing-failing\" data-map-nodes=\"0\""));
  EXPECT_THAT(calm, HasSubstr("and nothing in it is failing."));
  EXPECT_THAT(calm, Not(HasSubstr("<svg xmlns")));

  // Past max_nodes even on request, and when the failing part is too big.
  options.whole_graph = true;
  options.max_nodes = 30;
  const std::string capped = RenderDependencyMapPage(failing, kNow, options);
  EXPECT_THAT(capped, HasSubstr("data-map-mode=\"failing-part\" data-map-nodes=\"4\""));
  EXPECT_THAT(capped, Not(HasSubstr("Draw the whole graph")));
  options.max_nodes = 3;
  const std::string too_large = RenderDependencyMapPage(failing, kNow, options);
  EXPECT_THAT(too_large, HasSubstr("data-map-mode=\"too-large\" data-map-nodes=\"0\""));
  EXPECT_THAT(too_large, Not(HasSubstr("<svg xmlns")));
  EXPECT_THAT(too_large, HasSubstr("data-check=\"db\" data-state=\"unhealthy\""));
}

TEST(DependencyMapTest, QueryAsksForTheWholeGraph) {
  EXPECT_FALSE(ParseDependencyMapQuery("").whole_graph);
  EXPECT_TRUE(ParseDependencyMapQuery("all=1").whole_graph);
  EXPECT_TRUE(ParseDependencyMapQuery("x=2&all=true").whole_graph);
  EXPECT_FALSE(ParseDependencyMapQuery("all=0").whole_graph);
  EXPECT_FALSE(ParseDependencyMapQuery("ball=1").whole_graph);
  EXPECT_EQ(ParseDependencyMapQuery("all=1").max_nodes, DependencyMapOptions{}.max_nodes);
}

std::string Between(const std::string& text, const std::string& open, const std::string& close,
                    size_t from = 0) {
  const size_t start = text.find(open, from);
  if (start == std::string::npos) return "";
  const size_t end = text.find(close, start + open.size());
  return text.substr(start + open.size(), end - start - open.size());
}

std::string Sha256Base64(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char encoded[128];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<const char*>(encoded), length);
}

TEST(DependencyMapTest, ContentSecurityPolicyAllowsExactlyTheInlineStylesAndScript) {
  const std::string page = RenderDependencyMapPage(Cascade(), kNow);
  const std::string policy =
      Between(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\">");
  const size_t second = page.find("<style>", page.find("<style>") + 1);
  const std::string style1 = Between(page, "<style>", "</style>");
  const std::string style2 = Between(page, "<style>", "</style>", second);
  const std::string script = Between(page, "<script id=\"refresh\">", "</script>");
  EXPECT_EQ(style1, std::string(StatusPageStyle()));
  EXPECT_EQ(script, std::string(StatusPageScript()));
  EXPECT_THAT(policy, HasSubstr("default-src 'none'; style-src 'sha256-" + Sha256Base64(style1) +
                                "' 'sha256-" + Sha256Base64(style2) + "'; script-src 'sha256-" +
                                Sha256Base64(script) + "'; connect-src 'self'"));
  // No external assets and no inline style attributes (the CSP would refuse them).
  EXPECT_THAT(page, Not(HasSubstr(" src=")));
  EXPECT_THAT(page, Not(HasSubstr(" style=")));
  EXPECT_THAT(page, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(page, Not(HasSubstr("@import")));
  std::smatch url;
  for (std::string rest = page; std::regex_search(rest, url, std::regex(R"re(url\(([^)]*)\))re"));
       rest = url.suffix()) {
    EXPECT_EQ(url[1].str().front(), '#') << url[0];  // only references inside the page
  }
  // The live refresh swaps #board, which holds the map.
  EXPECT_THAT(page, HasSubstr("<main id=\"board\""));
  EXPECT_LT(page.find("<main id=\"board\""), page.find("<svg xmlns"));
}

TEST(DependencyMapTest, StatusPageLinksTheMapAndGivesCardsIds) {
  const std::string html = RenderLandingPage(Cascade(), kNow, {});
  EXPECT_THAT(html, HasSubstr("<a href=\"/map\">Dependency map</a>"));
  EXPECT_THAT(html, HasSubstr("data-check=\"api\" data-state=\"unhealthy\" data-critical=\"true\" "
                              "id=\"check-api\""));
}

}  // namespace
}  // namespace hx
